"""The fused Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D(2) path gives what the layers give one by one."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycnn as tc
from tinycnn import kernels as reference
from tinycnn.speed import kernels as fast


@pytest.mark.usefixtures("threads")
@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 9), st.integers(2, 9), st.integers(0, 10**6))
def test_fused_kernels_match_reference(n, f, ho, wo, seed):
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((f, n * ho * wo)).astype(np.float32)
    out[:, ::3] = np.round(out[:, ::3])  # ties, and values the bias turns to exactly zero
    b = np.round(rng.standard_normal(f)).astype(np.float32)
    y, arg = reference.conv_relu_pool2_forward(out, b, n, ho, wo)
    y2, arg2 = fast.conv_relu_pool2_forward(out, b, n, ho, wo)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(arg2, arg)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    for a, r in zip(fast.conv_relu_pool2_backward(dy, arg, ho, wo), reference.conv_relu_pool2_backward(dy, arg, ho, wo)):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)


@pytest.mark.usefixtures("threads")
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(4, 11), st.integers(0, 1),
       st.booleans(), st.integers(0, 10**6))
def test_fused_network_equals_layer_by_layer(n, c, f, hw, pad, bn, seed):
    tc.seed(seed)
    norm = [tc.BatchNorm2D(f)] if bn else []
    net = tc.Sequential(tc.Conv2D(c, f, 3, padding=pad), *norm, tc.ReLU(), tc.MaxPool2D(2), tc.Flatten())
    x = np.random.default_rng(seed).standard_normal((n, c, hw, hw)).astype(np.float32)
    start = {k: v.copy() for k, v in net.state_dict().items()}
    results = []
    for backend in ("numpy", "numba"):  # numba fuses, numpy runs the layers one by one
        tc.set_backend(backend)
        net.load_state_dict(start)  # the same running statistics before each
        net.zero_grad()
        y = net.forward(x)
        assert [type(s).__name__ for s in net.steps()] == (["ConvReluPool", "Flatten"] if backend == "numba"
                                                        else [type(layer).__name__ for layer in net])
        dx = net.backward(np.ones_like(y) + y)
        results.append((y, dx, *[g.copy() for _, g in net.named_grads()],
                        *[v.copy() for v in net.state_dict().values()]))
    tc.set_backend("numba")
    for a, b in zip(*results):  # batch norm divides by small spreads: its rounding grows
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 if bn else 1e-5)


def test_batch_norm_is_fused_only_in_training():
    tc.set_backend("numba")
    net = tc.Sequential(tc.Conv2D(1, 2, 3), tc.BatchNorm2D(2), tc.ReLU(), tc.MaxPool2D(2))
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    net.forward(x)
    assert [type(s).__name__ for s in net.steps()] == ["ConvReluPool"] and net.steps()[0].bn is net[1]
    net.eval()  # running statistics: the layers run one by one
    net.forward(x)
    assert [type(s).__name__ for s in net.steps()] == ["ConvStep", "BatchNorm2D", "ReLU", "MaxPool2D"]


@pytest.mark.parametrize("bn", [False, True])
def test_fused_gradients_check(bn):
    tc.set_backend("numba")
    norm = [tc.BatchNorm2D(3)] if bn else []
    net = tc.Sequential(tc.Conv2D(2, 3, 3, padding=1), *norm, tc.ReLU(), tc.MaxPool2D(2))
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    net.astype(np.float64).forward(x)
    assert type(net.steps()[0]).__name__ == "ConvReluPool" and net.steps()[0].bn is (net[1] if bn else None)
    errors = tc.gradcheck(net, x)
    if bn:  # the bias before batch norm has a true gradient of zero, which the fused step gives exactly
        errors.pop("0.b")
        net.zero_grad()
        y = net.forward(x)
        net.backward(np.random.default_rng(1).standard_normal(y.shape))
        assert not net[0].grads["b"].any()
        numeric = tc.numerical_grad(lambda: float(np.sum(net.forward(x))), net[0].params["b"])
        assert np.abs(numeric).max() < 1e-8
    assert max(errors.values()) < 1e-6


def test_small_maps_are_not_fused_and_errors_still_name_the_layer():
    net = tc.Sequential(tc.Conv2D(1, 2, 3), tc.ReLU(), tc.MaxPool2D(2))
    try:
        net.forward(np.zeros((1, 1, 3, 3), np.float32))  # conv gives 1x1: the pool refuses it
    except ValueError as e:
        assert str(e).startswith("layer 2 MaxPool2D(2): expected input")
    else:
        raise AssertionError("no error")
