"""The Numba kernels give the NumPy reference's results (float32, random shapes)."""
import numpy as np
from hypothesis import given, strategies as st

from tinycnn.kernels import fast, reference


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
    np.testing.assert_allclose(fast.warp(img, sy, sx), reference.warp(img, sy, sx), atol=1e-5)


def test_warp_identity_and_shift():
    img = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    gy, gx = np.mgrid[0:5, 0:6].astype(np.float32)
    gy, gx = np.broadcast_to(gy, img.shape), np.broadcast_to(gx, img.shape)
    for k in (reference, fast):
        np.testing.assert_allclose(k.warp(img, gy, gx), img)
        shifted = k.warp(img, gy, gx - 1)  # read one pixel to the left
        np.testing.assert_allclose(shifted[:, :, 1:], img[:, :, :-1])
        assert not shifted[:, :, 0].any()


@given(conv_cases)
def test_loop_convolution_equals_im2col(case):
    n, c, h, w, k, s, p, seed = case
    if h + 2 * p < k or w + 2 * p < k:
        return
    x, wt, b = rand(seed, (n, c, h, w)), rand(seed + 1, (2, c, k, k)), rand(seed + 2, (2,))
    np.testing.assert_allclose(reference.conv2d_im2col(x, wt, b, s, p), reference.conv2d_loops(x, wt, b, s, p),
                               rtol=1e-4, atol=1e-5)
