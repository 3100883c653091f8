"""Numba twins of `reference`: the same functions, signatures and results, written as loops.

Single-threaded on purpose: NumPy's BLAS already runs the matrix products on every core,
and a second thread pool beside it was measured slower on 2 cores (see backend.py).
"""
import numba
import numpy as np

from .reference import out_size

jit = numba.njit(cache=True)
# Reductions may be reordered (vectorised) where the order of a sum does not matter.
jit_reduce = numba.njit(cache=True, fastmath={"reassoc", "contract", "nsz"})


@jit
def _im2col(x, kh, kw, stride, pad, Ho, Wo, cols):
    # One branch per element measured ~3x faster here than splitting each row into
    # precomputed valid/padding spans: LLVM turns this form into a select.
    N, C, H, W = x.shape
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for n in range(N):
                    for y in range(Ho):
                        base = (n * Ho + y) * Wo
                        iy = y * stride + i - pad
                        if iy < 0 or iy >= H:
                            row[base:base + Wo] = 0
                            continue
                        for xo in range(Wo):
                            ix = xo * stride + j - pad
                            row[base + xo] = x[n, c, iy, ix] if 0 <= ix < W else 0


def im2col(x, kh, kw, stride, pad):
    """x: (N, C, H, W) -> cols: (C*kh*kw, N*Ho*Wo); see reference.im2col."""
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    cols = np.empty((C * kh * kw, N * Ho * Wo), dtype=x.dtype)
    _im2col(np.ascontiguousarray(x), kh, kw, stride, pad, Ho, Wo, cols)
    return cols


@jit
def _col2im(cols, kh, kw, stride, pad, Ho, Wo, dx):
    N, C, H, W = dx.shape
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for n in range(N):
                    for y in range(Ho):
                        iy = y * stride + i - pad
                        if iy < 0 or iy >= H:
                            continue
                        base = (n * Ho + y) * Wo
                        for xo in range(Wo):
                            ix = xo * stride + j - pad
                            if 0 <= ix < W:
                                dx[n, c, iy, ix] += row[base + xo]


def col2im(cols, x_shape, kh, kw, stride, pad):
    """cols: (C*kh*kw, N*Ho*Wo) -> dx: x_shape; see reference.col2im."""
    N, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    dx = np.zeros(x_shape, dtype=cols.dtype)
    _col2im(np.ascontiguousarray(cols), kh, kw, stride, pad, Ho, Wo, dx)
    return dx


@jit
def _maxpool_forward(x, k, stride, out, arg):
    N, C, Ho, Wo = out.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for xo in range(Wo):
                    best = x[n, c, y * stride, xo * stride]
                    where = 0
                    for i in range(k):
                        for j in range(k):
                            v = x[n, c, y * stride + i, xo * stride + j]
                            if v > best:
                                best = v
                                where = i * k + j
                    out[n, c, y, xo] = best
                    arg[n, c, y, xo] = where


@jit
def _max4(a, b, c, d):
    """The maximum of a 2x2 window (a b / c d) and the position 0-3 of its first occurrence.

    Branch-free: max of four, then the first that equals it. Several times faster than the
    general pooling loop, whose compare-and-track chain does not pipeline."""
    m = max(max(a, b), max(c, d))
    return m, 0 if a == m else (1 if b == m else (2 if c == m else 3))


@jit
def _maxpool2x2_forward(x, out, arg):
    P, Ho, Wo = out.shape
    for p in range(P):
        for y in range(Ho):
            r0, r1, o, g = x[p, 2 * y], x[p, 2 * y + 1], out[p, y], arg[p, y]
            for xo in range(Wo):
                o[xo], g[xo] = _max4(r0[2 * xo], r0[2 * xo + 1], r1[2 * xo], r1[2 * xo + 1])


