"""Digits drawn the way people draw them on the pad: a check of reading, not of MNIST.

Each digit has a few styles, written down as pen strokes in a unit square (x right, y down),
including the ones MNIST has few of: a 1 with a flag and a base, a crossed 7, a 9 with a hooked
tail, an open 4, a 5 with a separate bar. `sample` draws one with the pad's own brush at a random
size, place, slant, stroke width and wobble, so the whole path (canvas, preprocessing, model) is
exercised as in use. `scripts/reading_check.py` reports the accuracy (never trained on); the tests hold a floor.
"""
import numpy as np

from tinycnn.digits.strokes import resample

from pad.canvas import Canvas


def _ellipse(cx, cy, rx, ry, start=-90, turn=370, n=28):
    a = np.deg2rad(start + np.linspace(0, turn, n))
    return list(zip(cx + rx * np.cos(a), cy + ry * np.sin(a)))


STYLES = {
    0: {"oval": [_ellipse(0.5, 0.5, 0.27, 0.4)],
        "slanted": [_ellipse(0.5, 0.5, 0.22, 0.42, start=-110)],
        "round": [_ellipse(0.5, 0.5, 0.36, 0.38, turn=355)]},
    1: {"stick": [[(0.5, 0.1), (0.5, 0.9)]],
        "flag": [[(0.33, 0.28), (0.55, 0.1), (0.55, 0.9)]],
        "flag and base": [[(0.33, 0.28), (0.53, 0.1), (0.53, 0.9)], [(0.3, 0.9), (0.76, 0.9)]]},
    2: {"curve": [[(0.27, 0.3), (0.4, 0.14), (0.6, 0.12), (0.72, 0.27), (0.62, 0.48), (0.26, 0.88), (0.78, 0.88)]],
        "looped": [[(0.27, 0.28), (0.45, 0.12), (0.68, 0.18), (0.68, 0.4), (0.3, 0.85), (0.25, 0.72), (0.4, 0.75),
                    (0.55, 0.88), (0.8, 0.86)]]},
    3: {"round": [[(0.28, 0.2), (0.52, 0.1), (0.72, 0.22), (0.62, 0.42), (0.44, 0.48), (0.64, 0.53), (0.75, 0.7),
                   (0.6, 0.88), (0.27, 0.84)]],
        "flat top": [[(0.26, 0.12), (0.74, 0.12), (0.46, 0.42), (0.7, 0.55), (0.7, 0.8), (0.46, 0.9), (0.25, 0.8)]]},
    4: {"closed": [[(0.6, 0.1), (0.2, 0.62), (0.8, 0.62)], [(0.62, 0.3), (0.62, 0.92)]],
        "open": [[(0.3, 0.1), (0.26, 0.56), (0.76, 0.56)], [(0.66, 0.1), (0.66, 0.92)]]},
    5: {"one stroke": [[(0.74, 0.12), (0.32, 0.12), (0.28, 0.45), (0.52, 0.4), (0.72, 0.52), (0.73, 0.72),
                        (0.55, 0.88), (0.27, 0.82)]],
        "separate bar": [[(0.32, 0.12), (0.28, 0.45), (0.52, 0.4), (0.72, 0.52), (0.73, 0.72), (0.55, 0.88),
                          (0.27, 0.82)], [(0.32, 0.12), (0.74, 0.1)]]},
    6: {"loop": [[(0.66, 0.1), (0.45, 0.25), (0.3, 0.5), (0.3, 0.75), (0.45, 0.9), (0.66, 0.85), (0.7, 0.66),
                  (0.55, 0.54), (0.33, 0.6)]],
        "straight back": [[(0.6, 0.08), (0.35, 0.45), (0.3, 0.72), (0.45, 0.9), (0.66, 0.84), (0.68, 0.64),
                           (0.5, 0.55), (0.33, 0.66)]]},
    7: {"plain": [[(0.25, 0.15), (0.75, 0.15), (0.42, 0.9)]],
        "crossed": [[(0.25, 0.15), (0.75, 0.15), (0.42, 0.9)], [(0.38, 0.53), (0.72, 0.53)]],
        "serif": [[(0.25, 0.27), (0.25, 0.15), (0.75, 0.15), (0.45, 0.9)]]},
    8: {"figure": [[(0.62, 0.16), (0.5, 0.1), (0.32, 0.2), (0.35, 0.37), (0.5, 0.48), (0.68, 0.6), (0.7, 0.8),
                    (0.5, 0.9), (0.3, 0.8), (0.32, 0.6), (0.5, 0.48), (0.65, 0.37), (0.68, 0.22), (0.6, 0.14)]],
        "two loops": [_ellipse(0.5, 0.29, 0.17, 0.19), _ellipse(0.5, 0.69, 0.21, 0.21)]},
    9: {"straight tail": [[(0.7, 0.3), (0.55, 0.12), (0.35, 0.17), (0.3, 0.34), (0.45, 0.47), (0.68, 0.4),
                           (0.7, 0.22), (0.68, 0.9)]],
        "hooked tail": [[(0.7, 0.3), (0.55, 0.12), (0.35, 0.17), (0.3, 0.34), (0.45, 0.47), (0.68, 0.4),
                         (0.7, 0.22), (0.67, 0.72), (0.56, 0.9), (0.38, 0.86)]]},
}


