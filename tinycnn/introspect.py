"""Looking inside a model: every layer's output (trace), the feature maps of its convolutions,
and saliency, the gradient of a digit's score with respect to the input pixels."""
import numpy as np

from .layers import Conv2D


def record(model, x):
    """Run model.forward(x) one layer at a time, catching what every layer takes and gives.

    x: (N, ...) -> [(dotted name, layer, input, output)], in the order the layers finished (a
    block's inner layers before the block). Each layer's forward is wrapped for the run (which
    also keeps fusion away: it never fuses a layer whose forward was replaced), then restored.
    """
    seen = []
    wrapped = []
    for name, layer in list(model.named_layers())[1:]:
        own = layer.__dict__.get("forward")  # a forward the user patched in stays in the chain
        forward = layer.forward

        def recording(x, name=name, layer=layer, forward=forward):
            y = forward(x)
            seen.append((name, layer, x, y))
            return y
        layer.forward = recording
        wrapped.append((layer, own))
    try:
        model.forward(x)
    finally:
        for layer, own in wrapped:
            if own is None:
                del layer.forward
            else:
                layer.forward = own
    return seen


def trace(model, x):
    """[(name, output)] of every layer of `model` for input x, one layer at a time.

    The outputs are the numbers forward(x) gives (same mode, same backend); the last one is
    the model's output. Call model.eval() first to see what prediction sees.
    """
    return [(name, y) for name, _, _, y in record(model, x)]


def feature_maps(model, x):
    """[(name, layer, output)] of every Conv2D in `model`: output (N, channels, H, W)."""
    return [(name, layer, y) for name, layer, _, y in record(model, x) if isinstance(layer, Conv2D)]


def saliency(model, x, digit=None):
    """How much each input pixel moves the score (logit) of `digit`: d logit[digit] / d x.

    x: (N, C, H, W) or one (H, W) image; digit: an int, one per image, or None for each image's
    predicted class -> an array shaped like x. Runs in eval mode (restored after) through the
    model's own forward and backward; the model's gradients are left as they were.
    """
    x = np.asarray(x)
    x4 = x[None, None] if x.ndim == 2 else x
    was_training = model.training
    model.eval()
    try:
        logits = model.forward(x4.astype(np.float32, copy=False) if x4.dtype != np.float64 else x4)
        grad = score_gradient(model, logits, digit)
    finally:
        model.train(was_training)
    return grad.reshape(x.shape)


def score_gradient(model, logits, digit=None):
    """Right after `logits = model.forward(x)`: d logits[n, digit] / d x, by model.backward.

    logits: (N, classes); digit: int, (N,) ints, or None for the largest logit -> (x's shape).
    The model's parameter gradients are restored: looking does not disturb training.
    """
    if logits.ndim != 2:
        raise ValueError(f"saliency needs a model that gives scores (N, classes), this one gives {logits.shape}")
    chosen = logits.argmax(axis=1) if digit is None else np.broadcast_to(np.asarray(digit), (len(logits),))
    if not np.all((0 <= chosen) & (chosen < logits.shape[1])):
        raise ValueError(f"digit must be in 0..{logits.shape[1] - 1}, got {digit}")
    dlogits = np.zeros_like(logits)
    dlogits[np.arange(len(logits)), chosen] = 1  # d score / d logits: one-hot on the chosen digit
    saved = [g.copy() for _, g in model.named_grads()]
    try:
        return model.backward(dlogits)
    finally:
        for (_, g), old in zip(model.named_grads(), saved):
            g[...] = old
