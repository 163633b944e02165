"""Reproduce the seed study's Table 2 and Figure 4 as a grid of lottery-ticket runs.

A *suite* is one model on one data set with a per-round training length; its grid is every pruner
(IMP, SNIP, SynFlow) plain and ``-Bound``, for each seed, with the study's layer-wise rates
(``p_fc = 0.2``, ``p_out = 0.1``) down to 1 % total density. Each run is the pipeline's own hashed,
resumable run directory (:func:`bipartite_expanders.adapters.torch.lth.runner.run_lottery`), so rerunning a suite only
does what is missing and a killed process loses at most the round in flight. Several processes may
work on one grid: each claims the next unclaimed run (a claim file, created exclusively, that names
the process; a dead process's claim is taken over), and the grid is ordered seed-major, so that a
partial grid holds whole seeds first. ``--shard i/n`` instead gives a process a fixed share.

``bipartite-expanders report`` renders Table 2 and Figure 4 per run and over seeds, and the Spearman
counter-check; ``reproduce report`` adds the study's comparisons (:mod:`bipartite_expanders.adapters.torch.lth.report.study`).

>>> [h.pruning.label for h in suite_grid("digits", seeds=(0,))]
['IMP', 'IMP-Bound', 'SNIP', 'SNIP-Bound', 'SynFlow', 'SynFlow-Bound']
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Suite", "SUITES", "suite_grid", "configure", "run"]


@dataclass(frozen=True)
class Suite:
    """One model / data set / training length; ``rounds_plain`` and ``rounds_bound`` cap the rounds
    (plain runs stop at ``target_density`` first; bounded runs stop where no layer changes)."""

    model: str
    dataset: str
    iterations: int
    description: str
    pruners: tuple[str, ...] = ("imp", "snip", "synflow")
    seeds: tuple[int, ...] = (0, 1, 2)
    bounds: tuple[bool, ...] = (False, True)
    target_density: float | None = 0.01
    noise: tuple[float, ...] = (0.1, 0.3)
    #: (p_fc, p_out) instead of the model's (the study's 0.2, 0.1)
    rates: tuple[float, float] | None = None
    rounds_plain: int = 30
    rounds_bound: int = 40


#: suite name -> Suite. Iterations are shortened from the study's 20,000 per round to fit a 2-core
#: machine shared with other jobs (docs/results.md gives the measurements behind the choice).
SUITES: dict[str, Suite] = {
    "digits": Suite("lenet300", "digits", 100,
                    "LeNet-300-100 on scikit-learn digits (8x8), 100 iterations per round (about 4.5 epochs)"),
    # noise 0.3 only: sigma 0.1 moves accuracy by < 0.5 points here and a test set costs ~7 % of a round
    "fmnist": Suite("lenet300", "fashion-mnist", 300,
                    "LeNet-300-100 on Fashion-MNIST, 300 iterations per round (study: 20,000)", noise=(0.3,)),
    "fmnist-600": Suite("lenet300", "fashion-mnist", 600,
                        "IMP and IMP-Bound, seed 0, 600 iterations per round: a middle point of the shortening check",
                        pruners=("imp",), seeds=(0,)),
    # the reference of the shortening check: ``lth --preset lenet-fmnist --iterations 5000`` (one run
    # directory; docs/results/lenet300-fmnist-imp/ holds the pipeline's copy)
    "fmnist-long": Suite("lenet300", "fashion-mnist", 5000,
                         "IMP, seed 0, 5,000 iterations per round, 20 rounds: the reference for the shortening",
                         pruners=("imp",), seeds=(0,), bounds=(False,), target_density=None, rounds_plain=20),
    # The control the study lacks: a -Bound step that is accepted at k = 1 prunes p/2, so a -Bound run
    # that stays Ramanujan is plain pruning at half the rate. These plain runs at p/2 separate the
    # effect of the bound from the effect of the gentler schedule.
    "digits-halfrate": Suite("lenet300", "digits", 100, "plain IMP / SNIP / SynFlow at half the rates "
                             "(p_fc = 0.1, p_out = 0.05), the -Bound runs' schedule without the bound",
                             bounds=(False,), rates=(0.1, 0.05), rounds_plain=45),
    "fmnist-halfrate": Suite("lenet300", "fashion-mnist", 300, "plain pruning at half the rates on Fashion-MNIST",
                             bounds=(False,), rates=(0.1, 0.05), rounds_plain=45, noise=(0.3,)),
    "conv2-digits": Suite("conv2", "digits", 300, "Conv-2 on digits (8x8), 300 iterations per round"),
}


def suite_grid(name: str, *, seeds: Sequence[int] | None = None, pruners: Sequence[str] | None = None,
               iterations: int | None = None) -> list[Any]:
    """The :class:`~bipartite_expanders.adapters.torch.lth.hparams.Hparams` of a suite's runs, seed-major.

    ``seeds``, ``pruners`` and ``iterations`` override the suite's (a different ``iterations``
    gives different run hashes, i.e. other runs)."""
    from .hparams import default_hparams

    if name not in SUITES:
        raise ValueError(f"suite must be one of {list(SUITES)}, got {name!r}")
    s = SUITES[name]
    its = int(iterations) if iterations is not None else s.iterations
    out = []
    for seed in (s.seeds if seeds is None else tuple(seeds)):
        for pruner in (s.pruners if pruners is None else tuple(pruners)):
            for bound in s.bounds:
                rates = {} if s.rates is None else {"p_fc": s.rates[0], "p_out": s.rates[1]}
                h = default_hparams(s.model, s.dataset, pruner=pruner, bound=bound,
                                    rounds=s.rounds_bound if bound else s.rounds_plain,
                                    target_density=s.target_density, **rates)
                out.append(h.replace(training={"iterations": its}, dataset={"noise": s.noise}, seed=int(seed)))
    return out


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard must be I/N, got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard must be I/N with 0 <= I < N, got {text!r}")
    return i, n


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    r = sub.add_parser("run", help="run (or resume) a suite's grid")
    r.add_argument("suite", choices=list(SUITES))
    r.add_argument("--out", default="runs/table2", help="parent of the run directories (default: runs/table2)")
    r.add_argument("--seeds", type=int, nargs="+", help="override the suite's seeds")
    r.add_argument("--pruners", nargs="+", choices=("imp", "snip", "synflow", "random", "grasp"))
    r.add_argument("--iterations", type=int, help="override the suite's iterations per round")
    r.add_argument("--shard", type=_shard, default=(0, 1), metavar="I/N", help="run only grid entries j with j %% N == I")
    r.add_argument("--no-claim", action="store_true", help="do not claim runs (default: claim, so processes share a grid)")
    r.add_argument("--data-dir", help="data directory (default: the data set's)")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--list", action="store_true", help="list the runs (name and done rounds) and exit")
    r.add_argument("--no-progress", action="store_true")
    a = sub.add_parser("report", help="the study's comparisons over run directories: study points, the controls, "
                       "partial Spearman, one overlay figure (the report command gives Table 2 / Figure 4 per run "
                       "and over seeds)")
    a.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    a.add_argument("--out", required=True, help="output directory")
    a.add_argument("--title", default="", help="heading of the markdown")
    m = sub.add_parser("compare", help="the shortening check: runs that differ only in iterations, round by round")
    m.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    m.add_argument("--out", required=True, help="output directory (lengths.md, lengths.json)")
    c = sub.add_parser("collect", help="copy the JSON records of finished rounds (no .pt files) into a directory")
    c.add_argument("src", help="parent of run directories")
    c.add_argument("dest", help="destination (e.g. docs/results/fmnist)")
    c.add_argument("--full", action="store_true", help="copy the records unchanged (default: slim copies)")


def _run_grid(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .rundir import RecordError, read_records
    from .runner import run_lottery

    grid = suite_grid(args.suite, seeds=args.seeds, pruners=args.pruners, iterations=args.iterations)
    i, n = args.shard
    mine = [h for j, h in enumerate(grid) if j % n == i]
    if args.list:
        for h in mine:
            d = Path(args.out) / h.run_name()
            try:
                recs = read_records(d) if d.is_dir() else []
                state = "not started" if not recs else f"{len(recs)} rounds, stop={recs[-1].stop}"
            except RecordError as exc:
                state = f"damaged: {exc}"
            print(f"{h.run_name()}  seed {h.seed}  {h.pruning.label}: {state}")
        return 0
    for h in mine:
        if not args.no_claim and not claim_run(Path(args.out), h.run_name()):
            continue
        t = time.perf_counter()
        res = run_lottery(h, args.out, data_dir=args.data_dir, progress=not args.no_progress, threads=args.threads)
        last = res.records[-1]
        print(f"[{time.strftime('%H:%M:%S')}] {h.run_name()} seed {h.seed} {h.pruning.label}: round {last.round}, "
              f"density {last.density['total']:.4f}, acc {last.accuracy['clean']:.4f}, stop {last.stop}, "
              f"{time.perf_counter() - t:.0f} s this call", flush=True)
    return 0


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: open claim files of this process: their OS locks (``flock``) are its claims, released by the
#: kernel when it exits, however it exits
_CLAIMS: dict[str, int] = {}


def claim_run(out: Any, name: str) -> bool:
    """Claim run ``name`` under ``out`` for this process: True if it was free, ours, or held by a
    process that no longer exists (a finished run is also claimed: run_lottery returns at once).

    A claim is an exclusive OS lock (``flock``) on ``out/.claims/name``, taken in one atomic
    step and held while this process lives; the file names the PID. A file naming a live PID
    without the lock (written by an older version) is still respected."""
    import fcntl
    import os
    from pathlib import Path

    d = Path(out) / ".claims"
    d.mkdir(parents=True, exist_ok=True)
    path = d / name
    key = str(path.resolve())
    if key in _CLAIMS:
        return True
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    if text.isdigit() and len(text) < 12 and int(text) != os.getpid() and _alive(int(text)):
        os.close(fd)
        return False
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _CLAIMS[key] = fd
    return True


def _slim(obj: Any, digits: int = 7) -> Any:
    """Floats to ``digits`` significant digits; the bound's per-candidate reports dropped (the
    decision itself, its ``k``, rule and edge counts stay)."""
    if isinstance(obj, dict):
        return {k: _slim(v, digits) for k, v in obj.items() if k != "candidates"}
    if isinstance(obj, list):
        return [_slim(v, digits) for v in obj]
    if isinstance(obj, float) and obj == obj and abs(obj) != float("inf"):
        return float(f"{obj:.{digits}g}")
    return obj


def collect(src: str, dest: str, slim: bool = True) -> list[str]:
    """Copy ``hparams.json`` and the ``round_NN.json`` records of every run under ``src`` into
    ``dest/<run>/`` (the masks and rewind point stay behind); returns the run names copied.

    ``slim`` (default) keeps the committed copies small: floats to 7 significant digits and the
    -Bound decisions without their per-candidate reports; every field the reports read is kept."""
    import shutil
    from pathlib import Path

    from bipartite_expanders.files import write_json

    from .rundir import find_run_dirs, hparams_path, read_records, record_path

    names = []
    for d in find_run_dirs([src]):
        target = Path(dest) / d.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(hparams_path(d), hparams_path(target))
        for rec in read_records(d):
            doc = rec.to_json()
            write_json(record_path(target, rec.round), _slim(doc) if slim else doc)
        names.append(d.name)
    return names


def run(args: argparse.Namespace) -> int:
    if args.action == "run":
        return _run_grid(args)
    if args.action == "collect":
        names = collect(args.src, args.dest, slim=not args.full)
        print(f"copied the records of {len(names)} runs into {args.dest}")
        return 0
    if args.action == "compare":
        from pathlib import Path

        from bipartite_expanders.files import atomic_write, write_json

        from .report.load import load_runs
        from .report.markdown import compare_lengths_markdown
        from .report.stats import compare_lengths

        cmp = compare_lengths(load_runs(args.run_dirs))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "lengths.json", cmp, indent=1)
        md = compare_lengths_markdown(cmp)
        atomic_write(out / "lengths.md", md + "\n")
        print(md)
        return 0
    from .report.study import render_study

    md = render_study(args.run_dirs, args.out, title=args.title)
    print(f"study report: {md}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reproduce_table2", description=__doc__.split("\n\n")[0])
    configure(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
