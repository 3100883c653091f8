"""How well does tc.read_number read whole numbers, case by case?

    python scripts/number_check.py [--per-case 50] [--source drawn|mnist|both] [--seed 2026]
                                   [--model PATH] [--gallery out.png]

Composes numbers of 2 to 6 digits (checks.numberwriting) in each hard case, from digits drawn with
the pad's brush ("drawn") and from MNIST's test set, real pen-written digits the model never
trained on ("mnist"), reads them with tc.read_number and prints, per source and case, the share
of numbers read exactly and of digits read right (digit i of the truth against digit i of the
reading, when the count of digits is right; otherwise the longest common subsequence, so one
missed cut costs one digit, not all that follow).
Tuning was done on seed 1; the default seed 2026 is the one reported in the README.
"""
import argparse
import os
import sys
import time

import numpy as np
from PIL import Image

import tinycnn as tc
from checks.numberwriting import CASES, compose, mnist_glyphs, random_number


def digits_right(truth, text):
    """How many of truth's digits the reading got: position by position, or by longest common subsequence."""
    if len(truth) == len(text):
        return sum(a == b for a, b in zip(truth, text))
    table = np.zeros((len(truth) + 1, len(text) + 1), int)
    for i, a in enumerate(truth):
        for j, b in enumerate(text):
            table[i + 1, j + 1] = table[i, j] + 1 if a == b else max(table[i, j + 1], table[i + 1, j])
    return int(table[-1, -1])


def run(model, source, per_case, seed, gallery=None):
    """{case: (exact, n numbers, digits right, n digits, [misreads])} for one source of digits."""
    glyph = None
    if source == "mnist":
        _, _, x, y = tc.load_mnist()
        glyph = mnist_glyphs(x, y)
    rng = np.random.default_rng(seed)
    results = {}
    for case in CASES:
        exact = right = total = 0
        wrong = []
        for k in range(per_case):
            truth = random_number(rng)
            img, _ = compose(truth, rng, case, glyph)
            text = tc.read_number(img, model).text
            exact += text == truth
            right += digits_right(truth, text)
            total += len(truth)
            if text != truth:
                wrong.append(f"{truth}->{text or '(none)'}")
            if gallery is not None and k < 2:
                gallery.append(img)
        results[case] = (exact, per_case, right, total, wrong)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-case", type=int, default=50)
    ap.add_argument("--source", choices=("drawn", "mnist", "both"), default="both")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--gallery", help="save a few numbers of each case to this PNG")
    ap.add_argument("--show-errors", action="store_true", help="list every misread number")
    args = ap.parse_args()
    if args.model and not os.path.isfile(args.model):
        print(f"error: model file not found: {args.model}", file=sys.stderr)
        return 2
    model = tc.load(args.model) if args.model else tc.pretrained()
    sources = ("drawn", "mnist") if args.source == "both" else (args.source,)
    shown = []
    for source in sources:
        start = time.perf_counter()
        results = run(model, source, args.per_case, args.seed, shown if args.gallery else None)
        seconds = time.perf_counter() - start
        print(f"\n{source} digits, seed {args.seed}, {args.per_case} numbers of 2-6 digits per case")
        print(f"  {'case':20s}{'numbers exact':>15s}{'digits right':>15s}")
        for case, (ex, n, r, t, wrong) in results.items():
            print(f"  {case:20s}{ex / n:>14.1%} {r / t:>14.1%}")
            if args.show_errors and wrong:
                print("      misread: " + "  ".join(wrong))
        ex, n, r, t = (sum(v[i] for v in results.values()) for i in range(4))
        print(f"  {'all':20s}{ex / n:>14.1%} {r / t:>14.1%}    ({n} numbers, {t} digits, "
              f"{1000 * seconds / n:.0f} ms per number)")
    if args.gallery:
        tiles = []
        for img in shown:
            h, w = img.shape
            k = 90 / h
            tiles.append(np.asarray(Image.fromarray(img, mode="F").resize((max(1, int(w * k)), 90)), np.float32))
        width = max(t.shape[1] for t in tiles)
        sheet = np.concatenate([np.pad(t, ((2, 2), (0, width - t.shape[1]))) for t in tiles])
        Image.fromarray((np.clip(sheet, 0, 1) * 255).astype(np.uint8)).save(args.gallery)
    return 0


if __name__ == "__main__":
    sys.exit(main())
