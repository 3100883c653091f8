"""Layers made of layers: a chain run in order, and the residual block built on it."""
import numpy as np

from .base import Layer, ShapeError


class Chain(Layer):
    """Run layers in order. Shape errors are re-raised with the failing layer's position."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"{type(self).__name__}: item {i} is {layer!r}, not a tinycnn layer")
        self.layers = list(layers)

    def sublayers(self):
        return self.layers

    def forward(self, x):
        from ..fusion import match  # (imported here: fusion imports the layer modules)

        self.plan = []  # (index of the first layer, what ran), for backward
        i = 0
        while i < len(self.layers):
            step = match(self.layers, i, x)
            try:
                x = (step or self.layers[i]).forward(x)
            except ShapeError as e:
                raise e.located(i) from None
            self.plan.append((i, step or self.layers[i]))
            i += 3 if step else 1
        return x

    def backward(self, dy, need_dx=True):
        """Backward through the steps of the last forward, freeing what each one saved as soon
        as it is used (the activations are most of a training step's memory)."""
        if getattr(self, "plan", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward first "
                               "(backward frees what forward saved, so run forward again)")
        for i, step in reversed(self.plan):
            dy = step.backward(dy, need_dx=need_dx or i > 0)
            step.release()
        self.plan = None
        return dy

    def release(self):
        """Free what the last forward saved (for prediction, where no backward follows):
        every step's saved values, nested chains included."""
        for _, step in getattr(self, "plan", None) or ():
            step.release()
        self.plan = None

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
    """y = x + layers(x): the skip connection of a ResNet block. The layers must keep the shape."""

    def forward(self, x):
        y = super().forward(x)
        if y.shape != x.shape:
            raise ShapeError(self, f"an input whose shape the inner layers keep (they give {y.shape[1:]})",
                             x.shape)
        return x + y

    def backward(self, dy, need_dx=True):
        dx_inner = super().backward(dy, need_dx=True)
        return dy + dx_inner if need_dx else None

    def flops(self, shape):
        return super().flops(shape) + int(np.prod(shape))
