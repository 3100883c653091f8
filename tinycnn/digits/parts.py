"""The parts a drawing of a number is read from: its ink cut into pieces, more than there are
digits, that the search in numbers.py groups into digits.

From pixels: the image is brought to a bounded working size (the ink at most WORK_HEIGHT px tall,
the whole at most WORK_PIXELS, shrunk a tile at a time so that a huge image is never copied
whole), the ink is split into connected pieces, and a piece that may hold two digits is cut
further by seams: top-to-bottom paths through the least ink, which pass through the neck where
two digits touch and around the ink where they overlap.
From strokes: each pen stroke is a part; a stroke wider than a digit is cut where it turns back.

Parts keep what the search needs: their boxes, their order, the digit height, which parts are
specks (a dot: never a digit on its own), the pen's width, how much pen stroke each holds, and
what it costs to cut between two parts of one piece.
"""
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .preprocess import BLANK, INK, stroke_width

WORK_HEIGHT = 128      # the ink is read at most this tall (digits then span ~60-128 px)...
WORK_PIXELS = 2 ** 21  # ...and the working image holds at most this many pixels
TILE = 2 ** 20         # pixels of the input converted to float at a time
MAX_PIECES = 64        # the largest pieces kept; more than this is a scribble or noise
MAX_PARTS = 96         # parts searched at most (4 per digit of a 24-digit number)
SPECK = 0.2            # a part no longer than this fraction of a digit's height is a dot
CUTTABLE = 0.4         # a piece wider than this times a digit's height may hold two digits
SEAM_SPACING = 0.25    # a piece gets a seam per this much width at most (times a digit's height)
SEAM_APART = 0.2       # seams lie on average at least this far apart (times a digit's height)
SEAM_SIDE = 0.02       # a seam leaves at least this much ink (times height squared) on each side
SIDEWAYS = 0.1         # a seam's cost per pixel sideways (crossing an ink pixel costs 1)
SEAM_BAND = 0.12       # a seam keeps within this many digit heights of its column
SEAM_STEP = 0.04       # seams are tried from columns this far apart (times a digit's height)
STROKE_POINTS = 64     # stroke points kept per digit height: finer than the 28x28 reading needs
MAX_POINTS = 512       # points kept per stroke part (a scribble's pen goes back and forth)
TURN = 0.15            # a stroke turns back when it returns this far (times a digit's height)
STROKE_CUT = 1.0       # cutting a stroke costs as much as crossing this many strokes of ink
PEN_GUESS = 0.1        # the pen's width, when not given, as a fraction of a digit's height


@dataclass
class Parts:
    """The parts of one drawing in the order a search runs through them: from pixels, left to
    right by their centre; from strokes, in the order they were written (a digit's strokes come
    one after another, so a 1 written inside the box of a 4 is not taken into it).

    box: (n, 4) float x0, y0, x1, y1 (x1, y1 exclusive) in the frame (working-image pixels, or
    image pixels for strokes). piece: (n,) the connected piece or stroke each part comes from.
    speck: (n,) bool, a dot (never a digit alone). left: (n,) the index of the part of the same
    piece just left of it, across a cut (-1: none); cut: (n,) what that cut costs, in strokes
    of ink crossed. pen: (n,) the width of the pen strokes of each part's piece; ink: (n,) the
    length of pen stroke in each part (its area over the pen's width). height: a digit's height
    in the frame. frame_to_image: (ox, oy, sx, sy): frame point (x, y) is image point
    (ox + x / sx, oy + y / sy).
    pixels: for pixel parts, (work (h, w) float32, labels (h, w) int32: part index + 1, 0 none).
    strokes: for stroke parts, a list of (m, 2) float32 points per part.
    """

    box: np.ndarray
    piece: np.ndarray
    speck: np.ndarray
    left: np.ndarray
    cut: np.ndarray
    pen: np.ndarray
    ink: np.ndarray
    height: float
    frame_to_image: tuple
    pixels: tuple = None
    strokes: list = None

    def __len__(self):
        return len(self.box)

    def image_box(self, box):
        """(x, y, w, h) in the image's pixels of a frame box (x0, y0, x1, y1)."""
        ox, oy, sx, sy = self.frame_to_image
        x0, y0 = int(ox + box[0] / sx), int(oy + box[1] / sy)
        return (x0, y0, max(1, round(ox + box[2] / sx) - x0), max(1, round(oy + box[3] / sy) - y0))


