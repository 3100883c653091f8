"""Where fetched data lives: one folder for everything a user fetches, found from any folder."""
import os
import sys
from pathlib import Path


def data_root():
    """The folder that holds every fetched data set, one subfolder each (mnist/, unipen/).

    $TINYCNN_DATA when set; else the user's data folder: %LOCALAPPDATA%\\tinycnn on Windows,
    $XDG_DATA_HOME/tinycnn, else ~/.local/share/tinycnn, on Linux and macOS. Not the checkout:
    a script run from any folder, or after a non-editable install, finds the same data.
    Returns a Path (the folder may not exist yet).
    """
    if os.environ.get("TINYCNN_DATA"):
        return Path(os.environ["TINYCNN_DATA"]).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "tinycnn"
    # XDG says a relative $XDG_DATA_HOME is invalid and must be ignored.
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "tinycnn"
    return Path.home() / ".local" / "share" / "tinycnn"


def fetch_command(argv, prog, description, fetch, default, needs=None):
    """The command line of one data set's fetch: --from DIR (a folder to copy from instead of
    downloading; `needs`, a file name it must hold) and --dest DIR (default `default`). Checks
    what it can before any work; a mistake, or a fetch that fails, is one line on stderr.
    fetch(dest=, source=) does the work. Returns (exit status, the folder fetched into or None)."""
    import argparse

    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--from", dest="source", metavar="DIR",
                   help=f"copy {needs or 'the files'} from this folder instead of downloading")
    p.add_argument("--dest", metavar="DIR", help=f"where to put it (default: {default})")
    args = p.parse_args(argv)
    try:
        if args.source is not None and not Path(args.source).is_dir():
            raise RuntimeError(f"--from {args.source}: no such folder")
        if args.source is not None and needs and not (Path(args.source) / needs).is_file():
            raise RuntimeError(f"--from {args.source}: no {needs} in that folder")
        if args.dest is not None and Path(args.dest).exists() and not Path(args.dest).is_dir():
            raise RuntimeError(f"--dest {args.dest} is not a folder")
        return 0, fetch(dest=args.dest, source=args.source)
    except (RuntimeError, OSError, ValueError) as e:  # a folder that cannot be made, a full disk, ...
        print(f"error: {e}", file=sys.stderr)
        return 1, None
