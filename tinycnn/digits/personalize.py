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

What it takes is capped, so a large set costs what a small one does: at most MAX_PER_DIGIT
drawings of each digit (the most recent: the last given), and a time budget (option `seconds`)
after which no more distorted copies are made and training stops. A set of one digit only is
refused; so is one whose labels the model disagrees with nearly everywhere (mislabelled).
Forgetting is measured, never assumed: REPLAY_CHECK replayed digits are held out of training
and read before and after (meta["personalized"]["replay"]); `judge` says whether the new model
is better, and tinycnn.Profile switches to it only then.
"""
import datetime
import time

import numpy as np

from .augment import augment
from ..layers import Flatten
from ..model import Sequential
from ..losses import softmax
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
    seconds=120.0,      # time budget: past it no more copies are made and training stops
)
FREEZE = ("features", "none")
MAX_PER_DIGIT = 50      # drawings of each digit used, the most recent: 500 in all at most
REPLAY_CHECK = 1000     # replayed digits held out of training, read before and after
TOLERANCE = 0.005       # replay accuracy this much lower is noise on REPLAY_CHECK digits (~2 standard errors)
AGREE_MIN = 0.20        # a set of AGREE_MIN_N or more drawings the model reads as labelled less often
AGREE_MIN_N = 20        # than this (chance is 10%) is refused: its labels are wrong, or these are no digits


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


def recent_per_digit(labels, cap=MAX_PER_DIGIT):
    """Indices (sorted) of the last `cap` drawings of each digit in `labels` (N,): the most recent."""
    labels = np.asarray(labels)
    return np.sort(np.concatenate([np.flatnonzero(labels == d)[-cap:] for d in range(10)]))


def replay_source():
    """(images uint8 (R, 28, 28), labels (R,)): the digits personalize replays so that the model
    does not forget them: the 4,000 MNIST training digits that ship in the package, so learning
    works the same right after `pip install`, with or without MNIST fetched."""
    from .pretrained import shipped_replay

    return shipped_replay()


def _replay_sets(replay, rng, size, check):
    """Two disjoint draws from `replay` (or replay_source()): `size` digits to train on and
    `check` held out; each (images float32 (k, 1, 28, 28), labels (k,))."""
    images, labels = replay_source() if replay is None else replay
    if len(images) < 2:
        raise PersonalizeError(f"the replay set holds {len(images)} digits; at least 2 are needed")
    check = min(check, len(images) // 2)
    pick = rng.choice(len(images), size=min(size + check, len(images)), replace=False)
    sets = []
    for part in (np.sort(pick[check:]), np.sort(pick[:check])):
        x = np.asarray(images[part], np.float32)
        if images.dtype == np.uint8:
            x = x / np.float32(255)
        sets.append((x.reshape(-1, 1, 28, 28), np.asarray(labels[part], np.int64)))
    return sets


def _split(model, freeze):
    """(frozen front, trained back) as two Sequentials sharing the model's layers."""
    if freeze == "none":
        return Sequential(), model
    cut = next((i + 1 for i, layer in enumerate(model.layers) if isinstance(layer, Flatten)), None)
    if cut is None:
        raise PersonalizeError("freeze='features' needs a Flatten layer to cut the model at; use freeze='none'")
    return Sequential(*model.layers[:cut]), Sequential(*model.layers[cut:])


def _digits_read(back, features, labels):
    """Fraction of `features` whose most probable digit (never "not a digit") is `labels`."""
    return float(np.mean(back.forward_in_batches(features, 256)[:, :10].argmax(axis=1) == labels))


def check_variety(labels):
    """Raise PersonalizeError for labels (N,) of one digit only: they can teach nothing but that answer."""
    if len(np.unique(labels)) == 1:
        raise PersonalizeError(f"all {len(labels)} drawings are labelled {int(labels[0])}: learning from one "
                               f"digit teaches the model to answer {int(labels[0])}; label drawings of other "
                               f"digits too")


def _agreement(labels, agreement):
    """Refuse a set whose labels the model disagrees with nearly everywhere."""
    if len(labels) >= AGREE_MIN_N and agreement < AGREE_MIN:
        raise PersonalizeError(f"the model reads only {agreement:.0%} of the {len(labels)} drawings it would learn "
                               f"from as they are labelled: are the labels right? (at least {AGREE_MIN:.0%} is "
                               f"expected)")


def _options(options):
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise PersonalizeError(f"unknown option(s) {unknown}; known: {sorted(DEFAULTS)}")
    opt = dict(DEFAULTS, **options)
    if opt["freeze"] not in FREEZE:
        raise PersonalizeError(f"freeze must be one of {FREEZE}, got {opt['freeze']!r}")
    if not 0 <= opt["replay_ratio"] < 1:
        raise PersonalizeError(f"replay_ratio must be in [0, 1), got {opt['replay_ratio']}")
    if not opt["seconds"] > 0:
        raise PersonalizeError(f"seconds (the time budget) must be positive, got {opt['seconds']}")
    return opt


def _own_set(front, images, own, labels, classes, opt, rng, deadline, progress):
    """The drawings' features and one-hot targets: the drawings (`own`: their features), then up
    to opt["copies"] distorted copies, as many as the time budget allows; progress(done) after
    each. Returns (x, t, copies made)."""
    xs = [own]
    for c in range(opt["copies"]):
        if time.monotonic() > deadline:
            break
        copy = augment(images, rng, rotate=8, scale=0.08, shear=0.08, shift=1.5, elastic=0.5)
        xs.append(front.forward_in_batches(copy, 256) if front.layers else copy)
        progress(2 + c)
    t = np.eye(classes, dtype=np.float32)[np.tile(labels, len(xs))]
    return np.concatenate(xs), t, len(xs) - 1


