"""What a drawing of several digits says: "2026", "20?6" when one digit is unsure, "3.14", "-42".

`read_number` reads by recognition, not by cutting first. The drawing is split into parts
(tinycnn.digits.parts): from pixels, its connected pieces of ink, a piece that may hold more
than one digit cut further by seams through the least ink; from strokes, the pen strokes, one
that spans more than a digit's width cut where it turns back. There are more parts than digits.
Every run of up to RUN neighbouring parts is a candidate digit; all candidates are read by the
model at once (MNIST-style preprocessing, as read_digit reads; from strokes, each candidate is
re-rendered from its own strokes), and a search (dynamic programming over the parts) picks the
split into digits that scores best:

    sum over digits of  log P(its top digit, and not "not a digit")
                      - a cost for a shape that digit seldom has (see _prior): wider or narrower
                        than usual, more or less pen stroke than usual (both measured on MNIST,
                        the pen's width taken out), shorter than the number's digits, parts far
                        apart, and the strokes of ink a cut through a piece crosses

So a touching "89" read as one confident 8 loses to an 8 and a 9: the pair is wider than an 8
and has twice its ink, and the two halves read as surely. A dot may join a digit or be left out.
From pixels a piece is only cut when it may hold two digits (see _parts): the reader is sure of
many pieces of one digit (the two arcs of a 0 read as two confident 1s).

Marks: a small round dot standing between digits, near their baseline, is a decimal point (a
dot after the last digit is a full stop, not part of the number); a short level dash before the
first digit, at its mid-height, is a minus. A dash before the first digit that is not at its
mid-height is read as "?", and two points make the number unsure: neither is dropped silently.
"""
from dataclasses import dataclass

import numpy as np

from .brush import mnist_strokes
from .parts import (
    CUTTABLE,
    SPECK,
    check_image,
    check_strokes,
    pixel_parts,
    pixel_pieces,
    stroke_parts,
    working_image,
)
from .preprocess import BLANK, ink_box, preprocess_digit, to_gray01
from .reading import Reading, calibration, decide, default_model, digit_probs, only_specks

MAX_DIGITS = 24        # digits read at most
RUN = 5                # parts in one candidate digit at most
WIDEST = 1.8           # a candidate wider than this times its height (or the digits') is not one digit
BATCH = 64             # candidates read by the model at a time
SUSPECT_WIDE = 1.0     # a piece wider than this times a digit's height may hold two digits,
SUSPECT_SURE = 0.9     # and so may one read less surely than this,
SUSPECT_Z = 0.75       # or wider by this many spreads than the digit it is read as (see ASPECT),
SUSPECT_WIDER = 1.35   # or this many times as wide as the number's other pieces (the median)
# How wide each digit is, log(width / height) of its ink box less the pen's width (so that a
# thick pen does not make digits wider): mean and spread, measured on 20,000 of MNIST's training
# digits (thresholded at 50/255). A candidate wider than usual for what it is read as costs
# WIDE_COST * (z - FREE)^2, where z counts spreads beyond the mean (see _aspect_z).
ASPECT = np.log([0.885, 0.296, 0.916, 0.767, 0.762, 0.929, 0.688, 0.744, 0.73, 0.637])
SPREAD = np.array([0.22, 0.681, 0.245, 0.248, 0.24, 0.292, 0.255, 0.248, 0.262, 0.246])
# How much pen stroke each digit has, log(ink length / height), ink length being the ink's
# area over the pen's width and height less the pen's width: mean and spread, measured on the
# same MNIST digits (thresholded at 128/255). A candidate with more ink than what it is read as
# usually has (two digits read as one) costs INK_COST * (z - INK_FREE)^2, and less (a piece of
# a digit) costs as much beyond INK_FREE spreads below.
INK_LENGTH = np.log([3.305, 1.389, 2.91, 2.709, 2.329, 2.735, 2.578, 2.193, 2.905, 2.396])
INK_SPREAD = np.array([0.171, 0.199, 0.195, 0.211, 0.194, 0.218, 0.211, 0.193, 0.198, 0.203])
INK_COST = 0.25
INK_FREE = 1.5
FREE = 1.0
WIDE_COST = 0.25
NARROW_FREE = 2.5      # narrower than usual costs only beyond this many spreads (a slim 0 is a 0)
SHORT = 0.65           # a digit shorter than this fraction of the number's digits...
SHORT_COST = 1.0       # ...costs this per tenth below it, squared
CUT_COST = 0.1         # per stroke of ink a cut crosses
GAP = 0.1              # parts further apart than this (times a digit's height) are hardly one digit:
GAP_COST = 1.0         # each tenth beyond costs this, squared
SKIP = 1.0             # leaving out a dot
FLOOR = 1e-4           # the least probability a candidate is scored with
POINT_ROUND = 2.5      # a point's box is at most this elongated
DASH = (0.25, 1.2, 0.35, 2.0)  # a minus: width 0.25-1.2 digit heights, height < 0.35 of one, width >= 2 x height

