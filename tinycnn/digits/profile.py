"""A user's profile: their labelled drawings and their personal model, in a folder of their own.

The folder (default: `default_profile_dir()`, in the user's data directory, never in the checkout
or the package) holds:

    profile.json   {"format": "tinycnn-profile-1", "count": N}, written last: it vouches for the rest
    images.idx     uint8 (N, 28, 28): each drawing as the model reads it (Reading.input * 255)
    labels.idx     uint8 (N,): the digit the user said it is
    strokes.json   {"format": "tinycnn-strokes-1", "drawings": [{"label", "canvas", "strokes":
                   [{"kind": "ink" or "erase", "radius", "points": [[x, y], ...]}]}]}, canvas pixels
    model.npz      the personal model (tc.load), when one has been learned

Every file is written atomically (temp file, then rename). A folder that is not a profile, or
whose files disagree, raises ProfileError naming the folder and the fault.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..data import IDXError, read_idx, write_idx
from ..fileio import atomic_open
from ..model import ModelFileError, load
from .personalize import check_examples, personalize
from .pretrained import check_digit_reader
from .reading import predict_digits

FORMAT = "tinycnn-profile-1"
STROKES_FORMAT = "tinycnn-strokes-1"


class ProfileError(ValueError):
    """A profile folder that cannot be used; the message names the folder and the fault."""


def default_profile_dir():
    """The per-user profile folder: $XDG_DATA_HOME/tinycnn or ~/.local/share/tinycnn on Linux,
    ~/Library/Application Support/tinycnn on macOS, %APPDATA%\\tinycnn on Windows."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tinycnn"


def _read_json(path):
    """The JSON in `path`, or None if it cannot be read or parsed."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


class Profile:
    """The profile in `folder` (created on the first write). Reading a damaged or foreign folder
    raises ProfileError; nothing is written to a folder that is not a profile."""

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder is not None else default_profile_dir()
        self.model_path = self.folder / "model.npz"

    def _fail(self, problem):
        raise ProfileError(f"profile {self.folder}: {problem}")

    def check(self):
        """The number of drawings the profile vouches for (0 for a new or empty folder)."""
        if self.folder.exists() and not self.folder.is_dir():
            self._fail("is a file, not a folder")
        meta = self.folder / "profile.json"
        if not meta.exists():
            if self.folder.exists() and any(self.folder.iterdir()):
                self._fail("not a tinycnn profile (it has other files and no profile.json); "
                           "choose an empty or new folder")
            return 0
        info = _read_json(meta)
        count = info.get("count") if isinstance(info, dict) else None
        if not isinstance(count, int) or count < 0 or info.get("format") != FORMAT:
            self._fail(f"profile.json is damaged or of an unknown format (expected {FORMAT})")
        return count

    def load_set(self):
        """(images uint8 (N, 28, 28), labels uint8 (N,), strokes: list of N dicts or None)."""
        count = self.check()
        if count == 0:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), []
        try:
            images, labels = read_idx(self.folder / "images.idx"), read_idx(self.folder / "labels.idx")
        except (IDXError, OSError) as e:
            self._fail(f"cannot read the drawings ({e})")
        if images.shape != (count, 28, 28) or labels.shape != (count,) or images.dtype != np.uint8 \
                or labels.dtype != np.uint8 or (labels > 9).any():
            self._fail(f"the drawings do not match profile.json: images {images.dtype} {images.shape}, "
                       f"labels {labels.dtype} {labels.shape}, expected {count} of each, labels 0-9")
        strokes = [None] * count
        path = self.folder / "strokes.json"
        if path.exists():
            data = _read_json(path)
            if not (isinstance(data, dict) and data.get("format") == STROKES_FORMAT
                    and isinstance(data.get("drawings"), list) and len(data["drawings"]) == count):
                self._fail("strokes.json is damaged or does not match the drawings")
            strokes = data["drawings"]
        return images, labels, strokes

    def counts(self):
        """(10,) how many drawings of each digit the profile holds."""
        return np.bincount(self.load_set()[1], minlength=10)

    def add(self, image, label, strokes=None, canvas=None):
        """Add one labelled drawing. image: (28, 28) float in [0, 1] (Reading.input); label 0-9;
        strokes: the pen strokes it was drawn with (see the module doc), canvas: their canvas size.
        Returns the new counts per digit (10,)."""
        image = np.asarray(image, np.float32)
        check_examples(image.reshape(1, 1, 28, 28), np.array([label]))
        images, labels, drawn = self.load_set()
        images = np.concatenate([images, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)[None]])
        labels = np.append(labels, np.uint8(label))
        drawn = drawn + [{"label": int(label), "canvas": canvas, "strokes": strokes or []}]
        self._write_set(images, labels, drawn)
        return np.bincount(labels, minlength=10)

    def _write_set(self, images, labels, drawn):
        self.folder.mkdir(parents=True, exist_ok=True)
        write_idx(self.folder / "images.idx", images)
        write_idx(self.folder / "labels.idx", labels)
        with atomic_open(self.folder / "strokes.json", "w") as f:
            json.dump({"format": STROKES_FORMAT, "drawings": drawn}, f)
        with atomic_open(self.folder / "profile.json", "w") as f:  # last: it vouches for the files above
            json.dump({"format": FORMAT, "count": int(len(labels))}, f)

    def load_model(self):
        """The personal model, or None if none has been learned (or it was reset)."""
        self.check()
        if not self.model_path.exists():
            return None
        try:
            model = load(self.model_path)
            check_digit_reader(model, str(self.model_path))
            return model
        except (ModelFileError, OSError) as e:
            self._fail(f"the personal model cannot be read ({e})")

    def save_model(self, model):
        self.check()
        model.save(self.model_path, meta=getattr(model, "meta", {}))

    def reset_model(self):
        """Go back to the shipped model: the personal model is removed, the drawings stay.
        Returns True if there was one."""
        self.check()
        if self.model_path.exists():
            self.model_path.unlink()
            return True
        return False

    def learn(self, base, seed=0, progress=None, holdout=5, **options):
        """Personalise `base` on this profile's drawings, keeping back every `holdout`-th drawing of
        each digit (of those with at least 2) to measure it. Saves and returns (model, report):
        report = {"trained": n, "held": m, "before": accuracy of `base` on the held drawings,
        "after": that of the new model} (accuracies None when nothing is held back)."""
        images, labels, _ = self.load_set()
        if len(labels) == 0:
            self._fail("has no labelled drawings yet")
        held = np.zeros(len(labels), bool)
        for d in range(10):
            mine = np.flatnonzero(labels == d)
            if len(mine) >= 2:
                held[mine[holdout - 1::holdout] if len(mine) >= holdout else mine[-1:]] = True
        x = images[:, None].astype(np.float32) / np.float32(255)
        y = labels.astype(np.int64)
        model = personalize(base, x[~held], y[~held], seed=seed, progress=progress, **options)
        report = {"trained": int((~held).sum()), "held": int(held.sum()), "before": None, "after": None}
        if held.any():
            report["before"] = float(np.mean(predict_digits(base, x[held]) == y[held]))
            report["after"] = float(np.mean(predict_digits(model, x[held]) == y[held]))
        model.meta["personalized"]["held_out"] = report
        self.save_model(model)
        return model, report
