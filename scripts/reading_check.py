"""How well does a model read drawings it was never trained on, and how honest is it about it?

    python scripts/reading_check.py [MODEL] [--n 1000] [--seed 0]

Four sets, none used in training or in choosing the thresholds, each read as the pad reads
(tc.preprocess_digit, the model, its temperature and thresholds):
  templates  scripts/checks/handwriting.py's 23 hand-written styles (never a training source), drawn with
             the pad's brush and read from their strokes, as the pad does;
  generated  tinycnn.digits.strokes digits from the "check" seed stream (training uses "train");
  non-digits generated letters, shapes and scribbles ("check" stream) and a few drawn by hand;
  photos     generated digits as dark ink on paper photographed with Pillow: paper texture,
             a light ramp, blur and JPEG, read with tc.read_digit_image;
and MNIST's test set. For each: accuracy per digit, the commonest confusions, the confidently
wrong rate (a digit named, and wrong, among all digits), the share of non-digits named as a
digit, and the expected calibration error before and after temperature scaling.

Then real writers: the UNIPEN digits of the dev_report writers (never trained or tuned on; see
tinycnn.data.unipen.writer_split), each drawn anywhere on a 280 px canvas with a 24 px brush at a
height of 35-85% of it, read through tc.read_digit from the pixels and from the strokes, as the pad
reads. Skipped, with a note, when UNIPEN has not been fetched (python -m tinycnn.data fetch unipen).
"""
import argparse
import io
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

import tinycnn as tc
from tinycnn.digits.calibration import digit_ece, ece, logits_of, split_probs
from tinycnn.digits.reading import calibration, decide, drawing_input
from tinycnn.digits.strokes import digit_strokes, make_digits, make_non_digits, rng_for
from tinycnn.digits.views import VIEWS

HAND_MADE = {  # non-digits drawn on a 280 px canvas, as strokes of (x, y) points
    "plus": [[(140, 40), (140, 240)], [(40, 140), (240, 140)]],
    "A": [[(50, 250), (140, 30), (230, 250)], [(85, 165), (195, 165)]],
    "U": [[(60, 40), (60, 180), (100, 240), (180, 240), (220, 180), (220, 40)]],
    "scribble": [[(40, 60), (230, 90), (60, 140), (220, 170), (50, 220), (240, 240), (120, 40), (160, 250)]],
    "star": [[(140, 30), (200, 240), (40, 100), (240, 100), (80, 240), (140, 30)]],
    "heart": [[(140, 240), (40, 120), (60, 50), (120, 50), (140, 90), (160, 50), (220, 50), (240, 120), (140, 240)]],
}


def hand_made():
    """The HAND_MADE shapes drawn with the pad's brush: (names, images (n, 280, 280), strokes)."""
    from pad.canvas import Canvas

    names, images, strokes = [], [], []
    for name, lines in HAND_MADE.items():
        c = Canvas(280)
        for line in lines:
            c.begin_stroke(line[0], 9)
            for p in line[1:]:
                c.extend_stroke(p)
            c.end_stroke()
        names.append(name)
        images.append(c.array.copy())
        strokes.append([np.asarray(a["points"], np.float32) for a in c.actions])
    return names, images, strokes


def templates(per_style, seed):
    """scripts/checks/handwriting.py's styles, read from their strokes: (inputs (N, 28, 28), labels)."""
    from checks.handwriting import cases, sample

    rng = np.random.default_rng([9, seed])
    xs, ys = [], []
    for digit, style in cases():
        for _ in range(per_style):
            c = sample(digit, style, rng)
            strokes = [np.asarray(a["points"], np.float32) for a in c.actions]
            xs.append(drawing_input(c.array, strokes)[0])
            ys.append(digit)
    return np.stack(xs), np.array(ys)


def photo(strokes, rng, size=160):
    """A photo of a digit written in dark ink on paper: a uint8 grayscale JPEG-compressed image."""
    from tinycnn.digits.brush import render_strokes

    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    scale = size * rng.uniform(0.45, 0.75) / max(float((hi - lo).max()), 1e-6)
    offset = rng.uniform(0.15, 0.35, 2) * size - lo * scale
    ink = render_strokes([p * scale + offset for p in strokes], (size, size), rng.uniform(2, 6))
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy                      # uneven light across the page
    lo_light, hi_light = rng.uniform(150, 200), rng.uniform(205, 245)
    paper = lo_light + (hi_light - lo_light) * (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    noise = np.clip(128 + rng.normal(0, 12, (size, size)), 0, 255).astype(np.uint8)
    grain = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(1.0)), float) - 128  # paper texture
    ink_level = rng.uniform(20, 80)
    img = paper + grain - ink * (paper - ink_level)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(rng.integers(30, 85)))
    return buf.getvalue()


