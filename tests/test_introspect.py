"""Looking inside: every layer's output is observable on every backend (trace, patched forward),
and saliency is the true gradient of a digit's score with respect to the input."""
import numpy as np
import pytest

import tinycnn as tc
from tinycnn.digits.architectures import resnet_net, seed_net

BACKENDS = ["numpy", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    tc.set_backend(request.param)
    yield request.param
    tc.set_backend("numba")


def images(n=3, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def test_trace_gives_every_layer_and_forwards_numbers(backend):
    tc.seed(0)
    for model in (seed_net().eval(), resnet_net().eval()):
        x = images()
        steps = model.trace(x)
        names = [n for n, _ in steps]
        assert set(names) == {n for n, _ in model.named_layers()} - {""}
        np.testing.assert_allclose(steps[-1][1], model.forward(x), rtol=1e-5, atol=1e-5)
        h = x  # each top-level output is that layer's forward of the one before
        for i, layer in enumerate(model):
            h = layer.forward(h)
            np.testing.assert_allclose(dict(steps)[str(i)], h, rtol=1e-5, atol=1e-5)


def test_a_patched_forward_records_on_every_backend(backend):
    tc.seed(0)
    model = seed_net()
    seen = []
    for layer in model:
        def spy(x, forward=layer.forward, layer=layer):
            y = forward(x)
            seen.append((type(layer).__name__, y.shape))
            return y
        layer.forward = spy
    model.forward(images(2))
    assert [name for name, _ in seen] == [type(layer).__name__ for layer in model]
    assert seen[1] == ("ReLU", (2, 32, 26, 26))
    model.trace(images(2))  # trace keeps the user's patch in place
    assert "forward" in vars(model[1]) and len(seen) == 2 * len(model)


def test_fusion_still_runs_unobserved():
    tc.set_backend("numba")
    model = seed_net()
    model.forward(images(2))
    assert [type(s).__name__ for s in model.steps()][:2] == ["ConvReluPool", "ConvReluPool"]
    model.trace(images(2))
    assert "forward" not in vars(model[0])  # trace's wrappers are removed after
    model.forward(images(2))
    assert type(model.steps()[0]).__name__ == "ConvReluPool"


def test_model_list_api():
    model = seed_net()
    assert len(model) == 11 and model[0] is model.layers[0] and model[-1] is model.layers[-1]
    head = model[:3]
    assert isinstance(head, tc.Sequential) and head[0] is model[0] and len(head) == 3
    assert list(model) == model.layers
    assert len(model.parameters()) == 8 and model.parameters()[0] is model[0].params["W"]
    np.testing.assert_array_equal(model.eval()(images(2)), model.forward(images(2)))


@pytest.mark.parametrize("digit", [None, 3])
def test_saliency_is_the_gradient_of_the_score(backend, digit):
    tc.seed(1)
    model = tc.Sequential(tc.Conv2D(1, 3, 3), tc.BatchNorm2D(3), tc.ReLU(), tc.MaxPool2D(2), tc.Flatten(),
                          tc.Dense(3 * 3 * 3, 5), tc.Dropout(0.5), tc.Dense(5, 4)).astype(np.float64)
    model.train()  # saliency must switch to eval itself and switch back
    x = np.random.default_rng(2).random((2, 1, 8, 8))
    before = [g.copy() for _, g in model.named_grads()]
    sal = tc.saliency(model, x, digit)
    assert sal.shape == x.shape and model.training
    for (_, g), b in zip(model.named_grads(), before):
        np.testing.assert_array_equal(g, b)
    model.eval()
    chosen = model.forward(x).argmax(1) if digit is None else np.full(2, digit)

    def score():
        return float(model.forward(x)[np.arange(2), chosen].sum())
    numeric = tc.numerical_grad(score, x)
    assert tc.rel_error(sal, numeric) < 1e-6


def test_saliency_of_one_drawing():
    model = tc.pretrained()
    img = np.zeros((28, 28), np.float32)
    img[4:24, 13:15] = 1  # a 1
    sal = tc.saliency(model, img)
    assert sal.shape == (28, 28) and np.abs(sal).max() > 0
    with pytest.raises(ValueError, match="digit"):
        tc.saliency(model, img, digit=model.output_shape((1, 28, 28))[0])  # one past the last class


def test_feature_maps():
    model = tc.pretrained()
    maps = tc.feature_maps(model, images(1))
    assert [y.shape[1:] for _, _, y in maps] == [(32, 28, 28), (64, 14, 14), (64, 7, 7), (64, 7, 7)]


def test_clear_errors():
    with pytest.raises(TypeError, match="Dense.*list.*np.asarray"):
        tc.Dense(3, 2).forward([[1, 2, 3]])
    with pytest.raises(TypeError, match="uint8"):
        seed_net().forward(np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="more than one value per channel"):
        tc.BatchNorm1D(4).forward(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        tc.BatchNorm2D(2).forward(np.zeros((1, 2, 1, 1), np.float32))
    tc.BatchNorm1D(4).eval().forward(np.zeros((1, 4), np.float32))  # eval mode: fine
    with pytest.raises(ValueError, match=r"layer 7 Dense\(1600 -> 128\)"):
        seed_net().summary((1, 20, 20))
    with pytest.raises(ValueError, match=r"layer 5 MaxPool2D"):
        seed_net().summary((1, 8, 8))


def test_summary_counts_the_shipped_model(capsys):
    model = tc.pretrained()
    model.summary()
    total = sum(p.size for p in model.parameters())  # counted independently of summary's table
    assert total > 100_000 and f"Total parameters: {total:,}" in capsys.readouterr().out
