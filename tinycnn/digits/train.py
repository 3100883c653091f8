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
from ..data import load_mnist
from ..data.mnist import default_root as mnist_root
from ..data.unipen import FOLDER as UNIPEN_FOLDER
from ..data.unipen import default_root as unipen_root
from ..data.unipen import load_unipen, read_manifest, writer_split
from ..fileio import atomic_open, remove_stale_temps
from ..losses import softmax_cross_entropy
from ..optim import Adam, WeightAverage
from ..speed.memory import keep_freed_memory
from .architectures import ARCHITECTURES
from .augment import augment, restroke
from .calibration import calibrate, calibration_set
from .checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from .pendigits import pen_set, per_writer
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
    pen_per_writer: int = 150  # real pen digits (UNIPEN's training writers) at most per writer (0: none)
    unipen: str = ""           # UNIPEN's folder ("": the data folder's)
    synthetic: int = 0         # generated digits added to MNIST's (tinycnn.digits.strokes): with real pen
                               # digits in, they no longer helped the dev writers (docs/measurements.md)
    non_digits: int = 4000     # generated non-digits, an 11th class "not a digit" (0: ten classes)
    thicken: float = 0.25      # share of training images whose strokes are made one pixel thicker,
    thin: float = 0.1          # and thinner (with augmentation only)
    calibration_digits: int = 3000  # generated digits (and half as many non-digits) held out to calibrate
    weight_average: float = 0.9995  # largest decay of the running average of the weights that is kept (0: off)


DIGIT_CLASSES = [str(d) for d in range(10)]


def generated_training_set(cfg, share=1.0, log=print):
    """The generated part of the training set, the same for the same cfg.seed: cfg.synthetic
    digits and cfg.non_digits non-digits (times `share`) from the "train" seed stream of
    tinycnn.digits.strokes, read through preprocess_digit as drawings are.
    Returns (images (N, 28, 28) uint8, labels (N,))."""
    t = time.time()
    rng = rng_for("train", cfg.seed)
    n_digits, n_non = round(cfg.synthetic * share), round(cfg.non_digits * share)
    dx, dy = make_digits(n_digits, rng)
    nx, ny, _ = make_non_digits(n_non, rng)
    if n_digits or n_non:
        log(f"generated {n_digits} digits and {n_non} non-digits in {time.time() - t:.1f}s")
    return np.concatenate([dx, nx]), np.concatenate([dy, ny])


def pen_training_set(cfg, share=1.0, log=print):
    """Real pen digits: UNIPEN's training writers (at most cfg.pen_per_writer digits each, times
    `share`), drawn and read as the pad does (tinycnn.digits.pendigits), and the dev_tune writers'
    digits, which only calibration sees. The dev_report writers are never touched.
    Returns (images (N, 28, 28) uint8, labels (N,), (tune images, tune labels))."""
    none = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    if not cfg.pen_per_writer:
        return (*none, none)
    t = time.time()
    samples = load_unipen(cfg.unipen or None)
    rng = rng_for("pen", cfg.seed)
    train = per_writer([s for s in samples if writer_split(s.writer) == "train"], cfg.pen_per_writer, rng)
    if share < 1:
        train = [train[i] for i in np.sort(rng.choice(len(train), round(len(train) * share), replace=False))]
    px, py = pen_set(train, rng)
    tune = pen_set([s for s in samples if writer_split(s.writer) == "dev_tune"], rng)
    log(f"drew {len(px)} real pen digits of {len({s.writer for s in train})} writers to train on, and "
        f"{len(tune[1])} to calibrate on, in {time.time() - t:.1f}s")
    return px, py, tune


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
    for name in ("pen_per_writer", "synthetic", "non_digits", "calibration_digits"):
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
        started = time.time()
        run = build(cfg, prepare_data(cfg, data, log), model)
        if resume:
            restore(run, log)
        with _StopFlag() as stop:
            while run.progress.epoch < cfg.epochs:
                if not one_epoch(run, stop, on_step):
                    return stopped(run, log, during_epoch=True)
                early = end_of_epoch(run, log)
                if stop.requested:
                    return stopped(run, log, during_epoch=False)
                if early:
                    break
        return finish(run, log, started)


