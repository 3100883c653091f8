"""UNIPEN: the format reader on small hand-written files, damaged files, the fetch (from a folder
and from a fake download), the writer split, drawing a sample, and the real data when present."""
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinycnn.data.unipen as up
from tinycnn.data.unipen import (
    Sample,
    UnipenError,
    fetch_unipen,
    load_unipen,
    read_unipen,
    writer_split,
)
from tinycnn.digits.pendigits import draw_sample

DOC = """.VERSION 1.0
.COMMENT a doc file, as the contributors include one
    with lines of prose that are not points
.COORD X Y
.X_POINTS_PER_INCH 1000
.Y_POINTS_PER_INCH 1000
"""
PEN = """.INCLUDE x/x.doc
.WRITER_ID Ada Lovelace
.PEN_DOWN
0 100
0 0
.PEN_UP
.PEN_DOWN
10 50
20 50
30 50
.PEN_UP
5 5
6 6
.PEN_DOWN
40 40
.PEN_UP
.DT 120
.PEN_DOWN
50 60
60 60
.PEN_UP
"""
# strokes: 0 down (2 points), 1 down (3), 2 up with points, 3 down (1), 4 .DT, 5 down (2)
SEGMENTS = """.VERSION 1.0
.INCLUDE x/data/pen.dat
.SEGMENT CHARACTER 0 OK "1"
.SEGMENT CHARACTER 1-3 ? "4"
.SEGMENT CHARACTER 0,5 OK "7"
.SEGMENT CHARACTER 1:1-1:2 ? "2"
.SEGMENT CHARACTER 0 ? "A"
.SEGMENT WORD 0-1 ? "17"
"""


def tree(tmp_path, files):
    """Write {relative path: text} under tmp_path; returns tmp_path."""
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
    return tmp_path


def read(tmp_path, segments=SEGMENTS, pen=PEN, doc=DOC, contributor="xyz", **extra):
    root = tree(tmp_path, {"include/x/x.doc": doc, "include/x/data/pen.dat": pen, "seg.dat": segments, **extra})
    return read_unipen(root / "seg.dat", root / "include", contributor)


def test_segments_includes_ranges_pen_up_and_dt(tmp_path):
    s = read(tmp_path)
    assert [x.label for x in s] == [1, 4, 7, 2]  # "A" and the WORD segment are not digits
    assert [x.quality for x in s] == ["OK", "?", "OK", "?"]
    one, four, seven, two = s
    np.testing.assert_array_equal(one.strokes[0], [[0, -100], [0, 0]])   # y flipped: up in the file
    # 1-3 spans a pen-up block with points (stroke 2): counted, never inked
    assert [len(t) for t in four.strokes] == [3, 1]
    np.testing.assert_array_equal(four.strokes[1], [[40, -40]])
    # the .DT counts as stroke 4, so stroke 5 is the last pen-down block
    np.testing.assert_array_equal(seven.strokes[1], [[50, -60], [60, -60]])
    np.testing.assert_array_equal(two.strokes[0], [[20, -50], [30, -50]])  # points 1 to 2 of stroke 1
    assert all(t.dtype == np.float32 and t.shape[1] == 2 for x in s for t in x.strokes)


def test_writer_id_is_opaque_and_stable(tmp_path):
    s = read(tmp_path)
    assert len({x.writer for x in s}) == 1
    w = s[0].writer
    assert re.fullmatch(r"xyz-[0-9a-f]{10}", w) and "ada" not in w.lower()
    assert w == up.writer_id("xyz", "Ada Lovelace")
    assert up.writer_id("abc", "Ada Lovelace") != w  # the same name at another contributor is another writer
    nameless = read(tmp_path / "b", pen=PEN.replace(".WRITER_ID Ada Lovelace\n", ""))
    assert nameless[0].writer == up.writer_id("xyz", "seg.dat")  # no writer named: the file stands for one


def test_two_resolutions_are_made_equal(tmp_path):
    doc = DOC.replace(".Y_POINTS_PER_INCH 1000", ".Y_POINTS_PER_INCH 2000")  # as aga: y finer than x
    s = read(tmp_path, doc=doc)
    np.testing.assert_array_equal(s[0].strokes[0], [[0, -50], [0, 0]])
    mm = DOC.replace("_INCH", "_MM").replace("X_POINTS_PER_MM 1000", "X_POINTS_PER_MM 10").replace(
        "Y_POINTS_PER_MM 1000", "Y_POINTS_PER_MM 20")
    np.testing.assert_array_equal(read(tmp_path / "mm", doc=mm)[0].strokes[0], [[0, -50], [0, 0]])


