"""What a drawing of several digits says: "2026", or "20?6" when one digit is unsure.

`read_number` cuts the ink into digits and reads each one with `read_digit`, the same
MNIST-style reading as a single digit. Cutting is done the way handwriting needs, not by gaps
or equal columns:

1. The image is brought to a bounded working size (the ink at most WORK_HEIGHT px tall and the
   whole at most WORK_PIXELS), so a 20,000-pixel-wide photo costs what a small one does.
2. The ink is split into connected pieces (8-connected runs of pixels, joined row to row).
3. Pieces that are fragments of one digit (a 5's separate bar, half of a 4, the bar across a 7,
   a dot) join the digit whose columns they share. Only small pieces join: two pieces that are
   each as tall as a digit stay two digits even when their boxes overlap (a 7 leaning over its
   neighbour), because what decides is each piece's own height and column extent.
4. A piece too wide for one digit (two digits that touch) is cut at the column of least ink;
   among the few emptiest columns, the cut whose halves the reader is surest of wins.
5. Each digit is read from its own ink only (other pieces masked out) by `read_digit`.
"""
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from .preprocess import BLANK, INK, ink_box, to_gray01
from .reading import default_model, read_digit

WORK_HEIGHT = 128      # the ink is read at most this tall (digits then span ~60-128 px)...
WORK_PIXELS = 2 ** 21  # ...and the working image holds at most this many pixels
MAX_PIECES = 64        # the largest pieces kept; more than this is a scribble or noise
MAX_DIGITS = 24        # digits read at most
FRAGMENT = 0.7         # a piece shorter than this fraction of a digit's height may be part of one
HALF = 0.5            # a piece shorter than this fraction of a digit's height is never a digit alone
SPECK = 0.2            # a piece no longer than this fraction of a digit's height is a dot
SHARE = 0.5            # a fragment joins a digit when this fraction of the narrower one's columns is shared
WIDE = 1.6             # wider than this times its height: two digits touching, always cut
WIDEISH = 1.15         # wider than this: cut unless the reader is SURE of it whole
MAYBE_WIDE = 0.7       # wider than this: cut if the reader is surer of both halves than of the whole
CUT_SURE = 0.9         # ...and at least this sure of each
NEAR = 0.25            # a short piece this close (times a digit's height) to a digit may be part of it
SURE = 0.95           # ...unless the reader is this sure of it whole
CUTS = 3              # cuts tried per piece
SCRIBBLE = 4.0         # one piece wider than this times a digit's height is a line, not digits

NUMBER_VERDICTS = ("number", "unsure", "not a number", "blank", "too small")


@dataclass(frozen=True, eq=False)  # holds Readings with arrays
class NumberReading:
    """The reading of a drawing of a number.

    text: the digits left to right, "?" where a digit is unsure or not a digit ("" when none).
    digits: one Reading per digit, left to right, each with .box (x, y, w, h) in the image.
    value: the number as an int, or None when any digit is "?" (or there are none).
    verdict: one of NUMBER_VERDICTS: "number" (every digit read), "unsure" (some "?"),
    "not a number" (ink, but no digit in it), "blank", "too small" (only dots).
    """

    text: str
    digits: tuple
    value: object
    verdict: str

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


# -- working image ------------------------------------------------------------------------------
def _shrink(a, scale):
    """`a` ((H, W) uint8 or float32) resized by `scale` <= 1 with area averaging, as float32 in [0, 1]."""
    h, w = a.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if a.dtype == np.uint8:
        return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BOX), np.float32) / 255
    return np.asarray(Image.fromarray(to_gray01(a), mode="F").resize(size, Image.Resampling.BOX), np.float32)


def _working_image(image):
    """(image at working size, float32 (h, w) in [0, 1]; the scale from image to it, <= 1).

    A big uint8 image is shrunk before it is turned to float, so it is never copied at full size.
    """
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"read_number: expected a 2-D grayscale image (H, W), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"read_number: the image is empty (shape {a.shape})")
    scale = min(1.0, (WORK_PIXELS * 4 / a.size) ** 0.5)  # first stage: a bounded number of pixels
    work = _shrink(a, scale) if scale < 1 else to_gray01(a)
    peak = float(work.max(initial=0.0))
    if peak <= BLANK:
        return work, scale
    second = min(1.0, WORK_HEIGHT / ink_box(work)[3], (WORK_PIXELS / work.size) ** 0.5)
    if second < 1:
        work, scale = _shrink(work, second), scale * second
    return work, scale


