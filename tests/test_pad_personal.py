"""The pad learns a handwriting: label drawings with 0-9, L learns in the background, R resets."""
import json
import os
import signal
import time

import numpy as np
import pygame
import pytest

import tinycnn as tc
from pad.app import PadApp
from test_pad import DIGITS, frame_texts, key, path, step, stroke  # also sets SDL to the dummy drivers

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

DIGIT_KEY = {d: getattr(pygame, f"K_{d}") for d in range(10)}


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


def make(model, tmp_path, profile):
    a = PadApp(model, size=(900, 600), log_path=tmp_path / "log.jsonl", profile=profile)
    a.log_path = tmp_path / "log.jsonl"
    return a


def events(app):
    return [json.loads(line) for line in open(app.log_path)]


def draw_and_label(app, digit):
    for s in DIGITS[digit]:
        stroke(app, path(app, s))
    key(app, DIGIT_KEY[digit], unicode=str(digit))


def test_label_learn_in_background_switch_and_reset(model, tmp_path, mnist):
    profile = tmp_path / "me"
    app = make(model, tmp_path, profile)
    try:
        key(app, pygame.K_7, unicode="7")  # nothing drawn yet
        assert "Draw a digit first" in app.message
        labels = [7, 1, 0, 4] * 3
        for d in labels:
            draw_and_label(app, d)
        assert not app.canvas.array.any()  # labelling clears the canvas for the next one
        assert "12 in all" in app.message and "L: learn" in app.message
        assert tc.Profile(profile).counts().tolist() == np.bincount(labels, minlength=10).tolist()
        strokes = tc.Profile(profile).load_set()[2]
        assert strokes[0]["label"] == 7 and len(strokes[-1]["strokes"]) == 2  # a 4 has two strokes
        app.personal.learn_options = dict(steps=30, replay_pool=300, copies=2)
        key(app, pygame.K_l, unicode="l")
        assert app.personal.job is not None
        deadline = time.monotonic() + 240
        drawn = 0
        while app.personal.job is not None and time.monotonic() < deadline:  # the pad keeps drawing
            stroke(app, path(app, DIGITS[1][0]))
            assert app.verdict()[0] == 1
            key(app, pygame.K_c, unicode="c")
            drawn += 1
            time.sleep(0.05)  # a person's pace, leaving the learner its core
        assert app.personal.job is None and app.personal.personal_model, app.message
        assert app.model is not model and "->" in app.message and "MNIST replay" in app.message
        learned = [e for e in events(app) if e["event"] == "learned"][0]
        assert learned["held"] == 4 and learned["trained"] == 8 and learned["frames"] > 0
        assert drawn > 0
    finally:
        app.close()
    again = make(model, tmp_path, profile)  # the next start uses the personal model
    try:
        assert again.personal.personal_model and "personalized" in again.model.meta
        key(again, pygame.K_r, unicode="r")
        assert again.model is model and tc.Profile(profile).load_model() is None
        assert not any((profile / "models").iterdir())
        assert tc.Profile(profile).counts().sum() == 12  # the drawings stay
    finally:
        again.close()


def test_damaged_profile_falls_back_with_a_message(model, tmp_path):
    profile = tmp_path / "me"
    profile.mkdir()
    (profile / "profile.db").write_bytes(b"garbage" * 100)
    app = make(model, tmp_path, profile)
    try:
        step(app)
        assert app.model is model and "profile.db is damaged" in app.message and "shipped model" in app.message
        draw_and_label(app, 7)
        assert "Choose another folder" in app.message
        assert (profile / "profile.db").read_bytes() == b"garbage" * 100
    finally:
        app.close()


def test_without_a_profile_digits_say_how_to_get_one(model, tmp_path):
    app = make(model, tmp_path, None)
    try:
        draw_and_label(app, 1)
        assert "--profile" in app.message
    finally:
        app.close()


def test_a_worse_model_is_not_switched_to(model, tmp_path):
    """The learner reports a model the profile did not switch to: the pad keeps reading with its model."""
    app = make(model, tmp_path, tmp_path / "me")
    try:
        app.personal.job = (None, type("Pipe", (), {"close": lambda self: None})())  # a learner that just finished
        app.personal.intervals = [0.016]
        app.personal.finish({"trained": 24, "held": 6, "before": 1.0, "after": 1.0, "switched": False,
                             "replay": {"held_out": 1000, "before": 0.995, "after": 0.848},
                             "summary": "not switched: the new model forgets MNIST (MNIST replay digits 99.5% -> 84.8%)"})
        assert app.model is model and not app.personal.personal_model and app.personal.job is None
        assert app.message.startswith("Not switched: the new model forgets MNIST") and "R: back" not in app.message
        assert [e for e in events(app) if e["event"] == "learned"][0]["switched"] is False
    finally:
        app.close()


# -- a learner that dies, data that is missing -------------------------------------------------------
def dies(conn, *args):
    """A learner that ends without a word, as one the kernel kills for want of memory does."""
    os._exit(1)


def fails_for_want_of_mnist(conn, profile_dir, *args):
    """A learner that meets the error the library raises when MNIST is not on this computer."""
    from pad.learner import failure
    try:
        tc.load_mnist(os.path.join(profile_dir, "no-mnist-here"))
    except FileNotFoundError as e:
        conn.send_bytes(json.dumps(failure(e)).encode())
    conn.close()


