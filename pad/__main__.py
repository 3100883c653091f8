"""python -m pad [--model PATH [--import MODULE]] [--image FILE] [--log PATH] [--size WxH] [--number] [--profile DIR]
python -m pad --predict FILE [FILE ...]      (no window: print the top-3 for each picture)
python -m pad --number --predict FILE ...    (print the number in each picture)

--model wins over the personal model of --profile, which is used only when no --model is given.
A model with layers of your own loads when the module that defines them is imported first:
--import mymodule (on the path, the current folder included) or --import path/to/mymodule.py.

--predict reads a picture as a number when --number is given or when its ink is more than
1.5 times as wide as it is tall (tc.looks_like_a_number); otherwise as one digit.

Every mistake (a missing or damaged file, a model that does not read digits, a log that cannot
be written, no display to open a window on) is one line on stderr and exit status 1, found
before the window opens."""
import argparse
import os
import sys
from pathlib import Path


import tinycnn as tc

from .models import ModelError, import_modules, load_model
from .theme import MIN_SIZE


DISPLAY_VARS = {"x11": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}  # SDL's drivers that need a display server
NO_WINDOW = "run it in a desktop session, or read pictures without a window: python -m pad --predict FILE"


class UsageError(Exception):
    """A mistake on the command line, said in one line."""


def no_display():
    """Why no window can open here, or None if one can as far as can be told without trying: on
    Linux and the BSDs, SDL needs DISPLAY (X11) or WAYLAND_DISPLAY, unless SDL_VIDEODRIVER names
    a driver that needs neither (dummy, offscreen, kmsdrm). Without this check SDL falls back to
    its offscreen driver, and the pad waits forever behind a window nobody can see."""
    if sys.platform in ("win32", "darwin"):
        return None
    asked = [d.strip().lower() for d in os.environ.get("SDL_VIDEODRIVER", "").split(",") if d.strip()]
    if any(d not in DISPLAY_VARS or os.environ.get(DISPLAY_VARS[d]) for d in asked or DISPLAY_VARS):
        return None  # (none asked: SDL tries X11 and Wayland)
    asked = f"SDL_VIDEODRIVER={os.environ['SDL_VIDEODRIVER']} but " if asked else ""
    return f"no display to open the window on ({asked}DISPLAY and WAYLAND_DISPLAY are not set); {NO_WINDOW}"


def open_display():
    """Start SDL's video on the display the environment names, or raise UsageError in one line.
    With only DISPLAY (or only WAYLAND_DISPLAY) set, SDL is told to use that one: a server that
    does not answer is then an error, where SDL would otherwise fall back to its offscreen
    driver without a word."""
    import pygame

    named = [d for d, var in DISPLAY_VARS.items() if os.environ.get(var)]
    if not os.environ.get("SDL_VIDEODRIVER") and len(named) == 1 and sys.platform not in ("win32", "darwin"):
        os.environ["SDL_VIDEODRIVER"] = named[0]
    try:
        pygame.display.init()
    except pygame.error as e:
        where = ", ".join(f"{var}={os.environ[var]}" for var in DISPLAY_VARS.values() if os.environ.get(var))
        raise UsageError(f"cannot open a window ({e}; {where or 'no display set'}); {NO_WINDOW}") from None
    driver = pygame.display.get_driver()
    if driver in ("offscreen", "dummy") and driver not in os.environ.get("SDL_VIDEODRIVER", ""):
        raise UsageError(f"no display to open the window on (SDL found none it could use); {NO_WINDOW}")


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
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 900x600, got {text!r}") from None
    if w < MIN_SIZE[0] or h < MIN_SIZE[1] or max(w, h) > 16384:
        raise UsageError(f"--size {text}: the window must be at least {MIN_SIZE[0]}x{MIN_SIZE[1]} (and at most 16384)")
    return w, h


def print_number(path, reading):
    """One line for a NumberReading: the number, then each digit's reading."""
    if reading.verdict not in ("number", "unsure"):
        print(f"{path}: {reading.verdict}")
        return
    each = "  ".join(str(d) for d in reading.digits)
    print(f"{path}: {reading.text}    digits: {each}")


def predict_files(model, paths, number=False):
    """Print what tc.read_digit (or tc.read_number, for a number) makes of each image file;
    returns the exit code (1 if any was unreadable)."""
    status = 0
    for path in paths:
        try:
            image = tc.read_digit_image(path)
        except tc.DigitImageError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        if number or tc.looks_like_a_number(image):
            print_number(path, tc.read_number(image, model))
            continue
        reading = tc.read_digit(image, model)
        if reading.verdict in ("blank", "too small"):
            print(f"{path}: {reading.verdict}")
            continue
        top = "  ".join(f"{d} ({p:.1%})" for d, p in reading.top(3))
        print(f"{path}: {reading}    top 3: {top}")
    return status


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m pad", description="Draw a digit; tinycnn reads it live.")
    p.add_argument("--model", help="model file (.npz) to read with, instead of the shipped one or your personal one")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import this module (or .py file) first: the one that defines the model's own layers")
    p.add_argument("--image", help="start with this picture of a digit on the canvas")
    p.add_argument("--log", help="append one JSON object per event to this file")
    p.add_argument("--size", default="900x600", help="window size, WxH")
    p.add_argument("--profile", help=f"folder of your labelled drawings and personal model "
                                     f"(default: {tc.default_profile_dir()})")
    p.add_argument("--predict", nargs="+", metavar="FILE", help="no window: print the top-3 for each image")
    p.add_argument("--views", type=int, default=None, metavar="K",
                   help="read each drawing K times, slightly scaled or turned, and average (1-9; default: the pad's)")
    p.add_argument("--number", action="store_true",
                   help="number mode: a wide canvas read as a number; with --predict, read each image as a number")
    args = p.parse_args(argv)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        if args.views is not None and not 1 <= args.views <= 9:
            raise UsageError(f"--views {args.views}: give a number of views from 1 to 9")
        for flag, path in (("--model", args.model), ("--image", args.image)):
            if path is not None and not os.path.exists(path):  # a mistyped name, before anything else
                raise UsageError(f"{flag} {path}: no such file")
        if not args.predict:  # the window's own checks first: they cost nothing
            size = parse_size(args.size)
            if args.log:
                check_log(args.log)
            if no_display():
                raise UsageError(no_display())
            open_display()
        try:
            import_modules(args.imports)
            model = load_model(args.model)
        except ModelError as e:
            raise UsageError(str(e)) from None
        if args.predict:
            return predict_files(model, args.predict, args.number)
        if args.image:
            try:
                tc.read_digit_image(args.image)
            except tc.DigitImageError as e:
                raise UsageError(str(e)) from None
        import pygame

        from .app import PadApp

        try:
            app = PadApp(model, size=size, log_path=args.log, image=args.image, number=args.number,
                         profile=args.profile or tc.default_profile_dir(), model_path=args.model,
                         imports=args.imports, **({"views": args.views} if args.views else {}))
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
