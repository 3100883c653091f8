"""The public API: building, running, saving and loading models; optimisers; errors; float32; seeds."""
import json
import zipfile

import numpy as np
import pytest

import tinycnn as tc


def seed_net():
    return tc.Sequential(
        tc.Conv2D(1, 32, kernel_size=3), tc.ReLU(), tc.MaxPool2D(2),
        tc.Conv2D(32, 64, 3), tc.ReLU(), tc.MaxPool2D(2),
        tc.Flatten(), tc.Dense(1600, 128), tc.ReLU(), tc.Dropout(0.5), tc.Dense(128, 10))


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def test_the_issue_example_runs_and_learns():
    tc.seed(0)
    model = seed_net()
    model.train()
    x, y = batch(16)
    opt = tc.Adam(model, lr=1e-3)
    losses = []
    for _ in range(60):
        logits = model.forward(x)
        loss, dlogits = tc.softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        opt.step()
        opt.zero_grad()
        losses.append(loss)
    assert logits.shape == (16, 10)
    assert losses[-1] < 0.1 * losses[0]  # it can memorise 16 images


def test_parameter_names_and_shapes():
    model = seed_net()
    names = dict(model.named_parameters())
    assert list(names)[:4] == ["0.W", "0.b", "3.W", "3.b"]
    assert names["0.W"].shape == (32, 1, 3, 3) and names["7.W"].shape == (1600, 128)
    assert [n for n, _ in model.named_grads()] == list(names)
    for layer in model.layers:
        assert layer.params.keys() == layer.grads.keys()


def test_zero_grad_and_accumulation():
    model = seed_net()
    x, y = batch(4)
    model.eval()  # no dropout: two passes are the same pass
    _, d = tc.softmax_cross_entropy(model.forward(x), y)
    model.backward(d)
    g1 = model.layers[0].grads["W"].copy()
    model.forward(x)
    model.backward(d)  # the same pass again: gradients add up
    np.testing.assert_allclose(model.layers[0].grads["W"], 2 * g1, rtol=1e-5, atol=1e-7)
    model.zero_grad()
    assert all(not g.any() for _, g in model.named_grads())


def test_backward_before_forward_is_refused_and_release_frees():
    model = seed_net()
    x, y = batch(2)
    _, d = tc.softmax_cross_entropy(model.forward(x), y)
    with pytest.raises(RuntimeError, match=r"^layer 10 Dense\(128 -> 10\): backward needs a forward first"):
        seed_net().backward(d)
    model.release()
    assert not any(name in vars(step) for step in model.steps() for name in step.saved)
    with pytest.raises(RuntimeError, match="backward needs a forward first"):
        model.backward(d)


def test_wrong_input_shape_names_layer_and_shapes():
    model = seed_net()
    with pytest.raises(ValueError, match=r"^layer 7 Dense\(1600 -> 128\): expected input \(N, 1600\), got \(64, 2304\)$"):
        model.forward(np.zeros((64, 1, 30, 30), np.float32))
    with pytest.raises(ValueError, match=r"^layer 0 Conv2D\(1 -> 32, 3x3\): expected input \(N, 1, H, W\)"):
        model.forward(np.zeros((2, 3, 28, 28), np.float32))
    nested = tc.Sequential(tc.Residual(tc.Conv2D(2, 2, 3, padding=1), tc.Conv2D(3, 2, 1)))
    with pytest.raises(ValueError, match=r"^layer 0\.1 Conv2D\(3 -> 2, 1x1\): expected input \(N, 3, H, W"):
        nested.forward(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"layer 0 Residual.*shape the inner layers keep"):
        tc.Sequential(tc.Residual(tc.Conv2D(2, 2, 3))).forward(np.zeros((1, 2, 5, 5), np.float32))


