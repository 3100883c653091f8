"""Check analytic gradients against centered finite differences, in float64."""
import copy

import numpy as np

from . import random as tc_random
from .layers import Chain


def numerical_grad(f, x, eps=1e-6):
    """df/dx by centered differences: (f(x + eps) - f(x - eps)) / (2 eps), one element at a time.

    f: () -> float, reading x; x: any shape, changed in place and restored.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||): 0 for equal arrays, 1 for unrelated ones."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def gradcheck(layer, x, eps=1e-6, rng=None):
    """Compare a layer's backward with finite differences of its forward.

    The layer is copied and cast to float64 (the original is untouched); the loss is
    sum(forward(x) * dy) for a random dy, so backward(dy) must equal d loss / d x.
    Every forward runs on a fresh copy of the layer with the library's generator rewound,
    so dropout masks repeat and batch norm's running statistics do not drift.
    A parameter whose true gradient is zero (a bias right before batch norm) shows only
    rounding noise, and so a large relative error: check such parameters by absolute size.
    Before any number, the layer is held to what a Sequential asks of it: a tc.Layer with
    params/grads dicts of the same keys and shapes, forward(x) giving an array, and
    backward(dy) (called with dy alone) returning dL/dx shaped like x. A breach raises
    TypeError or ValueError saying which.
    Returns {"x": error, "<param path>": error, ...}: relative errors (see rel_error).
    """
    # A stream of its own: seeded like the caller's data, dy could equal x, which for batch
    # norm lies exactly in the directions the layer projects out (a zero gradient).
    rng = rng if rng is not None else np.random.default_rng(20_240_917)
    Chain(layer)  # what a Sequential checks: a tc.Layer with params and grads
    layer = copy.deepcopy(layer).astype(np.float64)
    x = np.array(x, dtype=np.float64)
    rng_state = tc_random.default_rng().bit_generator.state

    def fresh_forward(target):
        tc_random.default_rng().bit_generator.state = rng_state
        return target.forward(x)

    dy = rng.standard_normal(fresh_forward(copy.deepcopy(layer)).shape)

    def loss():
        return float(np.sum(fresh_forward(copy.deepcopy(layer)) * dy))

    probe = copy.deepcopy(layer)
    probe.zero_grad()
    fresh_forward(probe)
    dx = probe.backward(dy)
    _check_contract(probe, x, dx)
    errors = {"x": rel_error(dx, numerical_grad(loss, x, eps))}
    probe_layers = dict(probe.named_layers())
    for path, sub in layer.named_layers():
        for key, value in sub.params.items():
            analytic = probe_layers[path].grads[key]
            errors[f"{path}.{key}" if path else key] = rel_error(analytic, numerical_grad(loss, value, eps))
    return errors


def _check_contract(layer, x, dx):
    """What a Sequential relies on, beyond the numbers: shapes of dx and of every gradient."""
    name = type(layer).__name__
    if not isinstance(dx, np.ndarray) or dx.shape != x.shape:
        raise ValueError(f"{name}.backward(dy) must return dL/dx, an array shaped like the input {x.shape}, "
                         f"got {dx.shape if isinstance(dx, np.ndarray) else dx!r}")
    for path, sub in layer.named_layers():
        if set(sub.params) != set(sub.grads):
            raise ValueError(f"{type(sub).__name__}: params and grads must have the same keys, "
                             f"got {sorted(sub.params)} and {sorted(sub.grads)} (use add_param)")
        for key, p in sub.params.items():
            if np.shape(sub.grads[key]) != np.shape(p):
                raise ValueError(f"{type(sub).__name__}: grads[{key!r}] has shape {np.shape(sub.grads[key])}, "
                                 f"params[{key!r}] {np.shape(p)}")
