"""``bipartite-expanders lth``: run (or resume) lottery-ticket pruning runs.

A ``--preset`` names a list of runs (``quickstart``: LeNet-300-100 on digits with IMP and
IMP-Bound); flags given explicitly override the preset's or the model's defaults. Each run lands
in ``OUT/<model>_<dataset>_<pruner>[-bound]_<hash>`` and a rerun of the same command resumes it.
This module's top level imports neither torch nor the data (``configure`` must stay cheap).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["configure", "run", "hparams_from_args"]


def configure(parser: argparse.ArgumentParser) -> None:
    from .hparams import DATASET_NAMES, MODEL_NAMES, PRESETS, PRUNERS

    presets = "; ".join(f"{k}: {v[0]}" for k, v in PRESETS.items()).replace("%", "%%")  # argparse formats help with %
    parser.add_argument("--preset", choices=list(PRESETS), help=f"a named set of runs ({presets})")
    parser.add_argument("--model", choices=MODEL_NAMES,
                        help="architecture (default: lenet300, or the preset's)")
    parser.add_argument("--dataset", choices=DATASET_NAMES,
                        help="data set (default: digits, or the preset's)")
    parser.add_argument("--data-dir", help="directory of the data set's files (fashion-mnist defaults to "
                        "/usr/share/datasets/fashion-mnist/; nothing is downloaded)")
    parser.add_argument("--pruner", choices=sorted(set(PRUNERS) - {"magnitude"}), help="scores (default: imp = magnitude)")
    b = parser.add_mutually_exclusive_group()
    b.add_argument("--bound", dest="bound", action="store_const", const="bound", default=None,
                   help="prune by the Ramanujan bound (Algorithm 1): the -Bound variant")
    b.add_argument("--no-bound", dest="bound", action="store_const", const="plain", help="plain pruning only")
    b.add_argument("--both", dest="bound", action="store_const", const="both", help="run plain and -Bound")
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
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1, deterministic)")
    parser.add_argument("--stop-after", type=int, metavar="ROUND", help="return after this round's record (resume later)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    parser.add_argument("--print-hparams", action="store_true", help="print the runs' hyperparameters and exit")


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
            "pruner": args.pruner, "rounds": args.rounds, "target_density": args.target_density}.items() if v is not None}
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


def run(args: argparse.Namespace) -> int:
    import json

    from .runner import run_lottery

    runs = hparams_from_args(args)
    if args.print_hparams:
        for h in runs:
            print(json.dumps({"run": h.run_name(), "hash": h.hash(), "hparams": h.to_dict()}, indent=2))
        return 0
    for h in runs:
        res = run_lottery(h, args.out, data_dir=args.data_dir, progress=not args.no_progress, threads=args.threads,
                          stop_after=args.stop_after)
        last = res.records[-1]
        noisy = ", ".join(f"sigma {s}: {a:.4f}" for s, a in last["accuracy"]["noisy"].items())
        resumed = f", resumed after round {res.resumed_from - 1}" if res.resumed_from else ""
        print(f"{h.pruning.label}: {res.run_dir}  round {last['round']}, density {last['density']['total']:.4f}, "
              f"accuracy {last['accuracy']['clean']:.4f}" + (f" ({noisy})" if noisy else "")
              + f", stop: {last['stop'] or 'not yet'}{resumed}", file=sys.stdout, flush=True)
    return 0