# -- connected pieces ---------------------------------------------------------------------------
def _runs(mask):
    """Horizontal runs of True in a (H, W) bool mask: (row, start, end) int arrays, end exclusive, row-major."""
    h, w = mask.shape
    p = np.zeros((h, w + 2), np.int8)
    p[:, 1:-1] = mask
    d = np.diff(p, axis=1)
    rs, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    return rs, starts, ends


def label_pieces(mask):
    """8-connected pieces of a (H, W) bool mask -> (labels (H, W) int32, 0 = background, 1..n; n).

    Runs of ink on each row are joined to the runs they touch on the row above (sorted keys and
    searchsorted find them), then joined labels are settled by repeated min-propagation.
    """
    h, w = mask.shape
    rs, starts, ends = _runs(mask)
    n = len(rs)
    labels = np.zeros((h, w), np.int32)
    if n == 0:
        return labels, 0
    span = w + 2
    key_start, key_end = rs * span + starts, rs * span + ends - 1
    # For each run on row r, the runs on row r - 1 that overlap it, one column more either side.
    q_lo = (rs - 1) * span + starts - 1
    q_hi = (rs - 1) * span + ends  # (end - 1) + 1
    lo = np.searchsorted(key_end, q_lo, side="left")
    hi = np.searchsorted(key_start, q_hi, side="right")
    count = np.maximum(hi - lo, 0)
    u = np.repeat(np.arange(n), count)
    v = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    comp = np.arange(n)
    while len(u):
        m = np.minimum(comp[u], comp[v])
        before = comp.copy()
        np.minimum.at(comp, u, m)
        np.minimum.at(comp, v, m)
        while True:  # point every run at its root
            nxt = comp[comp]
            if np.array_equal(nxt, comp):
                break
            comp = nxt
        if np.array_equal(comp, before):
            break
    roots, comp = np.unique(comp, return_inverse=True)
    lengths = ends - starts
    flat = np.repeat(rs * w + starts, lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    labels.ravel()[flat] = np.repeat(comp + 1, lengths)
    return labels, len(roots)


def _boxes(labels, n):
    """(n, 4) int boxes x0, y0, x1, y1 (exclusive) and (n,) areas of labels 1..n."""
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs] - 1
    box = np.empty((n, 4), np.int64)
    box[:, 0] = np.full(n, labels.shape[1]); box[:, 1] = labels.shape[0]
    box[:, 2] = 0; box[:, 3] = 0
    np.minimum.at(box[:, 0], lab, xs)
    np.minimum.at(box[:, 1], lab, ys)
    np.maximum.at(box[:, 2], lab, xs + 1)
    np.maximum.at(box[:, 3], lab, ys + 1)
    return box, np.bincount(lab, minlength=n)


