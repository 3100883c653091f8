"""Dense (fully connected) layer."""
import numpy as np

from ..backend import kernels
from .base import Layer, he_normal


class Dense(Layer):
    """y = x @ W + b.   x: (N, in_features) -> y: (N, out_features); W (in, out), b (out,).

    W is stored (in, out) so that forward is one plain x @ W. PyTorch's nn.Linear stores the
    transpose, weight (out, in), and computes x @ weight.T: copy weights across with W.T.
    Backward: dL/dW = x.T @ dy, dL/db = dy summed over the batch, dL/dx = dy @ W.T.
    """

    saved = ("x",)

    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        if min(self.in_features, self.out_features) < 1:
            raise ValueError(f"Dense: in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.add_param("W", he_normal((self.in_features, self.out_features), self.in_features, rng))
        self.add_param("b", np.zeros(self.out_features, np.float32))

    def __repr__(self):
        return f"Dense({self.in_features} -> {self.out_features})"

    def output_shape(self, shape):
        return (self.out_features,)

    def flops(self, shape):
        return 2 * self.in_features * self.out_features

    def forward(self, x):
        self._expect(x, f"(N, {self.in_features})", lambda x: x.ndim == 2 and x.shape[1] == self.in_features)
        self.x = x
        return kernels().matmul(x, self.params["W"]) + self.params["b"]

    def backward(self, dy):
        self.grads["W"] += kernels().matmul(self.x.T, dy)
        self.grads["b"] += dy.sum(axis=0)
        return kernels().matmul(dy, self.params["W"].T)
