"""The execution plan of a chain on the Numba backend: its layers, with some runs replaced by
faster steps that give the same numbers.

- Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2) runs as one step (ConvReluPool): one pass from
  the convolution's matrix product to the pooled output and one pass back, instead of a pass per
  layer over the largest activation maps, and no transposing copies. The product gives
  (F, N*Ho*Wo), and batch norm's statistics per channel do not care about the order of a
  channel's values, so it works in that layout too (batch norm only in training, where it uses
  the batch's statistics).
- Any other Conv2D runs as ConvStep: the same product, turned into NCHW and biased in one pass.

Only the built-in layers as they are take part: a layer of your own, or one whose forward you
replaced (tc.introspect.record does, for a moment), runs by itself. The numbers are the same
either way (tests/test_fusion.py), but for one: the gradient of a convolution's bias right before
a batch norm is exactly zero mathematically (the batch's mean takes away whatever the bias adds),
and the fused step says so, where the layers one by one give float rounding noise.
"""
import numpy as np

from ..backend import get_backend, kernels
from ..kernels import out_size
from ..layers.base import Layer
from ..layers.batchnorm import BatchNorm2D
from ..layers.conv import Conv2D
from ..layers.pool import MaxPool2D
from ..layers.simple import ReLU
from .workspace import Workspace

_ORIGINAL = {cls: (cls.forward, cls.backward) for cls in (Conv2D, BatchNorm2D, ReLU, MaxPool2D)}


def _as_built(layer, cls):
    """True for an instance of exactly `cls` whose class keeps the library's forward and backward."""
    return type(layer) is cls and (cls.forward, cls.backward) == _ORIGINAL[cls]


def _replaced(layers):
    """True if any of `layers` has a forward or backward of its own (tc.introspect.record wraps
    forward for a moment): then a step runs its layers one by one, as written."""
    return any("forward" in vars(layer) or "backward" in vars(layer) for layer in layers)


def plan(chain):
    """The steps that run `chain.layers`: the layers themselves on the NumPy backend; on the Numba
    backend, with the runs above replaced. Chosen once per backend, mode and set of layers, and
    kept on the chain (a chain's view for another thread makes its own). Whether a step fuses is
    decided again at every forward, and its backward follows what that forward did."""
    layers = chain.layers
    if get_backend() != "numba":
        return layers
    key = tuple((id(layer), layer.training) for layer in layers)
    kept = chain.__dict__.get("_plan")
    if kept is None or kept[0] != key:
        kept = chain._plan = (key, _choose(layers))
    return kept[1]


def _choose(layers):
    out, i = [], 0
    while i < len(layers):
        run = (layers[i:i + 4] + [None] * 4)[:4]
        bn = run[1] if _as_built(run[1], BatchNorm2D) and run[1].training else None
        conv, relu, pool = run[0], run[2 if bn else 1], run[3 if bn else 2]
        if (_as_built(conv, Conv2D) and _as_built(relu, ReLU) and _as_built(pool, MaxPool2D)
                and pool.kernel_size == 2 and pool.stride == 2):
            out.append(ConvReluPool(conv, relu, pool, bn))
            i += 4 if bn else 3
        else:
            out.append(ConvStep(layers[i]) if _as_built(layers[i], Conv2D) else layers[i])
            i += 1
    for i, step in enumerate(out):
        if isinstance(step, ConvStep):  # what only the chain's next or previous step sees may be kept
            step.inner_output, step.inner_grad = i < len(out) - 1, i > 0
    return out


