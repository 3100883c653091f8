"""Once real pen digits are in the training data, do the generated digits and the stroke
thickening still help? Trains each mix with a few seeds and reads the dev writers.

    python scripts/pen_ablation.py [--epochs 4] [--limit 30000] [--seeds 0 1] [--out runs/ablation]

Every run is `python scripts/train.py` with the defaults but for what the mix changes, and
shorter: --epochs and --limit (half of MNIST by default, and every added set in proportion),
to keep the whole table to about an hour on 2 cores.
A run whose model exists is not trained again, so the script can be stopped and started again.
The mixes are judged on the dev_tune writers (decisions are made there) and reported on the
dev_report writers too; neither set is ever trained on (tinycnn.data.unipen.writer_split).
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path


import tinycnn as tc
from reading_check import real_writers, report_readings

MIXES = {  # name: the train.py options that make it
    "pen + generated + thickening": [],
    "pen + thickening (no generated digits)": ["--synthetic", "0"],
    "pen + generated (no thickening)": ["--thicken", "0", "--thin", "0"],
    "MNIST + generated + thickening (no pen)": ["--pen-per-writer", "0"],
}


def read_figures(model, real):
    """reading_check's figures (accuracy, per digit, confidently wrong...) of the digits read from
    their pixels as the pad reads a picture."""
    images, _, labels, writers = real
    return report_readings("", [tc.read_digit(a, model) for a in images], labels, writers, out=lambda *a: None)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=4, help="epochs per run (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=30000,
                    help="MNIST training images per run, the added drawings in proportion (default: %(default)s)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="(default: %(default)s)")
    ap.add_argument("--mixes", nargs="+", type=int, help="indices of MIXES to run (default: all)")
    ap.add_argument("--out", default="runs/ablation", help="folder of the runs (default: %(default)s)")
    args = ap.parse_args(argv)
    dev = {part: real_writers(None, seed=0, part=part) for part in ("dev_tune", "dev_report")}
    if any(v is None for v in dev.values()):
        print("error: UNIPEN is missing; fetch it with: python -m tinycnn.data fetch unipen", file=sys.stderr)
        return 1
    rows = []
    names = list(MIXES)
    for i in args.mixes if args.mixes is not None else range(len(names)):
        for seed in args.seeds:
            out = Path(args.out) / f"mix{i}-seed{seed}" / "model.npz"
            if not out.is_file():
                cmd = [sys.executable, "scripts/train.py", "--epochs", str(args.epochs), "--limit", str(args.limit),
                       "--seed", str(seed), "--out", str(out), *MIXES[names[i]]]
                print(" ".join(cmd[1:]), flush=True)
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            model = tc.load(out)
            row = dict(mix=names[i], seed=seed, mnist=model.meta["test_accuracy"],
                       **{part: read_figures(model, real) for part, real in dev.items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
    (Path(args.out) / "ablation.json").write_text(json.dumps(rows, indent=1))
    print("\n| mix | seed | MNIST | dev_tune | dev_report | confidently wrong (report) | 1 | 9 | worst digit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rep = r["dev_report"]
        worst = min(rep["per_digit"].items(), key=lambda kv: kv[1])
        print(f"| {r['mix']} | {r['seed']} | {r['mnist']:.2%} | {r['dev_tune']['accuracy']:.2%} | {rep['accuracy']:.2%} "
              f"| {rep['confidently_wrong']:.2%} | {rep['per_digit'][1]:.1%} | {rep['per_digit'][9]:.1%} "
              f"| {worst[0]}: {worst[1]:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