NUMBER_VERDICTS = ("number", "unsure", "not a number", "blank", "too small")


@dataclass(frozen=True, eq=False)  # holds Readings with arrays
class NumberReading:
    """The reading of a drawing of a number.

    text: the number as read, left to right: digits, "?" where a digit is unsure or not a digit,
    "-" before it for a minus, "." for a decimal point ("" when nothing was read).
    digits: one Reading per digit, left to right, each with .box (x, y, w, h) in the image.
    value: the number (an int, or a float when it has a point), or None when any digit is "?",
    the marks make no number (two points), or there are no digits.
    verdict: one of NUMBER_VERDICTS: "number" (every digit read), "unsure" (some "?", or two
    points), "not a number" (ink, but no digit in it), "blank", "too small" (only dots).
    marks: (character, (x, y, w, h)) of each "-" and "." in the text, in the image's pixels.
    """

    text: str
    digits: tuple
    value: object
    verdict: str
    marks: tuple = ()

    def __str__(self):
        return self.text if self.verdict in ("number", "unsure") else self.verdict

    def digit_at(self, x, y):
        """Index of the digit whose box holds image point (x, y), else of the nearest one in x (None if no digits)."""
        if not self.digits:
            return None
        for i, d in enumerate(self.digits):
            bx, by, bw, bh = d.box
            if bx <= x < bx + bw and by <= y < by + bh:
                return i
        return int(np.argmin([abs(d.box[0] + d.box[2] / 2 - x) for d in self.digits]))


SPECK_CHECK_PIXELS = 4_000_000  # pictures up to this size are also looked at whole for dust


def _only_specks(a, parts):
    """True when the ink is dots only, or specks scattered far apart (dust on a scan): judged on
    the parts, and on a picture small enough to look at whole, on its own pixels too (shrunk to the
    working size, dust can merge into a haze that passes for ink)."""
    b = parts.box
    longest = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]).max()
    if parts.speck.all() or longest <= SPECK * (b[:, 3].max() - b[:, 1].min()):
        return True
    read_from_pixels = parts.pixels is not None and float(a.max(initial=0.0)) > BLANK
    return read_from_pixels and a.size <= SPECK_CHECK_PIXELS and only_specks(a, ink_box(a))


