"""tc.personalize: a new model, the input untouched, same seed same result, clear errors, MNIST kept."""
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import tinycnn as tc

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(classes=10):
    tc.seed(0)
    return tc.Sequential(tc.Conv2D(1, 4, 3), tc.BatchNorm2D(4), tc.ReLU(), tc.MaxPool2D(2), tc.Flatten(),
                         tc.Dense(4 * 13 * 13, 16), tc.ReLU(), tc.Dense(16, classes))


def examples(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


REPLAY = (np.random.default_rng(9).integers(0, 256, (300, 28, 28), dtype=np.uint8),
          np.random.default_rng(9).integers(0, 10, 300))
FAST = dict(steps=15, replay=REPLAY, replay_pool=100, copies=1)


def fingerprint(model):
    h = hashlib.sha256()
    for name, a in sorted(model.state_dict().items()):
        h.update(name.encode() + a.tobytes())
    return h.hexdigest()


def test_input_model_is_untouched_and_a_new_model_is_returned():
    model = tiny()
    before, meta = fingerprint(model), dict(getattr(model, "meta", {}))
    x, y = examples(12)
    new = tc.personalize(model, x, y, **FAST)
    assert fingerprint(model) == before and getattr(model, "meta", {}) == meta
    assert new is not model and fingerprint(new) != before
    old, got = model.state_dict(), new.state_dict()
    assert all(not np.shares_memory(old[k], got[k]) for k in old)
    np.testing.assert_array_equal(old["0.W"], got["0.W"])          # frozen features
    np.testing.assert_array_equal(old["1.running_mean"], got["1.running_mean"])
    assert not np.array_equal(old["7.W"], got["7.W"])              # the head learned
    info = new.meta["personalized"]
    assert info["n"] == 12 and info["seed"] == 0 and info["date"] and info["options"]["steps"] == 15


def test_freeze_none_trains_everything_but_batch_norm_statistics():
    model = tiny()
    x, y = examples(10)
    new = tc.personalize(model, x, y, freeze="none", l2=0.1, **FAST)
    assert not np.array_equal(model.state_dict()["0.W"], new.state_dict()["0.W"])
    np.testing.assert_array_equal(model.state_dict()["1.running_var"], new.state_dict()["1.running_var"])


def test_same_seed_same_model_other_seed_other_model():
    model = tiny()
    x, y = examples(10)
    a = tc.personalize(model, x, y, seed=3, **FAST)
    b = tc.personalize(model, x, y, seed=3, **FAST)
    c = tc.personalize(model, x, y, seed=4, **FAST)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_an_eleven_class_model_keeps_its_eleventh_output():
    model = tiny(classes=11)
    x, y = examples(10)
    new = tc.personalize(model, x, y, **FAST)
    probe = REPLAY[0][:50, None] / np.float32(255)
    assert new.predict_proba(probe).shape == (50, 11)
    # replayed targets hold half of the original's "not a digit" probability: it is not trained to zero
    assert new.predict_proba(probe)[:, 10].mean() > 0.25 * model.predict_proba(probe)[:, 10].mean()


@pytest.mark.parametrize("images, labels, words", [
    (np.zeros((3, 28, 28), np.float32), [1, 2, 3], "shape (N, 1, 28, 28)"),
    (np.zeros((3, 1, 28, 28), np.uint8), [1, 2, 3], "float32"),
    (np.zeros((3, 1, 28, 28), np.float64), [1, 2, 3], "float32"),
    (np.zeros((0, 1, 28, 28), np.float32), np.zeros(0, int), "N = 0"),
    (np.full((2, 1, 28, 28), np.nan, np.float32), [1, 2], "NaN"),
    (np.zeros((2, 1, 28, 28), np.float32), [1, 10], "0-9"),
    (np.zeros((2, 1, 28, 28), np.float32), [-1, 3], "0-9"),
    (np.zeros((2, 1, 28, 28), np.float32), [1.0, 2.0], "integers"),
    (np.zeros((2, 1, 28, 28), np.float32), [1, 2, 3], "shape (2,)"),
])
def test_bad_input_is_named(images, labels, words):
    with pytest.raises(tc.PersonalizeError) as e:
        tc.personalize(tiny(), images, np.asarray(labels), **FAST)
    assert isinstance(e.value, ValueError) and words in str(e.value)


def test_bad_options_are_named():
    x, y = examples(3)
    with pytest.raises(tc.PersonalizeError, match="unknown option"):
        tc.personalize(tiny(), x, y, stpes=3, **FAST)
    with pytest.raises(tc.PersonalizeError, match="freeze"):
        tc.personalize(tiny(), x, y, freeze="conv", **FAST)


def test_mnist_is_kept_and_the_writer_is_learned(mnist):
    """The real shipped model and a real personalize call (defaults) on 30 drawings of one writer."""
    from checks.writers import drawings, make_writer

    xtr, ytr, xte, yte = mnist
    rng = np.random.default_rng(1)
    writer = make_writer(rng)
    x, y = drawings(writer, np.tile(np.arange(10), 3), rng)
    test_x, test_y = drawings(writer, np.repeat(np.arange(10), 5), rng)
    model = tc.pretrained()
    t0 = time.perf_counter()
    new = tc.personalize(model, x, y)
    seconds = time.perf_counter() - t0
    assert np.mean(tc.predict_digits(new, xte[:, None] / np.float32(255)) == yte) >= 0.993
    assert np.mean(tc.predict_digits(new, test_x) == test_y) >= np.mean(tc.predict_digits(model, test_x) == test_y)
    print(f"personalize N=30: {seconds:.1f} s")


def run_script(*args):
    return subprocess.run([sys.executable, "scripts/personalize.py", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))


def test_script_answers_mistakes_with_one_line(tmp_path):
    r = run_script("--images", str(tmp_path / "nope"), "--out", str(tmp_path / "m.npz"))
    assert r.returncode == 1 and r.stderr.strip() == f"error: no such folder: {tmp_path / 'nope'}"
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "7_a.png").write_bytes(b"not a png")
    r = run_script("--images", str(tmp_path / "pics"), "--out", str(tmp_path / "m.npz"))
    assert r.returncode == 1 and "7_a.png" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    r = run_script("--profile", str(tmp_path / "foreign"))
    assert r.returncode == 1 and "not a tinycnn profile" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.npz").exists()


