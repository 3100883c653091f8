"""The one backend switch: the NumPy reference kernels or their Numba twins.

`set_backend("numpy")` runs every kernel as plain, single-threaded NumPy, to read
(tinycnn/kernels.py, and tinycnn/digits/ink.py for the digit application's own kernels);
"numba" (the default) runs their fast twins (tinycnn/speed/kernels.py, tinycnn/digits/ink_fast.py)
on tinycnn's thread pool (tinycnn/speed/threads.py).
"""
import importlib

# reference module -> its Numba twin: the same functions, signatures and results
TWINS = {"tinycnn.kernels": "tinycnn.speed.kernels", "tinycnn.digits.ink": "tinycnn.digits.ink_fast"}
BACKENDS = ("numpy", "numba")
_name = "numba"
_modules = {}


def set_backend(name):
    """Use "numpy" (the readable reference) or "numba" (the fast twins, the default) for every kernel."""
    global _name
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    _name = name
    _modules.clear()


def get_backend():
    """The name of the backend in use."""
    return _name


def kernels(reference="tinycnn.kernels"):
    """The active twin of the kernel module `reference` (by default the layers' kernels).

    Numba is imported only here, on first use, so `import tinycnn` stays fast."""
    module = _modules.get(reference)
    if module is None:
        module = _modules[reference] = importlib.import_module(
            reference if _name == "numpy" else TWINS[reference])
    return module