@dataclasses.dataclass
class Data:
    """The images of one run: training (MNIST's, then the added drawings) and test, uint8 (N, 28, 28)."""
    images: np.ndarray
    labels: np.ndarray        # int64; NOT_A_DIGIT for non-digits
    fit_idx: np.ndarray       # the images trained on
    val_idx: np.ndarray       # MNIST's images held out for validation
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list
    mix: dict                 # how many images of each kind, for the model's meta
    pen_tune: tuple           # (images, labels) of the pen writers kept to tune calibration


@dataclasses.dataclass
class Progress:
    """Where a run is: all of it goes into the checkpoint (as JSON, perm as an array)."""
    config: dict
    epoch: int = 0
    step_in_epoch: int = 0
    history: list = dataclasses.field(default_factory=list)
    best_score: float = None
    best_epoch: int = None
    bad_epochs: int = 0
    plateau_factor: float = 1.0
    plateau_best: float = None
    plateau_bad: int = 0
    partial: list = dataclasses.field(default_factory=lambda: [0.0, 0, 0])  # loss sum, right, seen
    rng: dict = None
    elapsed: float = 0.0
    perm: np.ndarray = None   # this epoch's order of fit_idx


@dataclasses.dataclass
class Run:
    """One training run: its data, model, optimiser, running average and progress."""
    cfg: Config
    data: Data
    model: object
    opt: Adam
    average: WeightAverage
    rng: np.random.Generator
    progress: Progress
    best: dict = None          # the state dict kept (the best validation epoch's)
    built_here: bool = True
    clock: float = dataclasses.field(default_factory=time.time)

    @property
    def steps_per_epoch(self):
        return math.ceil(len(self.data.fit_idx) / self.cfg.batch_size)


def prepare_data(cfg, data, log):
    """MNIST (or `data`), its validation split, and the drawings added to the training images:
    real pen digits, generated digits and non-digits. Validation stays MNIST's."""
    xtr, ytr, xte, yte = data if data is not None else load_mnist(cfg.data or None)
    if cfg.limit:
        xtr, ytr = xtr[:cfg.limit], ytr[:cfg.limit]
    if cfg.val_split >= len(xtr):
        raise ValueError(f"--val-split {cfg.val_split} leaves none of the {len(xtr)} training images to train on")
    val_idx, fit_idx = validation_split(len(xtr), cfg.seed, cfg.val_split)
    share = min(1.0, cfg.limit / 60000) if cfg.limit else 1.0  # --limit scales the added drawings too
    px, py, pen_tune = pen_training_set(cfg, share, log)
    gx, gy = generated_training_set(cfg, share, log)
    added_x, added_y = np.concatenate([px, gx]), np.concatenate([py, gy])
    mix = dict(mnist=len(fit_idx), pen=len(px), synthetic=int(np.sum(gy != NOT_A_DIGIT)),
               non_digits=int(np.sum(gy == NOT_A_DIGIT)), pen_per_writer=cfg.pen_per_writer,
               thicken=cfg.thicken, thin=cfg.thin)
    return Data(np.concatenate([xtr, added_x]), np.concatenate([ytr.astype(np.int64), added_y]),
                np.concatenate([fit_idx, np.arange(len(xtr), len(xtr) + len(added_x))]), val_idx, xte, yte,
                DIGIT_CLASSES + (["not a digit"] if cfg.non_digits else []), mix, pen_tune)


