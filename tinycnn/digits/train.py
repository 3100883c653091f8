"""Train a network on MNIST from the IDX files: `python scripts/train.py` or `tinycnn-train`.

One run: split a validation set off the training images, train with Adam under a learning-rate
schedule (with augmentation, by default), keep a running average of the weights beside them,
checkpoint after every epoch, keep the average (or, without one, the weights) of the best
validation epoch, then score the test set and write the model, metrics.json and pictures.

Reproducible: the library's one generator (tc.seed) draws the initial weights, the validation
split, every epoch's shuffle, the dropout masks and the augmentation, and its state is part of
every checkpoint; so an interrupted and resumed run ends with the same weights as an
uninterrupted one (on the same machine and thread count).
"""
import argparse
import contextlib
import dataclasses
import errno
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .. import random as tc_random
from .architectures import ARCHITECTURES
from .augment import augment, restroke
from ..speed.memory import keep_freed_memory
from .calibration import calibrate, calibration_set
from ..data import load_mnist
from ..fileio import atomic_open, remove_stale_temps
from ..losses import softmax_cross_entropy
from ..modelfile import Archive, ModelFileError, read_arrays
from ..optim import Adam, WeightAverage
from .preprocess import preprocess_digit
from .strokes import NOT_A_DIGIT, make_digits, make_non_digits, rng_for

SCHEDULES = ("onecycle", "cosine", "plateau", "constant")


@dataclasses.dataclass
class Config:
    arch: str = "resnet"
    epochs: int = 14
    batch_size: int = 128
    lr: float = 3e-3
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    val_split: int = 5000
    patience: int = -1  # -1: automatic (see effective_patience)
    augment: bool = True
    seed: int = 0
    out: str = "runs/model.npz"
    limit: int = 0
    data: str = ""
    synthetic: int = 12000     # generated digits added to MNIST's (tinycnn.strokes)
    non_digits: int = 4000     # generated non-digits, an 11th class "not a digit" (0: ten classes)
    thicken: float = 0.25      # share of training images whose strokes are made one pixel thicker,
    thin: float = 0.1          # and thinner (with augmentation only)
    calibration_digits: int = 3000  # generated digits (and half as many non-digits) held out to calibrate
    weight_average: float = 0.9995  # largest decay of the running average of the weights that is kept (0: off)


DIGIT_CLASSES = [str(d) for d in range(10)]


def generated_training_set(cfg, log=print):
    """The generated part of the training set, the same for the same cfg.seed: cfg.synthetic
    digits and cfg.non_digits non-digits from the "train" seed stream of tinycnn.strokes, read
    through preprocess_digit as drawings are. Returns (images (N, 28, 28) uint8, labels (N,))."""
    t = time.time()
    rng = rng_for("train", cfg.seed)
    dx, dy = make_digits(cfg.synthetic, rng)
    nx, ny, _ = make_non_digits(cfg.non_digits, rng)
    if cfg.synthetic or cfg.non_digits:
        log(f"generated {cfg.synthetic} digits and {cfg.non_digits} non-digits in {time.time() - t:.1f}s")
    return np.concatenate([dx, nx]), np.concatenate([dy, ny])


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing is written."""


class OutputError(RuntimeError):
    """The output cannot be written: a directory in the way, no permission, a full disk, another
    training writing to the same folder. What was written before stays intact."""


REPORT_FILES = ("metrics.json", "curves.png", "confusion.png", "mistakes.png")
LOCK_NAME = ".tinycnn-train.lock"


def validation_split(n, seed, val_split):
    """(validation indices, training indices) of n images, sorted: the first thing a run with
    `seed` draws, after reseeding the library's generator (scripts/calibrate.py redraws it)."""
    tc_random.seed(seed)
    order = tc_random.default_rng().permutation(n)
    return np.sort(order[:val_split]), np.sort(order[val_split:])


