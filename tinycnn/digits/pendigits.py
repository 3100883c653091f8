"""Real pen digits (tinycnn.data.unipen's samples) drawn the way the pad draws a drawing."""
import numpy as np

from .brush import render_strokes
from .reading import drawing_input

CANVAS = 280     # the canvas real pen digits were measured on (see the shared notes)
PEN_WIDTH = 24   # and the width of its brush's line


def draw_sample(sample, height, place=(0.5, 0.5), canvas=CANVAS, pen_width=PEN_WIDTH):
    """A sample drawn as on the pad: white ink of the round brush, a line `pen_width` px wide, on a
    black (canvas, canvas) image; the digit `height` px tall (less when it would not fit: a wide
    digit is fitted by its width) at `place` = (fx, fy), 0..1 of the room left (0: left/top).

    Returns (image (canvas, canvas) float32 in [0, 1], strokes: list of (n, 2) float32 (x, y) in
    canvas pixels), so tc.read_digit(image, strokes=strokes) reads it as the pad would.
    """
    pts = np.concatenate(sample.strokes).astype(np.float64)
    lo, size = pts.min(0), np.ptp(pts, 0)
    room = canvas - pen_width - 2  # the ink stays inside the canvas
    fits = [t / s for t, s in ((min(height, room), size[1]), (room, size[0])) if s > 0]
    scale = min(fits) if fits else 1.0  # a dot has no size: draw it as it is
    offset = pen_width / 2 + 1 + np.asarray(place, np.float64) * (room - size * scale) - lo * scale
    strokes = [(s * scale + offset).astype(np.float32) for s in sample.strokes]
    return render_strokes(strokes, (canvas, canvas), pen_width / 2), strokes


def pen_set(samples, rng, pixel_share=0.5, pen_widths=(8, 30), heights=(0.35, 0.85)):
    """Pen digits as the pad reads them: each drawn once, anywhere on the canvas, then read by the
    stroke path (re-rendered at MNIST's stroke width) or, for a `pixel_share` of them, by the
    pixel path (drawn with a pen `pen_widths` px wide, then thinned like a picture).

    samples: Samples (tinycnn.data.unipen); rng: a NumPy Generator; heights: the digit's height
    as a share of the canvas. Returns (images (N, 28, 28) uint8, labels (N,) int64).
    """
    images = np.empty((len(samples), 28, 28), np.uint8)
    for i, s in enumerate(samples):
        height, place = rng.uniform(*heights) * CANVAS, rng.uniform(0, 1, 2)
        if rng.random() < pixel_share:
            image, _ = draw_sample(s, height, place, pen_width=float(rng.uniform(*pen_widths)))
            x, _ = drawing_input(image)
        else:
            _, strokes = draw_sample(s, height, place)
            x, _ = drawing_input(np.zeros((1, 1), np.float32), strokes)
        images[i] = np.round(x * 255)
    return images, np.array([s.label for s in samples], np.int64)


def per_writer(samples, cap, rng):
    """At most `cap` samples of each writer (a random choice among a writer's), in their order:
    a few writers wrote thousands of digits, and would otherwise teach their own hand."""
    by_writer = {}
    for i, s in enumerate(samples):
        by_writer.setdefault(s.writer, []).append(i)
    keep = sorted(i for idx in by_writer.values()
                  for i in (idx if len(idx) <= cap else rng.choice(idx, cap, replace=False)))
    return [samples[i] for i in keep]