def photos(n, seed):
    """n photographed generated digits read through tc.read_digit_image: (inputs (n, 28, 28), labels)."""
    rng = rng_for("check", seed + 1)
    xs, ys = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "photo.jpg")
        for i in range(n):
            d = i % 10
            with open(path, "wb") as f:
                f.write(photo(digit_strokes(d, rng), rng))
            xs.append(tc.preprocess_digit(tc.read_digit_image(path)))
            ys.append(d)
    return np.stack(xs), np.array(ys)


def report(name, model, x, labels, out=print):
    """Print the figures of one set; returns them as a dict, and which drawings were named as a digit. x: (N, 28, 28) uint8 or float; labels (N,),
    10 for a non-digit."""
    logits = logits_of(model, x)
    c = calibration(model)
    probs, other = split_probs(logits, c["temperature"])
    verdicts = [decide(p, o, c["unsure"], c["not_a_digit"]) for p, o in zip(probs, other)]
    named = np.array([v == "digit" for _, v in verdicts])
    said = np.array([-1 if d is None else d for d, _ in verdicts])
    is_digit = labels < 10
    fig = {"set": name, "n": int(len(labels))}
    if is_digit.any():
        top = probs[is_digit].argmax(1)
        y = labels[is_digit]
        fig["accuracy"] = float(np.mean(top == y))
        fig["per_digit"] = {int(d): float(np.mean(top[y == d] == d)) for d in np.unique(y)}
        fig["named_right"] = float(np.mean(named[is_digit] & (said[is_digit] == y)))
        fig["confidently_wrong"] = float(np.mean(named[is_digit] & (said[is_digit] != y)))
        fig["refused"] = float(np.mean([v == "not a digit" for (_, v), k in zip(verdicts, is_digit) if k]))
        fig["ece_before"] = digit_ece(logits, labels)
        fig["ece_after"] = digit_ece(logits, labels, c["temperature"])
        fig["confusions"] = confusions(y, top)
        out(f"\n{name}: {len(y)} digits  read right {fig['accuracy']:.1%}  named right {fig['named_right']:.1%}  "
            f"confidently wrong {fig['confidently_wrong']:.2%}  refused as not a digit {fig['refused']:.1%}  "
            f"ECE {fig['ece_before']:.2%} -> {fig['ece_after']:.2%}")
        out("  per digit: " + "  ".join(f"{d}:{a:.0%}" for d, a in fig["per_digit"].items()))
        out("  confusions (true->read: count): " + ", ".join(f"{t}->{p}: {k}" for (t, p), k in fig["confusions"]))
    if (~is_digit).any():
        fig["non_digits_named"] = float(np.mean(named[~is_digit]))
        out(f"\n{name}: {int((~is_digit).sum())} non-digits  named as a digit {fig['non_digits_named']:.1%}  "
            f"refused {np.mean(other[~is_digit] >= c['not_a_digit']):.1%}")
    return fig, named


CONFIDENT = 0.6  # "confidently wrong" on real writers: top probability at least this, and wrong


def real_writers(model, seed, part="dev_report"):
    """UNIPEN's `part` writers drawn as on the pad: (images (N, 280, 280) float32, strokes, labels
    (N,), writer ids (N,)); None when UNIPEN has not been fetched."""
    from tinycnn.data.unipen import load_unipen, writer_split
    from tinycnn.digits.pendigits import CANVAS, draw_sample

    try:
        samples = [s for s in load_unipen() if writer_split(s.writer) == part]
    except FileNotFoundError as e:
        print(f"\nreal writers: skipped ({e})")
        return None
    rng = np.random.default_rng([19, seed])
    drawn = [draw_sample(s, height=rng.uniform(0.35, 0.85) * CANVAS, place=rng.uniform(0, 1, 2)) for s in samples]
    return ([d[0] for d in drawn], [d[1] for d in drawn], np.array([s.label for s in samples]),
            np.array([s.writer for s in samples]))


def confusions(truth, read, most=5):
    """The commonest mistakes: [((true digit, digit read), count)], most frequent first."""
    pairs = {}
    for t, p in zip(truth, read):
        if t != p:
            pairs[(int(t), int(p))] = pairs.get((int(t), int(p)), 0) + 1
    return sorted(pairs.items(), key=lambda kv: -kv[1])[:most]


