"""Fine-tune a model to one person's handwriting, from a folder of labelled pictures or a pad profile.

    python scripts/personalize.py --images DIR --out mine.npz     # DIR/7_anything.png or DIR/7/anything.png
    python scripts/personalize.py --profile [DIR]                 # the pad's profile (default folder if no DIR)
    options: --model BASE.npz (default: the shipped model)  --seed 0  --steps N  --freeze features|none

From a folder, every picture is read as the pad reads a drawing (tc.read_digit_image, then
tc.preprocess_digit) and learned from (at most the last 50 of each digit); the model goes to --out.
From a profile, every fifth drawing of each digit is held back to measure before -> after, and
the model is saved in the profile, where the pad picks it up (--out writes a copy elsewhere too).
Either way 1,000 MNIST digits held out of training are read before and after: a model that
forgets MNIST (or reads the held-back drawings worse) is reported as worse and not saved.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import tinycnn as tc
from tinycnn.digits.reading import drawing_input
from tinycnn.digits.personalize import DEFAULTS, judge

PICTURES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def labelled_pictures(folder):
    """[(path, digit)] for DIR/<digit>_*.ext and DIR/<digit>/*.ext pictures, sorted by path."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() not in PICTURES or not path.is_file():
            continue
        rel = path.relative_to(folder).parts
        tag = rel[0] if len(rel) > 1 else path.name.split("_")[0]
        if len(tag) == 1 and tag.isdigit():
            found.append((path, int(tag)))
    return found


def read_folder(folder):
    """(images float32 (N, 1, 28, 28), labels (N,)); raises tc.DigitImageError naming a bad file."""
    pairs = labelled_pictures(folder)
    if not pairs:
        raise tc.DigitImageError(f"{folder}: no labelled pictures (name them 7_anything.png or put them in "
                                 f"subfolders 0-9)")
    images = []
    for path, _ in pairs:
        picture = tc.read_digit_image(path)
        if tc.is_blank(picture):
            raise tc.DigitImageError(f"{path}: no ink found (a blank picture cannot teach a digit)")
        images.append(drawing_input(picture)[0])  # what tc.read_digit would read
    return np.stack(images)[:, None].astype(np.float32), np.array([d for _, d in pairs])


def check_out(path):
    folder = Path(path).resolve().parent
    while not folder.exists():
        folder = folder.parent
    if Path(path).is_dir() or not os.access(folder, os.W_OK):
        raise OSError(f"cannot write the model to {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", metavar="DIR", help="folder of labelled pictures")
    src.add_argument("--profile", nargs="?", const="", metavar="DIR",
                     help=f"a pad profile (default: {tc.default_profile_dir()})")
    ap.add_argument("--out", help="model file to write (required with --images)")
    ap.add_argument("--model", help="the model to start from (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    ap.add_argument("--freeze", choices=("features", "none"), default="features")
    args = ap.parse_args(argv)
    if args.images is not None and not args.out:
        ap.error("--images needs --out FILE")
    try:
        if args.out:
            check_out(args.out)
        if args.images is not None and not Path(args.images).is_dir():
            raise OSError(f"no such folder: {args.images}")
        base = tc.load(args.model) if args.model else tc.pretrained()
        t0 = time.perf_counter()
        options = dict(seed=args.seed, steps=args.steps, freeze=args.freeze)
        if args.images is not None:
            images, labels = read_folder(args.images)
            model = tc.personalize(base, images, labels, **options)
            info = model.meta["personalized"]
            print(f"learned from {info['used']} of {len(labels)} pictures (per digit {info['per_digit']})")
            better, summary = judge(0, None, None, info["replay"])
        else:
            profile = tc.Profile(args.profile or None)
            if profile.check() == 0:
                raise tc.ProfileError(f"profile {profile.folder}: has no labelled drawings yet")
            model, report = profile.learn(base, **options)
            better, summary = report["switched"], report["summary"]
            print(f"learned from {report['trained']} drawings of {profile.folder}")
        print(summary)
        if better and args.images is None:
            print(f"model: {profile.model_path}")
        if args.out and not better:
            print(f"{args.out} not written: the new model is worse")
        elif args.out:
            model.save(args.out, meta=model.meta)
            print(f"model: {args.out}")
        print(f"{time.perf_counter() - t0:.1f} s")
    except FileNotFoundError as e:
        print(f"error: file not found: {e.filename or e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:  # DigitImageError, ProfileError, PersonalizeError, ModelFileError
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