def build(cfg, data, model=None):
    """The model (cfg.arch's, unless one is given), its optimiser and running average."""
    built_here = model is None
    classes = data.classes
    if model is None:
        model = ARCHITECTURES[cfg.arch](classes=len(classes))
    elif model.output_shape((1, 28, 28)) != (len(classes),):
        raise ValueError(f"the model gives outputs of shape {model.output_shape((1, 28, 28))}, but this training "
                         f"has {len(classes)} classes ({', '.join(classes[:2])}, ..., {classes[-1]}); "
                         "a ten-class model trains with non_digits=0")
    average = WeightAverage(model, cfg.weight_average) if cfg.weight_average else None
    return Run(cfg, data, model, Adam(model, lr=cfg.lr, weight_decay=cfg.weight_decay), average,
               tc_random.default_rng(), Progress(config=dataclasses.asdict(cfg)), built_here=built_here)


def restore(run, log):
    """Continue from the checkpoint beside cfg.out."""
    ckpt = checkpoint_path(run.cfg)
    if not ckpt.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}")
    run.best, saved = load_checkpoint(ckpt, run.cfg, run.model, run.opt, run.average, run.rng,
                                      run.data.fit_idx, run.steps_per_epoch)
    saved["config"] = dataclasses.asdict(run.cfg)
    run.progress = Progress(**saved)
    log(f"resuming from {ckpt}: epoch {run.progress.epoch + 1}, step {run.progress.step_in_epoch}")


def save(run, perm=None):
    """Write the checkpoint (perm: this epoch's order, when stopping inside it)."""
    p, now = run.progress, time.time()
    p.rng, p.perm, p.elapsed, run.clock = run.rng.bit_generator.state, perm, p.elapsed + now - run.clock, now
    ckpt = checkpoint_path(run.cfg)
    with _writing(f"the checkpoint {ckpt}", ckpt):
        save_checkpoint(ckpt, run.model, run.opt, run.average, run.best, dataclasses.asdict(p))


def one_epoch(run, stop, on_step):
    """Train on one epoch's batches (or what is left of them). False when Ctrl-C stopped it inside."""
    from tqdm import tqdm

    cfg, p, d, model = run.cfg, run.progress, run.data, run.model
    if p.perm is None:
        p.perm, p.step_in_epoch, p.partial = d.fit_idx[run.rng.permutation(len(d.fit_idx))], 0, [0.0, 0, 0]
    n, total = run.steps_per_epoch, run.steps_per_epoch * cfg.epochs
    model.train()
    t0, seen_at_start = time.time(), p.partial[2]
    bar = tqdm(range(p.step_in_epoch, n), desc=f"epoch {p.epoch + 1}/{cfg.epochs}", initial=p.step_in_epoch,
               total=n, leave=False, disable=None, dynamic_ncols=True)
    for s in bar:
        idx = p.perm[s * cfg.batch_size:(s + 1) * cfg.batch_size]
        step = p.epoch * n + s
        run.opt.lr = lr_at(cfg, step, total, p.plateau_factor)
        loss, right = train_step(run, get_batch(run, idx), d.labels[idx], step)
        p.partial = [p.partial[0] + loss * len(idx), p.partial[1] + right, p.partial[2] + len(idx)]
        p.step_in_epoch = s + 1
        rate = (p.partial[2] - seen_at_start) / max(time.time() - t0, 1e-9)
        bar.set_postfix(loss=f"{p.partial[0] / p.partial[2]:.4f}", acc=f"{p.partial[1] / p.partial[2]:.4f}",
                        img_s=f"{rate:.0f}")
        if on_step is not None:
            on_step(step + 1)
        if stop.requested and s + 1 < n:
            bar.close()
            save(run, p.perm)
            return False
    bar.close()
    p.history.append(dict(epoch=p.epoch + 1, seconds=time.time() - t0))
    return True


def get_batch(run, idx):
    """The training images `idx` as the model takes them, augmented unless --no-augment."""
    x = to_input(run.data.images[idx])
    if run.cfg.augment:
        x = augment(restroke(x, run.rng, run.cfg.thicken, run.cfg.thin), run.rng)
    return x


