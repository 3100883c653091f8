"""Digits and non-digits written as pen strokes, with continuous style: training data for the
ways people write that MNIST has few of (a flagged 1, a crossed 7, a hooked 9, an open 4, a
looped 2), and for what is not a digit at all (letters, shapes, scribbles).

Every digit is drawn from continuous style parameters (the flag of a 1 has a length and an
angle, a 9's loop a size and its tail a hook, a 4 an openness, and so on), then written with pen
dynamics (overshoot at stroke ends, smooth curvature noise, rounded corners), slant, rotation,
aspect and a pen width from a fine pen to a thick marker, and rendered with the pad's brush.
Letters that look like digits (O, I, l, S, Z, b, g, q, ...) and shapes that are digits (a circle,
a bar) are left out of the non-digits.

Coordinates: a unit box, x to the right, y down. Angles in degrees, 0 = right, 90 = down.
Everything is drawn from a numpy Generator: the same seed gives the same images.
"""
import numpy as np

from .brush import mnist_strokes, render_strokes
from .preprocess import preprocess_digit

NOT_A_DIGIT = 10   # the label of the "not a digit" class
RENDER = 48        # side of the small canvas generated drawings are rendered on (cheap, and
                   # preprocess_digit scales every drawing to the same size anyway)
PURPOSES = {"train": 0, "calibrate": 1, "check": 2, "pen": 3}  # independent seed streams per use


def rng_for(purpose, seed):
    """The generator for one use of the generated data: training, calibration and checks draw
    from different streams of the same seed, so a check never sees a training drawing."""
    return np.random.default_rng([PURPOSES[purpose], int(seed)])


def _arc(cx, cy, rx, ry, a0, a1, step=8.0):
    a = np.deg2rad(np.linspace(a0, a1, max(3, int(abs(a1 - a0) / step) + 1)))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _line(*points):
    return np.asarray(points, float)


def _join(*parts):
    return np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in parts])


# -- digits: each returns a list of strokes in the unit box, from continuous style parameters --
def _zero(r):
    rx, ry = r.uniform(0.2, 0.4), r.uniform(0.36, 0.46)
    start = r.uniform(-140, -50)
    turn = r.uniform(330, 400) * r.choice([-1, 1])   # a gap or an overlap where the pen meets
    return [_arc(0.5, 0.5, rx, ry, start, start + turn)]


def _one(r):
    top = np.array([r.uniform(0.4, 0.6), r.uniform(0.06, 0.16)])
    foot = top + [r.uniform(-0.1, 0.06), 0]
    foot[1] = r.uniform(0.86, 0.94)
    flag = r.uniform(0.06, 0.42) if r.random() < 0.6 else 0.0   # length of the flag
    stem = [top, foot]
    if flag:
        angle = np.deg2rad(r.uniform(15, 75))                      # below the horizontal
        flag = min(flag, 0.24 / np.cos(angle))  # a flag reaching as far as a 7's bar would make a 7
        stem = [top + flag * np.array([-np.cos(angle), np.sin(angle)])] + stem
    strokes = [_line(*stem)]
    if r.random() < 0.25:                                          # a base
        half = r.uniform(0.12, 0.3)
        strokes.append(_line(foot + [-half, 0], foot + [half * r.uniform(0.8, 1.2), r.uniform(-0.03, 0.03)]))
    return strokes


def _two(r):
    cx, cy = r.uniform(0.45, 0.55), r.uniform(0.25, 0.35)
    rx, ry = r.uniform(0.2, 0.3), r.uniform(0.14, 0.22)
    top = _arc(cx, cy, rx, ry, r.uniform(165, 215), 360 + r.uniform(0, 45))
    corner = np.array([r.uniform(0.15, 0.32), r.uniform(0.84, 0.92)])
    mid = (top[-1] + corner) / 2 + [r.uniform(-0.06, 0.04), r.uniform(-0.04, 0.06)]   # a bowed neck
    loop = r.uniform(0.04, 0.11) if r.random() < 0.35 else 0.0                         # a loop at the corner
    end = [r.uniform(0.7, 0.92), corner[1] + r.uniform(-0.06, 0.03)]
    if loop:
        ring = _arc(corner[0] + loop * 0.2, corner[1] - loop, loop * 1.1, loop, 90 + 40, 90 + 40 - 330)
        return [_join(top, mid, corner, ring, end)]
    return [_join(top, mid, corner, end)]


