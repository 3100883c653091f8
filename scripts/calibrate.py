"""Fit a model's temperature and reading thresholds again: python scripts/calibrate.py MODEL [--out PATH]

Rebuilds the held-out set training calibrated on (the model's MNIST validation digits, found
from the seed, split and limit in its meta, generated digits and non-digits from the "calibrate"
seed stream, and, for a model trained with real pen digits, the dev_tune writers' digits), fits the temperature on one half and the thresholds on the other
(see tinycnn.digits.calibration), prints the ECE before and after, and writes the model back with
meta["calibration"] updated (to --out, else in place; atomically).
"""
import argparse
import os
import sys

import tinycnn as tc
from tinycnn.digits.calibration import calibrate, calibration_set
from tinycnn.digits.train import Config, pen_training_set, validation_split


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model file (.npz)")
    ap.add_argument("--out", help="where to write the calibrated model (default: MODEL itself)")
    ap.add_argument("--data", help="MNIST folder (default: the fetch command's)")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.model):
        print(f"error: no model file at {args.model}", file=sys.stderr)
        return 1
    try:
        model = tc.load(args.model)
        outputs = tc.check_digit_reader(model, args.model)
        xtr, ytr, _, _ = tc.load_mnist(args.data)
    except (tc.ModelFileError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    meta = dict(model.meta)
    val = meta.get("validation", {"seed": meta.get("seed", 0), "split": 5000, "limit": 0})
    n = val["limit"] or len(xtr)
    held_out, _ = validation_split(n, val["seed"], val["split"])  # the images training held out
    mix = meta.get("training_mix", {})
    pen = None
    if mix.get("pen"):  # the dev_tune writers' digits, drawn as training drew them
        cfg = Config(seed=val["seed"], limit=val["limit"], pen_per_writer=mix.get("pen_per_writer", 150))
        pen = pen_training_set(cfg, min(1.0, val["limit"] / 60000) if val["limit"] else 1.0, log=lambda *a: None)[2]
    images, labels = calibration_set(xtr[held_out], ytr[held_out], val["seed"],
                                     non_digits=1500 if outputs == 11 else 0, extra=pen)
    cal = calibrate(model, images, labels)
    meta["calibration"] = cal
    model.save(args.out or args.model, meta=meta)
    print(f"temperature {cal['temperature']:.3f}: ECE on the tuning half {cal['ece_before']:.2%} -> "
          f"{cal['ece_after']:.2%}; unsure below {cal['unsure']:.2f}, not a digit from {cal['not_a_digit']:.2f}; "
          f"written to {args.out or args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