def test_coord_columns_and_crlf(tmp_path):
    pen = PEN.replace(".PEN_DOWN\n0 100\n0 0\n", ".COORD T X Y\n.PEN_DOWN\n7 0 100\n8 0 0\n")
    pen = pen.replace("10 50\n20 50\n30 50\n", "1 10 50\n2 20 50\n3 30 50\n").replace("5 5\n6 6\n", "1 5 5\n1 6 6\n")
    pen = pen.replace("40 40\n", "1 40 40\n").replace("50 60\n60 60\n", "1 50 60\n1 60 60\n")
    s = read(tmp_path, pen=pen.replace("\n", "\r\n"), segments=SEGMENTS.replace("\n", "\r\n"))
    np.testing.assert_array_equal(s[0].strokes[0], [[0, -100], [0, 0]])


def test_left_out_contributor_is_refused(tmp_path):
    with pytest.raises(UnipenError, match="contributor tos is left out: its segments' stroke indices"):
        read(tmp_path, contributor="tos")


def test_a_segment_on_a_pen_up_stroke_is_refused(tmp_path):
    """What tos's files do: indices that land on pen-up strokes mean they do not match the strokes."""
    with pytest.raises(UnipenError, match=r"seg.dat: line 3: the segment starts on stroke 2, a pen-up stroke"):
        read(tmp_path, segments='.INCLUDE x/data/pen.dat\n\n.SEGMENT CHARACTER 2-3 ? "1"\n')
    with pytest.raises(UnipenError, match=r"ends on stroke 4, a .DT stroke"):
        read(tmp_path, segments='.INCLUDE x/data/pen.dat\n.SEGMENT CHARACTER 3-4 ? "1"\n')


def seg(line):
    return f".INCLUDE x/data/pen.dat\n{line}\n"


DAMAGED = [  # (what to change: {file: text}, the file and line named, the fault)
    ({"seg.dat": seg('.SEGMENT CHARACTER 6 ? "1"')}, "seg.dat: line 2",
     "names stroke 6, but the file and its includes hold 6 strokes"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 0-999999999 ? "1"')}, "seg.dat: line 2", "spans 1,000,000,000 strokes"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 12345678901 ? "1"')}, "seg.dat: line 2", "at most 9 digits"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 5-1 ? "1"')}, "seg.dat: line 2", "runs backwards"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 1-x ? "1"')}, "seg.dat: line 2", "bad stroke range '1-x'"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 1:7 ? "1"')}, "seg.dat: line 2", "points 7-7 of stroke 1, which has 3"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 1 ? 1')}, "seg.dat: line 2", "label must be in double quotes"),
    ({"seg.dat": seg('.SEGMENT CHARACTER 1')}, "seg.dat: line 2", ".SEGMENT needs a level"),
    ({"include/x/data/pen.dat": PEN.replace("20 50", "20 5O")}, "pen.dat: line 9", "not a number in the point '20 5O'"),
    ({"include/x/data/pen.dat": PEN.replace("20 50", "20 nan")}, "pen.dat: line 9", "must be finite"),
    ({"include/x/data/pen.dat": PEN.replace("20 50", "20")}, "pen.dat: line 9", "a point has 2 numbers here"),
    ({"include/x/data/pen.dat": PEN[:PEN.index("20 50") + 2]}, "pen.dat: line 9", "a point has 2 numbers"),  # truncated
    ({"include/x/x.doc": DOC.replace("PER_INCH 1000\n.Y", "PER_INCH 0\n.Y")}, "x.doc: line 5",
     ".X_POINTS_PER_INCH needs a positive number"),
    ({"include/x/x.doc": DOC + ".COORD T P\n"}, "x.doc: line 7", ".COORD must name X and Y"),
    ({"seg.dat": ".INCLUDE x/none.dat\n"}, "seg.dat: line 1", "none.dat: no such file"),
    ({"seg.dat": ".INCLUDE ../../etc/passwd\n"}, "seg.dat: line 1", "must be a relative path inside include/"),
    ({"seg.dat": ".INCLUDE /etc/passwd\n"}, "seg.dat: line 1", "must be a relative path inside include/"),
    ({"seg.dat": ".INCLUDE x/a.inc\n", "include/x/a.inc": ".INCLUDE x/b.inc\n", "include/x/b.inc": ".INCLUDE x/a.inc\n"},
     "b.inc: line 1", r"an include cycle \(a.inc -> b.inc -> a.inc\)"),
    ({"seg.dat": ".INCLUDE x/0.inc\n", **{f"include/x/{i}.inc": f".INCLUDE x/{i + 1}.inc\n" for i in range(20)}},
     "7.inc: line 1", "x/8.inc: includes nested more than 8 deep"),
    ({"seg.dat": ".INCLUDE x/x.doc\n" * 65}, "seg.dat: line 65", "more than 64 includes"),
]


