"""python -m pad [--model PATH] [--image FILE] [--log PATH] [--size WxH] [--profile DIR]
python -m pad --predict FILE [FILE ...]      (no window: print the top-3 for each picture)"""
import argparse
import os
import sys

import tinycnn as tc


def load_model(path):
    """The model at `path`, or the shipped one; exits with one clear message if it cannot be read."""
    try:
        return tc.load(path) if path else tc.pretrained()
    except FileNotFoundError:
        sys.exit(f"error: model file not found: {path or tc.pretrained_path()}")
    except tc.ModelFileError as e:
        sys.exit(f"error: cannot use model: {e}")


def predict_files(model, paths):
    """Print what tc.read_digit makes of each image file; returns the exit code (1 if any was unreadable)."""
    status = 0
    for path in paths:
        try:
            reading = tc.read_digit(tc.read_digit_image(path), model)
        except tc.DigitImageError as e:
            print(f"{path}: error: {e}", file=sys.stderr)
            status = 1
            continue
        if reading.verdict in ("blank", "too small"):
            print(f"{path}: {reading.verdict}")
            continue
        top = "  ".join(f"{d} ({p:.1%})" for d, p in reading.top(3))
        print(f"{path}: {reading}    top 3: {top}")
    return status


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m pad", description="Draw a digit; tinycnn reads it live.")
    p.add_argument("--model", help="model file (.npz) to use instead of the shipped one")
    p.add_argument("--image", help="start with this picture of a digit on the canvas")
    p.add_argument("--log", help="append one JSON object per event to this file")
    p.add_argument("--size", default="900x600", help="window size, WxH")
    p.add_argument("--profile", help=f"folder of your labelled drawings and personal model "
                                     f"(default: {tc.default_profile_dir()})")
    p.add_argument("--predict", nargs="+", metavar="FILE", help="no window: print the top-3 for each image")
    args = p.parse_args(argv)
    model = load_model(args.model)
    if args.predict:
        return predict_files(model, args.predict)
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        assert len(size) == 2 and min(size) > 0
    except (ValueError, AssertionError):
        p.error(f"--size must look like 900x600, got {args.size!r}")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from .app import PadApp

    app = PadApp(model, size=size, log_path=args.log, image=args.image,
                 profile=args.profile or tc.default_profile_dir(), model_path=args.model)
    print(f"READY window {size[0]}x{size[1]} canvas {tuple(app.rect)}", flush=True)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
