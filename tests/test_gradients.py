"""Every layer's backward against centered finite differences, float64, hypothesis-chosen shapes,
on both backends (the Numba kernels compile for float64 too, so both are checked)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycnn as tc

TOL = 1e-6


@pytest.fixture
def backend(request):
    tc.set_backend(request.param)
    yield request.param
    tc.set_backend("numba")


def assert_close(errors, tol=TOL):
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad}"


def data(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(n=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 3), k=st.integers(1, 4),
       stride=st.integers(1, 3), pad=st.integers(0, 2), h=st.integers(1, 7), w=st.integers(1, 7),
       seed=st.integers(0, 1000))
def test_conv2d(backend, n, c_in, c_out, k, stride, pad, h, w, seed):
    if h + 2 * pad < k or w + 2 * pad < k:
        return
    layer = tc.Conv2D(c_in, c_out, k, stride=stride, padding=pad, rng=np.random.default_rng(seed))
    layer.params["b"][:] = np.random.default_rng(seed + 1).standard_normal(c_out)
    assert_close(tc.gradcheck(layer, data(seed, (n, c_in, h, w))))


@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(n=st.integers(1, 2), c=st.integers(1, 3), k=st.integers(1, 3), stride=st.integers(1, 3),
       h=st.integers(1, 8), w=st.integers(1, 8), seed=st.integers(0, 1000))
def test_maxpool(backend, n, c, k, stride, h, w, seed):
    if h < k or w < k:
        return
    assert_close(tc.gradcheck(tc.MaxPool2D(k, stride), data(seed, (n, c, h, w))))


@given(n=st.integers(1, 4), i=st.integers(1, 6), o=st.integers(1, 6), seed=st.integers(0, 1000))
def test_dense(n, i, o, seed):
    layer = tc.Dense(i, o, rng=np.random.default_rng(seed))
    layer.params["b"][:] = 0.5
    assert_close(tc.gradcheck(layer, data(seed, (n, i))))


@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_relu(backend, shape, seed):
    assert_close(tc.gradcheck(tc.ReLU(), data(seed, shape)))


@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=st.integers(0, 1000))
def test_flatten(shape, seed):
    assert_close(tc.gradcheck(tc.Flatten(), data(seed, shape)))


@given(p=st.floats(0, 0.9), shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), seed=st.integers(0, 1000))
def test_dropout_train_and_eval(p, shape, seed):
    tc.seed(seed)
    assert_close(tc.gradcheck(tc.Dropout(p), data(seed, shape)))
    assert_close(tc.gradcheck(tc.Dropout(p).eval(), data(seed, shape)))


# With m values per statistic, batch norm's input gradient has m - 2 degrees of freedom
# (the mean and the xhat-direction are projected out): for m = 2 it is exactly zero and for
# m = 3 nearly so, and a relative error would only measure rounding. So m >= 6 here.
@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(n=st.integers(2, 4), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4),
       train=st.booleans(), seed=st.integers(0, 1000))
def test_batchnorm2d(backend, n, c, h, w, train, seed):
    if train and n * h * w < 6:
        return
    layer = tc.BatchNorm2D(c)
    rng = np.random.default_rng(seed)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, c)
    layer.params["beta"][:] = rng.standard_normal(c)
    layer.buffers["running_mean"][:] = rng.standard_normal(c)
    layer.train(train)
    # beta's gradient is the sum of dy over n*h*w values, which can nearly cancel when they are
    # few (found: n=2, h=1, w=4 gave 1.04e-6); finite differences then measure rounding.
    assert_close(tc.gradcheck(layer, data(seed, (n, c, h, w)) * 3 + 1), tol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(n=st.integers(6, 9), f=st.integers(1, 5), train=st.booleans(), seed=st.integers(0, 1000))
def test_batchnorm1d(backend, n, f, train, seed):
    layer = tc.BatchNorm1D(f)
    layer.params["gamma"][:] = np.random.default_rng(seed).uniform(0.5, 2, f)
    layer.train(train)
    assert_close(tc.gradcheck(layer, data(seed, (n, f))))


@pytest.mark.parametrize("backend", ["numpy", "numba"], indirect=True)
@given(c=st.integers(1, 3), hw=st.integers(3, 5), seed=st.integers(0, 1000))
def test_residual_block(backend, c, hw, seed):
    rng = np.random.default_rng(seed)
    block = tc.Residual(tc.Conv2D(c, c, 3, padding=1, rng=rng), tc.ReLU(), tc.Conv2D(c, c, 3, padding=1, rng=rng))
    assert_close(tc.gradcheck(block, data(seed, (2, c, hw, hw))))


def test_bias_before_batchnorm_has_zero_gradient():
    # The one case where a relative error is meaningless: the true gradient is exactly zero.
    block = tc.Residual(tc.Conv2D(2, 2, 3, padding=1), tc.BatchNorm2D(2))
    errors = tc.gradcheck(block, data(0, (3, 2, 4, 4)))
    assert_close({k: v for k, v in errors.items() if k != "0.b"})
    probe = block.astype(np.float64)
    probe.forward(data(0, (3, 2, 4, 4)))
    probe.backward(data(1, (3, 2, 4, 4)))
    assert np.abs(probe.layers[0].grads["b"]).max() < 1e-12


@given(n=st.integers(1, 3), seed=st.integers(0, 1000))
def test_small_network(n, seed):
    tc.seed(seed)
    net = tc.Sequential(tc.Conv2D(1, 2, 3, padding=1), tc.BatchNorm2D(2), tc.ReLU(), tc.MaxPool2D(2),
                        tc.Residual(tc.Conv2D(2, 2, 3, padding=1), tc.ReLU()), tc.Flatten(),
                        tc.Dense(8, 4), tc.Dropout(0.3), tc.Dense(4, 3))
    errors = tc.gradcheck(net, data(seed, (n + 1, 1, 4, 4)))
    assert_close({k: v for k, v in errors.items() if k != "0.b"})  # bias before batch norm: see above


@given(n=st.integers(1, 5), k=st.integers(2, 6), smooth=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 1000),
       scale=st.sampled_from([1.0, 50.0]))
def test_softmax_cross_entropy_gradient(n, k, smooth, seed, scale):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k)) * scale
    labels = rng.integers(0, k, n)
    _, analytic = tc.softmax_cross_entropy(logits, labels, smooth)
    numeric = tc.numerical_grad(lambda: tc.softmax_cross_entropy(logits, labels, smooth)[0], logits)
    assert tc.rel_error(analytic, numeric) < TOL


def test_loss_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1e4, 0.0]], dtype=np.float32)
    loss, d = tc.softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(1e4 / 2, rel=1e-6)
    p = tc.softmax(logits)
    assert np.allclose(p.sum(1), 1) and np.all(np.isfinite(p))


def test_gradcheck_catches_a_wrong_backward():
    class Broken(tc.ReLU):
        def backward(self, dy):
            return 2 * super().backward(dy)
    assert tc.gradcheck(Broken(), data(0, (3, 4)))["x"] > 0.1
