"""The pad's frame work while drawing, measured in a real window: padrig (xdotool moving the mouse on
Xvfb) draws, the pad logs its frame figures at exit (--log), this prints them.

    python scripts/pad_fps.py [--drawing ordinary|heavy] [--page inside|normal] [--runs 3]
                              [--padrig ../shared/tools/padrig.py]

ordinary: twenty digits (two of each), cleared after each; heavy: four spirals of 870 points in one
drawing. inside: with the look-inside page (key I) open. Prints, per run, the mean and 95th
percentile of the work of a frame in which the pen moved, then their medians. The machine's other
work counts too: run it on a quiet machine, and compare versions in alternation.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

CANVAS = [16, 16, 463, 463]  # where the pad puts its canvas in a 900x600 window

DIGITS = [
    [[[0.25, 0.2], [0.75, 0.2], [0.45, 0.85]]],
    [[[0.5, 0.15], [0.5, 0.85]]],
    [[[0.6, 0.15], [0.25, 0.6], [0.75, 0.6]], [[0.6, 0.35], [0.6, 0.85]]],
    [[[0.5 + 0.22 * math.sin(2 * math.pi * i / 40), 0.5 - 0.33 * math.cos(2 * math.pi * i / 40)]
      for i in range(41)]],
    [[[0.3, 0.3], [0.4, 0.18], [0.6, 0.18], [0.68, 0.3], [0.6, 0.5], [0.3, 0.82], [0.72, 0.82]]],
    [[[0.3, 0.2], [0.65, 0.2], [0.45, 0.47], [0.68, 0.6], [0.6, 0.8], [0.3, 0.8]]],
    [[[0.7, 0.18], [0.35, 0.18], [0.32, 0.48], [0.6, 0.45], [0.7, 0.65], [0.55, 0.82], [0.3, 0.8]]],
    [[[0.65, 0.15], [0.4, 0.4], [0.32, 0.65], [0.45, 0.83], [0.65, 0.75], [0.62, 0.55], [0.35, 0.58]]],
    [[[0.5 + 0.15 * math.sin(2 * math.pi * i / 30), 0.33 - 0.15 * math.cos(2 * math.pi * i / 30)]
      for i in range(31)],
     [[0.5 - 0.2 * math.sin(2 * math.pi * i / 30), 0.66 + 0.18 * math.cos(2 * math.pi * i / 30)]
      for i in range(31)]],
    [[[0.62, 0.3], [0.5, 0.18], [0.35, 0.28], [0.4, 0.45], [0.62, 0.38], [0.6, 0.85]]],
]


def spiral(cx, cy, radius, n=870, turns=3):
    return [[cx + radius * i / (n - 1) * math.cos(2 * math.pi * turns * i / (n - 1)),
             cy + radius * i / (n - 1) * math.sin(2 * math.pi * turns * i / (n - 1))] for i in range(n)]


def actions(drawing, page):
    """padrig's script: open the page, draw each drawing and clear it, quit with Esc."""
    drawings = DIGITS * 2 if drawing == "ordinary" else [[spiral(0.3 + 0.4 * (k % 2), 0.3 + 0.4 * (k // 2), 0.18)
                                                          for k in range(4)]]
    steps = [{"key": "i"}, {"wait": 0.5}] if page == "inside" else []
    for strokes in drawings:
        steps += [{"draw": strokes, "in": "canvas"}, {"wait": 0.3}, {"key": "c"}]
    steps += [{"key": "Escape"}] * (2 if page == "inside" else 1) + [{"expect_exit": 0, "timeout": 10}]
    return {"rects": {"canvas": CANVAS}, "steps": steps}


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--drawing", choices=["ordinary", "heavy"], default="ordinary")
    p.add_argument("--page", choices=["inside", "normal"], default="inside")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--padrig", default=os.path.join(root, "..", "shared", "tools", "padrig.py"))
    args = p.parse_args(argv)
    if not os.path.isfile(args.padrig):
        print(f"error: padrig not found at {args.padrig}; give its path with --padrig", file=sys.stderr)
        return 1
    if args.runs < 1:
        print(f"error: --runs must be at least 1, got {args.runs}", file=sys.stderr)
        return 1
    means, p95s = [], []
    with tempfile.TemporaryDirectory(prefix="pad_fps-") as tmp:
        script = os.path.join(tmp, "actions.json")
        with open(script, "w") as f:
            json.dump(actions(args.drawing, args.page), f)
        for run in range(args.runs):
            out, log = os.path.join(tmp, f"run{run}"), os.path.join(tmp, f"run{run}.jsonl")
            cmd = [sys.executable, args.padrig, "run", "--cmd", f"{sys.executable} -m pad --log {log} --profile {tmp}",
                   "--size", "900x600", "--script", script, "--shots", out, "--timeout", "30"]
            done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
            quits = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
            quits = [q for q in quits if q.get("event") == "quit"]
            if done.returncode != 0 or not quits:
                print(f"error: run {run + 1} failed (padrig exit {done.returncode}): "
                      f"{done.stderr.strip().splitlines()[-1:] or 'no quit event logged'}", file=sys.stderr)
                return 1
            q = quits[-1]
            means.append(q["drawing_mean_ms"])
            p95s.append(q["drawing_p95_ms"])
            print(f"run {run + 1}: {q['drawing_frames']} drawing frames, mean {q['drawing_mean_ms']:.1f} ms, "
                  f"95th percentile {q['drawing_p95_ms']:.1f} ms", flush=True)
    mean = statistics.median(means)
    print(f"{args.drawing} drawings, {args.page} page: median of {args.runs} runs: mean {mean:.1f} ms "
          f"({1000 / mean:.0f} frames per second), 95th percentile {statistics.median(p95s):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
