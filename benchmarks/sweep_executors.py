"""Wall time of one small grid under the local executor (1 and 2 workers) and under Ray.

The grid: LeNet-300-100 on digits, IMP and SNIP x 2 seeds, ``--iterations`` per round,
``--rounds`` pruning rounds. Each executor runs it from scratch into its own directory; the
records are compared (timing aside) and the wall times printed with their ratio to 1 local
worker, beside the machine's load average (a shared machine makes every number noisy).

    python benchmarks/sweep_executors.py [--iterations 200] [--rounds 3] [--skip-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bipartite_expanders.adapters.torch.lth.grid import parse_grid  # noqa: E402
from bipartite_expanders.adapters.torch.lth.sweep import run_sweep  # noqa: E402


def _records(out: Path) -> dict[str, list[str]]:
    from bipartite_expanders.adapters.torch.lth.rundir import find_run_dirs, read_records

    return {d.name: [json.dumps({k: v for k, v in r.to_json().items() if k != "timing"}, sort_keys=True)
                     for r in read_records(d)]
            for d in find_run_dirs([out])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    grid = parse_grid({"sweep": {"name": "bench"},
                       "base": {"model": {"name": "lenet300"}, "dataset": {"name": "digits", "noise": [0.2]},
                                "training": {"iterations": args.iterations}, "pruning": {"rounds": args.rounds}},
                       "grid": {"pruning": {"pruner": ["imp", "snip"]}, "seed": [0, 1]}})
    configs = [("local", 1), ("local", 2)] + ([] if args.skip_ray else [("ray", 2)])
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    rows, ref = [], None
    try:
        for executor, workers in configs:
            out = tmp / f"{executor}-{workers}"
            load = os.getloadavg()[0]
            t = time.perf_counter()
            if executor == "ray":
                import ray

                t_init = time.perf_counter()
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
                init_s = time.perf_counter() - t_init
                try:
                    res = run_sweep(grid, out, executor="ray", progress=False)
                finally:
                    ray.shutdown()
            else:
                init_s = 0.0
                res = run_sweep(grid, out, executor=executor, workers=workers, progress=False)
            wall = time.perf_counter() - t
            assert res.ok, [o.error for o in res.failed]
            recs = _records(out)
            same = "reference" if ref is None else ("same" if recs == ref else "DIFFERENT")
            ref = ref or recs
            run_s = sum(o.summary["seconds"] for o in res.outcomes)
            rows.append((f"{executor} x{workers}", wall, init_s, run_s, load, os.getloadavg()[0], same))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0][1]
    print(f"grid: 4 runs (IMP, SNIP x seeds 0, 1), LeNet-300-100 / digits, {args.iterations} iterations, "
          f"{args.rounds} rounds; {os.cpu_count()} cores")
    print("| executor | wall s | vs local x1 | ray.init s | sum of run s | load before | load after | records |")
    print("|---|---|---|---|---|---|---|---|")
    for name, wall, init_s, run_s, l0, l1, same in rows:
        print(f"| {name} | {wall:.1f} | {base / wall:.2f}x | {init_s:.1f} | {run_s:.1f} | {l0:.1f} | {l1:.1f} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
