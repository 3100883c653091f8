"""Fused Conv2D -> ReLU -> MaxPool2D(2): one pass from the convolution's matrix product to the
pooled output, and one pass back, instead of five passes over the largest activation maps.

Used by layer chains on the Numba backend only; the NumPy backend runs the layers one by one,
so a reader sees each step. Results are the same either way (tests/test_fusion.py).
"""
import numpy as np

from .backend import get_backend, kernels
from .layers.conv import Conv2D
from .layers.pool import MaxPool2D
from .layers.simple import ReLU


class ConvReluPool:
    """Runs layers i, i+1, i+2 of a chain as one step (same parameters, same gradients)."""

    def __init__(self, conv):
        self.conv = conv

    def forward(self, x):
        out = self.conv.forward_columns(x)
        Ho, Wo = self.conv.out_hw
        y, self.arg = kernels().conv_relu_pool2_forward(out, self.conv.params["b"], x.shape[0], Ho, Wo)
        return y

    def backward(self, dy, need_dx=True):
        Ho, Wo = self.conv.out_hw
        dout, db = kernels().conv_relu_pool2_backward(dy, self.arg, Ho, Wo)
        return self.conv.backward_columns(dout, db, need_dx)

    def release(self):
        self.__dict__.pop("arg", None)
        self.conv.release()


def match(layers, i, x):
    """A fused runner for layers[i:i+3] on input x, or None where they must run one by one."""
    if get_backend() != "numba" or i + 2 >= len(layers):
        return None
    conv, relu, pool = layers[i:i + 3]
    if not (type(conv) is Conv2D and type(relu) is ReLU and type(pool) is MaxPool2D
            and pool.k == 2 and pool.stride == 2):
        return None
    # Only on input the layers accept: otherwise they run alone and raise their own errors.
    if not (isinstance(x, np.ndarray) and x.ndim == 4 and x.shape[1] == conv.c_in):
        return None
    _, Ho, Wo = conv.output_shape(x.shape[1:])
    return ConvReluPool(conv) if min(Ho, Wo) >= 2 else None
