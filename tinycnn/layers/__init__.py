"""The layers. Each has forward(x), backward(dy) -> dx, and dicts params / grads with the same keys."""
from .base import Layer, ShapeError
from .batchnorm import BatchNorm1D, BatchNorm2D
from .containers import Chain, Residual
from .conv import Conv2D
from .dense import Dense
from .pool import MaxPool2D
from .simple import Dropout, Flatten, ReLU

LAYER_TYPES = {cls.__name__: cls for cls in
               (Conv2D, MaxPool2D, Dense, ReLU, Flatten, Dropout, BatchNorm1D, BatchNorm2D, Residual)}

__all__ = ["Layer", "ShapeError", "Conv2D", "MaxPool2D", "Dense", "ReLU", "Flatten", "Dropout",
           "BatchNorm1D", "BatchNorm2D", "Chain", "Residual", "LAYER_TYPES"]
