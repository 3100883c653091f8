"""python -m pad [--model PATH] [--image FILE] [--log PATH] [--size WxH]
python -m pad --predict FILE [FILE ...]      (no window: print the top-3 for each picture)

Every mistake (a missing or damaged file, a model that does not read digits, a log that cannot
be written) is one line on stderr and exit status 1, found before the window opens."""
import argparse
import os
import sys
from pathlib import Path

import tinycnn as tc

CLASS_NAMES = [str(d) for d in range(10)] + ["not a digit"]


class UsageError(Exception):
    """A mistake on the command line, said in one line."""


def load_model(path):
    """The model at `path`, or the shipped one, checked to read (1, 28, 28) digits."""
    try:
        model = tc.load(path) if path else tc.pretrained()
        tc.check_digit_reader(model, str(path or tc.pretrained_path()))
    except FileNotFoundError:
        raise UsageError(f"model file not found: {path or tc.pretrained_path()}") from None
    except tc.ModelFileError as e:
        raise UsageError(f"cannot use model: {e}") from None
    return model


def check_log(path):
    """Refuse a --log that cannot be appended to (a directory, a missing folder, no permission)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--log {path} is a directory; give a file name, such as {p / 'events.jsonl'}")
    if not p.parent.is_dir():
        raise UsageError(f"--log {path}: the folder {p.parent} does not exist")
    if p.exists() and not p.is_file():
        raise UsageError(f"--log {path} is not a regular file")
    try:
        with open(p, "a"):
            pass
    except OSError as e:
        raise UsageError(f"--log {path}: cannot write it ({e.strerror or e})") from None


def parse_size(text):
    from .app import MIN_SIZE

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 900x600, got {text!r}") from None
    if w < MIN_SIZE[0] or h < MIN_SIZE[1] or max(w, h) > 16384:
        raise UsageError(f"--size {text}: the window must be at least {MIN_SIZE[0]}x{MIN_SIZE[1]} (and at most 16384)")
    return w, h


def predict_files(model, paths):
    """Print the top-3 for each image file; returns the exit code (1 if any was unreadable)."""
    status = 0
    for path in paths:
        try:
            digit = tc.preprocess_digit(tc.read_digit_image(path))
        except tc.DigitImageError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        if not digit.any():
            print(f"{path}: blank (no ink found)")
            continue
        probs = model.predict_proba(digit[None, None])[0]
        top = probs.argsort()[::-1][:3]
        print(f"{path}: " + "  ".join(f"{CLASS_NAMES[d]} ({probs[d]:.1%})" for d in top))
    return status


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m pad", description="Draw a digit; tinycnn reads it live.")
    p.add_argument("--model", help="model file (.npz) to use instead of the shipped one")
    p.add_argument("--image", help="start with this picture of a digit on the canvas")
    p.add_argument("--log", help="append one JSON object per event to this file")
    p.add_argument("--size", default="900x600", help="window size, WxH")
    p.add_argument("--predict", nargs="+", metavar="FILE", help="no window: print the top-3 for each image")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model)
        if args.predict:
            return predict_files(model, args.predict)
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        size = parse_size(args.size)
        if args.log:
            check_log(args.log)
        if args.image:
            try:
                tc.read_digit_image(args.image)
            except tc.DigitImageError as e:
                raise UsageError(str(e)) from None
        import pygame

        from .app import PadApp

        try:
            app = PadApp(model, size=size, log_path=args.log, image=args.image)
        except pygame.error as e:
            raise UsageError(f"cannot open a window ({e})") from None
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"READY window {size[0]}x{size[1]} canvas {tuple(app.rect)}", flush=True)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
