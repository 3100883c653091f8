"""The training script: reproducible, resumable after Ctrl-C, refuses to write a diverged model."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinycnn as tc
from conftest import small_config
from tinycnn.digits.train import TrainingDiverged, train

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def small(mnist):
    xtr, ytr, xte, yte = mnist
    return xtr[:1200], ytr[:1200], xte[:500], yte[:500]


def cfg(tmp_path, **kw):
    # MNIST only unless a test asks for generated drawings (tests of them: test_train_mix below)
    return small_config(tmp_path, **dict(dict(val_split=200, seed=7), **kw))


def quiet(*_):
    pass


def weights(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files if k != "__architecture__"}


def test_same_seed_same_weights(tmp_path, small):
    train(cfg(tmp_path / "a"), data=small, log=quiet)
    train(cfg(tmp_path / "b"), data=small, log=quiet)
    a, b = weights(tmp_path / "a" / "m.npz"), weights(tmp_path / "b" / "m.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    train(cfg(tmp_path / "c", seed=8), data=small, log=quiet)
    assert not np.array_equal(weights(tmp_path / "c" / "m.npz")["0.W"], a["0.W"])


@pytest.mark.parametrize("stop_at", [5, 16])  # mid-epoch, and at the end of epoch 1 (16 steps)
def test_interrupt_and_resume_gives_the_same_weights(tmp_path, small, stop_at):
    whole = train(cfg(tmp_path / "whole", arch="resnet", schedule="onecycle"), data=small, log=quiet)

    def ctrl_c(step):
        if step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught at the step boundary

    part = cfg(tmp_path / "part", arch="resnet", schedule="onecycle")
    stopped = train(part, data=small, log=quiet, on_step=ctrl_c)
    assert stopped["stopped"] and not (tmp_path / "part" / "m.npz").exists()
    resumed = train(part, data=small, log=quiet, resume=True)
    a, b = weights(tmp_path / "whole" / "m.npz"), weights(tmp_path / "part" / "m.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert resumed["history"][-1]["val_loss"] == whole["history"][-1]["val_loss"]


def test_the_kept_weights_are_the_running_average_of_every_step(tmp_path, small):
    # One epoch, so the weights kept are the average at its end: written out here in float64
    # from the weights after every step, it must be what the model file holds.
    model = tc.digits.architectures.ARCHITECTURES["seed"]()
    start = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    after_step = []
    train(cfg(tmp_path, epochs=1, weight_average=0.9), data=small, log=quiet, model=model,
          on_step=lambda step: after_step.append({k: v.astype(np.float64) for k, v in model.state_dict().items()}))
    avg = start
    for step, w in enumerate(after_step, 1):
        d = min(0.9, (1 + step) / (10 + step))
        avg = {k: d * avg[k] + (1 - d) * w[k] for k in avg}
    kept = weights(tmp_path / "m.npz")
    assert kept.keys() == avg.keys() and len(after_step) == 16
    for k in avg:
        np.testing.assert_allclose(kept[k], avg[k], rtol=1e-4, atol=1e-6, err_msg=k)
        assert not np.allclose(kept[k], after_step[-1][k], rtol=1e-3), k


def test_the_average_leaves_training_as_it_was(tmp_path, small):
    # Judging the average each epoch swaps it in and back: the run goes on with its own weights.
    plain = train(cfg(tmp_path / "plain", weight_average=0), data=small, log=quiet)
    averaged = train(cfg(tmp_path / "avg", weight_average=0.9), data=small, log=quiet)
    assert len(plain["history"]) == len(averaged["history"]) == 2
    for a, b in zip(plain["history"], averaged["history"]):
        assert a["train_loss"] == b["train_loss"] and a["val_acc"] == b["val_acc_last_step"]
        assert "val_acc_last_step" not in a


def test_resume_with_the_average_turned_on_or_off_is_refused_by_name(tmp_path, small):
    for before, now in [(0.9, 0), (0, 0.9)]:
        part = cfg(tmp_path / str(before), epochs=2, weight_average=before)
        train(part, data=small, log=quiet, on_step=lambda step: step == 3 and os.kill(os.getpid(), signal.SIGINT))
        with pytest.raises(ValueError, match=f"options differ .*'weight_average': \\({now}, {before}\\)"):
            train(cfg(tmp_path / str(before), epochs=2, weight_average=now), data=small, log=quiet, resume=True)


def test_resume_with_other_options_is_refused(tmp_path, small):
    c = cfg(tmp_path, epochs=1)
    train(c, data=small, log=quiet)
    with pytest.raises(ValueError, match="lr"):
        train(cfg(tmp_path, epochs=1, lr=0.5), data=small, log=quiet, resume=True)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the point of the test
def test_diverging_loss_stops_without_writing_a_model(tmp_path, small):
    with pytest.raises(TrainingDiverged, match="the loss became (nan|inf)"):
        train(cfg(tmp_path, lr=1e8, schedule="constant"), data=small, log=quiet)
    assert not (tmp_path / "m.npz").exists()


def test_reports_and_metrics(tmp_path, small):
    train(cfg(tmp_path, epochs=1, schedule="plateau"), data=small, log=quiet)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert {"test_accuracy", "test_accuracy_preprocessed", "per_class_accuracy", "history", "train_seconds", "command", "confusion"} <= m.keys()
    assert len(m["per_class_accuracy"]) == 10 and np.array(m["confusion"]).sum() == 500
    for name in ("curves.png", "confusion.png", "mistakes.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tc.load(tmp_path / "m.npz").meta["test_accuracy"] == m["test_accuracy"]


def test_one_epoch_on_a_few_thousand_digits_learns(tmp_path, mnist):
    """A real, short run: 4,500 training images, one epoch, the default network (94.65% measured)."""
    xtr, ytr, xte, yte = mnist
    r = train(cfg(tmp_path, arch="resnet", epochs=1, val_split=500, augment=False),
              data=(xtr[:5000], ytr[:5000], xte[:2000], yte[:2000]), log=quiet)
    assert r["test_accuracy"] >= 0.93


def test_command_line_ctrl_c_then_resume(tmp_path, mnist):
    out = tmp_path / "m.npz"
    args = [sys.executable, os.path.join(REPO, "scripts", "train.py"), "--arch", "seed", "--epochs", "3",
            "--limit", "6000", "--val-split", "500", "--synthetic", "200", "--non-digits", "100",
            "--calibration-digits", "100", "--out", str(out)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch   1/3"):
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + rest
    assert "--resume" in rest and not out.exists()
    r = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming from" in r.stdout and "test accuracy" in r.stdout and out.exists()


def test_train_mix_of_mnist_generated_digits_and_non_digits(tmp_path, small):
    """Generated digits and non-digits join training as an 11th class; MNIST is scored on the ten
    digits; the model carries its classes, mix and calibration, and reads through read_digit."""
    c = cfg(tmp_path, epochs=1, synthetic=200, non_digits=100, calibration_digits=100)
    r = train(c, data=small, log=quiet)
    m = tc.load(c.out)
    assert m.layers[-1].params["W"].shape[1] == 11
    assert m.meta["classes"] == [str(d) for d in range(10)] + ["not a digit"]
    assert m.meta["training_mix"]["synthetic"] == 200 and m.meta["training_mix"]["non_digits"] == 100
    cal = m.meta["calibration"]
    assert cal["temperature"] > 0 and 0 < cal["unsure"] < 1 and 0 < cal["not_a_digit"] < 1
    assert r["calibration"] == cal and 0 <= r["test_accuracy"] <= 1
    assert np.array(r["confusion"]).shape == (10, 10)  # ten digits, whatever the model's outputs
    reading = tc.read_digit(small[2][0], m)
    assert reading.probs.shape == (10,) and reading.verdict in tc.digits.reading.VERDICTS
    again = train(cfg(tmp_path / "again", epochs=1, synthetic=200, non_digits=100, calibration_digits=100),
                  data=small, log=quiet)
    assert again["test_loss"] == r["test_loss"]  # the generated part repeats with the seed


_STEP_FAULTS = """if True:
    import resource, sys, numpy as np, tinycnn as tc
    from tinycnn.digits.architectures import resnet_net
    if sys.argv[1] == "keep":
        assert tc.keep_freed_memory()
    model = resnet_net(11)
    opt = tc.Adam(model)
    x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    def step():
        _, d = tc.softmax_cross_entropy(model.forward(x), np.arange(16) % 11)
        model.backward(d)
        opt.step()
        opt.zero_grad()
    step(), step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step(), step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 2)"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_training_process_reuses_freed_memory():
    # Page faults per training step, each in a fresh process: the allocator's default maps the
    # big arrays afresh every step (thousands of faults); after keep_freed_memory, none.
    faults = {mode: int(subprocess.run([sys.executable, "-c", _STEP_FAULTS, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("default", "keep")}
    if faults["default"] < 500:
        pytest.skip(f"this C library does not map arrays afresh ({faults})")
    assert faults["keep"] < 50, faults


def test_only_the_training_command_keeps_freed_memory(monkeypatch):
    # A setting for the whole process: the command makes it, main() called from Python does not.
    import tinycnn.digits.train as t

    calls = []
    monkeypatch.setattr(t, "keep_freed_memory", lambda: calls.append("keep"))
    assert t.main(["--epochs", "0"]) == 1 and calls == []  # a mistake, answered before any work
    monkeypatch.setattr(t, "main", lambda argv=None: calls.append("main") or 0)
    with pytest.raises(SystemExit) as stop:
        t.command()
    assert stop.value.code == 0 and calls == ["keep", "main"]