def _resample(points, step=0.02):
    """Points every `step` along a polyline, so that wobble bends strokes smoothly."""
    return resample(points, step)[0]


def sample(digit, style, rng, canvas_size=560):
    """Draw `digit` in `style` on a new Canvas with random size, place, slant, width and wobble.

    style: a name in STYLES[digit], or the strokes themselves (a list of lists of (x, y) in the
    unit square). Returns the Canvas (its .array is what the pad would read).
    """
    height = rng.uniform(0.3, 0.9) * canvas_size          # small and large digits
    aspect, angle, shear = rng.uniform(0.75, 1.1), rng.uniform(-12, 12), rng.uniform(-0.25, 0.25)
    place = rng.uniform(0.05, 0.95, 2)                     # anywhere on the canvas
    return draw(digit, style, rng, canvas_size, height=height, aspect=aspect, angle=angle, shear=shear,
                radius=rng.uniform(0.035, 0.085) * height, place=place)  # thin pen to thick marker


def draw(digit, style, rng, canvas_size=560, *, height, aspect, angle, shear, radius, place=None, wobble=0.004):
    """Draw `digit` in `style` with the given shape: `height` in canvas pixels, width = aspect *
    height, rotation `angle` in degrees, `shear` (x += shear * y), pen `radius` in pixels,
    `place` (fx, fy) in 0..1 of the free room on the canvas (None: drawn from `rng`); the
    wobble of the pen (its size `wobble`) comes from `rng`.

    Returns the Canvas (its .array is what the pad would read).
    """
    c = Canvas(canvas_size)
    width = height * aspect
    angle = np.deg2rad(angle)
    free_x, free_y = canvas_size - width, canvas_size - height
    fx, fy = rng.uniform(0.05, 0.95, 2) if place is None else place
    ox, oy = fx * free_x, fy * free_y
    cos, sin = np.cos(angle), np.sin(angle)
    for stroke in STYLES[digit][style] if isinstance(style, str) else style:
        pts = _resample(stroke)
        shake = np.cumsum(rng.normal(0, wobble, pts.shape), axis=0)
        u, v = pts[:, 0] - 0.5 + shake[:, 0], pts[:, 1] - 0.5 + shake[:, 1]
        u = u + shear * v
        x = ox + width * (0.5 + cos * u - sin * v)
        y = oy + height * (0.5 + sin * u + cos * v)
        c.begin_stroke((x[0], y[0]), radius)
        for p in zip(x[1:], y[1:]):
            c.extend_stroke(p)
        c.end_stroke()
    return c


def cases():
    """Every (digit, style) pair."""
    return [(d, s) for d in sorted(STYLES) for s in STYLES[d]]
