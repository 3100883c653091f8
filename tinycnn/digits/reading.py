"""What a drawing is: the one place that decides "a 7", "not sure", "not a digit", "blank" or
"too small". The pad, `python -m pad --predict` and every other reader call `read_digit`;
none of them has thresholds of its own.
"""
from dataclasses import dataclass, field

import numpy as np

from .brush import mnist_strokes
from .calibration import split_probs
from .parts import label_pieces
from .preprocess import BLANK, INK, ink_box, preprocess_digit, stroke_width, to_gray01
from .views import check_views, make_views

UNSURE = 0.60      # defaults for a model without calibration (see tinycnn.calibration):
NOT_A_DIGIT_CUT = 0.5  # below this top probability no digit is named; from this P(not a digit) it is refused
TOO_SMALL = 0.06   # ink spanning less than this fraction of the image's longer side is a dot,
DOT = 1.5          # and so is ink no longer than this many pen widths
MAX_STROKES = 10_000   # strokes a drawing may have (the pad makes one per press of the pen)
MAX_POINTS = 100_000   # points read of a drawing's strokes; beyond it every k-th point is used
SPARSE = 0.03      # ink covering less of its box than this may be scattered specks (a drawn line covers far more)
SMALL_BOX = 64 * 64  # pixels: in a box this small the pieces are always looked at

VERDICTS = ("digit", "unsure", "not a digit", "blank", "too small")


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not readings
class Reading:
    """The reading of one drawing.

    digit: the digit claimed (int), or None when the reader does not claim one.
    probs: (10,) float32, the probability of each digit (zeros when nothing was read).
    verdict: one of VERDICTS.
    input: (28, 28) float32, what the model read (MNIST-style preprocessing of the image).
    box: (x, y, w, h) of the ink in the image it was read from (None when blank).
    stages: the preprocessing stages (see preprocess_digit), for showing them.
    """

    digit: object
    probs: np.ndarray
    verdict: str
    input: np.ndarray
    box: object = None
    stages: dict = field(default=None, repr=False, compare=False)

    def top(self, k=3):
        """The k most probable digits as [(digit, probability)], best first."""
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(int(d), float(self.probs[d])) for d in order]

    def __str__(self):
        if self.verdict == "digit":
            return f"{self.digit} ({self.probs[self.digit]:.0%})"
        if self.verdict == "unsure":
            (a, pa), (b, pb) = self.top(2)
            return f"not sure: {a} ({pa:.0%}) or {b} ({pb:.0%})?"
        return self.verdict


_shipped = None


def default_model():
    """The shipped model, loaded once per process."""
    global _shipped
    if _shipped is None:
        from .pretrained import pretrained

        _shipped = pretrained()
    return _shipped


def is_dot(a, box, pen=None):
    """True when the ink in `box` is a dot or a blob, not a digit: it spans less than TOO_SMALL of
    the image, or it is no longer than DOT pen widths. `pen`: the pen's width in pixels when
    known (the pad knows its brush), else it is estimated from the pixels: twice the stroke
    width estimate, which for a round dot is its diameter (2 * area / perimeter of a disc is
    its radius) and for a line overestimates, so a short line still counts as ink."""
    x, y, w, h = box
    longest = max(w, h)
    if longest < TOO_SMALL * max(a.shape):
        return True
    if pen is None:
        pen = 2 * stroke_width(a[y:y + h, x:x + w] / max(float(a.max()), 1e-6))
    return longest <= DOT * pen


def only_specks(a, box):
    """True when the ink in `box` (x, y, w, h) of `a` (H, W) is scattered specks, not strokes:
    it covers less than SPARSE of the box, and no connected piece of it spans TOO_SMALL of the
    image's longer side (dust on a scan, salt noise). Each speck is a dot; so are they all."""
    x, y, w, h = box
    ink = a[y:y + h, x:x + w] > INK * float(a.max())
    # A drawing's strokes: no need to look at its pieces (this runs every frame). In a small box
    # two specks can cover SPARSE of it (two pixels in a 13 x 4 box: 3.8%), and looking is cheap.
    if ink.mean() >= SPARSE and w * h > SMALL_BOX:
        return False
    labels, n = label_pieces(ink)
    ys, xs = np.nonzero(labels)
    piece = labels[ys, xs] - 1
    span = np.zeros(n, np.int64)
    for coords in (xs, ys):
        lo, hi = np.full(n, max(a.shape), np.int64), np.zeros(n, np.int64)
        np.minimum.at(lo, piece, coords)
        np.maximum.at(hi, piece, coords)
        span = np.maximum(span, hi - lo + 1)
    return int(span.max(initial=0)) < TOO_SMALL * max(a.shape)


def calibration(model):
    """The model's calibration (see tinycnn.calibration): temperature and thresholds from its
    meta, or the defaults (T = 1, UNSURE, NOT_A_DIGIT_CUT) for a model that was never calibrated."""
    c = (getattr(model, "meta", None) or {}).get("calibration", {})
    return {"temperature": float(c.get("temperature", 1.0)), "unsure": float(c.get("unsure", UNSURE)),
            "not_a_digit": float(c.get("not_a_digit", NOT_A_DIGIT_CUT))}


def digit_probs(model, x, forward=None):
    """Calibrated probabilities of the ten digits, and of "not a digit" when the model has that class.

    x: (N, 1, 28, 28) float32 -> (probs (N, 10), not_digit (N,)). The logits are divided by the
    model's temperature. A model with 11 outputs has "not a digit" as its last class; the digits'
    probabilities are then renormalised among themselves, so `probs` always sums to 1.
    forward: a function run instead of model.predict_logits (the caller puts the model in eval
    mode), which then keeps what the pass saved for a backward (see read_digit).
    """
    x = np.asarray(x, np.float32)
    logits = forward(x) if forward is not None else model.predict_logits(x)
    return split_probs(logits, calibration(model)["temperature"])


