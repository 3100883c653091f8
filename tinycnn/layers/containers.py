"""Layers made of layers: a chain run in order, and the residual block built on it."""
import numpy as np

from .base import Layer, ShapeError


class Chain(Layer, register=False):
    """Run layers in order: each takes the output of the one before."""

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
        for name, layer in list(self.named_layers())[1:]:
            layer.path = name  # so that a layer's errors say where it sits ("layer 4.1 Conv2D...")

    def sublayers(self):
        return self.layers

    def forward(self, x):
        """x -> the last layer's output: for layer in layers: x = layer.forward(x)."""
        for layer in self.steps():
            x = layer.forward(x)
        return x

    def backward(self, dy):
        """dy: dL/d(output) -> dL/dx: the loop in reverse, each layer's backward of the one after's."""
        for layer in reversed(self.steps()):
            dy = layer.backward(dy)
        return dy

    def steps(self):
        """The layers as they run: `self.layers`, or on the Numba backend the speed layer's plan
        for them, chosen once per backend and mode (tinycnn/speed/fusion.py runs a Conv2D ->
        ReLU -> MaxPool2D as one step, with the same numbers). The NumPy backend runs the layers
        as written."""
        from ..speed.fusion import plan  # (imported here: the speed layer imports the layers)

        return plan(self)

    def release(self):
        """Free what the last forward saved for backward, in every layer."""
        for step in self.steps():
            step.release()

    def held_arrays(self):
        return [a for step in self.steps() for a in step.held_arrays()]

    def view(self):
        twin = super().view()
        twin.layers = [layer.view() for layer in self.layers]
        twin.__dict__.pop("_plan", None)
        return twin

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

    def backward(self, dy):
        return dy + super().backward(dy)

    def flops(self, shape):
        return super().flops(shape) + int(np.prod(shape))
