"""Reading a profile of the old folder format, once, so that tinycnn.Profile moves it into its database.

The old format (tinycnn-profile-1) rewrote four files one after another on every add:

    images.idx     uint8 (N, 28, 28)
    labels.idx     uint8 (N,)
    strokes.json   {"format": "tinycnn-strokes-1", "drawings": [{"label", "canvas", "strokes"}, ...]}
    profile.json   {"format": "tinycnn-profile-1", "count": N}, written last
    model.npz      the personal model

A kill between those writes left files that disagree (images.idx one drawing ahead of
labels.idx, profile.json behind both): what they agree on is read, and the rest is named in
`skipped`. A damaged strokes.json (cut short, deeply nested, huge) costs only the strokes from
the damage on, never the images and labels: it is read one drawing at a time.
"""
import json
import re
from dataclasses import dataclass, field

import numpy as np

from ..data import IDXError, read_idx
from .profile_format import encode_strokes

OLD_FILES = ("images.idx", "labels.idx", "strokes.json", "profile.json", "model.npz")
MAX_OLD_STROKES_BYTES = 1 << 30   # a strokes.json larger than this is left unread (kept aside)
MAX_OLD_JSON_BYTES = 1 << 20      # profile.json is a few bytes
_DRAWINGS = re.compile(r'\s*\{\s*"format"\s*:\s*"tinycnn-strokes-1"\s*,\s*"drawings"\s*:\s*\[')


@dataclass
class OldProfile:
    """What could be read of an old profile: images uint8 (N, 28, 28), labels uint8 (N,),
    strokes: N encoded strokes or None, canvases: N widths or None, and what was skipped."""

    images: np.ndarray
    labels: np.ndarray
    strokes: list
    canvases: list
    skipped: list = field(default_factory=list)


def old_files(folder):
    """The old-format files present in `folder` (names)."""
    return [name for name in OLD_FILES if (folder / name).is_file()]


def _drawings(folder, skipped):
    """(images, labels) the two idx files agree on; ValueError if one is unreadable."""
    arrays = {}
    for name, shape in (("images.idx", (28, 28)), ("labels.idx", ())):
        try:
            a = read_idx(folder / name)
        except FileNotFoundError:
            a = np.zeros((0, *shape), np.uint8)
        except IDXError as e:
            raise ValueError(f"cannot migrate the old profile: {e}") from None
        if a.dtype != np.uint8 or a.shape[1:] != shape:
            raise ValueError(f"cannot migrate the old profile: {name} holds {a.dtype} {a.shape}, "
                             f"expected uint8 (N{', 28, 28' if shape else ''})")
        arrays[name] = a
    images, labels = arrays["images.idx"], arrays["labels.idx"]
    if len(images) != len(labels):
        skipped.append(f"images.idx holds {len(images)} drawings and labels.idx {len(labels)} (a write was "
                       f"interrupted): the {min(len(images), len(labels))} both hold were kept")
    n = min(len(images), len(labels))
    return images[:n], labels[:n]


def _count(folder, n, skipped):
    """Note where profile.json disagrees with the drawings (it is never needed to read them)."""
    path = folder / "profile.json"
    if not path.is_file():
        return
    try:
        info = json.loads(path.read_bytes()[:MAX_OLD_JSON_BYTES])
        count = info.get("count") if isinstance(info, dict) else None
    except (OSError, ValueError, RecursionError):
        count = None
    if count is None:
        skipped.append("profile.json is damaged: the drawings were read without it")
    elif count != n:
        skipped.append(f"profile.json counts {count} drawings, the files hold {n}")


def _strokes_json(folder, n, skipped):
    """The first drawings' entries of strokes.json, read one at a time (at most n); [] if none."""
    path = folder / "strokes.json"
    if not path.is_file():
        return []
    size = path.stat().st_size
    if size > MAX_OLD_STROKES_BYTES:
        skipped.append(f"strokes.json is {size >> 20} MB, more than {MAX_OLD_STROKES_BYTES >> 20} MB: "
                       f"no strokes were migrated (the images and labels were)")
        return []
    text = path.read_bytes().decode("utf-8", errors="replace")
    start = _DRAWINGS.match(text)
    if start is None:
        skipped.append("strokes.json is damaged or of an unknown format: no strokes were migrated")
        return []
    decoder, pos, out = json.JSONDecoder(), start.end(), []
    while len(out) < n:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            entry, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as e:  # deep nesting raises RecursionError, not ValueError
            skipped.append(f"strokes.json is damaged at byte {pos} ({type(e).__name__}): the strokes of "
                           f"drawings {len(out) + 1}-{n} were not migrated (their images and labels were)")
            break
        out.append(entry)
    return out


def _one(entry, label, i, skipped):
    """(encoded strokes or None, canvas or None) of old drawing i."""
    if not (isinstance(entry, dict) and entry.get("label") == label and isinstance(entry.get("strokes"), list)):
        skipped.append(f"drawing {i + 1}: its strokes.json entry does not match it: strokes not migrated")
        return None, None
    canvas = entry.get("canvas")
    canvas = canvas if isinstance(canvas, int) and not isinstance(canvas, bool) and canvas > 0 else None
    try:
        return encode_strokes(entry["strokes"]), canvas
    except (ValueError, TypeError, RecursionError) as e:
        skipped.append(f"drawing {i + 1}: strokes not migrated ({str(e)[:120]})")
        return None, canvas


def read_old(folder):
    """Everything that can be read of the old-format profile in `folder` (a Path): an OldProfile.
    Raises ValueError only when images.idx or labels.idx is present but unreadable: then
    nothing can be migrated without losing drawings, and nothing should be."""
    skipped = []
    images, labels = _drawings(folder, skipped)
    _count(folder, len(labels), skipped)
    bad = np.flatnonzero(labels > 9)
    if len(bad):
        skipped.append(f"{len(bad)} drawings with labels above 9 were left out (drawing {bad[0] + 1} first)")
    entries = _strokes_json(folder, len(labels), skipped)
    if entries and len(entries) != len(labels):
        skipped.append(f"strokes.json holds {len(entries)} drawings' strokes for {len(labels)} drawings")
    strokes, canvases = [None] * len(labels), [None] * len(labels)
    for i, entry in enumerate(entries):
        strokes[i], canvases[i] = _one(entry, int(labels[i]), i, skipped)
    keep = labels <= 9
    return OldProfile(images[keep], labels[keep], [s for s, k in zip(strokes, keep) if k],
                      [c for c, k in zip(canvases, keep) if k], skipped)
