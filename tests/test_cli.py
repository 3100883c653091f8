"""Command lines and training's files: options refused before work starts, one-line errors, a lock
per output folder, a full disk, leftovers of interrupted writes, damaged checkpoints."""
import errno
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tinycnn as tc
from conftest import small_config
from tinycnn.digits.train import OutputError, _output_lock, checkpoint_path, main, train

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (192, 28, 28), dtype=np.uint8), rng.integers(0, 10, 192),
            rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), rng.integers(0, 10, 50))


def cfg(tmp_path, **kw):
    return small_config(tmp_path, **dict(dict(val_split=64, seed=3), **kw))


def quiet(*_):
    pass


@pytest.mark.parametrize("args, message", [
    (["--limit", "1000"], "--limit 1000 leaves no training images after the --val-split 5000"),
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--weight-average", "1"], "--weight-average is a decay from 0 (off) to below 1, got 1.0"),
])
def test_options_are_refused_before_anything_starts(capsys, args, message):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}" or err.startswith(f"error: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_output_that_cannot_be_written_is_refused_at_once(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    for out, message in [(tmp_path, "is a directory; give a file name"),
                         (tmp_path / "afile" / "m.npz", "a file is in the way")]:
        assert main(["--out", str(out)]) == 1
        assert message in capsys.readouterr().err
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # a read-only folder (root may write anywhere)
    assert main(["--out", str(tmp_path / "ro" / "m.npz")]) == 1
    assert "is not writable" in capsys.readouterr().err


def test_two_trainings_cannot_write_the_same_folder(tmp_path, data):
    with _output_lock(tmp_path):
        with pytest.raises(OutputError, match=rf"another training is writing to {tmp_path} \(pid {os.getpid()}"):
            train(cfg(tmp_path), data=data, log=quiet)


def test_a_killed_run_leaves_no_stuck_lock_and_its_temp_files_are_removed(tmp_path, data):
    # A process that takes the lock and is killed with SIGKILL, mid-write.
    code = ("import os, sys, time; sys.path.insert(0, %r); from tinycnn.digits.train import _output_lock\n"
            "with _output_lock(%r):\n    print('locked', flush=True); time.sleep(60)") % (REPO, str(tmp_path))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match="another training"):
            train(cfg(tmp_path), data=data, log=quiet)
    finally:
        p.kill()
        p.wait()
    orphan = tmp_path / ".m.checkpoint.npz.abc123.tmp"
    orphan.write_bytes(b"half a checkpoint")
    other = tmp_path / ".notes.txt.abc.tmp"  # not ours: kept
    other.write_text("x")
    logs = []
    train(cfg(tmp_path, epochs=1), data=data, log=logs.append)
    assert not orphan.exists() and other.exists()
    assert any("removed" in line and orphan.name in line for line in logs)


def test_full_disk_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, data, monkeypatch):
    c = cfg(tmp_path)
    ckpt = checkpoint_path(c)
    real_savez = np.savez

    def savez(f, *a, **k):  # the disk fills up while the second checkpoint is written
        if ckpt.exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(f, *a, **k)

    monkeypatch.setattr(np, "savez", savez)
    with pytest.raises(OutputError, match=rf"the disk is full; the previous checkpoint {ckpt} is kept"):
        train(c, data=data, log=quiet)
    first = ckpt.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tinycnn-train.lock", "m.checkpoint.npz"]
    monkeypatch.setattr(np, "savez", real_savez)
    # The kept checkpoint resumes, even when --out is spelled differently (./ and a relative path).
    monkeypatch.chdir(tmp_path.parent)
    again = cfg(tmp_path, out=os.path.join(".", tmp_path.name, "m.npz"))
    result = train(again, data=data, log=quiet, resume=True)
    assert result["epochs_run"] == 2 and first != ckpt.read_bytes()


def _checkpoint(tmp_path, data):
    c = cfg(tmp_path, epochs=2)

    def stop(step):
        if step == 2:
            os.kill(os.getpid(), __import__("signal").SIGINT)

    assert train(c, data=data, log=quiet, on_step=stop)["stopped"]
    return c, checkpoint_path(c)


