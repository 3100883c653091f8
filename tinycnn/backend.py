"""The one backend switch: which kernel module (NumPy reference or Numba) the layers call.

Threads: the matrix products run in NumPy's BLAS, which uses every core by itself; the Numba
kernels stay single-threaded. Numba `parallel=True` kernels beside a multi-threaded BLAS were
measured 2-3x slower on 2 cores (two thread pools spinning against each other), so the
library never starts Numba's pool.
"""
import importlib

BACKENDS = {"numpy": "tinycnn.kernels.reference", "numba": "tinycnn.kernels.fast"}
_name = "numba"
_module = None


def set_backend(name):
    """Use "numpy" (the readable reference) or "numba" (the fast twins, the default) for every kernel."""
    global _name, _module
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    _name, _module = name, None


def get_backend():
    """The name of the backend in use."""
    return _name


def kernels():
    """The active kernel module. Numba is imported only here, on first use, so `import tinycnn` stays fast."""
    global _module
    if _module is None:
        _module = importlib.import_module(BACKENDS[_name])
    return _module
