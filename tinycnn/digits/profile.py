"""A user's profile: their labelled drawings and their personal model, in a folder of their own.

The folder (default: `default_profile_dir()`, in the user's data directory, never in the checkout
or the package) holds:

    profile.db        one SQLite database: a row per drawing, the personal model's name (see
                      profile_format for the schema and how strokes are stored)
    models/<sha256>.npz  the personal model (tc.load), named by the SHA-256 of its bytes
    migrated-<time>/  the files of an old folder-format profile, once the database holds them

Nothing a user labelled is lost:
- an add is one transaction: it returns only once the drawing is on disk (WAL journal,
  synchronous=FULL: the journal is flushed to the disk at every commit, so a power cut after
  `add` returned keeps the drawing; NORMAL would keep it through a kill but not a power cut);
- a kill, a closed terminal or a full disk in the middle of an add loses that add and nothing
  else: SQLite's journal rolls an unfinished transaction back when the database is next opened;
- two processes may add at once: each waits for the other's transaction (busy timeout, then a
  few retries) instead of overwriting it;
- the personal model's file is written (atomically) and flushed before the row that names it
  is committed, so the row never names a missing file; files no row names (a writer killed
  between the two) are removed under the write lock.
A folder that is not a profile, a damaged database or drawing raises ProfileError naming the
folder and the fault; nothing is written to a folder that is not a profile.
"""
import contextlib
import hashlib
import json
import os
import random
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from ..fileio import atomic_open
from ..model import ModelFileError, load
from . import profile_format as fmt
from .personalize import MAX_PER_DIGIT, check_examples, check_variety, judge, personalize
from .pretrained import check_digit_reader
from .profile_migration import OLD_FILES, old_files, read_old
from .reading import predict_digits

DB = "profile.db"
MODELS = "models"
BUSY_SECONDS = 10.0   # a writer waits this long for another's transaction before retrying
RETRIES = 3           # ...this many times, then gives up with a ProfileError
MAX_NOTES = 20        # of a migration's skipped items, this many are kept word for word
_INHERITED = []       # connections a forked child inherited: never used, and never closed, in the child
# Held through every transaction of this process, and taken before a fork: a child never starts
# with another thread's transaction half done in SQLite's memory, which would leave it waiting forever.
_TRANSACTIONS = threading.RLock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_TRANSACTIONS.acquire, after_in_parent=_TRANSACTIONS.release,
                        after_in_child=_TRANSACTIONS.release)


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


