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
