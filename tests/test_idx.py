import gzip
import os
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tinycnn.data import IDXError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@st.composite
def idx_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
    return draw(hnp.arrays(dtype, shape))


@given(idx_arrays(), st.booleans())
def test_round_trip(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("rt") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)  # NaN == NaN here, bit patterns preserved
    assert back.dtype.isnative


def test_header_layout_is_big_endian(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, 2, 3]], dtype=np.int16))
    raw = (tmp_path / "a").read_bytes()
    assert raw == bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 1, 3) + struct.pack(">3h", 1, 2, 3)


def _valid_file(tmp_path, gz):
    path = tmp_path / ("v.gz" if gz else "v")
    write_idx(path, np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4))
    return path


@given(cut=st.integers(min_value=0, max_value=4 + 12 + 96 - 1), gz=st.booleans())
def test_truncated_file_is_refused(tmp_path_factory, cut, gz):
    tmp = tmp_path_factory.mktemp("t")
    raw = bytes([0, 0, 0x0C, 3]) + struct.pack(">III", 2, 3, 4) + np.arange(24, dtype=">i4").tobytes()
    body = raw[:cut]
    path = tmp / "t"
    path.write_bytes(gzip.compress(body) if gz else body)
    with pytest.raises(IDXError) as e:
        read_idx(path)
    assert str(path) in str(e.value) and "byte" in str(e.value)


@given(extra=st.binary(min_size=1, max_size=50), gz=st.booleans())
def test_padded_file_is_refused(tmp_path_factory, extra, gz):
    path = tmp_path_factory.mktemp("p") / "p"
    raw = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 3) + b"abc" + extra
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(IDXError, match="unexpected bytes after"):
        read_idx(path)


@given(pos=st.integers(0, 3), value=st.integers(0, 255))
def test_flipped_header_byte(tmp_path_factory, pos, value):
    raw = bytearray(bytes([0, 0, 0x08, 2]) + struct.pack(">II", 2, 2) + b"abcd")
    if raw[pos] == value:
        return
    raw[pos] = value
    path = tmp_path_factory.mktemp("f") / "f"
    path.write_bytes(bytes(raw))
    try:
        arr = read_idx(path)
    except IDXError as e:
        assert f"byte {e.offset}:" in str(e)
        return
    # A flip may still describe a valid file (e.g. another 1-byte type code): then it reads whole.
    assert arr.size * arr.itemsize == 4


@given(dims=st.lists(st.integers(2**20, 2**32 - 1), min_size=1, max_size=5),
       code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]), gz=st.booleans())
def test_huge_declared_dims_tiny_body(tmp_path_factory, dims, code, gz):
    raw = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + b"\x01" * 100
    path = tmp_path_factory.mktemp("h") / "h"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    # tracemalloc sees this call's own allocations (bytes, bytearray, NumPy); the process's
    # peak RSS would not, once an earlier test had raised it.
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match="file ends early|more than the limit"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_garbage_gzip(tmp_path):
    path = tmp_path / "g.gz"
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(200))
    path.write_bytes(good[:20] + b"\xff" * 30)
    with pytest.raises(IDXError, match="corrupt gzip|ends"):
        read_idx(path)


def test_messages_name_file_and_offset(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(IDXError, match=r"x: byte 2: unknown type code 0x07"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(IDXError, match=r"byte 0: bad magic 504b"):
        read_idx(path)


def test_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="no IDX type code"):
        write_idx(tmp_path / "b", np.zeros(3, dtype=np.uint16))
    assert not os.listdir(tmp_path)


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "a.gz"
    write_idx(path, np.ones(4, np.uint8))
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_idx(path, np.zeros(9, np.uint8))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.gz"]
