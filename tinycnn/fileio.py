"""Files that are either written whole or not at all, and files that are really files."""
import contextlib
import glob
import os
import stat
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file beside `path`; on success rename it to `path`, on error delete it.

    A reader never sees a half-written file, and an interrupted write leaves the old one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(path), suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temp_prefix(path):
    return "." + os.path.basename(path) + "."


def remove_stale_temps(path):
    """Delete the temporary files that atomic_open(path) left behind when its process was killed
    (kill -9 gives it no chance to clean up). Call it only while no other process may be
    writing `path` (under a lock). Returns the paths removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    pattern = os.path.join(glob.escape(folder), glob.escape(_temp_prefix(path)) + "*.tmp")
    removed = []
    for tmp in glob.glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
            removed.append(tmp)
    return removed


class NotAFileError(OSError):
    """A path that names a directory, a FIFO, a device or a socket where a file is needed.
    `kind` says which ("a FIFO (named pipe)")."""

    def __init__(self, path, kind):
        self.kind = kind
        super().__init__(f"{path}: {kind}, not a file")


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path):
    """Open `path` for binary reading, refusing anything that is not a regular file.

    A FIFO would block the reader forever and a device never ends, so the file is opened
    without blocking and checked (on the open descriptor, so it cannot be swapped in between)
    before a single byte is read. Raises FileNotFoundError, NotAFileError or another OSError.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFileError(os.fspath(path), _kind(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")
