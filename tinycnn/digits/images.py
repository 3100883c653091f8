"""Reading a picture of a digit from a file: a photo, a scan, a screenshot, a drawing.

Any image is read with bounded memory: JPEGs are decoded at a reduced scale (Pillow's draft
mode) and everything is reduced to at most WORK_SIDE pixels on its long side straight after
decoding; an image whose full decode alone would exceed MAX_DECODED_BYTES is refused. 16-bit
and float images are read by their real range. Dark ink on light paper is inverted, and the
paper's brightness, uneven under real light, is levelled out before ink is told from paper.
"""
import math
import os
import warnings

import numpy as np
from PIL import Image

from ..fileio import NotAFileError, open_regular
from .preprocess import neighbourhood

WORK_SIDE = 1024                 # long side of the image handed on (the canvas is 560 px)
MAX_DECODED_BYTES = 300 << 20    # one full-size decode (12000x12000 gray: 144 MB; 8000x8000 RGB: 256 MB)
BLOCKS = 16                      # the paper level is estimated on this many blocks along the long side
PAPER_PERCENTILE = 30            # of a block: ink rarely covers 70% of one and all its neighbours
NOISE_MADS = 4.0                 # paper texture left after levelling: this many robust deviations


class DigitImageError(ValueError):
    """A file that cannot be read as a picture of a digit."""


def _decoded_bytes(im):
    """Bytes Pillow needs to hold `im` decoded (multi-band modes take 4 bytes a pixel)."""
    per_pixel = 4 if len(im.getbands()) > 1 else {"I": 4, "F": 4}.get(im.mode, 2 if im.mode.startswith("I;16") else 1)
    return im.size[0] * im.size[1] * per_pixel


def _reduced(im, path):
    """`im` decoded and reduced to at most WORK_SIDE on its long side, in a mode reduce supports."""
    im.draft("L" if im.mode in ("RGB", "L") else None, (WORK_SIDE, WORK_SIDE))  # JPEG: decode at 1/2..1/8
    cost = _decoded_bytes(im)
    if cost > MAX_DECODED_BYTES:
        raise DigitImageError(f"{path}: too large to read: {im.size[0]}x{im.size[1]} {im.mode} pixels would take "
                              f"{cost >> 20} MB to decode (at most {MAX_DECODED_BYTES >> 20} MB); scale it down")
    im.load()
    if im.mode.startswith("I;16"):
        im = im.convert("I")   # 16-bit: reduce() needs 32-bit integers, values unchanged
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        im = im.convert("RGBA" if im.mode in ("P", "PA") or "transparency" in im.info else "RGB")
    factor = math.ceil(max(im.size) / WORK_SIDE)
    return im.reduce(factor) if factor > 1 else im


def _gray_and_alpha(im, sixteen_bit):
    """(gray, alpha or None): float32 (H, W) in [0, 1], gray by the image's real range."""
    if im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if not np.isfinite(a).all():
            raise ValueError("it contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if im.mode == "F" and lo >= 0 and hi <= 1:
            scale = (0.0, 1.0)             # a float image in [0, 1]
        elif im.mode == "I" and lo >= 0 and hi <= (65535 if sixteen_bit or hi > 255 else 255):
            scale = (0.0, 65535.0 if sixteen_bit or hi > 255 else 255.0)
        else:
            scale = (lo, max(hi, lo + 1e-12))  # any other range: its own minimum and maximum
        return ((a - scale[0]) / (scale[1] - scale[0])).astype(np.float32), None
    alpha = None
    if "A" in im.getbands():
        alpha = np.asarray(im.getchannel("A"), dtype=np.float32) / 255
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    return np.asarray(im.convert("L"), dtype=np.float32) / 255, alpha


def _border_level(a):
    """The median of the image's border: mostly paper, whatever the digit does."""
    return float(np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])))