def _train(back, own, rep, opt, rng, progress, deadline):
    """Adam steps on batches of own drawings and replayed digits, progress(done) after each;
    returns the steps taken."""
    (own_x, own_t), (rep_x, rep_t) = own, rep
    adam = Adam(back, lr=opt["lr"])
    start = {name: p.copy() for name, p in back.named_parameters()} if opt["l2"] else None
    n_rep = int(round(opt["batch_size"] * opt["replay_ratio"]))
    n_own = opt["batch_size"] - n_rep
    for step in range(opt["steps"]):
        if time.monotonic() > deadline:
            return step
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
        progress(2 + opt["copies"] + step + 1)
    return opt["steps"]


def personalize(model, images, labels, *, seed=0, progress=None, replay=None, **options):
    """A copy of `model` fine-tuned to the writer of `images`; `model` itself is not changed.

    images: float32 (N, 1, 28, 28), preprocessed as tc.read_digit(...).input gives them (N >= 1),
      oldest first: of each digit only the last MAX_PER_DIGIT are used.
    labels: integers (N,), the digits 0-9 they show; at least two different digits.
    model: 10 outputs (digits) or more (e.g. an 11th "not a digit"); every class is kept.
    seed: the same seed (and inputs) gives the same model, unless the time budget cut it short.
    progress: optional callback(done, total), called as the work goes: the replayed digits' features
      (1), the drawings' (2), each distorted copy, then each training step (total in all).
    replay: optional (images (R, 28, 28) uint8 or float32, labels (R,)) to replay instead of
      replay_source() (the 4,000 MNIST digits shipped in the package).
    options: see DEFAULTS (steps, lr, batch_size, replay_ratio, replay_pool, copies, freeze, l2,
      distill, seconds); an unknown option is an error.
    Returns the new model (eval mode) with meta["personalized"] = {base, n, used, per_digit, date,
    seed, options, agreement, replay: {held_out, before, after}, copies, steps, stopped}.
    """
    opt = _options(options)
    deadline = time.monotonic() + opt["seconds"]
    labels = check_examples(images, labels)
    used = recent_per_digit(labels)
    images, labels, given = images[used], labels[used], len(labels)
    check_variety(labels)
    rng = np.random.default_rng(seed)
    total = 2 + opt["copies"] + opt["steps"]

    def tick(done):
        if progress is not None:
            progress(done, total)

    new = model.copy().eval()  # eval: batch norm keeps MNIST's statistics, dropout is off
    classes = new.output_shape((1, 28, 28))[0]
    if classes < 10:
        raise PersonalizeError(f"the model has {classes} outputs; personalize needs at least the 10 digits")
    (rep_x, rep_y), (check_x, check_y) = _replay_sets(replay, rng, opt["replay_pool"], REPLAY_CHECK)
    front, back = _split(new, opt["freeze"])
    if front.layers:  # the frozen front's output, computed once
        rep_x, check_x = front.forward_in_batches(rep_x, 256), front.forward_in_batches(check_x, 256)
    tick(1)
    own = front.forward_in_batches(images, 256) if front.layers else images
    tick(2)
    agreement = _digits_read(back, own, labels)
    _agreement(labels, agreement)
    own_x, own_t, copies = _own_set(front, images, own, labels, classes, opt, rng, deadline, tick)
    replay_before = _digits_read(back, check_x, check_y)
    original = softmax(back.forward_in_batches(rep_x, 256))  # before training: what the original model says
    rep_t = (1 - opt["distill"]) * np.eye(classes, dtype=np.float32)[rep_y] + opt["distill"] * original
    steps = _train(back, (own_x, own_t), (rep_x, rep_t), opt, rng, tick, deadline)
    stopped = None if steps == opt["steps"] and copies == opt["copies"] else \
        f"the time budget of {opt['seconds']:g} s ran out: {copies} of {opt['copies']} copies, {steps} of {opt['steps']} steps"
    base = {k: v for k, v in getattr(model, "meta", {}).items() if k != "personalized"}
    kept = {k: v for k, v in base.items() if k in ("arch", "classes", "calibration")}  # not the base's test accuracy
    new.meta = dict(kept, personalized=dict(
        base=base, n=given, used=int(len(labels)), per_digit=np.bincount(labels, minlength=10).tolist(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        seed=int(seed), options=opt, agreement=agreement, copies=copies, steps=steps, stopped=stopped,
        replay=dict(held_out=int(len(check_y)), before=replay_before, after=_digits_read(back, check_x, check_y))))
    return new.eval()


def judge(held, before, after, replay):
    """(better, sentence): is the personalised model better than the one it was learned from?

    held, before, after: the writer's held-back drawings and the fraction of them read right
    before and after (before/after None when none were held back); replay: the model's
    meta["personalized"]["replay"]. Worse is: reading the held-back drawings worse, or the
    held-out replayed digits more than TOLERANCE worse (forgetting MNIST)."""
    rb, ra = replay["before"], replay["after"]
    mnist = f"MNIST replay digits {rb:.1%} -> {ra:.1%}"
    mine = f"your {held} held-back drawings {before:.0%} -> {after:.0%}" if held else \
        "no drawings held back to measure"
    if round(rb - ra, 6) > TOLERANCE:  # accuracies are counts of digits: no float fuzz at the edge
        return False, f"not switched: the new model forgets MNIST ({mnist}; {mine})"
    if held and after < before:
        return False, f"not switched: the new model reads your drawings worse ({mine}; {mnist})"
    if held and after > before:
        return True, f"learned your handwriting: {mine}; {mnist}"
    return True, f"learned your handwriting, no worse than before: {mine}; {mnist}"
