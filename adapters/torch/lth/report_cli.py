"""``bipartite-expanders report RUN_DIR [RUN_DIR ...]``: the Figure 4 and Table 2 analogs.

A RUN_DIR is a run directory (it holds ``round_00.json``) or a directory of run directories
(``report runs`` renders every run under ``runs``). Writes PNGs and ``report.md`` into ``--out``
(default: ``report`` beside the runs). Imports no torch at all (the reports read JSON only), and
matplotlib only when a figure is drawn.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories, or directories of them")
    parser.add_argument("--out", help="output directory (default: RUN_DIR/report for one directory of runs, "
                        "else the runs' common parent/report)")
    parser.add_argument("--alpha", type=float, nargs="+", default=[1.5, 2.0],
                        help="tolerated accuracy drops in percentage points for Table 2 (default: 1.5 2)")
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="also plot this numeric census field per layer vs density (repeatable), "
                             "e.g. mask.t2, weight.delta_s, rho_uc")
    parser.add_argument("--kind", choices=("mask", "weight", "score"), default="mask",
                        help="which graph's margins Figure 4 draws (default: mask)")
    parser.add_argument("--statistics", action="store_true",
                        help="write only statistics.md and statistics.json (no figures): gains at matched density "
                             "with Student-t intervals over seeds and the per-seed values, accuracy at fixed densities, how the -Bound runs "
                             "stopped, Algorithm 1's decisions per layer and rule, Spearman partials with density "
                             "bins and configuration fixed effects (docs/bounded-pruning.md)")
    parser.add_argument("--interval", choices=("auto", "t", "bootstrap"), default="auto",
                        help="with --statistics: the interval over seeds; auto and t: Student t; bootstrap: percentile "
                             "bootstrap over runs, refused below 10 runs per comparison (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="with --statistics: the bootstrap's seed (default: 0)")
    parser.add_argument("--resamples", type=int, default=10_000,
                        help="with --statistics: bootstrap resamples (default: 10000)")
    parser.add_argument("--bins", type=int, default=30,
                        help="with --statistics: log-density bins of the binned partial Spearman (default: 30)")
    parser.add_argument("--title", default="", help="with --statistics: the markdown's title")
    parser.add_argument("--bands", type=float, nargs="+", metavar="EDGE",
                        help="density band edges, high to low, of the Spearman counter-check "
                             "(default: 1 0.5 0.2 0.1 0.05 0.02 0.01 0)")


def _default_out(run_dirs: list[str]) -> Path:
    from .rundir import find_run_dirs, is_run_dir

    found = find_run_dirs(run_dirs)
    if len(run_dirs) == 1 and not is_run_dir(run_dirs[0]):
        return Path(run_dirs[0]) / "report"
    parent = Path(os.path.commonpath([str(p.resolve().parent) for p in found]))
    return parent / "report"


def run(args: argparse.Namespace) -> int:
    from .report import render_report
    from .report.study import render_statistics

    out = Path(args.out) if args.out else _default_out(args.run_dirs)
    if args.statistics:
        md = render_statistics(args.run_dirs, out, title=args.title, seed=args.seed, n_resamples=args.resamples,
                               bins=args.bins, interval=args.interval)
        print(f"statistics: {md} (statistics.json)")
        return 0
    md = render_report(args.run_dirs, out, alphas=args.alpha, metrics=args.metric, kind=args.kind, bands=args.bands)
    print(f"report: {md} (figure4.png, table2.png" + "".join(f", metric_{m}.png" for m in args.metric) + ")")
    return 0
