"""Test-time views: read a digit a few times, each slightly scaled or turned, and average.

A model's mistakes on a drawing often hang on one detail of its size or slant; the same drawing
a little smaller or turned a few degrees may not have it. The views are fixed (no randomness),
so a reading is always the same, and the first view is the drawing itself.
"""
import math

import numpy as np

from ..backend import kernels

VIEWS = ((1.0, 0.0), (0.9, 0.0), (1.1, 0.0), (1.0, -7.0), (1.0, 7.0),  # (scale, degrees clockwise)
         (0.95, -4.0), (1.05, 4.0), (0.9, 7.0), (1.1, -7.0))


def check_views(k):
    """k, if it is a whole number of views from 1 to len(VIEWS); else a ValueError saying so."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(VIEWS):
        raise ValueError(f"views must be a whole number from 1 to {len(VIEWS)}, got {k!r}")
    return int(k)


def make_views(x, k):
    """x: (H, W) float32 -> (k, H, W): the first k VIEWS of x, each scaled and turned about the
    image's centre (bilinear; what falls outside reads as black)."""
    H, W = x.shape
    cy, cx = (H - 1) / 2, (W - 1) / 2
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    src_y, src_x = np.empty((k, H, W), np.float32), np.empty((k, H, W), np.float32)
    for i, (scale, degrees) in enumerate(VIEWS[:k]):
        c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        dy, dx = (ys - cy) / scale, (xs - cx) / scale   # each output pixel, back in the input
        src_y[i], src_x[i] = cy + c * dy - s * dx, cx + s * dy + c * dx
    return kernels("tinycnn.digits.ink").warp(np.broadcast_to(x, (k, H, W)).astype(np.float32), src_y, src_x)
