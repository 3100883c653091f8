"""Hostile and damaged files: every fault is the library's own error, found before anything big
is allocated. Hypothesis mutates real files (truncates, flips bytes, rewrites entries and the
architecture JSON); memory is bounded with tracemalloc (timings are left to benchmarks)."""
import gzip
import io
import json
import os
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import tinycnn as tc
from tinycnn.data import IDXError, read_idx, write_idx

FUZZ = settings(max_examples=40, deadline=None)


def npy(array):
    b = io.BytesIO()
    np.lib.format.write_array(b, array, allow_pickle=False)
    return b.getvalue()


def header_only(shape, descr="<f4"):
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": shape})
    return b.getvalue()


def write_npz(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in entries.items():
            z.writestr(name + ".npy", value if isinstance(value, bytes) else npy(value))
    return path


def arch(layers, **extra):
    return np.array(json.dumps(dict({"format": "tinycnn-model-1", "layers": layers}, **extra)))


SMALL = [{"type": "Flatten", "config": {}}, {"type": "Dense", "config": {"in_features": 4, "out_features": 3}}]
W, B = np.ones((4, 3), np.float32), np.zeros(3, np.float32)


def peak_of(fn):
    """(the error fn raised or None, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        try:
            fn()
            err = None
        except Exception as e:  # noqa: BLE001 - returned for the caller to judge
            err = e
        return err, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layers, match", [
    ([{"type": "Dense", "config": {"in_features": 30000, "out_features": 30000}}], "past 50,000,000 parameters"),
    ([{"type": "Dense", "config": {"in_features": 100000, "out_features": 100000}}], "past 50,000,000 parameters"),
    ([{"type": "Conv2D", "config": {"in_channels": 20000, "out_channels": 20000, "kernel_size": 3}}],
     "past 50,000,000 parameters"),
    ([{"type": "Dense", "config": {"in_features": 0, "out_features": 10}}], r"'in_features' must be in \[1,"),
    ([{"type": "Conv2D", "config": {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "stride": 0}}],
     r"'stride' must be in \[1, 64\], got 0"),
    ([{"type": "Conv2D", "config": {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": -1}}],
     r"'padding' must be in \[0, 64\], got -1"),
    ([{"type": "Dense", "config": {"in_features": "4", "out_features": 3}}], "must be an integer"),
    ([{"type": "Dense", "config": {"in_features": 4, "out_features": 3, "bias": False}}], "has no option 'bias'"),
    ([{"type": "Evil", "config": {}}], "unknown layer type 'Evil'"),
    ([{"type": "Residual", "layers": [{"type": "Residual", "layers": []}] * 2, "config": {"x": 1}}],
     "takes layers, not options"),
    (5, r"\"layers\" must be a list"),
    ([[1, 2]], "must be an object with a \"type\""),
])
def test_bad_architectures_are_refused_before_building(tmp_path, layers, match):
    path = write_npz(tmp_path / "m.npz", {"__architecture__": arch(layers)})
    err, peak = peak_of(lambda: tc.load(path))
    assert isinstance(err, tc.ModelFileError) and str(path) in str(err)
    assert pytest.raises(tc.ModelFileError, tc.load, path).match(match)
    assert peak < 8 << 20  # nothing was allocated for the 900-million-weight layers


def test_nesting_and_json_faults(tmp_path):
    deep = {"type": "Residual", "layers": []}
    for _ in range(12):
        deep = {"type": "Residual", "layers": [deep]}
    cases = {
        "deep_layers": (arch([deep]), "nested more than 8 deep"),
        "deep_json": (np.array('{"format": "tinycnn-model-1", "layers": ' + "[" * 100000 + "]" * 100000 + "}"),
                      "nested too deeply"),
        "infinity": (np.array('{"format": "tinycnn-model-1", "layers": [{"type": "Dropout", "config": {"p": NaN}}]}'),
                     "NaN is not a number"),
        "no_layers": (np.array('{"format": "tinycnn-model-1"}'), "no \"layers\""),
        "not_json": (np.array("{oops"), "not valid JSON"),
        "not_text": (np.zeros(3), "expected a JSON text"),
    }
    for name, (architecture, match) in cases.items():
        path = write_npz(tmp_path / f"{name}.npz", {"__architecture__": architecture})
        with pytest.raises(tc.ModelFileError, match=match):
            tc.load(path)


@pytest.mark.parametrize("entries, match", [
    ({"1.W": header_only((1 << 20, 1 << 20)) + bytes(64), "1.b": B}, r"declares \d+ bytes, but its header"),
    ({"1.W": np.ones((784, 1000), np.float32), "1.b": B}, r"array 1.W has shape \(784, 1000\), but layer 1"),
    ({"1.W": np.full((4, 3), "x"), "1.b": B}, "dtype <U1, expected float"),
    ({"1.W": np.where(np.eye(4, 3) > 0, np.nan, 1).astype(np.float32), "1.b": B}, "3 of its 12 values are NaN"),
    ({"1.W": W, "1.b": np.array([1, np.inf, 0], np.float32)}, "NaN or infinite"),
    ({"1.W": W, "1.b": B, "junk": np.zeros(5)}, r"unexpected: \['junk'\]"),
    ({"1.W": W}, r"missing: \['1.b'\]"),
    ({"1.W": np.array([None] * 12, dtype=object).reshape(4, 3), "1.b": B}, "only pickle could load"),
])
def test_bad_arrays_are_refused_from_their_headers(tmp_path, entries, match):
    if any(getattr(v, "dtype", None) == object for v in entries.values()):
        entries = {k: (v if getattr(v, "dtype", None) != object else
                       header_only(v.shape, "|O") + b"\x80" * 16) for k, v in entries.items()}
    path = write_npz(tmp_path / "m.npz", {"__architecture__": arch(SMALL), **entries})
    err, peak = peak_of(lambda: tc.load(path))
    assert isinstance(err, tc.ModelFileError), err
    assert pytest.raises(tc.ModelFileError, tc.load, path).match(match)
    assert peak < 16 << 20


def test_a_huge_declared_member_is_refused_before_it_is_read(tmp_path):
    """An entry whose .npy header declares 3 GB (a real one would be zeros, compressed to 3 MB)."""
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__architecture__.npy", npy(arch(SMALL)))
        z.writestr("1.b.npy", npy(B))
        z.writestr("1.W.npy", header_only((750_000_000,)) + bytes(1 << 20))
    err, peak = peak_of(lambda: tc.load(path))
    assert isinstance(err, tc.ModelFileError) and "entry 1.W" in str(err) and peak < 16 << 20


def test_text_truncated_fifo_and_directory(tmp_path):
    tc.seed(0)
    good = tmp_path / "good.npz"
    tc.Sequential(tc.Flatten(), tc.Dense(4, 3)).save(good)
    data = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    (tmp_path / "text.npz").write_text("hello, I am not a model\n")
    os.mkfifo(tmp_path / "fifo.npz")
    (tmp_path / "dir.npz").mkdir()
    for name, match in [("cut", "not a complete .npz archive"), ("text", "not a complete .npz archive"),
                        ("fifo", "a FIFO"), ("dir", "a directory")]:
        with pytest.raises(tc.ModelFileError, match=match) as e:
            tc.load(tmp_path / f"{name}.npz")
        assert "allow_pickle" not in str(e.value) and f"{name}.npz" in str(e.value)


def test_weights_are_not_drawn_at_random_when_loading(tmp_path):
    tc.seed(5)
    model = tc.Sequential(tc.Conv2D(1, 2, 3), tc.Flatten(), tc.Dense(2 * 26 * 26, 10))
    model.save(tmp_path / "m.npz")
    tc.seed(9)
    expected = tc.random.default_rng().random()
    tc.seed(9)
    tc.load(tmp_path / "m.npz")
    assert tc.random.default_rng().random() == expected  # loading drew nothing from the generator


def test_digit_reader_check(tmp_path):
    tc.seed(0)
    for outputs, ok in [(10, True), (11, True), (407, False)]:
        model = tc.Sequential(tc.Flatten(), tc.Dense(784, outputs))
        if ok:
            assert tc.check_digit_reader(model) == outputs
        else:
            with pytest.raises(tc.ModelFileError, match=r"output of shape \(407,\)"):
                tc.check_digit_reader(model, "m.npz")
    with pytest.raises(tc.ModelFileError, match="cannot read a 28x28 digit image"):
        tc.check_digit_reader(tc.Sequential(tc.Flatten(), tc.Dense(100, 10)))


# -- fuzzing ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    tc.seed(1)
    model = tc.Sequential(tc.Conv2D(1, 2, 3, padding=1), tc.BatchNorm2D(2), tc.ReLU(), tc.MaxPool2D(2),
                          tc.Residual(tc.Conv2D(2, 2, 3, padding=1)), tc.Flatten(), tc.Dense(2 * 14 * 14, 10))
    path = tmp_path_factory.mktemp("m") / "m.npz"
    model.save(path)
    return path.read_bytes()


def _load_or_own_error(path):
    err, peak = peak_of(lambda: tc.load(path))
    assert err is None or isinstance(err, (tc.ModelFileError, FileNotFoundError)), repr(err)
    assert peak < 32 << 20
    return err


@FUZZ
@given(data=st.data())
def test_fuzz_model_file_bytes(tmp_path_factory, model_bytes, data):
    raw = bytearray(model_bytes)
    kind = data.draw(st.sampled_from(["truncate", "flip", "splice"]))
    if kind == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    path = tmp_path_factory.mktemp("f") / "m.npz"
    path.write_bytes(bytes(raw))
    _load_or_own_error(path)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20)


# The built-in layer types only: other tests register layers of their own, and which of those
# exist would depend on the order the tests ran in.
BUILT_IN = ["BatchNorm1D", "BatchNorm2D", "Conv2D", "Dense", "Dropout", "Flatten", "MaxPool2D", "ReLU", "Residual"]


def test_a_registered_layer_that_fails_to_build_is_a_model_file_error(tmp_path):
    class Fragile(tc.Layer):
        def __init__(self, width=1):
            super().__init__()
            self.width = width
            if width > 1:
                raise AttributeError("no attribute 'frobnicate'")

    class Forgetful(tc.Layer):
        def __init__(self, width=1):
            self.width = width  # no super().__init__(): no params, grads or buffers

        def forward(self, x):
            return x

    for cls, config in ((Fragile, {"width": 2}), (Forgetful, {"width": 1})):
        path = tmp_path / f"{cls.__name__}.npz"
        arch = {"format": "tinycnn-model-1", "layers": [{"type": cls.__name__, "config": config}]}
        np.savez(path, __architecture__=np.array(json.dumps(arch)))
        with pytest.raises(tc.ModelFileError, match=f"layer 0: cannot build {cls.__name__}"):
            tc.load(path)


@FUZZ
@given(data=st.data())
def test_fuzz_model_file_entries_and_architecture(tmp_path_factory, model_bytes, data):
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as z:
        entries = {n[:-4]: z.read(n) for n in z.namelist()}
    a = json.loads(str(np.load(io.BytesIO(entries["__architecture__"]), allow_pickle=False)))
    kind = data.draw(st.sampled_from(["option", "layer", "json", "array", "drop"]))
    if kind == "option":  # one option of one layer set to anything
        layer = data.draw(st.sampled_from([l for l in a["layers"] if l.get("config")]))
        layer["config"][data.draw(st.sampled_from(sorted(layer["config"]) + ["extra"]))] = data.draw(JSON)
    elif kind == "layer":  # a layer replaced by anything layer-like
        i = data.draw(st.integers(0, len(a["layers"]) - 1))
        a["layers"][i] = data.draw(st.fixed_dictionaries(
            {"type": st.sampled_from(BUILT_IN + ["Nope"])},
            optional={"config": st.dictionaries(st.sampled_from(["in_features", "out_features", "kernel_size",
                                                                 "in_channels", "out_channels", "p", "stride",
                                                                 "padding", "num_features", "eps"]),
                                                st.integers(-5, 10**6) | st.floats(-1, 2), max_size=5),
                      "layers": st.lists(st.just({"type": "ReLU"}), max_size=2)}))
    elif kind == "json":
        a = data.draw(JSON)
    elif kind == "array":  # an array replaced by one of another shape or dtype
        name = data.draw(st.sampled_from(sorted(n for n in entries if n != "__architecture__")))
        shape = tuple(data.draw(st.lists(st.integers(0, 5), max_size=3)))
        dtype = data.draw(st.sampled_from(["<f4", "<f8", "<i4", "|u1", "<c8", "<U2", "|b1"]))
        entries[name] = npy(np.zeros(shape, dtype))
    else:
        del entries[data.draw(st.sampled_from(sorted(entries)))]
    if kind != "array":
        entries["__architecture__"] = npy(np.array(json.dumps(a)))
    path = write_npz(tmp_path_factory.mktemp("e") / "m.npz", entries)
    _load_or_own_error(path)


@pytest.fixture(scope="module")
def png_bytes():
    img = np.full((40, 30), 230, np.uint8)
    img[5:35, 12:18] = 20
    b = io.BytesIO()
    Image.fromarray(img).save(b, format="PNG")
    return b.getvalue()


def test_a_chunk_length_that_lies_costs_what_the_file_holds(tmp_path, png_bytes):
    """Found by the fuzz test below: one flipped byte made a PNG chunk declare 436 MB, and the
    read allocated it before finding the file ends."""
    raw = bytearray(png_bytes)
    raw[33] ^= 26  # the high byte of the IDAT chunk's length
    path = tmp_path / "lying.png"
    path.write_bytes(bytes(raw))
    err, peak = peak_of(lambda: tc.read_digit_image(path))
    assert err is None or isinstance(err, tc.DigitImageError), repr(err)
    assert peak < 50 << 20


def damage(data, raw):
    """`raw` maybe truncated, then with up to 6 bytes flipped, as hypothesis draws (a bytearray)."""
    raw = bytearray(raw)
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    for _ in range(data.draw(st.integers(0, 6)) if raw else 0):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    return raw


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["PNG", "JPEG", "GIF", "TIFF", "BMP"]))
def test_fuzz_image_file(tmp_path_factory, png_bytes, data, fmt):
    b = io.BytesIO()
    Image.open(io.BytesIO(png_bytes)).save(b, format=fmt)
    raw = damage(data, b.getvalue())
    path = tmp_path_factory.mktemp("i") / f"x.{fmt.lower()}"
    path.write_bytes(bytes(raw))
    err, peak = peak_of(lambda: tc.read_digit_image(path))
    assert err is None or isinstance(err, tc.DigitImageError), repr(err)
    assert peak < 400 << 20


@FUZZ
@given(data=st.data(), gz=st.booleans())
def test_fuzz_idx_file(tmp_path_factory, data, gz):
    path = tmp_path_factory.mktemp("x") / ("a.gz" if gz else "a")
    write_idx(path, np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    raw = damage(data, path.read_bytes())
    path.write_bytes(bytes(raw))
    err, peak = peak_of(lambda: read_idx(path))
    assert err is None or isinstance(err, IDXError), repr(err)
    assert peak < 8 << 20


# -- IDX --------------------------------------------------------------------------------------------
def test_idx_declared_size_beyond_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 2]) + struct.pack(">II", 2**32 - 1, 2**32 - 1) + bytes(1 << 20))
    err, peak = peak_of(lambda: read_idx(path))
    assert isinstance(err, IDXError) and "more than the limit of 2.0 GiB" in str(err) and peak < 1 << 20
    small = tmp_path / "small"
    write_idx(small, np.zeros((10, 10), np.uint8))
    with pytest.raises(IDXError, match="more than the limit of 99 bytes"):
        read_idx(small, max_bytes=99)
    assert read_idx(small, max_bytes=100).shape == (10, 10)


@pytest.mark.parametrize("ndim", [33, 65, 255])
def test_idx_too_many_dimensions(tmp_path, ndim):
    path = tmp_path / "d"
    path.write_bytes(bytes([0, 0, 8, ndim]) + struct.pack(f">{ndim}I", *[1] * ndim) + b"\x01")
    with pytest.raises(IDXError, match=rf"d: byte 3: {ndim} dimensions; at most 32"):
        read_idx(path)


def test_idx_raw_size_is_compared_with_the_header_first(tmp_path):
    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 28, 28))
        f.truncate(2 * 10**9)  # sparse: 2 GB long, a few KB on disk
    err, peak = peak_of(lambda: read_idx(path))
    assert isinstance(err, IDXError) and "1,952,959,984 bytes longer" in str(err) and peak < 1 << 20


def test_idx_gzip_fault_names_the_real_offset(tmp_path):
    path = tmp_path / "g.gz"
    body = bytes([0, 0, 8, 1]) + struct.pack(">I", 5000) + bytes(range(250)) * 20
    good = gzip.compress(body, mtime=0)
    path.write_bytes(good[:-8] + b"\0" * 8)  # a wrong checksum: found after all the data
    with pytest.raises(IDXError) as e:
        read_idx(path)
    assert e.value.offset >= 8 and "compressed bytes" in str(e.value)


def test_idx_fifo_and_directory_are_refused_without_opening(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(IDXError, match="a FIFO"):
        read_idx(tmp_path / "fifo")
    with pytest.raises(IDXError, match="a directory"):
        read_idx(tmp_path)


# -- images -----------------------------------------------------------------------------------------
def seven(n=200, width=14):
    from PIL import ImageDraw

    im = Image.new("L", (n, n), 0)
    ImageDraw.Draw(im).line([(0.25 * n, 0.2 * n), (0.75 * n, 0.2 * n), (0.45 * n, 0.85 * n)], fill=255,
                            width=width, joint="curve")
    return np.asarray(im, np.float32) / 255


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


def read_as(model, path):
    """(digit, its probability) as tc.read_digit reads the picture (digit None if not claimed)."""
    r = tc.read_digit(tc.read_digit_image(path), model)
    return r.digit, float(r.probs.max())


def test_photo_under_uneven_light_reads_like_flat_paper(tmp_path, model):
    from PIL import ImageFilter

    ink = seven()
    rng = np.random.default_rng(0)
    ramp = np.linspace(165, 215, ink.shape[1])[None, :]
    for name, paper in [("ramp", ramp), ("flat", np.full_like(ramp, 190)),
                        ("diagonal", 150 + 70 * np.add.outer(np.arange(200), np.arange(200)) / 400)]:
        img = paper * (1 - ink) + 40 * ink + rng.normal(0, 5, ink.shape)  # paper texture
        pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
        pic.convert("RGB").save(tmp_path / f"{name}.jpg", quality=70)
        assert read_as(model, tmp_path / f"{name}.jpg")[0] == 7, name
        seen = tc.read_digit_image(tmp_path / f"{name}.jpg")
        assert seen[ink < 0.01].mean() < 0.02  # the paper, dark or light, is not ink


def test_white_ink_on_a_transparent_png_is_ink(tmp_path, model):
    ink = seven()
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = (ink * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "white.png")
    img = tc.read_digit_image(tmp_path / "white.png")
    assert np.abs(img - ink).mean() < 0.02
    assert read_as(model, tmp_path / "white.png")[0] == 7


def test_16_bit_and_float_images_are_read_by_their_range(tmp_path, model):
    ink = seven()
    Image.fromarray((60000 * (1 - ink) + 20000 * ink).astype(np.uint16)).save(tmp_path / "gray16.png")
    Image.fromarray((0.9 * (1 - ink) + 0.1 * ink).astype(np.float32), mode="F").save(tmp_path / "f.tif")
    Image.fromarray((5 * ink - 2).astype(np.float32), mode="F").save(tmp_path / "odd.tif")  # range [-2, 3]
    for name in ("gray16.png", "f.tif", "odd.tif"):
        img = tc.read_digit_image(tmp_path / name)
        assert np.abs(img - ink).mean() < 0.05, name
        assert read_as(model, tmp_path / name)[0] == 7, name


def test_a_huge_photo_is_reduced_while_decoding(tmp_path):
    from PIL import ImageDraw

    big = Image.new("L", (6000, 6000), 235)
    ImageDraw.Draw(big).line([(1500, 1200), (4500, 1200), (2700, 5100)], fill=20, width=400)
    big.save(tmp_path / "big.png")
    big.convert("RGB").save(tmp_path / "big.jpg", quality=80)
    for name in ("big.png", "big.jpg"):
        err, peak = peak_of(lambda: tc.read_digit_image(tmp_path / name))
        assert err is None
        assert peak < 60 << 20  # NumPy's share; Pillow's decode (36 MB here) is bounded by MAX_DECODED_BYTES
    assert max(tc.read_digit_image(tmp_path / "big.png").shape) <= 1024


def test_too_large_to_decode_and_not_a_file(tmp_path, monkeypatch):
    Image.new("RGB", (300, 300), "white").save(tmp_path / "wide.png")
    monkeypatch.setattr(tc.digits.images, "MAX_DECODED_BYTES", 100_000)
    with pytest.raises(tc.DigitImageError, match="too large to read: 300x300 RGB"):
        tc.read_digit_image(tmp_path / "wide.png")
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(tc.DigitImageError, match="pipe.png: a FIFO"):
        tc.read_digit_image(tmp_path / "pipe.png")
    with pytest.raises(tc.DigitImageError, match="a directory"):
        tc.read_digit_image(tmp_path)


def test_custom_layer_types_need_scalar_options_and_are_counted_once_built(tmp_path, monkeypatch):
    class Scale(tc.Layer):
        def __init__(self, n=1, label="x"):
            super().__init__()
            self.n, self.label = n, label
            self.add_param("s", np.ones(n, np.float32))

        def config(self):
            return dict(n=self.n, label=self.label)

        def forward(self, x):
            return x * self.params["s"][0]

    monkeypatch.setitem(tc.layers.LAYER_TYPES, "Scale", Scale)
    monkeypatch.setattr(tc.modelfile, "MAX_PARAMETERS", 1000)  # (a real overflow would allocate 200 MB)
    model = tc.Sequential(Scale(3, "three"), tc.Flatten())
    model.save(tmp_path / "ok.npz")
    assert repr(tc.load(tmp_path / "ok.npz")) == repr(model)
    for config, match in [({"n": [1, 2]}, "must be a number, a short string"),
                          ({"n": -1}, "cannot build Scale"),
                          ({"n": 2000}, "past 1,000 parameters"),
                          ({"m": 1}, "cannot build Scale")]:
        path = write_npz(tmp_path / "c.npz", {"__architecture__": arch([{"type": "Scale", "config": config}])})
        with pytest.raises(tc.ModelFileError, match=match):
            tc.load(path)
