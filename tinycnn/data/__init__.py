"""Data: IDX files, MNIST and its fetcher."""
from .idx import IDXError, read_idx, write_idx
from .mnist import ChecksumError, fetch, load_mnist

__all__ = ["IDXError", "read_idx", "write_idx", "ChecksumError", "fetch", "load_mnist"]