def train_step(run, x, y, step):
    """Forward, loss, backward, Adam, and the running average: (loss, how many read right)."""
    logits = run.model.forward(x)
    loss, dlogits = softmax_cross_entropy(logits, y, run.cfg.label_smoothing)
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"the loss became {loss} at epoch {run.progress.epoch + 1}, step {step % run.steps_per_epoch + 1} "
            f"(learning rate {run.opt.lr:.3g}); nothing was written. Try a lower --lr; the last good "
            f"checkpoint is {checkpoint_path(run.cfg)}")
    run.model.backward(dlogits)
    run.opt.step()
    run.opt.zero_grad()
    if run.average:
        run.average.update(step + 1)
    return loss, int(np.sum(logits.argmax(1) == y))


def estimate_validation(run):
    """(score to minimise, validation loss, accuracy, the last step's accuracy or None). The weights
    judged are the running average's, when there is one; the last step's are judged too, to show
    what the average gains. Without a validation set: the running training accuracy."""
    d, avg = run.data, run.average
    if not len(d.val_idx):
        return -run.progress.partial[1] / run.progress.partial[2], float("nan"), float("nan"), None
    x, y = d.images[d.val_idx], d.labels[d.val_idx]
    last = evaluate(run.model, x, y)[1] if avg else None
    with _weights_in(run.model, avg.state_dict()) if avg else contextlib.nullcontext():
        loss, acc, _ = evaluate(run.model, x, y)
    return loss, loss, acc, last


def end_of_epoch(run, log):
    """Judge the epoch on validation, keep the best weights, step the plateau schedule, log and
    checkpoint. True when early stopping says to end here."""
    cfg, p = run.cfg, run.progress
    score, val_loss, val_acc, last = estimate_validation(run)
    improved = p.best_score is None or score < p.best_score
    if improved:
        p.best_score, p.best_epoch, p.bad_epochs = score, p.epoch + 1, 0
        run.best = run.average.state_dict() if run.average else {k: v.copy() for k, v in run.model.state_dict().items()}
    else:
        p.bad_epochs += 1
    if cfg.schedule == "plateau":
        if p.plateau_best is None or score < p.plateau_best - 1e-4:
            p.plateau_best, p.plateau_bad = score, 0
        else:
            p.plateau_bad += 1
            if p.plateau_bad >= 2:
                p.plateau_factor, p.plateau_bad = p.plateau_factor * 0.5, 0
    row = p.history[-1]
    row.update(train_loss=p.partial[0] / p.partial[2], train_acc=p.partial[1] / p.partial[2], val_loss=val_loss,
               val_acc=val_acc, lr=run.opt.lr)
    if last is not None:
        row["val_acc_last_step"] = last
    log(f"epoch {p.epoch + 1:3d}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
        f"val loss {val_loss:.4f} acc {val_acc:.4f}" + (f" (last step's weights {last:.4f})" if last is not None else "")
        + f"  lr {run.opt.lr:.2e}  {row['seconds']:.1f}s" + ("  *" if improved else ""))
    p.epoch, p.perm = p.epoch + 1, None
    save(run)
    patience = effective_patience(cfg)
    if patience > 0 and p.bad_epochs >= patience:
        log(f"early stop: validation has not improved for {patience} epochs")
        return True
    return False


def stopped(run, log, during_epoch):
    p, ckpt = run.progress, checkpoint_path(run.cfg)
    where = f"epoch {p.epoch + 1}, step {p.step_in_epoch}" if during_epoch else f"after epoch {p.epoch}"
    log(f"stopped at {where}; checkpoint saved to {ckpt}. Continue with the same options and --resume.")
    return {"stopped": True, "checkpoint": str(ckpt), "epoch": p.epoch}