def _rewrite(path, change):
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    change(entries)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)


def _npy(a):
    b = io.BytesIO()
    np.lib.format.write_array(b, a)
    return b.getvalue()


def test_damaged_checkpoints_are_refused_with_one_line(tmp_path, data, capsys):
    c, ckpt = _checkpoint(tmp_path, data)
    good = ckpt.read_bytes()

    def state(edit):
        def change(entries):
            s = json.loads(str(np.load(io.BytesIO(entries["__state__.npy"]))))
            edit(s)
            entries["__state__.npy"] = _npy(np.array(json.dumps(s)))
        return change

    cases = [
        (lambda e: None, None),
        (state(lambda s: s["rng"]["state"].update(state="garbage")), "random-number state is damaged"),
        (state(lambda s: s.update(epoch="one")), "epoch is 'one', expected int"),
        (state(lambda s: s.update(step_in_epoch=10**9)), "is outside this run"),
        (lambda e: e.update({"model/7.W.npy": _npy(np.full((1600, 128), np.nan, np.float32))}), "NaN or infinite"),
        (lambda e: e.update({"perm.npy": _npy(np.zeros(128, np.int64))}), "is not an order of this run"),
        (lambda e: e.update({"extra.npy": _npy(np.zeros(3))}), "not part of a tinycnn checkpoint"),
    ]
    for change, message in cases:
        ckpt.write_bytes(good)
        _rewrite(ckpt, change)
        if message is None:
            continue
        with pytest.raises(tc.ModelFileError, match=message):
            train(c, data=data, log=quiet, resume=True)
    ckpt.write_bytes(good[:len(good) // 2])
    with pytest.raises(tc.ModelFileError, match="not a complete .npz archive"):
        train(c, data=data, log=quiet, resume=True)
    ckpt.write_text("a text file")
    r = subprocess.run([sys.executable, "scripts/train.py", "--arch", "seed", "--epochs", "2", "--batch-size", "64",
                        "--val-split", "64", "--out", c.out, "--seed", "3", "--synthetic", "0", "--non-digits", "0",
                        "--calibration-digits", "100", "--resume"],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=REPO))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "not a readable tinycnn checkpoint" in r.stderr and "allow_pickle" not in r.stderr


def run(*args):
    # SDL's dummy video driver: the pad's own checks come before it would open a window, and a
    # test must not depend on whether the machine, or an earlier test, has a display
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=REPO, SDL_VIDEODRIVER="dummy"))


def test_pad_command_line_errors_are_one_line(tmp_path):
    (tmp_path / "events").mkdir()
    tc.seed(0)
    tc.Sequential(tc.Flatten(), tc.Dense(784, 407)).save(tmp_path / "m407.npz")
    os.mkfifo(tmp_path / "fifo.npz")
    for args, message in [
        (["--log", str(tmp_path / "events")], "is a directory"),
        (["--log", str(tmp_path / "no" / "such" / "log.jsonl")], "does not exist"),
        (["--size", "10x10"], "the window must be at least 420x300"),
        (["--views", "0"], "--views 0: give a number of views from 1 to 9"),
        (["--model", str(tmp_path / "m407.npz"), "--predict", "x.png"], r"output of shape (407,)"),
        (["--model", str(tmp_path / "fifo.npz")], "a FIFO (named pipe), not a tinycnn model file"),
        (["--image", str(tmp_path / "nope.png")], "nope.png: no such file"),
    ]:
        r = run("-m", "pad", *args)
        assert r.returncode == 1 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, (args, r.stderr)
        assert message in r.stderr, (args, r.stderr)


def test_fetch_command_line_errors_are_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    for args, message in [(["--from", str(tmp_path / "none")], "no such folder"),
                          (["--dest", str(tmp_path / "afile")], "is not a folder")]:
        r = run("scripts/fetch_mnist.py", *args)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
