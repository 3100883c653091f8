"""Plain NumPy reference kernels: written to be read, and the yardstick the Numba twins are tested against.

Conventions: images are NCHW; a conv's "columns" matrix has one row per (channel, kernel row,
kernel column) and one column per (image, output row, output column), so a convolution is
the single matrix product  W.reshape(F, C*kh*kw) @ cols.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def out_size(size, k, stride, pad):
    """Output length of a window of length k sliding with `stride` over `size` + 2*`pad`."""
    return (size + 2 * pad - k) // stride + 1


def matmul(a, b):
    """a: (M, K) @ b: (K, N) -> (M, N): every convolution and dense layer is one of these."""
    return a @ b


def conv2d_loops(x, w, b, stride=1, pad=0):
    """A convolution as it is defined, one output value at a time: slow, and the yardstick for im2col.

    x: (N, C, H, W), w: (F, C, kh, kw), b: (F,) -> y: (N, F, Ho, Wo) with
    y[n, f, i, j] = b[f] + sum over c, u, v of w[f, c, u, v] * xpad[n, c, i*stride + u, j*stride + v]
    (a cross-correlation, as in PyTorch: the kernel is not flipped).
    """
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return y


def conv2d_im2col(x, w, b, stride=1, pad=0):
    """The same convolution as one matrix product: every patch unfolded into a column (im2col).

    x: (N, C, H, W), w: (F, C, kh, kw), b: (F,) -> y: (N, F, Ho, Wo). Conv2D does this.
    Backward, from y = Wm @ cols + b with Wm = w.reshape(F, C*kh*kw) and dy2 = dy in cols' layout
    (F, N*Ho*Wo): dWm = dy2 @ cols.T (each weight, times every patch value it met), db = dy2
    summed over columns, dcols = Wm.T @ dy2, and dx = col2im(dcols): every patch value's
    gradient added back onto the pixel it was copied from (a pixel in k patches gets k terms).
    """
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    out = w.reshape(F, -1) @ im2col(x, kh, kw, stride, pad) + b[:, None]   # (F, N*Ho*Wo)
    return out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)


def im2col(x, kh, kw, stride, pad):
    """Unfold every receptive field of x into a column.

    x: (N, C, H, W) -> cols: (C*kh*kw, N*Ho*Wo), where
    cols[(c*kh + i)*kw + j, (n*Ho + y)*Wo + x'] = xpad[n, c, y*stride + i, x'*stride + j].
    """
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # windows[n, c, y, x', i, j] is a view, no copy yet; striding picks every stride-th window.
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    Ho, Wo = windows.shape[2], windows.shape[3]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * kh * kw, N * Ho * Wo)


def col2im(cols, x_shape, kh, kw, stride, pad):
    """The adjoint of im2col: add every column back onto the pixels it was read from.

    cols: (C*kh*kw, N*Ho*Wo) -> dx: x_shape = (N, C, H, W).
    One vectorised add per kernel offset (i, j): the kh*kw slices never overlap within
    themselves, so plain `+=` is exact and np.add.at is not needed.
    """
    N, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    c6 = cols.reshape(C, kh, kw, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += c6[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, pad:pad + H, pad:pad + W]


def maxpool_forward(x, k, stride):
    """Max over each k x k window.

    x: (N, C, H, W) -> out: (N, C, Ho, Wo) and arg: (N, C, Ho, Wo) uint8, the position
    i*k + j of the maximum inside its window (the "switch" that backward routes through).
    """
    windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = windows.reshape(windows.shape[:4] + (k * k,))
    arg = flat.argmax(axis=-1)  # the first maximum wins a tie, as in the Numba twin
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, arg.astype(np.uint8)


def maxpool_backward(dout, arg, x_shape, k, stride):
    """Send each output gradient to the input pixel that won its window.

    dout, arg: (N, C, Ho, Wo) -> dx: x_shape. Derivation: y = max of the window, so dy/dx is 1
    for the winner and 0 for the others (a small change to a loser does not change the max);
    dL/dx[winner] = dL/dy. Windows may overlap (stride < k), so the gradient is accumulated
    one window offset at a time.
    """
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dout * (arg == i * k + j)
    return dx


def relu_forward(x):
    """x: any shape -> max(x, 0), same shape."""
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(dy, y):
    """dy, y = relu_forward(x), same shape -> dL/dx: the gradient passes where the unit was on (y > 0)."""
    return dy * (y > 0)


def batchnorm_forward(x, gamma, beta, eps):
    """Normalise each channel with its batch statistics, then scale and shift.

    x: (N, C, L) (L = H*W, or 1 for features) -> y, xhat: (N, C, L); mean, var: (C,) (biased).
    xhat = (x - mean) / sqrt(var + eps);  y = gamma * xhat + beta.
    """
    mean = x.mean(axis=(0, 2))
    xc = x - mean[None, :, None]
    var = np.mean(xc * xc, axis=(0, 2))
    xhat = xc * (1.0 / np.sqrt(var + eps)).astype(x.dtype)[None, :, None]
    return xhat * gamma[None, :, None] + beta[None, :, None], xhat, mean, var


def batchnorm_backward(dy, xhat, gamma, inv_std):
    """Gradients of batch norm with batch statistics.

    dy, xhat: (N, C, L); gamma, inv_std: (C,) -> dx: (N, C, L), dgamma, dbeta: (C,).
    Derivation, per channel over its m = N*L values: y = gamma * xhat + beta gives
    dbeta = sum(dy), dgamma = sum(dy * xhat), dxhat = gamma * dy. Then xhat = (x - mu) * s with
    s = 1/sqrt(var + eps); mu and var depend on every x too: d mu/dx_i = 1/m, and since
    d var/dx_i = 2 (x_i - mu)/m, d s/dx_i = -s^3 (x_i - mu)/m = -s xhat_i / m. Collecting terms,
    dx = s * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), that is
    dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)).
    """
    dbeta = dy.sum(axis=(0, 2))
    dgamma = np.sum(dy * xhat, axis=(0, 2))
    m = dy.shape[0] * dy.shape[2]
    dx = (gamma * inv_std)[None, :, None] * (dy - (dbeta / m)[None, :, None] - xhat * (dgamma / m)[None, :, None])
    return dx.astype(dy.dtype), dgamma.astype(dy.dtype), dbeta.astype(dy.dtype)


def conv_relu_pool2_forward(product, b, N, Ho, Wo):
    """Bias, ReLU and 2x2 max-pool in one step, from a convolution's matrix-product output.

    product: (F, N*Ho*Wo), b: (F,) -> y: (N, F, Ho//2, Wo//2) and arg: the same shape, uint8, the
    winner's position i*2 + j in its window, or 255 where the window's maximum is <= 0 (ReLU
    has cut it, so no gradient flows). relu(max(v)) = max(relu(v)), so this is exactly
    MaxPool2D(2)(ReLU()(conv + b)).
    """
    F = product.shape[0]
    z = product.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3) + b[None, :, None, None]
    pooled, arg = maxpool_forward(np.ascontiguousarray(z), 2, 2)
    arg = np.where(pooled > 0, arg, 255).astype(np.uint8)
    return np.maximum(pooled, 0, dtype=pooled.dtype), arg


def conv_relu_pool2_backward(dy, arg, Ho, Wo):
    """The gradient of conv_relu_pool2_forward with respect to `product`, in its layout.

    dy, arg: (N, F, Ho//2, Wo//2) -> dproduct: (F, N*Ho*Wo) (zero except at the winners), db: (F,).
    """
    N, F = dy.shape[:2]
    live = np.where(arg == 255, 0, dy).astype(dy.dtype)
    dz = maxpool_backward(live, np.where(arg == 255, 0, arg), (N, F, Ho, Wo), 2, 2)
    return np.ascontiguousarray(dz.transpose(1, 0, 2, 3)).reshape(F, -1), live.sum(axis=(0, 2, 3))