def test_float32_end_to_end():
    tc.seed(1)
    model = tc.Sequential(tc.Conv2D(1, 4, 3, padding=1), tc.BatchNorm2D(4), tc.ReLU(), tc.MaxPool2D(2),
                          tc.Residual(tc.Conv2D(4, 4, 3, padding=1), tc.ReLU()), tc.Flatten(),
                          tc.Dense(4 * 14 * 14, 16), tc.BatchNorm1D(16), tc.ReLU(), tc.Dropout(0.2), tc.Dense(16, 10))
    opt = tc.Adam(model, weight_decay=1e-4)
    x, y = batch(4)
    for backend in ("numpy", "numba"):
        tc.set_backend(backend)
        logits = model.forward(x)
        loss, d = tc.softmax_cross_entropy(logits, y)
        dx = model.backward(d)
        opt.step()
        assert logits.dtype == np.float32 and d.dtype == np.float32 and dx.dtype == np.float32
        for name, v in list(model.state_dict().items()) + model.named_grads():
            assert v.dtype == np.float32, name
        assert model.predict_proba(x).dtype == np.float32
    tc.set_backend("numba")


def test_backends_give_the_same_model_output():
    tc.seed(2)
    model = seed_net()
    x, _ = batch(5)
    tc.set_backend("numpy")
    a = model.predict_proba(x)
    tc.set_backend("numba")
    b = model.predict_proba(x)
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        tc.set_backend("torch")


def test_dropout_only_in_train_mode():
    d = tc.Dropout(0.5)
    x = np.ones((100, 100), np.float32)
    y = d.forward(x)
    assert 0.4 < (y == 0).mean() < 0.6 and set(np.unique(y)) == {0.0, 2.0}
    d.eval()
    assert d.forward(x) is x


def test_seed_makes_init_and_dropout_repeat():
    outs = []
    for _ in range(2):
        tc.seed(123)
        m = seed_net()
        m.train()
        outs.append(m.forward(batch(3)[0]))
    np.testing.assert_array_equal(*outs)
    tc.seed(123)
    w123 = seed_net().layers[0].params["W"]
    tc.seed(124)
    assert not np.array_equal(seed_net().layers[0].params["W"], w123)


def test_he_initialisation_scale():
    tc.seed(0)
    w = tc.Conv2D(64, 128, 3).params["W"]
    assert w.std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.02)


def test_batchnorm_follows_pytorch_conventions():
    bn = tc.BatchNorm2D(3)
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * var, rtol=1e-5)
    bn.eval()
    expected = (x - bn.buffers["running_mean"][None, :, None, None]) / np.sqrt(
        bn.buffers["running_var"][None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn.forward(x), expected, rtol=1e-4, atol=1e-5)


class _One(tc.Sequential):
    """A 'model' with one parameter vector, for checking optimiser arithmetic by hand."""
    def __init__(self, p):
        super().__init__(tc.Dense(1, len(p)))
        self.layers[0].params["b"][:] = p


def _run(opt_factory, grads):
    model = _One(np.array([1.0, -2.0], np.float32))
    opt = opt_factory(model)
    for g in grads:
        model.layers[0].grads["b"][:] = g
        opt.step()
        opt.zero_grad()
    return model.layers[0].params["b"]


def test_sgd_momentum_weight_decay_rule():
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0])]
    p, buf, lr, mu, wd = np.array([1.0, -2.0]), None, 0.1, 0.9, 0.01
    for g in grads:  # torch.optim.SGD, written out
        g = g + wd * p
        buf = g if buf is None else mu * buf + g
        p = p - lr * buf
    got = _run(lambda m: tc.SGD(m, lr=lr, momentum=mu, weight_decay=wd), grads)
    np.testing.assert_allclose(got, p, rtol=1e-6)


def test_adam_rule():
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0])]
    p, m, v, lr, b1, b2, eps, wd = np.array([1.0, -2.0]), 0.0, 0.0, 0.01, 0.9, 0.999, 1e-8, 0.1
    for t, g in enumerate(grads, 1):  # torch.optim.Adam, written out
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    got = _run(lambda mod: tc.Adam(mod, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), grads)
    np.testing.assert_allclose(got, p, rtol=1e-5)