def _fault(e):
    """What a sqlite3 error means for the user's profile."""
    text = str(e)
    if "full" in text:
        return "the disk is full: nothing was saved, and the profile is as it was"
    if "locked" in text or "busy" in text:
        return f"another program kept the profile busy for {BUSY_SECONDS * RETRIES:g} s ({text})"
    if isinstance(e, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return f"{DB} is damaged or not a database ({text})"
    return f"{DB}: {text}"


def _ours(name):
    """True for the names a profile's folder holds besides its database (its journal, the model
    files, old files set aside): a folder of only these is still a profile."""
    return name in (f"{DB}-wal", f"{DB}-shm", f"{DB}-journal", MODELS) or name.startswith("migrated-")


def _fsync_folder(folder):
    """Make a rename in `folder` durable (where the platform can: not on Windows)."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Profile:
    """The profile in `folder` (created on the first write). Reading a damaged or foreign folder
    raises ProfileError; nothing is written to a folder that is not a profile. Each thread (and
    process) uses a connection of its own, kept open between calls: closing the last connection
    to the database would fold its journal back in every time, which made an add 20 ms instead of
    7. One Profile may be used from several threads, and a forked or spawned process may open the
    same folder."""

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder is not None else default_profile_dir()
        self.db_path = self.folder / DB
        self.models = self.folder / MODELS
        self.migrated = None  # the report of a migration this object made: {"drawings", "skipped", "folder"}
        self._local = threading.local()

    def _fail(self, problem):
        raise ProfileError(f"profile {self.folder}: {problem}") from None

    # -- the database ----------------------------------------------------------------------------
    def _check_folder(self):
        if self.folder.exists() and not self.folder.is_dir():
            self._fail("is a file, not a folder")
        if not self.db_path.exists() and not old_files(self.folder) and self.folder.exists() \
                and any(not _ours(p.name) for p in self.folder.iterdir()):
            self._fail(f"not a tinycnn profile (it has other files and no {DB}); choose an empty or new folder")

    def _connection(self, create):
        """This thread's open connection (autocommit: transactions are begun explicitly), opened
        again when the process forked or the database file was replaced; None when there is no
        profile and `create` is False."""
        self._check_folder()
        kept = getattr(self._local, "kept", None)
        if kept is not None:
            con, pid, file = kept
            try:
                same = os.stat(self.db_path)
                same = pid == os.getpid() and (same.st_dev, same.st_ino) == file and not old_files(self.folder)
            except FileNotFoundError:
                same = False
            if same:
                return con
            self._drop()
        con = self._open(create)
        if con is not None:
            info = os.stat(self.db_path)
            self._local.kept = (con, os.getpid(), (info.st_dev, info.st_ino))
        return con

    def _drop(self):
        """Forget this thread's connection (after an error, or when it no longer fits)."""
        kept, self._local.kept = getattr(self._local, "kept", None), None
        if kept is not None and kept[1] == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                kept[0].close()
        elif kept is not None:
            _INHERITED.append(kept[0])  # the parent's: closing it here could disturb the parent's database

    def _open(self, create):
        """A new connection, the schema made and an old folder-format profile migrated."""
        if not self.db_path.exists():
            if not create and not old_files(self.folder):
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db_path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            self._schema(con)
            if old_files(self.folder):
                self._migrate(con)
        except BaseException:
            con.close()
            raise
        return con

    def _schema(self, con):
        """Make the tables of a new database; refuse a database that is not a profile's."""
        app, version = (con.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version"))
        if (app, version) == (0, 0) and con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            con.executescript(f"BEGIN IMMEDIATE; {fmt.SCHEMA} PRAGMA application_id = {fmt.APPLICATION_ID}; "
                              f"PRAGMA user_version = {fmt.VERSION}; COMMIT;")
            app, version = fmt.APPLICATION_ID, fmt.VERSION
        if app != fmt.APPLICATION_ID:
            self._fail(f"{DB} is an SQLite database of another program, not a tinycnn profile")
        if version != fmt.VERSION:
            self._fail(f"{DB} is of format version {version}; this tinycnn reads version {fmt.VERSION}")

    @contextlib.contextmanager
    def _reading(self):
        """A connection inside one read transaction (one consistent snapshot), or None."""
        with _TRANSACTIONS:
            yield from self._snapshot()

    def _snapshot(self):
        try:
            con = self._connection(create=False)
        except sqlite3.Error as e:
            self._drop()
            self._fail(_fault(e))
        except OSError as e:  # a folder that cannot be listed, an old file that cannot be set aside
            self._fail(f"{e.strerror or e} ({e.filename or self.folder})")
        if con is None:
            yield None
            return
        try:
            con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        except sqlite3.Error as e:
            self._drop()
            self._fail(_fault(e))
        finally:
            with contextlib.suppress(sqlite3.Error):  # the snapshot is let go of, whatever happened
                if con.in_transaction:
                    con.execute("ROLLBACK")

    def _write(self, work):
        """work(connection) inside one IMMEDIATE transaction, committed when it returns; retried
        when another writer holds the database past the busy timeout. Returns what work returns."""
        with _TRANSACTIONS:
            return self._transaction(work)

    def _transaction(self, work):
        for attempt in range(RETRIES):
            con = None
            try:
                con = self._connection(create=True)
                con.execute("BEGIN IMMEDIATE")
                try:
                    result = work(con)
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    raise
                return result
            except sqlite3.OperationalError as e:
                self._drop()
                if ("locked" in str(e) or "busy" in str(e)) and attempt + 1 < RETRIES:
                    time.sleep(random.uniform(0.05, 0.25))
                    continue
                self._fail(_fault(e))
            except sqlite3.Error as e:
                self._drop()
                self._fail(_fault(e))
            except OSError as e:  # a model file that could not be written: a full disk, no permission
                self._fail(f"nothing was saved: {e.strerror or e} ({e.filename or self.folder})")
            finally:
                with contextlib.suppress(sqlite3.Error):  # closed by _drop, or a rollback that failed
                    if con is not None and con.in_transaction:
                        self._drop()

    # -- drawings --------------------------------------------------------------------------------
    def check(self):
        """The number of drawings in the profile (0 for a new or empty folder)."""
        with self._reading() as con:
            return 0 if con is None else int(con.execute("SELECT sum(n) FROM tally").fetchone()[0])

    def counts(self):
        """(10,) int64: how many drawings of each digit the profile holds."""
        with self._reading() as con:
            if con is None:
                return np.zeros(10, np.int64)
            return np.array([n for (n,) in con.execute("SELECT n FROM tally ORDER BY label")], np.int64)

    def _images(self, rows):
        """(images uint8 (N, 28, 28), labels uint8 (N,)) of rows (id, label, image, ...)."""
        for row in rows:
            if not (isinstance(row[2], bytes) and len(row[2]) == 784 and 0 <= row[1] <= 9):
                self._fail(f"drawing {row[0]} is damaged (its image or label is not a drawing's)")
        images = np.frombuffer(b"".join(r[2] for r in rows), np.uint8).reshape(-1, 28, 28).copy()
        return images, np.array([r[1] for r in rows], np.uint8)

    def load_set(self):
        """(images uint8 (N, 28, 28), labels uint8 (N,), strokes: N dicts {"label", "canvas",
        "strokes": [{"kind", "radius", "points"}]}), oldest first. A drawing whose strokes are
        damaged or over the caps (profile_format) raises ProfileError naming it."""
        with self._reading() as con:
            if con is None:
                return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), []
            rows = con.execute("SELECT id, label, image, canvas, length(strokes), CASE WHEN length(strokes) <= ? "
                               "THEN strokes END FROM drawing ORDER BY id", (fmt.MAX_STROKE_BYTES,)).fetchall()
        images, labels = self._images(rows)
        strokes = []
        for i, label, _, canvas, size, blob in rows:
            try:
                if size is not None and blob is None:
                    raise ValueError(f"strokes of {size:,} bytes, more than the {fmt.MAX_STROKE_BYTES:,} kept")
                drawn = fmt.decode_strokes(blob) if blob is not None else []
            except ValueError as e:
                self._fail(f"drawing {i}: {e}")
            strokes.append({"label": int(label), "canvas": canvas, "strokes": drawn})
        return images, labels, strokes

    def recent(self, per_digit=MAX_PER_DIGIT):
        """(images uint8 (N, 28, 28), labels uint8 (N,)): the last `per_digit` drawings of each
        digit, oldest first (what learning uses). Reads at most 10 * per_digit rows."""
        with self._reading() as con:
            if con is None:
                return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
            rows = [r for d in range(10) for r in con.execute(
                "SELECT id, label, image FROM drawing WHERE label = ? ORDER BY id DESC LIMIT ?", (d, per_digit))]
        return self._images(sorted(rows))

    def add(self, image, label, strokes=None, canvas=None):
        """Add one labelled drawing, durably, in one transaction. image: (28, 28) float in [0, 1]
        (Reading.input); label 0-9; strokes: the pen strokes it was drawn with ([{"kind": "ink" or
        "erase", "radius", "points": [[x, y], ...]}], at most profile_format.MAX_STROKES of
        MAX_POINTS points), canvas: the canvas width in pixels. Returns the new counts per digit (10,)."""
        image = np.asarray(image, np.float32)
        if image.shape != (28, 28):
            self._fail(f"a drawing is a (28, 28) image, got shape {image.shape}")
        try:
            check_examples(image.reshape(1, 1, 28, 28), np.array([label]))
            blob = fmt.encode_strokes(strokes) if strokes is not None else None
        except ValueError as e:  # PersonalizeError names a bad image or label, encode_strokes bad strokes
            self._fail(f"cannot add the drawing: {e}")
        if canvas is not None and (isinstance(canvas, bool) or not isinstance(canvas, (int, np.integer)) or canvas < 1):
            self._fail(f"canvas must be the canvas width in pixels, got {canvas!r}")
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8).tobytes()
        row = (int(label), pixels, blob, None if canvas is None else int(canvas), time.time())

        def insert(con):
            con.execute("INSERT INTO drawing (label, image, strokes, canvas, added) VALUES (?, ?, ?, ?, ?)", row)
            return np.array([n for (n,) in con.execute("SELECT n FROM tally ORDER BY label")], np.int64)

        return self._write(insert)

    # -- the old folder format -------------------------------------------------------------------
    def _migrate(self, con):
        """Move an old folder-format profile into the database, once: every drawing in one
        transaction, then the old files renamed aside into migrated-<time>/ (never deleted)."""
        con.execute("BEGIN IMMEDIATE")
        try:
            done = con.execute("SELECT value FROM note WHERE key = 'migrated'").fetchone()
            note = json.loads(done[0]) if done else self._import_old(con)
            con.execute("COMMIT")
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
        self._set_aside(note["folder"])

    def _import_old(self, con):
        try:
            old = read_old(self.folder)
        except ValueError as e:  # an unreadable images.idx or labels.idx: nothing is changed
            self._fail(str(e))
        added = (self.folder / "labels.idx").stat().st_mtime if (self.folder / "labels.idx").exists() else time.time()
        con.executemany("INSERT INTO drawing (label, image, strokes, canvas, added) VALUES (?, ?, ?, ?, ?)",
                        ((int(label), image.tobytes(), s, c, added)
                         for label, image, s, c in zip(old.labels, old.images, old.strokes, old.canvases)))
        skipped = old.skipped
        if (self.folder / "model.npz").is_file():
            try:
                check_digit_reader(load(self.folder / "model.npz"), str(self.folder / "model.npz"))
                self._store_model(con, self.folder / "model.npz", copy=True)
            except (ModelFileError, OSError, ValueError) as e:
                skipped = skipped + [f"model.npz cannot be read ({e}): the shipped model is used"]
        note = {"drawings": int(len(old.labels)), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "folder": f"migrated-{time.strftime('%Y%m%d-%H%M%S')}",
                "skipped": skipped[:MAX_NOTES] + ([f"and {len(skipped) - MAX_NOTES} more"] if len(skipped) > MAX_NOTES else [])}
        con.execute("INSERT INTO note (key, value) VALUES ('migrated', ?)", (json.dumps(note),))
        self.migrated = note
        return note

    def _set_aside(self, name):
        """Rename the old files (and temp files of their interrupted writes) into `name`/."""
        aside = self.folder / name
        aside.mkdir(exist_ok=True)
        for old in [self.folder / f for f in OLD_FILES] + [p for f in OLD_FILES for p in self.folder.glob(f".{f}.*.tmp")]:
            with contextlib.suppress(FileNotFoundError):  # another process set it aside first
                os.replace(old, aside / old.name)
        _fsync_folder(self.folder)

    # -- the personal model ----------------------------------------------------------------------
    def _store_model(self, con, source, copy=False):
        """Put the model file `source` into models/ under its SHA-256 (copied when `copy`, else
        renamed) and name it in the open transaction: the file is on disk before the row."""
        self.models.mkdir(exist_ok=True)
        sha = _sha256(source)
        target = self.models / f"{sha}.npz"
        if copy:
            with atomic_open(target) as f, open(source, "rb") as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    f.write(block)
        else:
            os.replace(source, target)
        _fsync_folder(self.models)
        con.execute("INSERT OR REPLACE INTO model (id, sha256, saved) VALUES (1, ?, ?)", (sha, time.time()))

    def _current(self):
        """The SHA-256 naming the personal model, or None."""
        with self._reading() as con:
            row = None if con is None else con.execute("SELECT sha256 FROM model WHERE id = 1").fetchone()
        return row[0] if row else None

    @property
    def model_path(self):
        """The personal model's file, or None when there is none."""
        sha = self._current()
        return None if sha is None else self.models / f"{sha}.npz"

    def _clean_models(self):
        """Remove the model files no row names (replaced, reset, or of a writer killed before its
        commit), under the write lock: a writer holds it from writing its file to committing."""
        if not self.models.is_dir():
            return

        def clean(con):
            row = con.execute("SELECT sha256 FROM model WHERE id = 1").fetchone()
            keep = f"{row[0]}.npz" if row else None
            for p in self.models.iterdir():
                if p.name != keep and p.is_file():
                    p.unlink()

        self._write(clean)

    def load_model(self):
        """The personal model, or None if none has been learned (or it was reset)."""
        sha = self._current()
        if sha is None:
            return None
        path = self.models / f"{sha}.npz"
        try:
            if _sha256(path) != sha:
                raise ModelFileError(f"{path} is damaged: its bytes do not match its SHA-256")
            model = load(path)
            check_digit_reader(model, str(path))
        except FileNotFoundError as e:
            if self._current() != sha:  # replaced or reset by another process meanwhile
                return self.load_model()
            self._fail(f"the personal model cannot be read ({e})")
        except (ModelFileError, OSError) as e:
            self._fail(f"the personal model cannot be read ({e})")
        if any(p.name != path.name for p in self.models.iterdir()):
            self._clean_models()
        return model

    def save_model(self, model):
        """Make `model` the personal model (its file first, then the row naming it)."""

        def store(con):
            self.models.mkdir(exist_ok=True)
            incoming = self.models / f".incoming-{uuid.uuid4().hex}.npz"
            model.save(incoming, meta=getattr(model, "meta", {}))  # atomic and flushed (fileio.atomic_open)
            self._store_model(con, incoming)

        self._write(store)
        self._clean_models()

    def reset_model(self):
        """Go back to the shipped model: the personal model is removed, the drawings stay.
        Returns True if there was one."""
        if self._current() is None:
            return False
        self._write(lambda con: con.execute("DELETE FROM model"))
        self._clean_models()
        return True

    # -- learning --------------------------------------------------------------------------------
    def learn(self, base, seed=0, progress=None, holdout=5, **options):
        """Personalise `base` on this profile's drawings (the last MAX_PER_DIGIT of each digit),
        keeping back every `holdout`-th drawing of each digit (of those with at least 2) to measure
        it. The new model becomes the personal model only if it is not worse (personalize.judge:
        not on the held-back drawings, not on held-out MNIST replay digits). Returns (model, report):
        report = {"trained", "held", "before", "after" (accuracies on the held drawings, None when
        none are held back), "replay": {"held_out", "before", "after"}, "switched", "summary"}."""
        images, labels = self.recent()
        if len(labels) == 0:
            self._fail("has no labelled drawings yet")
        check_variety(labels)  # before some are held back: the message counts them all
        held = np.zeros(len(labels), bool)
        for d in range(10):
            mine = np.flatnonzero(labels == d)
            if len(mine) >= 2:
                held[mine[holdout - 1::holdout] if len(mine) >= holdout else mine[-1:]] = True
        x = images[:, None].astype(np.float32) / np.float32(255)
        y = labels.astype(np.int64)
        model = personalize(base, x[~held], y[~held], seed=seed, progress=progress, **options)
        replay = model.meta["personalized"]["replay"]
        report = {"trained": int((~held).sum()), "held": int(held.sum()), "before": None, "after": None,
                  "replay": replay}
        if held.any():
            report["before"] = float(np.mean(predict_digits(base, x[held]) == y[held]))
            report["after"] = float(np.mean(predict_digits(model, x[held]) == y[held]))
        report["switched"], report["summary"] = judge(report["held"], report["before"], report["after"], replay)
        model.meta["personalized"]["held_out"] = report
        if report["switched"]:
            self.save_model(model)
        return model, report
