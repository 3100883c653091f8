"""Numbers written the way people write them, for checking `tc.read_number`.

A number is composed digit by digit, left to right: each digit is drawn with the pad's brush
(checks.handwriting.sample) or taken from MNIST's test set (real pen-written digits), cropped to its
ink, scaled to the number's height and placed after the previous one. The next digit is pushed
left until its ink comes within a clearance of the ink already there (row by row, like kerning),
so a 7 can lean over a 4 and boxes overlap as in handwriting, while the ink stays apart unless a
case makes two digits touch.

CASES name the hard cases; `compose` builds one number of a case.
"""
import numpy as np
from PIL import Image

from checks.handwriting import STYLES, sample

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
    rows, cols = np.flatnonzero(a.max(axis=1) > 0.05), np.flatnonzero(a.max(axis=0) > 0.05)
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _scaled(a, height):
    h, w = a.shape
    size = (max(1, round(w * height / h)), max(1, round(height)))
    return np.clip(np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR), np.float32), 0, 1)


def drawn_digit(digit, rng, pieces=False):
    """One digit drawn with the pad's brush, cropped to its ink: float32 (h, w) in [0, 1]."""
    if pieces and digit in PIECES:
        return _crop(sample(digit, PIECES[digit], rng).array)
    styles = list(STYLES[digit])
    return _crop(sample(digit, styles[rng.integers(len(styles))], rng).array)


def compose(digits, rng, case="plain", glyph=None):
    """A number `digits` (a str like "2026") written as `case`: (image float32 (H, W) in [0, 1],
    white ink on black; the true boxes, a list of (x, y, w, h)).

    glyph(digit, rng) -> cropped float image of one digit; default drawn_digit (pad strokes).
    """
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; cases: {', '.join(CASES)}")
    glyph = glyph or (lambda d, r: drawn_digit(d, r, pieces=case == "separate strokes"))
    height = rng.uniform(50, 200)
    slope = np.tan(np.deg2rad(rng.uniform(5, 15) * rng.choice([-1, 1]))) if case == "slanted baseline" else 0.0
    touch = rng.integers(1, len(digits)) if case == "touching" and len(digits) > 1 else -1
    margin = int(0.4 * height) + 4
    rows = int(4 * height + abs(slope) * 7 * height * len(digits)) + 2 * margin
    right = np.full(rows, -1e9)  # rightmost ink column placed so far, per row
    placed, boxes = [], []
    x_next = float(margin)
    base0 = rows / 2 + height / 2 if slope >= 0 else rows - margin
    for i, ch in enumerate(digits):
        size = height * (rng.uniform(0.6, 1.0) if case == "sizes" else rng.uniform(0.93, 1.0))
        g = _scaled(glyph(int(ch), rng), size)
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
        placed.append((g, x, top))
        boxes.append((x, top, w, h))
        x_next = x + w
    width = int(max(x + g.shape[1] for g, x, _ in placed)) + margin
    img = np.zeros((rows, width), np.float32)
    for g, x, top in placed:
        region = img[top:top + g.shape[0], x:x + g.shape[1]]
        np.maximum(region, g, out=region)
    used = np.flatnonzero(img.max(axis=1) > 0)
    y0, y1 = max(used[0] - margin, 0), min(used[-1] + margin + 1, rows)
    return img[y0:y1], [(x, y - y0, w, h) for x, y, w, h in boxes]


def mnist_glyphs(images, labels):
    """glyph(digit, rng) drawing a random MNIST digit of that class: images (N, 28, 28) uint8, labels (N,)."""
    by_digit = {d: np.flatnonzero(labels == d) for d in range(10)}

    def glyph(d, rng):
        i = by_digit[d][rng.integers(len(by_digit[d]))]
        return _crop(images[i].astype(np.float32) / 255)

    return glyph


def random_number(rng):
    """Digits of a random number with 2 to 6 digits (a leading 0 allowed: codes and years start with them)."""
    return "".join(str(d) for d in rng.integers(0, 10, rng.integers(2, 7)))
