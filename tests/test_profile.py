"""The per-user profile: round trip, damaged and foreign folders, the default place, bounded strokes,
kills, two writers, a full disk, the personal model's file, and the old folder format migrated once."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinycnn as tc
from tinycnn.digits import profile as profile_module
from tinycnn.digits import profile_migration
from tinycnn.digits.profile_format import MAX_POINTS, MAX_STROKE_BYTES, MAX_STROKES, decode_strokes, encode_strokes

pytestmark = pytest.mark.slow  # kills, two writer processes, a full disk: `pytest -m "not slow"` leaves it out

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STROKES = [{"kind": "ink", "radius": 9.0, "points": [[1.0, 2.0], [3.5, 4.0]]}]


def filled(folder, n=4):
    p = tc.Profile(folder)
    rng = np.random.default_rng(0)
    for i in range(n):
        p.add(rng.random((28, 28), dtype=np.float32), i % 10, STROKES, canvas=560)
    return p


def tiny_model(outputs=10):
    tc.seed(0)
    return tc.Sequential(tc.Flatten(), tc.Dense(784, outputs))


def test_round_trip(tmp_path):
    p = filled(tmp_path / "me", 4)
    images, labels, strokes = tc.Profile(tmp_path / "me").load_set()
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28) and labels.tolist() == [0, 1, 2, 3]
    assert strokes[2] == {"label": 2, "canvas": 560, "strokes": STROKES}
    assert p.counts().tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0] and p.check() == 4
    assert {f.name for f in (tmp_path / "me").iterdir()} <= {"profile.db", "profile.db-wal", "profile.db-shm"}
    assert p.load_model() is None and p.model_path is None
    model = tiny_model()
    p.save_model(model)
    assert p.model_path.parent == tmp_path / "me" / "models" and p.model_path.exists()
    assert p.load_model().state_dict().keys() == model.state_dict().keys()
    other = tiny_model(11)
    p.save_model(other)  # the first file is no longer named by any row: it is removed
    assert [f.name for f in (tmp_path / "me" / "models").iterdir()] == [p.model_path.name]
    assert p.reset_model() and p.load_model() is None and p.counts().sum() == 4  # the drawings stay
    assert not p.reset_model() and not any((tmp_path / "me" / "models").iterdir())


def test_strokes_are_optional_and_float32(tmp_path):
    p = tc.Profile(tmp_path / "me")
    p.add(np.zeros((28, 28), np.float32), 5)
    p.add(np.ones((28, 28), np.float32), 6, [{"kind": "erase", "radius": np.float32(4.5),
                                             "points": np.array([[0.1, 1e4]])}, {"kind": "ink", "radius": 2,
                                                                                 "points": []}])
    images, labels, strokes = p.load_set()
    assert strokes[0] == {"label": 5, "canvas": None, "strokes": []}
    assert strokes[1]["strokes"][0]["kind"] == "erase" and strokes[1]["strokes"][1]["points"] == []
    np.testing.assert_allclose(strokes[1]["strokes"][0]["points"], [[0.1, 1e4]], rtol=1e-6)
    assert images[1].min() == 255 and labels.tolist() == [5, 6]


def test_new_folder_is_an_empty_profile(tmp_path):
    p = tc.Profile(tmp_path / "new")
    assert p.counts().sum() == 0 and p.check() == 0 and p.load_model() is None and len(p.load_set()[1]) == 0
    assert not (tmp_path / "new").exists()  # reading creates nothing


def _sql(folder, statement, *args):
    con = sqlite3.connect(folder / "profile.db")
    con.execute("PRAGMA ignore_check_constraints = 1")  # damage as a failing disk would, past the checks
    with con:
        con.execute(statement, args)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the database file itself
    con.close()


@pytest.mark.parametrize("damage, words", [
    (lambda f: (f / "profile.db").write_bytes(b"garbage" * 200), "profile.db is damaged or not a database"),
    (lambda f: _sql(f, "PRAGMA application_id = 7"), "another program"),
    (lambda f: _sql(f, "PRAGMA user_version = 2"), "format version 2"),
    (lambda f: next((f / "models").iterdir()).write_bytes(b"garbage"), "personal model cannot be read"),
    (lambda f: next((f / "models").iterdir()).unlink(), "personal model cannot be read"),
    (lambda f: _sql(f, "UPDATE drawing SET strokes = x'0500000001' WHERE id = 2"), "drawing 2: strokes"),
    (lambda f: _sql(f, "UPDATE drawing SET strokes = zeroblob(?) WHERE id = 3", MAX_STROKE_BYTES + 1),
     "drawing 3: strokes of"),
    (lambda f: _sql(f, "UPDATE drawing SET image = x'00' WHERE id = 1"), "drawing 1 is damaged"),
])
def test_damaged_profile_is_named(tmp_path, damage, words):
    p = filled(tmp_path / "me")
    p.save_model(tiny_model())
    _sql(tmp_path / "me", "SELECT 1")  # damage the database file, not a journal that still holds its pages
    damage(tmp_path / "me")
    with pytest.raises(tc.ProfileError, match=words) as e:
        p = tc.Profile(tmp_path / "me")
        p.load_set()
        p.load_model()
    assert str(tmp_path / "me") in str(e.value)


def test_damaged_strokes_do_not_stop_learning_or_counting(tmp_path):
    p = filled(tmp_path / "me", 12)
    _sql(tmp_path / "me", "UPDATE drawing SET strokes = x'ffffffff' WHERE id = 5")
    with pytest.raises(tc.ProfileError, match="drawing 5: strokes declare"):
        p.load_set()
    images, labels = p.recent()
    assert len(labels) == 12 and p.counts().sum() == 12


def test_foreign_folder_and_file_are_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(tc.ProfileError, match="not a tinycnn profile"):
        tc.Profile(tmp_path / "photos").add(np.zeros((28, 28), np.float32), 3)
    assert sorted(f.name for f in (tmp_path / "photos").iterdir()) == ["cat.jpg"]  # nothing written
    (tmp_path / "afile").write_text("x")
    with pytest.raises(tc.ProfileError, match="is a file"):
        tc.Profile(tmp_path / "afile").counts()
    (tmp_path / "ours" / "models").mkdir(parents=True)  # a profile whose database was deleted is still ours
    (tmp_path / "ours" / "migrated-20260101-000000").mkdir()
    tc.Profile(tmp_path / "ours").add(np.zeros((28, 28), np.float32), 3)
    assert tc.Profile(tmp_path / "ours").check() == 1


def test_default_folder_is_the_users_data_directory(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert tc.default_profile_dir() == tmp_path / "tinycnn"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert tc.default_profile_dir() == Path.home() / ".local" / "share" / "tinycnn"
    monkeypatch.setattr("sys.platform", "darwin")
    assert tc.default_profile_dir() == Path.home() / "Library" / "Application Support" / "tinycnn"
    assert not str(tc.default_profile_dir()).startswith(str(Path(tc.__file__).parent.parent))


def dots(n):
    return [[float(i % 500), float(i % 300)] for i in range(n)]


@pytest.mark.parametrize("strokes, canvas, words", [
    ([STROKES[0]] * (MAX_STROKES + 1), None, f"at most {MAX_STROKES} are kept per drawing"),
    ([{"kind": "ink", "radius": 9, "points": dots(MAX_POINTS + 1)}], None, f"at most {MAX_POINTS} are kept per stroke"),
    ([{"kind": "ink", "radius": 9, "points": dots(MAX_POINTS)}] * 6, None, "more than 100,000 points"),
    ([{"kind": "ink", "radius": 9, "points": [[1, float("nan")]]}], None, "NaN"),
    ([{"kind": "ink", "radius": 9, "points": [[1, 2, 3]]}], None, "shape (n, 2)"),
    ([{"kind": "paint", "radius": 9, "points": []}], None, "kind 'ink' or 'erase'"),
    ([{"kind": "ink", "radius": float("inf"), "points": []}], None, "radius"),
    ({"kind": "ink"}, None, "list of strokes"),
    (STROKES, "560", "canvas width"),
])
def test_strokes_and_canvas_are_bounded_and_checked(tmp_path, strokes, canvas, words):
    p = filled(tmp_path / "me", 2)
    with pytest.raises(tc.ProfileError, match="cannot add|canvas") as e:
        p.add(np.zeros((28, 28), np.float32), 1, strokes, canvas=canvas)
    assert words in str(e.value) and p.check() == 2  # nothing added


coordinate = st.floats(-1e6, 1e6, width=32)
a_stroke = st.fixed_dictionaries({"kind": st.sampled_from(["ink", "erase"]), "radius": st.floats(0, 1e6, width=32),
                                  "points": st.lists(st.lists(coordinate, min_size=2, max_size=2), max_size=30)})


@settings(max_examples=50, deadline=None)
@given(strokes=st.lists(a_stroke, max_size=6))
def test_strokes_come_back_as_they_were_given(strokes):
    assert decode_strokes(encode_strokes(strokes)) == strokes


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_decode_to_strokes_or_a_named_error(data):
    try:
        decode_strokes(data)
    except ValueError as e:
        assert "strokes" in str(e)


@settings(max_examples=200, deadline=None)
@given(strokes=st.lists(a_stroke, min_size=1, max_size=4), at=st.integers(0, 10 ** 6), junk=st.binary(min_size=1,
                                                                                                       max_size=8))
def test_damaged_strokes_decode_to_strokes_or_a_named_error(strokes, at, junk):
    data = bytearray(encode_strokes(strokes))
    at %= len(data)
    data[at:at + len(junk)] = junk  # overwritten, or grown, or cut
    try:
        decoded = decode_strokes(bytes(data))
    except ValueError as e:
        assert "strokes" in str(e)
    else:
        assert len(decoded) <= MAX_STROKES


def test_bad_images_and_labels_are_named(tmp_path):
    p = tc.Profile(tmp_path / "me")
    for image, label, words in [(np.zeros((28, 29)), 1, "(28, 28) image, got shape (28, 29)"),
                                (np.full((28, 28), np.nan), 1, "NaN"), (np.zeros((28, 28)), 10, "0-9"),
                                (np.zeros((28, 28)), 2.5, "integers")]:
        with pytest.raises(tc.ProfileError, match="profile") as e:
            p.add(image, label)
        assert words in str(e.value)
    assert p.check() == 0


# -- kills, two writers, a full disk -------------------------------------------------------------
WRITER = """
import sys
import numpy as np
import tinycnn as tc