def predict_digits(model, x, batch_size=256):
    """The most probable digit of each image, never "not a digit" (for accuracy on digit sets).

    x: (N, 1, 28, 28) float32 -> (N,) int64: the argmax of the ten digit outputs.
    """
    return np.concatenate([digit_probs(model, x[i:i + batch_size])[0].argmax(axis=1)
                           for i in range(0, len(x), batch_size)] or [np.zeros(0, np.int64)])


def decide(probs, not_digit=0.0, unsure=UNSURE, cut=NOT_A_DIGIT_CUT):
    """(digit or None, verdict) for ten digit probabilities and the probability of "not a digit".

    unsure: the top probability below which no digit is named; cut: P(not a digit) from which
    the drawing is refused (the model's calibration supplies both in read_digit).
    """
    if not_digit >= cut:
        return None, "not a digit"
    top = int(np.argmax(probs))
    if probs[top] < unsure:
        return None, "unsure"
    return top, "digit"


def check_strokes(strokes):
    """The pen strokes of a drawing, checked: a list of float32 (n, 2) arrays of finite (x, y)
    points, n >= 1, or None when `strokes` is None. At most MAX_STROKES strokes; beyond
    MAX_POINTS points in all, every k-th point of each stroke (and its last) is kept, so the
    reading costs what MAX_POINTS do. Raises ValueError naming the fault (and the stroke)."""
    if strokes is None:
        return None
    if isinstance(strokes, np.ndarray) and strokes.ndim != 3 or not hasattr(strokes, "__len__"):
        raise ValueError(f"strokes must be a list of (n, 2) arrays of (x, y) points, got "
                         f"{type(strokes).__name__} {getattr(strokes, 'shape', '')}".rstrip())
    if len(strokes) == 0:
        raise ValueError("strokes is empty: pass strokes=None to read the pixels")
    if len(strokes) > MAX_STROKES:
        raise ValueError(f"strokes: {len(strokes)} strokes, at most {MAX_STROKES} are read")
    lengths = [len(s) if hasattr(s, "__len__") else 0 for s in strokes]
    every = -(-sum(lengths) // MAX_POINTS)  # sizes before any conversion: 10^7 points cost nothing here
    checked = []
    for i, (s, n) in enumerate(zip(strokes, lengths)):
        try:
            if every > 1 and n > 1:
                s = np.concatenate([np.asarray(s[:-1:every], np.float32), np.asarray(s[-1:], np.float32)])
            p = np.asarray(s, np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"stroke {i}: not an (n, 2) array of numbers ({e})") from None
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"stroke {i}: expected shape (n, 2) of (x, y) points, got {p.shape}")
        if len(p) == 0:
            raise ValueError(f"stroke {i} has no points")
        if not np.isfinite(p).all():
            raise ValueError(f"stroke {i}: {int((~np.isfinite(p)).sum())} NaN or infinite coordinates")
        checked.append(p)
    return checked


def drawing_input(image, strokes=None):
    """What the model reads of a drawing: (28, 28) float32, and the preprocessing stages.

    From the strokes re-rendered at MNIST's width when they are given (see mnist_strokes and
    check_strokes, which names bad strokes with a ValueError), else from the pixels (see
    preprocess_digit)."""
    a = to_gray01(image)
    strokes = check_strokes(strokes)
    x, stages = preprocess_digit(mnist_strokes(strokes) if strokes else a, return_stages=True)
    stages["input"] = a
    return x, stages


def read_digit(image, model=None, pen=None, strokes=None, forward=None, views=1):
    """Read one digit. image: (H, W) grayscale, white ink on black, uint8 0-255 or float 0-1, any size.

    model: a tinycnn model mapping (N, 1, 28, 28) to 10 digit logits (or 11, the last "not a
    digit"); default the shipped one. Its meta["calibration"] (temperature, thresholds) is applied.
    pen: the stroke width in image pixels, if known. strokes: the pen strokes that drew the
    image, if known (list of (n, 2) arrays of (x, y) image pixels): they are re-rendered at
    MNIST's stroke width instead of the pixels being thinned, so a small digit drawn with a thick
    brush does not become a blob. forward: a function x (1, 1, 28, 28) -> logits run instead of
    model.forward, to look inside the very pass that reads the drawing (the pad's I page passes
    one that records every layer, tc.introspect.record); it runs only when the model is asked.
    views: read the input this many times, each slightly scaled or turned (tinycnn.digits.views,
    1 to 9; the first is the input itself), and average the probabilities: fewer confident
    mistakes, at views times the model's cost.
    Returns a Reading; bad strokes (see check_strokes) raise ValueError naming the fault.
    """
    views = check_views(views)
    a = to_gray01(image)
    strokes = check_strokes(strokes)  # bad strokes are named even when the image is blank
    zeros = np.zeros(10, np.float32)
    if float(a.max(initial=0.0)) <= BLANK:
        x, stages = preprocess_digit(a, return_stages=True)
        return Reading(None, zeros, "blank", x, None, stages)
    x, stages = drawing_input(a, strokes)
    box = ink_box(a)
    if is_dot(a, box, pen) or only_specks(a, box):
        return Reading(None, zeros, "too small", x, box, stages)
    model = model if model is not None else default_model()
    probs, not_digit = digit_probs(model, make_views(x, views)[:, None] if views > 1 else x[None, None], forward)
    probs, not_digit = probs.mean(axis=0), float(not_digit.mean())
    c = calibration(model)
    digit, verdict = decide(probs, not_digit, c["unsure"], c["not_a_digit"])
    return Reading(digit, probs.astype(np.float32), verdict, x, box, stages)
