"""Benchmark tinycnn (and PyTorch, when it is installed) on the seed network; print the tables.

    python scripts/bench.py                    # every section, every core (about 5 minutes on 2 cores)
    python scripts/bench.py --threads 4        # both libraries at 4 threads
    python scripts/bench.py --sections busy    # only some of: ratio, userloop, latency, scaling, busy, cost
    python scripts/bench.py --layers           # also per-layer forward/backward times of a training step
    python scripts/bench.py --quick            # fewer repeats, for a smoke test

Sections:
  ratio    tinycnn against PyTorch: training, inference, memory (same network, weights, batches).
  userloop the README's training loop, each library in fresh processes, with and without a large
           array freed first (the allocator's history); median step and page faults per step.
  latency  one image through the model (predict_proba), both libraries in one process, alternating
           blocks of calls: median and spread of the blocks' medians.
  scaling  a training step at 1, 2, 4, ... threads up to --threads, for both; tinycnn's step split
           into matrix products (BLAS), its own kernels (im2col, fused conv-ReLU-pool, pooling,
           batch norm, Adam...) and the rest (Python, NumPy glue).
  busy     a step alone and beside a competing load (a process doing matrix products on every
           core; one core busy in a plain Python loop; a second tinycnn training), each library in
           its own process, alone and loaded runs interleaved: the slowdown factors.
  cost     time per 60,000-image epoch (from timed steps) and peak memory (VmHWM of a fresh
           process) for batch 32, 64, 128 and 256, seed and default ("resnet") networks.

Both libraries get the same thread count: tinycnn through tc.set_threads, PyTorch through
torch.set_num_threads. Every figure is the median of repeated runs, with min and max. PyTorch runs
in its own blocks after tinycnn's (never interleaved call by call: two thread pools alternating
distort each other).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # PyTorch's idle OpenMP threads sleep, as tinycnn's do

import numpy as np  # noqa: E402

import tinycnn as tc  # noqa: E402
from tinycnn.digits.architectures import seed_net  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def stats(samples):
    a = np.asarray(samples, dtype=float)
    return float(np.median(a)), float(a.min()), float(a.max())


def repeat(fn, runs, inner=1):
    """Wall times of `runs` calls of fn() (each doing `inner` units of work), per unit."""
    fn()  # warm-up: compilation, caches, allocator
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) / inner)
    return out


def gemm_peak():
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    t = min(repeat(lambda: a @ a, 5))
    return 2 * 2048 ** 3 / t / 1e9


def fake_mnist(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def tinycnn_epoch(model, batch, steps, runs):
    """Seconds per 60,000-image epoch, from timing `steps` training steps."""
    x, y = fake_mnist(batch * steps)
    opt = tc.Adam(model, lr=1e-4)
    model.train()

    def run():
        for s in range(steps):
            xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
            loss, d = tc.softmax_cross_entropy(model.forward(xb), yb)
            model.backward(d)
            opt.step()
            opt.zero_grad()

    return [t * 60000 / (batch * steps) for t in repeat(run, runs)]


def layer_times(model, batch, steps=20):
    """Forward and backward milliseconds of each step of one training step, as the model runs
    them (a fused Conv2D [-> BatchNorm2D] -> ReLU -> MaxPool2D counts as one step)."""
    x, y = fake_mnist(batch)
    opt = tc.Adam(model)
    model.train()
    times = {}
    for it in range(steps + 2):
        h, plan = x, []
        for i, step in enumerate(model.steps()):
            inner = getattr(step, "layers", None) or [getattr(step, "conv", step)]
            name = " + ".join(repr(layer) for layer in inner)
            t = time.perf_counter()
            h = step.forward(h)
            times.setdefault(name, [0.0, 0.0])[0] += (time.perf_counter() - t) * (it >= 2)
            plan.append((i, name, step))
        t = time.perf_counter()
        _, d = tc.softmax_cross_entropy(h, y)
        times.setdefault("softmax cross-entropy", [0.0, 0.0])[0] += (time.perf_counter() - t) * (it >= 2)
        for i, name, step in reversed(plan):
            t = time.perf_counter()
            d = step.backward(d)
            times[name][1] += (time.perf_counter() - t) * (it >= 2)
        t = time.perf_counter()
        opt.step()
        opt.zero_grad()
        times.setdefault("Adam step + zero_grad", [0.0, 0.0])[0] += (time.perf_counter() - t) * (it >= 2)
    return [(name, f / steps * 1e3, b / steps * 1e3) for name, (f, b) in times.items()]


def torch_model(model):
    """The same network in PyTorch, with tinycnn's weights."""
    import torch
    from torch import nn

    m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5),
                      nn.Linear(128, 10))
    p = dict(model.named_parameters())
    with torch.no_grad():
        for i in (0, 3):
            m[i].weight.copy_(torch.from_numpy(p[f"{i}.W"]))
            m[i].bias.copy_(torch.from_numpy(p[f"{i}.b"]))
        for i in (7, 10):
            m[i].weight.copy_(torch.from_numpy(p[f"{i}.W"].T.copy()))
            m[i].bias.copy_(torch.from_numpy(p[f"{i}.b"]))
    return m


