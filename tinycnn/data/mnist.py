"""MNIST: the one place that knows its file names, checksums, mirrors and folder.

Files are kept gzipped, as published; the SHA-256 is of the decompressed bytes, which
are the same whichever mirror (or gzip wrapper) they came from.
"""
import gzip
import hashlib
import os
import shutil
from pathlib import Path

from ..fileio import atomic_open
from .idx import read_idx
from .paths import data_root, fetch_command

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
FETCH_COMMAND = "python -m tinycnn.data fetch mnist"  # scripts/fetch_mnist.py is an alias
TIMEOUT_SECONDS = 10


class ChecksumError(ValueError):
    """A file's decompressed content is not the MNIST release."""


def default_root():
    """Where MNIST lives: data_root() / "mnist" (see tinycnn.data.paths), whatever the current folder."""
    return data_root() / "mnist"


def _find(root, name):
    for candidate in (root / (name + ".gz"), root / name):
        if candidate.is_file():
            return candidate
    return None


def content_sha256(path):
    """SHA-256 of a file's bytes after gunzip (or of the raw bytes if not gzipped)."""
    h = hashlib.sha256()
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw) if gz else raw
        try:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        except (OSError, EOFError) as e:
            raise ChecksumError(f"{path}: corrupt gzip stream ({e})") from None
    return h.hexdigest()


def verify(path, name):
    """Raise ChecksumError unless `path` holds exactly the MNIST file `name`."""
    got = content_sha256(path)
    if got != SHA256[name]:
        raise ChecksumError(f"{path}: SHA-256 of the content is {got}, expected {SHA256[name]} "
                            f"for {name}; the file is damaged or not MNIST. "
                            f"Delete it and run {FETCH_COMMAND}")


def load_mnist(root=None):
    """Load MNIST from its IDX files, checking each file's checksum.

    Returns (train_images, train_labels, test_images, test_labels):
    uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).
    """
    root = Path(root) if root is not None else default_root()
    missing = [n for n in FILES.values() if _find(root, n) is None]
    if missing:
        raise FileNotFoundError(f"MNIST not found in {root} (missing: {', '.join(missing)}). "
                                f"Fetch it with: {FETCH_COMMAND}" + (
                                    "" if root == default_root() else f" --dest {root}"))
    arrays = []
    for name in FILES.values():
        path = _find(root, name)
        verify(path, name)
        arrays.append(read_idx(path))
    return tuple(arrays)


def _download(url, dest, progress):
    import urllib.request  # only when downloading: it costs ~50 ms at import

    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as r, atomic_open(dest) as f:
        total = int(r.headers.get("Content-Length") or 0) or None
        with progress(total=total, unit="B", unit_scale=True, desc=os.path.basename(dest)) as bar:
            for block in iter(lambda: r.read(1 << 16), b""):
                f.write(block)
                bar.update(len(block))


def fetch(dest=None, source=None, mirrors=MIRRORS, log=print):
    """Put the four MNIST files, verified, into `dest`.

    `source` is a local folder to copy from instead of downloading. A file already in place
    and valid is kept. Each file is checked in a temporary place and only then moved in.
    Raises RuntimeError with what to do when no copy could be had.
    """
    from tqdm import tqdm

    dest = Path(dest) if dest is not None else default_root()
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        have = _find(dest, name)
        if have is not None:
            try:
                verify(have, name)
                log(f"{have}: present and verified")
                continue
            except ChecksumError as e:
                log(f"{e}; fetching it again")
        final = dest / (name + ".gz")
        staging = dest / (name + ".gz.part")
        errors = []
        for origin in ([Path(source)] if source is not None else mirrors):
            try:
                if source is not None:
                    found = _find(origin, name)
                    if found is None:
                        raise FileNotFoundError(f"neither {name}.gz nor {name} is in {origin}")
                    with open(found, "rb") as src, atomic_open(staging) as out:
                        shutil.copyfileobj(src, out)
                else:
                    _download(origin + name + ".gz", staging, tqdm)
                verify(staging, name)
                os.replace(staging, final)
                log(f"{final}: verified")
                break
            except Exception as e:  # any failure of one source (network, HTTP, checksum): try the next
                errors.append(f"{origin}: {e}")
                staging.unlink(missing_ok=True)
        else:
            hint = ("" if source is not None else
                    "\nNo internet? Copy the files from a folder that has them: "
                    f"{FETCH_COMMAND} --from DIR")
            raise RuntimeError(f"could not get {name}:\n  " + "\n  ".join(errors) + hint)
    return dest


def main(argv=None):
    """Command line: fetch MNIST into default_root() (or --dest), from the mirrors or --from DIR."""
    status, where = fetch_command(argv, FETCH_COMMAND, "Fetch and verify the MNIST IDX files.", fetch, default_root())
    if where is not None:
        print(f"MNIST is ready in {where}")
    return status
