"""The background job that learns a profile's handwriting, run in a process of its own.

A separate process, not a thread: on 2 cores a thread would share the GIL and BLAS's threads
with the pad and stall its frames. The pad starts it with `start` (multiprocessing 'spawn', one
BLAS thread, lower priority) and reads its messages, JSON lines through a pipe:
{"progress": 0..1}, then {"done": report} (see tc.Profile.learn) or {"error": message}.
"""
import json
import multiprocessing
import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _run(conn, profile_dir, base_path, seed, options):
    def send(msg):
        conn.send_bytes(json.dumps(msg).encode())

    try:
        if hasattr(os, "nice"):
            os.nice(10)  # the pad's frames come first
        import tinycnn as tc

        send({"progress": 0.0})
        base = tc.load(base_path) if base_path else tc.pretrained()

        def progress(step, steps):
            if step % 10 == 0 or step == steps:
                send({"progress": step / steps})

        _, report = tc.Profile(profile_dir).learn(base, progress=progress, seed=seed, **options)
        send({"done": report})
    except Exception as e:  # whatever went wrong, the pad shows it instead of waiting forever
        send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


def start(profile_dir, base_path=None, seed=0, options=None):
    """Start learning in a new process; `options` go to tc.personalize.
    Returns (process, connection to read messages from)."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: "1" for k in THREAD_VARS})  # the child inherits the environment at start
    try:
        proc = ctx.Process(target=_run, args=(sender, str(profile_dir), base_path, seed, dict(options or {})), daemon=True)
        proc.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    sender.close()
    return proc, receiver