def torch_epoch(m, batch, steps, runs):
    import torch

    x, y = fake_mnist(batch * steps)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    m.train()
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        for s in range(steps):
            opt.zero_grad()
            loss_fn(m(x[s * batch:(s + 1) * batch]), y[s * batch:(s + 1) * batch]).backward()
            opt.step()

    return [t * 60000 / (batch * steps) for t in repeat(run, runs)]


def child_env():
    return dict(os.environ, PYTHONPATH=os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def subprocess_figure(code, *args):
    """Run `code` in a fresh Python; it prints one JSON line, which is returned parsed."""
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                       env=child_env(), timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


IMPORT_CODE = """
import time, json; t = time.perf_counter(); import tinycnn; print(json.dumps(time.perf_counter() - t))"""

FIRST_PREDICTION_CODE = """
import time, json; t = time.perf_counter()
import numpy as np, tinycnn as tc
m = tc.pretrained(); p = m.predict_proba(np.zeros((1, 1, 28, 28), np.float32))
print(json.dumps(time.perf_counter() - t))"""

# Peak memory is VmHWM of the process image: ru_maxrss would carry over the peak of the
# benchmark process this one was forked from (Linux keeps it across exec).
PEAK_RSS = "[int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0]"

INFERENCE_MEMORY_CODE = """
import json, numpy as np
import tinycnn as tc
from tinycnn.digits.architectures import seed_net
m = seed_net().eval(); x = np.random.default_rng(0).random((1000, 1, 28, 28), dtype=np.float32)
for n in (1, 64, 1000): m.predict_proba(x[:n])
print(json.dumps(""" + PEAK_RSS + """))"""

TORCH_INFERENCE_MEMORY_CODE = """
import json, sys, numpy as np, torch; torch.set_num_threads(int(sys.argv[1]))
from torch import nn
m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)).eval()
x = torch.rand(1000, 1, 28, 28)
with torch.no_grad():
    for n in (1, 64, 1000): m(x[:n]).softmax(1)
print(json.dumps(""" + PEAK_RSS + """))"""

# A training step in its own process: argv = library, threads, seconds, network, batch, and
# optionally "freed": free a 64 MB array first, as loading part of MNIST does, which changes how
# the C library's allocator serves every later large array. Prints the median step time (s), the
# process's peak memory (MB) and the minor page faults per step. Loops forever when seconds is
# "inf" (the competing "second training").
STEP_CODE = """
import json, os, resource, sys, time
import numpy as np
lib, threads, secs, net, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
if sys.argv[6:] == ["freed"]:
    big = np.ones(16 << 20, np.float32); del big
rng = np.random.default_rng(0)
x = rng.random((batch, 1, 28, 28), dtype=np.float32); y = rng.integers(0, 10, batch)
if lib == "tinycnn":
    import tinycnn as tc
    tc.set_threads(threads); tc.seed(0)
    m = tc.ARCHITECTURES[net](); opt = tc.Adam(m, lr=1e-4); m.train()
    def step():
        loss, d = tc.softmax_cross_entropy(m.forward(x), y); m.backward(d); opt.step(); opt.zero_grad()
else:
    import torch; from torch import nn
    torch.set_num_threads(threads)
    m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-4); lf = nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    def step():
        opt.zero_grad(); lf(m(tx), ty).backward(); opt.step()
step(); step()
times, end = [], time.perf_counter() + secs
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
while not times or time.perf_counter() < end:
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / len(times)
print(json.dumps([float(np.median(times)), """ + PEAK_RSS + """, faults]))"""

# Competing loads for the busy-machine table (each runs until killed).
LOADS = {
    "matrix products, all cores": ["-c", "import numpy as np\na = np.ones((1024, 1024), np.float32)\nwhile True: a @ a"],
    "one core in a Python loop": ["-c", "while True: pass"],
    "a second tinycnn training": ["-c", STEP_CODE, "tinycnn", "{threads}", "inf", "seed", "64"],
}


def step_in_process(lib, threads, seconds, net="seed", batch=64, history="clean"):
    """(median step s, peak MB, page faults per step) of `lib` training `net` at `batch` in a fresh
    process; history "freed": a large array was freed before, as a user's script may have."""
    return subprocess_figure(STEP_CODE, lib, threads, seconds, net, batch, *(["freed"] if history == "freed" else []))


def user_loop_section(have_torch, threads, quick):
    """The loop a user writes (the README's: forward, softmax_cross_entropy, backward, Adam), each
    library in fresh processes, with and without a large array freed first, interleaved."""
    seconds, repeats = (1.0, 1) if quick else (4.0, 3)
    libs = ["tinycnn"] + (["torch"] if have_torch else [])
    print(f"{'batch':>5s} {'history':>8s}" + "".join(f" {lib + ' ms':>12s} {'faults/step':>11s}" for lib in libs)
          + (f" {'ratio':>6s}" if have_torch else ""))
    for batch in (64, 128, 256):
        for history in ("clean", "freed"):
            runs = {lib: [] for lib in libs}
            for _ in range(repeats):  # interleaved: both libraries see the same load
                for lib in libs:
                    runs[lib].append(step_in_process(lib, threads, seconds, "seed", batch, history))
            med = {lib: (np.median([r[0] for r in rs]) * 1e3, np.median([r[2] for r in rs])) for lib, rs in runs.items()}
            line = f"{batch:>5d} {history:>8s}" + "".join(f" {med[lib][0]:>12.2f} {med[lib][1]:>11.0f}" for lib in libs)
            print(line + (f" {med['tinycnn'][0] / med['torch'][0]:>5.2f}x" if have_torch else ""), flush=True)


def latency_section(have_torch, threads, quick):
    """Batch-1 prediction (the seed network, the same weights), blocks of calls alternating between
    the libraries so both see the same load; per library the median of each block's median."""
    tc.seed(0)
    model = seed_net().eval()
    x = fake_mnist(1)[0]
    calls = {"tinycnn": lambda: model.predict_proba(x)}
    if have_torch:
        import torch
        tm, tx = torch_model(model).eval(), torch.from_numpy(x)

        def torch_call():
            with torch.no_grad():
                return tm(tx).softmax(1)
        calls["torch"] = torch_call
    blocks = {lib: [] for lib in calls}
    for _ in range(3 if quick else 15):
        for lib, fn in calls.items():
            blocks[lib].append(np.median(repeat(fn, 50 if quick else 300)) * 1e3)
    for lib, b in blocks.items():
        med, lo, hi = stats(b)
        print(f"{lib:8s} {med:.3f} ms [{lo:.3f}, {hi:.3f}]")
    if have_torch:
        print(f"ratio    {np.median(blocks['tinycnn']) / np.median(blocks['torch']):.2f}x")


def busy_table(libs, threads, repeats, seconds):
    """Step time alone and beside each load, per library; alone and loaded runs alternate so
    that the machine's own drift hits both."""
    out = {}
    for load, argv in LOADS.items():
        for lib in libs:
            alone, loaded = [], []
            for _ in range(repeats):
                alone.append(step_in_process(lib, threads, seconds)[0])
                p = subprocess.Popen([sys.executable] + [a.format(threads=threads) for a in argv], env=child_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(1.0)  # let the load start (and a competing training compile) first
                    loaded.append(step_in_process(lib, threads, seconds)[0])
                finally:
                    p.kill()
                    p.wait()
            out[load, lib] = (stats(alone), stats(loaded))
    return out


class KernelTimer:
    """Wraps every function of the Numba kernel module to add up wall time: matrix products
    (BLAS) apart from tinycnn's own kernels. Calls made inside pieces on pool threads are part
    of their caller's time, so nothing is counted twice."""

    def __init__(self):
        from tinycnn.speed import kernels as fast
        self.module, self.saved = fast, {}
        self.time = {"blas": 0.0, "kernels": 0.0}

    def __enter__(self):
        import types
        for name, fn in vars(self.module).items():
            if isinstance(fn, types.FunctionType) and not name.startswith("_") and fn.__module__ == self.module.__name__:
                self.saved[name] = fn
                setattr(self.module, name, self._wrap(fn, "blas" if name == "matmul" else "kernels"))
        return self

    def _wrap(self, fn, kind):
        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.time[kind] += time.perf_counter() - t
        return timed

    def __exit__(self, *exc):
        for name, fn in self.saved.items():
            setattr(self.module, name, fn)


def tinycnn_step_parts(threads, batch, steps, runs):
    """Per step (ms), medians over runs: total, BLAS, kernels, rest; at `threads` threads."""
    tc.set_threads(threads)
    tc.seed(0)
    model, (x, y) = seed_net(), fake_mnist(batch)
    opt = tc.Adam(model, lr=1e-4)
    model.train()

    def step():
        loss, d = tc.softmax_cross_entropy(model.forward(x), y)
        model.backward(d)
        opt.step()
        opt.zero_grad()

    step()
    parts = []
    for _ in range(runs):
        with KernelTimer() as kt:
            t = time.perf_counter()
            for _ in range(steps):
                step()
            total = (time.perf_counter() - t) / steps
        blas, kern = kt.time["blas"] / steps, kt.time["kernels"] / steps
        parts.append((total, blas, kern, total - blas - kern))
    return [float(np.median([p[i] for p in parts])) * 1e3 for i in range(4)], [p[0] * 1e3 for p in parts]


def torch_step(threads, batch, steps, runs):
    import torch
    torch.set_num_threads(threads)
    tc.seed(0)
    return [t * batch / 60000 * 1e3 for t in torch_epoch(torch_model(seed_net()), batch, steps, runs)]


def thread_counts(most):
    counts, t = [], 1
    while t < most:
        counts.append(t)
        t *= 2
    return counts + [most]


def ratio_section(have_torch, threads, quick, layers, peak):
    """tinycnn against PyTorch on the seed network (the table kept from the first benchmark)."""
    if have_torch:
        import torch
    runs, steps = (2, 10) if quick else (5, 60)
    tc.seed(0)
    model = seed_net()
    flops = model.flops((1, 28, 28))
    rows = []

    def row(what, ours, theirs=None):
        rows.append((what, stats(ours), None if theirs is None else stats(theirs)))

    ep = {b: tinycnn_epoch(model, b, steps if b == 64 else steps // 2, runs) for b in (64, 128)}
    x1000, _ = fake_mnist(1000)
    model.eval()
    lat = repeat(lambda: model.predict_proba(x1000[:1]), 200 if not quick else 20)
    thr = [1000 / t for t in repeat(lambda: model.predict_proba(x1000, batch_size=1000), 10 if not quick else 2)]
    pretrained = tc.pretrained()
    from pad.canvas import Canvas
    canvas = Canvas(560)
    canvas.begin_stroke((150, 120), 18)
    for p in [(420, 120), (260, 470)]:
        canvas.extend_stroke(p)
    canvas.end_stroke()
    pad_lat = {name: repeat(lambda net=net: net.predict_proba(tc.preprocess_digit(canvas.array)[None, None]),
                            100 if not quick else 10) for name, net in (("seed", model), ("shipped", pretrained))}
    imp = [subprocess_figure(IMPORT_CODE) for _ in range(5 if not quick else 2)]
    first = [subprocess_figure(FIRST_PREDICTION_CODE) for _ in range(3 if not quick else 1)]
    mem = [subprocess_figure(INFERENCE_MEMORY_CODE)]
    mem_numpy = [subprocess_figure(INFERENCE_MEMORY_CODE.replace(
        "import tinycnn as tc", "import tinycnn as tc; tc.set_backend('numpy')"))]

    torch_fig = {}
    if have_torch:
        torch_fig["ep"] = {b: torch_epoch(torch_model(model), b, steps if b == 64 else steps // 2, runs)
                           for b in (64, 128)}
        tm = torch_model(model).eval()  # tinycnn's weights as they are now, for inference
        tx = torch.from_numpy(x1000)
        with torch.no_grad():
            torch_fig["lat"] = repeat(lambda: tm(tx[:1]).softmax(1), 200 if not quick else 20)
            torch_fig["thr"] = [1000 / t for t in repeat(lambda: tm(tx).softmax(1), 10 if not quick else 2)]
            np.testing.assert_allclose(tm(tx[:50]).softmax(1).numpy(), model.predict_proba(x1000[:50]), atol=1e-4)
        torch_fig["mem"] = [subprocess_figure(TORCH_INFERENCE_MEMORY_CODE, threads)]

    row("training epoch, batch 64 (s)", ep[64], torch_fig.get("ep", {}).get(64))
    row("training epoch, batch 128 (s)", ep[128], torch_fig.get("ep", {}).get(128))
    row("inference, batch 1, model only (ms)", [t * 1e3 for t in lat],
        [t * 1e3 for t in torch_fig["lat"]] if have_torch else None)
    row("inference, batch 1000 (images/s)", thr, torch_fig.get("thr"))
    row("pad canvas 560x560 -> probabilities (ms)", [t * 1e3 for t in pad_lat["seed"]])
    row("  same, with the shipped (pad's) model (ms)", [t * 1e3 for t in pad_lat["shipped"]])
    row("python -c 'import tinycnn' (s)", imp)
    row("first prediction in a new process (s)", first)
    row("peak memory, inference-only process (MB)", mem, torch_fig.get("mem"))
    row("  same, NumPy backend (no Numba loaded) (MB)", mem_numpy)

    print(f"{'seed network, float32':44s}{'tinycnn median [min, max]':>32s}"
          + (f"{'PyTorch median':>18s}{'ratio':>9s}" if have_torch else ""))
    for what, (med, lo, hi), theirs in rows:
        line = f"{what:44s}{med:>12.4g} [{lo:.4g}, {hi:.4g}]".ljust(76)
        if theirs is not None:
            ratio = med / theirs[0]
            line += f"{theirs[0]:>16.4g}{ratio:>8.2f}x"
        print(line)
    gflops = 3 * flops * 60000 / stats(ep[64])[0] / 1e9
    print(f"\ntraining at batch 64 runs {gflops:.0f} GFLOP/s of useful work "
          f"({3 * flops / 1e6:.1f} MFLOP per image, forward + backward), {gflops / peak:.0%} of the GEMM peak")
    if layers:
        print("\nper layer, one training step at batch 64 (ms):")
        for name, f, b in layer_times(seed_net(), 64):
            print(f"  {name:58s} forward {f:7.3f}   backward {b:7.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="threads for both libraries (default: every core, %(default)s here)")
    ap.add_argument("--sections", default="ratio,userloop,latency,scaling,busy,cost",
                    help="comma-separated, of: ratio, userloop, latency, scaling, busy, cost (default: all)")
    ap.add_argument("--layers", action="store_true", help="print per-layer times of a training step")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test, not a measurement)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    args = ap.parse_args()
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(sections) - {"ratio", "userloop", "latency", "scaling", "busy", "cost"}
    if unknown or args.threads < 1:
        ap.error(f"unknown section(s) {sorted(unknown)}" if unknown else "--threads must be >= 1")
    started = time.time()
    threads = args.threads

    try:
        if args.no_torch:
            raise ImportError
        import torch
        torch.set_num_threads(threads)
        have_torch = True
    except ImportError:
        have_torch = False
    tc.set_threads(threads)
    os.environ["TINYCNN_THREADS"] = str(threads)  # the same for every tinycnn process started below

    from threadpoolctl import threadpool_info
    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), {})
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, NumPy {np.__version__} with {blas.get('internal_api')} {blas.get('version')} "
          f"({blas.get('threading_layer', '?')} threads, kernel {blas.get('architecture', '?')})")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            print(f"note: {var}={os.environ[var]} is set in this environment")
    print(f"threads: {threads} for both. tinycnn: tc.set_threads({threads}), its own pool runs kernels and "
          f"matrix-product pieces, BLAS held at 1 thread inside them; "
          + (f"PyTorch {torch.__version__}: torch.set_num_threads({threads}), OMP_WAIT_POLICY="
             f"{os.environ['OMP_WAIT_POLICY']}" if have_torch else "PyTorch not installed"))
    peak = gemm_peak()
    print(f"float32 GEMM peak (2048x2048, NumPy at its own default threads): {peak:.0f} GFLOP/s")

    if "ratio" in sections:
        print(f"\n== ratio: tinycnn against PyTorch, {threads} threads each ==")
        ratio_section(have_torch, threads, args.quick, args.layers, peak)

    if "userloop" in sections:
        print(f"\n== the user's loop: seed network, fresh processes, median step and page faults, {threads} threads ==")
        user_loop_section(have_torch, threads, args.quick)

    if "latency" in sections:
        print(f"\n== latency: one image, predict_proba, ms, {threads} threads ==")
        latency_section(have_torch, threads, args.quick)

    if "scaling" in sections:
        runs, steps = (2, 5) if args.quick else (5, 20)
        print(f"\n== scaling: one training step, seed network, batch 64, ms (median of {runs} x {steps} steps) ==")
        print(f"{'threads':>7s} {'tinycnn':>9s} {'BLAS':>7s} {'kernels':>8s} {'rest':>6s} {'kernels vs 1 thr':>17s}"
              + (f" {'PyTorch':>9s} {'ratio':>7s}" if have_torch else ""))
        base = None
        for t in thread_counts(threads):
            (total, blas_ms, kern, rest), _ = tinycnn_step_parts(t, 64, steps, runs)
            base = base or kern
            line = f"{t:>7d} {total:>9.2f} {blas_ms:>7.2f} {kern:>8.2f} {rest:>6.2f} {kern / base:>16.2f}x"
            if have_torch:
                theirs = stats(torch_step(t, 64, steps, runs))[0]
                line += f" {theirs:>9.2f} {total / theirs:>6.2f}x"
            print(line, flush=True)
        tc.set_threads(threads)
        print("kernels: tinycnn's own Numba kernels (im2col/col2im, fused conv-ReLU-pool, pooling, ReLU, Adam...);"
              " rest: Python and NumPy glue. Target: kernels at 2 threads <= 0.6x of 1 thread.")

    if "busy" in sections:
        repeats, seconds = (1, 1.0) if args.quick else (2, 3.0)
        libs = ["tinycnn"] + (["torch"] if have_torch else [])
        print(f"\n== busy machine: median step (ms), seed network, batch 64, {threads} threads; "
              f"alone vs beside a load, {repeats} interleaved pairs of {seconds:.0f} s ==")
        print(f"{'competing load':30s}" + "".join(f"{lib + ' alone':>15s}{'loaded':>9s}{'slowdown':>10s}" for lib in libs))
        table = busy_table(libs, threads, repeats, seconds)
        for load in LOADS:
            line = f"{load:30s}"
            for lib in libs:
                (a, _, _), (b, _, _) = table[load, lib]
                line += f"{a * 1e3:>15.1f}{b * 1e3:>9.1f}{b / a:>9.2f}x"
            print(line, flush=True)

    if "cost" in sections:
        seconds = 1.0 if args.quick else 4.0
        print(f"\n== cost as work grows: tinycnn, {threads} threads, each in a fresh process ({seconds:.0f} s of steps) ==")
        print(f"{'network':8s} {'batch':>5s} {'step (ms)':>10s} {'epoch (s)':>10s} {'images/s':>9s} {'peak memory (MB)':>17s}")
        for net in ("seed", "resnet"):
            for batch in (32, 64, 128, 256):
                step_s, mem, _ = step_in_process("tinycnn", threads, seconds, net, batch)
                print(f"{net:8s} {batch:>5d} {step_s * 1e3:>10.1f} {step_s * 60000 / batch:>10.1f} "
                      f"{batch / step_s:>9.0f} {mem:>17.0f}", flush=True)
        print("epoch = 60,000 images, from the median step; peak memory = VmHWM of the training process")

    print(f"\nbenchmark took {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
