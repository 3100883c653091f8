"""Layers without parameters: ReLU, Flatten, Dropout."""
import numpy as np

from ..backend import kernels
from ..random import default_rng
from .base import Layer


class ReLU(Layer):
    """y = max(x, 0), any shape. Backward lets the gradient through where x was positive."""

    saved = ("y",)

    def forward(self, x):
        self._expect(x, "of any shape")
        self.y = kernels().relu_forward(x)
        return self.y

    def backward(self, dy):
        return kernels().relu_backward(dy, self.y)

    def output_shape(self, shape):
        return tuple(shape)

    def flops(self, shape):
        return int(np.prod(shape))


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        self._expect(x, "(N, ...) with at least 2 axes", lambda x: x.ndim >= 2)
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.x_shape)

    def output_shape(self, shape):
        return (int(np.prod(shape)),)


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability p and scale the rest
    by 1/(1-p), so evaluation needs no rescaling and is the identity. Any shape."""

    saved = ("mask",)

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = float(p), rng

    def forward(self, x):
        self._expect(x, "of any shape")
        if not self.training or self.p == 0:
            self.mask = None
            return x
        rng = self.rng if self.rng is not None else default_rng()
        keep = rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep * np.asarray(1 / (1 - self.p), dtype=x.dtype)
        return x * self.mask

    def backward(self, dy):
        return dy if self.mask is None else dy * self.mask

    def output_shape(self, shape):
        return tuple(shape)