# -- working image ------------------------------------------------------------------------------
def _gray(a):
    """A tile of the input as float32 in [0, 1], as preprocess.to_gray01 reads the whole."""
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255
    return np.clip(a.astype(np.float32), 0, 1)


def _block_mean(a, k):
    """`a` (H, W) averaged over k x k blocks (the last ones partial) -> float32 (ceil(H/k), ceil(W/k)),
    converting at most about TILE input pixels to float at a time."""
    h, w = a.shape
    out = np.zeros((-(-h // k), -(-w // k)), np.float32)
    cols = w if w * k <= TILE else max(k, TILE // k // k * k)  # tiles of about TILE pixels,
    rows = max(k, TILE // cols // k * k)                      # whole blocks (but at the edges)
    for y in range(0, h, rows):
        for x in range(0, w, cols):
            t = _gray(a[y:y + rows, x:x + cols])
            s = np.add.reduceat(np.add.reduceat(t, np.arange(0, t.shape[0], k), axis=0),
                                np.arange(0, t.shape[1], k), axis=1)
            ny, nx = -(-t.shape[0] // k), -(-t.shape[1] // k)
            count = np.outer(np.minimum(k, t.shape[0] - k * np.arange(ny)),  # pixels per block
                             np.minimum(k, t.shape[1] - k * np.arange(nx)))
            out[y // k:y // k + ny, x // k:x // k + nx] = s / count
    return out


def _ink_extent(a):
    """(peak in [0, 1], ink rows (y0, y1), ink columns (x0, x1)) of the input, from its row and
    column maxima (no copy of the input); peak <= BLANK means no ink."""
    def norm(v):
        v = np.asarray(v)
        if v.dtype == np.uint8:
            return v.astype(np.float32) / 255
        v = v.astype(np.float32)
        if not np.isfinite(v).all():
            raise ValueError("read_number: the image contains NaN or infinite values")
        return np.clip(v, 0, 1)

    rows, cols = norm(a.max(axis=1)), norm(a.max(axis=0))
    peak = float(rows.max())
    if peak <= BLANK:
        return peak, (0, 0), (0, 0)
    ys, xs = np.flatnonzero(rows > INK * peak), np.flatnonzero(cols > INK * peak)
    return peak, (int(ys[0]), int(ys[-1]) + 1), (int(xs[0]), int(xs[-1]) + 1)


def check_image(image):
    """`image` as an array, or a clear error when it is not a non-empty 2-D grayscale image."""
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"read_number: expected a 2-D grayscale image (H, W), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"read_number: the image is empty (shape {a.shape})")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"read_number: expected a numeric image, got dtype {a.dtype}")
    return a


def working_image(image):
    """The ink of `image` at a bounded working size: (work float32 (h, w) in [0, 1] or None when
    blank, frame_to_image (ox, oy, sx, sy)).

    image: (H, W) grayscale, uint8 0-255 or float 0-1. The ink's box (with a margin) is cut out
    and shrunk so that the ink is at most WORK_HEIGHT px tall and the whole at most WORK_PIXELS:
    by whole k x k blocks a tile at a time, then by area averaging, so memory stays a few times
    the working image whatever the input's size.
    """
    a = check_image(image)
    peak, (y0, y1), (x0, x1) = _ink_extent(a)
    if peak <= BLANK:
        return None, (0, 0, 1.0, 1.0)
    scale = min(1.0, WORK_HEIGHT / (y1 - y0))
    margin = int(np.ceil(3 / scale))
    y0, y1 = max(y0 - margin, 0), min(y1 + margin, a.shape[0])
    x0, x1 = max(x0 - margin, 0), min(x1 + margin, a.shape[1])
    crop = a[y0:y1, x0:x1]
    scale = min(scale, (WORK_PIXELS / crop.size) ** 0.5)
    h, w = crop.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale >= 1:
        work = _gray(crop)
    else:
        k = max(1, int(1 / scale))
        small = _block_mean(crop, k) if k > 1 else _gray(crop)
        work = np.asarray(Image.fromarray(small, mode="F").resize(size, Image.Resampling.BOX), np.float32)
    return work, (x0, y0, work.shape[1] / w, work.shape[0] / h)


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


def _seams(m, height, most):
    """Up to `most` seams through one piece's ink m ((h, w) bool): top-to-bottom paths (one
    pixel per row, moving at most one column a row, within SEAM_BAND digit heights of a column)
    that cross the least ink, each leaving SEAM_SIDE height^2 of ink on each side and lying on
    average SEAM_APART digit heights from any other. The band keeps a seam where it starts:
    unbounded, the cheapest path to almost any column would go round the ink and cut off a tail.

    Returns seams (k, h) int: per row, the first column right of the cut, left to right."""
    h, w = m.shape
    band = max(2, int(SEAM_BAND * height))
    centres = np.arange(0, w, max(1, int(SEAM_STEP * height)))
    cols = centres[:, None] + np.arange(-band, band + 1)[None, :]  # (seams tried, offsets)
    inside = (cols >= 0) & (cols < w)
    ink = np.where(inside[None], m[:, np.clip(cols, 0, w - 1)], False).astype(np.float32)  # (h, K, 2B + 1)
    acc, step = ink[0].copy(), np.zeros(ink.shape, np.int8)
    far = np.full((len(centres), 1), np.float32(1e9))
    for y in range(1, h):
        moves = np.stack([np.concatenate([far, acc[:, :-1]], axis=1) + SIDEWAYS, acc,
                          np.concatenate([acc[:, 1:], far], axis=1) + SIDEWAYS])
        choice = moves.argmin(axis=0)
        acc = np.take_along_axis(moves, choice[None], axis=0)[0] + ink[y]
        step[y] = choice - 1  # where the path came from: -1 left, 0 above, +1 right
    left_of = np.concatenate([np.zeros((h, 1), np.int64), np.cumsum(m, axis=1)], axis=1)
    total, side, rows = int(left_of[:, -1].sum()), SEAM_SIDE * height * height, np.arange(h)
    end = acc.argmin(axis=1)
    cost = acc[np.arange(len(centres)), end]
    seams = []
    for k in np.argsort(cost, kind="stable"):
        if len(seams) == most:
            break
        o = np.empty(h, np.int64)
        o[-1] = end[k]
        for y in range(h - 1, 0, -1):
            o[y - 1] = o[y] + step[y, k, o[y]]
        s = np.clip(cols[k, o], 0, w)
        before = int(left_of[rows, s].sum())
        if before < side or total - before - int(m[rows, np.minimum(s, w - 1)].sum()) < side:
            continue  # a tail cut off, or no cut at all
        if any(np.abs(s - other).mean() < SEAM_APART * height for other in seams):
            continue  # about the same cut as one already kept
        seams.append(s)
    order = np.argsort([s.mean() for s in seams], kind="stable")
    return np.maximum.accumulate(np.array([seams[i] for i in order]).reshape(-1, h), axis=0)  # never crossing


def _strokes_crossed(m, seam, pen):
    """How many strokes of ink a seam crosses: the runs of ink along it, plus half a stroke per
    pen width of ink beyond one pen width per run (a cut along a stroke, or through a blob where
    strokes overlap, costs more than a clean cross)."""
    h, w = m.shape
    on = np.concatenate([[False], m[np.arange(h), np.minimum(seam, w - 1)] & (seam < w), [False]])
    runs = int((np.diff(on.astype(np.int8)) == 1).sum())
    return runs + 0.5 * max(0.0, on.sum() / pen - runs)


def _digit_height(heights):
    """A digit's height: the median height of the tall pieces (at least half the tallest)."""
    heights = np.asarray(heights, float)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def _order(box, piece, left, cut, centre):
    """The parts sorted by centre (stable), `left` renumbered to match."""
    order = np.argsort(centre, kind="stable")
    new = np.empty(len(order), np.int64)
    new[order] = np.arange(len(order))
    left = np.asarray(left, np.int64)[order]
    return order, np.asarray(box, float)[order], np.asarray(piece)[order], np.where(left >= 0, new[left], -1), \
        np.asarray(cut, float)[order], new


@dataclass
class Pieces:
    """The connected pieces of a working image's ink. work: (h, w) float32; labels: (h, w) int32,
    piece index + 1 (0: none); box: (n, 4) int x0, y0, x1, y1 (exclusive); height: a digit's
    height; frame_to_image: as working_image returns it."""

    work: np.ndarray
    labels: np.ndarray
    box: np.ndarray
    height: float
    frame_to_image: tuple


def pixel_pieces(work, frame_to_image):
    """The connected pieces of a working image's ink (work: (h, w) float32 in [0, 1] with ink) -> Pieces,
    at most MAX_PIECES of them: more is noise or a scribble, and the largest are kept."""
    labels, n = label_pieces(work > INK * float(work.max()))
    box, area = _boxes(labels, n)
    if n > MAX_PIECES:
        keep = np.sort(np.argsort(-area, kind="stable")[:MAX_PIECES])
        remap = np.zeros(n + 1, np.int32)
        remap[keep + 1] = np.arange(1, len(keep) + 1)
        work = np.where((labels > 0) & (remap[labels] == 0), 0.0, work)  # dropped pieces are not faint edges
        labels, box = remap[labels], box[keep]
    return Pieces(work, labels, box, _digit_height(box[:, 3] - box[:, 1]), frame_to_image)


def pixel_parts(pieces, cut=()):
    """The parts of the pieces (see the module docstring) -> Parts: each piece whole, but those
    in `cut` (piece indices) wider than CUTTABLE digit heights cut by seams, the widest first,
    MAX_PARTS parts in all at most."""
    labels, box, height = pieces.labels, pieces.box, pieces.height
    budget = MAX_PARTS - len(box)
    part_of = np.zeros_like(labels)
    boxes, piece, left, crossed, pens, ink = [], [], [], [], [], []
    for p in np.argsort(box[:, 0] - box[:, 2], kind="stable"):
        x0, y0, x1, y1 = box[p]
        m = labels[y0:y1, x0:x1] == p + 1
        most = min(budget, int((x1 - x0) / (SEAM_SPACING * height))) if p in cut and x1 - x0 > CUTTABLE * height else 0
        seams = _seams(m, height, most) if most > 0 else np.zeros((0, y1 - y0), np.int64)
        budget -= len(seams)
        which = np.empty(m.shape, np.int64)  # the slice of each pixel, row by row (k seams x w columns per row)
        for y in range(y1 - y0):
            which[y] = np.searchsorted(seams[:, y], np.arange(x1 - x0), side="right")
        pen = max(stroke_width(m), 1.0)
        prev = -1
        for k in range(len(seams) + 1):
            ys, xs = np.nonzero(m & (which == k))
            if len(ys) == 0:
                continue
            part_of[y0 + ys, x0 + xs] = len(boxes) + 1
            boxes.append((x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
            piece.append(p)
            left.append(prev)
            crossed.append(_strokes_crossed(m, seams[k - 1], pen) if prev >= 0 else 0.0)
            pens.append(pen)
            ink.append(len(ys) / pen)
            prev = len(boxes) - 1
    ys, xs = np.nonzero(part_of)
    centre = np.bincount(part_of[ys, xs] - 1, xs, len(boxes)) / np.bincount(part_of[ys, xs] - 1, None, len(boxes))
    order, boxes, piece, left, crossed, new = _order(boxes, piece, left, crossed, centre)
    part_of = np.concatenate([[0], new + 1]).astype(np.int32)[part_of]
    longest = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return Parts(boxes, piece, longest <= SPECK * height, left, crossed, np.asarray(pens)[order],
                 np.asarray(ink)[order], height, pieces.frame_to_image,
                 pixels=(pieces.work, part_of))


def check_strokes(strokes):
    """The strokes as float64 (n, 2) arrays, empty ones left out; a clear error for anything else."""
    out = []
    for i, s in enumerate(strokes):
        try:
            a = np.asarray(s, np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"read_number: stroke {i} is not an array of (x, y) points") from None
        if a.size == 0:
            continue
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"read_number: stroke {i} must be an (n, 2) array of (x, y) points, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"read_number: stroke {i} holds NaN or infinite points")
        out.append(a)
    return out


def _thin(points, step):
    """A polyline's points at least `step` apart (the last one kept), at most MAX_POINTS of them."""
    keep = [0]
    d = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.zeros(0)
    run = 0.0
    for i, di in enumerate(d, 1):  # a greedy walk: points closer than `step` to the last kept one go
        run += di
        if run >= step:
            keep.append(i)
            run = 0.0
    if keep[-1] != len(points) - 1:
        keep.append(len(points) - 1)
    out = points[keep]
    return out[np.linspace(0, len(out) - 1, MAX_POINTS).astype(int)] if len(out) > MAX_POINTS else out


def _turns(x, reach):
    """Indices where a sequence x turns back by at least `reach` (a zigzag filter)."""
    turns, direction, extreme = [], 0, 0
    for i in range(1, len(x)):
        if direction >= 0 and x[i] > x[extreme] or direction <= 0 and x[i] < x[extreme]:
            extreme = i
        elif abs(x[i] - x[extreme]) >= reach:
            if direction != 0:
                turns.append(extreme)
            direction = 1 if x[i] > x[extreme] else -1
            extreme = i
    return turns


def _heights_together(lo, hi):
    """Heights of the strokes' boxes (lo, hi: (n, 2) corners), strokes whose boxes overlap taken
    together: the two loops of an 8 or the strokes of a 4 are one digit's height, not two halves."""
    n = len(lo)
    group = np.arange(n)
    overlap = ((lo[:, None] < hi[None]) & (lo[None] < hi[:, None])).all(axis=2)
    for _ in range(n):  # min-label propagation until nothing changes
        joined = np.where(overlap, group[None, :], n).min(axis=1)
        if np.array_equal(joined, group):
            break
        group = joined
    return [hi[group == g, 1].max() - lo[group == g, 1].min() for g in np.unique(group)]


def stroke_parts(strokes, pen, shape):
    """The parts of a drawing given as pen strokes (see the module docstring) -> Parts, in image pixels.

    strokes: as check_strokes returns them (at least one); pen: the pen's width in pixels, or
    None; shape: the image's (H, W), which the boxes are kept inside."""
    if len(strokes) > MAX_PARTS:  # a scribble: keep the longest strokes, in their order
        length = [float(np.hypot(*np.diff(s, axis=0).T).sum()) if len(s) > 1 else 0.0 for s in strokes]
        strokes = [strokes[i] for i in np.sort(np.argsort(length, kind="stable")[::-1][:MAX_PARTS])]
    lo = np.array([s.min(axis=0) for s in strokes])
    hi = np.array([s.max(axis=0) for s in strokes])
    height = _digit_height(_heights_together(lo, hi))
    pen = PEN_GUESS * height if pen is None else pen
    height = max(height + pen, 1e-6)
    pieces, piece, left, cut = [], [], [], []
    for p, s in enumerate(strokes):
        s = _thin(s, height / STROKE_POINTS)
        ends = [0] + (_turns(s[:, 0], TURN * height) if np.ptp(s[:, 0]) > height else []) + [len(s) - 1]
        for k, (a, b) in enumerate(itertools.pairwise(ends)):
            pieces.append(s[a:b + 1])
            piece.append(p)
            left.append(len(pieces) - 2 if k else -1)
            cut.append(STROKE_CUT if k else 0.0)
    lo = np.array([s.min(axis=0) for s in pieces]) - pen / 2
    hi = np.array([s.max(axis=0) for s in pieces]) + pen / 2
    box = np.concatenate([np.maximum(lo, 0), np.minimum(hi, shape[::-1])], axis=1)
    box[:, 2:] = np.maximum(box[:, 2:], box[:, :2] + 1)  # a stroke outside the image keeps a box
    longest = np.maximum(hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1])
    # A stroke's area over the pen's width is its length and about 0.8 pen of round ends.
    ink = np.array([np.hypot(*np.diff(s, axis=0).T).sum() + 0.8 * pen for s in pieces])
    return Parts(box, np.array(piece), longest <= SPECK * height, np.array(left), np.array(cut),
                 np.full(len(box), float(pen)), ink, height, (0, 0, 1.0, 1.0),
                 strokes=[s.astype(np.float32) for s in pieces])