def check_config(cfg, own_model=False):
    """Refuse options that cannot work, before anything is loaded or trained (ValueError).
    own_model: a model is passed in, so cfg.arch is not used."""
    problems = []
    if cfg.epochs < 1:
        problems.append(f"--epochs must be >= 1, got {cfg.epochs}")
    for name in ("synthetic", "non_digits", "calibration_digits"):
        if getattr(cfg, name) < 0:
            problems.append(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    for name in ("thicken", "thin"):
        if not 0 <= getattr(cfg, name) <= 1:
            problems.append(f"--{name} is a share of the images, from 0 to 1, got {getattr(cfg, name)}")
    if cfg.thicken + cfg.thin > 1:
        problems.append(f"--thicken {cfg.thicken} and --thin {cfg.thin} add up to more than all the images")
    if not 0 <= cfg.weight_average < 1:
        problems.append(f"--weight-average is a decay from 0 (off) to below 1, got {cfg.weight_average}")
    if cfg.batch_size < 1:
        problems.append(f"--batch-size must be >= 1, got {cfg.batch_size}")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        problems.append(f"--lr must be a positive number, got {cfg.lr}")
    if not (math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0):
        problems.append(f"--weight-decay must be >= 0, got {cfg.weight_decay}")
    if not 0 <= cfg.label_smoothing < 1:
        problems.append(f"--label-smoothing must be in [0, 1), got {cfg.label_smoothing}")
    if cfg.val_split < 0 or cfg.limit < 0 or cfg.patience < -1:
        problems.append("--val-split and --limit must be >= 0 and --patience >= -1")
    elif cfg.limit and cfg.val_split >= cfg.limit:
        problems.append(f"--limit {cfg.limit} leaves no training images after the --val-split {cfg.val_split} "
                        f"held out for validation; use a --val-split below {cfg.limit} (0: no validation)")
    if not own_model and cfg.arch not in ARCHITECTURES:
        problems.append(f"unknown architecture {cfg.arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if cfg.schedule not in SCHEDULES:
        problems.append(f"unknown schedule {cfg.schedule!r}; choose one of {SCHEDULES}")
    if problems:
        raise ValueError("; ".join(problems))


def _check_output(out):
    """The folder of `out`, created if needed, after checking that the model can be written there."""
    out = Path(out)
    if out.is_dir():
        raise OutputError(f"--out {out} is a directory; give a file name, such as {out / 'model.npz'}")
    if out.exists() and not out.is_file():
        raise OutputError(f"--out {out} exists and is not a regular file")
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"--out {out}: cannot create the folder {folder}: a file is in the way") from None
    except OSError as e:
        raise OutputError(f"--out {out}: cannot create the folder {folder} ({e.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: the folder {folder} is not writable")
    return folder


@contextlib.contextmanager
def _output_lock(folder):
    """Hold a lock on `folder` for the whole run, so that two trainings cannot write the same
    model, checkpoint and reports. The lock is the operating system's (flock): a run that is
    killed, even with kill -9, releases it, so it never stays stuck."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; runs there are not protected from each other
        yield
        return
    path = Path(folder) / LOCK_NAME
    try:
        f = open(path, "a+")
    except OSError as e:
        raise OutputError(f"cannot write in {folder} ({e.strerror})") from None
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read(200).strip() or "another process"
            raise OutputError(f"another training is writing to {folder} ({holder}); wait for it to finish "
                              f"or choose another --out") from None
        try:
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            f.flush()
        except OSError as e:
            raise OutputError(f"cannot write in {folder} ({e.strerror})") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _writing(what, ckpt):
    """Turn a failed write (a full disk, above all) into an OutputError that says what is kept."""
    try:
        yield
    except OSError as e:
        cause = "the disk is full" if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) else (
            e.strerror or str(e))
        kept = (f"the previous checkpoint {ckpt} is kept; free some space and continue with --resume"
                if Path(ckpt).is_file() else "nothing was kept")
        raise OutputError(f"cannot write {what}: {cause}; {kept}") from None


def effective_patience(cfg):
    """Epochs without validation improvement before stopping; 0 means never stop early.

    Automatic (-1): off for onecycle and cosine, whose best epochs come at the end, when the
    rate has annealed (stopping on a plateau at the peak rate would skip them); 5 otherwise.
    """
    if cfg.patience >= 0:
        return cfg.patience
    return 0 if cfg.schedule in ("onecycle", "cosine") else 5


def lr_at(cfg, step, total_steps, plateau_factor):
    """The learning rate for `step` (0-based) of `total_steps`.

    onecycle: linear warm-up from lr/25 to lr over the first 20% of steps, then cosine down to
    lr/1e4; cosine: cosine from lr to 0; plateau and constant: lr times the plateau factor.
    """
    t = step / max(total_steps - 1, 1)
    if cfg.schedule == "onecycle":
        warm = 0.2
        if t < warm:
            return cfg.lr * (1 / 25 + (1 - 1 / 25) * t / warm)
        u = (t - warm) / (1 - warm)
        return cfg.lr * (1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * u)))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    return cfg.lr * plateau_factor


def to_input(images_u8):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]: what every model takes."""
    return (images_u8.astype(np.float32) * np.float32(1 / 255))[:, None]


def evaluate(model, images_u8, labels, batch_size=1000):
    """Mean loss, accuracy and probabilities of `model` on uint8 images, in batches."""
    probs = np.concatenate([model.predict_proba(to_input(images_u8[i:i + batch_size]))
                            for i in range(0, len(images_u8), batch_size)])
    loss = float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-12))))
    return loss, float(np.mean(probs.argmax(1) == labels)), probs


