"""Real pen digits (tinycnn.data.unipen's samples) drawn the way the pad draws a drawing."""
import numpy as np

from .brush import render_strokes

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
