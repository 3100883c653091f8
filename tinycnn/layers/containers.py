"""Layers made of layers: a chain run in order, and the residual block built on it."""
import numpy as np

from .base import Layer, ShapeError


class Chain(Layer, register=False):
    """Run layers in order: each takes the output of the one before.

    Shape errors are re-raised with the failing layer's position in the chain.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"{type(self).__name__}: item {i} is {layer!r}, not a tinycnn layer "
                                "(a layer of your own must subclass tc.Layer)")
            if not (isinstance(getattr(layer, "params", None), dict) and isinstance(getattr(layer, "grads", None), dict)):
                raise TypeError(f"{type(self).__name__}: item {i} {type(layer).__name__} has no params/grads "
                                "dicts: call super().__init__() first in its __init__")
        self.layers = list(layers)

    def sublayers(self):
        return self.layers

    def forward(self, x):
        """The model is this loop:  for layer in layers: x = layer.forward(x).

        For speed, `fusion.steps` may hand over a Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2)
        run as one step (Numba backend only; the same numbers, see fusion.py). It never does for a layer
        whose forward you replaced, and `Sequential.trace` runs every layer one by one.
        """
        from ..speed.fusion import steps  # (imported here: fusion imports the layer modules)

        self.ran = []  # what ran, for backward
        for layer in steps(self.layers):
            try:
                x = layer.forward(x)
            except ShapeError as e:
                raise e.located(self._position(layer, e)) from None
            self.ran.append(layer)
        return x

    def backward(self, dy, need_dx=True):
        """The loop in reverse: for layer in reversed(layers): dy = layer.backward(dy).

        Each layer's saved activations are freed as soon as its backward has used them (they
        are most of a training step's memory). need_dx=False skips the first layer's dL/dx.
        """
        if getattr(self, "ran", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward first "
                               "(backward frees what forward saved, so run forward again)")
        for i in reversed(range(len(self.ran))):
            layer = self.ran[i]
            if i == 0 and not need_dx:
                layer.backward_params(dy)
                dy = None
            else:
                dy = layer.backward(dy)
            layer.release()
        self.ran = None
        return dy

    def release(self):
        """Free what the last forward saved (for prediction, where no backward follows)."""
        for layer in getattr(self, "ran", None) or ():
            layer.release()
        self.ran = None

    def _position(self, step, error):
        """The index, in this chain, of the layer that raised `error` while `step` ran."""
        for i, layer in enumerate(self.layers):
            if layer is step or (layer is error.layer and not error.where):
                return i
        return "?"

    def output_shape(self, shape):
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def flops(self, shape):
        total = 0
        for layer in self.layers:
            total += layer.flops(shape)
            shape = layer.output_shape(shape)
        return total

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.layers))})"


class Residual(Chain):
    """y = x + layers(x): the skip connection of a ResNet block. The layers must keep the shape.

    Backward: dL/dx = dy (through the skip) + the inner layers' backward of dy.
    """

    def forward(self, x):
        y = super().forward(x)
        if y.shape != x.shape:
            raise ShapeError(self, f"an input whose shape the inner layers keep (they give {y.shape[1:]})",
                             x.shape)
        return x + y

    def backward(self, dy, need_dx=True):
        dx_inner = super().backward(dy)
        return dy + dx_inner if need_dx else None

    def flops(self, shape):
        return super().flops(shape) + int(np.prod(shape))