def _three(r):
    ryu = r.uniform(0.13, 0.22)
    waist = 0.1 + 2 * ryu
    ryl = (0.9 - waist) / 2
    cx = r.uniform(0.45, 0.55)
    waist_x = cx + r.uniform(-0.12, 0.02)
    lower = _arc(cx, waist + ryl, r.uniform(0.22, 0.33), ryl, 270 - r.uniform(0, 30), 450 + r.uniform(20, 60))
    lower[0] = [waist_x, waist]
    if r.random() < 0.2:                                             # a flat top
        upper = _line([r.uniform(0.2, 0.32), 0.1], [r.uniform(0.68, 0.8), 0.1], [waist_x + 0.02, waist - 0.02])
    else:
        upper = _arc(cx, 0.1 + ryu, r.uniform(0.17, 0.28), ryu, r.uniform(180, 230), 450 + r.uniform(0, 20))
        upper = _join(upper[:-1], [waist_x, waist])
    return [_join(upper, lower[1:])]


def _four(r):
    xv, bar = r.uniform(0.55, 0.7), r.uniform(0.55, 0.7)
    left = r.uniform(0.1, 0.25)
    openness = 0.0 if r.random() < 0.45 else r.uniform(0, 1)       # closed top ... open top
    closed = np.array([xv - r.uniform(0, 0.06), r.uniform(0.06, 0.14)])
    opened = np.array([left + r.uniform(0, 0.12), r.uniform(0.06, 0.22)])
    start = (1 - openness) * closed + openness * opened
    bend = [left, bar]
    first = _line(start, bend, [r.uniform(0.76, 0.94), bar + r.uniform(-0.05, 0.03)])
    stem_top = r.uniform(0.06, 0.35) if openness < 0.5 else r.uniform(0.06, 0.2)
    stem = _line([xv, stem_top], [xv + r.uniform(-0.06, 0.03), r.uniform(0.86, 0.94)])
    return [first, stem]


def _five(r):
    xl, top = r.uniform(0.22, 0.36), r.uniform(0.08, 0.16)
    bar_end = [r.uniform(0.64, 0.86), top + r.uniform(-0.04, 0.02)]
    neck = [xl - r.uniform(-0.02, 0.05), r.uniform(0.38, 0.5)]
    rx, ry = r.uniform(0.2, 0.29), r.uniform(0.18, 0.26)
    cx, cy = r.uniform(0.45, 0.53), min(neck[1] + ry * r.uniform(0.6, 1.0), 0.92 - ry)
    bowl = _arc(cx, cy, rx, ry, r.uniform(215, 250), r.uniform(470, 520))
    if r.random() < 0.5:                                             # the bar drawn separately
        return [_join([xl, top], neck, bowl), _line([xl, top], bar_end)]
    return [_join(bar_end, [xl, top], neck, bowl)]


def _six(r):
    rx, ry = r.uniform(0.17, 0.27), r.uniform(0.15, 0.24)
    cx, cy = r.uniform(0.45, 0.55), 0.92 - ry
    start = [r.uniform(0.5, 0.78), r.uniform(0.06, 0.14)]
    back = [cx - rx * r.uniform(0.8, 1.3), (start[1] + cy) / 2 + r.uniform(-0.05, 0.1)]   # straight or curved back
    loop = _arc(cx, cy, rx, ry, 180, 180 - r.uniform(300, 380))
    return [_join(start, back, loop)]


