"""Data augmentation for digits: random affine maps and elastic distortion, in one resampling pass.

Each image gets its own small rotation, scale, shear and shift (about the image centre), plus a
smooth random displacement field (elastic distortion, Simard et al. 2003), built from a coarse
grid of random offsets interpolated up to full size: smooth by construction, and cheap.
"""
import numpy as np

from ..backend import kernels
from .preprocess import PLUS, neighbourhood
from ..random import default_rng


def _upsample_matrix(coarse, fine):
    """(fine, coarse) matrix that linearly interpolates `coarse` evenly spaced knots to `fine` points."""
    pos = np.linspace(0, coarse - 1, fine)
    lo = np.minimum(np.floor(pos).astype(int), coarse - 2)
    frac = pos - lo
    m = np.zeros((fine, coarse))
    m[np.arange(fine), lo] = 1 - frac
    m[np.arange(fine), lo + 1] = frac
    return m


def augment(images, rng=None, rotate=10.0, scale=0.10, shear=0.10, shift=2.0, elastic=0.8, grid=4):
    """Randomly distort a batch of digits.

    images: (N, H, W) or (N, 1, H, W) float32 -> the same shape, float32.
    rotate: max degrees; scale: max relative zoom; shear: max shear factor; shift: max pixels;
    elastic: standard deviation, in pixels, of the displacement at each of grid x grid knots.
    """
    rng = rng if rng is not None else default_rng()
    shape = images.shape
    imgs = images.reshape(-1, shape[-2], shape[-1])
    N, H, W = imgs.shape
    angle = np.deg2rad(rng.uniform(-rotate, rotate, N))
    zoom = 1 + rng.uniform(-scale, scale, N)
    sh = rng.uniform(-shear, shear, N)
    ty, tx = rng.uniform(-shift, shift, (2, N))
    # Output pixel p maps to source A @ (p - c) + c - t: A inverts rotation, shear and zoom.
    cos, sin = np.cos(angle), np.sin(angle)
    a = np.empty((N, 2, 2))
    a[:, 0, 0], a[:, 0, 1] = cos / zoom, (-sin + sh * cos) / zoom
    a[:, 1, 0], a[:, 1, 1] = sin / zoom, (cos + sh * sin) / zoom
    cy, cx = (H - 1) / 2, (W - 1) / 2
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float64)
    py, px = gy - cy, gx - cx
    src_y = a[:, 0, 0, None, None] * py + a[:, 0, 1, None, None] * px + cy - ty[:, None, None]
    src_x = a[:, 1, 0, None, None] * py + a[:, 1, 1, None, None] * px + cx - tx[:, None, None]
    if elastic > 0:
        uy, ux = _upsample_matrix(grid, H), _upsample_matrix(grid, W)
        knots = rng.normal(0, elastic, (2, N, grid, grid))
        field = uy @ knots @ ux.T  # (2, N, H, W); as two products, 20x faster than the same einsum
        src_y, src_x = src_y + field[0], src_x + field[1]
    out = kernels("tinycnn.digits.ink").warp(imgs.astype(np.float32, copy=False),
                         src_y.astype(np.float32), src_x.astype(np.float32))
    return out.reshape(shape)


def restroke(images, rng, thicken=0.25, thin=0.1):
    """Make strokes thicker or thinner, as drawings' pens differ from MNIST's.

    images: (N, 1, H, W) float32 -> a new array of the same shape. A share `thicken` of the
    images gets a 3x3 maximum (one pixel wider), a share `thin` a plus-shaped minimum unless
    that would take away more than half the ink (a thin digit would break apart).
    """
    out = images.copy()
    u = rng.random(len(images))
    grow, shrink = u < thicken, (u >= thicken) & (u < thicken + thin)
    if grow.any():
        out[grow, 0] = neighbourhood(images[grow, 0], grow=True)
    if shrink.any():
        thinner = neighbourhood(images[shrink, 0], grow=False, around=PLUS)
        keep = thinner.sum(axis=(1, 2)) >= 0.5 * images[shrink, 0].sum(axis=(1, 2))
        idx = np.flatnonzero(shrink)[keep]
        out[idx, 0] = thinner[keep]
    return out
