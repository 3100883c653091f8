"""`python -m pad` run as a user runs it, in a process of its own: a model with a layer of your
own (--import), the tutorial's command, and the pad ended by a signal in the middle of a label."""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

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


# A person drawing a 1 and pressing 1, over and over, on a disk slow enough that each label takes
# a while: the signal comes in the middle of one (after "ADDING", before "ADDED").
DRIVER = textwrap.dedent("""
    import sys, time
    import pygame
    import tinycnn as tc
    import pad.app
    from pad.__main__ import main

    add = tc.Profile.add
    def slow_add(self, *a, **k):
        print("ADDING", flush=True)
        time.sleep(0.3)
        counts = add(self, *a, **k)
        print("ADDED", flush=True)
        return counts
    tc.Profile.add = slow_add

    frame = pad.app.PadApp.frame
    def drawing_and_labelling(self, fps=60):
        r = self.rect
        x = r.x + r.w // 2
        post = lambda t, **kw: pygame.event.post(pygame.event.Event(t, **kw))
        post(pygame.MOUSEBUTTONDOWN, pos=(x, r.y + r.h // 6), button=1)
        post(pygame.MOUSEMOTION, pos=(x, r.y + r.h * 5 // 6), rel=(0, 1), buttons=(1, 0, 0))
        post(pygame.MOUSEBUTTONUP, pos=(x, r.y + r.h * 5 // 6), button=1)
        post(pygame.KEYDOWN, key=pygame.K_1, mod=0, unicode="1", scancode=0)
        frame(self, fps=0)
    pad.app.PadApp.frame = drawing_and_labelling
    sys.exit(main(["--profile", sys.argv[1], "--log", sys.argv[2]]))
""")


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_a_signal_during_a_label_ends_the_pad_cleanly_and_keeps_every_drawing(tmp_path, sig):
    """A closed terminal (SIGHUP), a kill (SIGTERM) or Ctrl+C during a label: the label in hand
    is finished, the pad closes its profile and log and exits 0, and at the next start every
    drawing it labelled is there."""
    env = {**os.environ, "PYTHONPATH": REPO, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path / "me"), str(tmp_path / "log.jsonl")],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    try:
        while lines.count("ADDING") < 3:  # two labels done, the third in hand
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.strip())
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    lines += out.split()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert lines.count("ADDED") == lines.count("ADDING") == 3  # the label in hand was finished
    assert tc.Profile(tmp_path / "me").counts().tolist() == [0, 3, 0, 0, 0, 0, 0, 0, 0, 0]
    log = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert [e["count"] for e in log if e["event"] == "labelled"] == [1, 2, 3]
    assert log[-2] == {"event": "signal", "signal": sig} and log[-1]["event"] == "quit"