def _paper_level(a):
    """The paper's level at each pixel of `a` (ink bright, paper dark), smooth across the image.

    A low percentile of each block (paper, not ink), the lowest of each block and its
    neighbours (a block full of ink borrows its neighbour's paper), interpolated back to full size.
    """
    h, w = a.shape
    side = max(8, math.ceil(max(h, w) / BLOCKS))
    bh, bw = math.ceil(h / side), math.ceil(w / side)
    padded = np.pad(a, ((0, bh * side - h), (0, bw * side - w)), mode="edge")
    blocks = padded.reshape(bh, side, bw, side).transpose(0, 2, 1, 3).reshape(bh, bw, -1)
    level = np.percentile(blocks, PAPER_PERCENTILE, axis=2).astype(np.float32)
    level = neighbourhood(level, grow=False, mode="edge")
    # Block centres sit at (i + 0.5) * side: resize maps them there exactly.
    big = Image.fromarray(level, mode="F").resize((bw * side, bh * side), Image.Resampling.BILINEAR)
    return np.asarray(big, dtype=np.float32)[:h, :w]


def ink_from_gray(gray, alpha=None):
    """A grayscale picture of a digit (H, W) in [0, 1], any polarity -> white ink on black in [0, 1].

    alpha: (H, W) in [0, 1] or None. Where the picture is transparent there is no ink; the ink
    is what is opaque, whether it is drawn dark or light. Dark ink on light paper (the border is
    mostly paper) is inverted; then the paper's level, uneven under real light, is subtracted
    block by block, and what is left of its texture is cut off.
    """
    if alpha is not None and float(alpha.min()) < 0.5:
        # Composite on a background the ink stands out from: black under light ink, white under dark.
        ink_level = float((gray * alpha).sum() / max(float(alpha.sum()), 1e-6))
        gray = gray * alpha + (0.0 if ink_level > 0.5 else 1.0) * (1 - alpha)
    elif alpha is not None:
        gray = gray * alpha + (1 - alpha)   # nearly opaque: a photo; its few clear pixels are paper
    a = 1 - gray if _border_level(gray) > 0.5 else gray
    a = np.maximum(a - _paper_level(a), 0)
    noise = float(np.median(a) + NOISE_MADS * 1.4826 * np.median(np.abs(a - np.median(a))))
    peak = float(a.max(initial=0.0))
    if peak <= noise:
        return np.zeros_like(a, dtype=np.float32)
    return np.clip((a - noise) / (peak - noise), 0, 1).astype(np.float32)


class _CappedReads:
    """A file whose read(n) never asks for more than the file has left. Python allocates what a
    read asks for, so a damaged length field (a PNG chunk declaring 436 MB in a 1 KB file) would
    cost what it claims rather than what the file holds."""

    def __init__(self, f):
        self.f, self.size = f, os.fstat(f.fileno()).st_size

    def read(self, n=-1):
        left = max(self.size - self.f.tell(), 0)
        return self.f.read(left if n is None or n < 0 else min(n, left))

    def __getattr__(self, name):  # seek, tell, readline...: the file's own
        return getattr(self.f, name)


def read_digit_image(path):
    """Read a picture of a handwritten digit as white ink on black, float32 (H, W) in [0, 1].

    Any format Pillow reads, any size (reduced to at most WORK_SIDE pixels on the long side while
    decoding), 8-bit, 16-bit or float, gray or colour, with or without transparency.
    Raises DigitImageError naming the file when it is not a readable image, is not a regular
    file (a FIFO or a device would block or never end) or is too large to decode.
    """
    try:
        f = open_regular(path)
    except NotAFileError as e:
        raise DigitImageError(f"{path}: {e.kind}, not an image") from None
    except OSError as e:
        raise DigitImageError(f"{path}: cannot open it ({e.strerror or e})") from None
    try:
        with f, warnings.catch_warnings():
            # Pillow warns of "decompression bombs" by pixel count; the budget above is checked instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(_CappedReads(f)) as im:
                gray, alpha = _gray_and_alpha(_reduced(im, path), im.mode.startswith("I;16"))
    except DigitImageError:
        raise
    except Exception as e:  # Pillow's decoders raise many kinds of error on damaged files
        # Pillow's messages name the file object it was given (our capped reader): say the path's kind instead
        reason = "not a picture in a format Pillow reads" if isinstance(e, Image.UnidentifiedImageError) else f"{type(e).__name__}: {e}"
        raise DigitImageError(f"{path}: cannot read it as an image ({reason})") from None
    if gray.size == 0:
        raise DigitImageError(f"{path}: the image is empty")
    return ink_from_gray(gray, alpha)
