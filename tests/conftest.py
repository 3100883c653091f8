import os

import pytest
from hypothesis import HealthCheck, settings

# The backend fixture only flips a global switch, so reusing it across examples is safe.
relaxed = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("ci", max_examples=60, **relaxed)
settings.register_profile("dev", max_examples=30, **relaxed)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request, monkeypatch):
    """Run a test with tinycnn's work in the calling thread, then split across 2 threads into
    pieces as small as one item, so that even a hypothesis-sized array takes the parallel path."""
    import tinycnn as tc
    from tinycnn.speed import threads as pool

    if request.param > 1:
        monkeypatch.setattr(pool, "MIN_PARALLEL_ITEMS", 1)
        monkeypatch.setattr(pool, "MIN_PARALLEL_FLOPS", 1)
    tc.set_threads(request.param)
    yield request.param
    tc.set_threads(None)


def small_config(tmp_path, **kw):
    """A short seed-net training into tmp_path, on the data it is given only (generated drawings
    are made only where a test asks for them: they are tested in test_train.py)."""
    from tinycnn.digits.train import Config

    base = dict(arch="seed", epochs=2, batch_size=64, out=str(tmp_path / "m.npz"),
                synthetic=0, non_digits=0, pen_per_writer=0, calibration_digits=100)
    base.update(kw)
    return Config(**base)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays. Skipped when absent, except under CI, where absence is a failure."""
    from tinycnn.data import load_mnist

    try:
        return load_mnist()
    except FileNotFoundError as e:
        if os.environ.get("CI") or os.environ.get("TINYCNN_REQUIRE_MNIST"):
            pytest.fail(f"real MNIST is required here: {e}")
        pytest.skip(str(e))


def _require(what, error):
    """Skip a test whose real data is absent, except under CI, where absence is a failure."""
    if os.environ.get("CI") or os.environ.get("TINYCNN_REQUIRE_DATA"):
        pytest.fail(f"{what} is required here: {error}")
    pytest.skip(str(error))


@pytest.fixture(scope="session")
def unipen():
    """The real UNIPEN digits (tinycnn.data.unipen.load_unipen). Skipped when absent, except under CI."""
    from tinycnn.data.unipen import load_unipen

    try:
        return load_unipen()
    except FileNotFoundError as e:
        _require("real UNIPEN (python -m tinycnn.data fetch unipen)", e)


@pytest.fixture(scope="session")
def unipen_archive():
    """The path of ../shared/unipen's archive beside the checkout. Skipped when absent, except under CI."""
    from pathlib import Path

    from tinycnn.data.unipen import ARCHIVE

    path = Path(__file__).resolve().parents[1].parent / "shared" / "unipen" / ARCHIVE
    if not path.is_file():
        _require("../shared/unipen", FileNotFoundError(f"no {path}"))
    return path


@pytest.fixture(autouse=True)
def layer_registry():
    """Each test starts with the layer types registered before it: a test that defines or imports
    a layer of its own (the tutorial's LeakyReLU, say) must not decide what the next test may save."""
    from tinycnn.layers import LAYER_TYPES

    before = dict(LAYER_TYPES)
    yield
    LAYER_TYPES.clear()
    LAYER_TYPES.update(before)
