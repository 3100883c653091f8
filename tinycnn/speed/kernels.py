"""Numba twins of tinycnn/kernels.py (the reference): the same functions and results, written as loops.

Each loop kernel works on a range of images (or channels, or elements) and releases the GIL,
so a wrapper can hand disjoint ranges to tinycnn's thread pool; the matrix products are cut
the same way and run with BLAS held at one thread. threads.py holds the thread policy (how
many threads, and when a job is big enough to split) and the measurements behind it.
Two additions serve the fused steps (fusion.py): `out=`, an array kept from step to step to
write the result into (workspace.py), and the convolution in blocks of images
(conv_forward_blocked, conv_backward_blocked), tested against the reference's im2col product.
"""
import numba
import numpy as np

from ..kernels import out_size
from . import threads
from .threads import blas_single, run_pieces, split

jit = numba.njit(cache=True, nogil=True)
# Reductions may be reordered (vectorised) where the order of a sum does not matter.
jit_reduce = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})


def matmul(a, b, out=None, work=None):
    """a: (M, K) @ b: (K, N) -> (M, N) float32, in pieces on tinycnn's threads with BLAS at one thread.

    Cut along N (columns), M (rows) or, when both are small beside K, along K with the pieces'
    products summed (the weight gradients: (F, N*Ho*Wo) @ (N*Ho*Wo, C*k*k)). `out`: an (M, N)
    array to write into; `work`: a Workspace for those pieces' products (workspace.py)."""
    M, K = a.shape
    N = b.shape[1]
    flops = 2.0 * M * N * K
    dtype = np.result_type(a, b)
    out = np.empty((M, N), dtype=dtype) if out is None else out
    if M * N * K < threads.BLAS_ONE_THREAD_BELOW:  # BLAS runs it on one thread anyway: no setting to hold
        return np.matmul(a, b, out=out)
    with blas_single():
        if max(M, N) * 4 >= K:  # cut the output into blocks of columns (or rows)
            along_n = N >= M
            bounds = split(N if along_n else M, flops, threads.MIN_PARALLEL_FLOPS)
            if len(bounds) == 2:
                return np.matmul(a, b, out=out)
            if along_n:
                run_pieces(lambda lo, hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]), bounds)
            else:
                run_pieces(lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]), bounds)
            return out
        bounds = split(K, flops, threads.MIN_PARALLEL_FLOPS)
        if len(bounds) == 2:
            return np.matmul(a, b, out=out)
        shape = (len(bounds) - 1, M, N)
        parts = np.empty(shape, dtype=dtype) if work is None else work.get(f"matmul parts {shape}", shape, dtype)
        run_pieces(lambda lo, hi: np.matmul(a[:, lo:hi], b[lo:hi], out=parts[bounds.index(lo)]), bounds)
        return parts.sum(axis=0, out=out)


def _in_pieces(kernel, n, work, *args):
    """kernel(*args, lo, hi) over [lo, hi) ranges of n items (images, channels or elements) on the pool;
    `work` (elements touched) decides whether splitting pays (threads.split)."""
    run_pieces(lambda lo, hi: kernel(*args, lo, hi), split(n, work))