def labelled(model, tmp_path, n=10):
    """A pad whose profile already holds `n` labelled drawings (enough to learn)."""
    profile = tc.Profile(tmp_path / "me")
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1
    for i in range(n):
        profile.add(image, i % 10)
    return make(model, tmp_path, tmp_path / "me")


def wait_for_the_learner(app, seconds=120):
    deadline = time.monotonic() + seconds
    while app.personal.job is not None and time.monotonic() < deadline:
        step(app)
        time.sleep(0.02)
    assert app.personal.job is None, "the pad still waits for a learner that has ended"


def test_a_learner_that_dies_is_noticed_and_learning_works_again(model, tmp_path, monkeypatch):
    from pad import learner

    app = labelled(model, tmp_path)
    try:
        monkeypatch.setattr(learner, "_run", dies)
        key(app, pygame.K_l, unicode="l")
        assert app.personal.job is not None
        wait_for_the_learner(app)
        assert app.message.startswith("Learning failed") and "exit code 1" in app.message
        assert events(app)[-1]["event"] == "learning failed"
        key(app, pygame.K_l, unicode="l")  # L works again (it used to answer "Already learning" forever)
        assert app.personal.job is not None and "Learning your handwriting" in app.message
        proc = app.personal.job[0]
        os.kill(proc.pid, signal.SIGKILL)  # killed from outside, mid-way
        wait_for_the_learner(app)
        assert "killed by SIGKILL" in app.message and app.model is model
    finally:
        app.close()


def test_missing_mnist_names_the_command_that_fetches_it(model, tmp_path, monkeypatch):
    from pad import learner
    from tinycnn.data.mnist import FETCH_COMMAND

    app = labelled(model, tmp_path)
    try:
        monkeypatch.setattr(learner, "_run", fails_for_want_of_mnist)
        key(app, pygame.K_l, unicode="l")
        wait_for_the_learner(app)
        assert app.message.startswith("Learning failed: MNIST is not here") and app.message.endswith(FETCH_COMMAND)
        assert any("L: try again" in t for t in frame_texts(app))
    finally:
        app.close()


def test_the_library_error_for_missing_mnist_is_recognised(tmp_path):
    """The learner tells "data not here" from other failures by the error the library raises,
    also when the library wraps it in an error of its own."""
    from pad.learner import failure
    from tinycnn.data.mnist import FETCH_COMMAND

    try:
        try:
            tc.load_mnist(tmp_path)
        except FileNotFoundError as e:
            raise tc.PersonalizeError(f"personalize replays MNIST, but MNIST is not available: {e}") from None
    except tc.PersonalizeError as wrapped:
        assert failure(wrapped)["fetch"] == FETCH_COMMAND and failure(wrapped)["missing"] == "MNIST"
    assert "fetch" not in failure(FileNotFoundError(2, "No such file", "model.npz"))
    assert "fetch" not in failure(ValueError("labels must be digits"))


def test_the_learner_imports_the_modules_of_a_model_of_your_own(model, tmp_path):
    """The learner runs in a process of its own: it imports what the pad was told to import
    (here a module that does not exist, so the failure shows it tried)."""
    app = PadApp(model, size=(900, 600), log_path=tmp_path / "log.jsonl", profile=tmp_path / "me",
                 imports=["no_such_layers_module"])
    app.log_path = tmp_path / "log.jsonl"
    try:
        image = np.zeros((28, 28), np.float32)
        image[4:24, 12:16] = 1
        for i in range(10):
            app.personal.profile.add(image, i)
        app.personal.counts = app.personal.profile.counts()
        key(app, pygame.K_l, unicode="l")
        wait_for_the_learner(app)
        assert "--import no_such_layers_module" in app.message
    finally:
        app.close()


# -- which model the pad reads with ---------------------------------------------------------------


def test_model_option_wins_over_the_personal_model_and_the_panel_names_it(model, tmp_path):
    profile = tmp_path / "me"
    personal = tc.load(tc.pretrained_path())
    personal.meta = {**getattr(personal, "meta", {}), "personalized": True}
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1
    tc.Profile(profile).add(image, 1)
    tc.Profile(profile).save_model(personal)
    mine = tmp_path / "mine.npz"
    model.save(mine, meta=getattr(model, "meta", {}))
    given = tc.load(mine)

    app = PadApp(model, size=(900, 600), profile=profile)  # no --model: the personal model
    try:
        assert app.personal.personal_model and app.model is not model
        assert any(t.startswith("Reading with your personal model") for t in frame_texts(app))
    finally:
        app.close()
    app = PadApp(given, size=(900, 600), profile=profile, model_path=str(mine))  # --model mine.npz wins
    try:
        assert app.model is given and not app.personal.personal_model
        assert any(t.startswith("Reading with mine.npz") for t in frame_texts(app))
        draw_and_label(app, 7)
        key(app, pygame.K_r, unicode="r")  # back to the model it started with: mine.npz
        assert app.model is given and "Back to mine.npz" in app.message
    finally:
        app.close()
    app = PadApp(model, size=(900, 600))
    try:
        assert any(t.startswith("Reading with the shipped model") for t in frame_texts(app))
    finally:
        app.close()
