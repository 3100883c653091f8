"""Simulated writers: each one draws every digit their own way, every time a little differently.

A Writer holds one style per digit (their own 1, 7, 4, 9 ...) and their own slant, size, aspect
and pen width; each drawing jitters those a little. The strokes come from a drawing function
`draw(writer, digit, rng) -> (H, W) float32 image` (white ink on black), by default
`draw_styled`, which uses checks.handwriting's templates. A richer stroke generator can be swapped in
by passing its own function with that signature to `drawings`; a writer's traits are plain
numbers, and `style` is whatever that generator understands.
"""
from dataclasses import dataclass

import numpy as np

import tinycnn as tc

from checks.handwriting import STYLES, draw

CANVAS = 280   # the size of the real pen-digit canvas the notes measured on


@dataclass(frozen=True)
class Writer:
    """One writer's habits. style: {digit: style name}; height: fraction of the canvas; aspect:
    width / height; angle: rotation in degrees; shear: slant (x += shear * y); pen: pen radius as
    a fraction of the height; jitter: how much each drawing varies (1 = the default amount)."""

    style: dict
    height: float
    aspect: float
    angle: float
    shear: float
    pen: float
    jitter: float = 1.0


def make_writer(rng):
    """A random writer: a style for each digit and a fixed size, slant and pen."""
    return Writer(style={d: str(rng.choice(sorted(STYLES[d]))) for d in STYLES},
                  height=float(rng.uniform(0.35, 0.85)), aspect=float(rng.uniform(0.75, 1.1)),
                  angle=float(rng.uniform(-12, 12)), shear=float(rng.uniform(-0.25, 0.25)),
                  pen=float(rng.uniform(0.035, 0.085)))


def draw_styled(writer, digit, rng, canvas_size=CANVAS):
    """One drawing of `digit` by `writer` with checks.handwriting's templates: the writer's traits
    with a small per-drawing jitter. Returns (canvas_size, canvas_size) float32."""
    j = writer.jitter
    height = float(np.clip(writer.height * (1 + rng.normal(0, 0.06 * j)), 0.2, 0.95)) * canvas_size
    c = draw(digit, writer.style[digit], rng, canvas_size, height=height,
             aspect=writer.aspect * (1 + rng.normal(0, 0.04 * j)), angle=writer.angle + rng.normal(0, 2.5 * j),
             shear=writer.shear + rng.normal(0, 0.04 * j), radius=writer.pen * height * (1 + rng.normal(0, 0.08 * j)))
    return c.array


def drawings(writer, digits, rng, draw=draw_styled):
    """The writer draws each of `digits` (ints); returns (inputs float32 (N, 1, 28, 28) as
    tc.read_digit gives them, labels int64 (N,))."""
    digits = np.asarray(digits, np.int64)
    x = np.stack([tc.preprocess_digit(draw(writer, int(d), rng)) for d in digits])[:, None]
    return x.astype(np.float32), digits
