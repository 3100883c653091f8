"""One model shared by threads, set_threads while they run, and a forked child's predictions."""
import multiprocessing
import threading

import numpy as np
import pytest

import tinycnn as tc
from checks.handwriting import STYLES, sample

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets


def drawings(n):
    rng = np.random.default_rng(3)
    return [sample(i % 10, next(iter(STYLES[i % 10])), rng, canvas_size=280).array for i in range(n)]


def in_threads(fn, items, threads):
    """fn(item) for every item, spread over `threads` threads started together -> results, errors."""
    results, errors = [None] * len(items), []
    start = threading.Barrier(threads)

    def work(k):
        start.wait()
        for i in range(k, len(items), threads):
            try:
                results[i] = fn(items[i])
            except Exception as e:  # any error at all is the failure this test looks for
                errors.append(repr(e))

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results, errors


def test_eight_threads_read_with_the_default_model():
    images = drawings(48)
    alone = [tc.read_digit(a) for a in images]
    for _ in range(3):
        together, errors = in_threads(tc.read_digit, images, 8)
        assert errors == []
        for a, b in zip(alone, together):
            assert a.verdict == b.verdict and a.digit == b.digit
            np.testing.assert_allclose(a.probs, b.probs, rtol=1e-5, atol=1e-6)


def test_threads_share_a_model_while_it_trains_elsewhere():
    """Predictions run on each thread's view of the model; the model's own forward state and mode
    are left alone, so one thread may predict while another holds a training forward."""
    model = tc.pretrained()
    x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
    model.train()
    y = model.forward(x[:8])  # (in training mode it also moves batch norm's running statistics)
    expected = np.concatenate([model.predict_proba(x[i * 8:(i + 1) * 8]) for i in range(8)])
    got, errors = in_threads(lambda i: model.predict_proba(x[i * 8:(i + 1) * 8]), list(range(8)), 4)
    assert errors == [] and model.training
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-5, atol=1e-6)
    model.backward(np.ones_like(y))  # the training pass's saved state is still the model's own


def test_set_threads_waits_for_running_jobs():
    model = tc.pretrained()
    x = np.random.default_rng(1).random((256, 1, 28, 28), dtype=np.float32)
    expected = model.predict_proba(x)
    stop = threading.Event()

    def switch(_):
        n = 0
        while not stop.is_set():
            tc.set_threads(1 + n % 2)
            n += 1
        return n

    try:
        switcher = threading.Thread(target=switch, args=(None,))
        switcher.start()
        got, errors = in_threads(lambda i: model.predict_proba(x), list(range(6)), 3)
    finally:
        stop.set()
        switcher.join()
        tc.set_threads(None)
    assert errors == []
    for g in got:
        np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


def _child_predicts(queue):
    x = np.random.default_rng(2).random((512, 1, 28, 28), dtype=np.float32)
    queue.put(tc.pretrained().predict_proba(x).argmax(1).tolist())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
def test_a_child_forked_after_the_pool_ran_predicts():
    tc.set_threads(2)
    x = np.random.default_rng(2).random((512, 1, 28, 28), dtype=np.float32)
    expected = tc.pretrained().predict_proba(x).argmax(1).tolist()  # the pool has run in the parent
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_predicts, args=(queue,))
    child.start()
    try:
        got = queue.get(timeout=120)  # before the fix the child waited forever on its parent's threads
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
        tc.set_threads(None)
    assert got == expected and child.exitcode == 0