p, first, n = tc.Profile(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # go: every writer starts at once
for i in range(first, first + n):
    image = np.zeros((28, 28), np.float32)
    image.flat[:4] = np.frombuffer(i.to_bytes(4, "big"), np.uint8) / np.float32(255)  # the add's number
    p.add(image, i % 10, [{"kind": "ink", "radius": 9.0, "points": [[i, 1.0]] * 50}], canvas=560)
    print(i, flush=True)  # the add returned
"""


def writer(folder, first, n):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(first), str(n)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.stdout.readline() == "ready\n"
    return proc


def go(*procs):
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()


def numbers_in(folder):
    """The add numbers the profile holds (see WRITER), checking each drawing's label and strokes."""
    images, labels, strokes = tc.Profile(folder).load_set()
    found = [int.from_bytes(im.ravel()[:4].tobytes(), "big") for im in images]
    for i, label, s in zip(found, labels, strokes):
        assert label == i % 10 and s["strokes"][0]["points"][0] == [float(i), 1.0]
    return found


def test_a_kill_loses_at_most_the_add_in_progress(tmp_path):
    rng = random.Random(0)
    returned, first = [], 0
    for kill in range(20):
        proc = writer(tmp_path / "me", first, 10 ** 6)
        go(proc)
        threading.Event().wait(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out = proc.communicate()[0].split()
        returned += [int(v) for v in out]
        found = numbers_in(tmp_path / "me")  # opens, and holds every add that returned
        assert set(returned) <= set(found) and len(found) == len(set(found))
        assert len(set(found) - set(returned)) <= kill + 1  # at most the add in progress at each kill
        first = max(found, default=first) + 1
    assert len(returned) > 20


def test_two_writers_keep_every_drawing_while_a_reader_reads(tmp_path):
    tc.Profile(tmp_path / "me").add(np.zeros((28, 28), np.float32), 0, [{"kind": "ink", "radius": 9.0,
                                                                        "points": [[0.0, 1.0]]}])  # add number 0
    procs = [writer(tmp_path / "me", first, 60) for first in (1000, 2000)]
    go(*procs)
    errors, reads = [], 0
    while any(p.poll() is None for p in procs):
        try:
            tc.Profile(tmp_path / "me").counts()
            tc.Profile(tmp_path / "me").load_set()
            reads += 1
        except tc.ProfileError as e:  # readers must never see a damaged profile
            errors.append(str(e))
    outs = [p.communicate()[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and [len(o) for o in outs] == [60, 60] and not errors
    found = numbers_in(tmp_path / "me")
    assert sorted(found[1:]) == list(range(1000, 1060)) + list(range(2000, 2060)) and reads > 0


def test_one_profile_shared_by_threads_and_a_forked_child(tmp_path):
    import multiprocessing

    p = filled(tmp_path / "me", 1)  # the parent's connection is open when it forks

    def add(label, n):
        for _ in range(n):
            p.add(np.zeros((28, 28), np.float32), label)

    threads = [threading.Thread(target=add, args=(d, 25)) for d in range(4)]
    for t in threads:
        t.start()
    child = multiprocessing.get_context("fork").Process(target=add, args=(9, 30))
    child.start()
    for t in threads:
        t.join()
    child.join(timeout=60)
    add(8, 5)  # the parent's connection still works after the child used its own
    assert child.exitcode == 0 and p.counts().tolist() == [26, 25, 25, 25, 0, 0, 0, 0, 5, 30]


def test_a_full_disk_refuses_the_add_and_keeps_the_profile(tmp_path, monkeypatch):
    p = filled(tmp_path / "me", 3)
    connect = sqlite3.connect

    def small_disk(*args, **kwargs):  # the database may not grow past its size now
        con = connect(*args, **kwargs)
        con.execute("PRAGMA max_page_count = 16")
        return con

    monkeypatch.setattr(profile_module.sqlite3, "connect", small_disk)
    p, added = tc.Profile(tmp_path / "me"), 3  # a new Profile: a new connection, on the small disk
    with pytest.raises(tc.ProfileError, match="the disk is full: nothing was saved"):
        for _ in range(100):
            p.add(np.ones((28, 28), np.float32), 7, [{"kind": "ink", "radius": 9.0, "points": dots(2000)}])
            added += 1
    assert tc.Profile(tmp_path / "me").check() == added  # every add that returned, none half-made
    monkeypatch.setattr(profile_module.sqlite3, "connect", connect)
    p = tc.Profile(tmp_path / "me")  # room again
    p.add(np.zeros((28, 28), np.float32), 8)
    assert p.check() == added + 1 and len(p.load_set()[2]) == added + 1


def test_a_full_disk_while_saving_the_model_keeps_the_old_one(tmp_path, monkeypatch):
    p = filled(tmp_path / "me", 2)
    p.save_model(tiny_model())
    before = p.model_path

    def full(self, path, meta=None):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(tc.Sequential, "save", full)
    with pytest.raises(tc.ProfileError, match="No space left on device"):
        p.save_model(tiny_model(11))
    assert p.model_path == before and p.load_model() is not None


def test_the_model_file_is_on_disk_before_its_row(tmp_path, monkeypatch):
    """A writer killed after writing the file but before its commit leaves the old model in use;
    the file no row names is removed when the model is next loaded."""
    p = filled(tmp_path / "me", 2)
    p.save_model(tiny_model())
    before = p.model_path
    store = profile_module.Profile._store_model

    def killed_before_commit(self, con, source, copy=False):
        store(self, con, source, copy)
        raise sqlite3.OperationalError("disk I/O error")  # as if killed here: the transaction rolls back

    monkeypatch.setattr(profile_module.Profile, "_store_model", killed_before_commit)
    with pytest.raises(tc.ProfileError):
        p.save_model(tiny_model(11))
    monkeypatch.undo()
    assert len(list((tmp_path / "me" / "models").iterdir())) == 2  # the orphan is there...
    assert p.model_path == before and p.load_model().output_shape((1, 28, 28)) == (10,)
    assert [f.name for f in (tmp_path / "me" / "models").iterdir()] == [before.name]  # ...and then gone


# -- the old folder format ---------------------------------------------------------------------
def old_profile(folder, n=6, model=True, strokes=True):
    """A profile as the folder-format code wrote it (images.idx, labels.idx, strokes.json, profile.json)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    tc.write_idx(folder / "images.idx", images)
    tc.write_idx(folder / "labels.idx", labels)
    if strokes:
        drawn = [{"label": int(d), "canvas": 560, "strokes": [{"kind": "ink", "radius": 9.0,
                                                               "points": [[float(i), 2.0], [3.25, 4.0]]}]}
                 for i, d in enumerate(labels)]
        (folder / "strokes.json").write_text(json.dumps({"format": "tinycnn-strokes-1", "drawings": drawn}))
    (folder / "profile.json").write_text(json.dumps({"format": "tinycnn-profile-1", "count": n}))
    if model:
        tiny_model().save(folder / "model.npz")
    return images, labels


def test_an_old_profile_is_migrated_once_and_its_files_kept(tmp_path):
    images, labels = old_profile(tmp_path / "me")
    p = tc.Profile(tmp_path / "me")
    got_images, got_labels, strokes = p.load_set()
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.tolist() == labels.tolist() and strokes[4]["strokes"][0]["points"] == [[4.0, 2.0], [3.25, 4.0]]
    assert p.migrated["drawings"] == 6 and p.migrated["skipped"] == []
    assert p.load_model().state_dict().keys() == tiny_model().state_dict().keys()
    aside = tmp_path / "me" / p.migrated["folder"]
    assert sorted(f.name for f in aside.iterdir()) == ["images.idx", "labels.idx", "model.npz", "profile.json",
                                                       "strokes.json"]
    again = tc.Profile(tmp_path / "me")
    again.add(np.zeros((28, 28), np.float32), 9)
    assert again.check() == 7 and again.migrated is None  # once


def test_an_interrupted_old_add_is_migrated(tmp_path):
    """The old code was killed after writing images.idx and labels.idx but before strokes.json
    and profile.json: every later load was refused. Now the drawings are migrated."""
    old_profile(tmp_path / "me", n=5, model=False)
    tc.write_idx(tmp_path / "me" / "images.idx", np.zeros((6, 28, 28), np.uint8))
    tc.write_idx(tmp_path / "me" / "labels.idx", np.arange(7, dtype=np.uint8) % 10)
    p = tc.Profile(tmp_path / "me")
    images, labels, strokes = p.load_set()
    assert len(labels) == 6 and strokes[5]["strokes"] == [] and strokes[4]["strokes"]
    assert any("images.idx holds 6 drawings and labels.idx 7" in s for s in p.migrated["skipped"])
    assert any("profile.json counts 5" in s for s in p.migrated["skipped"])


@pytest.mark.parametrize("text, kept", [
    ('{"format": "tinycnn-strokes-1", "drawings": [' + "[" * 100_000 + "]" * 100_000 + "]}", 0),
    (None, 3),  # cut short inside the fourth drawing
    ("[" * 200_000, 0),
])
def test_a_damaged_strokes_json_costs_only_strokes(tmp_path, text, kept):
    old_profile(tmp_path / "me", n=6, model=False)
    path = tmp_path / "me" / "strokes.json"
    path.write_text(text if text is not None else path.read_text()[:int(3.5 * len(path.read_text()) / 6)])
    p = tc.Profile(tmp_path / "me")
    images, labels, strokes = p.load_set()
    assert len(labels) == 6 and sum(bool(s["strokes"]) for s in strokes) == kept
    assert any("strokes" in s for s in p.migrated["skipped"])
    assert (tmp_path / "me" / p.migrated["folder"] / "strokes.json").exists()  # kept, set aside


def test_a_huge_strokes_json_is_left_unread_and_kept(tmp_path, monkeypatch):
    old_profile(tmp_path / "me", n=4, model=False)
    monkeypatch.setattr(profile_migration, "MAX_OLD_STROKES_BYTES", 100)  # as a 152 MB file is against 1 GB
    p = tc.Profile(tmp_path / "me")
    assert p.check() == 4 and not any(s["strokes"] for s in p.load_set()[2])
    assert "no strokes were migrated (the images and labels were)" in p.migrated["skipped"][0]
    assert (tmp_path / "me" / p.migrated["folder"] / "strokes.json").stat().st_size > 100


def test_an_old_profile_with_only_a_damaged_profile_json(tmp_path):
    (tmp_path / "me").mkdir()
    (tmp_path / "me" / "profile.json").write_text("garbage")
    p = tc.Profile(tmp_path / "me")
    assert p.check() == 0 and "profile.json is damaged" in p.migrated["skipped"][0]
    assert (tmp_path / "me" / p.migrated["folder"] / "profile.json").read_text() == "garbage"


def test_an_unreadable_old_profile_is_left_as_it_is(tmp_path):
    old_profile(tmp_path / "me", model=False)
    cut = (tmp_path / "me" / "images.idx").read_bytes()[:100]
    (tmp_path / "me" / "images.idx").write_bytes(cut)
    with pytest.raises(tc.ProfileError, match="cannot migrate the old profile: .*images.idx"):
        tc.Profile(tmp_path / "me").counts()
    assert (tmp_path / "me" / "images.idx").read_bytes() == cut
    assert sorted(f.name for f in (tmp_path / "me").iterdir() if not f.name.startswith("profile.db")) == \
        ["images.idx", "labels.idx", "profile.json", "strokes.json"]


def test_a_migration_killed_halfway_is_redone_or_finished(tmp_path, monkeypatch):
    old_profile(tmp_path / "me", model=False)

    def killed(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(profile_module.Profile, "_set_aside", killed)
    with pytest.raises(KeyboardInterrupt):  # killed after the commit, before the files were set aside
        tc.Profile(tmp_path / "me").counts()
    monkeypatch.undo()
    p = tc.Profile(tmp_path / "me")
    assert p.check() == 6 and p.migrated is None  # not migrated twice
    assert not (tmp_path / "me" / "images.idx").exists()
    monkeypatch.setattr(profile_module, "read_old", lambda folder: (_ for _ in ()).throw(KeyboardInterrupt))
    old_profile(tmp_path / "you", model=False)
    with pytest.raises(KeyboardInterrupt):  # killed before the commit: nothing half-migrated
        tc.Profile(tmp_path / "you").counts()
    monkeypatch.undo()
    assert tc.Profile(tmp_path / "you").check() == 6


# -- learning only switches to a better model --------------------------------------------------
def test_learn_switches_only_to_a_model_that_is_not_worse(tmp_path, monkeypatch):
    p = filled(tmp_path / "me", 20)
    base = tiny_model()
    p.save_model(base)
    before = p.model_path

    def fake(model, x, y, **_):  # a model that forgets MNIST, as thirty 3s did
        new = model.copy()
        new.meta = {"personalized": {"replay": {"held_out": 1000, "before": 0.995, "after": 0.848}}}
        return new

    monkeypatch.setattr(profile_module, "personalize", fake)
    model, report = p.learn(base)
    assert not report["switched"] and "not switched" in report["summary"] and "99.5% -> 84.8%" in report["summary"]
    assert p.model_path == before  # the model in use stays
    json.dumps(report)  # the pad's learner sends it as JSON
