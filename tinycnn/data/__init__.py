"""Data: IDX files, MNIST and UNIPEN (real pen-written digits), their fetchers and the one folder
they are fetched into."""
from .idx import IDXError, read_idx, write_idx
from .mnist import ChecksumError, fetch, load_mnist
from .paths import data_root
from .unipen import UnipenError, fetch_unipen, load_unipen, writer_split

__all__ = ["IDXError", "read_idx", "write_idx", "ChecksumError", "fetch", "load_mnist", "data_root",
           "UnipenError", "fetch_unipen", "load_unipen", "writer_split"]