def _seven(r):
    y0 = r.uniform(0.08, 0.2)
    x0, x1 = r.uniform(0.12, 0.3), r.uniform(0.7, 0.9)
    foot = np.array([r.uniform(0.3, 0.56), r.uniform(0.86, 0.94)])
    corner = np.array([x1, y0 + r.uniform(-0.03, 0.03)])
    bow = (corner + foot) / 2 + [r.uniform(-0.07, 0.06), 0]          # a straight or bowed stem
    bar_mid = [(x0 + x1) / 2, y0 + r.uniform(-0.04, 0.04)]           # a wavy top bar
    head = [[x0, y0 + r.uniform(0.04, 0.16)]] if r.random() < 0.3 else []   # a serif
    strokes = [_join(*head, [x0, y0], bar_mid, corner, bow, foot)]
    if r.random() < 0.35:                                            # crossed
        t = r.uniform(0.4, 0.6)
        y = corner[1] + t * (foot[1] - corner[1])
        x = corner[0] + t * (foot[0] - corner[0])
        half = r.uniform(0.1, 0.22)
        strokes.append(_line([x - half, y], [x + half * r.uniform(0.7, 1.3), y + r.uniform(-0.04, 0.02)]))
    return strokes


def _eight(r):
    if r.random() < 0.2:                                             # two loops, one above the other
        waist = r.uniform(0.42, 0.52)
        ru, rl = (waist - 0.1) / 2, (0.9 - waist) / 2
        return [_arc(0.5, 0.1 + ru, r.uniform(0.13, 0.22), ru, -90, 270),
                _arc(0.5 + r.uniform(-0.04, 0.04), waist + rl, r.uniform(0.16, 0.27), rl, -90, 270)]
    waist = r.uniform(0.4, 0.54)
    rt, rb = r.uniform(0.13, 0.24), r.uniform(0.16, 0.3)
    t0 = r.uniform(-0.5, 0.3)
    t = np.linspace(t0, t0 + 2 * np.pi + r.uniform(0.1, 0.6), 60) * r.choice([-1, 1])
    c = np.cos(t)
    y = np.where(c > 0, waist - (waist - 0.1) * c, waist - (0.9 - waist) * c)
    x = 0.5 + np.where(c > 0, rt, rb) * np.sin(2 * t) + r.uniform(-0.08, 0.08) * (y - waist)
    return [np.stack([x, y], axis=1)]


def _nine(r):
    rx, ry = r.uniform(0.14, 0.28), r.uniform(0.1, 0.21)             # loop size
    cx, cy = r.uniform(0.4, 0.52), 0.08 + ry
    start = r.uniform(-35, 15)
    loop = _arc(cx, cy, rx, ry, start, start - r.uniform(330, 390))
    joint = [cx + rx * r.uniform(0.85, 1.05), cy + ry * r.uniform(-0.2, 0.3)]
    hook = r.uniform(0, 1) if r.random() < 0.45 else 0.0             # straight tail ... hooked tail
    foot = [joint[0] + r.uniform(-0.16, 0.04), 0.92 - 0.08 * hook]
    mid = [(joint[0] + foot[0]) / 2 + r.uniform(-0.03, 0.05), (joint[1] + foot[1]) / 2]
    tail = [joint, mid, foot]
    if hook:
        tail += [[foot[0] - 0.12 * hook, 0.93], [foot[0] - 0.26 * hook, 0.9 - 0.06 * hook]]
    return [_join(loop, *tail)]


DIGITS = (_zero, _one, _two, _three, _four, _five, _six, _seven, _eight, _nine)


# -- non-digits: letters that cannot pass for a digit, shapes, scribbles -------------------
def _star(r):
    a = np.deg2rad(-90 + 144 * np.arange(6) + r.uniform(-8, 8))
    return [np.stack([0.5 + 0.42 * np.cos(a), 0.52 + 0.42 * np.sin(a)], axis=1)]


def _heart(r):
    t = np.linspace(0, 2 * np.pi, 40)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return [np.stack([0.5 + x / 36, 0.45 + y / 36], axis=1)]


def _scribble(r):
    n = r.integers(8, 18)   # long enough that it cannot pass for a digit's few strokes
    pts = np.cumsum(r.normal(0, 0.25, (n, 2)), axis=0)
    return [pts]