def read_number(image, model=None, pen=None, strokes=None):
    """Read a number written left to right. image: (H, W) grayscale, white ink on black, uint8
    0-255 or float 0-1, any size.

    model: as for read_digit (default the shipped one). pen: the pen's width in image pixels, if
    known (it widens the boxes of digits read from strokes). strokes: the pen strokes that drew
    the image, if known (list of (n, 2) arrays of (x, y) image pixels, as read_digit takes
    them): then each digit is read from its own strokes, re-rendered at MNIST's stroke width,
    and a stroke belongs to one digit unless the search cuts it where it turns back.
    Returns a NumberReading whose digits carry their boxes in `image`'s pixels. Time and memory
    are bounded whatever the image's size or the number of strokes (see parts.WORK_HEIGHT,
    WORK_PIXELS, MAX_PIECES, MAX_PARTS, MAX_POINTS, and MAX_DIGITS).
    """
    a = check_image(image)
    strokes = check_strokes(strokes) if strokes is not None else []
    model = model if model is not None else default_model()
    parts = _parts(a, strokes, pen, model)
    if parts is None:
        return NumberReading("", (), None, "blank")
    if _only_specks(a, parts):
        return NumberReading("", (), None, "too small")
    point, minus = _mark_candidates(parts)
    active = [i for i in range(len(parts)) if i not in point and i != minus]
    groups = _search(parts, active, model)
    return _number(parts, groups, point, minus, model)


# -- parts, candidates and the search -----------------------------------------------------------
def _parts(a, strokes, pen, model):
    """The parts the search reads (None: blank). From pixels, in two passes: each connected
    piece is read whole, and only a piece that may hold more than one digit (wider than
    SUSPECT_WIDE digit heights, or not read surely, or wider than the digit it is read as
    usually is, or than the other pieces) is cut by seams, so that a digit standing apart is
    not cut into pieces the reader is sure of (a 0 into two 1s)."""
    if strokes:
        return stroke_parts(strokes, pen, a.shape)
    work, frame_to_image = working_image(a)
    if work is None:
        return None
    pieces = pixel_pieces(work, frame_to_image)
    whole = pixel_parts(pieces)
    solid = [k for k in range(len(whole)) if whole.box[k, 2] - whole.box[k, 0] > CUTTABLE * whole.height
             and whole.box[k, 3] - whole.box[k, 1] > SHORT * whole.height]  # a dash is no two digits
    if not solid:
        return whole
    probs, other = _read_all(model, np.stack([_ink(whole, [k])[0] for k in solid]))
    sure = probs.max(axis=1) * (1 - other)
    width = {k: whole.box[k, 2] - whole.box[k, 0] - whole.pen[k] for k in solid}
    suspects = set()
    for k, p, s in zip(solid, probs.argmax(axis=1), sure):
        others = [width[j] for j in solid if j != k]
        wider = width[k] / np.median(others) if others else 0.0
        if (whole.box[k, 2] - whole.box[k, 0] > SUSPECT_WIDE * whole.height or s < SUSPECT_SURE
                or _aspect_z(whole, [k], p) > SUSPECT_Z or wider > SUSPECT_WIDER):
            suspects.add(int(whole.piece[k]))
    return pixel_parts(pieces, suspects) if suspects else whole


def _union(parts, members):
    b = parts.box[list(members)]
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def _aspect_z(parts, members, digit):
    """How many spreads wider than usual a candidate is for `digit` (negative: narrower)."""
    x0, y0, x1, y1 = _union(parts, members)
    pen = float(parts.pen[list(members)].max())
    tall = max(y1 - y0 - pen, 1)
    return (np.log(max(x1 - x0 - pen, 0.1 * tall) / tall) - ASPECT[digit]) / SPREAD[digit]  # a straight 1 is 0.1 wide


def _ink_z(parts, members, digit):
    """How many spreads more pen stroke a candidate has than `digit` usually has (negative: less)."""
    members = list(members)
    _, y0, _, y1 = _union(parts, members)
    length = parts.ink[members].sum() / max(y1 - y0 - float(parts.pen[members].max()), 1)
    return (np.log(max(length, 1e-3)) - INK_LENGTH[digit]) / INK_SPREAD[digit]


def _gap(parts, members):
    """The widest gap between the columns of a candidate's parts (0 when they overlap)."""
    spans = sorted(tuple(parts.box[k, [0, 2]]) for k in members)
    reach, gap = spans[0][1], 0.0
    for x0, x1 in spans[1:]:
        gap, reach = max(gap, x0 - reach), max(reach, x1)
    return gap


