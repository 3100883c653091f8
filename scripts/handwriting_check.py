"""How well does the pad read digits drawn at any size and place, in styles MNIST has few of?

    python scripts/handwriting_check.py [--per-style 40] [--model PATH] [--gallery out.png]

Draws every style of checks.handwriting with the pad's brush, reads it as the pad does
(tc.preprocess_digit, then the model) and, for comparison, as many digit apps do (the canvas
shrunk straight to 28x28). Prints the accuracy per digit and style, and overall.
"""
import argparse
import sys

import numpy as np
from PIL import Image

import tinycnn as tc
from checks.handwriting import STYLES, cases, sample


def shrink(canvas):
    """The naive reading: the whole canvas resized to 28x28."""
    return np.asarray(Image.fromarray(canvas, mode="F").resize((28, 28), Image.Resampling.BOX))


def top_digit(model, x):
    """The most probable of the ten digits (a model may have an 11th output, "not a digit")."""
    return model.predict_proba(x)[:, :10].argmax(1)


def run(model, per_style, seed=0):
    """{(digit, style): (correct with preprocessing, correct shrunk, n)} and the sample images."""
    rng = np.random.default_rng(seed)
    results, shown = {}, []
    for digit, style in cases():
        canvases = [sample(digit, style, rng).array for _ in range(per_style)]
        ours = np.stack([tc.preprocess_digit(a) for a in canvases])[:, None]
        naive = np.stack([shrink(a) for a in canvases])[:, None]
        results[digit, style] = (int((top_digit(model, ours) == digit).sum()),
                                 int((top_digit(model, naive) == digit).sum()), per_style)
        shown.append(canvases[0])
    return results, shown


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-style", type=int, default=40)
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--gallery", help="save one drawing of each style to this PNG")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = tc.load(args.model) if args.model else tc.pretrained()
    results, shown = run(model, args.per_style, args.seed)
    print(f"{'digit':>5}  {'style':16s}{'preprocessed':>14s}{'shrunk':>10s}")
    for (d, s), (ok, naive, n) in results.items():
        print(f"{d:>5}  {s:16s}{ok / n:>13.0%} {naive / n:>9.0%}")
    ok, naive, n = (sum(v[i] for v in results.values()) for i in range(3))
    print(f"\nall {n} drawings: preprocessed {ok / n:.1%}, shrunk {naive / n:.1%} "
          f"({len(results)} styles of {len(STYLES)} digits)")
    if args.gallery:
        tiles = [np.asarray(Image.fromarray(a, mode="F").resize((112, 112), Image.Resampling.BOX)) for a in shown]
        cols = 6
        rows = [np.concatenate(tiles[i:i + cols] + [np.zeros((112, 112))] * (cols - len(tiles[i:i + cols])), axis=1)
                for i in range(0, len(tiles), cols)]
        Image.fromarray((np.concatenate(rows) * 255).astype(np.uint8)).save(args.gallery)
    return 0


if __name__ == "__main__":
    sys.exit(main())
