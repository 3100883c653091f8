"""The digit application's own kernels, in plain NumPy: resampling images (augmentation) and
inking line segments with the pad's round brush. Their Numba twins are in ink_fast.py;
tinycnn.backend picks one of the two, as it does for the layers' kernels."""
import numpy as np


def warp(images, src_y, src_x):
    """Resample images at fractional source coordinates, bilinearly; outside the image reads 0.

    images, src_y, src_x: (N, H, W) -> (N, H, W), out[n, y, x] = images[n] sampled at
    (src_y[n, y, x], src_x[n, y, x]): the weighted mean of the four pixels around that point.
    """
    N, H, W = images.shape
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    fy, fx = (src_y - y0).astype(images.dtype), (src_x - x0).astype(images.dtype)
    n = np.arange(N)[:, None, None]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # a border of zeros for the four taps

    def tap(dy, dx):
        yy, xx = np.clip(y0 + dy + 1, 0, H + 1), np.clip(x0 + dx + 1, 0, W + 1)
        return padded[n, yy, xx]

    return ((1 - fy) * ((1 - fx) * tap(0, 0) + fx * tap(0, 1))
            + fy * ((1 - fx) * tap(1, 0) + fx * tap(1, 1))).astype(images.dtype)


def ink_segments(shape, seg, radius):
    """Ink line segments with the pad's round brush on a black image.

    shape: (H, W); seg: (S, 4) float32 rows (x0, y0, x1, y1) in pixels; radius: pixels.
    Returns (H, W) float32: clip(radius + 0.5 - distance to the nearest segment, 0, 1), the
    coverage brush.stamp_segment gives, the brightest segment winning.
    """
    H, W = shape
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    dist = np.full(shape, np.inf, np.float32)
    for ax, ay, bx, by in seg:  # one segment at a time: memory stays that of one image
        dx, dy = bx - ax, by - ay
        # The closest point of the segment to each pixel: a + t (b - a), t clipped to [0, 1].
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        np.minimum(dist, np.hypot(xs - ax - t * dx, ys - ay - t * dy), out=dist)
    return np.clip(radius + 0.5 - dist, 0, 1).astype(np.float32)