def _candidates(parts, active):
    """Runs of up to RUN neighbouring parts that may be one digit: [(i, j)] for parts active[i:j]."""
    out = []
    for i in range(len(active)):
        for j in range(i + 1, min(i + RUN, len(active)) + 1):
            members = active[i:j]
            if parts.speck[members].all():
                continue
            b = _union(parts, members)
            if j > i + 1 and b[2] - b[0] > WIDEST * max(b[3] - b[1], parts.height):
                break
            out.append((i, j))
    return out


def _ink(parts, members):
    """What the model reads of a candidate: (28, 28) float32, and the ink it was made from."""
    if parts.strokes is not None:
        drawn = mnist_strokes([parts.strokes[k] for k in members])
        return preprocess_digit(drawn), drawn
    work, part_of = parts.pixels
    x0, y0, x1, y1 = (int(v) for v in _union(parts, members))
    x0, y0, x1, y1 = max(x0 - 1, 0), max(y0 - 1, 0), x1 + 1, y1 + 1  # faint edge pixels of its own
    lab = part_of[y0:y1, x0:x1]
    mine = np.isin(lab, np.asarray(members) + 1)
    near = np.zeros_like(mine)  # pixels of no part next to its ink: the anti-aliased edge
    near[1:-1, 1:-1] = mine[:-2, 1:-1] | mine[2:, 1:-1] | mine[1:-1, :-2] | mine[1:-1, 2:]
    ink = np.where(mine | (near & (lab == 0)), work[y0:y1, x0:x1], 0.0).astype(np.float32)
    return preprocess_digit(ink), ink


def _read_all(model, inputs):
    """Calibrated (probs (N, 10), P(not a digit) (N,)) of (N, 28, 28) inputs, BATCH at a time."""
    probs, other = zip(*(digit_probs(model, inputs[i:i + BATCH, None]) for i in range(0, len(inputs), BATCH)))
    return np.concatenate(probs), np.concatenate(other)


def _prior(parts, members, digit):
    """What the shape of a candidate read as `digit` costs the search (>= 0): wider or narrower
    than that digit usually is, more or less pen stroke than it has, shorter than the number's
    digits, parts far apart, and the strokes of ink its cuts cross."""
    _, y0, _, y1 = _union(parts, members)
    wide, ink = _aspect_z(parts, members, digit), abs(_ink_z(parts, members, digit))
    cost = WIDE_COST * (max(wide - FREE, 0) ** 2 + max(-wide - NARROW_FREE, 0) ** 2)
    cost += INK_COST * max(ink - INK_FREE, 0) ** 2
    cost += SHORT_COST * max((SHORT - (y1 - y0) / parts.height) / 0.1, 0) ** 2
    cost += GAP_COST * max((_gap(parts, members) / parts.height - GAP) / 0.1, 0) ** 2
    inside = set(members)
    crossed = sum(parts.cut[k] for k in members if parts.left[k] >= 0 and parts.left[k] not in inside)
    crossed += sum(parts.cut[k] for k in np.flatnonzero(np.isin(parts.left, members)) if k not in inside)
    return cost + CUT_COST * crossed / 2  # each cut is shared by the digits on its two sides


def _search(parts, active, model):
    """The best split of the `active` parts into digits: [(members, input, probs, P(not a digit))]."""
    cands = _candidates(parts, active)
    if not cands:
        return []
    inputs = np.stack([_ink(parts, active[i:j])[0] for i, j in cands])
    probs, other = _read_all(model, inputs)
    score = np.log(np.maximum(probs.max(axis=1) * (1 - other), FLOOR))
    score -= [_prior(parts, active[i:j], d) for (i, j), d in zip(cands, probs.argmax(axis=1))]
    ending = {}
    for n, (i, j) in enumerate(cands):
        ending.setdefault(j, []).append(n)
    best = np.full(len(active) + 1, -np.inf)
    best[0], back = 0.0, [None] * (len(active) + 1)
    for j in range(1, len(active) + 1):
        if parts.speck[active[j - 1]] and best[j - 1] - SKIP > best[j]:
            best[j], back[j] = best[j - 1] - SKIP, None  # the dot is left out
        for n in ending.get(j, ()):
            i = cands[n][0]
            if best[i] + score[n] > best[j]:
                best[j], back[j] = best[i] + score[n], n
    groups, j = [], len(active)
    while j > 0:
        n = back[j]
        if n is None:
            j -= 1
            continue
        i = cands[n][0]
        groups.append((active[i:j], inputs[n], probs[n], float(other[n])))
        j = i
    return groups[::-1]