@pytest.mark.parametrize("change, where, problem", DAMAGED)
def test_damaged_files_are_named(tmp_path, change, where, problem):
    files = {"seg.dat": SEGMENTS, **change}
    with pytest.raises(UnipenError, match=re.escape(where) + ": .*" + problem):
        read(tmp_path, **{"segments": files.pop("seg.dat"), "pen": files.pop("include/x/data/pen.dat", PEN),
                          "doc": files.pop("include/x/x.doc", DOC)}, **files)


def test_limits_are_enforced_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(up, "MAX_FILE_BYTES", 250)
    with pytest.raises(UnipenError, match=r"pen.dat: 575 bytes: more than the reader's limit of 250 for a file"):
        read(tmp_path, pen=PEN + "1 1\n" * 100)
    monkeypatch.setattr(up, "MAX_FILE_BYTES", 1 << 20)
    monkeypatch.setattr(up, "MAX_POINTS", 2)
    with pytest.raises(UnipenError, match=r"pen.dat: line 10: more than 2 points in the stroke begun at line 7"):
        read(tmp_path / "p")
    monkeypatch.setattr(up, "MAX_POINTS", 100)
    monkeypatch.setattr(up, "MAX_STROKES", 3)
    with pytest.raises(UnipenError, match=r"more than 3 strokes"):
        read(tmp_path / "s")


def test_not_a_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name, kind in (("fifo", "a FIFO"), ("dir", "a directory")):
        with pytest.raises(UnipenError, match=kind):
            read_unipen(tmp_path / name, tmp_path, "xyz")


@given(data=st.data())
def test_damaged_bytes_give_unipen_error_only(tmp_path_factory, data):
    """Flipped, cut, or inserted bytes anywhere in either file: a reading or a UnipenError, nothing else."""
    files = {"pen": PEN.encode(), "segments": SEGMENTS.encode()}
    which = data.draw(st.sampled_from(sorted(files)))
    raw = bytearray(files[which])
    how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if how == "flip":
        raw[at] = data.draw(st.integers(0, 255))
    elif how == "cut":
        del raw[at:]
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=20))
    files[which] = bytes(raw)
    root = tree(tmp_path_factory.mktemp("f"), {"include/x/x.doc": DOC, "include/x/data/pen.dat": files["pen"],
                                               "seg.dat": files["segments"]})
    try:
        samples = read_unipen(root / "seg.dat", root / "include", "xyz")
    except UnipenError as e:
        assert str(root) in str(e)
        return
    assert all(isinstance(x, Sample) and 0 <= x.label <= 9 and x.strokes for x in samples)
    assert all(np.isfinite(t).all() for x in samples for t in x.strokes)


