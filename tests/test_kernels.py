"""The Numba kernels give the NumPy reference's results (float32, random shapes), run in the
calling thread and split across threads (`threads` fixture, in conftest.py)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycnn as tc
from tinycnn import kernels as reference
from tinycnn.speed import kernels as fast
from tinycnn.digits import ink, ink_fast

pytestmark = pytest.mark.usefixtures("threads")


def rand(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


conv_cases = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9),
                       st.integers(1, 5), st.integers(1, 3), st.integers(0, 3), st.integers(0, 10**6))


@given(conv_cases)
def test_im2col_and_col2im(case):
    n, c, h, w, k, s, p, seed = case
    if h + 2 * p < k or w + 2 * p < k:
        return
    x = rand(seed, (n, c, h, w))
    cols = reference.im2col(x, k, k, s, p)
    assert cols.dtype == np.float32
    np.testing.assert_array_equal(fast.im2col(x, k, k, s, p), cols)
    g = rand(seed + 1, cols.shape)
    np.testing.assert_allclose(fast.col2im(g, x.shape, k, k, s, p), reference.col2im(g, x.shape, k, k, s, p),
                               rtol=1e-5, atol=1e-5)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 10), st.integers(1, 10),
       st.integers(1, 4), st.integers(1, 4), st.integers(0, 10**6), st.booleans())
def test_maxpool(n, c, h, w, k, s, seed, ties):
    if h < k or w < k:
        return
    x = rand(seed, (n, c, h, w))
    if ties:  # many equal values: the first maximum of a window must win in both
        x = np.round(x)
    out, arg = reference.maxpool_forward(x, k, s)
    out2, arg2 = fast.maxpool_forward(x, k, s)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(arg2, arg)
    g = rand(seed + 1, out.shape)
    np.testing.assert_allclose(fast.maxpool_backward(g, arg, x.shape, k, s),
                               reference.maxpool_backward(g, arg, x.shape, k, s), rtol=1e-6, atol=1e-6)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(0, 10**6))
def test_relu(shape, seed):
    x, dy = rand(seed, shape), rand(seed + 1, shape)
    y = reference.relu_forward(x)
    np.testing.assert_array_equal(fast.relu_forward(x), y)
    np.testing.assert_array_equal(fast.relu_backward(dy, y), reference.relu_backward(dy, y))


@given(st.integers(2, 6), st.integers(1, 4), st.integers(1, 20), st.integers(0, 10**6))
def test_batchnorm(n, c, length, seed):
    x = rand(seed, (n, c, length)) * 3 + 2
    gamma, beta = rand(seed + 1, c), rand(seed + 2, c)
    ref = reference.batchnorm_forward(x, gamma, beta, 1e-5)
    for a, b in zip(fast.batchnorm_forward(x, gamma, beta, 1e-5), ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    dy, xhat = rand(seed + 3, x.shape), ref[1]
    inv = (1 / np.sqrt(ref[3] + 1e-5)).astype(np.float32)
    for a, b in zip(fast.batchnorm_backward(dy, xhat, gamma, inv), reference.batchnorm_backward(dy, xhat, gamma, inv)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@given(st.integers(1, 3), st.integers(2, 12), st.integers(2, 12), st.integers(0, 10**6))
def test_warp(n, h, w, seed):
    rng = np.random.default_rng(seed)
    img = rng.random((n, h, w), dtype=np.float32)
    sy = rng.uniform(-2, h + 1, (n, h, w)).astype(np.float32)
    sx = rng.uniform(-2, w + 1, (n, h, w)).astype(np.float32)
    np.testing.assert_allclose(ink_fast.warp(img, sy, sx), ink.warp(img, sy, sx), atol=1e-5)


def test_warp_identity_and_shift():
    img = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    gy, gx = np.mgrid[0:5, 0:6].astype(np.float32)
    gy, gx = np.broadcast_to(gy, img.shape), np.broadcast_to(gx, img.shape)
    for k in (ink, ink_fast):
        np.testing.assert_allclose(k.warp(img, gy, gx), img)
        shifted = k.warp(img, gy, gx - 1)  # read one pixel to the left
        np.testing.assert_allclose(shifted[:, :, 1:], img[:, :, :-1])
        assert not shifted[:, :, 0].any()


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.booleans(), st.integers(0, 10**6))
def test_matmul(m, k, n, transposed, seed):
    a = rand(seed, (m, k))
    b = rand(seed + 1, (n, k)).T if transposed else rand(seed + 1, (k, n))  # as the weight gradients
    np.testing.assert_allclose(fast.matmul(a, b), reference.matmul(a, b), rtol=1e-5, atol=1e-5)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=3), st.integers(1, 5), st.sampled_from([0.0, 0.01]),
       st.integers(0, 10**6))
def test_adam_update(shape, t, weight_decay, seed):
    """The fused Numba step equals Adam.update's plain lines (the NumPy backend)."""
    p, g = rand(seed, shape), rand(seed + 1, shape)
    m, v = rand(seed + 2, shape) * 0.1, np.abs(rand(seed + 3, shape)) * 0.01
    results = []
    for backend in ("numpy", "numba"):
        tc.set_backend(backend)
        try:
            layer = tc.Layer()
            layer.add_param("p", p.copy())
            layer.grads["p"][...] = g
            opt = tc.Adam(layer, lr=1e-3, weight_decay=weight_decay)
            opt.t, opt.state["p"] = t - 1, {"m": m.copy(), "v": v.copy()}
            opt.step()
        finally:
            tc.set_backend("numba")
        results.append((layer.params["p"], opt.state["p"]["m"], opt.state["p"]["v"]))
    for r, f in zip(*results):
        assert f.dtype == np.float32
        np.testing.assert_allclose(f, r, rtol=1e-5, atol=1e-6)


def test_pieces_cover_every_item_once():
    seen = np.zeros(1000, int)

    def mark(lo, hi):
        seen[lo:hi] += 1

    for n in (1, 2, 7, 1000):
        seen[:] = 0
        tc.speed.threads.run_pieces(mark, tc.speed.threads.split(n, n))
        assert (seen[:n] == 1).all() and not seen[n:].any()


def test_errors_in_a_piece_reach_the_caller():
    def fail(lo, hi):
        raise ValueError(f"piece {lo}")

    with pytest.raises(ValueError, match="piece"):
        tc.speed.threads.run_pieces(fail, tc.speed.threads.split(100, 100))


def test_blas_setting_is_restored():
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    a = rand(0, (300, 300))
    fast.matmul(a, a)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_thread_count_is_checked():
    for bad in (0, -1, 2.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            tc.set_threads(bad)


@given(conv_cases)
def test_loop_convolution_equals_im2col(case):
    n, c, h, w, k, s, p, seed = case
    if h + 2 * p < k or w + 2 * p < k:
        return
    x, wt, b = rand(seed, (n, c, h, w)), rand(seed + 1, (2, c, k, k)), rand(seed + 2, (2,))
    np.testing.assert_allclose(reference.conv2d_im2col(x, wt, b, s, p), reference.conv2d_loops(x, wt, b, s, p),
                               rtol=1e-4, atol=1e-5)