# -- readings and marks -------------------------------------------------------------------------
def _reading(parts, members, x, probs, other, model):
    """The Reading of one digit the search chose, as read_digit would give it."""
    c = calibration(model)
    digit, verdict = decide(probs, other, c["unsure"], c["not_a_digit"])
    _, ink = _ink(parts, members)
    _, stages = preprocess_digit(ink, return_stages=True)
    stages["input"] = to_gray01(ink)
    return Reading(digit, probs.astype(np.float32), verdict, x, parts.image_box(_union(parts, members)), stages)


def _unreadable(parts, members, like):
    """One "not a digit" Reading over `members` (ink with no digit in it), its input and stages those of `like`."""
    return Reading(None, np.zeros(10, np.float32), "not a digit", like.input,
                   parts.image_box(_union(parts, members)), like.stages)


def _merge_unreadable(parts, chosen):
    """[(members, Reading)] (left to right) with the readings of each piece whose ink lies mostly
    in readings that are no digit made one "not a digit" (a scribble or a line cut into pieces is
    one thing that is not a digit, not "1?1?1?"). Only readings made of that piece alone count."""
    alone = {}
    for i, (members, _) in enumerate(chosen):
        pieces = {int(parts.piece[k]) for k in members}
        if len(pieces) == 1:
            alone.setdefault(pieces.pop(), []).append(i)
    drop, out = set(), list(chosen)
    for which in alone.values():
        ink = [parts.ink[chosen[i][0]].sum() for i in which]
        unread = sum(v for i, v in zip(which, ink) if chosen[i][1].verdict != "digit")
        if len(which) > 1 and unread > 0.5 * sum(ink):
            merged = [k for i in which for k in chosen[i][0]]
            out[which[0]] = (merged, _unreadable(parts, merged, chosen[which[0]][1]))
            drop.update(which[1:])
    return [c for i, c in enumerate(out) if i not in drop]


def _mark_candidates(parts):
    """Parts kept out of the search as marks: (point candidates: set of parts, minus candidate or None).

    A point: a roundish dot, a piece of its own, whose columns no other part shares (but for half
    its width), in the lower part of the line there. A minus: a short level dash, a piece of its
    own, left of every other part that is not a dot."""
    box, h = parts.box, parts.height
    w, t = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    solid = [k for k in range(len(parts)) if not parts.speck[k]]
    cut = set(parts.left[parts.left >= 0]) | set(np.flatnonzero(parts.left >= 0))  # parts with a cut beside them
    point = set()
    for k in np.flatnonzero(parts.speck):
        others = [o for o in solid if min(box[o, 2], box[k, 2]) - max(box[o, 0], box[k, 0]) > 0.5 * w[k]]
        if others or k in cut or max(w[k], t[k]) > POINT_ROUND * min(w[k], t[k]):
            continue
        tall = [o for o in solid if t[o] >= 0.5 * h]
        near = min(tall, key=lambda o: abs(box[o, 0] + box[o, 2] - box[k, 0] - box[k, 2]), default=None)
        if near is not None and (box[k, 1] + box[k, 3]) / 2 >= box[near, 1] + 0.55 * t[near]:
            point.add(int(k))
    minus = None
    if len(solid) > 1:
        k = min(solid, key=lambda o: box[o, 0])
        lo, hi, flat, long = DASH
        dash = lo * h <= w[k] <= hi * h and t[k] <= flat * h and w[k] >= long * t[k]
        if dash and k not in cut and box[k, 2] <= min(box[o, 0] for o in solid if o != k) + 0.05 * h:
            minus = int(k)
    return point, minus