def report_readings(name, readings, labels, writers, out=print):
    """Print the figures of tc.read_digit's readings of digits; returns them as a dict.
    readings: N Readings; labels (N,) int; writers (N,) writer ids."""
    probs = np.stack([r.probs for r in readings])
    read = np.where(probs.max(1) > 0, probs.argmax(1), -1)  # blank or too small: nothing read
    right, top = read == labels, probs.max(1)
    fig = {"set": name, "n": len(labels), "accuracy": float(right.mean()),
           "writers_mean": float(np.mean([right[writers == w].mean() for w in np.unique(writers)])),
           "per_digit": {int(d): float(right[labels == d].mean()) for d in np.unique(labels)},
           "confidently_wrong": float(np.mean((top >= CONFIDENT) & ~right)),
           "named_wrong": float(np.mean([r.verdict == "digit" and r.digit != y for r, y in zip(readings, labels)])),
           "not_read": float(np.mean(read < 0)), "ece": ece(top, right)}
    fig["confusions"] = confusions(labels, read)
    out(f"\n{name}: {len(labels)} digits by {len(np.unique(writers))} writers  read right {fig['accuracy']:.2%} "
        f"(writers' mean {fig['writers_mean']:.2%})  confidently wrong (top >= {CONFIDENT}) {fig['confidently_wrong']:.2%}  "
        f"named and wrong {fig['named_wrong']:.2%}  ECE {fig['ece']:.2%}  blank or too small {fig['not_read']:.2%}")
    out("  per digit: " + "  ".join(f"{d}:{a:.1%}" for d, a in fig["per_digit"].items()))
    out("  confusions (true->read: count): " + ", ".join(f"{t}->{p}: {k}" for (t, p), k in fig["confusions"]))
    return fig


def synthetic_sets(model, args):
    """The sets made here (templates, generated digits and non-digits, photos) and MNIST's test set."""
    report("templates (scripts/checks/handwriting.py, held out)", model, *templates(args.per_style, args.seed))
    rng = rng_for("check", args.seed)
    report("generated (check seeds)", model, *make_digits(args.n, rng))
    nx, ny, names = make_non_digits(args.n, rng)
    _, named = report("non-digits (generated, check seeds)", model, nx, ny)
    hn, himg, hstrokes = hand_made()
    hand = [tc.read_digit(a, model, strokes=s) for a, s in zip(himg, hstrokes)]
    print("  by hand: " + ", ".join(f"{n}: {r}" for n, r in zip(hn, hand)))
    if named.any():
        kinds, counts = np.unique(names[named], return_counts=True)
        print("  most often named as a digit: " + ", ".join(f"{k} {v}" for k, v in
                                                        sorted(zip(kinds, counts), key=lambda kv: -kv[1])[:6]))
    report("photos (Pillow: texture, light ramp, blur, JPEG)", model, *photos(args.photos, args.seed))
    _, _, xte, yte = tc.load_mnist()
    report("MNIST test", model, xte, yte.astype(np.int64))


def check_real_writers(model, seed, views=(1,), part="dev_report"):
    """Read the `part` writers' digits through tc.read_digit, from the pixels and from the
    strokes, with each number of test-time views asked for (and what a reading costs)."""
    real = real_writers(model, seed, part)
    if real is None:
        return
    images, strokes, labels, writers = real
    for k in views:
        for how in ("pixels", "strokes"):
            t = time.perf_counter()
            readings = [tc.read_digit(a, model, strokes=s if how == "strokes" else None, views=k)
                        for a, s in zip(images, strokes)]
            ms = (time.perf_counter() - t) / len(images) * 1e3
            report_readings(f"real writers (UNIPEN {part}), read from the {how}, views={k} "
                            f"({ms:.2f} ms a reading)", readings, labels, writers)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", help="model file (default: the shipped one)")
    ap.add_argument("--n", type=int, default=1000, help="generated digits and non-digits per set")
    ap.add_argument("--per-style", type=int, default=20, help="drawings per template style")
    ap.add_argument("--photos", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0, help="check seed (training and calibration use other streams)")
    ap.add_argument("--real-only", action="store_true", help="only the real writers (UNIPEN dev_report)")
    ap.add_argument("--writers", default="dev_report", choices=("dev_report", "dev_tune"),
                    help="which dev writers: dev_tune to choose by, dev_report to report (default: %(default)s)")
    ap.add_argument("--views", type=int, nargs="+", default=[1],
                    help="read the real writers with each of these numbers of test-time views (default: 1)")
    args = ap.parse_args(argv)
    bad = [k for k in args.views if not 1 <= k <= len(VIEWS)]
    if bad:
        print(f"error: --views takes numbers from 1 to {len(VIEWS)}, got {bad[0]}", file=sys.stderr)
        return 1
    if args.model and not os.path.isfile(args.model):
        print(f"error: no model file at {args.model}", file=sys.stderr)
        return 1
    try:
        model = tc.load(args.model) if args.model else tc.pretrained()
        outputs = tc.check_digit_reader(model, args.model or "the shipped model")
    except tc.ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    c = calibration(model)
    print(f"model {args.model or 'shipped'}: {outputs} outputs, temperature "
          f"{c['temperature']:.3f}, unsure below {c['unsure']:.2f}, not a digit from {c['not_a_digit']:.2f}")
    t = time.time()
    if not args.real_only:
        synthetic_sets(model, args)
    check_real_writers(model, args.seed, args.views, args.writers)
    print(f"\n({time.time() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
