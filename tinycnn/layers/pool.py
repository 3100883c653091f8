"""MaxPool2D: the largest value of each window, remembering which one won."""
from ..backend import kernels
from ..kernels import out_size
from .base import Layer


class MaxPool2D(Layer):
    """Max pooling over kernel_size x kernel_size windows (floor mode, no padding).

    x: (N, C, H, W) -> y: (N, C, (H - k) // stride + 1, (W - k) // stride + 1); stride defaults to k.
    Forward records the argmax of each window ("switches") so backward routes each
    gradient to the one input that produced the maximum.
    """

    saved = ("arg",)

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.stride = int(stride) if stride is not None else self.kernel_size
        if not 1 <= self.kernel_size <= 16 or self.stride < 1:
            raise ValueError(f"MaxPool2D: kernel_size must be 1..16 and stride >= 1, "
                             f"got {kernel_size} and {stride}")

    def __repr__(self):
        return f"MaxPool2D({self.kernel_size}" + (f", stride={self.stride})" if self.stride != self.kernel_size else ")")

    def output_shape(self, shape):
        C, H, W = shape
        return (C, out_size(H, self.kernel_size, self.stride, 0), out_size(W, self.kernel_size, self.stride, 0))

    def flops(self, shape):
        C, Ho, Wo = self.output_shape(shape)
        return C * Ho * Wo * self.kernel_size * self.kernel_size

    def forward(self, x):
        self._expect(x, f"(N, C, H, W) with H, W >= {self.kernel_size}",
                     lambda x: x.ndim == 4 and min(x.shape[2:]) >= self.kernel_size)
        self.x_shape = x.shape
        y, self.arg = kernels().maxpool_forward(x, self.kernel_size, self.stride)
        return y

    def backward(self, dy):
        return kernels().maxpool_backward(dy, self.arg, self.x_shape, self.kernel_size, self.stride)
