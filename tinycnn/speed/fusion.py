"""The execution plan of a chain on the Numba backend: its layers, with some runs replaced by
faster steps that give the same numbers.

- Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2) runs as one step (ConvReluPool): one pass from
  the convolution's matrix product to the pooled output and one pass back, instead of a pass per
  layer over the largest activation maps, and no transposing copies. The product gives
  (F, N*Ho*Wo), and batch norm's statistics per channel do not care about the order of a
  channel's values, so it works in that layout too (batch norm only in training, where it uses
  the batch's statistics).
- Any other Conv2D runs as ConvStep: the same product, turned into NCHW and biased in one pass.

Only the built-in layers as they are take part: a layer of your own, or one whose forward you
replaced (tc.introspect.record does, for a moment), runs by itself. The numbers are the same
either way (tests/test_fusion.py), but for one: the gradient of a convolution's bias right before
a batch norm is exactly zero mathematically (the batch's mean takes away whatever the bias adds),
and the fused step says so, where the layers one by one give float rounding noise.
"""
import numpy as np

from ..backend import get_backend, kernels
from ..kernels import out_size
from ..layers.base import Layer
from ..layers.batchnorm import BatchNorm2D
from ..layers.conv import Conv2D
from ..layers.pool import MaxPool2D
from ..layers.simple import ReLU

_ORIGINAL = {cls: (cls.forward, cls.backward) for cls in (Conv2D, BatchNorm2D, ReLU, MaxPool2D)}


def _as_built(layer, cls):
    """True for an instance of exactly `cls` whose class keeps the library's forward and backward."""
    return type(layer) is cls and (cls.forward, cls.backward) == _ORIGINAL[cls]


def _replaced(layers):
    """True if any of `layers` has a forward or backward of its own (tc.introspect.record wraps
    forward for a moment): then a step runs its layers one by one, as written."""
    return any("forward" in vars(layer) or "backward" in vars(layer) for layer in layers)


def plan(chain):
    """The steps that run `chain.layers`: the layers themselves on the NumPy backend; on the Numba
    backend, with the runs above replaced. Chosen once per backend, mode and set of layers, and
    kept on the chain (a chain's view for another thread makes its own). Whether a step fuses is
    decided again at every forward, and its backward follows what that forward did."""
    layers = chain.layers
    if get_backend() != "numba":
        return layers
    key = tuple((id(layer), layer.training) for layer in layers)
    kept = chain.__dict__.get("_plan")
    if kept is None or kept[0] != key:
        kept = chain._plan = (key, _choose(layers))
    return kept[1]


def _choose(layers):
    out, i = [], 0
    while i < len(layers):
        run = (layers[i:i + 4] + [None] * 4)[:4]
        bn = run[1] if _as_built(run[1], BatchNorm2D) and run[1].training else None
        conv, relu, pool = run[0], run[2 if bn else 1], run[3 if bn else 2]
        if (_as_built(conv, Conv2D) and _as_built(relu, ReLU) and _as_built(pool, MaxPool2D)
                and pool.kernel_size == 2 and pool.stride == 2):
            out.append(ConvReluPool(conv, relu, pool, bn))
            i += 4 if bn else 3
        else:
            out.append(ConvStep(layers[i]) if _as_built(layers[i], Conv2D) else layers[i])
            i += 1
    return out


class ConvStep(Layer, register=False):
    """A Conv2D run in the layout its matrix product gives (the same parameters and gradients)."""

    saved = ("cols",)

    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        self.fused = True

    def release(self):
        super().release()
        self.conv.release()

    def columns(self, x):
        """conv(x) without bias, as the product gives it: (F, N*Ho*Wo); keeps the columns."""
        conv = self.conv
        conv.check_input(x)
        k, s, p = conv.kernel_size, conv.stride, conv.padding
        self.x_shape = x.shape
        self.out_hw = (out_size(x.shape[2], k, s, p), out_size(x.shape[3], k, s, p))
        self.cols = kernels().im2col(x, k, k, s, p)                                    # (C*k*k, N*Ho*Wo)
        return kernels().matmul(conv.params["W"].reshape(conv.out_channels, -1), self.cols)

    def forward(self, x):
        self.fused = not _replaced([self.conv])
        if not self.fused:
            return self.conv.forward(x)
        out = self.columns(x)
        N, F, (Ho, Wo) = x.shape[0], self.conv.out_channels, self.out_hw
        y = np.empty((N, F, Ho * Wo), dtype=out.dtype)  # NCHW, biased in the transposing copy
        np.add(out.reshape(F, N, Ho * Wo).transpose(1, 0, 2), self.conv.params["b"][None, :, None], out=y)
        return y.reshape(N, F, Ho, Wo)

    def backward(self, dy):
        if not self.fused:
            return self.conv.backward(dy)
        F = self.conv.out_channels
        dy2 = dy.reshape(dy.shape[0], F, -1).transpose(1, 0, 2).reshape(F, -1)  # (F, N*Ho*Wo)
        return self.backward_columns(dy2, dy2.sum(axis=1))

    def backward_columns(self, dy2, db):
        """From the gradient in the product's layout, dy2: (F, N*Ho*Wo), and db: (F,)."""
        conv = self.conv
        k, W = conv.kernel_size, conv.params["W"]
        conv.grads["W"] += kernels().matmul(dy2, self.cols.T).reshape(W.shape)
        conv.grads["b"] += db
        dcols = kernels().matmul(W.reshape(conv.out_channels, -1).T, dy2)               # (C*k*k, N*Ho*Wo)
        return kernels().col2im(dcols, self.x_shape, k, k, conv.stride, conv.padding)


class ConvReluPool(ConvStep):
    """Layers conv, [bn,] relu, pool run as one step (the same parameters, the same gradients)."""

    saved = ("cols", "arg")

    def __init__(self, conv, relu, pool, bn=None):
        super().__init__(conv)
        self.bn = bn
        self.layers = [layer for layer in (conv, bn, relu, pool) if layer is not None]
        self.fused = False

    def forward(self, x):
        conv, bn = self.conv, self.bn
        # Fused only on input the layers accept with maps of at least 2x2; otherwise they run
        # one by one and raise their own errors.
        self.fused = (not _replaced(self.layers) and isinstance(x, np.ndarray) and x.ndim == 4
                      and x.shape[1] == conv.in_channels
                      and min(conv.output_shape(x.shape[1:])[1:]) >= 2
                      and (bn is None or bn.num_features == conv.out_channels))
        if not self.fused:
            for layer in self.layers:
                x = layer.forward(x)
            return x
        out = self.columns(x)  # (F, N*Ho*Wo)
        bias = conv.params["b"]
        if bn is not None:
            out += bias[:, None]  # what conv.forward adds, before the batch's statistics are taken
            out = bn.forward_batch(out[None])[0]
            bias = np.zeros_like(bias)
        y, self.arg = kernels().conv_relu_pool2_forward(out, bias, x.shape[0], *self.out_hw)
        return y

    def backward(self, dy):
        if not self.fused:
            for layer in reversed(self.layers):
                dy = layer.backward(dy)
            return dy
        dout, db = kernels().conv_relu_pool2_backward(dy, self.arg, *self.out_hw)  # through pool and relu
        if self.bn is not None:
            dout = self.bn.backward_batch(dout[None])[0]
            db = np.zeros_like(db)  # exactly (see the module's docstring), not rounding noise
        return self.backward_columns(dout, db)

    def release(self):
        super().release()
        for layer in self.layers[1:]:
            layer.release()
