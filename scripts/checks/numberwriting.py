"""Numbers written the way people write them, for checking `tc.read_number`.

A number is composed digit by digit, left to right: each digit is drawn with the pad's brush
(checks.handwriting.sample), taken from MNIST's test set (real pen-written digits, pixels only) or
written from a pen sample (its strokes: generated ones, the pad's templates, or real writers'
when the UNIPEN data is there), cropped to its ink, scaled to the number's height and placed
after the previous one. The next digit is pushed left until its ink comes within a clearance of
the ink already there (row by row, like kerning), so a 7 can lean over a 4 and boxes overlap as
in handwriting, while the ink stays apart unless the number is composed with a touching pair.

CASES name the hard cases; `compose` builds one number of a case from pixels, `write_number` from
pixels or pen samples, returning the strokes too (in the image's pixels, as the pad has them).
"""
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from checks.handwriting import STYLES, sample
from tinycnn.digits.brush import render_strokes

CASES = {
    "plain": "natural spacing, one size, level baseline",
    "overlapping boxes": "tight spacing: a digit's box runs into its neighbour's, the ink does not",
    "separate strokes": "a 5 with its bar apart, a 4 in two strokes, a crossed 7, a 1 with a base",
    "sizes": "each digit at its own size (60-100% of the tallest)",
    "slanted baseline": "written uphill or downhill (5-15 degrees)",
    "touching": "two neighbouring digits' ink touches",
}

# Digits drawn in pieces that do not touch (pen lifted), beside the stroke styles of checks.handwriting.
PIECES = {
    5: [[(0.32, 0.2), (0.28, 0.48), (0.52, 0.42), (0.72, 0.54), (0.73, 0.74), (0.55, 0.9), (0.27, 0.84)],
        [(0.4, 0.04), (0.8, 0.02)]],
    4: [[(0.36, 0.08), (0.24, 0.56), (0.5, 0.56)], [(0.7, 0.08), (0.7, 0.94)]],
    7: [[(0.25, 0.15), (0.75, 0.15), (0.42, 0.9)], [(0.34, 0.53), (0.74, 0.53)]],
    1: [[(0.33, 0.28), (0.53, 0.1), (0.53, 0.9)], [(0.3, 0.9), (0.76, 0.9)]],
}


def _crop(a):
    """The ink of `a` (float (H, W)) cropped to its box."""
    return a[_ink_slices(a)]


def _ink_slices(a):
    rows, cols = np.flatnonzero(a.max(axis=1) > 0.05), np.flatnonzero(a.max(axis=0) > 0.05)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _scaled(a, height):
    h, w = a.shape
    size = (max(1, round(w * height / h)), max(1, round(height)))
    return np.clip(np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR), np.float32), 0, 1)


def drawn_digit(digit, rng, pieces=False):
    """One digit drawn with the pad's brush, cropped to its ink: float32 (h, w) in [0, 1]."""
    return _crop(_drawn(digit, rng, pieces).array)


def drawn_strokes(digit, rng, pieces=False):
    """The pen strokes of one digit drawn in the pad's templates: list of (n, 2) float32 (x, y), y down."""
    return [np.asarray(a["points"], np.float32) for a in _drawn(digit, rng, pieces).actions if a["kind"] == "ink"]


def _drawn(digit, rng, pieces):
    if pieces and digit in PIECES:
        return sample(digit, PIECES[digit], rng)
    styles = list(STYLES[digit])
    return sample(digit, styles[rng.integers(len(styles))], rng)


@dataclass
class Written:
    """A composed number. image: float32 (H, W) in [0, 1], white ink on black; boxes: the true
    (x, y, w, h) of each digit; strokes: list of (n, 2) float32 (x, y) in the image's pixels, digit
    after digit (None when composed from pixels); pen: the pen's width in pixels (None: pixels);
    touching: how many pairs of neighbouring digits have ink that touches."""

    image: np.ndarray
    boxes: list
    strokes: object = None
    pen: object = None
    touching: int = 0


