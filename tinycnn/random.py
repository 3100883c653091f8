"""The library's random generator: one seed makes initialisation, dropout and augmentation repeat."""
import numpy as np

_rng = np.random.default_rng()


def seed(n):
    """Reseed the library's generator: the same `n` gives the same weights, masks and batches."""
    global _rng
    _rng = np.random.default_rng(n)


def default_rng():
    """The generator layers use when they are not given one of their own."""
    return _rng