def test_script_learns_from_a_folder_of_pictures(tmp_path):
    from PIL import Image

    from checks.writers import draw_styled, make_writer

    rng = np.random.default_rng(2)
    writer = make_writer(rng)
    for d in range(10):
        (tmp_path / "pics" / str(d)).mkdir(parents=True)
        Image.fromarray((draw_styled(writer, d, rng) * 255).astype(np.uint8)).save(tmp_path / "pics" / f"{d}_x.png")
        Image.fromarray((draw_styled(writer, d, rng) * 255).astype(np.uint8)).save(tmp_path / "pics" / str(d) / "b.png")
    r = run_script("--images", str(tmp_path / "pics"), "--out", str(tmp_path / "m.npz"), "--steps", "10")
    if r.returncode and "MNIST" in r.stderr:
        pytest.skip(r.stderr)
    assert r.returncode == 0, r.stderr
    assert "learned from 20 of 20 pictures" in r.stdout and "MNIST replay digits" in r.stdout
    assert tc.load(tmp_path / "m.npz").meta["personalized"]["n"] == 20


def test_one_digit_only_is_refused():
    x, _ = examples(30)
    with pytest.raises(tc.PersonalizeError, match="all 30 drawings are labelled 3: learning from one digit"):
        tc.personalize(tiny(), x, np.full(30, 3), **FAST)


def test_labels_the_model_disagrees_with_nearly_everywhere_are_refused():
    model = tiny()
    x, _ = examples(40)
    wrong = (model.predict_proba(x)[:, :10].argmax(axis=1) + 1) % 10  # never what the model reads
    with pytest.raises(tc.PersonalizeError, match="reads only 0% of the 40 drawings it would learn from as they"):
        tc.personalize(model, x, wrong, **FAST)
    right = model.predict_proba(x)[:, :10].argmax(axis=1)
    assert tc.personalize(model, x, right, **FAST).meta["personalized"]["agreement"] == 1.0