def compose(digits, rng, case="plain", glyph=None, touch=None):
    """A number `digits` (a str like "2026") written as `case`: (image float32 (H, W) in [0, 1],
    white ink on black; the true boxes, a list of (x, y, w, h)).

    glyph(digit, rng) -> cropped float image of one digit; default drawn_digit (pad strokes).
    touch: make one pair of neighbours touch (default: in the "touching" case only).
    """
    w = write_number(digits, rng, case, glyph=glyph, touch=touch)
    return w.image, w.boxes


def write_number(digits, rng, case="plain", glyph=None, pen_sample=None, touch=None):
    """A number `digits` written as `case` -> Written.

    From pixels, glyph(digit, rng) -> cropped float image (default drawn_digit); or from pen
    samples, pen_sample(digit, rng) -> list of (n, 2) (x, y) points, y down, any units: they are
    scaled to the digit's height and rendered with the round brush (pen radius 2.5-8% of the
    number's height, one pen per number), and returned in the image's pixels.
    touch: make one pair of neighbours touch (default: in the "touching" case only).
    """
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; cases: {', '.join(CASES)}")
    touch = case == "touching" if touch is None else touch
    height = rng.uniform(50, 200)
    if pen_sample is not None:
        radius = rng.uniform(0.025, 0.08) * height

        def make(d, size, r):
            return _rendered(pen_sample(d, r), size, radius)
    else:
        glyph = glyph or (lambda d, r: drawn_digit(d, r, pieces=case == "separate strokes"))

        def make(d, size, r):
            return _scaled(glyph(d, r), size), None
    slope = np.tan(np.deg2rad(rng.uniform(5, 15) * rng.choice([-1, 1]))) if case == "slanted baseline" else 0.0
    touch = rng.integers(1, len(digits)) if touch and len(digits) > 1 else -1
    placed, boxes, rows = _place(digits, rng, case, height, slope, touch, make)
    margin = int(0.4 * height) + 4
    width = int(max(x + g.shape[1] for g, _, x, _ in placed)) + margin
    img = np.zeros((rows, width), np.float32)
    for g, _, x, top in placed:
        region = img[top:top + g.shape[0], x:x + g.shape[1]]
        np.maximum(region, g, out=region)
    used = np.flatnonzero(img.max(axis=1) > 0)
    y0, y1 = max(used[0] - margin, 0), min(used[-1] + margin + 1, rows)
    strokes = None
    if pen_sample is not None:
        strokes = [(s + [x, top - y0]).astype(np.float32) for _, ss, x, top in placed for s in ss]
    return Written(img[y0:y1], [(x, y - y0, w, h) for x, y, w, h in boxes], strokes,
                   None if pen_sample is None else 2 * radius, _touching(placed))


def _place(digits, rng, case, height, slope, touch, make):
    """Each digit made at its size (make(digit, size, rng) -> (image, strokes in it or None)) and
    placed after the one before: [(image, strokes, x, top)], the boxes (x, top, w, h) and the
    canvas's rows."""
    margin = int(0.4 * height) + 4
    rows = int(4 * height + abs(slope) * 7 * height * len(digits)) + 2 * margin
    right = np.full(rows, -1e9)  # rightmost ink column placed so far, per row
    placed, boxes = [], []
    x_next = float(margin)
    base0 = rows / 2 + height / 2 if slope >= 0 else rows - margin
    for i, ch in enumerate(digits):
        size = height * (rng.uniform(0.6, 1.0) if case == "sizes" else rng.uniform(0.93, 1.0))
        g, strokes = make(int(ch), size, rng)
        h, w = g.shape
        top = int(round(base0 - slope * (x_next - margin) - h + rng.normal(0, 0.03 * height)))
        top = min(max(top, 0), rows - h)
        ink = g > 0.3
        left = np.where(ink.any(axis=1), ink.argmax(axis=1), 1e9)
        reach = max(1, int(0.08 * height))  # keep clear diagonally too
        prior = np.array([right[max(top + r - reach, 0):top + r + reach + 1].max() for r in range(h)])
        if i == 0:
            x = x_next
        elif i == touch:
            x = np.max(prior - left) - rng.uniform(0.03, 0.08) * height
        else:
            clear = rng.uniform(0.04, 0.12) if case == "overlapping boxes" else rng.uniform(0.1, 0.45)
            x = max(np.max(prior - left) + clear * height, boxes[-1][0] + 0.25 * boxes[-1][2])
        x = int(round(x))
        rr = np.flatnonzero(ink.any(axis=1))
        right[top + rr] = np.maximum(right[top + rr], x + (w - 1 - ink[rr, ::-1].argmax(axis=1)))
        placed.append((g, strokes, x, top))
        boxes.append((x, top, w, h))
        x_next = x + w
    return placed, boxes, rows


