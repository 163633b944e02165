"""``bipartite-expanders sweep GRID --out DIR``: run a grid of lottery-ticket runs.

``GRID`` is a TOML (or YAML) grid file (:mod:`bipartite_expanders.adapters.torch.lth.grid`); every run lands in its
hashed run directory under ``DIR``, so rerunning the same command only does what is missing.
``--executor local`` (default) uses a process pool, ``--executor ray`` one Ray task per run, on a
local Ray instance or on the cluster at ``--address``. Exit status 1 when a run failed (the rest
of the grid still ran). Imports neither torch nor ray at module level.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("grid", metavar="GRID", help="grid file (.toml, or .yaml/.yml)")
    parser.add_argument("--out", required=True, help="parent directory of the run directories (shared storage on a cluster)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local: a process pool (default); ray: one Ray task per run")
    parser.add_argument("--address", help="ray: the cluster to join ('auto', 'ray://HEAD:10001', 'HEAD:6379'); "
                        "default: start a local Ray instance")
    parser.add_argument("--workers", type=int, help="local: processes (default: cores // num_cpus); ray: runs in "
                        "flight at once (default: all, queued by Ray)")
    parser.add_argument("--data-dir", help="where the data set's files are on the workers (default: the grid's)")
    parser.add_argument("--retries", type=int, help="resubmissions of a run whose worker died (default: the grid's, 1)")
    parser.add_argument("--stop-after", type=int, metavar="ROUND", help="every run returns after this round (resume later)")
    parser.add_argument("--dry-run", action="store_true", help="validate the grid, list its runs and exit")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def validate(args: argparse.Namespace) -> None:
    """The grid file (its fields, values and point count) and the flags, before anything runs."""
    from .grid import load_grid

    load_grid(args.grid)
    if args.address is not None and args.executor != "ray":
        raise ValueError("--address is only for --executor ray")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {args.workers}")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .grid import load_grid
    from .rundir import is_run_dir
    from .sweep import format_outcomes, run_sweep

    grid = load_grid(args.grid)
    if args.dry_run:
        for h in grid.runs():
            done = is_run_dir(Path(args.out) / h.run_name())
            print(json.dumps({"run": h.run_name(), "label": h.pruning.label, "seed": h.seed,
                              "started": done, "hparams": h.to_dict()}))
        print(f"{len(grid.runs())} runs; resources per run: {grid.resources}", file=sys.stderr)
        return 0
    res = run_sweep(grid, args.out, executor=args.executor, workers=args.workers, address=args.address,
                    data_dir=args.data_dir, progress=not args.no_progress, stop_after=args.stop_after,
                    retries=args.retries)
    print(format_outcomes(res), flush=True)
    if not res.ok:
        print(f"bipartite-expanders sweep: {len(res.failed)} of {len(res.outcomes)} runs failed; rerun the same "
              "command to retry them (their finished rounds are kept)", file=sys.stderr)
        return 1
    return 0