def test_writer_split_is_fixed():
    parts = [writer_split(f"w{i}") for i in range(2000)]
    share = {p: parts.count(p) / len(parts) for p in ("train", "dev_tune", "dev_report")}
    assert 0.76 < share["train"] < 0.84 and 0.07 < share["dev_tune"] < 0.13 and 0.07 < share["dev_report"] < 0.13
    # pinned: the rule must never move a writer (a model tuned on dev_tune would be judged on its own data)
    h = int.from_bytes(hashlib.sha256(b"unipen-split/w7").digest()[:8], "big")
    assert writer_split("w7") == ("train" if h % 100 >= 20 else "dev_tune" if h // 100 % 2 == 0 else "dev_report")
    assert [writer_split(f"w{i}") for i in range(8)] == parts[:8]


def test_draw_sample_fits_the_canvas():
    tall = Sample((np.array([[0, 0], [0, 1000]], np.float32), np.array([[0, 0], [300, 0]], np.float32)),
                  1, "xyz-0", "xyz", "OK")
    img, strokes = draw_sample(tall, height=140, place=(0, 1))
    assert img.shape == (280, 280) and img.dtype == np.float32 and img.max() == 1
    pts = np.concatenate(strokes)
    assert np.ptp(pts[:, 1]) == pytest.approx(140) and pts[:, 0].min() == pytest.approx(13)  # left, bottom
    assert pts[:, 1].max() == pytest.approx(280 - 13)
    wide = Sample((np.array([[0, 0], [1000, 10]], np.float32),), 1, "xyz-0", "xyz", "OK")
    pts = np.concatenate(draw_sample(wide, height=200)[1])
    assert np.ptp(pts[:, 0]) == pytest.approx(280 - 26)  # fitted by its width, inside the canvas
    dot = Sample((np.array([[5, 5]], np.float32),), 0, "xyz-0", "xyz", "OK")
    assert draw_sample(dot, height=100)[0].max() == 1


# ---- the fetched folder, on a small fake subset -------------------------------------------------

FAKE = {"README.md": "readme", "CDROM-README": "notice", "LICENSE": "cc-by",
        "data/1a/xyz/seg.dat": SEGMENTS, "data/1a/tos/t.dat": '.SEGMENT CHARACTER 0 ? "1"\n',
        "include/x/x.doc": DOC, "include/x/data/pen.dat": PEN}
OUTSIDE = {"data/1b/xyz/upper.dat": "not digits", "include/abm/a.dat": "another contributor", "tools/x.c": "c"}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake subset pinned in place of the real one: (folder holding ARCHIVE, a GitHub-style tarball's URL)."""
    monkeypatch.setattr(up, "CONTRIBUTORS", ("x", "xyz", "tos"))
    sums = {rel: hashlib.sha256(text.encode()).hexdigest() for rel, text in FAKE.items()}
    monkeypatch.setattr(up, "MANIFEST_SHA256", hashlib.sha256(up._manifest_text(sums).encode()).hexdigest())
    src = tmp_path / "shared"
    src.mkdir()
    archive = make_tar(FAKE, "unipen-train_r01_v07", "xz")
    (src / up.ARCHIVE).write_bytes(archive)
    monkeypatch.setattr(up, "ARCHIVE_SHA256", hashlib.sha256(archive).hexdigest())
    (tmp_path / "github.tar.gz").write_bytes(make_tar({**FAKE, **OUTSIDE}, f"train_r01_v07-{up.COMMIT}", "gz"))
    return src, (tmp_path / "github.tar.gz").as_uri()


def make_tar(files, top, compression, extra=()):
    buf = io.BytesIO()
    fast = {"compresslevel": 1} if compression == "gz" else {}  # the real subset is 74 MB
    with tarfile.open(fileobj=buf, mode=f"w:{compression}", **fast) as tar:
        for rel, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buf.getvalue()


def listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


def test_fetch_from_folder_then_load(fake, tmp_path):
    dest = fetch_unipen(tmp_path / "d", source=fake[0], log=lambda *_: None)
    assert os.listdir(dest) == [up.FOLDER]  # the archive copy and the staging folder are gone
    samples = load_unipen(dest)
    assert [s.label for s in samples] == [1, 4, 7, 2] and {s.contributor for s in samples} == {"xyz"}  # tos left out
    said = []
    fetch_unipen(dest, source=fake[0], log=said.append)
    assert said == [f"{dest / up.FOLDER}: present and verified"]


def test_download_ends_in_the_same_layout(fake, tmp_path):
    a = fetch_unipen(tmp_path / "a", source=fake[0], log=lambda *_: None) / up.FOLDER
    b = fetch_unipen(tmp_path / "b", url=fake[1], log=lambda *_: None) / up.FOLDER
    assert listing(a) == listing(b) and "data/1b" not in listing(b) and "include/abm" not in listing(b)
    assert (a / up.MANIFEST).read_bytes() == (b / up.MANIFEST).read_bytes()


def test_loading_checks_every_file_against_the_manifest(fake, tmp_path):
    dest = fetch_unipen(tmp_path / "d", source=fake[0], log=lambda *_: None)
    pen = dest / up.FOLDER / "include/x/data/pen.dat"
    pen.write_text(PEN.replace("0 100", "0 999"))
    with pytest.raises(UnipenError, match=r"pen.dat: SHA-256 .* the file changed after it was fetched"):
        load_unipen(dest)
    said = []
    fetch_unipen(dest, source=fake[0], log=said.append)  # a damaged folder is fetched again
    assert "fetching it again" in said[0] and len(load_unipen(dest)) == 4
    (dest / up.FOLDER / "data/1a/xyz/seg.dat").unlink()
    with pytest.raises(UnipenError, match=r"seg.dat: listed in MANIFEST.sha256 but missing"):
        load_unipen(dest)
    (dest / up.FOLDER / up.MANIFEST).write_text("")
    with pytest.raises(UnipenError, match="not the verified UNIPEN subset"):
        load_unipen(dest)
    (dest / up.FOLDER / up.MANIFEST).unlink()
    with pytest.raises(FileNotFoundError, match="no MANIFEST.sha256: not a verified fetch.*fetch unipen"):
        load_unipen(dest)
    with pytest.raises(FileNotFoundError, match="no such folder.*python -m tinycnn.data fetch unipen"):
        load_unipen(tmp_path / "nothing")


@pytest.mark.parametrize("damage, message", [
    ("wrong archive", "not the UNIPEN archive"),
    ("missing file", "its 6 files are not the pinned UNIPEN subset"),
    ("symlink", "is a link or a special file"),
    ("dot-dot", "unexpected path"),
    ("garbage", "damaged archive"),
])
def test_a_bad_source_leaves_nothing(fake, tmp_path, monkeypatch, damage, message):
    src, url = fake
    files = {k: v for k, v in FAKE.items() if not (damage == "missing file" and k == "LICENSE")}
    link = tarfile.TarInfo(f"train_r01_v07-{up.COMMIT}/include/x/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    dotdot = tarfile.TarInfo(f"train_r01_v07-{up.COMMIT}/data/1a/../../x")
    extra = {"symlink": [link], "dot-dot": [dotdot]}.get(damage, [])
    body = b"\x1f\x8b garbage" if damage == "garbage" else make_tar(files, f"train_r01_v07-{up.COMMIT}", "gz", extra)
    (tmp_path / "bad.tar.gz").write_bytes(body)
    dest = tmp_path / "d"
    if damage == "wrong archive":
        (src / up.ARCHIVE).write_bytes(make_tar(files, "unipen-train_r01_v07", "xz") + b"\0")
    with pytest.raises(RuntimeError, match=message):
        if damage == "wrong archive":
            fetch_unipen(dest, source=src, log=lambda *_: None)
        else:
            fetch_unipen(dest, url=(tmp_path / "bad.tar.gz").as_uri(), log=lambda *_: None)
    assert os.listdir(dest) == []


def test_an_interrupted_fetch_leaves_the_old_folder(fake, tmp_path, monkeypatch):
    dest = fetch_unipen(tmp_path / "d", source=fake[0], log=lambda *_: None)
    (dest / up.FOLDER / "LICENSE").write_text("changed")  # damaged: the next fetch replaces it

    def interrupted(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(up, "_seal", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch_unipen(dest, source=fake[0], log=lambda *_: None)
    assert os.listdir(dest) == [up.FOLDER] and (dest / up.FOLDER / "LICENSE").read_text() == "changed"


def test_offline_download_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match=r"could not download http://127.0.0.1:9/.*No internet\? .*"
                                           r"python -m tinycnn.data fetch unipen --from DIR"):
        fetch_unipen(tmp_path, url="http://127.0.0.1:9/x.tar.gz", log=lambda *_: None)


def test_command_line_checks_before_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    for args, message in [(["--from", str(tmp_path)], f"--from {tmp_path}: no {up.ARCHIVE} in that folder"),
                          (["--from", str(tmp_path / "no")], "no such folder"),
                          (["--dest", str(tmp_path / "afile")], "is not a folder")]:
        assert up.main(args) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


# ---- the real data ------------------------------------------------------------------------------

@pytest.mark.slow  # reads the whole data set
def test_real_archive_is_the_pinned_subset_both_ways(unipen_archive, tmp_path):
    """The real archive fetches, and a GitHub-style tarball of the same files plus others (what the
    commit's tarball holds besides) gives the same pinned manifest."""
    dest = fetch_unipen(tmp_path / "a", source=unipen_archive.parent, log=lambda *_: None)
    tree = dest / up.FOLDER
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*")
             if p.is_file() and p.name != up.MANIFEST}
    assert len(files) == 3366
    (tmp_path / "t.tar.gz").write_bytes(make_tar({**files, **OUTSIDE}, f"train_r01_v07-{up.COMMIT}", "gz"))
    b = fetch_unipen(tmp_path / "b", url=(tmp_path / "t.tar.gz").as_uri(), log=lambda *_: None) / up.FOLDER
    assert (b / up.MANIFEST).read_bytes() == (tree / up.MANIFEST).read_bytes()


@pytest.mark.slow  # reads the whole data set
def test_real_digits_writers_and_split(unipen):
    assert len(unipen) == 15410
    assert np.bincount([s.label for s in unipen]).tolist() == [1588, 1694, 1594, 1534, 1575, 1470, 1465, 1488,
                                                               1505, 1497]
    writers = {s.writer for s in unipen}
    assert len(writers) == 211 and all(re.fullmatch(r"[a-z]{3}-[0-9a-f]{10}", w) for w in writers)
    assert {s.contributor for s in unipen} == set(up.CONTRIBUTORS) - {"tos"}
    parts = {}
    for s in unipen:
        parts.setdefault(writer_split(s.writer), []).append(s.writer)
    sizes = {p: (len(set(ws)), len(ws)) for p, ws in parts.items()}
    assert sizes == {"train": (157, 11724), "dev_tune": (26, 1492), "dev_report": (28, 2194)}


@pytest.mark.slow  # reads the whole data set
def test_real_aga_is_scaled_to_equal_units(unipen):
    """aga's tablet has 856.7 points per inch across and 979.3 down: its digits' y is scaled by 856.7 / 979.3."""
    aga = [s for s in unipen if s.contributor == "aga"]
    assert len(aga) == 405
    ys = np.concatenate([t[:, 1] for s in aga for t in s.strokes])
    assert np.allclose(ys / (856.7 / 979.3), np.round(ys / (856.7 / 979.3)), atol=1e-2)  # whole tablet units


@pytest.mark.slow  # reads the whole data set
def test_real_digits_read_as_the_pad_reads(unipen):
    import tinycnn as tc

    rng = np.random.default_rng(0)
    picked = [unipen[i] for i in rng.choice(len(unipen), 60, replace=False)]
    right = 0
    for s in picked:
        img, strokes = draw_sample(s, height=rng.uniform(100, 230), place=rng.uniform(0, 1, 2))
        right += int(np.argmax(tc.read_digit(img, strokes=strokes).probs) == s.label)
    assert right >= 0.85 * len(picked)


def test_reading_check_real_writer_figures():
    """scripts/reading_check.py's real-writer figures on four made-up readings."""
    import importlib.util

    from tinycnn.digits.reading import Reading

    spec = importlib.util.spec_from_file_location("reading_check", Path(__file__).parents[1] / "scripts" / "reading_check.py")
    rc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rc)

    def reading(probs, verdict, digit):
        return Reading(digit, np.array(probs, np.float32), verdict, np.zeros((28, 28), np.float32))

    def p(d, top):
        return [top if i == d else (1 - top) / 9 for i in range(10)]

    readings = [reading(p(3, 0.9), "digit", 3), reading(p(5, 0.9), "digit", 5),   # right; wrong and sure
                reading(p(1, 0.5), "unsure", None), reading([0] * 10, "blank", None)]  # wrong, unsure; blank
    fig = rc.report_readings("t", readings, np.array([3, 7, 2, 0]), np.array(["a", "a", "b", "b"]), out=lambda *_: None)
    assert fig["accuracy"] == 0.25 and fig["writers_mean"] == 0.25
    assert fig["confidently_wrong"] == 0.25 and fig["named_wrong"] == 0.25 and fig["not_read"] == 0.25
    assert fig["per_digit"] == {0: 0.0, 2: 0.0, 3: 1.0, 7: 0.0}
    assert dict(fig["confusions"]) == {(7, 5): 1, (2, 1): 1, (0, -1): 1}