class _StopFlag:
    """Ctrl-C asks for a stop at the next step boundary (a second Ctrl-C stops at once)."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        # Only the main thread may set signal handlers; elsewhere Ctrl-C keeps its default.
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            self.old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: stopping after this step and saving a checkpoint "
              "(press again to stop at once, without saving)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.active:
            signal.signal(signal.SIGINT, self.old)


@contextlib.contextmanager
def _weights_in(model, arrays):
    """Put `arrays` (a state dict) into `model` for the block, then give it back its own."""
    own = {k: v.copy() for k, v in model.state_dict().items()}
    model.load_state_dict(arrays)
    try:
        yield
    finally:
        model.load_state_dict(own)


def checkpoint_path(cfg):
    return Path(cfg.out).with_name(Path(cfg.out).stem + ".checkpoint.npz")


def _save_checkpoint(path, model, opt, average, best, state):
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"average/{k}": v for k, v in (average.state_dict() if average else {}).items()})
    arrays.update({f"best/{k}": v for k, v in (best or {}).items()})
    arrays.update({f"opt/{k}": v for k, v in opt.state_dict().items()})
    if state.get("perm") is not None:
        arrays["perm"] = state["perm"]
    meta = {k: v for k, v in state.items() if k != "perm"}
    with atomic_open(path) as f:
        np.savez(f, __state__=np.array(json.dumps(meta)), **arrays)


_STATE_TYPES = dict(epoch=int, step_in_epoch=int, history=list, best_score=(float, type(None)),
                    best_epoch=(int, type(None)), bad_epochs=int, plateau_factor=float,
                    plateau_best=(float, type(None)), plateau_bad=int, partial=list, rng=dict,
                    config=dict, elapsed=float)


def _check_state(state, path, epochs, steps_per_epoch):
    """The checkpoint's JSON state, refused unless every field has the type and range training needs."""
    def bad(problem):
        return ModelFileError(f"{path}: entry __state__: {problem}")

    if not isinstance(state, dict):
        raise bad("not an object")
    for key, kinds in _STATE_TYPES.items():
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        v = state.get(key, ...)
        ok = isinstance(v, kinds) and not isinstance(v, bool)
        if not ok and float in kinds and isinstance(v, int) and not isinstance(v, bool):
            ok = True
        if not ok:
            raise bad(f"{key} is {v!r:.60}, expected {' or '.join(k.__name__ for k in kinds)}")
    if not 0 <= state["epoch"] <= epochs or not 0 <= state["step_in_epoch"] <= steps_per_epoch:
        raise bad(f"epoch {state['epoch']}, step {state['step_in_epoch']} is outside this run "
                  f"({epochs} epochs of {steps_per_epoch} steps)")
    p = state["partial"]
    if len(p) != 3 or not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in p):
        raise bad("partial must be [loss sum, right, seen]")
    if not all(isinstance(h, dict) for h in state["history"]) or len(state["history"]) != state["epoch"]:
        raise bad("history must hold one row per finished epoch")