def _zigzag(r):
    n = r.integers(3, 8)
    x = np.linspace(0.05, 0.95, n + 1)
    y = np.where(np.arange(n + 1) % 2, 0.25, 0.75) + r.uniform(-0.1, 0.1, n + 1)
    pts = np.stack([x, y], axis=1)
    return [pts[:, ::-1]] if r.random() < 0.3 else [pts]


def _hatching(r):
    n, angle = r.integers(3, 7), np.deg2rad(r.uniform(20, 70) * r.choice([-1, 1]))
    d = np.array([np.cos(angle), np.sin(angle)]) * 0.45
    offsets = np.linspace(-0.35, 0.35, n)
    normal = np.array([-d[1], d[0]]) / 0.45
    strokes = [_line(0.5 + o * normal - d, 0.5 + o * normal + d) for o in offsets]
    if r.random() < 0.3:                                             # cross-hatched
        strokes += [_line(0.5 + o * d / 0.45 - normal * 0.45, 0.5 + o * d / 0.45 + normal * 0.45) for o in offsets]
    return strokes


def _circle_dot(r):
    return [_arc(0.5, 0.5, 0.4, 0.4, 0, 365), _arc(0.5, 0.5, 0.03, 0.03, 0, 360)]


NON_DIGITS = {
    "A": lambda r: [_line([0.1, 0.92], [0.5, 0.08], [0.9, 0.92]), _line([0.28, 0.58], [0.72, 0.58])],
    "B": lambda r: [_line([0.25, 0.08], [0.25, 0.92]),
                    _join([0.25, 0.08], _arc(0.45, 0.28, 0.25, 0.2, -90, 90)[1:], [0.25, 0.48]),
                    _join([0.25, 0.48], _arc(0.47, 0.7, 0.3, 0.22, -90, 90)[1:], [0.25, 0.92])],
    "E": lambda r: [_line([0.8, 0.1], [0.25, 0.1], [0.25, 0.9], [0.8, 0.9]), _line([0.25, 0.5], [0.68, 0.5])],
    "F": lambda r: [_line([0.8, 0.1], [0.28, 0.1], [0.28, 0.92]), _line([0.28, 0.5], [0.68, 0.5])],
    "H": lambda r: [_line([0.2, 0.08], [0.2, 0.92]), _line([0.8, 0.08], [0.8, 0.92]), _line([0.2, 0.5], [0.8, 0.5])],
    "K": lambda r: [_line([0.25, 0.08], [0.25, 0.92]), _line([0.78, 0.08], [0.27, 0.55], [0.8, 0.92])],
    "M": lambda r: [_line([0.1, 0.92], [0.18, 0.08], [0.5, 0.7], [0.82, 0.08], [0.9, 0.92])],
    "N": lambda r: [_line([0.2, 0.92], [0.2, 0.08], [0.8, 0.92], [0.8, 0.08])],
    "R": lambda r: [_line([0.25, 0.92], [0.25, 0.08]),
                    _join([0.25, 0.08], _arc(0.45, 0.3, 0.27, 0.22, -90, 90)[1:], [0.25, 0.52], [0.78, 0.92])],
    "U": lambda r: [_join([0.2, 0.08], _arc(0.5, 0.62, 0.3, 0.28, 180, 0), [0.8, 0.08])],
    "V": lambda r: [_line([0.12, 0.08], [0.5, 0.92], [0.88, 0.08])],
    "W": lambda r: [_line([0.05, 0.1], [0.27, 0.9], [0.5, 0.35], [0.73, 0.9], [0.95, 0.1])],
    "X": lambda r: [_line([0.15, 0.1], [0.85, 0.9]), _line([0.85, 0.1], [0.15, 0.9])],
    "Y": lambda r: [_line([0.15, 0.08], [0.5, 0.5], [0.85, 0.08]), _line([0.5, 0.5], [0.5, 0.92])],
    "e": lambda r: [_join([0.2, 0.55], [0.8, 0.55], _arc(0.5, 0.55, 0.3, 0.3, 0, -300)[1:])],
    "h": lambda r: [_line([0.25, 0.05], [0.25, 0.95]), _join([0.25, 0.62], _arc(0.5, 0.62, 0.25, 0.2, 200, 360), [0.75, 0.95])],
    "m": lambda r: [_join([0.1, 0.9], [0.1, 0.45], _arc(0.3, 0.55, 0.2, 0.15, 190, 360), [0.5, 0.9]),
                    _join([0.5, 0.55], _arc(0.7, 0.55, 0.2, 0.15, 180, 360), [0.9, 0.9])],
    "n": lambda r: [_join([0.2, 0.9], [0.2, 0.35], _arc(0.5, 0.5, 0.3, 0.2, 200, 360), [0.8, 0.9])],
    "r": lambda r: [_line([0.3, 0.9], [0.3, 0.3]), _join([0.3, 0.55], _arc(0.55, 0.5, 0.25, 0.18, 200, 320))],
    "u": lambda r: [_join([0.2, 0.3], _arc(0.5, 0.6, 0.3, 0.3, 180, 0), [0.8, 0.3], [0.82, 0.9])],
    "w": lambda r: [_join(_arc(0.3, 0.35, 0.2, 0.55, 180, 0), _arc(0.7, 0.35, 0.2, 0.55, 180, 0)[1:])],
    "plus": lambda r: [_line([0.5, 0.1], [0.5, 0.9]), _line([0.1, 0.5], [0.9, 0.5])],
    "cross": lambda r: [_line([0.15, 0.15], [0.85, 0.85]), _line([0.85, 0.15], [0.15, 0.85])],
    "circle with a dot": _circle_dot,
    "triangle": lambda r: [_line([0.5, 0.1], [0.9, 0.85], [0.1, 0.85], [0.5, 0.1])],
    "square": lambda r: [_line([0.15, 0.15], [0.85, 0.15], [0.85, 0.85], [0.15, 0.85], [0.15, 0.15])],
    "star": _star,
    "arrow": lambda r: [_line([0.05, 0.5], [0.95, 0.5]), _line([0.65, 0.2], [0.95, 0.5], [0.65, 0.8])],
    "heart": _heart,
    "scribble": _scribble,
    "zig-zag": _zigzag,
    "hatching": _hatching,
}