# -- grouping -----------------------------------------------------------------------------------
def _shared(a, b):
    """Columns two boxes share, as a fraction of the narrower box's width."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    return max(inter, 0) / max(min(a[2] - a[0], b[2] - b[0]), 1)


def _group(box):
    """Pieces (indices into box) grouped into digits: a list of lists, and the digit height.

    A digit's height is the median height of the tall pieces. A piece shorter than FRAGMENT of
    it joins the digit with which it shares the most columns (if at least SHARE of the narrower)
    and which lies near it vertically; a speck that joins nothing is dropped.
    """
    heights = box[:, 3] - box[:, 1]
    longest = np.maximum(heights, box[:, 2] - box[:, 0])
    tallest = heights.max()
    height = float(np.median(heights[heights >= 0.5 * tallest]))
    order = np.argsort(-heights, kind="stable")
    groups, gbox = [], []
    for i in order:
        b = box[i]
        best, best_share = None, 0.0
        if heights[i] < FRAGMENT * height:
            for g, gb in enumerate(gbox):
                near = b[1] < gb[3] + 0.3 * height and b[3] > gb[1] - 0.3 * height
                s = _shared(b, gb)
                if near and s >= SHARE and s > best_share:
                    best, best_share = g, s
        if best is not None:
            groups[best].append(i)
            gb = gbox[best]
            gbox[best] = np.array([min(gb[0], b[0]), min(gb[1], b[1]), max(gb[2], b[2]), max(gb[3], b[3])])
        elif longest[i] > SPECK * height:
            groups.append([i])
            gbox.append(b.copy())
    return groups, gbox, height


# -- reading ------------------------------------------------------------------------------------
def _ink_of(work, labels, members, box, cols=None):
    """The ink of the pieces `members` inside `box` (x0, y0, x1, y1), others masked out; columns
    outside `cols` (x0, x1) too. Faint edge pixels that belong to no piece are kept."""
    x0, y0, x1, y1 = box
    if cols is not None:
        x0, x1 = max(x0, cols[0]), min(x1, cols[1])
    lab = labels[y0:y1, x0:x1]
    keep = (lab == 0) | np.isin(lab, np.asarray(members) + 1)
    return np.pad(np.where(keep, work[y0:y1, x0:x1], 0.0), 2), (x0, y0)


def _read(ink, origin, model, pen, scale):
    """read_digit of one digit's ink, with its box given in the original image's pixels."""
    r = read_digit(ink, model, pen=pen)
    if r.box is None:
        return r
    x, y, w, h = r.box
    ox, oy = origin
    return replace(r, box=(int((ox + x - 2) / scale), int((oy + y - 2) / scale),
                           max(1, round(w / scale)), max(1, round(h / scale))))


def _confidence(r):
    return float(r.probs.max()) if r.verdict == "digit" else 0.0


def _split(work, labels, members, box, height, model, pen, scale, depth=0, whole=None):
    """Readings of one group, cut in two (recursively) when it is too wide for one digit.
    whole: the group's reading when already made."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    whole_ink, origin = _ink_of(work, labels, members, box)
    whole = whole or _read(whole_ink, origin, model, pen, scale)
    ref = max(h, 0.8 * height)
    sure = _confidence(whole) >= SURE
    must = w > WIDE * ref or (w > WIDEISH * ref and not sure)
    if depth >= 3 or w <= MAYBE_WIDE * ref or w < 6 or (not must and sure):
        return [whole]
    # Candidate cuts: the emptiest columns in the middle, at least a third of a digit from each side.
    profile = (whole_ink[2:-2, 2:-2] > INK * max(float(whole_ink.max()), 1e-6)).sum(axis=0).astype(float)
    margin = max(2, int(min(0.3 * ref, w / 3)))
    inner = np.arange(margin, w - margin)
    if len(inner) == 0:
        return [whole]
    # Prefer the middle slightly, so a flat profile is cut where digits usually meet; try the
    # emptiest columns that are apart from each other (neighbouring columns give the same halves).
    cost = profile[inner] + 0.05 * profile.max() * np.abs(inner - w / 2) / (w / 2)
    cuts = []
    for c in inner[np.argsort(cost, kind="stable")]:
        if all(abs(c - k) > 0.15 * ref for k in cuts):
            cuts.append(int(c))
        if len(cuts) == CUTS:
            break
    best, best_score = None, -1.0
    for c in cuts:
        halves = [_read(*_ink_of(work, labels, members, box, cols), model, pen, scale)
                  for cols in ((x0, x0 + c), (x0 + c, x1))]
        score = min(_confidence(r) for r in halves)
        if score > best_score:
            best, best_score = (x0 + c, halves), score
    if not must and best_score <= max(_confidence(whole), CUT_SURE):
        return [whole]
    c, halves = best
    parts = []
    for (lo, hi), half in zip(((x0, c), (c, x1)), halves):
        ys = np.flatnonzero(np.isin(labels[y0:y1, lo:hi], np.asarray(members) + 1).any(axis=1))
        if len(ys) and half.verdict != "blank":
            parts += _split(work, labels, members, (lo, y0 + ys[0], hi, y0 + ys[-1] + 1), height, model, pen,
                            scale, depth + 1, half)
    return parts


