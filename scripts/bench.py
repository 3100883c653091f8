"""Benchmark tinycnn (and PyTorch, when it is installed) on the seed network; print one table.

    python scripts/bench.py              # the table (about 3 minutes on 2 cores)
    python scripts/bench.py --layers     # also per-layer forward/backward times of a training step
    python scripts/bench.py --quick      # fewer repeats, for a smoke test

Every figure is the median of repeated runs, with min and max. PyTorch runs the same network with
the same weights, thread count and batches, in its own blocks after tinycnn's (never interleaved
call by call: two thread pools alternating on 2 cores distort each other).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads must not spin against BLAS's

import numpy as np  # noqa: E402

import tinycnn as tc  # noqa: E402
from tinycnn.architectures import seed_net  # noqa: E402

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
            model.backward(d, need_dx=False)
            opt.step()
            opt.zero_grad()

    return [t * 60000 / (batch * steps) for t in repeat(run, runs)]


def layer_times(model, batch, steps=20):
    """Forward and backward milliseconds of each step of one training step, as the model runs
    them (a fused Conv2D -> ReLU -> MaxPool2D counts as one step)."""
    from tinycnn import fusion

    x, y = fake_mnist(batch)
    opt = tc.Adam(model)
    model.train()
    times = {}
    for it in range(steps + 2):
        h, plan = x, []
        for i, step in enumerate(fusion.steps(model.layers)):
            inner = [getattr(step, k) for k in ("conv", "relu", "pool")] if hasattr(step, "conv") else [step]
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
            d = step.backward(d) if i > 0 else step.backward_params(d)
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


def subprocess_figure(code):
    """Run `code` in a fresh Python; it prints one JSON line, which is returned parsed."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
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
from tinycnn.architectures import seed_net
m = seed_net().eval(); x = np.random.default_rng(0).random((1000, 1, 28, 28), dtype=np.float32)
for n in (1, 64, 1000): m.predict_proba(x[:n])
print(json.dumps(""" + PEAK_RSS + """))"""

TORCH_INFERENCE_MEMORY_CODE = """
import json, numpy as np, torch; torch.set_num_threads(2)
from torch import nn
m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)).eval()
x = torch.rand(1000, 1, 28, 28)
with torch.no_grad():
    for n in (1, 64, 1000): m(x[:n]).softmax(1)
print(json.dumps(""" + PEAK_RSS + """))"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", action="store_true", help="print per-layer times of a training step")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test, not a measurement)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    args = ap.parse_args()
    runs, steps = (2, 10) if args.quick else (5, 60)
    started = time.time()

    try:
        if args.no_torch:
            raise ImportError
        import torch
        torch.set_num_threads(2)
        have_torch = True
    except ImportError:
        have_torch = False

    cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, NumPy {np.__version__} with {cfg.get('name')} {cfg.get('version')}")
    print(f"threads: BLAS uses all cores; Numba kernels single-threaded; OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"
          + (f"; torch {torch.__version__} at {torch.get_num_threads()} threads" if have_torch else "; PyTorch not installed"))
    peak = gemm_peak()
    print(f"float32 GEMM peak (2048x2048, NumPy): {peak:.0f} GFLOP/s\n")

    tc.seed(0)
    model = seed_net()
    flops = model.flops((1, 28, 28))
    rows = []

    def row(what, ours, theirs=None):
        rows.append((what, stats(ours), None if theirs is None else stats(theirs)))

    ep = {b: tinycnn_epoch(model, b, steps if b == 64 else steps // 2, runs) for b in (64, 128)}
    x1000, _ = fake_mnist(1000)
    model.eval()
    lat = repeat(lambda: model.predict_proba(x1000[:1]), 200 if not args.quick else 20)
    thr = [1000 / t for t in repeat(lambda: model.predict_proba(x1000, batch_size=1000), 10 if not args.quick else 2)]
    pretrained = tc.pretrained()
    from pad.canvas import Canvas
    canvas = Canvas(560)
    canvas.begin_stroke((150, 120), 18)
    for p in [(420, 120), (260, 470)]:
        canvas.extend_stroke(p)
    canvas.end_stroke()
    pad_lat = {name: repeat(lambda net=net: net.predict_proba(tc.preprocess_digit(canvas.array)[None, None]),
                            100 if not args.quick else 10) for name, net in (("seed", model), ("shipped", pretrained))}
    imp = [subprocess_figure(IMPORT_CODE) for _ in range(5 if not args.quick else 2)]
    first = [subprocess_figure(FIRST_PREDICTION_CODE) for _ in range(3 if not args.quick else 1)]
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
            torch_fig["lat"] = repeat(lambda: tm(tx[:1]).softmax(1), 200 if not args.quick else 20)
            torch_fig["thr"] = [1000 / t for t in repeat(lambda: tm(tx).softmax(1), 10 if not args.quick else 2)]
            np.testing.assert_allclose(tm(tx[:50]).softmax(1).numpy(), model.predict_proba(x1000[:50]), atol=1e-4)
        torch_fig["mem"] = [subprocess_figure(TORCH_INFERENCE_MEMORY_CODE)]

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
    if args.layers:
        print("\nper layer, one training step at batch 64 (ms):")
        for name, f, b in layer_times(seed_net(), 64):
            print(f"  {name:58s} forward {f:7.3f}   backward {b:7.3f}")
    print(f"\nbenchmark took {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