def _place_points(parts, point, digits):
    """[(index of the digit the point stands before, its box)] for the point candidates that stand
    near the baseline, between two digits or before the first; others (a full stop) are dropped."""
    out = []
    centres = [(b[0] + b[2]) / 2 for b, _ in digits]
    for k in sorted(point, key=lambda k: parts.box[k, 0]):
        b = parts.box[k]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        at = int(np.searchsorted(centres, cx))
        if at == len(digits):
            continue  # after the last digit: a full stop
        right = digits[at][0]
        leftb = digits[at - 1][0] if at > 0 else right
        if at == 0 and not right[0] - parts.height <= b[2] <= right[0] + 0.1 * parts.height:
            continue
        f = 0.5 if at == 0 else np.clip((cx - centres[at - 1]) / max(centres[at] - centres[at - 1], 1e-6), 0, 1)
        base = (1 - f) * leftb[3] + f * right[3]
        tall = (1 - f) * (leftb[3] - leftb[1]) + f * (right[3] - right[1])
        if base - 0.3 * tall <= cy <= base + 0.2 * tall:
            out.append((at, b))
    return out


def _is_minus(parts, k, first):
    """True when part k, a dash before the first digit (box `first`), stands at that digit's mid-height."""
    b = parts.box[k]
    cy, tall = (b[1] + b[3]) / 2, first[3] - first[1]
    return first[1] + 0.25 * tall <= cy <= first[1] + 0.8 * tall and first[0] - 1.5 * parts.height <= b[2]


def _number(parts, groups, point, minus, model):
    """The NumberReading of the chosen digits and the mark candidates."""
    chosen = [(list(m), _reading(parts, m, x, p, o, model)) for m, x, p, o in groups]
    chosen.sort(key=lambda c: float(np.mean(_union(parts, c[0])[[0, 2]])))  # strokes come in writing order
    chosen = _merge_unreadable(parts, chosen)[:MAX_DIGITS]
    marks, sign = [], ""
    if minus is not None and chosen and _is_minus(parts, minus, _union(parts, chosen[0][0])):
        sign = "-"
        marks.append(("-", parts.image_box(parts.box[minus])))
    elif minus is not None and chosen:  # a dash that is no minus: not a digit either
        chosen.insert(0, ([minus], _unreadable(parts, [minus], chosen[0][1])))
    if not chosen:
        return NumberReading("", (), None, "too small" if minus is None else "not a number")
    points = _place_points(parts, point, [(_union(parts, m), r) for m, r in chosen])
    chars = [str(r.digit) if r.verdict == "digit" else "?" for _, r in chosen]
    for at, b in sorted(points, key=lambda p: -p[0]):
        chars.insert(at, ".")
        marks.append((".", parts.image_box(b)))
    text = sign + "".join(chars)
    readings = tuple(r for _, r in chosen)
    marks = tuple(sorted(marks, key=lambda m: m[1][0]))
    if "?" not in text and len(points) <= 1:
        return NumberReading(text, readings, float(text) if points else int(text), "number", marks)
    verdict = "not a number" if all(c == "?" for c in chars if c != ".") else "unsure"
    return NumberReading(text, readings, None, verdict, marks)


NUMBER_ASPECT = 1.5  # ink this many times as wide as tall is a number: one digit never is


def looks_like_a_number(image):
    """True when the ink of `image` ((H, W) grayscale, white on black) is much wider than tall,
    so a picture should be read with read_number rather than read_digit."""
    a = to_gray01(image)
    if float(a.max(initial=0.0)) <= BLANK:
        return False
    _, _, w, h = ink_box(a)
    return w > NUMBER_ASPECT * h