def _join_near(groups, gbox, height, read):
    """Join a short piece that shares no columns with a digit to the digit just beside it (a 4
    whose bar stops short of its stem, a broken stroke) when the reader is surer of them joined
    than of the less sure of the two apart, or always when it is shorter than HALF a digit. groups, gbox: sorted left to right; read(members, box)
    -> Reading. Returns the new (groups, gbox)."""
    groups, gbox = list(groups), list(gbox)
    i = 0
    while i < len(groups):
        b = gbox[i]
        best = None
        short = b[3] - b[1] < HALF * height  # too short to be a digit of this number on its own
        if b[3] - b[1] < FRAGMENT * height:
            for j in (i - 1, i + 1):
                if not 0 <= j < len(groups):
                    continue
                o = gbox[j]
                gap = max(o[0] - b[2], b[0] - o[2])
                if gap > NEAR * height:
                    continue
                joined_box = np.array([min(b[0], o[0]), min(b[1], o[1]), max(b[2], o[2]), max(b[3], o[3])])
                joined = _confidence(read(groups[i] + groups[j], joined_box))
                apart = min(_confidence(read(groups[i], b)), _confidence(read(groups[j], o)))
                if (joined > apart or short) and (best is None or joined > best[1]):
                    best = (j, joined, joined_box)
        if best is None:
            i += 1
            continue
        j, _, joined_box = best
        lo, hi = min(i, j), max(i, j)
        groups[lo:hi + 1] = [groups[i] + groups[j]]
        gbox[lo:hi + 1] = [joined_box]
        i = lo
    return groups, gbox


def read_number(image, model=None, pen=None):
    """Read a number written left to right. image: (H, W) grayscale, white ink on black, uint8
    0-255 or float 0-1, any size.

    model: as for read_digit (default the shipped one). pen: the stroke width in image pixels,
    if known. Returns a NumberReading whose digits carry their boxes in `image`'s pixels.
    Time and memory are bounded whatever the image's size (see WORK_HEIGHT, WORK_PIXELS,
    MAX_PIECES, MAX_DIGITS).
    """
    model = model if model is not None else default_model()
    work, scale = _working_image(image)
    peak = float(work.max(initial=0.0))
    if peak <= BLANK:
        return NumberReading("", (), None, "blank")
    labels, n = label_pieces(work > INK * peak)
    box, area = _boxes(labels, n)
    if np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]).max() <= SPECK * (box[:, 3].max() - box[:, 1].min()):
        return NumberReading("", (), None, "too small")  # only specks (dust, salt noise): not dozens of 1s
    if n > MAX_PIECES:  # noise or a scribble: keep the largest pieces
        keep = np.sort(np.argsort(-area, kind="stable")[:MAX_PIECES])
        remap = np.zeros(n + 1, np.int32)
        remap[keep + 1] = np.arange(1, len(keep) + 1)
        work = np.where((labels > 0) & (remap[labels] == 0), 0.0, work)  # dropped pieces are not faint edges
        labels, box, area, n = remap[labels], box[keep], area[keep], len(keep)
    groups, gbox, height = _group(box)
    if not groups:
        return NumberReading("", (), None, "too small")
    work_pen = None if pen is None else pen * scale
    seen = {}

    def read(members, b):
        key = tuple(sorted(members))
        if key not in seen:
            seen[key] = _read(*_ink_of(work, labels, members, tuple(int(v) for v in b)), model, work_pen, scale)
        return seen[key]

    order = sorted(range(len(groups)), key=lambda g: (gbox[g][0] + gbox[g][2]) / 2)
    groups, gbox = _join_near([groups[g] for g in order], [gbox[g] for g in order], height, read)
    readings = []
    for members, gb in zip(groups, gbox):
        if len(readings) >= MAX_DIGITS:
            break
        x0, y0, x1, y1 = (int(v) for v in gb)
        if x1 - x0 > SCRIBBLE * max(height, y1 - y0):
            # a line or scribble: one "not a digit", not dozens of cuts through it
            readings.append(replace(read(members, gb), digit=None, verdict="not a digit"))
            continue
        readings += _split(work, labels, members, (x0, y0, x1, y1), height, model, work_pen, scale,
                           whole=read(members, gb))
    readings = [r for r in readings[:MAX_DIGITS] if r.verdict not in ("blank", "too small")]
    if not readings:
        return NumberReading("", (), None, "too small")
    text = "".join(str(r.digit) if r.verdict == "digit" else "?" for r in readings)
    if "?" not in text:
        return NumberReading(text, tuple(readings), int(text), "number")
    verdict = "not a number" if set(text) == {"?"} else "unsure"
    return NumberReading(text, tuple(readings), None, verdict)


NUMBER_ASPECT = 1.5  # ink this many times as wide as tall is a number: one digit never is


def looks_like_a_number(image):
    """True when the ink of `image` ((H, W) grayscale, white on black) is much wider than tall,
    so a picture should be read with read_number rather than read_digit."""
    a = to_gray01(image)
    if float(a.max(initial=0.0)) <= BLANK:
        return False
    _, _, w, h = ink_box(a)
    return w > NUMBER_ASPECT * h
