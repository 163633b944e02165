"""``bipartite-expanders lth``: run (or resume) lottery-ticket pruning runs.

A ``--preset`` names a list of runs (``quickstart``: LeNet-300-100 on digits with IMP and
IMP-Bound); flags given explicitly override the preset's or the model's defaults. Each run lands
in ``OUT/<model>_<dataset>_<pruner>[-bound]_<hash>`` and a rerun of the same command resumes it.
This module's top level imports neither torch nor the data (``configure`` must stay cheap).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

__all__ = ["configure", "run", "hparams_from_args"]


def configure(parser: argparse.ArgumentParser) -> None:
    from .hparams import DATASET_NAMES, INIT_ALLOCATIONS, INIT_MASKS, MODEL_NAMES, PRESETS, SCORE_MODES, pruner_names

    # argparse formats help strings with %: a preset's "1.2 %" must be escaped
    presets = "; ".join(f"{k}: {v[0]}" for k, v in PRESETS.items()).replace("%", "%%")
    parser.add_argument("--preset", choices=list(PRESETS), help=f"a named set of runs ({presets})")
    parser.add_argument("--model", choices=MODEL_NAMES,
                        help="architecture (default: lenet300, or the preset's)")
    parser.add_argument("--dataset", choices=DATASET_NAMES,
                        help="data set (default: digits, or the preset's)")
    parser.add_argument("--data-dir", help="directory of the data set's files (fashion-mnist defaults to "
                        "/usr/share/datasets/fashion-mnist/; nothing is downloaded)")
    parser.add_argument("--pruner", choices=pruner_names(), help="scores (default: imp = magnitude)")
    parser.add_argument("--score-mode", choices=SCORE_MODES,
                        help="train or eval mode while SNIP / GraSP score (default: each method's original: SNIP eval, "
                             "GraSP train)")
    b = parser.add_mutually_exclusive_group()
    b.add_argument("--bound", dest="bound", action="store_const", const="bound", default=None,
                   help="prune by the Ramanujan bound (Algorithm 1): the -Bound variant")
    b.add_argument("--no-bound", dest="bound", action="store_const", const="plain", help="plain pruning only")
    b.add_argument("--both", dest="bound", action="store_const", const="both", help="run plain and -Bound")
    parser.add_argument("--reject-rate", type=float, help="the random-rejection control's refusal probability per "
                        "layer step (pruners '<name>-random', with --bound; docs/bounded-pruning.md)")
    parser.add_argument("--synflow-steps", type=int, help="plain SynFlow's scoring steps per round (default 100; 1 = "
                        "once per round, as bounded SynFlow scores)")
    parser.add_argument("--init-masks", choices=list(INIT_MASKS),
                        help="train sparse from initialisation: round 0 applies this mask family (ramanujan: certified; "
                             "random-biregular, erdos-renyi: its controls) at --init-density (default: none = dense); "
                             "use with --rounds 0 to train once")
    parser.add_argument("--init-density", type=float, help="total density of the born mask, in (0, 1]")
    parser.add_argument("--init-allocation", choices=INIT_ALLOCATIONS,
                        help="per-layer densities of the born mask: schedule (default) = an IMP ticket's of that total "
                             "density under the layer-wise rates, uniform = every layer at --init-density")
    parser.add_argument("--rounds", type=int, help="pruning rounds after the dense round 0")
    parser.add_argument("--target-density", type=float, help="stop once the total density is at or below this")
    parser.add_argument("--iterations", type=int, help="training iterations per round")
    parser.add_argument("--rewind-iter", type=int, help="iteration whose weights each round restarts from (0 = init)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"))
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--noise", type=float, nargs="*", metavar="SIGMA",
                        help="Gaussian noise sigmas of the noisy test sets, pixel units in [0, 1] (default: 0.1 0.3)")
    parser.add_argument("--scope", choices=("largest", "nonisolated", "all"), help="census scope (default: largest)")
    parser.add_argument("--seed", type=int, help="seeds init, data order, split, noise (default: 0)")
    parser.add_argument("--out", default="runs", help="parent directory of the run directories (default: runs)")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default: 1, deterministic)")
    parser.add_argument("--allow-dense-layers", action="store_true",
                        help="born sparse (--init-masks): leave a layer the family cannot mask at its density dense "
                             "(stated in round 0's record) instead of failing before training")
    parser.add_argument("--keep-weights", choices=("all", "last", "none"), default="all",
                        help="which rounds' trained weights to keep (sparse, weights_NN.pt; default: all); "
                             "every round's masks are always kept")
    parser.add_argument("--stop-after", type=int, metavar="ROUND", help="return after this round's record (resume later)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    parser.add_argument("--print-hparams", action="store_true", help="print the runs' hyperparameters and exit")


#: the most training iterations a round may ask for (a billion: far beyond any run, and a flag
#: value such as 10**20 is refused here instead of failing inside training)
MAX_ITERATIONS = 10**9
#: the largest seed (32 bits): every seed derived from it fits torch's and numpy's generators
MAX_SEED = 2**32 - 1
#: the largest noise sigma, in pixel units of [0, 1] images (beyond it the clipped image is noise)
MAX_NOISE = 1000.0


def _cpus() -> int:
    return max(1, os.cpu_count() or 1)


#: flag -> (attribute, check, what it must be)
_FLAG_CHECKS: dict[str, tuple[str, Any, str]] = {
    "--rounds": ("rounds", lambda v: v >= 0, "a non-negative integer"),
    "--iterations": ("iterations", lambda v: 1 <= v <= MAX_ITERATIONS, f"an integer in [1, {MAX_ITERATIONS:,}]"),
    "--rewind-iter": ("rewind_iter", lambda v: 0 <= v <= MAX_ITERATIONS, f"an integer in [0, {MAX_ITERATIONS:,}]"),
    "--batch-size": ("batch_size", lambda v: v >= 1, "a positive integer"),
    "--lr": ("lr", lambda v: math.isfinite(v) and v > 0, "a positive finite number"),
    "--target-density": ("target_density", lambda v: math.isfinite(v) and 0 < v <= 1, "a number in (0, 1]"),
    "--init-density": ("init_density", lambda v: math.isfinite(v) and 0 < v <= 1, "a number in (0, 1]"),
    # derived seeds (seed * 1,000,003 + round) must fit torch's 64-bit generator seed
    "--seed": ("seed", lambda v: 0 <= v <= MAX_SEED, f"an integer in [0, {MAX_SEED}]"),
    "--reject-rate": ("reject_rate", lambda v: math.isfinite(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "--synflow-steps": ("synflow_steps", lambda v: v >= 1, "a positive integer"),
    "--threads": ("threads", lambda v: 1 <= v <= _cpus(), f"an integer in [1, {_cpus()}] (the CPUs here)"),
    "--stop-after": ("stop_after", lambda v: v >= 0, "a non-negative integer"),
}


def check_args(args: argparse.Namespace) -> None:
    """Every flag's value checked before anything runs; the message names the flag."""
    for flag, (attr, ok, what) in _FLAG_CHECKS.items():
        v = getattr(args, attr, None)
        if v is not None and not ok(v):
            raise ValueError(f"{flag} must be {what}, got {v!r}")
    for s in args.noise or ():
        if not (math.isfinite(s) and 0 < s <= MAX_NOISE):
            raise ValueError(f"--noise sigmas must be positive and at most {MAX_NOISE:g}, got {s!r}")


