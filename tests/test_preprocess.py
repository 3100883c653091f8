"""MNIST-style preprocessing of drawings and pictures."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from PIL import Image

import tinycnn as tc
from pad.canvas import Canvas


def seven(canvas_size=560, scale=1.0, dx=0.0, dy=0.0, radius=16):
    """A 7 drawn with the pad's own brush: bar, then diagonal; `scale` and shift move it around."""
    c = Canvas(canvas_size)
    cx, cy = canvas_size / 2 + dx, canvas_size / 2 + dy
    pts = [(-0.35, -0.4), (0.35, -0.4), (-0.05, 0.45)]
    c.begin_stroke((cx + pts[0][0] * scale * canvas_size * 0.6, cy + pts[0][1] * scale * canvas_size * 0.6), radius)
    for px, py in pts[1:]:
        c.extend_stroke((cx + px * scale * canvas_size * 0.6, cy + py * scale * canvas_size * 0.6))
    c.end_stroke()
    return c.array


def centre_of_mass(a):
    ys, xs = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    return (a * ys).sum() / a.sum(), (a * xs).sum() / a.sum()


@given(scale=st.floats(0.25, 1.2), dx=st.floats(-120, 120), dy=st.floats(-100, 100), radius=st.floats(5, 30))
def test_output_is_mnist_like_wherever_and_however_big_the_digit(scale, dx, dy, radius):
    out = tc.preprocess_digit(seven(scale=scale, dx=dx, dy=dy, radius=radius * scale ** 0.5))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.max() == pytest.approx(1.0, abs=1e-3) and out.min() >= 0
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75
    ink = np.argwhere(out > 0.1)
    side = (ink.max(0) - ink.min(0) + 1).max()
    assert 18 <= side <= 22
    # stroke width (2 * area / perimeter) inside MNIST's own range, whatever the brush:
    # measured on MNIST test, 1st percentile 2.0, median 2.1, 99th percentile 3.6
    assert 1.6 <= tc.digits.preprocess.stroke_width(out) <= 4.0


def test_size_and_position_do_not_matter():
    a = tc.preprocess_digit(seven(scale=1.0))
    b = tc.preprocess_digit(seven(scale=0.35, dx=-150, dy=120, radius=7))
    assert np.abs(a - b).mean() < 0.06


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    xte = mnist[2][:300].astype(np.float32) / 255
    diffs = [np.abs(tc.preprocess_digit(x) - x).mean() for x in xte]
    assert np.median(diffs) < 0.03


def test_stages_and_blank():
    digit, stages = tc.preprocess_digit(seven(), return_stages=True)
    assert set(stages) == {"input", "crop", "fit", "centred"}
    assert max(stages["fit"].shape) == 20 and stages["centred"] is digit
    blank, st_ = tc.preprocess_digit(np.zeros((50, 40), np.uint8), return_stages=True)
    assert not blank.any() and tc.is_blank(np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"expected a 2-D grayscale image \(H, W\), got shape \(4, 4, 3\)"):
        tc.preprocess_digit(np.zeros((4, 4, 3)))


def test_uint8_and_float_inputs_agree():
    a = seven()
    np.testing.assert_allclose(tc.preprocess_digit((a * 255).astype(np.uint8)), tc.preprocess_digit(a), atol=0.02)


def test_read_digit_image_inverts_dark_ink_on_paper(tmp_path):
    ink = seven(200, radius=8)
    Image.fromarray(((1 - ink) * 230 + 20).astype(np.uint8)).convert("RGB").save(tmp_path / "paper.jpg", quality=95)
    Image.fromarray((ink * 255).astype(np.uint8)).save(tmp_path / "screen.png")
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., 3] = (ink * 255).astype(np.uint8)  # black ink on a transparent background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    ref = tc.preprocess_digit(ink)
    for name in ("paper.jpg", "screen.png", "transparent.png"):
        img = tc.read_digit_image(tmp_path / name)
        assert img.dtype == np.float32 and img.shape == (200, 200)
        assert np.abs(tc.preprocess_digit(img) - ref).mean() < 0.05, name


def test_read_digit_image_errors_name_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(tc.DigitImageError, match=r"notes.txt: cannot read it as an image"):
        tc.read_digit_image(tmp_path / "notes.txt")
    with pytest.raises(tc.DigitImageError, match="missing.png"):
        tc.read_digit_image(tmp_path / "missing.png")