def _rendered(strokes, size, radius):
    """Pen strokes scaled so that their ink is `size` px tall, rendered with the round brush of
    `radius` and cropped: (image float32 (h, w), the strokes in its pixels)."""
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes]
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    extent = max(hi[1] - lo[1], 0.3 * (hi[0] - lo[0]), 1e-6)  # a flat sample is not blown up
    k = max(size - 2 * radius, 1.0) / extent
    moved = [(s - lo) * k + radius + 2 for s in strokes]
    shape = tuple(int(v) for v in np.ceil((hi - lo)[::-1] * k + 2 * radius + 5))
    img = render_strokes(moved, shape, radius)
    ys, xs = _ink_slices(img)
    return img[ys, xs], [s - [xs.start, ys.start] for s in moved]


def _touching(placed):
    """How many pairs of neighbouring digits have ink (> 0.1, as read_number sees it) that touches."""
    count = 0
    for (a, _, ax, ay), (b, _, bx, by) in itertools.pairwise(placed):
        x0, y0 = max(ax, bx) - 1, max(ay, by) - 1
        x1, y1 = min(ax + a.shape[1], bx + b.shape[1]) + 1, min(ay + a.shape[0], by + b.shape[0]) + 1
        if x0 >= x1 or y0 >= y1:
            continue
        ma = np.zeros((y1 - y0 + 2, x1 - x0 + 2), bool)
        mb = np.zeros_like(ma)
        for m, g, gx, gy in ((ma, a, ax, ay), (mb, b, bx, by)):
            sub = g[max(y0 - gy, 0):max(y1 - gy, 0), max(x0 - gx, 0):max(x1 - gx, 0)] > 0.1
            oy, ox = max(gy - y0, 0) + 1, max(gx - x0, 0) + 1
            m[oy:oy + sub.shape[0], ox:ox + sub.shape[1]] = sub
        grown = ma.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                grown |= np.roll(np.roll(ma, dy, 0), dx, 1)
        count += bool((grown & mb).any())
    return count


def mnist_glyphs(images, labels):
    """glyph(digit, rng) drawing a random MNIST digit of that class: images (N, 28, 28) uint8, labels (N,)."""
    by_digit = {d: np.flatnonzero(labels == d) for d in range(10)}

    def glyph(d, rng):
        i = by_digit[d][rng.integers(len(by_digit[d]))]
        return _crop(images[i].astype(np.float32) / 255)

    return glyph


def writers_of(samples):
    """pen_sample functions from real writers' digits, one writer per number.

    samples: a list of (strokes, label) or (strokes, label, writer), strokes a list of (n, 2)
    (x, y) arrays, y down. Returns writer(rng) -> pen_sample(digit, rng) drawing that writer's
    samples of each digit (another writer's when they wrote none of it).
    """
    by_writer, anyone = {}, {}
    for s in samples:
        strokes, label, who = (*s, None)[:3]
        by_writer.setdefault(who, {}).setdefault(int(label), []).append(strokes)
        anyone.setdefault(int(label), []).append(strokes)
    if sorted(anyone) != list(range(10)):
        raise ValueError(f"the samples hold no {', '.join(str(d) for d in range(10) if d not in anyone)}")
    names = sorted(by_writer, key=str)

    def writer(rng):
        own = by_writer[names[rng.integers(len(names))]]

        def pen_sample(d, r):
            pool = own.get(d) or anyone[d]
            return pool[r.integers(len(pool))]
        return pen_sample
    return writer


def random_number(rng):
    """Digits of a random number with 2 to 6 digits (a leading 0 allowed: codes and years start with them)."""
    return "".join(str(d) for d in rng.integers(0, 10, rng.integers(2, 7)))
