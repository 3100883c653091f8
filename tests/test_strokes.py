"""The stroke generator and the brush it renders with."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinycnn as tc
from tinycnn.digits import strokes as S
from tinycnn.digits.brush import render_strokes, stamp_segment
from tinycnn.digits import ink as reference
from tinycnn.digits import ink_fast as fast


@given(st.lists(st.tuples(*[st.floats(-5, 45)] * 4), min_size=1, max_size=6), st.floats(0.3, 6))
def test_ink_kernels_agree_with_stamping_each_segment(segments, radius):
    seg = np.array(segments, np.float32)
    stamped = np.zeros((40, 40), np.float32)
    for x0, y0, x1, y1 in seg:
        stamp_segment(stamped, (x0, y0), (x1, y1), radius)
    np.testing.assert_allclose(reference.ink_segments((40, 40), seg, radius), stamped, atol=1e-4)
    np.testing.assert_allclose(fast.ink_segments((40, 40), seg, radius), stamped, atol=1e-4)


def test_render_strokes_draws_dots_and_lines():
    img = render_strokes([np.array([[5.0, 5.0]]), np.array([[10, 20], [30, 20]])], (32, 40), 2)
    assert img.shape == (32, 40) and img[5, 5] == 1 and img[20, 10:31].min() == 1 and img[28, 38] == 0


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_growing_drawing_renders_as_if_drawn_at_once(backend):
    """The pad renders the drawing again each frame with a few more points; render_strokes
    reuses the last image then (see brush._ink_segments_again): the numbers must not change."""
    tc.set_backend(backend)
    try:
        t = np.linspace(0, 4 * np.pi, 60, dtype=np.float32)
        spiral = np.stack([20 + t * np.cos(t), 20 + t * np.sin(t)], axis=1)
        bar = np.array([[3, 36], [20, 30], [37, 36]], np.float32)
        for strokes in [[spiral[:n]] for n in range(1, 61, 7)] + [[spiral, bar[:n]] for n in (1, 2, 3)]:
            img = render_strokes(strokes, (40, 40), 2.5)
            seg = np.concatenate([np.concatenate([s[:-1], s[1:]], 1) if len(s) > 1 else np.concatenate([s, s], 1)
                                  for s in strokes])
            np.testing.assert_array_equal(img, tc.backend.kernels("tinycnn.digits.ink").ink_segments((40, 40), seg, 2.5))
            img[:] = 7  # the caller's copy: drawing on it changes nothing kept
        again = render_strokes(strokes, (40, 40), 2.5)
        assert again.max() == 1 and np.array_equal(again, render_strokes([bar, spiral], (40, 40), 2.5))
    finally:
        tc.set_backend("numba")


def test_same_seed_same_drawings_other_seed_others():
    a, la = S.make_digits(30, S.rng_for("train", 3))
    b, lb = S.make_digits(30, S.rng_for("train", 3))
    c, _ = S.make_digits(30, S.rng_for("check", 3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert a.shape == (30, 28, 28) and a.dtype == np.uint8 and list(la[:12]) == list(range(10)) + [0, 1]
    assert not np.array_equal(a, c)  # training and checks draw from different streams
    n1, l1, names1 = S.make_non_digits(40, S.rng_for("train", 3))
    n2, _, names2 = S.make_non_digits(40, S.rng_for("train", 3))
    np.testing.assert_array_equal(n1, n2)
    assert n1.shape == (40, 28, 28) and (l1 == S.NOT_A_DIGIT).all() and list(names1) == list(names2)


def test_drawings_are_centred_like_mnist():
    x, _ = S.make_digits(50, S.rng_for("check", 0))
    assert (x.max(axis=(1, 2)) == 255).all()  # every one has ink, brightest at 1
    ys, xs = np.mgrid[0:28, 0:28]
    mass = x.sum(axis=(1, 2)).astype(float)
    cy, cx = (x * ys).sum(axis=(1, 2)) / mass, (x * xs).sum(axis=(1, 2)) / mass
    assert np.abs(cy - 14).max() < 1.5 and np.abs(cx - 14).max() < 1.5


def test_styles_vary_continuously():
    """The flag of a 1 takes any length (or none), a 4 any openness, a 9 any loop size."""
    rng = np.random.default_rng(0)
    flags = []
    for _ in range(300):
        stem = S.DIGITS[1](rng)[0]
        flags.append(np.hypot(*(stem[1] - stem[0])) if len(stem) == 3 else 0.0)
    flags = np.array(flags)
    assert 0.2 < np.mean(flags == 0) < 0.6                   # sticks and flagged ones
    flagged = flags[flags > 0]
    assert len(np.unique(np.round(flagged, 3))) > 100          # not a handful of templates
    assert flagged.min() < 0.1 and flagged.max() > 0.38
    tops = np.array([S.DIGITS[4](rng)[0][0, 0] for _ in range(300)])  # where the 4's first stroke starts
    assert np.ptp(tops) > 0.35 and len(np.unique(np.round(tops, 3))) > 100
    loops = np.array([np.ptp(S.DIGITS[9](rng)[0][:20, 0]) for _ in range(300)])
    assert loops.min() < 0.33 and loops.max() > 0.5


@pytest.mark.parametrize("digit", range(10))
def test_every_digit_draws(digit):
    rng = np.random.default_rng(digit)
    for _ in range(20):
        strokes = S.digit_strokes(digit, rng)
        assert strokes and all(s.ndim == 2 and s.shape[1] == 2 and len(s) >= 2 for s in strokes)
        img = S.render(strokes, rng)
        assert img.shape == (S.RENDER, S.RENDER) and img.max() == 1


def test_non_digits_leave_out_what_looks_like_a_digit():
    lookalikes = {"O", "o", "D", "I", "l", "i", "j", "J", "L", "S", "s", "Z", "z", "b", "g", "q", "G", "T", "t",
                  "circle", "bar", "line", "a", "d", "C", "c"}
    assert not lookalikes & set(S.NON_DIGITS)
    rng = np.random.default_rng(0)
    for name in S.NON_DIGITS:
        img = S.render(S.non_digit_strokes(name, rng), rng)
        assert img.max() == 1, name
