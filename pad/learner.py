"""The background job that learns a profile's handwriting, run in a process of its own.

A separate process, not a thread: on 2 cores a thread would share the GIL and BLAS's threads
with the pad and stall its frames. The pad starts it with `start` (multiprocessing 'spawn', one
BLAS thread, lower priority) and reads its messages, JSON lines through a pipe:
{"progress": 0..1}, then {"done": report} (see tc.Profile.learn) or {"error": message}, with
"missing" and "fetch" (the command that fetches it) when what failed is data not on this computer.
A learner that ends without any of these (killed, out of memory) is noticed by the pad.
"""
import json
import multiprocessing
import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def missing_data(e):
    """(what, the command that fetches it) if `e` is, or was raised while handling, the error of
    data that is not on this computer (MNIST, which learning replays); else None."""
    from tinycnn.data.mnist import FETCH_COMMAND  # the library's own: one place for the command

    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, FileNotFoundError) and "MNIST" in str(e):
            return "MNIST", FETCH_COMMAND
        e = e.__cause__ or e.__context__
    return None


def failure(e):
    """The message that tells the pad learning failed with `e`."""
    msg = {"error": f"{type(e).__name__}: {e}"}
    missing = missing_data(e)
    if missing:
        msg["missing"], msg["fetch"] = missing
    return msg


def _run(conn, profile_dir, base_path, seed, options, imports=()):
    def send(msg):
        conn.send_bytes(json.dumps(msg).encode())

    try:
        if hasattr(os, "nice"):
            os.nice(10)  # the pad's frames come first
        import tinycnn as tc

        from .models import import_modules

        send({"progress": 0.0})
        import_modules(imports)  # the layers of a model of your own, as the pad imported them
        base = tc.load(base_path) if base_path else tc.pretrained()

        def progress(done, total):
            if done % 5 == 0 or done == total:
                send({"progress": done / total})

        _, report = tc.Profile(profile_dir).learn(base, progress=progress, seed=seed, **options)
        send({"done": report})
    except Exception as e:  # whatever went wrong, the pad shows it instead of waiting forever
        send(failure(e))
    finally:
        conn.close()


def start(profile_dir, base_path=None, seed=0, options=None, imports=()):
    """Start learning in a new process; `options` go to tc.personalize; `imports`: the modules
    that define the base model's layers (see pad.models).
    Returns (process, connection to read messages from)."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: "1" for k in THREAD_VARS})  # the child inherits the environment at start
    try:
        args = (sender, str(profile_dir), base_path, seed, dict(options or {}), tuple(imports))
        proc = ctx.Process(target=_run, args=args, daemon=True)
        proc.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    sender.close()
    return proc, receiver
