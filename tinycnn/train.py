"""Train a network on MNIST from the IDX files: `python scripts/train.py` or `tinycnn-train`.

One run: split a validation set off the training images, train with Adam under a learning-rate
schedule (with augmentation, by default), checkpoint after every epoch, keep the weights of the
best validation epoch, then score the test set and write the model, metrics.json and pictures.

Reproducible: the library's one generator (tc.seed) draws the initial weights, the validation
split, every epoch's shuffle, the dropout masks and the augmentation, and its state is part of
every checkpoint; so an interrupted and resumed run ends with the same weights as an
uninterrupted one (on the same machine and thread count).
"""
import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import random as tc_random
from .architectures import ARCHITECTURES
from .augment import augment, restroke
from .calibration import calibrate, calibration_set
from .data import load_mnist
from .fileio import atomic_open
from .losses import softmax_cross_entropy
from .optim import Adam
from .preprocess import preprocess_digit
from .strokes import NOT_A_DIGIT, make_digits, make_non_digits, rng_for

SCHEDULES = ("onecycle", "cosine", "plateau", "constant")


@dataclasses.dataclass
class Config:
    arch: str = "resnet"
    epochs: int = 18
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


def checkpoint_path(cfg):
    return Path(cfg.out).with_name(Path(cfg.out).stem + ".checkpoint.npz")


def _save_checkpoint(path, model, opt, best, state):
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"best/{k}": v for k, v in (best or {}).items()})
    arrays.update({f"opt/{k}": v for k, v in opt.state_dict().items()})
    if state.get("perm") is not None:
        arrays["perm"] = state["perm"]
    meta = {k: v for k, v in state.items() if k != "perm"}
    with atomic_open(path) as f:
        np.savez(f, __state__=np.array(json.dumps(meta)), **arrays)


def _load_checkpoint(path, model, opt):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    state = json.loads(str(arrays.pop("__state__")))
    model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")}, source=str(path))
    opt.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt/")})
    best = {k[5:]: v for k, v in arrays.items() if k.startswith("best/")} or None
    state["perm"] = arrays.get("perm")
    return best, state


def train(cfg, data=None, log=print, on_step=None, resume=False):
    """Run training as `cfg` says. Returns a dict of results (also written to metrics.json).

    data: optional (train_x, train_y, test_x, test_y) uint8 arrays instead of load_mnist().
    on_step: optional callback(global_step), called after every optimiser step.
    resume: continue from the checkpoint beside cfg.out, which must have the same cfg.
    """
    from tqdm import tqdm

    if cfg.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {cfg.schedule!r}; choose one of {SCHEDULES}")
    started = time.time()
    xtr, ytr, xte, yte = data if data is not None else load_mnist(cfg.data or None)
    if cfg.limit:
        xtr, ytr = xtr[:cfg.limit], ytr[:cfg.limit]

    tc_random.seed(cfg.seed)
    rng = tc_random.default_rng()
    order = rng.permutation(len(xtr))
    val_idx, fit_idx = np.sort(order[:cfg.val_split]), np.sort(order[cfg.val_split:])
    # Generated drawings join the training images only; validation stays MNIST's.
    gx, gy = generated_training_set(cfg, log)
    fit_idx = np.concatenate([fit_idx, np.arange(len(xtr), len(xtr) + len(gx))])
    xtr, ytr = np.concatenate([xtr, gx]), np.concatenate([ytr.astype(np.int64), gy])
    classes = DIGIT_CLASSES + (["not a digit"] if cfg.non_digits else [])
    model = ARCHITECTURES[cfg.arch](classes=len(classes))
    opt = Adam(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
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
        best, saved = _load_checkpoint(ckpt, model, opt)
        if saved["config"] != dataclasses.asdict(cfg):
            changed = {k: (v, saved["config"].get(k)) for k, v in dataclasses.asdict(cfg).items()
                       if saved["config"].get(k) != v}
            raise ValueError(f"--resume: the options differ from the checkpoint's (now, then): {changed}")
        state.update(saved)
        rng.bit_generator.state = state["rng"]
        log(f"resuming from {ckpt}: epoch {state['epoch'] + 1}, step {state['step_in_epoch']}")
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)

    def save_checkpoint(perm=None):
        state["rng"] = rng.bit_generator.state
        state["perm"] = perm
        state["elapsed"] = state["elapsed"] + time.time() - clock[0]
        clock[0] = time.time()
        _save_checkpoint(ckpt, model, opt, best, state)

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
                model.backward(dlogits, need_dx=False)
                opt.step()
                opt.zero_grad()
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
            if len(val_idx):
                val_loss, val_acc, _ = evaluate(model, xtr[val_idx], ytr[val_idx])
                score = val_loss
            else:  # no validation set: judge by training accuracy
                val_loss = val_acc = float("nan")
                score = -p[1] / p[2]
            improved = state["best_score"] is None or score < state["best_score"]
            if improved:
                state["best_score"], state["best_epoch"], state["bad_epochs"] = score, epoch + 1, 0
                best = {k: v.copy() for k, v in model.state_dict().items()}
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
            state["history"].append(row)
            log(f"epoch {epoch + 1:3d}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
                f"val loss {val_loss:.4f} acc {val_acc:.4f}  lr {opt.lr:.2e}  {row['seconds']:.1f}s"
                + ("  *" if improved else ""))
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
    model.save(cfg.out, meta=dict(test_accuracy=test_acc, arch=cfg.arch, epochs=len(state["history"]),
                                  seed=cfg.seed, classes=classes, calibration=cal,
                                  validation=dict(seed=cfg.seed, split=cfg.val_split, limit=cfg.limit),
                                  training_mix=dict(mnist=int(len(fit_idx) - len(gx)), synthetic=cfg.synthetic,
                                                    non_digits=cfg.non_digits, thicken=cfg.thicken,
                                                    thin=cfg.thin)))
    out_dir = Path(cfg.out).parent
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
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    args = vars(p.parse_args(argv))
    resume = args.pop("resume")
    try:
        result = train(Config(**args), resume=resume)
    except (TrainingDiverged, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted without saving; the last checkpoint is kept", file=sys.stderr)
        return 130
    return 130 if result.get("stopped") else 0
