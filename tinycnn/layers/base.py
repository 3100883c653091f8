"""What every layer shares: parameters and their gradients, train/eval mode, input checks, and
the registry that lets `tc.load` rebuild a layer from its class name."""
import contextlib
import copy
import inspect

import numpy as np

from ..random import default_rng

LAYER_TYPES = {}  # class name as saved in a model file -> class; filled by Layer.__init_subclass__


class ShapeError(ValueError):
    """An input of the wrong shape; the message names the layer (and where it sits in its model),
    the expected and the actual shape."""

    def __init__(self, layer, expected, got):
        self.layer, self.expected, self.got = layer, expected, tuple(got)
        self.where = getattr(layer, "path", "")
        at = f"layer {self.where} " if self.where else ""
        super().__init__(f"{at}{layer!r}: expected input {expected}, got {self.got}")


def register_layer(cls, name=None):
    """Make `tc.load` rebuild layers of class `cls` from the type `name` (default: the class name).

    Subclasses of Layer register themselves under their class name; call this only when that
    name is taken by another class (a layer of your own called "Dense", say). Returns cls, so it
    also works as a decorator.
    """
    name = name or cls.__name__
    owner = LAYER_TYPES.get(name)
    if owner is not None and owner is not cls and not _same_class(owner, cls):
        raise ValueError(f"layer type {name!r} is already {owner.__module__}.{owner.__qualname__}; "
                         f"register {cls.__qualname__} under another name: tc.register_layer(cls, 'My{name}')")
    for other in [k for k, v in LAYER_TYPES.items() if v is cls and k != name]:
        del LAYER_TYPES[other]
    LAYER_TYPES[name] = cls
    return cls


def layer_type(layer):
    """The name a model file stores for `layer`, refusing a class that tc.load would not rebuild."""
    cls = type(layer)
    for name, registered in LAYER_TYPES.items():
        if registered is cls:
            return name
    owner = LAYER_TYPES.get(cls.__name__)
    raise TypeError(f"cannot save {cls.__module__}.{cls.__qualname__}: the layer type {cls.__name__!r} "
                    f"is {owner.__module__}.{owner.__qualname__}; give yours a name of its own with "
                    f"tc.register_layer({cls.__name__}, 'My{cls.__name__}')" if owner else
                    f"cannot save {cls.__qualname__}: it is not a registered layer type (tc.register_layer)")


