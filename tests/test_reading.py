"""read_digit: the one place that decides what a drawing is."""
import numpy as np
import pytest

import tinycnn as tc
from pad.canvas import Canvas
from pad.handwriting import STYLES, sample


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


def test_blank(model):
    r = tc.read_digit(np.zeros((100, 100), np.uint8), model)
    assert r.verdict == "blank" and r.digit is None and not r.probs.any() and r.input.shape == (28, 28)


def test_a_dot_and_a_blob_are_too_small(model):
    c = Canvas(280)
    c.begin_stroke((140, 140), 12)
    c.end_stroke()
    assert tc.read_digit(c.array, model).verdict == "too small"            # judged from pixels
    assert tc.read_digit(c.array, model, pen=24).verdict == "too small"    # judged from the pen
    tiny = np.zeros((500, 500), np.float32)
    tiny[100:110, 100:102] = 1  # a thin mark 2% of the image tall
    assert tc.read_digit(tiny, model).verdict == "too small"


@pytest.mark.parametrize("digit", range(10))
def test_clear_drawings_are_digits(model, digit):
    rng = np.random.default_rng(digit)
    r = tc.read_digit(sample(digit, next(iter(STYLES[digit])), rng).array, model)
    assert r.verdict == "digit" and r.digit == digit
    assert abs(float(r.probs.sum()) - 1) < 1e-5 and r.top(1)[0][0] == digit
    x, y, w, h = r.box
    assert w > 0 and h > 0


def test_an_ambiguous_drawing_is_unsure(model):
    """The average of a 1 and a 7 sits between them: the reader must not name either."""
    rng = np.random.default_rng(0)
    candidates = []
    for _ in range(30):
        a = np.maximum(sample(1, "stick", rng).array, sample(7, next(iter(STYLES[7])), rng).array * 0.6)
        candidates.append(tc.read_digit(a, model))
    unsure = [r for r in candidates if r.verdict == "unsure"]
    assert unsure, "no blend of a 1 and a 7 was read as unsure"
    r = unsure[0]
    assert r.digit is None and r.probs.max() < tc.reading.UNSURE and str(r).startswith("not sure")


def test_eleven_class_models_have_a_not_a_digit_verdict():
    tc.seed(0)
    m = tc.Sequential(tc.Flatten(), tc.Dense(784, 11))
    m.layers[1].params["W"][...] = 0
    m.layers[1].params["b"][...] = np.r_[np.zeros(10), 10.0].astype(np.float32)  # always "not a digit"
    a = np.zeros((56, 56), np.float32)
    a[10:46, 26:30] = 1
    r = tc.read_digit(a, m)
    assert r.verdict == "not a digit" and r.digit is None and abs(float(r.probs.sum()) - 1) < 1e-5
