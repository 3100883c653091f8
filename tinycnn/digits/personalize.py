"""Fine-tune a model to one writer's handwriting from a few labelled drawings, without forgetting MNIST.

The recipe (chosen by scripts/personalize_check.py on simulated writers; see the README):
- the writer's drawings, each also in a few slightly distorted copies (tinycnn.augment), so that
  30 drawings teach a style rather than 30 pictures;
- replayed MNIST training digits in every batch, whose targets are half their label and half
  what the original model said of them ("learning without forgetting"): every output class,
  including an 11th "not a digit" class, is held where the original had it;
- batch norm in eval mode (its running statistics are those of MNIST and stay so), and by
  default the convolutions frozen: only the layers after Flatten learn. Frozen features are
  computed once per image, so a step costs microseconds and a few hundred of them take well
  under a second;
- optionally an L2 pull of the trained weights towards the original ones.
"""
import datetime

import numpy as np

from .augment import augment
from ..layers import Flatten
from ..losses import softmax
from ..model import Sequential
from ..optim import Adam

DEFAULTS = dict(
    steps=300,          # Adam steps
    lr=1e-3,
    batch_size=64,
    replay_ratio=0.5,   # fraction of each batch that is replayed MNIST
    replay_pool=2000,   # replayed MNIST training digits (drawn by the seed)
    copies=8,           # distorted copies of each personal drawing
    freeze="features",  # "features": only the layers after Flatten learn; "none": everything learns
    l2=0.0,             # pull towards the original weights: grad += l2 * (w - w_original)
    distill=0.5,        # weight of the original model's output in a replayed digit's target
)
FREEZE = ("features", "none")


class PersonalizeError(ValueError):
    """Input that personalize cannot learn from; the message names the problem."""


def check_examples(images, labels):
    """Raise PersonalizeError unless images is float32 (N, 1, 28, 28), finite, N >= 1, and labels
    integers (N,) in 0-9."""
    if not isinstance(images, np.ndarray) or images.dtype != np.float32:
        raise PersonalizeError(f"images must be a float32 array (N, 1, 28, 28) in [0, 1], got "
                               f"{getattr(images, 'dtype', type(images).__name__)}")
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise PersonalizeError(f"images must have shape (N, 1, 28, 28), got {images.shape}")
    if len(images) == 0:
        raise PersonalizeError("no images: personalize needs at least one labelled drawing (N = 0)")
    if not np.isfinite(images).all():
        raise PersonalizeError(f"images contain NaN or infinite values "
                               f"({int((~np.isfinite(images)).sum())} of them)")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise PersonalizeError(f"labels must be integers, got {labels.dtype}")
    if labels.shape != (len(images),):
        raise PersonalizeError(f"labels must have shape ({len(images)},) to match the images, got {labels.shape}")
    if labels.min() < 0 or labels.max() > 9:
        bad = sorted(set(labels[(labels < 0) | (labels > 9)].tolist()))
        raise PersonalizeError(f"labels must be digits 0-9, got {bad[:5]}")
    return labels.astype(np.int64)


def _replay_set(replay, rng, size):
    """(images float32 (R, 1, 28, 28), labels (R,)) drawn from `replay` or MNIST's training set."""
    if replay is None:
        from ..data import load_mnist

        try:
            images, labels = load_mnist()[:2]
        except FileNotFoundError as e:
            raise PersonalizeError(f"personalize replays MNIST so the model does not forget it, "
                                   f"but MNIST is not available: {e}") from None
    else:
        images, labels = replay
    pick = np.sort(rng.choice(len(images), size=min(size, len(images)), replace=False))
    x = np.asarray(images[pick], np.float32)
    if images.dtype == np.uint8:
        x = x / np.float32(255)
    return x.reshape(-1, 1, 28, 28), np.asarray(labels[pick], np.int64)


def _split(model, freeze):
    """(frozen front, trained back) as two Sequentials sharing the model's layers."""
    if freeze == "none":
        return Sequential(), model
    cut = next((i + 1 for i, layer in enumerate(model.layers) if isinstance(layer, Flatten)), None)
    if cut is None:
        raise PersonalizeError("freeze='features' needs a Flatten layer to cut the model at; use freeze='none'")
    return Sequential(*model.layers[:cut]), Sequential(*model.layers[cut:])


