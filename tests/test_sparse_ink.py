"""Sparse ink and bad strokes: dust on a scan, salt noise, hairlines and zig-zags end in a verdict,
and strokes that cannot be a drawing are named; never an IndexError from deep inside NumPy."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import tinycnn as tc
from tinycnn.digits.brush import render_strokes
from tinycnn.digits.reading import MAX_POINTS, VERDICTS, check_strokes
from test_pad import run_pad  # also sets SDL to the dummy drivers


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


def dusty_scan(path, shape=(800, 600), seed=0, fraction=0.002, digit=False):
    """A white page with `fraction` of its pixels dark specks (and a dark 1 drawn on it if `digit`)."""
    rng = np.random.default_rng(seed)
    page = np.full(shape, 255, np.uint8)
    n = int(fraction * page.size)
    page[rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)] = 0
    if digit:
        page[shape[0] // 4:3 * shape[0] // 4, shape[1] // 2 - 15:shape[1] // 2 + 15] = 0
    Image.fromarray(page).save(path)
    return path


@pytest.mark.parametrize("shape, number", [((800, 600), ["too small"]), ((850, 1100), ["too small"]),
                                           ((3000, 2400), ["too small", "not a number"])])
def test_a_scan_of_dust_specks_is_too_small(model, tmp_path, shape, number):
    ink = tc.read_digit_image(dusty_scan(tmp_path / "dust.png", shape))
    assert tc.read_digit(ink, model).verdict == "too small"
    # not "111591", each speck a digit; a big scan's specks, shrunk to read_number's working size,
    # merge into one faint haze, which is no number
    assert tc.read_number(ink, model).verdict in number


def test_predict_reads_every_file_after_a_dusty_scan(tmp_path):
    dusty_scan(tmp_path / "dust.png")
    dusty_scan(tmp_path / "wide.png", (850, 1700), seed=1)  # wide: read as a number
    img = np.full((100, 100), 250, np.uint8)
    img[10:90, 45:55] = 0
    Image.fromarray(img).save(tmp_path / "one.png")
    r = run_pad("--predict", str(tmp_path / "dust.png"), str(tmp_path / "wide.png"), str(tmp_path / "one.png"))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[:2] == [f"{tmp_path / 'dust.png'}: too small", f"{tmp_path / 'wide.png'}: too small"]
    assert lines[2].startswith(f"{tmp_path / 'one.png'}: 1 (")


def test_the_pad_starts_with_a_dusty_scan(model, tmp_path):
    from pad.app import PadApp

    a = PadApp(model, size=(700, 500), log_path=tmp_path / "log.jsonl", image=str(dusty_scan(tmp_path / "d.png")))
    try:
        a.frame(fps=0)
        log = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
        assert [e["event"] for e in log] == ["ready", "prediction"] and a.reading.verdict in VERDICTS
    finally:
        a.close()


def test_a_digit_on_a_dusty_scan_is_still_read(model, tmp_path):
    r = tc.read_digit(tc.read_digit_image(dusty_scan(tmp_path / "d.png", digit=True)), model)
    assert r.verdict in VERDICTS and r.box is not None


@settings(max_examples=25, deadline=None)
@given(side=st.integers(60, 1500), fraction=st.floats(0.0002, 0.02), seed=st.integers(0, 2 ** 16))
def test_salt_noise_is_too_small_never_a_digit(model, side, fraction, seed):
    rng = np.random.default_rng(seed)
    salt = (rng.random((side, side)) < fraction).astype(np.float32)
    salt[rng.integers(side), rng.integers(side)] = 1  # at least one speck
    # specks are too small; on a small picture a few of them can line up into a mark the model
    # refuses (seen: side 60, two specks), which is a verdict too; never a digit
    assert tc.read_digit(salt, model).verdict in ("too small", "not a digit")


@pytest.mark.parametrize("h, w, teeth", [(300, 1200, 8), (200, 2000, 30), (400, 4000, 10), (1000, 1000, 3)])
def test_a_thin_zig_zag_ends_in_a_verdict(model, h, w, teeth):
    xs = np.linspace(5, w - 5, 2 * teeth + 1)
    ys = np.where(np.arange(len(xs)) % 2 == 0, 5, h - 5)
    zigzag = render_strokes([np.stack([xs, ys], 1)], (h, w), 0.5)  # a hairline, 1 px wide
    assert tc.read_number(zigzag, model).verdict in tc.digits.numbers.NUMBER_VERDICTS
    assert tc.read_digit(zigzag, model).verdict in VERDICTS


def test_a_hairline_digit_on_a_large_picture_is_read(model):
    one = np.zeros((1000, 1000), np.float32)
    one[100:900, 500] = 1  # a 1 px line that shrinking averages below the ink level
    r = tc.read_digit(one, model)
    assert r.verdict == "digit" and r.digit == 1


LINE = np.array([[50, 20], [50, 80]], np.float32)


@pytest.mark.parametrize("strokes, words", [
    ([np.array([[1, 2], [np.nan, 3]])], "stroke 0: 1 NaN or infinite"),
    ([LINE, np.array([[1, np.inf]])], "stroke 1: 1 NaN or infinite"),
    ([np.zeros((4, 3))], "stroke 0: expected shape (n, 2)"),
    ([np.zeros((2, 3))], "got (2, 3)"),  # six numbers: not three points
    ([], "strokes is empty"),
    ([LINE, np.zeros((0, 2))], "stroke 1 has no points"),
    ([[[1, 2], [3]]], "stroke 0: not an (n, 2) array of numbers"),
    ("abc", "not an (n, 2) array of numbers"),
    (np.zeros((5, 2)), "strokes must be a list of (n, 2) arrays"),
    (7, "strokes must be a list"),
    ([np.zeros((1, 2))] * 10_001, "10001 strokes, at most 10000"),
])
def test_bad_strokes_are_named(model, strokes, words):
    img = np.zeros((100, 100), np.float32)
    img[20:80, 48:52] = 1
    for image in (img, np.zeros_like(img)):  # named even when the image is blank
        with pytest.raises(ValueError) as e:
            tc.read_digit(image, model, strokes=strokes)
        assert words in str(e.value)


def test_ten_million_points_are_thinned_to_the_cap(model):
    t = np.linspace(0, 6 * np.pi, 10 ** 7)
    spiral = np.stack([280 + 12 * t * np.cos(t), 280 + 12 * t * np.sin(t)], 1).astype(np.float32)
    kept = check_strokes([spiral, LINE])
    assert sum(len(s) for s in kept) <= MAX_POINTS + 2
    np.testing.assert_array_equal(kept[0][[0, -1]], spiral[[0, -1]])  # the ends stay
    np.testing.assert_array_equal(kept[1], LINE)
    img = render_strokes([spiral[::1000]], (560, 560), 9)
    assert tc.read_digit(img, model, strokes=[spiral]).verdict in VERDICTS


def test_two_specks_in_a_small_box_are_too_small(model):
    """Found by hypothesis: two one-pixel specks 12 px apart on a 60 px picture cover 3.8% of their
    13 x 4 box, enough to pass for a stroke by density alone, and the model read them as a 1."""
    salt = np.zeros((60, 60), np.float32)
    salt[17, 16] = salt[20, 28] = 1
    assert tc.read_digit(salt, model).verdict == "too small"
