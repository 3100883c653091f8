"""How a profile is stored: the SQLite schema, the caps on a drawing's strokes, and their encoding.

One row per drawing in the table `drawing`:

    label    0-9, the digit the user said it is
    image    784 bytes: the (28, 28) uint8 drawing as the model reads it (Reading.input * 255)
    strokes  the pen strokes it was drawn with, encoded by encode_strokes (NULL: not known)
    canvas   the width of the canvas they were drawn on, in pixels (NULL: not known)
    added    when, in seconds since the epoch

`tally` holds how many drawings of each digit there are, kept by triggers in the same
transaction as the insert, so counting is O(1) however many drawings there are. `model` names
the personal model in use (at most one row) by the SHA-256 of its file in models/. The
schema may run twice (two processes creating a profile at once): the second changes nothing.

Every function here raises ValueError naming the fault; tinycnn.Profile adds the folder.
"""
import math
import numbers
import struct

import numpy as np

APPLICATION_ID = 0x74636E6E   # "tcnn" in the database header: a profile, not any SQLite file
VERSION = 1                   # PRAGMA user_version of this schema

SCHEMA = """
CREATE TABLE IF NOT EXISTS drawing (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    image BLOB NOT NULL CHECK (length(image) = 784),
    strokes BLOB,
    canvas INTEGER,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tally (label INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR IGNORE INTO tally (label, n) VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0);
CREATE TRIGGER IF NOT EXISTS drawing_added AFTER INSERT ON drawing
    BEGIN UPDATE tally SET n = n + 1 WHERE label = NEW.label; END;
CREATE TRIGGER IF NOT EXISTS drawing_removed AFTER DELETE ON drawing
    BEGIN UPDATE tally SET n = n - 1 WHERE label = OLD.label; END;
CREATE INDEX IF NOT EXISTS drawing_by_label ON drawing (label, id);
CREATE TABLE IF NOT EXISTS model (id INTEGER PRIMARY KEY CHECK (id = 1), sha256 TEXT NOT NULL, saved REAL NOT NULL);
CREATE TABLE IF NOT EXISTS note (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

MAX_STROKES = 1_000       # strokes in one drawing (the pad makes one per press of the pen)
MAX_POINTS = 20_000       # points in one stroke (minutes of drawing without lifting the pen)
MAX_DRAWING_POINTS = 100_000  # points in one drawing's strokes together
MAX_STROKE_BYTES = 4 + 9 * MAX_STROKES + 8 * MAX_DRAWING_POINTS  # the largest encoded drawing: 809 KB
KINDS = ("ink", "erase")

_HEAD = np.dtype([("kind", "u1"), ("radius", "<f4"), ("n", "<u4")])  # one stroke's header, 9 bytes


def _points(points, i):
    """The (n, 2) float32 points of stroke i, checked."""
    try:
        p = np.asarray(points, np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"stroke {i}: points must be (n, 2) numbers ({e})") from None
    if p.size == 0:
        return np.zeros((0, 2), np.float32)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"stroke {i}: points must have shape (n, 2), got {p.shape}")
    if len(p) > MAX_POINTS:
        raise ValueError(f"stroke {i} has {len(p)} points; at most {MAX_POINTS} are kept per stroke")
    if not np.isfinite(p).all():
        raise ValueError(f"stroke {i}: NaN or infinite coordinates")
    return p


def encode_strokes(strokes):
    """[{"kind": "ink" or "erase", "radius": r, "points": [[x, y], ...]}, ...] -> bytes.

    Layout: uint32 count, then count 9-byte headers (uint8 kind, float32 radius, uint32 n),
    then every point as two float32 (little-endian): 8 bytes a point, a drawing of 300 points
    in 2.5 KB. Points are kept as float32 (1/1000 of a pixel on any canvas). At most
    MAX_STROKES strokes of MAX_POINTS points each, MAX_DRAWING_POINTS in all."""
    if not isinstance(strokes, (list, tuple)):
        raise ValueError(f"strokes must be a list of strokes, got {type(strokes).__name__}")
    if len(strokes) > MAX_STROKES:
        raise ValueError(f"{len(strokes)} strokes; at most {MAX_STROKES} are kept per drawing")
    heads = np.zeros(len(strokes), _HEAD)
    points = []
    for i, s in enumerate(strokes):
        if not isinstance(s, dict) or s.get("kind") not in KINDS:
            raise ValueError(f"stroke {i}: expected a dict with kind 'ink' or 'erase', got {str(s)[:60]}")
        radius = s.get("radius")
        if not isinstance(radius, numbers.Real) or not math.isfinite(radius) or not 0 <= radius <= 1e6:
            raise ValueError(f"stroke {i}: radius must be a number of pixels, got {radius!r}")
        p = _points(s.get("points", []), i)
        heads[i] = (KINDS.index(s["kind"]), radius, len(p))
        points.append(p)
        if heads["n"].sum(dtype=np.int64) > MAX_DRAWING_POINTS:
            raise ValueError(f"the strokes have more than {MAX_DRAWING_POINTS:,} points; at most that many are kept "
                             f"per drawing")
    return struct.pack("<I", len(strokes)) + heads.tobytes() + b"".join(p.astype("<f4").tobytes() for p in points)


def decode_strokes(data):
    """bytes from encode_strokes -> the list of stroke dicts (points as lists of [x, y]).
    Every length is checked against the caps and the data's size before anything is read."""
    if len(data) > MAX_STROKE_BYTES or len(data) < 4:
        raise ValueError(f"strokes of {len(data):,} bytes (expected 4 to {MAX_STROKE_BYTES:,})")
    (count,) = struct.unpack_from("<I", data)
    if count > MAX_STROKES or len(data) < 4 + 9 * count:
        raise ValueError(f"strokes declare {count} strokes in {len(data):,} bytes")
    heads = np.frombuffer(data, _HEAD, count, 4)
    n = heads["n"].astype(np.int64)
    if (n > MAX_POINTS).any() or (heads["kind"] >= len(KINDS)).any() or len(data) != 4 + 9 * count + 8 * n.sum():
        raise ValueError(f"strokes are damaged: their headers do not match their {len(data):,} bytes")
    points = np.frombuffer(data, "<f4", offset=4 + 9 * count).reshape(-1, 2)
    if not np.isfinite(points).all() or not np.isfinite(heads["radius"]).all():
        raise ValueError("strokes are damaged: NaN or infinite coordinates")
    ends = np.cumsum(n)
    return [{"kind": KINDS[int(h["kind"])], "radius": float(h["radius"]), "points": points[e - k:e].tolist()}
            for h, k, e in zip(heads, n, ends)]
