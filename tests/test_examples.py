"""examples/cnn_from_scratch.py computes what tinycnn computes."""
import importlib.util
from pathlib import Path

import numpy as np

import tinycnn as tc

ROOT = Path(__file__).resolve().parents[1]


def load_example():
    spec = importlib.util.spec_from_file_location("cnn_from_scratch", ROOT / "examples" / "cnn_from_scratch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_step_gradients_equal_the_librarys():
    ex = load_example()
    params = ex.init_params(seed=3)
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    loss, grads = ex.loss_and_grads(params, x, y)

    tc.set_backend("numpy")
    try:
        model = tc.Sequential(tc.Conv2D(1, 8, 3), tc.ReLU(), tc.MaxPool2D(2), tc.Flatten(), tc.Dense(8 * 13 * 13, 10))
        model.load_state_dict({"0.W": params["conv.W"], "0.b": params["conv.b"],
                               "4.W": params["dense.W"], "4.b": params["dense.b"]})
        ours, d = tc.softmax_cross_entropy(model.forward(x), y)
        model.backward(d)
    finally:
        tc.set_backend("numba")
    assert np.isclose(loss, ours, rtol=1e-6)
    for name, key in (("conv.W", "0.W"), ("conv.b", "0.b"), ("dense.W", "4.W"), ("dense.b", "4.b")):
        np.testing.assert_allclose(grads[name], dict(model.named_grads())[key], rtol=1e-4, atol=1e-6)


def test_adam_step_equals_the_librarys():
    ex = load_example()
    params, grads = ex.init_params(seed=1), ex.init_params(seed=2)
    tc.set_backend("numpy")
    try:
        model = tc.Sequential(tc.Conv2D(1, 8, 3), tc.ReLU(), tc.MaxPool2D(2), tc.Flatten(), tc.Dense(8 * 13 * 13, 10))
        keys = {"conv.W": "0.W", "conv.b": "0.b", "dense.W": "4.W", "dense.b": "4.b"}
        model.load_state_dict({keys[k]: v for k, v in params.items()})
        opt, mine = tc.Adam(model, lr=1e-2), ex.Adam(params, lr=1e-2)
        for _ in range(3):
            for k, v in grads.items():
                dict(model.named_grads())[keys[k]][...] = v
            opt.step()
            mine.step(grads)
    finally:
        tc.set_backend("numba")
    for k, v in params.items():
        np.testing.assert_allclose(v, model.state_dict()[keys[k]], rtol=1e-5, atol=1e-7)
