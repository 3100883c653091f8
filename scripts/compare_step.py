"""Time a training step (the seed network, or --net resnet) with this checkout's tinycnn and with the one at a
git revision, in one process, interleaved step by step (the machine is shared and noisy, so
old and new see the same load).

    python scripts/compare_step.py                 # against HEAD~1, batch 64, 200 rounds
    python scripts/compare_step.py main --batch 128 --rounds 400
    python scripts/compare_step.py 8729085 --net resnet --batch 128 --rounds 60

Prints the median and the 10th-90th percentile of each, and their ratio.
"""
import argparse
import importlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_at(rev, where):
    """The package `tinycnn` as it was at `rev`, imported under the name tinycnn_<rev>."""
    name = "tinycnn_" + "".join(c if c.isalnum() else "_" for c in rev)
    blob = subprocess.run(["git", "-C", ROOT, "archive", rev, "tinycnn"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(where, filter="data")
    os.rename(os.path.join(where, "tinycnn"), os.path.join(where, name))
    backend = os.path.join(where, name, "backend.py")
    with open(backend) as f:  # the module names the backend imports by name: the old package's own
        text = f.read().replace('"tinycnn.', f'"{name}.')
    with open(backend, "w") as f:
        f.write(text)
    sys.path.insert(0, where)
    return importlib.import_module(name)


def step_fn(tc, batch, net):
    """One Adam training step of the `net` network ("seed" or "resnet") on fixed random data."""
    try:  # the digit application moved into tinycnn.digits
        arch = importlib.import_module(tc.__name__ + ".digits.architectures")
    except ImportError:
        arch = importlib.import_module(tc.__name__ + ".architectures")
    tc.seed(0)
    model = arch.ARCHITECTURES[net]()
    opt = tc.Adam(model, lr=1e-4)
    rng = np.random.default_rng(0)
    x, y = rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)

    def step():
        _, d = tc.softmax_cross_entropy(model.forward(x), y)
        model.backward(d)
        opt.step()
        opt.zero_grad()
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", nargs="?", default="HEAD~1")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--net", default="seed", choices=("seed", "resnet"))
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    import tinycnn
    with tempfile.TemporaryDirectory() as tmp:
        steps = {"new (this checkout)": step_fn(tinycnn, args.batch, args.net),
                 f"old ({args.rev})": step_fn(import_at(args.rev, tmp), args.batch, args.net)}
        times = {k: [] for k in steps}
        for _ in range(5):
            for fn in steps.values():
                fn()  # compile, warm caches
        for _ in range(args.rounds):
            for k, fn in steps.items():
                t = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t) * 1e3)
    for k, ts in times.items():
        p10, med, p90 = np.percentile(ts, [10, 50, 90])
        print(f"{k:<24} median {med:7.2f} ms   p10-p90 [{p10:.2f}, {p90:.2f}]")
    (new, old) = (np.median(ts) for ts in times.values())
    print(f"new / old: {new / old:.3f}")


if __name__ == "__main__":
    main()
