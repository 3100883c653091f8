"""The layers. Each has forward(x), backward(dy) -> dx, and dicts params / grads with the same keys.

Every subclass of Layer is registered by class name in LAYER_TYPES, which is how tc.load
rebuilds a model; register_layer(cls, name) registers one under another name.
"""
from .base import LAYER_TYPES, Layer, ShapeError, register_layer
from .batchnorm import BatchNorm1D, BatchNorm2D
from .containers import Chain, Residual
from .conv import Conv2D
from .dense import Dense
from .pool import MaxPool2D
from .simple import Dropout, Flatten, ReLU

__all__ = ["Layer", "ShapeError", "Conv2D", "MaxPool2D", "Dense", "ReLU", "Flatten", "Dropout",
           "BatchNorm1D", "BatchNorm2D", "Chain", "Residual", "LAYER_TYPES", "register_layer"]