# -- pen dynamics, pose and rendering ------------------------------------------------------
def resample(points, step):
    """A polyline (n, 2) as points every `step` along it, and their distances along it."""
    points = np.asarray(points, dtype=float)
    seg = np.hypot(*np.diff(points, axis=0).T)
    dist = np.concatenate([[0], np.cumsum(seg)])
    n = max(2, int(dist[-1] / step) + 1)
    at = np.linspace(0, dist[-1], n)
    return np.stack([np.interp(at, dist, points[:, 0]), np.interp(at, dist, points[:, 1])], axis=1), at


def _smooth(points, width):
    """Gaussian smoothing along the stroke (ends held): rounds corners as a moving pen does."""
    if width < 1 or len(points) < 3:
        return points
    half = int(np.ceil(3 * width))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / width) ** 2)
    k /= k.sum()
    pad = len(k) // 2
    padded = np.concatenate([np.repeat(points[:1], pad, 0), points, np.repeat(points[-1:], pad, 0)])
    return np.stack([np.convolve(padded[:, i], k, mode="valid") for i in (0, 1)], axis=1)


def write(strokes, r, wobble=None):
    """Pen dynamics: each stroke overshoots or stops short at its ends, corners are rounded, and
    the path bends with smooth low-frequency noise (a few random sine waves along its length).

    strokes: list of (n, 2) control points in the unit box -> list of (m, 2) dense points.
    """
    wobble = r.uniform(0.0, 0.025) if wobble is None else wobble
    round_corners = r.uniform(0, 3)
    out = []
    for s in strokes:
        s = np.asarray(s, float)
        if len(s) == 1:
            s = np.concatenate([s, s + 1e-3])
        for end, inner in ((0, 1), (-1, -2)):                        # overshoot (+) or short stop (-)
            d = s[end] - s[inner]
            n = np.hypot(*d)
            if n > 1e-6:
                s[end] = s[end] + d / n * r.uniform(-0.02, 0.05)
        pts, at = resample(s, 0.01)
        pts = _smooth(pts, round_corners)
        phase = r.uniform(0, 2 * np.pi, (2, 3))
        freq = r.uniform(1.5, 6, (2, 3))
        amp = wobble * r.uniform(0.3, 1, (2, 3)) / np.arange(1, 4)
        pts = pts + np.stack([(amp[i] * np.sin(freq[i] * 2 * np.pi * at[:, None] + phase[i])).sum(1)
                              for i in (0, 1)], axis=1)
        out.append(pts)
    return out


