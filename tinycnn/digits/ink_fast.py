"""Numba twins of ink.py: the same functions, signatures and results, written as loops."""
import numpy as np

from ..speed.kernels import _in_pieces, jit


@jit
def _warp(images, src_y, src_x, out, n0, n1):
    N, H, W = images.shape
    for n in range(n0, n1):
        for y in range(H):
            for x in range(W):
                sy, sx = src_y[n, y, x], src_x[n, y, x]
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                fy, fx = sy - y0, sx - x0
                acc = 0.0
                for dy in range(2):
                    yy = y0 + dy
                    if 0 <= yy < H:
                        wy = fy if dy else 1 - fy
                        for dx in range(2):
                            xx = x0 + dx
                            if 0 <= xx < W:
                                acc += wy * (fx if dx else 1 - fx) * images[n, yy, xx]
                out[n, y, x] = acc


def warp(images, src_y, src_x):
    """images, src_y, src_x: (N, H, W) -> (N, H, W); see ink.warp."""
    out = np.empty_like(images)
    _in_pieces(_warp, images.shape[0], 8 * images.size, np.ascontiguousarray(images),
              np.ascontiguousarray(src_y), np.ascontiguousarray(src_x), out)
    return out


@jit
def _ink_segments(seg, radius, out):
    H, W = out.shape
    for s in range(seg.shape[0]):
        ax, ay, bx, by = seg[s, 0], seg[s, 1], seg[s, 2], seg[s, 3]
        dx, dy = bx - ax, by - ay
        length2 = max(dx * dx + dy * dy, 1e-12)
        # only the pixels the brush can reach around this segment
        x0, x1 = max(int(min(ax, bx) - radius - 1.5), 0), min(int(max(ax, bx) + radius + 1.5) + 1, W)
        y0, y1 = max(int(min(ay, by) - radius - 1.5), 0), min(int(max(ay, by) + radius + 1.5) + 1, H)
        for y in range(y0, y1):
            for x in range(x0, x1):
                t = min(max(((x - ax) * dx + (y - ay) * dy) / length2, 0.0), 1.0)
                ex, ey = x - ax - t * dx, y - ay - t * dy
                c = min(max(radius + 0.5 - np.sqrt(ex * ex + ey * ey), 0.0), 1.0)
                if c > out[y, x]:
                    out[y, x] = c


def ink_segments(shape, seg, radius):
    """(H, W), (S, 4) segments, radius -> (H, W) float32; see ink.ink_segments."""
    out = np.zeros(shape, np.float32)
    _ink_segments(np.ascontiguousarray(seg, dtype=np.float32), np.float32(radius), out)
    return out