@jit
def _span(j, stride, pad, W, Wo):
    """The output columns [lo, hi) whose input column xo * stride + j - pad is inside 0..W-1."""
    lo = min(Wo, max(0, (pad - j + stride - 1) // stride))
    return lo, max(lo, min(Wo, (W - 1 + pad - j) // stride + 1))


# In the two loops below each row of output columns is cut into its padding and its inside, and
# the inside is indexed with unsigned integers: a signed index makes Numba check every access for
# Python's negative indexing, which kept LLVM from vectorising the copy. Measured on the seed
# network's second layer at batch 64: 2.2-2.4 ms before (a branch per element), 0.9-1.3 ms after.
U = np.uint64


@jit
def _im2col(x, kh, kw, stride, pad, Ho, Wo, cols, first, n0, n1):
    N, C, H, W = x.shape
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                lo, hi = _span(j, stride, pad, W, Wo)
                for n in range(n0, n1):
                    for y in range(Ho):
                        base = ((n - first) * Ho + y) * Wo  # column of (image n, row y, column 0)
                        iy = y * stride + i - pad
                        if iy < 0 or iy >= H:
                            row[base:base + Wo] = 0
                            continue
                        src, start = x[n, c, iy], lo * stride + j - pad
                        for xo in range(lo):
                            row[U(base + xo)] = 0
                        for t in range(hi - lo):
                            row[U(base + lo + t)] = src[U(start + t * stride)]
                        for xo in range(hi, Wo):
                            row[U(base + xo)] = 0


def im2col(x, kh, kw, stride, pad, out=None):
    """x: (N, C, H, W) -> cols: (C*kh*kw, N*Ho*Wo), written into `out` if given; see reference.im2col."""
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    cols = np.empty((C * kh * kw, N * Ho * Wo), dtype=x.dtype) if out is None else out
    _in_pieces(_im2col, N, cols.size, np.ascontiguousarray(x), kh, kw, stride, pad, Ho, Wo, cols, 0)
    return cols


@jit
def _col2im(cols, kh, kw, stride, pad, Ho, Wo, dx, first, n0, n1):
    N, C, H, W = dx.shape
    dx[n0:n1] = 0  # each piece clears its own images: no pass over all of dx before
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                lo, hi = _span(j, stride, pad, W, Wo)
                for n in range(n0, n1):
                    for y in range(Ho):
                        iy = y * stride + i - pad
                        if iy < 0 or iy >= H:
                            continue
                        dst, start, base = dx[n, c, iy], lo * stride + j - pad, ((n - first) * Ho + y) * Wo + lo
                        for t in range(hi - lo):
                            dst[U(start + t * stride)] += row[U(base + t)]


def col2im(cols, x_shape, kh, kw, stride, pad, out=None):
    """cols: (C*kh*kw, N*Ho*Wo) -> dx: x_shape, written into `out` if given; see reference.col2im."""
    N, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    dx = np.empty(x_shape, dtype=cols.dtype) if out is None else out
    _in_pieces(_col2im, N, cols.size, np.ascontiguousarray(cols), kh, kw, stride, pad, Ho, Wo, dx, 0)
    return dx


# A convolution in blocks of images, for the fused steps (fusion.py): each piece unfolds its
# images' columns into a block of its own and multiplies it at once, while it is still in the
# core's cache, instead of one pass writing all the columns (9 MB for the seed network's second
# layer at batch 64) and another reading them back. Backward goes through the same blocks.
BLOCK_BYTES = 1 << 19  # a block of columns this size or less stays in a core's L2 cache (1 MB here)


def conv_blocks(N, block_bytes_per_image, work):
    """Image boundaries [0, ..., N] of the blocks: at least threads.split's pieces, and blocks of
    columns of at most BLOCK_BYTES (one image at least)."""
    bounds = split(N, work)
    pieces = max(len(bounds) - 1, min(N, -(-N * block_bytes_per_image // BLOCK_BYTES)))
    return bounds if pieces == len(bounds) - 1 else [N * i // pieces for i in range(pieces + 1)]


def _block(flat, rows, hw, lo, hi):
    """The (rows, (hi - lo) * hw) block of images lo..hi in a blocked columns array."""
    return flat[rows * lo * hw:rows * hi * hw].reshape(rows, (hi - lo) * hw)


def conv_forward_blocked(x, w2, kh, kw, stride, pad, cols, product, bounds):
    """x: (N, C, H, W), w2: (F, C*kh*kw) -> product: (F, N*Ho*Wo), written in place, with the
    columns kept in `cols` (flat, C*kh*kw*N*Ho*Wo values) block by block, images bounds[i] to
    bounds[i+1] in block i: for backward. The same numbers as w2 @ im2col(x)."""
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    rows, hw, x = C * kh * kw, Ho * Wo, np.ascontiguousarray(x)

    def piece(lo, hi):
        block = _block(cols, rows, hw, lo, hi)
        _im2col(x, kh, kw, stride, pad, Ho, Wo, block, lo, lo, hi)
        np.matmul(w2, block, out=product[:, lo * hw:hi * hw])

    with blas_single():
        run_pieces(piece, bounds)
    return product


def conv_backward_blocked(dproduct, w2, cols, x_shape, kh, kw, stride, pad, bounds, dw_parts, dx):
    """The gradients of conv_forward_blocked, given dproduct: (F, N*Ho*Wo): dx: x_shape, written
    in place, and dw2: (F, C*kh*kw), the sum of the blocks' parts, taken transposed (dw_parts:
    (blocks, C*kh*kw, F)): block @ d.T ran at 93 GFLOP/s a core here, d @ block.T at 75.
    Each block's columns are overwritten by their gradient once its part of dw2 is taken."""
    N, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    rows, hw = C * kh * kw, Ho * Wo

    def piece(lo, hi):
        block, d = _block(cols, rows, hw, lo, hi), dproduct[:, lo * hw:hi * hw]
        np.matmul(block, d.T, out=dw_parts[bounds.index(lo)])
        np.matmul(w2.T, d, out=block)
        _col2im(block, kh, kw, stride, pad, Ho, Wo, dx, lo, lo, hi)

    with blas_single():
        run_pieces(piece, bounds)
    return dx, dw_parts.sum(axis=0).T


@jit
def _maxpool_forward(x, k, stride, out, arg, n0, n1):
    N, C, Ho, Wo = out.shape
    for n in range(n0, n1):
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

    Branch-free: max of four, then the first that equals it, counted with arithmetic. Several
    times faster than the general pooling loop, whose compare-and-track chain does not
    pipeline; the position written as nested ifs compiled to branches, which mispredict on
    where a window's maximum happens to be (3x slower)."""
    m = max(max(a, b), max(c, d))
    return m, (a != m) * (1 + (b != m) * (1 + (c != m)))


@jit
def _maxpool2x2_forward(x, out, arg, p0, p1):
    P, Ho, Wo = out.shape
    for p in range(p0, p1):
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
    if k == 2 and stride == 2:  # over planes (image, channel)
        _in_pieces(_maxpool2x2_forward, N * C, x.size, x.reshape(N * C, H, W),
                  out.reshape(N * C, Ho, Wo), arg.reshape(N * C, Ho, Wo))
    else:
        _in_pieces(_maxpool_forward, N, x.size, x, k, stride, out, arg)
    return out, arg


@jit
def _maxpool_backward(dout, arg, k, stride, dx, n0, n1):
    N, C, Ho, Wo = dout.shape
    for n in range(n0, n1):
        for c in range(C):
            for y in range(Ho):
                for xo in range(Wo):
                    a = arg[n, c, y, xo]
                    dx[n, c, y * stride + a // k, xo * stride + a % k] += dout[n, c, y, xo]


def maxpool_backward(dout, arg, x_shape, k, stride):
    """dout, arg: (N, C, Ho, Wo) -> dx: x_shape; see reference.maxpool_backward."""
    dx = np.zeros(x_shape, dtype=dout.dtype)
    _in_pieces(_maxpool_backward, dout.shape[0], dx.size, np.ascontiguousarray(dout), arg, k, stride, dx)
    return dx


@jit
def _relu_forward(x, y, lo, hi):
    for i in range(lo, hi):
        y[i] = x[i] if x[i] > 0 else 0


def relu_forward(x):
    """x: any shape -> max(x, 0), same shape."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _in_pieces(_relu_forward, x.size, x.size, x.reshape(-1), y.reshape(-1))
    return y


@jit
def _relu_backward(dy, y, dx, lo, hi):
    # A product, as the reference: the select `dy if y > 0 else 0` compiled to a branch, which
    # mispredicts on ReLU's random on/off pattern and took 3-4x longer (with the same values
    # sorted, no difference).
    for i in range(lo, hi):
        dx[i] = dy[i] * (y[i] > 0)


def relu_backward(dy, y):
    """dy, y: the same shape -> dy where y > 0, else 0."""
    dy, y = np.ascontiguousarray(dy), np.ascontiguousarray(y)
    dx = np.empty_like(dy)
    _in_pieces(_relu_backward, dy.size, dy.size, dy.reshape(-1), y.reshape(-1), dx.reshape(-1))
    return dx


@jit_reduce
def _batchnorm_forward(x, gamma, beta, eps, y, xhat, mean, var, c0, c1):
    N, C, L = x.shape
    m = N * L
    for c in range(c0, c1):
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
    """x: (N, C, L) -> y, xhat: (N, C, L), mean, var: (C,); see reference.batchnorm_forward.
    Split over channels: each channel's statistics are its own."""
    x = np.ascontiguousarray(x)
    y, xhat = np.empty_like(x), np.empty_like(x)
    mean, var = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _in_pieces(_batchnorm_forward, x.shape[1], 3 * x.size, x, gamma, beta, eps, y, xhat, mean, var)
    return y, xhat, mean, var


@jit_reduce
def _batchnorm_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta, c0, c1):
    N, C, L = dy.shape
    m = N * L
    for c in range(c0, c1):
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
    """dy, xhat: (N, C, L) -> dx, dgamma, dbeta; see reference.batchnorm_backward. Split over channels."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    dgamma, dbeta = np.empty(dy.shape[1], dy.dtype), np.empty(dy.shape[1], dy.dtype)
    _in_pieces(_batchnorm_backward, dy.shape[1], 2 * dy.size, dy, xhat, gamma, inv_std, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


@jit
def _conv_relu_pool2_forward(product, b, Ho, Wo, y, arg, n0, n1):
    # Image by image, channel by channel, over row views of `product`, with a float32 zero: the
    # first version (flat offsets, a plain 0 that made the select float64) took 6x longer.
    F = product.shape[0]
    Hp, Wp = Ho // 2, Wo // 2
    zero = np.float32(0)
    for n in range(n0, n1):
        base = n * Ho * Wo
        for f in range(F):
            bias = b[f]
            for yp in range(Hp):
                top = base + 2 * yp * Wo
                r0, r1 = product[f, top:top + Wo], product[f, top + Wo:top + 2 * Wo]
                yo, ao = y[n, f, yp], arg[n, f, yp]
                for xp in range(Wp):
                    m, where = _max4(r0[2 * xp], r0[2 * xp + 1], r1[2 * xp], r1[2 * xp + 1])
                    v = m + bias
                    on = v > 0
                    yo[xp] = v if on else zero
                    ao[xp] = where if on else 255


def conv_relu_pool2_forward(product, b, N, Ho, Wo, out=None):
    """product: (F, N*Ho*Wo), b: (F,) -> y, arg: (N, F, Ho//2, Wo//2), written into the pair `out`
    if given; see reference.conv_relu_pool2_forward."""
    F = product.shape[0]
    shape = (N, F, Ho // 2, Wo // 2)
    y, arg = (np.empty(shape, dtype=product.dtype), np.empty(shape, dtype=np.uint8)) if out is None else out
    _in_pieces(_conv_relu_pool2_forward, N, product.size, np.ascontiguousarray(product), b, Ho, Wo, y, arg)
    return y, arg


@jit
def _conv_relu_pool2_backward(dy, arg, Ho, Wo, dprod, db_per_image, n0, n1):
    # Each image's rows are cleared here, piece by piece, then the winners written: no pass over
    # all of dprod before. (Writing all four values of each window, the winner's or a zero,
    # measured twice as slow as the clearing and the one write.)
    N, F, Hp, Wp = dy.shape
    for n in range(n0, n1):
        base = n * Ho * Wo
        for f in range(F):
            row, g, a = dprod[f, base:base + Ho * Wo], dy[n, f], arg[n, f]
            row[:] = 0
            s = 0.0
            for yp in range(Hp):
                for xp in range(Wp):
                    w = a[yp, xp]
                    if w != 255:
                        row[(2 * yp + w // 2) * Wo + 2 * xp + w % 2] = g[yp, xp]
                        s += g[yp, xp]
            db_per_image[n, f] = s


def conv_relu_pool2_backward(dy, arg, Ho, Wo, out=None):
    """dy, arg: (N, F, Ho//2, Wo//2) -> dproduct: (F, N*Ho*Wo), written into `out` if given, and
    db: (F,); see reference.conv_relu_pool2_backward."""
    N, F = dy.shape[:2]
    dprod = np.empty((F, N * Ho * Wo), dtype=dy.dtype) if out is None else out
    db_per_image = np.empty((N, F), dtype=dy.dtype)  # summed after, so pieces never share a total
    _in_pieces(_conv_relu_pool2_backward, N, dprod.size, np.ascontiguousarray(dy), arg, Ho, Wo, dprod, db_per_image)
    return dprod, db_per_image.sum(axis=0)


@jit
def _adam_update(p, g, m, v, step, b1, b2, c2, eps, weight_decay, lo, hi):
    # float32 throughout (the scalars arrive as float32), so LLVM vectorises the loop.
    one = np.float32(1)
    for i in range(lo, hi):
        gi = g[i] + weight_decay * p[i]
        m[i] = b1 * m[i] + (one - b1) * gi
        v[i] = b2 * v[i] + (one - b2) * gi * gi
        p[i] -= step * m[i] / (np.sqrt(v[i] * c2) + eps)


def adam_update(p, g, m, v, *, lr, b1, b2, t, eps, weight_decay):
    """Adam's step t in place (tinycnn.optim.Adam.update's plain lines), in float32, split over
    the parameters. p, g, m, v: arrays of one shape."""
    f = np.float32
    step, c2 = lr / (1 - b1 ** t), 1 / (1 - b2 ** t)  # the bias corrections, folded in once
    _in_pieces(_adam_update, p.size, 4 * p.size, p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
               f(step), f(b1), f(b2), f(c2), f(eps), f(weight_decay))
