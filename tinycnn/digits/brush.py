"""The pad's round brush, in the library: the pad draws with it and the stroke generator renders
training digits with it, so what the model learns from is drawn the way the pad draws.
"""
import numpy as np

from ..backend import kernels
from .preprocess import WORK

PEN = 5.5  # brush radius re-rendering strokes at MNIST's width at WORK scale (its lines measure
           # 7.9-9.4 px by preprocess.stroke_width, against MNIST's STROKE = 8.8)


def stamp_segment(img, p0, p1, radius, erase=False):
    """Draw a round-capped, anti-aliased line of `radius` from p0 to p1 into img, in place.

    img: (H, W) float32 in [0, 1]; p0, p1: (x, y) floats. Coverage of a pixel is
    clip(radius + 0.5 - distance to the segment, 0, 1): a one-pixel soft edge. Ink keeps the
    brighter of old and new; the eraser scales what is there by (1 - coverage).
    Returns the (x0, y0, x1, y1) box of pixels touched (empty if outside the image).
    """
    H, W = img.shape
    (ax, ay), (bx, by) = p0, p1
    pad = radius + 1.5
    x0, x1 = max(int(min(ax, bx) - pad), 0), min(int(max(ax, bx) + pad) + 1, W)
    y0, y1 = max(int(min(ay, by) - pad), 0), min(int(max(ay, by) + pad) + 1, H)
    if x0 >= x1 or y0 >= y1:
        return (0, 0, 0, 0)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    # Closest point of the segment to each pixel: a + t (b - a), t clipped to [0, 1].
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0, 1) if length2 > 0 else np.zeros_like(xs)
    dist = np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))
    cover = np.clip(radius + 0.5 - dist, 0, 1)
    region = img[y0:y1, x0:x1]
    if erase:
        region *= 1 - cover
    else:
        np.maximum(region, cover, out=region)
    return (x0, y0, x1, y1)


def render_strokes(strokes, shape, radius):
    """Ink `strokes` with the round brush on a new black image: the pixels stamp_segment would
    give for each segment in turn, computed by one kernel for the whole drawing.

    strokes: list of (n, 2) arrays of (x, y) points in pixels; shape: (H, W); radius: pixels.
    Returns (H, W) float32 in [0, 1].
    """
    segs = []
    for s in strokes:
        s = np.asarray(s, np.float32).reshape(-1, 2)
        if len(s) == 1:
            s = np.concatenate([s, s])  # a dot
        if len(s):
            segs.append(np.concatenate([s[:-1], s[1:]], axis=1))
    seg = np.concatenate(segs) if segs else np.zeros((0, 4), np.float32)
    return _ink_segments_again(tuple(shape), seg, float(radius))


_last_inked = None  # (kernels, shape, radius, segments, image) of the last render_strokes


def _ink_segments_again(shape, seg, radius):
    """kernels("tinycnn.digits.ink").ink_segments(shape, seg, radius), reusing the last call's image when `seg` only
    adds segments after the last call's: the pad re-reads a drawing every frame while the pen
    moves, and each frame adds a few segments to hundreds. It helps long drawings: the segments
    are fitted to the drawing's box, so a frame whose new point widens the box inks them all
    again (most frames of a digit's first stroke, about a third of a long spiral's). A pixel
    keeps its brightest segment's coverage, so inking the new ones and taking the maximum gives
    the same numbers."""
    global _last_inked
    ink = kernels("tinycnn.digits.ink").ink_segments
    last = _last_inked  # one read: another thread may replace it meanwhile, never change it
    if (last is not None and last[:3] == (ink, shape, radius) and len(last[3]) <= len(seg)
            and np.array_equal(last[3], seg[:len(last[3])])):
        image = np.maximum(last[4], ink(shape, seg[len(last[3]):], radius))
    else:
        image = ink(shape, seg, radius)
    _last_inked = (ink, shape, radius, seg, image)
    return image.copy()  # the kept image is never handed out: a caller may draw on its copy


def mnist_strokes(strokes):
    """Re-render pen strokes at MNIST's stroke width: (h, w) float32 with the drawing's longer
    side at preprocess.WORK pixels and a pen as wide as MNIST's strokes at that scale, whatever
    brush drew them. strokes: list of (n, 2) arrays of (x, y) points in any pixel units."""
    pts = np.concatenate([np.asarray(s, np.float32).reshape(-1, 2) for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    extent = max(float((hi - lo).max()), 1e-6)
    scale = (WORK - 2 * PEN) / extent
    w, h = (np.ceil((hi - lo) * scale + 2 * PEN + 3)).astype(int)
    return render_strokes([(np.asarray(s, np.float32).reshape(-1, 2) - lo) * scale + PEN + 1.5
                           for s in strokes], (h, w), PEN)
