"""Conv2D: a convolution as one matrix product over unfolded patches (im2col)."""
import numpy as np

from ..backend import kernels
from ..kernels import out_size
from .base import Layer, he_normal


class Conv2D(Layer):
    """2-D convolution (cross-correlation, like PyTorch).

    x: (N, in_channels, H, W) -> y: (N, out_channels, Ho, Wo), Ho = (H + 2*padding - k) // stride + 1.
    params: W (out, in, k, k), b (out,).
    """

    saved = ("cols",)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__()
        self.c_in, self.c_out, self.k = int(in_channels), int(out_channels), int(kernel_size)
        self.stride, self.padding = int(stride), int(padding)
        if min(self.c_in, self.c_out, self.k, self.stride) < 1 or self.padding < 0:
            raise ValueError(f"Conv2D: channels, kernel_size and stride must be >= 1 and padding >= 0, got "
                             f"{in_channels}, {out_channels}, {kernel_size}, stride {stride}, padding {padding}")
        fan_in = self.c_in * self.k * self.k
        self.add_param("W", he_normal((self.c_out, self.c_in, self.k, self.k), fan_in, rng))
        self.add_param("b", np.zeros(self.c_out, np.float32))

    def config(self):
        return dict(in_channels=self.c_in, out_channels=self.c_out, kernel_size=self.k,
                    stride=self.stride, padding=self.padding)

    def __repr__(self):
        extra = (f", stride={self.stride}" if self.stride != 1 else "") + (
            f", padding={self.padding}" if self.padding else "")
        return f"Conv2D({self.c_in} -> {self.c_out}, {self.k}x{self.k}{extra})"

    def output_shape(self, shape):
        _, H, W = shape
        return (self.c_out, out_size(H, self.k, self.stride, self.padding),
                out_size(W, self.k, self.stride, self.padding))

    def flops(self, shape):
        _, Ho, Wo = self.output_shape(shape)
        return 2 * Ho * Wo * self.c_out * self.c_in * self.k * self.k

    def forward(self, x):
        out = self.forward_columns(x)
        N, F, (Ho, Wo) = x.shape[0], self.c_out, self.out_hw
        # Back to NCHW, adding the bias in the same pass as the transposing copy.
        y = np.empty((N, F, Ho * Wo), dtype=out.dtype)
        np.add(out.reshape(F, N, Ho * Wo).transpose(1, 0, 2), self.params["b"][None, :, None], out=y)
        return y.reshape(N, F, Ho, Wo)

    def forward_columns(self, x):
        """The convolution without bias, as the matrix product gives it: (F, N*Ho*Wo).

        Split out so that fused kernels (see fusion.py) can consume it directly.
        """
        k, s, p = self.k, self.stride, self.padding
        self._expect(x, f"(N, {self.c_in}, H, W) with H, W >= {k - 2 * p}",
                     lambda x: x.ndim == 4 and x.shape[1] == self.c_in and min(x.shape[2:]) + 2 * p >= k)
        self.x_shape = x.shape
        self.out_hw = (out_size(x.shape[2], k, s, p), out_size(x.shape[3], k, s, p))
        self.cols = kernels().im2col(x, k, k, s, p)                      # (C*k*k, N*Ho*Wo)
        return kernels().matmul(self.params["W"].reshape(self.c_out, -1), self.cols)  # (F, N*Ho*Wo)

    def backward(self, dy):
        return self.backward_columns(*self._columns(dy))

    def backward_params(self, dy):
        self.backward_columns(*self._columns(dy), need_dx=False)

    def _columns(self, dy):
        F = self.c_out
        dy2 = dy.reshape(dy.shape[0], F, -1).transpose(1, 0, 2).reshape(F, -1)   # (F, N*Ho*Wo)
        return dy2, dy2.sum(axis=1)

    def backward_columns(self, dy2, db, need_dx=True):
        """Backward from the gradient in the matrix product's layout, dy2: (F, N*Ho*Wo), and db: (F,).

        dL/dW = dy2 @ cols.T (each weight met every column it multiplied); dL/dcols = W.T @ dy2,
        and col2im adds each column's gradient back onto the pixels it was copied from.
        """
        self.grads["W"] += kernels().matmul(dy2, self.cols.T).reshape(self.params["W"].shape)
        self.grads["b"] += db
        if not need_dx:
            return None
        dcols = kernels().matmul(self.params["W"].reshape(self.c_out, -1).T, dy2)  # (C*k*k, N*Ho*Wo)
        return kernels().col2im(dcols, self.x_shape, self.k, self.k, self.stride, self.padding)