def hparams_from_args(args: argparse.Namespace) -> list[Any]:
    """The runs the arguments ask for (the preset's, or one from the model's defaults), with
    every explicitly given flag applied; duplicates removed."""
    from .hparams import default_hparams, preset

    if args.preset:
        runs = preset(args.preset)
        if args.model or args.dataset:
            runs = [h.replace(model={"name": args.model or h.model.name}, dataset={"name": args.dataset or h.dataset.name})
                    for h in runs]
    else:
        runs = [default_hparams(args.model or "lenet300", args.dataset or "digits")]
    out = []
    for h in runs:
        tr: dict[str, Any] = {k: v for k, v in {
            "iterations": args.iterations, "rewind_iter": args.rewind_iter, "optimizer": args.optimizer,
            "lr": args.lr, "batch_size": args.batch_size}.items() if v is not None}
        pr: dict[str, Any] = {k: v for k, v in {
            "pruner": args.pruner, "rounds": args.rounds, "target_density": args.target_density,
            "score_mode": getattr(args, "score_mode", None), "reject_rate": getattr(args, "reject_rate", None),
            "synflow_steps": getattr(args, "synflow_steps", None), "init_masks": getattr(args, "init_masks", None),
            "init_density": getattr(args, "init_density", None),
            "init_allocation": getattr(args, "init_allocation", None)}.items() if v is not None}
        if args.bound == "bound":  # a control of the bound is validated with bound = true
            pr["bound"] = True
        sections: dict[str, Any] = {"training": tr, "pruning": pr}
        if args.noise is not None:
            sections["dataset"] = {"noise": tuple(args.noise)}
        if args.scope is not None:
            sections["analysis"] = {"scope": args.scope}
        if args.seed is not None:
            sections["seed"] = args.seed
        h = h.replace(**sections)
        if args.bound == "both":
            variants = [h.replace(pruning={"bound": False}), h.replace(pruning={"bound": True})]
        elif args.bound is not None:
            variants = [h.replace(pruning={"bound": args.bound == "bound"})]
        else:
            variants = [h]
        for v in variants:
            if all(v.hash() != o.hash() for o in out):
                out.append(v)
    return out


