"""Census wall time of a CIFAR-shaped VGG-19 (20M weights) at 100%, 10% and 1% density.

Each density is reached from the same seeded model by one layer-wise magnitude step (every
layer keeps that fraction of its weights); the census analyses the mask and ``|W|`` graphs
of all 17 prunable layers. Run with one BLAS thread, as the project's timings are:

    OMP_NUM_THREADS=1 python benchmarks/census_vgg19.py [--repeat 3] [--per-layer] [--universal-cover [auto|exact]]

The issue-3 target is under 2 s per density on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from bipartite_expanders.adapters.torch import census, layer_graph, prunable_layers, prune_step  # noqa: E402
from bipartite_expanders.adapters.torch.lth.models import build_model  # noqa: E402


UC = {"off": False, "auto": "auto", "exact": True}


def build_vgg19() -> torch.nn.Module:
    return build_model("vgg19", input_shape=(3, 32, 32), num_classes=10, seed=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="census runs per density (best is reported)")
    ap.add_argument("--per-layer", action="store_true", help="also print each layer's time at each density")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--universal-cover", nargs="?", const="exact", default="off", choices=("off", "auto", "exact"),
                    help="universal-cover radius in each report: off (default, the Hoory census), auto (the "
                         "census default: exact except on large dense layers) or exact (everywhere; the flag alone)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = build_vgg19()
    n_weights = sum(m.weight.numel() for m in prunable_layers(base).values())
    print(f"VGG-19 (CIFAR), {len(prunable_layers(base))} prunable layers, {n_weights:,} weights; "
          f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    rows = []
    for density in (1.0, 0.1, 0.01):
        model = copy.deepcopy(base)
        if density < 1.0:
            prune_step(model, "magnitude", 1.0 - density)
        t0 = time.perf_counter()
        for mod in prunable_layers(model).values():
            layer_graph(mod, "mask"), layer_graph(mod, "weight")
        t_graph = time.perf_counter() - t0
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            c = census(model, solver=args.solver, universal_cover=UC[args.universal_cover])
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        kept = sum(lc.n_kept for lc in c.layers)
        rows.append((density, kept, min(times), sorted(times)[len(times) // 2], min(cpu), t_graph, c.regime, c.regime_weighted))
        if args.per_layer:
            for name, mod in prunable_layers(model).items():
                t0 = time.perf_counter()
                lc = census(model, layers=[name], solver=args.solver, universal_cover=UC[args.universal_cover]).layers[0]
                dt = time.perf_counter() - t0
                print(f"  d={density:<5} {name:14s} {str(lc.graph_shape):14s} {lc.n_kept:>9,} "
                      f"{dt * 1000:8.1f} ms  mask:{lc.mask.solver:7s} |W|:{lc.weight.solver:7s} "
                      f"t2/t1 mask {lc.mask.t2 / lc.mask.t1 if lc.mask.t1 else float('nan'):.3f}")
    print()
    print(f"{'density':>8} {'kept':>11} {'best s':>8} {'median s':>9} {'cpu s':>7} {'graphs s':>9} {'regime':>10} {'weighted':>10}")
    for d, kept, best, med, cpu_s, tg, reg, regw in rows:
        print(f"{d:8.2%} {kept:11,} {best:8.2f} {med:9.2f} {cpu_s:7.2f} {tg:9.2f} {reg:>10} {regw:>10}")
    print("\n(census = mask and |W| reports of every layer, wall time best and median of the repeats;")
    print(" 'cpu s' = process CPU time of the best run, less sensitive to a shared machine;")
    print(" 'graphs' = building the 34 graphs alone, wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
