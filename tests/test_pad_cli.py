"""`python -m pad` run as a user runs it, in a process of its own: a model with a layer of your
own (--import), the tutorial's command."""
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import tinycnn as tc
from test_pad import REPO  # also sets SDL to the dummy drivers, which the processes here inherit

TUTORIAL = os.path.join(REPO, "docs", "tutorial.md")


def pad(*args, cwd, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pad", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)


def leaky_relu_source():
    """The tutorial's LeakyReLU, as a reader saves it in a file: the class and the two imports."""
    with open(TUTORIAL) as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)
    block = next(b for b in blocks if "class LeakyReLU" in b)
    cls = block[block.index("class LeakyReLU"):block.index("\nprint(")]
    return "import numpy as np\n\nimport tinycnn as tc\n\n\n" + cls + "\n"


@pytest.fixture
def tour(tmp_path):
    """The tutorial's folder after section 5: leaky.py and tour_model.npz (the tutorial's network,
    untrained: what is checked here is that it opens, not how well it reads)."""
    (tmp_path / "leaky.py").write_text(leaky_relu_source())
    sys.path.insert(0, str(tmp_path))
    try:
        import leaky

        model = tc.Sequential(
            tc.Conv2D(1, 16, 3), leaky.LeakyReLU(0.1), tc.MaxPool2D(2),
            tc.Conv2D(16, 32, 3), tc.ReLU(), tc.MaxPool2D(2),
            tc.Flatten(), tc.Dense(32 * 5 * 5, 10))
        model.save(tmp_path / "tour_model.npz")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("leaky", None)
    img = np.full((100, 100), 250, np.uint8)
    img[10:90, 45:55] = 0
    Image.fromarray(img).save(tmp_path / "one.png")
    return tmp_path


def test_a_model_with_a_layer_of_your_own_needs_its_module(tour):
    r = pad("--model", "tour_model.npz", "--predict", "one.png", cwd=tour)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "unknown layer type 'LeakyReLU'" in r.stderr and "--import MODULE" in r.stderr
    for name in ("leaky", str(tour / "leaky.py"), "leaky.py"):  # a module in the folder, or its file
        r = pad("--model", "tour_model.npz", "--import", name, "--predict", "one.png", cwd=tour)
        assert r.returncode == 0 and r.stdout.startswith("one.png: "), r.stderr


def test_an_import_that_fails_is_one_line(tour):
    (tour / "broken.py").write_text("raise RuntimeError('half-written')\n")
    (tour / "needs.py").write_text("import not_installed_anywhere\n")
    for name, said in [("nosuch", "no module named 'nosuch' here"), ("broken", "RuntimeError: half-written"),
                       ("broken.py", "RuntimeError: half-written"), ("gone.py", "no such file"),
                       ("needs", "No module named 'not_installed_anywhere'")]:
        r = pad("--import", name, "--predict", "one.png", cwd=tour)
        assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: --import {name}: ") and said in r.stderr


def test_the_tutorials_command_opens_the_pad_with_its_model(tour):
    with open(TUTORIAL) as f:
        text = f.read()
    command = re.findall(r"`(python -m pad --model tour_model\.npz[^`]*)`", text)
    assert len(command) == 1 and "leaky.py" in text  # the tutorial says where the class goes
    args = command[0].split()[3:]
    env = {**os.environ, "PYTHONPATH": REPO, "XDG_DATA_HOME": str(tour / "data"), "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.Popen([sys.executable, "-m", "pad", *args], cwd=tour, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert ready.startswith("READY window"), err
    assert proc.returncode == 0 and "Traceback" not in err
