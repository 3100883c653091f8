"""docs/tutorial.md runs: every python block, in order, in one namespace, in a fresh folder.

    python tests/test_tutorial.py docs     # run it in docs/, remaking the pictures there
"""
import os
import re
import sys

import pytest

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIAL = os.path.join(ROOT, "docs", "tutorial.md")


def blocks():
    """The python code blocks of the tutorial, in order."""
    with open(TUTORIAL) as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)


def run(folder):
    """Run the blocks in `folder`, as a learner pasting them into one file would."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        namespace = {"__name__": "__tutorial__"}
        for i, code in enumerate(blocks()):
            exec(compile(code, f"{TUTORIAL} block {i + 1}", "exec"), namespace)
        return namespace
    finally:
        os.chdir(here)


def test_tutorial_runs(tmp_path, mnist):
    ns = run(tmp_path)
    assert len(blocks()) >= 12
    assert ns["accuracy"] > 0.9  # two short epochs on 12,000 digits
    for name in ("feature_maps", "filters", "saliency", "mistakes"):
        assert (tmp_path / f"tutorial_{name}.png").stat().st_size > 1000
        assert f"tutorial_{name}.png" in open(TUTORIAL).read()


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    folder = os.path.join(ROOT, sys.argv[1]) if len(sys.argv) > 1 else "."
    run(folder)
    os.remove(os.path.join(folder, "tour_model.npz"))  # the pictures stay; the tour's model is not docs