def _same_class(a, b):
    """The same class defined again (a notebook cell run twice): the newer one replaces the older."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


class Layer:
    """Base class of every layer. To write your own, define

        forward(x)    -> y, keeping what backward will need
        backward(dy)  -> dx: given dL/dy (shaped like y), add dL/dparam into self.grads[name]
                         and return dL/dx (shaped like x)

    and, if it has parameters, call `self.add_param(name, array)` in __init__ (after
    `super().__init__()`). That is all: it then works in Sequential, gradcheck, the optimisers,
    summary, save and tc.load (subclasses are registered by class name; see register_layer).

    `params` and `grads` are dicts with the same keys; backward *adds* into `grads` (like
    PyTorch), so call `zero_grad` between steps. `buffers` hold state that is saved but not
    trained (batch norm's running statistics).
    """

    training = True
    saved = ()  # attributes that forward keeps for backward (release() frees them)
    backward_uses_up = False  # True: backward overwrites what forward saved, so one forward, one backward

    def __init_subclass__(cls, register=True, **kwargs):
        super().__init_subclass__(**kwargs)
        if register and not cls.__name__.startswith("_") and (
                cls.__name__ not in LAYER_TYPES or _same_class(LAYER_TYPES[cls.__name__], cls)):
            LAYER_TYPES[cls.__name__] = cls

    def __init__(self):
        self.params, self.grads, self.buffers = {}, {}, {}

    def add_param(self, name, value):
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no forward(x)")

    def backward(self, dy):
        """dy: dL/dy, the shape of the last forward's output -> dL/dx, the shape of its input."""
        raise NotImplementedError(f"{type(self).__name__} has no backward(dy)")

    def __call__(self, x):
        return self.forward(x)

    def release(self):
        """Drop what forward saved for backward (to free memory when no backward follows)."""
        for name in self.saved:
            self.__dict__.pop(name, None)

    def held_arrays(self):
        """The arrays kept from the last call besides the parameters: what forward saved for
        backward (and a speed step's workspace). release() frees them."""
        return [v for k, v in vars(self).items() if k in self.saved and isinstance(v, np.ndarray)]

    def __getattr__(self, name):
        # Only reached when the attribute is missing: say why a saved activation is.
        if name in type(self).saved:
            where = getattr(self, "path", "")
            since = "built or released" + (", or since its last backward" if self.backward_uses_up else "")
            raise RuntimeError(f"{'layer ' + where + ' ' if where else ''}{self!r}: backward needs a forward "
                               f"first (nothing saved in {name!r}: no forward since it was {since})")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def view(self):
        """A twin for another thread: the same params, grads and buffers (shared arrays), but its
        own per-call state (what forward saves for backward). See Sequential.predict_logits."""
        twin = copy.copy(self)
        for name in self.saved:
            twin.__dict__.pop(name, None)
        return twin

    def output_shape(self, shape):
        """The per-example output shape for a per-example input shape (no batch axis).

        By default found by running one example of zeros through a copy of the layer in eval
        mode; the built-in layers compute it instead.
        """
        probe = copy.deepcopy(self).eval()
        return tuple(np.shape(probe.forward(np.zeros((1,) + tuple(shape), np.float32)))[1:])

    def flops(self, shape):
        """Floating-point operations of one forward pass for one example of `shape` (0: not counted)."""
        return 0

    def config(self):
        """The constructor's arguments, as JSON-able values, to rebuild this layer.

        Every argument of __init__ read back from the attribute of the same name (so store them
        as self.alpha = alpha), except `rng`, the random generator for the initial weights, which
        a saved model does not need. Override it for anything else.
        """
        out = {}
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if name in ("self", "rng") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if not hasattr(self, name):
                raise TypeError(f"{type(self).__name__}.config(): the constructor argument {name!r} is not "
                                f"stored as self.{name}; store it, or define config() returning the arguments")
            out[name] = getattr(self, name)
        return out

    def sublayers(self):
        return []

    def train(self, mode=True):
        self.training = mode
        for layer in self.sublayers():
            layer.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for g in self.grads.values():
            g[...] = 0
        for layer in self.sublayers():
            layer.zero_grad()

    def named_layers(self, prefix=""):
        """(dotted name, layer) for this layer and every layer inside it, depth first."""
        yield prefix, self
        for i, layer in enumerate(self.sublayers()):
            yield from layer.named_layers(f"{prefix}.{i}" if prefix else str(i))

    def _walk(self, *dicts):
        for path, layer in self.named_layers():
            for d in dicts:
                for key, value in getattr(layer, d).items():
                    yield (f"{path}.{key}" if path else key, value)

    def named_parameters(self):
        """[(dotted name, array)] of every trainable parameter, e.g. ("0.W", ...)."""
        return list(self._walk("params"))

    def named_grads(self):
        """[(dotted name, array)] of the gradients, in the order of named_parameters()."""
        return list(self._walk("grads"))

    def parameters(self):
        """Every trainable parameter array, in the order of named_parameters()."""
        return [p for _, p in self._walk("params")]

    def astype(self, dtype):
        """Cast parameters, gradients and buffers in place (float64 for gradient checks)."""
        for _, layer in self.named_layers():
            for d in (layer.params, layer.grads, layer.buffers):
                for k in d:
                    d[k] = d[k].astype(dtype)
        return self

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v}" for k, v in self.config().items())
        except TypeError:
            args = "..."
        return f"{type(self).__name__}({args})"

    def _expect(self, x, expected, ok=None):
        """Refuse anything but a float array with `ok(x)` true, naming the layer and `expected`."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self!r}: expected a NumPy array {expected}, got a {type(x).__name__}; "
                            f"convert it with np.asarray(x, dtype=np.float32)")
        if x.dtype not in (np.float32, np.float64):
            hint = " (images in 0..255? use x.astype(np.float32) / 255)" if x.dtype.kind in "ui" else ""
            raise TypeError(f"{self!r}: expected float32 input, got dtype {x.dtype}{hint}")
        if ok is not None and not ok(x):
            raise ShapeError(self, expected, x.shape)


_random_init = True


@contextlib.contextmanager
def weights_to_be_loaded():
    """Within this block, layers are built with zero weights instead of random ones: their
    weights are about to be loaded from a file, so drawing (and filling memory with) random
    numbers would be wasted, and would move the library's random generator."""
    global _random_init
    before, _random_init = _random_init, False
    try:
        yield
    finally:
        _random_init = before


def he_normal(shape, fan_in, rng):
    """Weights for a ReLU net: N(0, 2/fan_in), which keeps activations' variance steady (He et al. 2015)."""
    if not _random_init:
        return np.zeros(shape, np.float32)
    rng = rng if rng is not None else default_rng()
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
