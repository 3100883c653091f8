"""Speed beneath the plain loop: Conv2D -> ReLU -> MaxPool2D(2) run as one step.

One pass from the convolution's matrix product to the pooled output, and one pass back,
instead of five passes over the largest activation maps. A chain uses it on the Numba
backend only, and only for the three built-in layers as they are: on the NumPy backend, for
a layer of your own or a layer whose forward you replaced, and in `Sequential.trace`, every
layer runs by itself. The numbers are the same either way (tests/test_fusion.py).
"""
import numpy as np

from .backend import get_backend, kernels
from .layers.base import Layer
from .layers.conv import Conv2D
from .layers.pool import MaxPool2D
from .layers.simple import ReLU

_ORIGINAL = {cls: (cls.forward, cls.backward) for cls in (Conv2D, ReLU, MaxPool2D)}


def _as_built(layer, cls):
    """True for an instance of exactly `cls` whose forward and backward are the library's own."""
    return (type(layer) is cls and (cls.forward, cls.backward) == _ORIGINAL[cls]
            and "forward" not in vars(layer) and "backward" not in vars(layer))


def steps(layers):
    """`layers`, with each fusable Conv2D -> ReLU -> MaxPool2D(2) run replaced by one ConvReluPool."""
    if get_backend() != "numba":
        return layers
    out, i = [], 0
    while i < len(layers):
        conv, relu, pool = (layers[i:i + 3] + [None, None])[:3]
        if (_as_built(conv, Conv2D) and _as_built(relu, ReLU) and _as_built(pool, MaxPool2D)
                and pool.k == 2 and pool.stride == 2):
            out.append(ConvReluPool(conv, relu, pool))
            i += 3
        else:
            out.append(layers[i])
            i += 1
    return out


class ConvReluPool(Layer, register=False):
    """Layers conv, relu, pool run as one step (the same parameters, the same gradients)."""

    def __init__(self, conv, relu, pool):
        super().__init__()
        self.conv, self.relu, self.pool = conv, relu, pool
        self.fused = False

    def forward(self, x):
        conv = self.conv
        # Fused only on input the layers accept with maps of at least 2x2; otherwise they run
        # one by one and raise their own errors.
        self.fused = (isinstance(x, np.ndarray) and x.ndim == 4 and x.shape[1] == conv.c_in
                      and min(conv.output_shape(x.shape[1:])[1:]) >= 2)
        if not self.fused:
            return self.pool.forward(self.relu.forward(conv.forward(x)))
        out = conv.forward_columns(x)
        Ho, Wo = conv.out_hw
        y, self.arg = kernels().conv_relu_pool2_forward(out, conv.params["b"], x.shape[0], Ho, Wo)
        return y

    def backward(self, dy):
        if not self.fused:
            return self.conv.backward(self.relu.backward(self.pool.backward(dy)))
        return self.conv.backward_columns(*self._columns(dy))

    def backward_params(self, dy):
        if not self.fused:
            return self.conv.backward_params(self.relu.backward(self.pool.backward(dy)))
        self.conv.backward_columns(*self._columns(dy), need_dx=False)

    def _columns(self, dy):
        Ho, Wo = self.conv.out_hw
        return kernels().conv_relu_pool2_backward(dy, self.arg, Ho, Wo)

    def release(self):
        self.__dict__.pop("arg", None)
        for layer in (self.conv, self.relu, self.pool):
            layer.release()
