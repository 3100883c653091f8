"""Training checkpoints: everything a run needs to go on where it stopped, in one .npz (no pickle).

The model, the running average of its weights, the best epoch's weights, the optimiser's moments
and the run's progress (as JSON, with the random generator's state) are written atomically after
every epoch and on Ctrl-C; loading checks every entry before anything is restored.
"""
import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

from ..fileio import atomic_open
from ..modelfile import Archive, ModelFileError, read_arrays


def checkpoint_path(cfg):
    return Path(cfg.out).with_name(Path(cfg.out).stem + ".checkpoint.npz")


def save_checkpoint(path, model, opt, average, best, state):
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


def load_checkpoint(path, cfg, model, opt, average, rng, fit_idx, steps_per_epoch):
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
