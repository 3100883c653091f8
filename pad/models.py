"""The model the pad reads with, and the modules that define its layers.

A model saved with a layer of your own (the tutorial's LeakyReLU) loads once the class is
registered, which happens when the module that defines it is imported: `--import mymodule`
(a module on the path, the current folder included) or `--import path/to/file.py`. The pad
imports them before loading the model, and so does the learner, in its own process.
"""
import importlib
import importlib.util
import os
import sys

import tinycnn as tc


class ModelError(Exception):
    """The model cannot be used, said in one line."""


def import_modules(names):
    """Import each of `names`: a module name, or the path of a .py file. Raises ModelError
    naming the module and what went wrong (not found, or the error its code raised)."""
    for name in names:
        try:
            if name.endswith(".py") or os.sep in name:
                _import_file(name)
            else:
                importlib.import_module(name)
        except ModelError:
            raise
        except ModuleNotFoundError as e:
            if e.name != name.split(".")[0]:  # found, but it imports something that is missing
                raise ModelError(f"--import {name}: {e}") from None
            raise ModelError(f"--import {name}: no module named {name!r} here (run from the folder that holds "
                             f"{name}.py, or give the file: --import path/to/{name}.py)") from None
        except Exception as e:  # whatever its code raised: one line, not its traceback
            raise ModelError(f"--import {name}: importing it raised {type(e).__name__}: {e}") from None


def _import_file(path):
    if not os.path.isfile(path):
        raise ModelError(f"--import {path}: no such file")
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as `import name` would: its classes pickle and repr by that name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def load_model(path=None):
    """The model at `path` (None: the shipped one), checked to read (1, 28, 28) digits."""
    source = str(path or tc.pretrained_path())
    try:
        model = tc.load(path) if path else tc.pretrained()
        tc.check_digit_reader(model, source)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {source}") from None
    except tc.ModelFileError as e:
        hint = ("; if it is a layer of your own, add --import MODULE (the module or .py file that defines it)"
                if "unknown layer type" in str(e) else "")
        raise ModelError(f"cannot use model: {e}{hint}") from None
    return model
