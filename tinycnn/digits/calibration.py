"""Honest confidence: temperature scaling, the expected calibration error, and the reader's
thresholds chosen from measurements.

A network trained with cross-entropy is usually over-confident: of the digits it names at 99%
it gets fewer than 99% right. Temperature scaling divides every logit by one number T, fitted
to minimise the negative log-likelihood on held-out data (Guo et al. 2017): the ranking of the
classes, so the accuracy, does not change; only how sure the model says it is.

The held-out data (`calibration_set`) are MNIST validation digits plus generated digits and
non-digits from a seed stream training never draws from. It is split in two halves: T is
fitted on the FIT half; the thresholds are chosen on the TUNE half, with T applied, by these
rules (the costs are the project's choice, the thresholds follow from the measurements):

- "not a digit": the cut on P(not a digit) that minimises (share of non-digits let through as
  digits) + REFUSE_COST x (share of digits refused): refusing a digit is the worse mistake, and
  the tuning digits (MNIST's and generated ones) are easier to accept than real handwriting.
- "unsure": the lowest top-digit probability at which the reader names a digit, chosen to
  maximise (right names) - WRONG_COST x (wrong names): a confidently wrong answer costs
  WRONG_COST times what a "not sure" costs. That gain is flat near its top (a few drawings either
  way move it), so the lowest threshold whose gain is within FLAT of the top is taken: among
  choices the measurements cannot tell apart, the one that names the most digits.
"""
import numpy as np

from ..losses import softmax
from .strokes import make_digits, make_non_digits, rng_for

WRONG_COST = 3.0
REFUSE_COST = 4.0
FLAT = 0.0025  # of the tuning digits: gains closer than this to the best are taken as equal
BINS = 15


def logits_of(model, images, batch_size=500):
    """Raw outputs of `model` for uint8 (N, 28, 28) or float (N, 1, 28, 28) images -> (N, classes) float64."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    x = x.reshape(len(x), 1, 28, 28)
    return model.predict_logits(x, batch_size).astype(np.float64) if len(x) else np.zeros((0, 10))


def nll(logits, labels, temperature=1.0):
    """Mean negative log-likelihood of `labels` under softmax(logits / temperature). logits: (N, K)."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits, labels, lo=0.05, hi=20.0, iters=60):
    """The temperature T minimising nll(logits, labels, T): golden-section search on log T
    (the NLL is convex in 1/T, so it has one minimum). logits: (N, K); labels: (N,) -> float."""
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, labels, np.exp(c)), nll(logits, labels, np.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, labels, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, labels, np.exp(d))
    return float(np.exp((a + b) / 2))


def ece(confidence, correct, bins=BINS):
    """Expected calibration error: the gap between confidence and accuracy, averaged over
    equal-width confidence bins weighted by how many answers fall in each.

    confidence: (N,) top probabilities in [0, 1]; correct: (N,) bool -> float in [0, 1].
    """
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    if len(confidence) == 0:
        return 0.0
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total / len(confidence))


def split_probs(logits, temperature=1.0):
    """(digit probabilities (N, 10) summing to 1, P(not a digit) (N,)) from 10 or 11 logits."""
    if np.ndim(logits) != 2 or np.shape(logits)[1] not in (10, 11):
        raise ValueError(f"a digit reader needs 10 outputs (or 11, the last 'not a digit'), got logits of "
                         f"shape {np.shape(logits)}; see tc.check_digit_reader")
    p = softmax(np.asarray(logits / temperature, np.float32))
    if p.shape[1] == 10:
        return p, np.zeros(len(p), np.float32)
    digits = p[:, :10]
    return digits / digits.sum(axis=1, keepdims=True), p[:, 10]


def digit_ece(logits, labels, temperature=1.0):
    """ECE of the top digit probability on the digits among `labels` (non-digits left out)."""
    probs, _ = split_probs(logits, temperature)
    is_digit = labels < 10
    return ece(probs[is_digit].max(1), probs[is_digit].argmax(1) == labels[is_digit])


def choose_thresholds(logits, labels, temperature=1.0):
    """The reader's thresholds from measurements on a tuning set (rules in the module docstring).

    logits: (N, 10 or 11); labels: (N,) with NOT_A_DIGIT for non-digits -> dict(unsure, not_a_digit).
    """
    probs, other = split_probs(logits, temperature)
    is_digit = labels < 10
    cut = 0.5
    if other.any() and (~is_digit).any():
        grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
        cost = [np.mean(other[~is_digit] < c) + REFUSE_COST * np.mean(other[is_digit] >= c) for c in grid]
        best = min(cost)
        cut = float(min((c for c, v in zip(grid, cost) if v <= best + 1e-12), key=lambda c: abs(c - 0.5)))
    kept = is_digit & (other < cut)
    top, right = probs[kept].max(1), probs[kept].argmax(1) == labels[kept]
    grid = np.round(np.arange(0.3, 0.996, 0.01), 2)
    gain = np.array([np.sum(right & (top >= u)) - WRONG_COST * np.sum(~right & (top >= u)) for u in grid])
    unsure = float(grid[np.flatnonzero(gain >= gain.max() - FLAT * len(top))[0]])
    return {"unsure": unsure, "not_a_digit": cut}


def calibration_set(val_images, val_labels, seed, digits=3000, non_digits=1500, extra=None):
    """Held-out images for calibration: the given MNIST validation digits, generated digits and
    non-digits from the "calibrate" seed stream, and `extra` (images, labels), such as the real pen
    digits of the writers kept to tune on. Returns (images (N, 28, 28) uint8, labels (N,))."""
    rng = rng_for("calibrate", seed)
    gx, gy = make_digits(digits, rng)
    nx, ny, _ = make_non_digits(non_digits, rng)
    ex, ey = extra if extra is not None else (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    return (np.concatenate([np.asarray(val_images, np.uint8), gx, nx, ex]),
            np.concatenate([np.asarray(val_labels, np.int64), gy, ny, ey]))


def calibrate(model, images, labels):
    """Fit the temperature on one half of a held-out set and the thresholds on the other.

    images: (N, 28, 28) uint8; labels: (N,) (NOT_A_DIGIT for non-digits, only if the model has
    that class). Returns the dict to store as model.meta["calibration"]: temperature, unsure,
    not_a_digit, and the measurements behind them (ECE before and after on the tuning half).
    """
    logits = logits_of(model, images)
    if logits.shape[1] == 10:
        keep = labels < 10
        logits, labels = logits[keep], labels[keep]
    fit, tune = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    t = fit_temperature(logits[fit], labels[fit])
    out = {"temperature": round(t, 4)}
    out.update(choose_thresholds(logits[tune], labels[tune], t))
    out.update(ece_before=round(digit_ece(logits[tune], labels[tune]), 5),
               ece_after=round(digit_ece(logits[tune], labels[tune], t), 5),
               fit_images=int(len(fit)), tune_images=int(len(tune)), wrong_cost=WRONG_COST,
               refuse_cost=REFUSE_COST)
    return out