def _load_checkpoint(path, cfg, model, opt, average, rng, fit_idx, steps_per_epoch):
    """Restore model, optimiser, weight average and random generator from the checkpoint at `path`; returns
    (best weights or None, state). Everything is checked first: ModelFileError names a damaged
    file, ValueError options that differ from those the checkpoint was written with."""
    params = {k: (v.shape, f"parameter {k}") for k, v in model.named_parameters()}
    weights = {k: (v.shape, f"the model's {k}") for k, v in model.state_dict().items()}
    with Archive(path, "tinycnn checkpoint") as ar:
        state = ar.json("__state__")
        _check_state(state, path, cfg.epochs, steps_per_epoch)
        # Before the arrays: other options (--weight-average above all) expect other entries.
        changed = _same_options(dataclasses.asdict(cfg), state["config"])
        if changed:
            raise ValueError(f"--resume: the options differ from the checkpoint's (now, then): {changed}" + (
                "; None: an option added since the checkpoint was written, so start again without --resume"
                if any(then is None for _, then in changed.values()) else ""))
        known = {"__state__", "perm", "opt/t"}
        prefixes = ("model/", "best/", "opt/") + (("average/",) if average else ())
        stray = sorted(n for n in ar.entries if n not in known and not n.startswith(prefixes))
        if stray:
            raise ar.fault(stray[0], "not part of a tinycnn checkpoint")
        arrays = read_arrays(ar, weights, "model/", source=path)
        best = read_arrays(ar, weights, "best/", source=path) if any(n.startswith("best/") for n in ar.entries) else None
        averaged = read_arrays(ar, weights, "average/", source=path) if average else None
        moments = {f"{k}/{m}": v for k, v in params.items() for m in ("m", "v")}
        has_moments = any(n.startswith("opt/") and n != "opt/t" for n in ar.entries)
        opt_arrays = read_arrays(ar, moments if has_moments else {}, "opt/", skip={"opt/t"}, source=path)
        if "opt/t" not in ar.entries:
            raise ModelFileError(f"{path}: no opt/t entry (the optimiser's step count)")
        opt_arrays["t"] = ar.array("opt/t", (), "iu", "the optimiser's step count")
        if "perm" in ar.entries:
            perm = ar.array("perm", (len(fit_idx),), "iu", "this run's training split")
            if not np.array_equal(np.sort(perm), fit_idx):
                raise ar.fault("perm", "is not an order of this run's training images")
        else:
            perm = None
    try:
        rng.bit_generator.state = state["rng"]
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ModelFileError(f"{path}: entry __state__: the random-number state is damaged ({e})") from None
    model.load_state_dict(arrays, source=str(path))
    opt.load_state_dict(opt_arrays)
    if average:
        average.load_state_dict(averaged, source=str(path))
    state["perm"] = perm
    return best, state


def _same_options(now, then):
    """{option: (now, then)} where they differ; paths compared as resolved paths."""
    def norm(key, v):
        return os.path.realpath(v) if key in ("out", "data") and isinstance(v, str) and v else v
    return {k: (v, then.get(k)) for k, v in now.items() if norm(k, v) != norm(k, then.get(k))}


def train(cfg, data=None, log=print, on_step=None, resume=False, model=None):
    """Run training as `cfg` says. Returns a dict of results (also written to metrics.json).

    model: a model you built (a Sequential) to train instead of the architecture cfg.arch names.
    data: optional (train_x, train_y, test_x, test_y) uint8 arrays instead of load_mnist().
    on_step: optional callback(global_step), called after every optimiser step.
    resume: continue from the checkpoint beside cfg.out, which must have the same cfg.
    """
    check_config(cfg, own_model=model is not None)
    folder = _check_output(cfg.out)
    with _output_lock(folder):
        for name in [cfg.out, checkpoint_path(cfg)] + [folder / n for n in REPORT_FILES]:
            for tmp in remove_stale_temps(name):  # left by a run killed while writing
                log(f"removed {tmp}, left by an interrupted write")
        return _train(cfg, data, log, on_step, resume, model)


