"""The model that ships inside the package, trained by scripts/train.py with its defaults, and the
check that a model (shipped or not) reads digits."""
from importlib import resources

import numpy as np

from ..model import ModelFileError, load

MODEL_NAME = "mnist_resnet.npz"


def pretrained_path():
    """Path of the shipped model file (inside the installed package)."""
    return resources.files("tinycnn.digits") / "models" / MODEL_NAME


def pretrained():
    """Load the shipped MNIST model: input (N, 1, 28, 28) float32 in [0, 1], white on black; output
    logits (N, 10), or (N, 11) with "not a digit" last (its meta["classes"] names them)."""
    with resources.as_file(pretrained_path()) as path:
        return load(path)


def check_digit_reader(model, source="model"):
    """Refuse a model that cannot read digits: it must map one (1, 28, 28) image to 10 classes,
    or 11 (the ten digits and "not a digit"). Returns the number of classes.

    Runs one blank image through it, so any layer's shape rule is honoured, custom ones too.
    """
    try:
        out = model.predict_proba(np.zeros((1, 1, 28, 28), np.float32))
    except Exception as e:  # any layer, custom ones too, may refuse the shape in its own way
        raise ModelFileError(f"{source}: cannot read a 28x28 digit image: {e}") from None
    if out.ndim != 2 or out.shape[1] not in (10, 11):
        raise ModelFileError(f"{source}: gives output of shape {out.shape[1:]} for a 28x28 image; "
                             "a digit reader needs 10 classes (or 11: the digits and \"not a digit\")")
    if not np.isfinite(out).all():
        raise ModelFileError(f"{source}: gives NaN or infinite output for a blank image")
    return out.shape[1]


def shipped_replay():
    """The 4,000 MNIST training digits that ship in the package (see replay/README.md), for
    personalisation on a machine where MNIST was never fetched: (images (4000, 28, 28) uint8,
    labels (4000,) int64), 400 of each digit."""
    with resources.as_file(resources.files("tinycnn.digits") / "replay" / "mnist_replay.npz") as path:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"].astype(np.int64)
    if images.shape != (len(labels), 28, 28) or images.dtype != np.uint8:
        raise ModelFileError(f"{path}: the replay set is damaged (images {images.shape} {images.dtype}); reinstall tinycnn")
    return images, labels
