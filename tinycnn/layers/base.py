"""What every layer shares: parameters and their gradients, train/eval mode, shape checks."""
import contextlib

import numpy as np

from ..random import default_rng


class ShapeError(ValueError):
    """An input of the wrong shape; the message names the layer, the expected and the actual shape."""

    def __init__(self, layer, expected, got, where=""):
        self.layer, self.expected, self.got, self.where = layer, expected, tuple(got), where
        at = f"layer {where} " if where else ""
        super().__init__(f"{at}{layer!r}: expected input {expected}, got {self.got}")

    def located(self, index):
        """The same error, with `index` prepended to the layer's position in its model."""
        where = f"{index}.{self.where}" if self.where else str(index)
        return ShapeError(self.layer, self.expected, self.got, where)


class Layer:
    """Base class. A layer maps x to y in `forward` and dL/dy to dL/dx in `backward`.

    `params` and `grads` are dicts with the same keys; backward *adds* into `grads` (like
    PyTorch), so call `zero_grad` between steps. `buffers` hold state that is saved but not
    trained (batch norm's running statistics).
    """

    training = True
    saved = ()  # attributes that forward keeps for backward; a chain frees them after backward

    def __init__(self):
        self.params, self.grads, self.buffers = {}, {}, {}

    def add_param(self, name, value):
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy, need_dx=True):
        """dy: dL/dy, the shape of the last forward's output -> dL/dx (None if not `need_dx`)."""
        raise NotImplementedError

    def release(self):
        """Drop what forward saved for backward (called by a chain once backward has used it)."""
        for name in self.saved:
            self.__dict__.pop(name, None)

    def output_shape(self, shape):
        """The per-example output shape for a per-example input shape (no batch axis)."""
        return tuple(shape)

    def flops(self, shape):
        """Floating-point operations of one forward pass for one example of `shape`."""
        return 0

    def config(self):
        """The constructor's arguments, as JSON-able values, to rebuild this layer."""
        return {}

    def sublayers(self):
        return []

    def train(self, mode=True):
        self.training = mode
        for layer in self.sublayers():
            layer.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for g in self.grads.values():
            g[...] = 0
        for layer in self.sublayers():
            layer.zero_grad()

    def named_layers(self, prefix=""):
        """(dotted name, layer) for this layer and every layer inside it, depth first."""
        yield prefix, self
        for i, layer in enumerate(self.sublayers()):
            yield from layer.named_layers(f"{prefix}.{i}" if prefix else str(i))

    def astype(self, dtype):
        """Cast parameters, gradients and buffers in place (float64 for gradient checks)."""
        for _, layer in self.named_layers():
            for d in (layer.params, layer.grads, layer.buffers):
                for k in d:
                    d[k] = d[k].astype(dtype)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def _expect(self, x, ok, expected):
        if not (isinstance(x, np.ndarray) and ok):
            raise ShapeError(self, expected, np.shape(x))


_random_init = True


@contextlib.contextmanager
def weights_to_be_loaded():
    """Within this block, layers are built with zero weights instead of random ones: their
    weights are about to be loaded from a file, so drawing (and filling memory with) random
    numbers would be wasted, and would move the library's random generator."""
    global _random_init
    before, _random_init = _random_init, False
    try:
        yield
    finally:
        _random_init = before


def he_normal(shape, fan_in, rng):
    """Weights for a ReLU net: N(0, 2/fan_in), which keeps activations' variance steady (He et al. 2015)."""
    if not _random_init:
        return np.zeros(shape, np.float32)
    rng = rng if rng is not None else default_rng()
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
