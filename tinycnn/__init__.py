"""tinycnn: a convolutional neural network library written from scratch in NumPy, with Numba kernels.

    import tinycnn as tc
    model = tc.Sequential(tc.Conv2D(1, 32, 3), tc.ReLU(), tc.MaxPool2D(2),
                          tc.Flatten(), tc.Dense(32 * 13 * 13, 10))
    loss, dlogits = tc.softmax_cross_entropy(model.forward(x), labels)
    model.backward(dlogits); opt.step(); opt.zero_grad()
"""
from .backend import get_backend, set_backend
from .data import fetch, load_mnist, read_idx, write_idx
from .gradcheck import gradcheck, numerical_grad, rel_error
from .layers import (BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D,
                     ReLU, Residual, ShapeError)
from .losses import softmax, softmax_cross_entropy
from .model import ModelFileError, Sequential, load
from .optim import SGD, Adam
from .preprocess import DigitImageError, is_blank, preprocess_digit, read_digit_image
from .pretrained import pretrained, pretrained_path
from .random import seed
from .reading import Reading, read_digit
from .brush import render_strokes, stamp_segment
from .calibration import calibrate, ece, fit_temperature
from .strokes import make_digits, make_non_digits
from .architectures import ARCHITECTURES

__all__ = [
    "Sequential", "Layer", "Conv2D", "MaxPool2D", "Dense", "ReLU", "Flatten", "Dropout",
    "BatchNorm1D", "BatchNorm2D", "Residual", "ShapeError",
    "softmax", "softmax_cross_entropy", "SGD", "Adam",
    "load", "ModelFileError", "seed", "set_backend", "get_backend",
    "gradcheck", "numerical_grad", "rel_error",
    "load_mnist", "fetch", "read_idx", "write_idx",
    "read_digit", "Reading", "make_digits", "make_non_digits", "render_strokes", "stamp_segment",
    "calibrate", "ece", "fit_temperature", "preprocess_digit", "read_digit_image", "is_blank", "DigitImageError", "pretrained", "pretrained_path", "ARCHITECTURES",
]
