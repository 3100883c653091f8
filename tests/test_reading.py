"""read_digit: the one place that decides what a drawing is."""
import numpy as np
import pytest

import tinycnn as tc
from pad.canvas import Canvas
from checks.handwriting import STYLES, sample


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
    assert r.digit is None and r.probs.max() < tc.digits.reading.calibration(model)["unsure"] and str(r).startswith("not sure")


def test_eleven_class_models_have_a_not_a_digit_verdict():
    tc.seed(0)
    m = tc.Sequential(tc.Flatten(), tc.Dense(784, 11))
    m.layers[1].params["W"][...] = 0
    m.layers[1].params["b"][...] = np.r_[np.zeros(10), 10.0].astype(np.float32)  # always "not a digit"
    a = np.zeros((56, 56), np.float32)
    a[10:46, 26:30] = 1
    r = tc.read_digit(a, m)
    assert r.verdict == "not a digit" and r.digit is None and abs(float(r.probs.sum()) - 1) < 1e-5


def small_thick_three(corner=20, size=60, radius=18):
    """A 3 about `size` px tall in the corner of the pad's 560 canvas, drawn with its default brush."""
    from checks.handwriting import _resample

    c = Canvas(560)
    for s in STYLES[3]["round"]:
        pts = _resample(s) * size + corner
        c.begin_stroke(pts[0], radius)
        for p in pts[1:]:
            c.extend_stroke(p)
        c.end_stroke()
    return c


def test_a_small_three_with_a_thick_brush_is_read_from_its_strokes(model):
    c = small_thick_three()
    strokes = [np.asarray(a["points"], np.float32) for a in c.actions]
    r = tc.read_digit(c.array, model, pen=36, strokes=strokes)
    assert r.verdict == "digit" and r.digit == 3
    # what it read: strokes at MNIST's width, not the blob of pixels (the loops stay open)
    from tinycnn.digits.preprocess import stroke_width

    assert stroke_width(r.input) < stroke_width(tc.preprocess_digit(c.array))
    assert r.box == tc.digits.preprocess.ink_box(c.array)


def test_strokes_at_mnist_width_whatever_the_brush():
    from tinycnn.digits.preprocess import STROKE, stroke_width

    line = [np.array([[0, 0], [40, 90], [90, 20]], np.float32)]
    for scale in (0.3, 1, 5):  # the same drawing small or large gives the same re-rendering width
        w = stroke_width(tc.digits.brush.mnist_strokes([s * scale for s in line]))
        assert abs(w - STROKE) < 1.5


def calibrated(model, **cal):
    """`model` read with its calibration changed by `cal` (the rest of its calibration kept)."""
    class Wrapped:
        meta = {"calibration": {**(getattr(model, "meta", {}) or {}).get("calibration", {}), **cal}}

        def predict_logits(self, x):
            return model.predict_logits(x)
    return Wrapped()


def test_the_models_calibration_decides(model):
    rng = np.random.default_rng(4)
    a = sample(4, "closed", rng).array
    plain = tc.read_digit(a, model)
    assert plain.verdict == "digit" and plain.digit == 4
    hot = tc.read_digit(a, calibrated(model, temperature=50.0))  # a high temperature flattens
    assert hot.probs.max() < plain.probs.max() and hot.probs.argmax() == 4
    # flat enough that even "not a digit" gets ~1/11, above a low cut: hold that cut out of this
    assert tc.read_digit(a, calibrated(model, temperature=50.0, not_a_digit=0.5)).verdict == "unsure"
    strict = tc.read_digit(a, calibrated(model, unsure=float(plain.probs.max()) + 1e-6))
    assert strict.verdict == "unsure" and strict.digit is None


def test_not_a_digit_cut_comes_from_the_model():
    tc.seed(0)
    m = tc.Sequential(tc.Flatten(), tc.Dense(784, 11))
    m.layers[1].params["W"][...] = 0
    m.layers[1].params["b"][...] = np.r_[np.full(10, 0.0), 2.0].astype(np.float32)  # P(not a digit) ~ 0.45
    a = np.zeros((56, 56), np.float32)
    a[10:46, 26:30] = 1
    assert tc.read_digit(a, m).verdict == "unsure"  # under the default cut of 0.5 and no digit is sure
    m.meta = {"calibration": {"not_a_digit": 0.3}}
    assert tc.read_digit(a, m).verdict == "not a digit"


def test_views_average_fixed_distortions(model):
    from tinycnn.digits.reading import digit_probs
    from tinycnn.digits.views import VIEWS, make_views

    a = sample(9, "straight tail", np.random.default_rng(5)).array
    one = tc.read_digit(a, model)
    assert np.array_equal(tc.read_digit(a, model, views=1).probs, one.probs)
    five = tc.read_digit(a, model, views=5)
    expected = digit_probs(model, make_views(one.input, 5)[:, None])[0].mean(axis=0)
    np.testing.assert_allclose(five.probs, expected, rtol=1e-6)
    assert np.array_equal(tc.read_digit(a, model, views=5).probs, five.probs)  # fixed: the same every time
    assert np.array_equal(make_views(one.input, 3)[0], one.input)  # the first view is the input itself
    for bad in (0, len(VIEWS) + 1, 2.5, True):
        with pytest.raises(ValueError, match="views must be a whole number"):
            tc.read_digit(a, model, views=bad)
