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
        self.n_in, self.n_out = int(in_features), int(out_features)
        if min(self.n_in, self.n_out) < 1:
            raise ValueError(f"Dense: in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.add_param("W", he_normal((self.n_in, self.n_out), self.n_in, rng))
        self.add_param("b", np.zeros(self.n_out, np.float32))

    def config(self):
        return dict(in_features=self.n_in, out_features=self.n_out)

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out})"

    def output_shape(self, shape):
        return (self.n_out,)

    def flops(self, shape):
        return 2 * self.n_in * self.n_out

    def forward(self, x):
        self._expect(x, f"(N, {self.n_in})", lambda x: x.ndim == 2 and x.shape[1] == self.n_in)
        self.x = x
        return kernels().matmul(x, self.params["W"]) + self.params["b"]

    def backward(self, dy):
        self.grads["W"] += kernels().matmul(self.x.T, dy)
        self.grads["b"] += dy.sum(axis=0)
        return kernels().matmul(dy, self.params["W"].T)