def _train(cfg, data, log, on_step, resume, model):
    from tqdm import tqdm

    built_here = model is None
    started = time.time()
    xtr, ytr, xte, yte = data if data is not None else load_mnist(cfg.data or None)
    if cfg.limit:
        xtr, ytr = xtr[:cfg.limit], ytr[:cfg.limit]
    if cfg.val_split >= len(xtr):
        raise ValueError(f"--val-split {cfg.val_split} leaves none of the {len(xtr)} training images to train on")

    val_idx, fit_idx = validation_split(len(xtr), cfg.seed, cfg.val_split)
    rng = tc_random.default_rng()
    # Generated drawings join the training images only; validation stays MNIST's.
    gx, gy = generated_training_set(cfg, log)
    fit_idx = np.concatenate([fit_idx, np.arange(len(xtr), len(xtr) + len(gx))])
    xtr, ytr = np.concatenate([xtr, gx]), np.concatenate([ytr.astype(np.int64), gy])
    classes = DIGIT_CLASSES + (["not a digit"] if cfg.non_digits else [])
    if model is None:
        model = ARCHITECTURES[cfg.arch](classes=len(classes))
    elif model.output_shape((1, 28, 28)) != (len(classes),):
        raise ValueError(f"the model gives outputs of shape {model.output_shape((1, 28, 28))}, but this training "
                         f"has {len(classes)} classes ({', '.join(classes[:2])}, ..., {classes[-1]}); "
                         "a ten-class model trains with non_digits=0")
    opt = Adam(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    average = WeightAverage(model, cfg.weight_average) if cfg.weight_average else None
    steps_per_epoch = math.ceil(len(fit_idx) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs

    state = dict(epoch=0, step_in_epoch=0, history=[], best_score=None, best_epoch=None, bad_epochs=0,
                 plateau_factor=1.0, plateau_best=None, plateau_bad=0, partial=[0.0, 0, 0],
                 rng=None, config=dataclasses.asdict(cfg), elapsed=0.0, perm=None)
    best = None
    ckpt = checkpoint_path(cfg)
    if resume:
        if not ckpt.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}")
        best, saved = _load_checkpoint(ckpt, cfg, model, opt, average, rng, fit_idx, steps_per_epoch)
        saved["config"] = dataclasses.asdict(cfg)
        state.update(saved)
        log(f"resuming from {ckpt}: epoch {state['epoch'] + 1}, step {state['step_in_epoch']}")

    def save_checkpoint(perm=None):
        state["rng"] = rng.bit_generator.state
        state["perm"] = perm
        state["elapsed"] = state["elapsed"] + time.time() - clock[0]
        clock[0] = time.time()
        with _writing(f"the checkpoint {ckpt}", ckpt):
            _save_checkpoint(ckpt, model, opt, average, best, state)

    clock = [time.time()]
    stopped = False
    with _StopFlag() as stop:
        while state["epoch"] < cfg.epochs and not stopped:
            epoch = state["epoch"]
            if state["perm"] is None:
                state["perm"] = fit_idx[rng.permutation(len(fit_idx))]
                state["step_in_epoch"], state["partial"] = 0, [0.0, 0, 0]
            perm = state["perm"]
            model.train()
            t0 = time.time()
            bar = tqdm(range(state["step_in_epoch"], steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                       initial=state["step_in_epoch"], total=steps_per_epoch, leave=False, disable=None,
                       dynamic_ncols=True)
            seen_at_start = state["partial"][2]
            for s in bar:
                idx = perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
                x = to_input(xtr[idx])
                if cfg.augment:
                    x = augment(restroke(x, rng, cfg.thicken, cfg.thin), rng)
                step = epoch * steps_per_epoch + s
                opt.lr = lr_at(cfg, step, total_steps, state["plateau_factor"])
                logits = model.forward(x)
                loss, dlogits = softmax_cross_entropy(logits, ytr[idx], cfg.label_smoothing)
                if not math.isfinite(loss):
                    raise TrainingDiverged(
                        f"the loss became {loss} at epoch {epoch + 1}, step {s + 1} (learning rate {opt.lr:.3g}); "
                        f"nothing was written. Try a lower --lr; the last good checkpoint is {ckpt}")
                model.backward(dlogits)
                opt.step()
                opt.zero_grad()
                if average:
                    average.update(step + 1)
                p = state["partial"]
                p[0] += loss * len(idx)
                p[1] += int(np.sum(logits.argmax(1) == ytr[idx]))
                p[2] += len(idx)
                state["step_in_epoch"] = s + 1
                rate = (p[2] - seen_at_start) / max(time.time() - t0, 1e-9)
                bar.set_postfix(loss=f"{p[0] / p[2]:.4f}", acc=f"{p[1] / p[2]:.4f}", img_s=f"{rate:.0f}")
                if on_step is not None:
                    on_step(step + 1)
                if stop.requested and state["step_in_epoch"] < steps_per_epoch:
                    save_checkpoint(perm)
                    log(f"stopped at epoch {epoch + 1}, step {s + 1}; checkpoint saved to {ckpt}. "
                        f"Continue with the same options and --resume.")
                    stopped = True
                    break
            bar.close()
            if stopped:
                break

            p = state["partial"]
            # The weights kept are the running average's, when there is one, judged on validation;
            # the last step's are judged too, to show what the average gains.
            last_val_acc = None
            if len(val_idx):
                if average:
                    last_val_acc = evaluate(model, xtr[val_idx], ytr[val_idx])[1]
                with _weights_in(model, average.state_dict()) if average else contextlib.nullcontext():
                    val_loss, val_acc, _ = evaluate(model, xtr[val_idx], ytr[val_idx])
                score = val_loss
            else:  # no validation set: judged by the last step's running training accuracy
                val_loss = val_acc = float("nan")
                score = -p[1] / p[2]
            improved = state["best_score"] is None or score < state["best_score"]
            if improved:
                state["best_score"], state["best_epoch"], state["bad_epochs"] = score, epoch + 1, 0
                best = average.state_dict() if average else {k: v.copy() for k, v in model.state_dict().items()}
            else:
                state["bad_epochs"] += 1
            if cfg.schedule == "plateau":
                if state["plateau_best"] is None or score < state["plateau_best"] - 1e-4:
                    state["plateau_best"], state["plateau_bad"] = score, 0
                else:
                    state["plateau_bad"] += 1
                    if state["plateau_bad"] >= 2:
                        state["plateau_factor"] *= 0.5
                        state["plateau_bad"] = 0
            row = dict(epoch=epoch + 1, train_loss=p[0] / p[2], train_acc=p[1] / p[2], val_loss=val_loss,
                       val_acc=val_acc, lr=opt.lr, seconds=time.time() - t0)
            if last_val_acc is not None:
                row["val_acc_last_step"] = last_val_acc
            state["history"].append(row)
            log(f"epoch {epoch + 1:3d}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
                f"val loss {val_loss:.4f} acc {val_acc:.4f}"
                + (f" (last step's weights {last_val_acc:.4f})" if last_val_acc is not None else "")
                + f"  lr {opt.lr:.2e}  {row['seconds']:.1f}s" + ("  *" if improved else ""))
            state["epoch"] += 1
            state["perm"] = None
            patience = effective_patience(cfg)
            early = patience > 0 and state["bad_epochs"] >= patience
            save_checkpoint()
            if stop.requested:
                log(f"stopped after epoch {epoch + 1}; checkpoint saved to {ckpt}. "
                    f"Continue with the same options and --resume.")
                stopped = True
            elif early:
                log(f"early stop: validation has not improved for {patience} epochs")
                break
    if stopped:
        return {"stopped": True, "checkpoint": str(ckpt), "epoch": state["epoch"]}

    if best is not None:
        model.load_state_dict(best)
    model.eval()
    test_loss, _, all_probs = evaluate(model, xte, yte)
    # MNIST accuracy is over the ten digits; how often a test digit is refused is reported apart.
    probs = all_probs[:, :10] / all_probs[:, :10].sum(axis=1, keepdims=True)
    pred = probs.argmax(1)
    test_acc = float(np.mean(pred == yte))
    refused = float(np.mean(all_probs.argmax(1) == NOT_A_DIGIT))
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (yte, pred), 1)
    per_class = (np.diag(confusion) / np.maximum(confusion.sum(1), 1)).tolist()
    elapsed = state["elapsed"] + time.time() - clock[0]
    # The test digits again, through the pad's preprocessing: it should leave MNIST as it is,
    # so this accuracy should stay close to the one above.
    right = 0
    for i in range(0, len(xte), 1000):  # in chunks: the whole set at once would add ~60 MB at the peak
        remade = np.stack([preprocess_digit(img) for img in xte[i:i + 1000]])
        right += int(np.sum(model.predict_proba(remade[:, None])[:, :10].argmax(1) == yte[i:i + 1000]))
    preprocessed_acc = right / len(xte)
    # Temperature and thresholds from held-out data (MNIST validation + generated drawings).
    cal_x, cal_y = calibration_set(xtr[val_idx], ytr[val_idx], cfg.seed, digits=cfg.calibration_digits,
                                   non_digits=cfg.calibration_digits // 2 if cfg.non_digits else 0)
    cal = calibrate(model, cal_x, cal_y)
    log(f"calibration: temperature {cal['temperature']:.3f}, ECE {cal['ece_before']:.2%} -> {cal['ece_after']:.2%}; "
        f"thresholds: unsure below {cal['unsure']:.2f}, not a digit from {cal['not_a_digit']:.2f}")
    results = dict(test_accuracy=test_acc, test_accuracy_preprocessed=preprocessed_acc,
                   test_refused_as_not_a_digit=refused, calibration=cal,
                   test_loss=test_loss, per_class_accuracy=per_class,
                   best_epoch=state["best_epoch"], epochs_run=len(state["history"]), history=state["history"],
                   train_seconds=elapsed, total_seconds=time.time() - started,
                   config=dataclasses.asdict(cfg), command=" ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
                   confusion=confusion.tolist())
    out_dir = Path(cfg.out).parent
    with _writing(f"the model {cfg.out}", ckpt):
        model.save(cfg.out, meta=dict(test_accuracy=test_acc, arch=cfg.arch if built_here else "own",
                                      epochs=len(state["history"]), seed=cfg.seed, classes=classes, calibration=cal,
                                      validation=dict(seed=cfg.seed, split=cfg.val_split, limit=cfg.limit),
                                      training_mix=dict(mnist=int(len(fit_idx) - len(gx)), synthetic=cfg.synthetic,
                                                        non_digits=cfg.non_digits, thicken=cfg.thicken,
                                                        thin=cfg.thin)))
    with _writing(f"the reports in {out_dir} (the model {cfg.out} is written)", ckpt):
        with atomic_open(out_dir / "metrics.json", "w") as f:
            json.dump(results, f, indent=1)
        from .reports import write_reports
        write_reports(out_dir, results, xte, yte, probs)
    log(f"test accuracy {test_acc:.4%} (loss {test_loss:.4f}; through preprocess_digit {preprocessed_acc:.2%}), "
        f"best epoch {state['best_epoch']}, "
        f"{elapsed / 60:.1f} min of training; model: {cfg.out}; reports: {out_dir}")
    return results


def main(argv=None):
    """Command line for train()."""
    d = Config()
    p = argparse.ArgumentParser(prog="tinycnn-train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--arch", default=d.arch, choices=sorted(ARCHITECTURES))
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES,
                   help="plateau halves the rate after 2 epochs without validation improvement")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--val-split", type=int, default=d.val_split, help="training images held out for validation")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="early stopping: stop after this many epochs without validation improvement (0: never); "
                        "-1: automatic, off for onecycle/cosine (their best epochs come last), 5 otherwise")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="train on the images as they are")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default=d.out, help="model file; metrics and pictures go beside it")
    p.add_argument("--limit", type=int, default=d.limit, help="use only the first N training images (0: all)")
    p.add_argument("--data", default=d.data, help="MNIST folder (default: the fetch command's)")
    p.add_argument("--synthetic", type=int, default=d.synthetic,
                   help="generated digits (pen strokes in many styles) added to the training images")
    p.add_argument("--non-digits", type=int, default=d.non_digits,
                   help="generated letters, shapes and scribbles, an 11th class 'not a digit' (0: ten classes)")
    p.add_argument("--thicken", type=float, default=d.thicken, help="share of images with thickened strokes")
    p.add_argument("--thin", type=float, default=d.thin, help="share of images with thinned strokes")
    p.add_argument("--calibration-digits", type=int, default=d.calibration_digits,
                   help="generated digits (and half as many non-digits) held out to fit temperature and thresholds")
    p.add_argument("--weight-average", type=float, default=d.weight_average,
                   help="keep a running average of the weights, and judge and keep it instead of the last step's "
                        "weights (0: off). It covers about the last tenth of the steps so far, until that is more "
                        "than 1/(1-this) steps (tc.WeightAverage)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    args = vars(p.parse_args(argv))
    resume = args.pop("resume")
    try:
        cfg = Config(**args)
        check_config(cfg)  # before the slow imports and the data
        result = train(cfg, resume=resume)
    except (TrainingDiverged, OutputError, ValueError, OSError) as e:  # ModelFileError, IDXError: ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted without saving; the last checkpoint is kept", file=sys.stderr)
        return 130
    return 130 if result.get("stopped") else 0


def command():
    """The training command (tinycnn-train, scripts/train.py): main() in a process of its own,
    which therefore keeps freed memory for reuse (speed.memory.keep_freed_memory: a step ran about
    10% faster). Calling main() from Python changes nothing in the caller's process."""
    keep_freed_memory()
    sys.exit(main())