def test_only_the_most_recent_drawings_of_each_digit_are_used():
    from tinycnn.digits.personalize import MAX_PER_DIGIT, recent_per_digit

    model = tiny()
    x, _ = examples(1200)
    y = model.predict_proba(x)[:, :10].argmax(axis=1)  # labels the model agrees with: a random model's digits
    keep = recent_per_digit(y)
    assert np.bincount(y, minlength=10).max() > MAX_PER_DIGIT >= np.bincount(y[keep], minlength=10).max()
    assert all(set(keep[y[keep] == d]) == set(np.flatnonzero(y == d)[-MAX_PER_DIGIT:]) for d in range(10))
    a = tc.personalize(model, x, y, **FAST)
    b = tc.personalize(model, x[keep], y[keep], **FAST)
    assert fingerprint(a) == fingerprint(b)
    info = a.meta["personalized"]
    assert info["n"] == 1200 and info["used"] == len(keep) <= 10 * MAX_PER_DIGIT


def test_the_time_budget_stops_copies_and_steps():
    x, y = examples(12)
    new = tc.personalize(tiny(), x, y, seconds=1e-9, **FAST)
    info = new.meta["personalized"]
    assert info["steps"] == 0 and info["copies"] == 0 and "time budget of 1e-09 s ran out" in info["stopped"]
    assert tc.personalize(tiny(), x, y, **FAST).meta["personalized"]["stopped"] is None
    with pytest.raises(tc.PersonalizeError, match="seconds"):
        tc.personalize(tiny(), x, y, seconds=0, **FAST)


def test_replay_accuracy_is_measured_on_digits_not_trained_on():
    from tinycnn.digits.personalize import _replay_sets

    images = np.arange(3000, dtype=np.int64)[:, None, None] + np.zeros((1, 28, 28), np.int64)  # each one distinct
    (train, _), (check, _) = _replay_sets((images.astype(np.float32), np.zeros(3000, int)),
                                          np.random.default_rng(0), 2000, 1000)
    assert len(train) == 2000 and len(check) == 1000 and not set(train[:, 0, 0, 0]) & set(check[:, 0, 0, 0])
    x, y = examples(12)
    replay = tc.personalize(tiny(), x, y, **FAST).meta["personalized"]["replay"]
    assert replay["held_out"] == 150 and 0 <= replay["before"] <= 1 and 0 <= replay["after"] <= 1


@pytest.mark.parametrize("held, before, after, replay, better, words", [
    (10, 0.6, 0.9, (0.994, 0.993), True, "learned your handwriting: your 10 held-back drawings 60% -> 90%"),
    (10, 0.9, 0.9, (0.994, 0.994), True, "no worse than before"),
    (10, 0.6, 1.0, (0.994, 0.848), False, "not switched: the new model forgets MNIST (MNIST replay digits "
                                           "99.4% -> 84.8%"),
    (10, 0.9, 0.7, (0.994, 0.995), False, "not switched: the new model reads your drawings worse"),
    (0, None, None, (0.99, 0.98), False, "forgets MNIST"),
    (0, None, None, (0.99, 0.989), True, "no drawings held back to measure"),
    (0, None, None, (0.999, 0.994), True, "99.9% -> 99.4%"),  # 5 of 1,000 digits: the edge is not worse
    (0, None, None, (0.999, 0.993), False, "forgets MNIST"),
])
def test_a_worse_model_is_never_called_better(held, before, after, replay, better, words):
    from tinycnn.digits.personalize import judge

    got, summary = judge(held, before, after, {"before": replay[0], "after": replay[1]})
    assert got == better and words in summary


def test_a_profile_reports_replay_accuracy_before_and_after(tmp_path):
    p = tc.Profile(tmp_path / "me")
    x, y = examples(20)
    for image, label in zip(x, np.arange(20) % 10):
        p.add(image[0], int(label))
    model, report = p.learn(tiny(), **FAST)
    assert report["held"] == 10 and report["trained"] == 10
    assert set(report["replay"]) == {"held_out", "before", "after"} and "MNIST replay digits" in report["summary"]
    assert report["switched"] == (p.load_model() is not None)


def test_a_profile_of_one_digit_is_refused_counting_every_drawing(tmp_path):
    p = tc.Profile(tmp_path / "me")
    for image in examples(30)[0]:
        p.add(image[0], 3)
    with pytest.raises(tc.PersonalizeError, match="all 30 drawings are labelled 3"):
        p.learn(tiny(), **FAST)
    assert p.load_model() is None
