"""Speed beneath the plain loop: Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2) run as one step.

One pass from the convolution's matrix product to the pooled output, and one pass back,
instead of a pass per layer over the largest activation maps, and no transposing copies: the
product gives (F, N*Ho*Wo), and batch norm's statistics per channel do not care about the
order of a channel's values, so it works in that layout too. A chain uses this on the Numba
backend only, and only for the built-in layers as they are (batch norm only in training, where
it uses the batch's statistics): on the NumPy backend, for a layer of your own or a layer whose
forward you replaced, and in `Sequential.trace`, every layer runs by itself. The numbers are
the same either way (tests/test_fusion.py), but for one: the gradient of a convolution's bias
right before a batch norm is exactly zero mathematically (the batch's mean takes away whatever
the bias adds), and the fused step says so, where the layers one by one give float rounding noise.
"""
import numpy as np

from ..backend import get_backend, kernels
from ..layers.base import Layer
from ..layers.batchnorm import BatchNorm2D
from ..layers.conv import Conv2D
from ..layers.pool import MaxPool2D
from ..layers.simple import ReLU

_ORIGINAL = {cls: (cls.forward, cls.backward) for cls in (Conv2D, BatchNorm2D, ReLU, MaxPool2D)}


def _as_built(layer, cls):
    """True for an instance of exactly `cls` whose forward and backward are the library's own."""
    return (type(layer) is cls and (cls.forward, cls.backward) == _ORIGINAL[cls]
            and "forward" not in vars(layer) and "backward" not in vars(layer))


def steps(layers):
    """`layers`, with each fusable Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2) run replaced
    by one ConvReluPool."""
    if get_backend() != "numba":
        return layers
    out, i = [], 0
    while i < len(layers):
        run = (layers[i:i + 4] + [None] * 4)[:4]
        bn = run[1] if _as_built(run[1], BatchNorm2D) and run[1].training else None
        conv, relu, pool = run[0], run[2 if bn else 1], run[3 if bn else 2]
        if (_as_built(conv, Conv2D) and _as_built(relu, ReLU) and _as_built(pool, MaxPool2D)
                and pool.k == 2 and pool.stride == 2):
            out.append(ConvReluPool(conv, relu, pool, bn))
            i += 4 if bn else 3
        else:
            out.append(layers[i])
            i += 1
    return out


class ConvReluPool(Layer, register=False):
    """Layers conv, [bn,] relu, pool run as one step (the same parameters, the same gradients)."""

    def __init__(self, conv, relu, pool, bn=None):
        super().__init__()
        self.conv, self.bn = conv, bn
        self.layers = [layer for layer in (conv, bn, relu, pool) if layer is not None]
        self.fused = False

    def forward(self, x):
        conv, bn = self.conv, self.bn
        # Fused only on input the layers accept with maps of at least 2x2; otherwise they run
        # one by one and raise their own errors.
        self.fused = (isinstance(x, np.ndarray) and x.ndim == 4 and x.shape[1] == conv.c_in
                      and min(conv.output_shape(x.shape[1:])[1:]) >= 2 and (bn is None or bn.n == conv.c_out))
        if not self.fused:
            for layer in self.layers:
                x = layer.forward(x)
            return x
        out = conv.forward_columns(x)  # (F, N*Ho*Wo)
        Ho, Wo = conv.out_hw
        bias = conv.params["b"]
        if bn is not None:
            out += bias[:, None]  # what conv.forward adds, before the batch's statistics are taken
            out = bn.forward_batch(out[None])[0]
            bias = np.zeros_like(bias)
        y, self.arg = kernels().conv_relu_pool2_forward(out, bias, x.shape[0], Ho, Wo)
        return y

    def backward(self, dy):
        return self._backward(dy, need_dx=True)

    def backward_params(self, dy):
        self._backward(dy, need_dx=False)

    def _backward(self, dy, need_dx):
        if not self.fused:
            for layer in reversed(self.layers[1:]):
                dy = layer.backward(dy)
            return self.conv.backward(dy) if need_dx else self.conv.backward_params(dy)
        Ho, Wo = self.conv.out_hw
        dout, db = kernels().conv_relu_pool2_backward(dy, self.arg, Ho, Wo)  # through pool and relu
        if self.bn is not None:
            dout = self.bn.backward_batch(dout[None])[0]
            db = np.zeros_like(db)  # exactly (see the module's docstring), not rounding noise
        return self.conv.backward_columns(dout, db, need_dx=need_dx)

    def release(self):
        self.__dict__.pop("arg", None)
        for layer in self.layers:
            layer.release()