def finish(run, log, started):
    """Take the best weights, score the test set, calibrate, and write the model and reports."""
    cfg, d, model, p = run.cfg, run.data, run.model, run.progress
    if run.best is not None:
        model.load_state_dict(run.best)
    model.eval()
    results = test_scores(model, d.test_images, d.test_labels)
    probs = results.pop("probs")
    cal_x, cal_y = calibration_set(d.images[d.val_idx], d.labels[d.val_idx], cfg.seed, digits=cfg.calibration_digits,
                                   non_digits=cfg.calibration_digits // 2 if cfg.non_digits else 0, extra=d.pen_tune)
    cal = calibrate(model, cal_x, cal_y)
    log(f"calibration: temperature {cal['temperature']:.3f}, ECE {cal['ece_before']:.2%} -> {cal['ece_after']:.2%}; "
        f"thresholds: unsure below {cal['unsure']:.2f}, not a digit from {cal['not_a_digit']:.2f}")
    elapsed = p.elapsed + time.time() - run.clock
    results.update(calibration=cal, best_epoch=p.best_epoch, epochs_run=len(p.history), history=p.history,
                   train_seconds=elapsed, total_seconds=time.time() - started, config=dataclasses.asdict(cfg),
                   command=" ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]), training_mix=d.mix)
    ckpt, out_dir = checkpoint_path(cfg), Path(cfg.out).parent
    with _writing(f"the model {cfg.out}", ckpt):
        model.save(cfg.out, meta=dict(test_accuracy=results["test_accuracy"], arch=cfg.arch if run.built_here else "own",
                                      epochs=len(p.history), seed=cfg.seed, classes=d.classes, calibration=cal,
                                      validation=dict(seed=cfg.seed, split=cfg.val_split, limit=cfg.limit),
                                      training_mix=d.mix))
    with _writing(f"the reports in {out_dir} (the model {cfg.out} is written)", ckpt):
        with atomic_open(out_dir / "metrics.json", "w") as f:
            json.dump(results, f, indent=1)
        from .reports import write_reports
        write_reports(out_dir, results, d.test_images, d.test_labels, probs)
    log(f"test accuracy {results['test_accuracy']:.4%} (loss {results['test_loss']:.4f}; through preprocess_digit "
        f"{results['test_accuracy_preprocessed']:.2%}), best epoch {p.best_epoch}, "
        f"{elapsed / 60:.1f} min of training; model: {cfg.out}; reports: {out_dir}")
    return results


def test_scores(model, xte, yte):
    """MNIST test figures: accuracy over the ten digits (how often a test digit is refused as
    "not a digit" apart), loss, per class, confusion, and the accuracy through the pad's
    preprocessing, which should leave MNIST as it is. probs: (N, 10) for the reports."""
    test_loss, _, all_probs = evaluate(model, xte, yte)
    probs = all_probs[:, :10] / all_probs[:, :10].sum(axis=1, keepdims=True)
    pred = probs.argmax(1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (yte, pred), 1)
    right = 0
    for i in range(0, len(xte), 1000):  # in chunks: the whole set at once would add ~60 MB at the peak
        remade = np.stack([preprocess_digit(img) for img in xte[i:i + 1000]])
        right += int(np.sum(model.predict_proba(remade[:, None])[:, :10].argmax(1) == yte[i:i + 1000]))
    return dict(test_accuracy=float(np.mean(pred == yte)), test_accuracy_preprocessed=right / len(xte),
                test_refused_as_not_a_digit=float(np.mean(all_probs.argmax(1) == NOT_A_DIGIT)),
                test_loss=test_loss, per_class_accuracy=(np.diag(confusion) / np.maximum(confusion.sum(1), 1)).tolist(),
                confusion=confusion.tolist(), probs=probs)


def _arguments():
    """The command line's options, each with its default shown in --help."""
    d = Config()
    p = argparse.ArgumentParser(prog="tinycnn-train", description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--arch", default=d.arch, choices=sorted(ARCHITECTURES), help="network to build (default: %(default)s)")
    add("--epochs", type=int, default=d.epochs, help="passes over the training images (default: %(default)s)")
    add("--batch-size", type=int, default=d.batch_size, help="images per step (default: %(default)s)")
    add("--lr", type=float, default=d.lr, help="peak learning rate (default: %(default)s)")
    add("--schedule", default=d.schedule, choices=SCHEDULES,
        help="learning-rate schedule; plateau halves the rate after 2 epochs without validation improvement "
             "(default: %(default)s)")
    add("--weight-decay", type=float, default=d.weight_decay, help="L2 penalty added to Adam's gradient (default: %(default)s)")
    add("--label-smoothing", type=float, default=d.label_smoothing,
        help="share of each target spread evenly over the other classes (default: %(default)s)")
    add("--val-split", type=int, default=d.val_split,
        help="MNIST training images held out for validation (default: %(default)s)")
    add("--patience", type=int, default=d.patience,
        help="stop after this many epochs without validation improvement; 0: never; -1: automatic, never for "
             "onecycle and cosine (their best epochs come last), 5 otherwise (default: %(default)s)")
    add("--no-augment", dest="augment", action="store_false",
        help="train on the images as they are (by default each batch is rotated, scaled, sheared, shifted and "
             "bent a little)")
    add("--seed", type=int, default=d.seed, help="the one seed every random choice comes from (default: %(default)s)")
    add("--out", default=d.out, help="model file; metrics and pictures go beside it (default: %(default)s)")
    add("--limit", type=int, default=d.limit,
        help="use only the first N MNIST training images, and the added drawings in proportion (0: all; "
             "default: %(default)s)")
    add("--data", default=d.data, metavar="DIR", help=f"MNIST's folder (default: {mnist_root()})")
    add("--pen-per-writer", type=int, default=d.pen_per_writer,
        help="real pen digits (UNIPEN's training writers, about 8,000 at 150) at most per writer, added to the "
             "training images; 0: none (default: %(default)s)")
    add("--unipen", default=d.unipen, metavar="DIR", help=f"UNIPEN's folder (default: {unipen_root()})")
    add("--synthetic", type=int, default=d.synthetic,
        help="generated digits (pen strokes in many styles) added to the training images; about 1 s per "
             "1,000; off by default: beside the real pen digits they did not help (default: %(default)s)")
    add("--non-digits", type=int, default=d.non_digits,
        help="generated letters, shapes and scribbles, an 11th class 'not a digit'; 0: ten classes "
             "(default: %(default)s)")
    add("--thicken", type=float, default=d.thicken, help="share of images with thickened strokes (default: %(default)s)")
    add("--thin", type=float, default=d.thin, help="share of images with thinned strokes (default: %(default)s)")
    add("--calibration-digits", type=int, default=d.calibration_digits,
        help="generated digits (and half as many non-digits) held out to fit temperature and thresholds "
             "(default: %(default)s)")
    add("--weight-average", type=float, default=d.weight_average,
        help="keep a running average of the weights, and judge and keep it instead of the last step's weights; "
             "0: off. It covers about the last tenth of the steps so far, until that is more than 1/(1-this) "
             "steps (tc.WeightAverage; default: %(default)s)")
    add("--resume", action="store_true", help="continue from the checkpoint beside --out")
    return p


def main(argv=None):
    """Command line for train(): one line and exit 1 on a mistake, 130 when stopped by Ctrl-C."""
    args = vars(_arguments().parse_args(argv))
    resume = args.pop("resume")
    try:
        cfg = Config(**args)
        check_config(cfg)  # before the slow imports and the data
        if cfg.pen_per_writer:  # the real pen digits are there (a quick look at their manifest)
            read_manifest(Path(cfg.unipen or unipen_root()) / UNIPEN_FOLDER)
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