#: the flags that choose what runs (any one of them, or --preset, counts as asking for a run)
RUN_SETTINGS = ("model", "dataset", "pruner", "score_mode", "bound", "reject_rate", "synflow_steps", "init_masks",
                "init_density", "init_allocation", "rounds", "target_density", "iterations", "rewind_iter",
                "optimizer", "lr", "batch_size", "noise", "scope", "seed")


def settings_given(args: argparse.Namespace) -> bool:
    """Whether the command line names what to run: a ``--preset`` or at least one run setting."""
    return bool(args.preset) or any(getattr(args, name, None) is not None for name in RUN_SETTINGS)


def _would_run(runs: list[Any]) -> str:
    parts = [f"{h.model.name} on {h.dataset.name}, {h.pruning.label}, {h.pruning.rounds} rounds x "
             f"{h.training.iterations:,} iterations" for h in runs]
    return "; ".join(parts)


def validate(args: argparse.Namespace) -> None:
    """Every flag and the runs they ask for, checked before anything runs (exit status 2)."""
    check_args(args)
    hparams_from_args(args)


def run(args: argparse.Namespace) -> int:
    import warnings

    from bipartite_expanders.files import dumps

    check_args(args)
    runs = hparams_from_args(args)  # every run's hyperparameters validated before the first starts
    if not settings_given(args) and not args.print_hparams:
        # the model's defaults are the paper's full schedule: hours of CPU, never started by accident
        print(f"bipartite-expanders lth: error: no --preset and no run settings given; this would run "
              f"{_would_run(runs)} (hours on a CPU). Choose --preset quickstart (minutes) or another preset, or "
              "give the settings explicitly (e.g. --model lenet300 --rounds 20 --iterations 20000); "
              "--print-hparams shows them", file=sys.stderr)
        return 2
    if args.print_hparams:
        for h in runs:
            print(dumps({"run": h.run_name(), "hash": h.hash(), "hparams": h.to_dict()}, indent=2))
        return 0
    from .runner import run_lottery

    for h in runs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            res = run_lottery(h, args.out, data_dir=args.data_dir, progress=not args.no_progress, threads=args.threads,
                              stop_after=args.stop_after, keep_weights=args.keep_weights,
                              allow_dense_layers=args.allow_dense_layers)
        for w in caught:  # a damaged record moved aside: one line naming it
            print(f"bipartite-expanders lth: warning: {w.message}", file=sys.stderr)
        last = res.records[-1]
        noisy = ", ".join(f"sigma {s}: {a:.4f}" for s, a in last.accuracy["noisy"].items())
        resumed = f", resumed after round {res.resumed_from - 1}" if res.resumed_from else ""
        print(f"{h.pruning.label}: {res.run_dir}  round {last.round}, density {last.density['total']:.4f}, "
              f"accuracy {last.accuracy['clean']:.4f}" + (f" ({noisy})" if noisy else "")
              + f", stop: {last.stop or 'not yet'}{resumed}", file=sys.stdout, flush=True)
    return 0
