"""How much does personalising help a writer? Simulated writers, before and after tc.personalize.

    python scripts/personalize_check.py [--writers 12] [--test-per-digit 20] [--sizes 10 30 100]
        [--set freeze=none --set steps=100 ...] [--model PATH] [--mnist] [--seed 0]

Each writer (scripts/checks/writers.py: their own style of each digit, slant, size and pen) draws a pool of 10
of each digit to learn from and `--test-per-digit` more of each to be read. For every N in
--sizes, the first N/10 of each digit are given to tc.personalize; the writer's test digits are
read before and after. Prints per-writer accuracy, the mean and the hardest writer, and the time
per personalize call; --mnist also scores each N's model of the first writer on MNIST's test set.
"""
import argparse
import json
import sys
import time

import numpy as np

import tinycnn as tc
from checks.writers import drawings, make_writer


def option(text):
    key, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def accuracy(model, x, y):
    return float(np.mean(tc.predict_digits(model, x) == y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writers", type=int, default=12)
    ap.add_argument("--test-per-digit", type=int, default=20)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100])
    ap.add_argument("--set", type=option, action="append", default=[], metavar="KEY=VALUE",
                    help="a tc.personalize option, e.g. freeze=none or steps=100")
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--mnist", action="store_true", help="also score the first writer's models on MNIST test")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if any(n % 10 or not 10 <= n <= 100 for n in args.sizes):
        ap.error("--sizes must be multiples of 10 from 10 to 100 (the same number of each digit)")
    options = dict(args.set)
    model = tc.load(args.model) if args.model else tc.pretrained()
    mnist = tc.load_mnist() if args.mnist else None
    rng = np.random.default_rng(args.seed)
    before, after, times = [], {n: [] for n in args.sizes}, []
    print(f"options: {options or 'defaults'}")
    print(f"{'writer':>6}  {'styles of 1 4 7 9':32s}{'before':>8}" + "".join(f"{'N=' + str(n):>8}" for n in args.sizes))
    for w in range(args.writers):
        writer = make_writer(rng)
        # rounds of 0-9: the first N hold N/10 of each digit
        pool_x, pool_y = drawings(writer, np.tile(np.arange(10), 10), rng)
        test_x, test_y = drawings(writer, np.repeat(np.arange(10), args.test_per_digit), rng)
        before.append(accuracy(model, test_x, test_y))
        row = []
        for n in args.sizes:
            t0 = time.perf_counter()
            personal = tc.personalize(model, pool_x[:n], pool_y[:n], seed=w, **options)
            times.append(time.perf_counter() - t0)
            after[n].append(accuracy(personal, test_x, test_y))
            row.append(after[n][-1])
            if mnist is not None and w == 0:
                xte, yte = mnist[2], mnist[3]
                print(f"        writer 0, N={n}: MNIST test {accuracy(personal, xte[:, None] / np.float32(255), yte):.2%}")
        styles = "/".join(writer.style[d] for d in (1, 4, 7, 9))
        print(f"{w:>6}  {styles[:31]:32s}{before[-1]:>8.1%}" + "".join(f"{a:>8.1%}" for a in row), flush=True)
    print(f"{'mean':>6}  {'':32s}{np.mean(before):>8.1%}" + "".join(f"{np.mean(after[n]):>8.1%}" for n in args.sizes))
    print(f"{'worst':>6}  {'':32s}{np.min(before):>8.1%}" + "".join(f"{np.min(after[n]):>8.1%}" for n in args.sizes))
    print(f"personalize: {np.mean(times):.2f} s per call on average, {np.max(times):.2f} s at most "
          f"({len(times)} calls, N in {args.sizes})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
