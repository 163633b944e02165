"""Certified Ramanujan masks for every prunable layer of a CIFAR VGG-19: cost and outcome.

Per layer: the unfolded shape, the edges at the density, the certificate (or why the layer was
skipped), t2 against its bound, and the CPU time of the certified family against the two
uncertified controls (random near-biregular, Erdos-Renyi) measured in the same run. One BLAS
thread, as the project's timings are:

    OMP_NUM_THREADS=1 python benchmarks/ramanujan_masks_vgg19.py [--density 0.01 0.05] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from bipartite_expanders.adapters.torch import erdos_renyi_masks, prunable_layers, ramanujan_masks, random_biregular_masks, unfolded_shape  # noqa: E402
from bipartite_expanders.adapters.torch.lth.models import build_model  # noqa: E402
from bipartite_expanders.files import write_json  # noqa: E402


def timed(fn, *args, **kwargs):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", type=float, nargs="+", default=[0.01], help="densities to build (default 0.01)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write every family's to_dict() and the timings to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = build_model("vgg19", input_shape=(3, 32, 32), num_classes=10, seed=0)
    layers = prunable_layers(model)
    print(f"VGG-19 (CIFAR), {len(layers)} prunable layers; torch threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.2f}")
    record = {}
    for density in args.density:
        cert = {}
        per_layer = {}
        for name in layers:  # one layer at a time, to time each
            r, cpu, wall = timed(ramanujan_masks, model, density, seed=args.seed, layers=[name])
            cert[name] = r
            per_layer[name] = (cpu, wall)
        rb, cpu_rb, _ = timed(random_biregular_masks, model, density, seed=args.seed)
        er, cpu_er, _ = timed(erdos_renyi_masks, model, density, seed=args.seed)
        print(f"\ndensity {density:g}")
        print(f"{'layer':12s} {'shape':>12s} {'edges':>7s} {'degrees L':>9s} {'degrees R':>9s} {'certificate':>16s} "
              f"{'t2':>8s} {'bound':>8s} {'db':>8s} {'tries':>5s} {'sw':>4s} {'cpu s':>7s}")
        total_cpu = total_wall = 0.0
        n_cert = 0
        for name, mod in layers.items():
            r = cert[name]
            cpu, wall = per_layer[name]
            total_cpu += cpu
            total_wall += wall
            shape = "x".join(map(str, unfolded_shape(mod)))
            if name in r.skipped:
                print(f"{name:12s} {shape:>12s} {'':>7s} skipped: {r.skipped[name].split(': ', 1)[-1][:90]}")
                continue
            n_cert += 1
            for c in r.certificates[name]:
                print(f"{name:12s} {shape:>12s} {c.graph.n_edges:7d} {'%d-%d' % c.degrees_left:>9s} {'%d-%d' % c.degrees_right:>9s} "
                      f"{c.certificate:>16s} {c.t2:8.4f} {c.bound:8.4f} {c.db:8.4f} {c.tries:5d} {c.switches:4d} {cpu:7.2f}")
        print(f"certified {n_cert} of {len(layers)} layers; certified family {total_cpu:.2f} s CPU ({total_wall:.2f} s wall); "
              f"random near-biregular control {cpu_rb:.2f} s; Erdos-Renyi {cpu_er:.3f} s "
              f"(ratio certified / random control {total_cpu / max(cpu_rb, 1e-9):.1f}x); load average {os.getloadavg()[0]:.2f}")
        record[str(density)] = {
            "ramanujan": {n: cert[n].to_dict() for n in layers}, "random_biregular": rb.to_dict(), "erdos_renyi": er.to_dict(),
            "cpu_s": {"ramanujan": total_cpu, "ramanujan_per_layer": {n: per_layer[n][0] for n in layers},
                      "random_biregular": cpu_rb, "erdos_renyi": cpu_er},
        }
    if args.json:
        write_json(args.json, record, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
