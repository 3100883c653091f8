"""The model that ships inside the package, trained by scripts/train.py with its defaults."""
from importlib import resources

from .model import load

MODEL_NAME = "mnist_resnet.npz"


def pretrained_path():
    """Path of the shipped model file (inside the installed package)."""
    return resources.files("tinycnn") / "models" / MODEL_NAME


def pretrained():
    """Load the shipped MNIST model: input (N, 1, 28, 28) float32 in [0, 1], white on black; output
    logits (N, 10), or (N, 11) with "not a digit" last (its meta["classes"] names them)."""
    with resources.as_file(pretrained_path()) as path:
        return load(path)
