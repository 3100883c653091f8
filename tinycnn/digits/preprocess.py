"""Turn a picture of a digit into what an MNIST model expects.

MNIST digits were cropped, scaled to fit a 20x20 box keeping their aspect ratio (with
anti-aliasing), and placed in a 28x28 frame so that their centre of mass is at the centre.
A drawing shrunk straight to 28x28 looks nothing like that (too small, off-centre, strokes
too thin or too thick), which is why digit apps that score 99% on MNIST misread real digits.
`preprocess_digit` repeats MNIST's steps, and also brings the stroke width to MNIST's.
"""
import numpy as np
from PIL import Image

BOX = 20            # MNIST's digits fit this box...
FRAME = 28          # ...inside this frame,
CENTRE = 14.0       # with the centre of mass here (measured on MNIST: 13.99, 14.00).
WORK = 80           # crops are first brought to this size, where stroke width is adjusted
STROKE = 2.2 * WORK / BOX  # MNIST's median stroke width, 2 * area / perimeter, at WORK scale
INK = 0.1           # pixels below this fraction of the brightest one are background
BLANK = 0.02        # an image whose brightest pixel is below this has no ink at all


def to_gray01(image):
    """Any 2-D grayscale array (uint8 0-255, or float 0-1) -> float32 in [0, 1]."""
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"preprocess_digit: expected a 2-D grayscale image (H, W), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255
    a = a.astype(np.float32, copy=False)
    lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))  # NaN and inf show up here
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("preprocess_digit: the image contains NaN or infinite values")
    # A pad canvas is already float32 in [0, 1]: then no copy is made (this runs every frame).
    return a if 0 <= lo and hi <= 1 else np.clip(a, 0, 1)


def _resize(a, h, w):
    """Resample a float image to (h, w): area averaging when shrinking (anti-aliased), bilinear when growing."""
    shrink = h < a.shape[0] or w < a.shape[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a, mode="F").resize((w, h), method), dtype=np.float32)


SQUARE = tuple((y, x) for y in (-1, 0, 1) for x in (-1, 0, 1))  # a pixel and its 8 neighbours
PLUS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))                # a pixel and its 4 neighbours


def neighbourhood(a, grow, around=SQUARE, mode="constant"):
    """max (grow) or min (shrink) of each pixel of `a` (..., H, W) over the pixels `around` it:
    one step of dilation or erosion of every image in `a`. Outside the image counts as 0
    (mode="constant") or as the nearest edge pixel (mode="edge")."""
    p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], mode=mode)
    h, w = a.shape[-2:]
    stack = [p[..., 1 + y:1 + y + h, 1 + x:1 + x + w] for y, x in around]
    return np.max(stack, axis=0) if grow else np.min(stack, axis=0)


def stroke_width(a):
    """Estimated stroke width in pixels: 2 * area / perimeter of the inked region (0 if none)."""
    ink = a > 0.5
    area = ink.sum()
    if area == 0:
        return 0.0
    edge = ink & ~(neighbourhood(ink.astype(np.float32), grow=False) > 0.5)
    return 2.0 * area / max(edge.sum(), 1)


def _normalise_stroke(a):
    """Thicken strokes much thinner than MNIST's, thin ones much thicker (a few pixel steps)."""
    w = stroke_width(a)
    if w == 0:
        return a
    steps = int(round((STROKE - w) / 2))  # each step grows (or shrinks) the width by ~2 pixels
    if steps > 0:
        for _ in range(min(steps, 6)):
            a = neighbourhood(a, grow=True)
    elif steps < -1:  # leave thick-ish strokes alone; erode only the really fat ones
        for _ in range(min(-steps - 1, 4)):
            thinner = neighbourhood(a, grow=False)
            if (thinner > 0.5).sum() < 0.3 * (a > 0.5).sum():
                break  # would erase the digit
            a = thinner
    return a


def is_blank(image):
    """True if there is no ink at all."""
    return float(np.max(to_gray01(image), initial=0.0)) <= BLANK


def ink_box(a, level=None):
    """(x, y, w, h): the smallest box of `a` (H, W) holding every pixel above `level` (default:
    INK times the brightest). `a` must hold such a pixel."""
    ink = a > (INK * float(a.max(initial=0.0)) if level is None else level)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


def _crop_to_ink(a, level):
    """The smallest box of `a` holding every pixel above `level`, cut out."""
    x, y, w, h = ink_box(a, level)
    return a[y:y + h, x:x + w]


def _fit(a, side):
    """Resize `a` so that its longer side is `side` pixels, keeping the aspect ratio."""
    h, w = a.shape
    scale = side / max(h, w)
    return _resize(a, max(1, round(h * scale)), max(1, round(w * scale)))


def preprocess_digit(image, return_stages=False):
    """A grayscale image of one digit, white ink on black, any size -> MNIST-like (28, 28) float32 in [0, 1].

    Steps: crop to the ink; scale to WORK px and bring the stroke width to MNIST's; scale to
    fit 20x20 keeping the aspect ratio; brightest pixel to 1; place in 28x28 with the centre of
    mass at the centre. A blank image gives all zeros.
    With return_stages=True, returns (digit, stages) where stages is a dict of the images
    "input", "crop", "fit" (<= 20x20) and "centred" (28x28), to show what happened.
    """
    a = to_gray01(image)
    stages = {"input": a}
    out = np.zeros((FRAME, FRAME), np.float32)
    peak = float(a.max(initial=0.0))
    if peak <= BLANK:
        stages.update(crop=np.zeros((1, 1), np.float32), fit=np.zeros((1, 1), np.float32), centred=out)
        return (out, stages) if return_stages else out
    crop = _crop_to_ink(a, INK * peak) / peak
    stages["crop"] = crop

    work = _fit(crop, WORK)
    if float(work.max()) < 0.5:
        # Ink much thinner than the crop's scale (a hairline, scattered specks) averages out faint
        # when shrunk, even below INK: brightest back to 1, so it is found and thickened like any
        # thin line. A drawn stroke keeps a pixel near 1, and its numbers stay exactly as they were.
        work = work / float(work.max())
    work = _normalise_stroke(np.pad(work, 8))  # room to thicken without touching the border
    fit = np.clip(_fit(_crop_to_ink(work, INK), BOX), 0, 1)
    fit /= max(float(fit.max()), 1e-6)
    stages["fit"] = fit

    h, w = fit.shape
    ys, xs = np.mgrid[0:h, 0:w]
    mass = float(fit.sum())
    cy, cx = float((fit * ys).sum()) / mass, float((fit * xs).sum()) / mass
    top = int(round(CENTRE - cy))
    left = int(round(CENTRE - cx))
    top, left = min(max(top, 0), FRAME - h), min(max(left, 0), FRAME - w)  # never cut the digit
    out[top:top + h, left:left + w] = fit
    stages["centred"] = out
    return (out, stages) if return_stages else out
