"""tinycnn's one thread policy: one pool for its matrix products and kernel slices.

Numba backend only. tinycnn runs its own work, the matrix products included, on one
pool of `get_threads()` Python threads (default: every core this process may use; change it
with `set_threads(n)` or the TINYCNN_THREADS environment variable), and holds the BLAS library
at one thread during each of its own matrix products, restoring the user's setting straight
after. Why, measured on 2 cores (README, Performance):
  - OpenBLAS's worker threads keep spinning for about 0.1 s after every multi-threaded call
    (110 ms of CPU time burnt per idle 300 ms). During a training step they never sleep, so
    they take a core from everything else: from a second thread pool in the same process
    (Numba `parallel=True` beside BLAS made a step 1.8x slower) and from other programs.
  - OpenBLAS splits a product into equal static parts, so one busy core stalls the whole call.
One pool that runs matrix-product slices and kernel slices in turn has neither problem: its
idle threads sleep, and work is cut into more pieces than threads, taken first come first
served, so a core that another program is using simply takes fewer pieces.
Work too small to pay for waking a thread runs in the calling thread.
"""
import contextlib
import os
import threading


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _threads_from_env():
    raw = os.environ.get("TINYCNN_THREADS", "")
    if not raw:
        return _usable_cores()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"TINYCNN_THREADS must be a whole number >= 1, got {raw!r}")
    return int(raw)


_threads = None
_pool = None
_jobs = 0                          # jobs running on the pool now
_pool_state = threading.Condition()  # guards _threads, _pool and _jobs

# Below these sizes a job runs in the calling thread: handing a piece to a sleeping thread
# costs some tens of microseconds (measured: see scripts/bench.py --scaling).
MIN_PARALLEL_FLOPS = 4e6     # matrix products
MIN_PARALLEL_ITEMS = 1 << 16  # elements touched by a kernel
PIECES_PER_THREAD = 4         # more pieces than threads: a busy core takes fewer of them
# OpenBLAS runs a product of M*N*K below this on the calling thread whatever its setting
# (SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD in its interface/gemm.c), so tinycnn need not
# hold it at one thread there: at batch 1 that saves 2-5 us a product.
BLAS_ONE_THREAD_BELOW = 65536 * 4


def set_threads(n=None):
    """How many threads tinycnn's own work uses: a whole number >= 1, or None for every usable core.

    Waits for the jobs running on the pool (other threads' predictions, say) to finish first."""
    global _threads, _pool
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"threads must be a whole number >= 1 or None, got {n!r}")
    with _pool_state:
        _pool_state.wait_for(lambda: _jobs == 0)
        _threads = n if n is not None else _usable_cores()
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=True)


def get_threads():
    """The number of threads tinycnn's own work uses (see set_threads)."""
    global _threads
    if _threads is None:
        _threads = _threads_from_env()
    return _threads


@contextlib.contextmanager
def _pool_for_a_job():
    """The pool, counted as in use until the block ends (so set_threads waits for it)."""
    global _pool, _jobs
    with _pool_state:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor
            _pool = ThreadPoolExecutor(max(get_threads() - 1, 1), thread_name_prefix="tinycnn")
        _jobs += 1
        pool = _pool
    try:
        yield pool
    finally:
        with _pool_state:
            _jobs -= 1
            _pool_state.notify_all()


def _after_fork_in_child():
    """A forked child has none of its parent's threads: forget the pool (a new one is made on
    first use) and the locks another thread may have held at the fork."""
    global _pool, _jobs, _pool_state, _blas
    _pool, _jobs, _pool_state, _blas = None, 0, threading.Condition(), None


def split(n, work, min_work=None):
    """Boundaries [0, b1, ..., n] cutting n items (`work` in all: elements, or flops) into pieces
    of at least `min_work` for the pool, or [0, n] (one piece, run in the caller) when there is
    one thread or the job is too small to pay for waking another."""
    t = get_threads()
    min_work = MIN_PARALLEL_ITEMS if min_work is None else min_work
    if t == 1 or n < 2 or work < 2 * min_work:
        return [0, n]
    pieces = min(n, t * PIECES_PER_THREAD, int(work // min_work))
    return [n * i // pieces for i in range(pieces + 1)]


def run_pieces(fn, bounds):
    """Call fn(lo, hi) for each piece [bounds[i], bounds[i+1]); the caller and up to
    get_threads() - 1 pool threads take pieces in turn until none is left.

    fn must release the GIL for the pieces to overlap (Numba `nogil` kernels, NumPy's matmul)
    and pieces must write disjoint outputs. The first error raised by a piece is re-raised."""
    if len(bounds) == 2:
        fn(bounds[0], bounds[1])
        return
    pending = iter(range(len(bounds) - 1))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            fn(bounds[i], bounds[i + 1])

    with _pool_for_a_job() as pool:
        helpers = [pool.submit(worker) for _ in range(min(get_threads(), len(bounds) - 1) - 1)]
        try:
            worker()
        finally:
            for h in helpers:
                h.result()


class _BlasThreads:
    """`with blas_single():` holds the BLAS library at one thread for one of tinycnn's products,
    then puts the user's setting back. Found with threadpoolctl; OpenBLAS's own setters are
    called directly (microseconds). Assumes a process-wide setting, as OpenBLAS with pthreads
    (NumPy's wheels) and MKL have."""

    def __init__(self):
        import ctypes

        from threadpoolctl import ThreadpoolController

        self.calls = []  # (get, set) pairs, one per BLAS library loaded
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
            found = None
            if lib.internal_api == "openblas":
                dll = ctypes.CDLL(lib.filepath)
                for pre in ("", "scipy_"):
                    for suf in ("", "64_", "_64"):
                        get = getattr(dll, f"{pre}openblas_get_num_threads{suf}", None)
                        if get is not None:
                            found = (get, getattr(dll, f"{pre}openblas_set_num_threads{suf}"))
                            break
                    if found:
                        break
            self.calls.append(found or (lib.get_num_threads, lib.set_num_threads))
        self.depth, self.saved, self.lock = 0, None, threading.Lock()

    def __enter__(self):
        # Counted, so that nested or concurrent products (pool threads, a user's own threads)
        # save the user's setting once and put it back once, when the last one ends.
        with self.lock:
            if self.depth == 0:
                self.saved = [get() for get, _ in self.calls]
                for (_, set_), was in zip(self.calls, self.saved):
                    if was != 1:
                        set_(1)
            self.depth += 1

    def __exit__(self, *exc):
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                for (_, set_), was in zip(self.calls, self.saved):
                    if was != 1:
                        set_(was)


_blas = None


def blas_single():
    """Context manager holding BLAS at one thread (created on first use: threadpoolctl loads only with Numba)."""
    global _blas
    if _blas is None:
        _blas = _BlasThreads()
    return _blas


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