def personalize(model, images, labels, *, seed=0, progress=None, replay=None, **options):
    """A copy of `model` fine-tuned to the writer of `images`; `model` itself is not changed.

    images: float32 (N, 1, 28, 28), preprocessed as tc.read_digit(...).input gives them (N >= 1).
    labels: integers (N,), the digits 0-9 they show.
    model: 10 outputs (digits) or more (e.g. an 11th "not a digit"); every class is kept.
    seed: the same seed (and inputs) gives the same model.
    progress: optional callback(step, steps), called after every step.
    replay: optional (images (R, 28, 28) uint8 or float32, labels (R,)) to replay instead of
      MNIST's training set (loaded with tc.load_mnist(); PersonalizeError if it is absent).
    options: see DEFAULTS (steps, lr, batch_size, replay_ratio, replay_pool, copies, freeze, l2,
      distill); an unknown option is an error.
    Returns the new model (eval mode) with meta["personalized"] = {base, n, date, seed, options}.
    """
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise PersonalizeError(f"unknown option(s) {unknown}; known: {sorted(DEFAULTS)}")
    opt = dict(DEFAULTS, **options)
    if opt["freeze"] not in FREEZE:
        raise PersonalizeError(f"freeze must be one of {FREEZE}, got {opt['freeze']!r}")
    if not 0 <= opt["replay_ratio"] < 1:
        raise PersonalizeError(f"replay_ratio must be in [0, 1), got {opt['replay_ratio']}")
    labels = check_examples(images, labels)
    rng = np.random.default_rng(seed)

    new = model.copy().eval()  # eval: batch norm keeps MNIST's statistics, dropout is off
    classes = new.output_shape((1, 28, 28))[0]
    if classes < 10:
        raise PersonalizeError(f"the model has {classes} outputs; personalize needs at least the 10 digits")
    own_x = np.concatenate([images] + [augment(images, rng, rotate=8, scale=0.08, shear=0.08, shift=1.5,
                                               elastic=0.5) for _ in range(opt["copies"])])
    own_t = np.eye(classes, dtype=np.float32)[np.tile(labels, opt["copies"] + 1)]
    rep_x, rep_y = _replay_set(replay, rng, opt["replay_pool"])
    front, back = _split(new, opt["freeze"])
    if front.layers:  # the frozen front's output, computed once
        own_x, rep_x = front.forward_in_batches(own_x, 256), front.forward_in_batches(rep_x, 256)
    original = softmax(back.forward_in_batches(rep_x, 256))  # before training: what the original model says
    rep_t = (1 - opt["distill"]) * np.eye(classes, dtype=np.float32)[rep_y] + opt["distill"] * original
    adam = Adam(back, lr=opt["lr"])
    start = {name: p.copy() for name, p in back.named_parameters()} if opt["l2"] else None
    n_rep = int(round(opt["batch_size"] * opt["replay_ratio"]))
    n_own = opt["batch_size"] - n_rep
    for step in range(opt["steps"]):
        i = rng.integers(len(own_x), size=n_own)
        j = rng.integers(len(rep_x), size=n_rep)
        x = np.concatenate([own_x[i], rep_x[j]])
        t = np.concatenate([own_t[i], rep_t[j]])
        p = softmax(back.forward(x))
        back.backward(((p - t) / len(x)).astype(np.float32))
        if start is not None:
            for (name, w), (_, g) in zip(back.named_parameters(), back.named_grads()):
                g += opt["l2"] * (w - start[name])
        adam.step()
        adam.zero_grad()
        if progress is not None:
            progress(step + 1, opt["steps"])
    base = {k: v for k, v in getattr(model, "meta", {}).items() if k != "personalized"}
    kept = {k: v for k, v in base.items() if k in ("arch", "classes", "calibration")}  # not the base's test accuracy
    new.meta = dict(kept, personalized=dict(
        base=base, n=int(len(images)), per_digit=np.bincount(labels, minlength=10).tolist(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        seed=int(seed), options=opt))
    return new.eval()
