"""tinycnn: a convolutional neural network library written from scratch in NumPy, with Numba kernels.

    import tinycnn as tc
    model = tc.Sequential(tc.Conv2D(1, 32, 3), tc.ReLU(), tc.MaxPool2D(2),
                          tc.Flatten(), tc.Dense(32 * 13 * 13, 10))
    loss, dlogits = tc.softmax_cross_entropy(model.forward(x), labels)
    model.backward(dlogits); opt.step(); opt.zero_grad()
"""
from .backend import get_backend, set_backend
from .speed.memory import keep_freed_memory
from .speed.threads import get_threads, set_threads
from .data import fetch, load_mnist, read_idx, write_idx
from .gradcheck import gradcheck, numerical_grad, rel_error
from .introspect import feature_maps, saliency, trace
from .layers import (BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D,
                     ReLU, Residual, ShapeError, register_layer)
from .losses import softmax, softmax_cross_entropy
from .model import ModelFileError, Sequential, load
from .optim import SGD, Adam, WeightAverage
from .digits.images import DigitImageError, read_digit_image
from .digits.preprocess import is_blank, preprocess_digit
from .digits.pretrained import check_digit_reader, pretrained, pretrained_path
from .random import seed
from .digits.reading import Reading, predict_digits, read_digit
from .digits.brush import render_strokes, stamp_segment
from .digits.calibration import calibrate, ece, fit_temperature
from .digits.numbers import NumberReading, looks_like_a_number, read_number
from .digits.personalize import PersonalizeError, personalize
from .digits.profile import Profile, ProfileError, default_profile_dir
from .digits.strokes import make_digits, make_non_digits
from .digits.architectures import ARCHITECTURES

__all__ = [
    "Sequential", "Layer", "Conv2D", "MaxPool2D", "Dense", "ReLU", "Flatten", "Dropout",
    "BatchNorm1D", "BatchNorm2D", "Residual", "ShapeError", "register_layer",
    "trace", "feature_maps", "saliency",
    "softmax", "softmax_cross_entropy", "SGD", "Adam", "WeightAverage",
    "load", "ModelFileError", "check_digit_reader", "seed", "set_backend", "get_backend", "set_threads", "get_threads", "keep_freed_memory",
    "gradcheck", "numerical_grad", "rel_error",
    "load_mnist", "fetch", "read_idx", "write_idx",
    "read_digit", "Reading", "predict_digits", "read_number", "NumberReading", "looks_like_a_number", "personalize", "PersonalizeError", "Profile", "ProfileError", "default_profile_dir",
    "make_digits", "make_non_digits", "render_strokes", "stamp_segment", "calibrate", "ece", "fit_temperature",
    "preprocess_digit", "read_digit_image", "is_blank", "DigitImageError", "pretrained", "pretrained_path", "ARCHITECTURES",
]
