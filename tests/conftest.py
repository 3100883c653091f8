import os

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=60)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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