def pose(strokes, r, slant=None):
    """Slant (shear), rotation and aspect, about the centre of the unit box."""
    shear = r.uniform(-0.35, 0.3) if slant is None else slant       # right-leaning slants are common
    angle = np.deg2rad(r.uniform(-10, 10))
    aspect = np.exp(r.uniform(-0.25, 0.2))                          # narrow ... wide
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ np.array([[aspect, -shear], [0, 1]])
    return [(p - 0.5) @ m.T + 0.5 for p in strokes]


def render(strokes, r, size=RENDER):
    """Render unit-box strokes fitted into a size x size image, with a random pen width.

    The pen's radius is drawn relative to the drawing's height: from a fine pen (2.5%) to a
    thick marker (14%, the pad's default brush on a small digit). Returns (size, size) float32.
    """
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    extent = max(float((hi - lo).max()), 1e-6)
    radius_rel = np.exp(r.uniform(np.log(0.025), np.log(0.14)))
    radius = radius_rel * size * 0.8
    scale = (size - 2 * radius - 3) / extent
    offset = (size - (hi - lo) * scale) / 2 - lo * scale
    return render_strokes([p * scale + offset for p in strokes], (size, size), radius)


def digit_strokes(digit, r):
    """One digit in a random style, written and posed: list of (n, 2) points in about the unit box."""
    return pose(write(DIGITS[digit](r), r), r)


def non_digit_strokes(name, r):
    """One non-digit, jittered, written and posed: list of (n, 2) points in about the unit box."""
    # corners of straight-line shapes move freely; points along a curve move together
    strokes = [np.asarray(s, float) + (r.normal(0, 0.03, np.shape(s)) if len(s) <= 6 else r.normal(0, 0.03, 2))
               for s in NON_DIGITS[name](r)]
    return pose(write(strokes, r), r)


PAD_PATH = 0.3  # share of drawings read from their strokes, as the pad reads (reading.read_digit)


def _image(strokes, r):
    """What the reader sees of one drawing: from its pixels (any pen), or from its strokes."""
    drawn = mnist_strokes(strokes) if r.random() < PAD_PATH else render(strokes, r)
    return (preprocess_digit(drawn) * 255 + 0.5).astype(np.uint8)


def _images(items, r):
    images = [_image(s, r) for s in items]
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)


def make_digits(n, rng):
    """n generated digits, labels cycling 0-9, read through preprocess_digit as drawings are.

    rng: a numpy Generator (see rng_for). Returns (images (n, 28, 28) uint8, labels (n,) int64).
    """
    labels = np.arange(n) % 10
    return _images((digit_strokes(int(d), rng) for d in labels), rng), labels.astype(np.int64)


def make_non_digits(n, rng):
    """n generated non-digits (cycling through NON_DIGITS), preprocessed like drawings.

    Returns (images (n, 28, 28) uint8, labels (n,) all NOT_A_DIGIT, names (n,) str).
    """
    names = list(NON_DIGITS)
    chosen = [names[i % len(names)] for i in range(n)]
    images = _images((non_digit_strokes(k, rng) for k in chosen), rng)
    return images, np.full(n, NOT_A_DIGIT, np.int64), np.array(chosen)