def maxpool_forward(x, k, stride):
    """x: (N, C, H, W) -> out, arg: (N, C, Ho, Wo); see reference.maxpool_forward."""
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, k, stride, 0), out_size(W, k, stride, 0)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    arg = np.empty((N, C, Ho, Wo), dtype=np.uint8)
    x = np.ascontiguousarray(x)
    if k == 2 and stride == 2:
        _maxpool2x2_forward(x.reshape(N * C, H, W), out.reshape(N * C, Ho, Wo), arg.reshape(N * C, Ho, Wo))
    else:
        _maxpool_forward(x, k, stride, out, arg)
    return out, arg


@jit
def _maxpool_backward(dout, arg, k, stride, dx):
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for xo in range(Wo):
                    a = arg[n, c, y, xo]
                    dx[n, c, y * stride + a // k, xo * stride + a % k] += dout[n, c, y, xo]


def maxpool_backward(dout, arg, x_shape, k, stride):
    """dout, arg: (N, C, Ho, Wo) -> dx: x_shape; see reference.maxpool_backward."""
    dx = np.zeros(x_shape, dtype=dout.dtype)
    _maxpool_backward(np.ascontiguousarray(dout), arg, k, stride, dx)
    return dx


@jit
def _relu_forward(x, y):
    for i in range(x.size):
        y[i] = x[i] if x[i] > 0 else 0


def relu_forward(x):
    """x: any shape -> max(x, 0), same shape."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _relu_forward(x.reshape(-1), y.reshape(-1))
    return y


@jit
def _relu_backward(dy, y, dx):
    for i in range(dy.size):
        dx[i] = dy[i] if y[i] > 0 else 0


def relu_backward(dy, y):
    """dy, y: the same shape -> dy where y > 0, else 0."""
    dy, y = np.ascontiguousarray(dy), np.ascontiguousarray(y)
    dx = np.empty_like(dy)
    _relu_backward(dy.reshape(-1), y.reshape(-1), dx.reshape(-1))
    return dx


@jit
def _warp(images, src_y, src_x, out):
    N, H, W = images.shape
    for n in range(N):
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
    """images, src_y, src_x: (N, H, W) -> (N, H, W); see reference.warp."""
    out = np.empty_like(images)
    _warp(np.ascontiguousarray(images), np.ascontiguousarray(src_y), np.ascontiguousarray(src_x), out)
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
    """(H, W), (S, 4) segments, radius -> (H, W) float32; see reference.ink_segments."""
    out = np.zeros(shape, np.float32)
    _ink_segments(np.ascontiguousarray(seg, dtype=np.float32), np.float32(radius), out)
    return out


@jit_reduce
def _batchnorm_forward(x, gamma, beta, eps, y, xhat, mean, var):
    N, C, L = x.shape
    m = N * L
    for c in range(C):
        s = 0.0
        for n in range(N):
            for i in range(L):
                s += x[n, c, i]
        mu = s / m
        s2 = 0.0
        for n in range(N):
            for i in range(L):
                d = x[n, c, i] - mu
                s2 += d * d
        v = s2 / m
        inv = 1.0 / np.sqrt(v + eps)
        g, b = gamma[c], beta[c]
        for n in range(N):
            for i in range(L):
                h = (x[n, c, i] - mu) * inv
                xhat[n, c, i] = h
                y[n, c, i] = g * h + b
        mean[c], var[c] = mu, v


def batchnorm_forward(x, gamma, beta, eps):
    """x: (N, C, L) -> y, xhat: (N, C, L), mean, var: (C,); see reference.batchnorm_forward."""
    x = np.ascontiguousarray(x)
    y, xhat = np.empty_like(x), np.empty_like(x)
    mean, var = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _batchnorm_forward(x, gamma, beta, eps, y, xhat, mean, var)
    return y, xhat, mean, var


@jit_reduce
def _batchnorm_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta):
    N, C, L = dy.shape
    m = N * L
    for c in range(C):
        sb, sg = 0.0, 0.0
        for n in range(N):
            for i in range(L):
                sb += dy[n, c, i]
                sg += dy[n, c, i] * xhat[n, c, i]
        dbeta[c], dgamma[c] = sb, sg
        k = gamma[c] * inv_std[c]
        mb, mg = sb / m, sg / m
        for n in range(N):
            for i in range(L):
                dx[n, c, i] = k * (dy[n, c, i] - mb - xhat[n, c, i] * mg)


def batchnorm_backward(dy, xhat, gamma, inv_std):
    """dy, xhat: (N, C, L) -> dx, dgamma, dbeta; see reference.batchnorm_backward."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    dgamma, dbeta = np.empty(dy.shape[1], dy.dtype), np.empty(dy.shape[1], dy.dtype)
    _batchnorm_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


@jit
def _conv_relu_pool2_forward(out, b, N, Ho, Wo, y, arg):
    # Image by image, channel by channel, over row views of `out`, with a float32 zero: the
    # first version (flat offsets, a plain 0 that made the select float64) took 6x longer.
    F = out.shape[0]
    Hp, Wp = Ho // 2, Wo // 2
    zero = np.float32(0)
    for n in range(N):
        base = n * Ho * Wo
        for f in range(F):
            bias = b[f]
            for yp in range(Hp):
                top = base + 2 * yp * Wo
                r0, r1 = out[f, top:top + Wo], out[f, top + Wo:top + 2 * Wo]
                yo, ao = y[n, f, yp], arg[n, f, yp]
                for xp in range(Wp):
                    m, where = _max4(r0[2 * xp], r0[2 * xp + 1], r1[2 * xp], r1[2 * xp + 1])
                    v = m + bias
                    on = v > 0
                    yo[xp] = v if on else zero
                    ao[xp] = where if on else 255


def conv_relu_pool2_forward(out, b, N, Ho, Wo):
    """out: (F, N*Ho*Wo), b: (F,) -> y, arg: (N, F, Ho//2, Wo//2); see reference.conv_relu_pool2_forward."""
    F = out.shape[0]
    y = np.empty((N, F, Ho // 2, Wo // 2), dtype=out.dtype)
    arg = np.empty(y.shape, dtype=np.uint8)
    _conv_relu_pool2_forward(np.ascontiguousarray(out), b, N, Ho, Wo, y, arg)
    return y, arg


@jit
def _conv_relu_pool2_backward(dy, arg, Ho, Wo, dout, db):
    N, F, Hp, Wp = dy.shape
    for n in range(N):
        base = n * Ho * Wo
        for f in range(F):
            row, g, a = dout[f], dy[n, f], arg[n, f]
            s = 0.0
            for yp in range(Hp):
                for xp in range(Wp):
                    w = a[yp, xp]
                    if w != 255:
                        row[base + (2 * yp + w // 2) * Wo + 2 * xp + w % 2] = g[yp, xp]
                        s += g[yp, xp]
            db[f] += s


def conv_relu_pool2_backward(dy, arg, Ho, Wo):
    """dy, arg: (N, F, Ho//2, Wo//2) -> dout: (F, N*Ho*Wo), db: (F,); see reference.conv_relu_pool2_backward."""
    N, F = dy.shape[:2]
    dout = np.zeros((F, N * Ho * Wo), dtype=dy.dtype)
    db = np.zeros(F, dtype=dy.dtype)
    _conv_relu_pool2_backward(np.ascontiguousarray(dy), arg, Ho, Wo, dout, db)
    return dout, db


@jit
def _adam_update(p, g, m, v, step, b1, b2, c2, eps, weight_decay):
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        p[i] -= step * m[i] / (np.sqrt(v[i] * c2) + eps)


def adam_update(p, g, m, v, step, b1, b2, c2, eps, weight_decay):
    """One Adam step in place; see reference.adam_update."""
    _adam_update(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), step, b1, b2, c2, eps, weight_decay)
