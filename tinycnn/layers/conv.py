"""Conv2D: a convolution as one matrix product over unfolded patches (im2col)."""
import numpy as np

from ..backend import kernels
from ..kernels import out_size
from .base import Layer, he_normal


class Conv2D(Layer):
    """2-D convolution (cross-correlation, like PyTorch).

    x: (N, in_channels, H, W) -> y: (N, out_channels, Ho, Wo), Ho = (H + 2*padding - k) // stride + 1.
    params: W (out, in, k, k), b (out,).

    Forward copies every k x k patch of x into a column of one matrix (im2col), so that the whole
    convolution is a single matrix product W (F, C*k*k) @ cols (C*k*k, N*Ho*Wo).
    """

    saved = ("cols",)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        if min(self.in_channels, self.out_channels, self.kernel_size, self.stride) < 1 or self.padding < 0:
            raise ValueError(f"Conv2D: channels, kernel_size and stride must be >= 1 and padding >= 0, got "
                             f"{in_channels}, {out_channels}, {kernel_size}, stride {stride}, padding {padding}")
        k = self.kernel_size
        self.add_param("W", he_normal((self.out_channels, self.in_channels, k, k), self.in_channels * k * k, rng))
        self.add_param("b", np.zeros(self.out_channels, np.float32))

    def __repr__(self):
        extra = (f", stride={self.stride}" if self.stride != 1 else "") + (
            f", padding={self.padding}" if self.padding else "")
        k = self.kernel_size
        return f"Conv2D({self.in_channels} -> {self.out_channels}, {k}x{k}{extra})"

    def output_shape(self, shape):
        _, H, W = shape
        k, s, p = self.kernel_size, self.stride, self.padding
        return (self.out_channels, out_size(H, k, s, p), out_size(W, k, s, p))

    def flops(self, shape):
        _, Ho, Wo = self.output_shape(shape)
        return 2 * Ho * Wo * self.out_channels * self.in_channels * self.kernel_size ** 2

    def check_input(self, x):
        """Refuse x unless it is (N, in_channels, H, W) with room for one window."""
        k, p = self.kernel_size, self.padding
        self._expect(x, f"(N, {self.in_channels}, H, W) with H, W >= {k - 2 * p}",
                     lambda x: x.ndim == 4 and x.shape[1] == self.in_channels and min(x.shape[2:]) + 2 * p >= k)

    def forward(self, x):
        self.check_input(x)
        k, s, p = self.kernel_size, self.stride, self.padding
        (N, _, H, W), F = x.shape, self.out_channels
        self.x_shape = x.shape
        self.cols = kernels().im2col(x, k, k, s, p)                                 # (C*k*k, N*Ho*Wo)
        out = kernels().matmul(self.params["W"].reshape(F, -1), self.cols)         # (F, N*Ho*Wo)
        out = out.reshape(F, N, out_size(H, k, s, p), out_size(W, k, s, p))
        return out.transpose(1, 0, 2, 3) + self.params["b"][None, :, None, None]  # (N, F, Ho, Wo)

    def backward(self, dy):
        """dL/dW = dy @ cols.T (each weight met every patch it multiplied); dL/dcols = W.T @ dy,
        and col2im adds each column's gradient back onto the pixels it was copied from."""
        F, k = self.out_channels, self.kernel_size
        dy2 = dy.transpose(1, 0, 2, 3).reshape(F, -1)                               # (F, N*Ho*Wo)
        self.grads["W"] += kernels().matmul(dy2, self.cols.T).reshape(self.params["W"].shape)
        self.grads["b"] += dy2.sum(axis=1)
        dcols = kernels().matmul(self.params["W"].reshape(F, -1).T, dy2)           # (C*k*k, N*Ho*Wo)
        return kernels().col2im(dcols, self.x_shape, k, k, self.stride, self.padding)
