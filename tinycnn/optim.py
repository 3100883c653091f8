"""Optimisers with PyTorch's update rules, and a running average of the weights they produce.
Their state (momenta) lives here, not in the layers."""
import numpy as np

from .backend import get_backend, kernels
from .layers import Layer


class Optimizer:
    """Updates every parameter of `model` (any layer or Sequential) in place from its gradient;
    `lr` may be changed between steps."""

    def __init__(self, model, lr):
        if not isinstance(model, Layer):
            raise TypeError(f"{type(self).__name__}: expected a layer or a Sequential, got {type(model).__name__}")
        self.model, self.lr, self.t = model, float(lr), 0
        self.state = {}  # name -> dict of arrays, filled on first use

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        self.t += 1
        for path, layer in self.model.named_layers():
            for key, p in layer.params.items():
                name = f"{path}.{key}" if path else key
                if key not in layer.grads or layer.grads[key].shape != p.shape:
                    raise ValueError(f"{type(self).__name__}: parameter {name} of {layer!r} has no gradient "
                                     f"of its shape {p.shape} in grads (use add_param to create both)")
                self.update(p, layer.grads[key], self.state.setdefault(name, {}))

    def state_dict(self):
        """Flat {key: array} with everything needed to resume, plus the step count."""
        flat = {f"{name}/{k}": v for name, s in self.state.items() for k, v in s.items()}
        flat["t"] = np.array(self.t)
        return flat

    def load_state_dict(self, flat):
        self.t = int(flat["t"])
        self.state = {}
        for key, v in flat.items():
            if key != "t":
                name, k = key.rsplit("/", 1)
                self.state.setdefault(name, {})[k] = np.array(v)


class SGD(Optimizer):
    """g += weight_decay * p;  buf = momentum * buf + g;  p -= lr * buf  (buf = g at the first step)."""

    def __init__(self, model, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(model, lr)
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)

    def update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "buf" not in s:
                s["buf"] = g.copy()
            else:
                s["buf"] *= self.momentum
                s["buf"] += g
            g = s["buf"]
        p -= (self.lr * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba), weight decay added to the gradient as in torch.optim.Adam."""

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr)
        self.b1, self.b2 = map(float, betas)
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def update(self, p, g, s):
        if "m" not in s:
            s["m"], s["v"] = np.zeros_like(p), np.zeros_like(p)
        m, v, t, b1, b2 = s["m"], s["v"], self.t, self.b1, self.b2
        if get_backend() == "numba":  # the same lines, in one pass over the arrays
            kernels().adam_update(p, g, m, v, lr=self.lr, b1=b1, b2=b2, t=t, eps=self.eps,
                                  weight_decay=self.weight_decay)
            return
        g = g + self.weight_decay * p if self.weight_decay else g
        m[...] = b1 * m + (1 - b1) * g                   # running mean of the gradient
        v[...] = b2 * v + (1 - b2) * g * g               # running mean of its square
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)  # both start at 0: undo that pull
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class WeightAverage:
    """A running average of a model's weights (Polyak averaging, as PyTorch's AveragedModel with an
    exponential average). The last step's weights sit wherever the last few batches pushed them;
    their average over the last stretch of training sits nearer the middle of the valley those
    steps wander in, and usually scores a little better on images it has not seen.

    After every optimiser step, update(step) moves each average a share (1 - d) toward the
    model's arrays (parameters and buffers alike, so batch-norm statistics match the weights),
    with d = min(decay, (1 + step) / (10 + step)). While the second term is the smaller, the
    average covers roughly the last tenth of the steps so far (its mean age is about step / 10),
    so it never clings to the initial weights; from step 9 / (1 - decay) - 10 on (17,990 for
    decay 0.9995), d is `decay` and the average spans about 1 / (1 - decay) steps.
    """

    def __init__(self, model, decay):
        if not 0 < decay < 1:
            raise ValueError(f"WeightAverage: decay must be between 0 and 1, got {decay}")
        self.model, self.decay = model, float(decay)
        self.arrays = {k: v.copy() for k, v in model.state_dict().items()}

    def update(self, step):
        """step: the number of optimiser steps taken so far (1 after the first)."""
        share = np.float32(1 - min(self.decay, (1 + step) / (10 + step)))
        for k, v in self.model.state_dict().items():
            avg = self.arrays[k]
            avg += share * (v - avg)

    def state_dict(self):
        """{name: array} copies of the averages, with the names and shapes of model.state_dict()."""
        return {k: v.copy() for k, v in self.arrays.items()}

    def load_state_dict(self, arrays, source="state dict"):
        """Take the averages from `arrays` (as state_dict gives), refusing any missing, extra or
        misshapen entry."""
        own = self.arrays
        if set(arrays) != set(own):
            raise ValueError(f"{source}: the averaged arrays do not match the model (missing: "
                             f"{sorted(set(own) - set(arrays)) or 'none'}; unexpected: {sorted(set(arrays) - set(own)) or 'none'})")
        for k, v in arrays.items():
            if np.shape(v) != own[k].shape:
                raise ValueError(f"{source}: averaged array {k} has shape {np.shape(v)}, the model's has {own[k].shape}")
        self.arrays = {k: np.array(v, dtype=np.float32) for k, v in arrays.items()}
