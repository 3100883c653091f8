"""Batch normalisation, with PyTorch's conventions (momentum 0.1, eps 1e-5, unbiased running variance)."""
import numpy as np

from ..backend import kernels
from .base import Layer, ShapeError


class _BatchNorm(Layer):
    """Normalise each feature over the batch (and space), then scale by gamma and shift by beta.

    Training uses the batch's mean and (biased) variance and updates the running statistics
    running = (1 - momentum) * running + momentum * batch (variance unbiased, as PyTorch);
    evaluation uses the running statistics.
    """

    ndim = None
    saved = ("xhat", "x3")

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.add_param("gamma", np.ones(self.num_features, np.float32))
        self.add_param("beta", np.zeros(self.num_features, np.float32))
        self.buffers["running_mean"] = np.zeros(self.num_features, np.float32)
        self.buffers["running_var"] = np.ones(self.num_features, np.float32)

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features})"

    def flops(self, shape):
        return 2 * int(np.prod(shape))

    def forward(self, x):
        self._expect(x, self.expected, lambda x: x.ndim == self.ndim and x.shape[1] == self.num_features)
        x3 = x.reshape(x.shape[0], self.num_features, -1)  # (N, C, L): one layout for 1-D and 2-D
        if self.training and x3.shape[0] * x3.shape[2] < 2:
            # One value per channel has no variance: every output would be beta (PyTorch refuses too).
            raise ShapeError(self, f"{self.expected} with more than one value per channel in training mode "
                             "(call .eval() to use the running statistics)", x.shape)
        if self.training:
            return self.forward_batch(x3).reshape(x.shape)
        gamma, beta, var = self.params["gamma"], self.params["beta"], self.buffers["running_var"]
        scale = gamma / np.sqrt(var + self.eps)
        shift = beta - self.buffers["running_mean"] * scale
        y = x3 * scale[:, None].astype(x.dtype) + shift[:, None].astype(x.dtype)
        self.x3 = x3  # kept by reference: backward in eval mode rebuilds xhat from it
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        return y.reshape(x.shape)

    def forward_batch(self, x3):
        """Training mode on x3: (N, C, L) -> y: (N, C, L), normalised by the batch's own statistics,
        which also move the running ones. Split out so that a fused step (fusion.py) can hand
        over a convolution's output in its (1, C, N*H*W) layout: the statistics are the same."""
        y, self.xhat, mean, var = kernels().batchnorm_forward(x3, self.params["gamma"], self.params["beta"], self.eps)
        r, m = self.momentum, x3.shape[0] * x3.shape[2]
        unbiased = var * (m / max(m - 1, 1))
        self.buffers["running_mean"] = ((1 - r) * self.buffers["running_mean"] + r * mean).astype(x3.dtype)
        self.buffers["running_var"] = ((1 - r) * self.buffers["running_var"] + r * unbiased).astype(x3.dtype)
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x3.dtype)
        return y

    def output_shape(self, shape):
        return tuple(shape)

    def backward(self, dy):
        dy3 = dy.reshape(dy.shape[0], self.num_features, -1)
        gamma = self.params["gamma"]
        if not self.training:  # running statistics are constants: a per-channel affine map
            xhat = (self.x3 - self.buffers["running_mean"][:, None]) * self.inv_std[:, None]
            self.grads["gamma"] += np.sum(dy3 * xhat, axis=(0, 2))
            self.grads["beta"] += dy3.sum(axis=(0, 2))
            return (dy3 * (gamma * self.inv_std)[:, None]).reshape(dy.shape)
        return self.backward_batch(dy3).reshape(dy.shape)

    def backward_batch(self, dy3):
        """The backward of forward_batch: dy3 (N, C, L) in its layout -> dx3; accumulates the grads."""
        dx, dgamma, dbeta = kernels().batchnorm_backward(dy3, self.xhat, self.params["gamma"], self.inv_std)
        self.grads["gamma"] += dgamma
        self.grads["beta"] += dbeta
        return dx


class BatchNorm2D(_BatchNorm):
    """x: (N, C, H, W) -> y: same shape; statistics per channel over N, H, W."""
    ndim = 4

    @property
    def expected(self):
        return f"(N, {self.num_features}, H, W)"


class BatchNorm1D(_BatchNorm):
    """x: (N, F) -> y: same shape; statistics per feature over N."""
    ndim = 2

    @property
    def expected(self):
        return f"(N, {self.num_features})"
