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


@pytest.mark.usefixtures("threads")
@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 4), st.integers(3, 9), st.integers(1, 3),
       st.integers(1, 2), st.integers(0, 1), st.integers(0, 10**6))
def test_blocked_convolution_matches_reference(n, c, f, hw, k, s, p, seed):
    """The fused steps' convolution in blocks of images gives the product, dw and dx of the reference."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w2 = rng.standard_normal((f, c * k * k)).astype(np.float32)
    cols = reference.im2col(x, k, k, s, p)
    for bounds in ([0, n], list(range(n + 1))):  # one block, a block per image
        blocked = np.empty(cols.size, np.float32)
        product = fast.conv_forward_blocked(x, w2, k, k, s, p, blocked, np.empty((f, cols.shape[1]), np.float32), bounds)
        np.testing.assert_allclose(product, w2 @ cols, rtol=1e-5, atol=1e-5)
        d = rng.standard_normal(product.shape).astype(np.float32)
        dx, dw = fast.conv_backward_blocked(d, w2, blocked, x.shape, k, k, s, p, bounds,
                                            np.empty((len(bounds) - 1, c * k * k, f), np.float32), np.empty_like(x))
        np.testing.assert_allclose(dw, d @ cols.T, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dx, reference.col2im(w2.T @ d, x.shape, k, k, s, p), rtol=1e-4, atol=1e-4)


def training_step(net, x, labels, opt):
    loss, d = tc.softmax_cross_entropy(net.forward(x), labels)
    dx = net.backward(d)
    opt.step()
    opt.zero_grad()
    return dx


def test_a_steady_step_reuses_its_workspaces_and_allocates_little():
    import tracemalloc
    tc.set_backend("numba")
    tc.seed(0)
    net = tc.Sequential(tc.Conv2D(1, 8, 3), tc.ReLU(), tc.MaxPool2D(2), tc.Conv2D(8, 16, 3), tc.ReLU(),
                        tc.MaxPool2D(2), tc.Flatten(), tc.Dense(400, 10))
    x, labels = np.random.default_rng(0).random((32, 1, 28, 28), dtype=np.float32), np.arange(32) % 10
    opt = tc.Adam(net)
    training_step(net, x, labels, opt)
    workspaces = [step.work for step in net.steps() if hasattr(step, "work")]
    kept = {(i, name): id(a) for i, w in enumerate(workspaces) for name, a in w.arrays.items()}
    assert len(workspaces) == 2 and kept
    tracemalloc.start()
    try:
        training_step(net, x, labels, opt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert {(i, name): id(a) for i, w in enumerate(workspaces) for name, a in w.arrays.items()} == kept  # the same arrays again
    held = tc.model.held_bytes(net)
    assert held > 1_000_000 and peak < held / 4, (peak, held)  # the big temporaries are not made again
    net.release()
    assert tc.model.held_bytes(net) == 0


def test_what_a_caller_holds_is_never_overwritten_by_a_later_step():
    """Kept arrays pass only between steps of a chain: outputs and input gradients handed to a
    caller are new arrays each time."""
    tc.set_backend("numba")
    tc.seed(0)
    body = tc.Sequential(tc.Conv2D(1, 4, 3), tc.ReLU(), tc.MaxPool2D(2), tc.Conv2D(4, 4, 3), tc.ReLU(), tc.MaxPool2D(2))
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((2, 3, 1, 12, 12), dtype=np.float32)
    y1 = body.forward(x1)
    dx1 = body.backward(np.ones_like(y1))
    saved = y1.copy(), dx1.copy()
    y2 = body.forward(x2)
    body.backward(np.ones_like(y2))
    np.testing.assert_array_equal(y1, saved[0])
    np.testing.assert_array_equal(dx1, saved[1])


def test_a_second_backward_asks_for_a_forward():
    tc.set_backend("numba")
    net = tc.Sequential(tc.Conv2D(1, 2, 3), tc.ReLU(), tc.MaxPool2D(2))
    y = net.forward(np.ones((1, 1, 6, 6), np.float32))
    net.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="layer 0 .*backward needs a forward first"):
        net.backward(np.ones_like(y))
