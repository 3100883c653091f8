"""A layer of your own, written as the docs say (forward, backward, params, grads, nothing else),
works everywhere a built-in one does: Sequential, gradcheck, optimisers, summary, save, tc.load."""
import numpy as np
import pytest

import tinycnn as tc


class Leaky(tc.Layer):
    def __init__(self, alpha=0.1):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dy):
        return np.where(self.x > 0, dy, self.alpha * dy)


class Scale(tc.Layer):
    """y = x * s, one learned scale per feature: a layer with a parameter and no output_shape."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.add_param("s", np.ones(n, np.float32))

    def forward(self, x):
        self.x = x
        return x * self.params["s"]

    def backward(self, dy):
        self.grads["s"] += (dy * self.x).sum(axis=0)
        return dy * self.params["s"]


def small_net():
    return tc.Sequential(tc.Conv2D(1, 4, 3), Leaky(0.2), tc.MaxPool2D(2), tc.Flatten(),
                         tc.Dense(4 * 3 * 3, 6), Scale(6), Leaky(), tc.Dense(6, 3))


def data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_trains_inside_sequential(backend):
    tc.set_backend(backend)
    try:
        tc.seed(0)
        model, (x, y) = small_net(), data()
        opt = tc.Adam(model, lr=1e-2)
        losses = []
        for _ in range(80):
            loss, d = tc.softmax_cross_entropy(model(x), y)
            model.backward(d)
            opt.step()
            opt.zero_grad()
            losses.append(loss)
        assert losses[-1] < 0.2 * losses[0]
        assert not np.allclose(model[5].params["s"], 1)  # the custom parameter was trained
    finally:
        tc.set_backend("numba")


def test_gradcheck():
    x = np.random.default_rng(1).standard_normal((3, 6))
    for layer in (Leaky(0.3), Scale(6), tc.Sequential(tc.Dense(6, 5), Leaky(), Scale(5))):
        assert max(tc.gradcheck(layer, x).values()) < 1e-6


def test_gradcheck_catches_what_sequential_would_refuse():
    class OldStyle(Leaky):  # a backward that needs an argument a Sequential never passes
        def backward(self, dy, need_dx):
            return super().backward(dy)

    class NoDx(Leaky):
        def backward(self, dy):
            super().backward(dy)

    class NoSuper(tc.Layer):
        def __init__(self):
            self.alpha = 1

        def forward(self, x):
            return x

        def backward(self, dy):
            return dy

    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="need_dx"):
        tc.gradcheck(OldStyle(), x)
    with pytest.raises(TypeError, match="need_dx"):
        m = tc.Sequential(OldStyle())
        m.forward(x)
        m.backward(x)
    with pytest.raises(ValueError, match="must return dL/dx"):
        tc.gradcheck(NoDx(), x)
    with pytest.raises(TypeError, match="super"):
        tc.gradcheck(NoSuper(), x)
    with pytest.raises(TypeError, match="super"):
        tc.Sequential(NoSuper())


def test_summary_save_and_load(tmp_path, capsys):
    tc.seed(0)
    model = small_net().eval()
    model.summary((1, 8, 8))
    table = capsys.readouterr().out
    assert "Leaky(alpha=0.2)" in table and "Scale(n=6)" in table and "(6,)" in table
    model[5].params["s"][:] = np.arange(6)
    model.save(tmp_path / "m.npz")
    again = tc.load(tmp_path / "m.npz")
    assert repr(again) == repr(model) and again[1].alpha == 0.2
    x, _ = data()
    np.testing.assert_array_equal(again(x), model(x))


def test_optimisers_take_any_layer():
    layer = tc.Dense(64, 3)
    before = layer.params["W"].copy()
    layer.grads["W"][:] = 1
    tc.SGD(layer, lr=0.1).step()
    np.testing.assert_allclose(layer.params["W"], before - 0.1)
    s = Scale(4)
    s.forward(np.ones((2, 4), np.float32))
    s.backward(np.ones((2, 4), np.float32))
    tc.Adam(s, lr=0.5).step()
    assert np.all(s.params["s"] < 1)
    with pytest.raises(TypeError, match="a layer or a Sequential"):
        tc.SGD([layer], lr=0.1)


def test_registration():
    assert tc.layers.LAYER_TYPES["Leaky"] is Leaky

    class Dense(tc.Layer):  # a name the library already uses: not taken over silently
        def forward(self, x):
            return x

        def backward(self, dy):
            return dy

    assert tc.layers.LAYER_TYPES["Dense"] is tc.Dense
    with pytest.raises(TypeError, match="register_layer"):
        tc.Sequential(Dense()).architecture()
    with pytest.raises(ValueError, match="already"):
        tc.register_layer(Dense)
    tc.register_layer(Dense, "MyDense")
    try:
        assert tc.Sequential(Dense()).architecture()["layers"][0]["type"] == "MyDense"
    finally:
        del tc.layers.LAYER_TYPES["MyDense"]


def test_config_needs_the_constructor_arguments(tmp_path):
    class Forgetful(Leaky):
        def __init__(self, slope=0.1):
            super().__init__(slope)  # stored as self.alpha, not self.slope

    with pytest.raises(TypeError, match="slope"):
        tc.Sequential(Forgetful()).save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_train_takes_a_model_you_built(tmp_path):
    from tinycnn.digits.train import Config, train

    rng = np.random.default_rng(0)
    xtr, ytr = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 10, 300)
    xte, yte = xtr[:40], ytr[:40]
    tc.seed(0)
    model = tc.Sequential(tc.Conv2D(1, 4, 3, stride=2), Leaky(), tc.Flatten(), tc.Dense(4 * 13 * 13, 10))
    before = model[0].params["W"].copy()
    out = tmp_path / "m.npz"
    train(Config(arch="not used", epochs=1, batch_size=50, val_split=50, augment=False, out=str(out),
                 synthetic=0, non_digits=0, calibration_digits=100),
          data=(xtr, ytr, xte, yte), log=lambda *a: None, model=model)
    assert not np.allclose(model[0].params["W"], before)
    again = tc.load(out)
    assert type(again[1]) is Leaky and again.meta["arch"] == "own"
