"""Read and write IDX files, the format MNIST is published in.

Layout (all integers big-endian)::

    byte 0-1   zero
    byte 2     type code: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte 3     number of dimensions d
    4*d bytes  the size of each dimension, uint32
    ...        the data, row-major, prod(sizes) * itemsize bytes

A file may be gzipped (recognised by its content, not its name). Every check is made
before the data is allocated, so a hostile header that declares terabytes costs nothing:
the declared size against a limit, a raw file's size against the header, and only regular
files are opened (a FIFO would block forever, a device never end).
"""
import gzip
import os
import zlib

import numpy as np

from ..fileio import NotAFileError, atomic_open, open_regular

TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
MAX_BYTES = 2 << 30   # the largest data read_idx accepts unless told otherwise (MNIST's largest: 47 MB)
MAX_DIMS = 32         # what every NumPy version supports


class IDXError(ValueError):
    """A file is not valid IDX. The message names the file, the byte offset and the fault."""

    def __init__(self, path, offset, problem):
        self.path, self.offset, self.problem = str(path), offset, problem
        super().__init__(f"{path}: byte {offset}: {problem}")


def _read_at_most(stream, limit, path, at, raw):
    """Read up to `limit` bytes in chunks into one growing buffer, so memory follows the bytes
    actually present, not what a header claims, and the data is held once, not twice.
    `at`: the offset the read starts at, for error messages; `raw`: the underlying file."""
    buf = bytearray()
    while len(buf) < limit:
        try:
            part = stream.read(min(_CHUNK, limit - len(buf)))
        except (OSError, EOFError, zlib.error) as e:
            raise IDXError(path, at + len(buf), f"corrupt gzip stream after {raw.tell()} compressed bytes "
                                                f"(offset in the decompressed data) ({e})") from None
        if not part:
            break
        buf += part
    return buf


def _size(n):
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n:,} bytes"


def read_idx(path, max_bytes=MAX_BYTES):
    """Read an IDX file (raw or gzipped) into a native-endian NumPy array.

    Returns an array of shape (d0, d1, ...) as declared in the header, with the dtype
    of the type code (uint8, int8, int16, int32, float32 or float64).
    A header declaring more than `max_bytes` of data is refused before anything is read.
    Raises IDXError (a ValueError) for anything that is not a complete, valid IDX file, and
    FileNotFoundError if there is no file.
    """
    try:
        raw = open_regular(path)
    except NotAFileError as e:
        raise IDXError(path, 0, f"{e.kind}, not an IDX file") from None
    except FileNotFoundError:
        raise
    except OSError as e:
        raise IDXError(path, 0, f"cannot open it ({e.strerror or e})") from None
    with raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        where = " (offset in the decompressed data)" if gzipped else ""

        head = _read_at_most(stream, 4, path, 0, raw)
        if len(head) < 4:
            raise IDXError(path, len(head), f"file ends inside the 4-byte header{where}")
        if head[0:2] != b"\0\0":
            raise IDXError(path, 0, f"bad magic {head[0:2].hex()}, expected 0000: not an IDX file")
        code, ndim = head[2], head[3]
        if code not in TYPE_CODES:
            known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
            raise IDXError(path, 2, f"unknown type code 0x{code:02X} (known: {known})")
        if ndim == 0:
            raise IDXError(path, 3, "zero dimensions")
        if ndim > MAX_DIMS:
            raise IDXError(path, 3, f"{ndim} dimensions; at most {MAX_DIMS} are supported")

        dims_bytes = _read_at_most(stream, 4 * ndim, path, 4, raw)
        if len(dims_bytes) < 4 * ndim:
            raise IDXError(path, 4 + len(dims_bytes),
                           f"file ends inside the dimension sizes ({ndim} declared){where}")
        shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
        dtype = TYPE_CODES[code]
        body_at = 4 + 4 * ndim
        expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
        declares = f"header declares shape {shape} of {dtype.name} = {_size(expected)} of data"
        if expected > max_bytes:
            raise IDXError(path, 4, f"{declares}, more than the limit of {_size(max_bytes)} "
                                    "(read_idx(path, max_bytes=...) raises it)")
        if not gzipped and file_size != body_at + expected:  # known without reading a byte of data
            if file_size < body_at + expected:
                raise IDXError(path, file_size, f"file ends early: {declares}, the file holds only "
                                                f"{file_size - body_at:,} bytes of data")
            raise IDXError(path, body_at + expected, f"unexpected bytes after the data: {declares}, "
                                                     f"the file is {file_size - body_at - expected:,} bytes longer")

        # One byte more than declared tells a padded file from an exact one.
        body = _read_at_most(stream, expected + 1, path, body_at, raw)
        if len(body) < expected:
            raise IDXError(path, body_at + len(body),
                           f"file ends early: {declares}, only {len(body):,} bytes present{where}")
        if len(body) > expected:
            raise IDXError(path, body_at + expected,
                           f"unexpected bytes after the {expected} data bytes that shape "
                           f"{shape} of {dtype.name} declares{where}")
    # The array takes over the buffer (no copy); multi-byte types are swapped to native order in place.
    array = np.frombuffer(body, dtype=dtype)
    if not dtype.isnative and dtype.itemsize > 1:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array.view(dtype.newbyteorder("=")).reshape(shape)


def write_idx(path, array):
    """Write `array` (any shape, one of the six IDX dtypes) as an IDX file.

    Gzipped when `path` ends in ``.gz``. Written to a temporary file in the same folder and
    renamed into place, so a crash never leaves a half-written file under `path`.
    """
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ValueError(f"write_idx({path}): dtype {array.dtype} has no IDX type code; "
                         "use uint8, int8, int16, int32, float32 or float64")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx({path}): shape {array.shape} does not fit IDX "
                         "(1 to 255 dimensions, each below 2**32)")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_open(path) as f:
        f.write(payload)
