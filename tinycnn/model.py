"""Sequential: a model as a list of layers, with prediction, a summary table, and save/load.

A model file is one .npz: the architecture as JSON in the array "__architecture__", and one
array per parameter or buffer named by its dotted path ("0.W", "4.1.running_mean"). It is
read with allow_pickle=False: loading a model never runs code. Reading and checking a file
lives in modelfile.py.
"""
import json
import threading
import weakref

import numpy as np

from .fileio import atomic_open
from .layers import Chain, ShapeError
from .layers.base import layer_type
from .losses import softmax
from .modelfile import FORMAT, ModelFileError, build_layers, read_model_file


KEEP_AFTER_PREDICTION = 8  # examples: a thread's view of a model keeps its arrays after predictions this small


class Sequential(Chain):
    """Layers applied in order.  x: (N, C, H, W) float32 -> logits (N, classes).

    model(x) is model.forward(x); model[i] is a layer, model[i:j] a Sequential of the same
    layer objects; len(model) and `for layer in model` work as for a list.
    """

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def trace(self, x):
        """Run forward one layer at a time and return [(name, output)] for every layer.

        Names are dotted positions ("0", "4.1"); a block's inner layers come before the block
        itself. The last output is forward(x)'s result. See tinycnn/introspect.py.
        """
        from .introspect import trace
        return trace(self, x)

    def state_dict(self):
        """{dotted name: array} of parameters and buffers: everything a saved model holds."""
        return dict(self._walk("params", "buffers"))

    def load_state_dict(self, arrays, source="state dict"):
        """Copy arrays into the model, refusing any missing, extra or misshapen entry."""
        own = self.state_dict()
        missing = sorted(set(own) - set(arrays))
        extra = sorted(set(arrays) - set(own))
        if missing or extra:
            raise ModelFileError(f"{source}: arrays do not match the architecture "
                                 f"(missing: {missing or 'none'}; unexpected: {extra or 'none'})")
        for path, layer in self.named_layers():
            for d in (layer.params, layer.buffers):
                for key in d:
                    value = np.asarray(arrays[f"{path}.{key}"])
                    if value.shape != d[key].shape:
                        raise ModelFileError(f"{source}: array {path}.{key} has shape {value.shape}, "
                                             f"but layer {path} {layer!r} needs {d[key].shape}")
                    d[key] = value.astype(np.float32)
                    if key in layer.grads:
                        layer.grads[key] = np.zeros_like(d[key])

    def predict_logits(self, x, batch_size=128):
        """The last layer's output in eval mode, `batch_size` images at a time to bound memory.

        x: (N, C, H, W) float -> (N, classes) float32. Runs on this thread's view of the model
        (the same weights, its own per-call state), so threads may share one model, and the
        model's own mode and saved activations are left as they were.
        """
        return self.forward_in_batches(x, batch_size, training=False)

    def predict_proba(self, x, batch_size=128):
        """Class probabilities: softmax(predict_logits(x)). x: (N, C, H, W) -> (N, classes) float32."""
        return softmax(self.predict_logits(x, batch_size))

    def predict(self, x, batch_size=128):
        """The most probable class of each image.  x: (N, C, H, W) -> (N,) int64."""
        return self.predict_logits(x, batch_size).argmax(axis=1)

    def forward_in_batches(self, x, batch_size=128, training=None):
        """forward(x), `batch_size` examples at a time, with no backward to follow: x: (N, ...) ->
        the last layer's output for all N, in the model's mode (or `training`), on this thread's
        view of the model. What the view keeps (saved for backward, workspaces) is freed after
        the call, unless the call had at most KEEP_AFTER_PREDICTION examples: the next small
        prediction (the pad's, every frame) reuses it."""
        x = _floats(self, x)
        pairs = _view_for_this_thread(self)  # [(this model's layer, the view's)], the model first
        for mine, its in pairs:
            its.training = mine.training if training is None else training
        view = pairs[0][1]
        try:
            if len(x) == 0:  # the output's width still comes from the layers
                return view.forward(np.zeros((1,) + x.shape[1:], x.dtype))[:0]
            if len(x) <= batch_size:
                return view.forward(x)  # a new array: the chain's last step never hands out a kept one
            return np.concatenate([view.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        finally:
            if len(x) > KEEP_AFTER_PREDICTION:
                view.release()

    def summary(self, input_shape=(1, 28, 28), print_fn=print):
        """Print a table of layers, output shapes, parameter counts and FLOPs for one image.

        The shapes come from running one image of zeros through a copy of the model, so an
        input the layers cannot take raises the layer's own error, as forward would.
        """
        import copy

        from .introspect import record

        shape = tuple(input_shape)
        probe = copy.deepcopy(self).eval()
        seen = {name: (x.shape[1:], y.shape[1:]) for name, _, x, y in record(probe, np.zeros((1,) + shape, np.float32))}
        rows = []
        for name, layer in list(probe.named_layers())[1:]:
            inner = bool(layer.sublayers())
            label = "  " * name.count(".") + f"{name} " + (type(layer).__name__ if inner else repr(layer))
            (x_shape, y_shape), own = seen[name], sum(v.size for v in layer.params.values())
            rows.append((label, y_shape, own, None if inner else layer.flops(x_shape)))
        total_p = sum(v.size for _, v in self.named_parameters())
        total_f = self.flops(shape)
        width = max(len(r[0]) for r in rows) + 2
        line = "-" * (width + 44)
        print_fn(f"{'Layer':<{width}}{'Output shape':<18}{'Params':>10}{'FLOPs':>16}")
        print_fn(line)
        print_fn(f"{'input':<{width}}{str(shape):<18}")
        for name, out, p, f in rows:
            print_fn(f"{name:<{width}}{str(out):<18}{p:>10,}{'' if f is None else f'{f:,}':>16}")
        print_fn(line)
        print_fn(f"Total parameters: {total_p:,}   FLOPs per image (forward): {total_f:,}")
        weights = 2 * sum(v.nbytes for _, v in self.named_parameters())
        print_fn(f"Memory: parameters and gradients {weights / 2**20:.1f} MB; kept from the last step "
                 f"(saved for backward, workspaces; release() frees it) {held_bytes(self) / 2**20:.1f} MB")

    def architecture(self):
        """The model as JSON-able data: enough to rebuild it, without the weights."""
        return {"format": FORMAT, "layers": [_spec(layer) for layer in self.layers]}

    def copy(self):
        """A new model with the same architecture, weights, buffers and meta, sharing no array."""
        new = Sequential(*build_layers(self.architecture()["layers"]))
        new.load_state_dict(self.state_dict())  # load_state_dict copies every array (astype)
        new.meta = json.loads(json.dumps(getattr(self, "meta", {})))
        return new.train(self.training)

    def save(self, path, meta=None):
        """Write the model to `path` (.npz) atomically; `meta` is any JSON-able dict kept beside it."""
        arch = dict(self.architecture(), meta=meta or {})
        with atomic_open(path) as f:
            np.savez(f, __architecture__=np.array(json.dumps(arch)), **self.state_dict())


def _spec(layer):
    spec = {"type": layer_type(layer), "config": layer.config()}
    if layer.sublayers():
        spec["layers"] = [_spec(sub) for sub in layer.sublayers()]
    return spec


def load(path):
    """Rebuild a model saved by Sequential.save, in eval mode.

    Every declared size is checked before anything big is allocated (see modelfile.py).
    Raises ModelFileError naming the file and the fault, FileNotFoundError if there is no file.
    """
    layers, arrays, meta = read_model_file(path)
    model = Sequential(*layers)
    model.load_state_dict(arrays, source=str(path))
    model.meta = meta
    return model.eval()


def _floats(model, x):
    """x as a float array, refusing integer images (0..255 read as floats would be nonsense)."""
    x = np.asarray(x)
    if x.dtype.kind in "uib":
        raise TypeError(f"{type(model).__name__}: expected float input (images in [0, 1]), got dtype {x.dtype}; "
                        "convert 0..255 images with x.astype(np.float32) / 255")
    if x.dtype.kind != "f":
        raise TypeError(f"{type(model).__name__}: expected a float array, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ShapeError(model, "(N, ...)", x.shape)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def held_bytes(layer):
    """Bytes of layer.held_arrays(), each memory block once (a saved view of a kept array is not counted again)."""
    blocks = {}
    for a in layer.held_arrays():
        while isinstance(a.base, np.ndarray):
            a = a.base
        blocks[id(a)] = a.nbytes
    return sum(blocks.values())


_threads = threading.local()  # each thread's views: {model: (its layers' ids, [(layer, view's layer)])}


def _all_layers(layer):
    """[layer, then every layer inside it, depth first]: named_layers without the names, which a
    prediction of one image walks often enough for the generators to show."""
    out = [layer]
    for inner in layer.sublayers():
        out += _all_layers(inner)
    return out


def _view_for_this_thread(model):
    """This thread's view of `model` (Layer.view), as pairs (model's layer, view's layer), the
    model itself first: made once, and again if the model's layers change."""
    views = getattr(_threads, "views", None)
    if views is None:
        views = _threads.views = weakref.WeakKeyDictionary()
    layers = _all_layers(model)
    key = tuple(map(id, layers))
    kept = views.get(model)
    if kept is None or kept[0] != key:
        kept = views[model] = (key, list(zip(layers, _all_layers(model.view()))))
    return kept[1]