class ConvStep(Layer, register=False):
    """A Conv2D run in the layout its matrix product gives (the same parameters and gradients).

    Its temporaries (the columns, the product, their gradients) live in a workspace kept from
    step to step; so do its output and its input's gradient when they only go to the next and
    the previous step of its chain (the plan says so), never when they are handed to a caller."""

    saved = ("cols",)
    backward_uses_up = True  # the columns' blocks take their gradients

    def __init__(self, conv):
        super().__init__()
        self.conv, self.layers = conv, [conv]
        self.path = getattr(conv, "path", "")  # errors name the model's layer
        self.fused = True
        self.work = Workspace()
        self.inner_output = self.inner_grad = False  # set by the plan

    def __repr__(self):
        return " -> ".join(map(repr, self.layers))

    def release(self):
        super().release()
        self.work.clear()
        self.conv.release()

    def held_arrays(self):
        return super().held_arrays() + list(self.work.arrays.values())

    def kept_or_new(self, name, shape, dtype, kept):
        """The workspace's array `name` if `kept`, else a new one: an output a caller may hold on to."""
        return self.work.get(name, shape, dtype) if kept else np.empty(shape, dtype)

    def columns(self, x):
        """conv(x) without bias, as the product gives it: (F, N*Ho*Wo); keeps the columns (in
        blocks of images, kernels.conv_forward_blocked)."""
        conv = self.conv
        conv.check_input(x)
        k, s, p, F = conv.kernel_size, conv.stride, conv.padding, conv.out_channels
        N, rows = x.shape[0], conv.in_channels * k * k
        self.x_shape = x.shape
        self.out_hw = (out_size(x.shape[2], k, s, p), out_size(x.shape[3], k, s, p))
        hw = self.out_hw[0] * self.out_hw[1]
        self.blocks = kernels().conv_blocks(N, rows * hw * x.itemsize, N * rows * hw)
        self.cols = self.work.get("cols", (rows * N * hw,), x.dtype)
        return kernels().conv_forward_blocked(x, conv.params["W"].reshape(F, rows), k, k, s, p, self.cols,
                                              self.work.get("product", (F, N * hw), x.dtype), self.blocks)

    def forward(self, x):
        self.fused = not _replaced([self.conv])
        if not self.fused:
            return self.conv.forward(x)
        out = self.columns(x)
        N, F, (Ho, Wo) = x.shape[0], self.conv.out_channels, self.out_hw
        y = self.kept_or_new("y", (N, F, Ho * Wo), out.dtype, self.inner_output)
        np.add(out.reshape(F, N, Ho * Wo).transpose(1, 0, 2), self.conv.params["b"][None, :, None], out=y)  # NCHW, biased
        return y.reshape(N, F, Ho, Wo)

    def backward(self, dy):
        if not self.fused:
            return self.conv.backward(dy)
        N, F = dy.shape[:2]
        # The product was used up by forward: its array takes the gradient, in the product's layout.
        dy2 = self.work.get("product", (F, dy.size // F), dy.dtype)
        dy2.reshape(F, N, -1)[...] = dy.reshape(N, F, -1).transpose(1, 0, 2)
        return self.backward_columns(dy2, dy2.sum(axis=1))

    def backward_columns(self, dy2, db):
        """From the gradient in the product's layout, dy2: (F, N*Ho*Wo), and db: (F,). Uses up
        the columns: their blocks take their own gradients (a second backward needs a forward)."""
        conv, work, cols = self.conv, self.work, self.cols
        del self.cols
        k, (F, rows) = conv.kernel_size, (conv.out_channels, cols.size // dy2.shape[1])
        dw_parts = work.get("dW parts", (len(self.blocks) - 1, rows, F), dy2.dtype)
        dx = self.kept_or_new("dx", self.x_shape, dy2.dtype, self.inner_grad)
        dx, dw = kernels().conv_backward_blocked(dy2, conv.params["W"].reshape(F, rows), cols, self.x_shape,
                                                 k, k, conv.stride, conv.padding, self.blocks, dw_parts, dx)
        conv.grads["W"] += dw.reshape(conv.params["W"].shape)
        conv.grads["b"] += db
        return dx


class ConvReluPool(ConvStep):
    """Layers conv, [bn,] relu, pool run as one step (the same parameters, the same gradients)."""

    saved = ("cols", "arg")

    def __init__(self, conv, relu, pool, bn=None):
        super().__init__(conv)
        self.bn = bn
        self.layers = [layer for layer in (conv, bn, relu, pool) if layer is not None]
        self.fused = False

    def forward(self, x):
        conv, bn = self.conv, self.bn
        # Fused only on input the layers accept with maps of at least 2x2; otherwise they run
        # one by one and raise their own errors.
        self.fused = (not _replaced(self.layers) and isinstance(x, np.ndarray) and x.ndim == 4
                      and x.shape[1] == conv.in_channels
                      and min(conv.output_shape(x.shape[1:])[1:]) >= 2
                      and (bn is None or bn.num_features == conv.out_channels))
        if not self.fused:
            for layer in self.layers:
                x = layer.forward(x)
            return x
        out = self.columns(x)  # (F, N*Ho*Wo)
        bias = conv.params["b"]
        if bn is not None:
            out += bias[:, None]  # what conv.forward adds, before the batch's statistics are taken
            out = bn.forward_batch(out[None])[0]
            bias = np.zeros_like(bias)
        (Ho, Wo), shape = self.out_hw, (x.shape[0], conv.out_channels, self.out_hw[0] // 2, self.out_hw[1] // 2)
        pair = (self.kept_or_new("y", shape, out.dtype, self.inner_output), self.work.get("arg", shape, np.uint8))
        y, self.arg = kernels().conv_relu_pool2_forward(out, bias, x.shape[0], Ho, Wo, out=pair)
        return y

    def backward(self, dy):
        if not self.fused:
            for layer in reversed(self.layers):
                dy = layer.backward(dy)
            return dy
        # Through pool and relu, into the product's array (forward used it up).
        product = self.work.get("product", (self.conv.out_channels, dy.shape[0] * self.out_hw[0] * self.out_hw[1]), dy.dtype)
        dout, db = kernels().conv_relu_pool2_backward(dy, self.arg, *self.out_hw, out=product)
        if self.bn is not None:
            dout = self.bn.backward_batch(dout[None])[0]
            db = np.zeros_like(db)  # exactly (see the module's docstring), not rounding noise
        return self.backward_columns(dout, db)

    def release(self):
        super().release()
        for layer in self.layers[1:]:
            layer.release()

    def held_arrays(self):
        return super().held_arrays() + [a for layer in self.layers[1:] for a in layer.held_arrays()]
