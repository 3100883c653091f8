import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinycnn.data import ChecksumError, fetch, load_mnist
from tinycnn.data.mnist import FILES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_real_mnist_shapes_and_counts(mnist):
    xtr, ytr, xte, yte = mnist
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    assert ytr.shape == (60000,) and yte.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in mnist)
    assert np.bincount(yte).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(ytr).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert xtr.max() == 255 and xtr.min() == 0


def _copy_real(mnist_dir, tmp_path):
    for name in FILES.values():
        shutil.copy(mnist_dir / (name + ".gz"), tmp_path / (name + ".gz"))


@pytest.fixture
def mnist_dir(mnist):
    from tinycnn.data.mnist import default_root, _find
    return _find(default_root(), FILES["train_images"]).parent


def test_corrupted_copy_fails_checksum(mnist_dir, tmp_path):
    _copy_real(mnist_dir, tmp_path)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(p.read_bytes()))
    raw[100] ^= 1  # one label changed: still a valid IDX file, but not MNIST
    p.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz: SHA-256"):
        load_mnist(tmp_path)


def test_raw_files_load_too(mnist_dir, tmp_path):
    for name in FILES.values():
        (tmp_path / name).write_bytes(gzip.decompress((mnist_dir / (name + ".gz")).read_bytes()))
    assert load_mnist(tmp_path)[3].shape == (10000,)


def test_missing_data_says_how_to_fetch(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing: train-images-idx3-ubyte.*"
                                                r"Fetch it with: python -m tinycnn.data fetch mnist --dest "):
        load_mnist(tmp_path)


def _fake_source(tmp_path):
    """A folder with four small 'MNIST' files, and checksums that match them."""
    src = tmp_path / "src"
    src.mkdir()
    sums = {}
    for i, name in enumerate(FILES.values()):
        body = bytes([0, 0, 8, 1, 0, 0, 0, 3, i, i, i])
        (src / (name + ".gz")).write_bytes(gzip.compress(body))
        import hashlib
        sums[name] = hashlib.sha256(body).hexdigest()
    return src, sums


def test_fetch_from_folder_verifies(tmp_path, monkeypatch):
    src, sums = _fake_source(tmp_path)
    monkeypatch.setattr("tinycnn.data.mnist.SHA256", sums)
    dest = fetch(dest=tmp_path / "dest", source=src, log=lambda *_: None)
    assert sorted(os.listdir(dest)) == sorted(n + ".gz" for n in FILES.values())
    # A damaged source is refused, and nothing half-made is left behind.
    (src / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01\x07"))
    (dest / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte.*SHA-256"):
        fetch(dest=dest, source=src, log=lambda *_: None)
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(dest)
    assert not [f for f in os.listdir(dest) if f.endswith((".part", ".tmp"))]


def test_fetch_falls_back_between_mirrors(tmp_path, monkeypatch):
    src, sums = _fake_source(tmp_path)
    monkeypatch.setattr("tinycnn.data.mnist.SHA256", sums)
    dead = "http://127.0.0.1:9/"  # the discard port: connection refused at once
    good = src.as_uri() + "/"
    fetch(dest=tmp_path / "d", mirrors=[dead, good], log=lambda *_: None)
    assert len(os.listdir(tmp_path / "d")) == 4


def test_fetch_offline_fails_fast_with_advice(tmp_path):
    code = ("import tinycnn.data.mnist as m, sys;"
            "m.MIRRORS[:] = ['http://127.0.0.1:9/'];"
            f"sys.exit(m.main(['--dest', {str(tmp_path)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "python -m tinycnn.data fetch mnist --from DIR" in r.stderr
    assert "could not get train-images-idx3-ubyte" in r.stderr


def test_fetch_command_line_from_real_folder(mnist_dir, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "fetch_mnist.py"),
                        "--from", str(mnist_dir), "--dest", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert load_mnist(tmp_path)[1].shape == (60000,)