def test_weight_average_rule():
    model = _One(np.array([1.0, -2.0], np.float32))
    average = tc.WeightAverage(model, decay=0.2)
    avg = np.array([1.0, -2.0])
    decays = []
    for step, value in enumerate([[3.0, 0.0], [-1.0, 4.0], [2.0, 2.0], [0.5, -0.5]], 1):
        model.layers[0].params["b"][:] = value
        average.update(step)
        d = min(0.2, (1 + step) / (10 + step))  # the first step keeps less of the start: 2/11 < 0.2
        decays.append(d)
        avg = d * avg + (1 - d) * np.array(value)
        np.testing.assert_allclose(average.state_dict()["0.b"], avg, rtol=1e-6)
    assert decays[0] < 0.2 and decays[1:] == [0.2] * 3  # both regimes were taken
    assert average.state_dict()["0.b"] is not average.arrays["0.b"]

    other = tc.WeightAverage(_One(np.zeros(2, np.float32)), decay=0.5)
    other.load_state_dict(average.state_dict())
    np.testing.assert_array_equal(other.state_dict()["0.b"], average.state_dict()["0.b"])
    with pytest.raises(ValueError, match="averaged array 0.b has shape"):
        other.load_state_dict({"0.W": np.zeros((1, 2)), "0.b": np.zeros(3)})
    with pytest.raises(ValueError, match="missing: \\['0.W'\\]"):
        other.load_state_dict({"0.b": np.zeros(2)})
    with pytest.raises(ValueError, match="decay must be between 0 and 1"):
        tc.WeightAverage(model, decay=1.0)


def test_save_load_round_trip(tmp_path):
    tc.seed(3)
    model = tc.Sequential(tc.Conv2D(1, 4, 3, padding=1), tc.BatchNorm2D(4), tc.ReLU(), tc.MaxPool2D(2),
                          tc.Residual(tc.Conv2D(4, 4, 3, padding=1), tc.BatchNorm2D(4)), tc.Flatten(),
                          tc.Dense(4 * 14 * 14, 10), tc.Dropout(0.1))
    x, y = batch(6)
    model.forward(x)  # moves the running statistics away from their initial values
    path = tmp_path / "m.npz"
    model.save(path, meta={"note": "test"})
    loaded = tc.load(path)
    assert repr(loaded) == repr(model) and loaded.meta == {"note": "test"}
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    with zipfile.ZipFile(path) as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(path, allow_pickle=False) as f:  # readable without pickle
        assert json.loads(str(f["__architecture__"]))["format"] == "tinycnn-model-1"


def test_load_refuses_arrays_that_do_not_fit(tmp_path):
    model = tc.Sequential(tc.Flatten(), tc.Dense(4, 3))
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as f:
        arrays = dict(f)
    arrays["1.W"] = np.zeros((5, 3), np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(tc.ModelFileError, match=r"bad.npz: array 1.W has shape \(5, 3\), but layer 1 Dense\(4 -> 3\) needs \(4, 3\)"):
        tc.load(tmp_path / "bad.npz")
    del arrays["1.b"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(tc.ModelFileError, match=r"missing: \['1.b'\]"):
        tc.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(tc.ModelFileError, match="junk.npz: not a readable tinycnn model file"):
        tc.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", __architecture__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(tc.ModelFileError, match="obj.npz"):
        tc.load(tmp_path / "obj.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    model = tc.Sequential(tc.Flatten(), tc.Dense(4, 3))
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_predict_is_batched_and_restores_mode():
    tc.seed(4)
    model = seed_net()
    x, _ = batch(23)
    model.train()
    p_all = model.predict_proba(x, batch_size=1000)
    p_small = model.predict_proba(x, batch_size=5)
    np.testing.assert_allclose(p_all, p_small, rtol=1e-5, atol=1e-6)  # BLAS sums differ by batch size
    np.testing.assert_allclose(p_all.sum(1), 1, rtol=1e-5)
    assert model.training
    assert model.predict(x).shape == (23,)


def test_summary_table(capsys):
    seed_net().summary()
    out = capsys.readouterr().out
    assert "7 Dense(1600 -> 128)" in out and "(64, 5, 5)" in out
    assert "Total parameters: 225,034" in out
    assert "FLOPs per image" in out


def test_loss_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        tc.softmax_cross_entropy(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"expected integer labels of shape \(2,\)"):
        tc.softmax_cross_entropy(np.zeros((2, 3), np.float32), np.array([0.0, 1.0]))
