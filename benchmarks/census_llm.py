"""Census of a LLaMA-7B-shaped checkpoint (issue 23): the dense verdict path against its compute floor.

The generator is part of the benchmark: it writes bf16 safetensors shards of a LLaMA-7B-shaped
model (32 blocks of q, k, v, o: 4096 x 4096; gate, up: 11008 x 4096; down: 4096 x 11008; 224
matrices, Gaussian weights of std 0.02), magnitude-pruned to 50 % unstructured or 2:4 (the two
largest of every 4 consecutive inputs). The census reads each tensor with
``safetensors.safe_open`` and analyses its mask and ``|W|`` graphs with
``ramanujan_report(..., accuracy="verdict")`` (one function, :func:`census_layer`). Per layer
kind it prints the time, the compute floor (the products the solver did, timed as plain float32
GEMMs of the same shapes in the same run), their ratio, the peak memory, and the verdicts
against a full-precision census (today's path, CSR and Lanczos to 1e-8) on a sample of layers.

The full model is 13.5 GB and slow to write here; ``--blocks`` and ``--scale`` run a subset:

    OMP_NUM_THREADS=1 python benchmarks/census_llm.py --blocks 2 --sample 2 [--scale 1] [--sparsity both]
    OMP_NUM_THREADS=1 python benchmarks/census_llm.py --cover-grid 1000000     # the cover-radius grid
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from bipartite_expanders import ramanujan_report  # noqa: E402

HIDDEN, INTERMEDIATE, BLOCKS = 4096, 11008, 32
KINDS = {"q_proj": "attn", "k_proj": "attn", "v_proj": "attn", "o_proj": "attn",
         "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def layer_shapes(scale: int) -> dict[str, tuple[int, int]]:
    h, i = HIDDEN // scale, INTERMEDIATE // scale
    return {"q_proj": (h, h), "k_proj": (h, h), "v_proj": (h, h), "o_proj": (h, h),
            "gate_proj": (i, h), "up_proj": (i, h), "down_proj": (h, i)}


def prune(w: torch.Tensor, sparsity: str) -> torch.Tensor:
    """Magnitude pruning to 50 %: per layer (unstructured) or 2 of every 4 inputs (2:4)."""
    a = w.abs().float()
    if sparsity == "2:4":
        groups = a.reshape(w.shape[0], -1, 4)
        keep = torch.zeros_like(groups, dtype=torch.bool)
        keep.scatter_(2, groups.topk(2, dim=2).indices, True)
        return w * keep.reshape(w.shape)
    threshold = a.flatten().kthvalue(a.numel() // 2).values
    return w * (a > threshold)


def write_checkpoint(folder: str, blocks: int, scale: int, sparsity: str, seed: int = 0) -> list[str]:
    """One bf16 safetensors shard per block; returns the shard paths."""
    gen = torch.Generator().manual_seed(seed)
    paths = []
    for b in range(blocks):
        tensors = {}
        for name, shape in layer_shapes(scale).items():
            w = torch.randn(shape, generator=gen) * 0.02
            part = "self_attn" if KINDS[name] == "attn" else "mlp"
            tensors[f"model.layers.{b}.{part}.{name}.weight"] = prune(w, sparsity).to(torch.bfloat16).contiguous()
        path = os.path.join(folder, f"model-{b:05d}-of-{blocks:05d}.safetensors")
        save_file(tensors, path)
        paths.append(path)
    return paths


def census_layer(weight: torch.Tensor, accuracy: str = "verdict") -> tuple:
    """The census of one layer: its mask and |W| reports (the call issue 22's census makes)."""
    a = weight.abs().to(torch.float32)  # one upcast per layer, shared by both reports
    return (ramanujan_report(a, weighted=False, accuracy=accuracy),
            ramanujan_report(a, weighted=True, accuracy=accuracy))


def full_precision_layer(weight: torch.Tensor) -> tuple:
    """Today's census of a layer: CSR of |W| (float64) and Lanczos to the 1e-8 contract."""
    g = sp.csr_array(weight.abs().double().numpy())
    return ramanujan_report(g, weighted=False), ramanujan_report(g, weighted=True)


def gemm_floor(shape: tuple[int, int], n_products: int, block: int = 8, repeat: int = 1) -> float:
    """Seconds for ``n_products`` column products with a float32 matrix of ``shape``, as plain GEMMs of
    ``block`` columns (half forward, half transposed), in this process."""
    rng = np.random.default_rng(0)
    A = rng.random(shape, dtype=np.float32)
    m, n = shape
    X, Y = rng.random((n, block), dtype=np.float32), rng.random((m, block), dtype=np.float32)
    pairs = max(1, round(n_products / (2 * block)))
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(pairs):
            A @ X
            A.T @ Y
        best = min(best, time.perf_counter() - t)
    return best * n_products / (2 * block * pairs)


def cover_graphs(max_edges: int):
    """The cover-radius grid: random sparse (gnmk) graphs with many vertices, the adversarial
    shapes of issue 23 (tests/cover_shapes.py), and the 16384 x 10 head at 90 %."""
    import networkx as nx

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from cover_shapes import hubs, pendant_chains, tree, unicyclic

    edges = 10_000
    while edges <= max_edges:
        n_left, n_right = edges // 10, edges // 20
        G = nx.bipartite.gnmk_random_graph(n_left, n_right, edges, seed=0)
        top = [v for v, d in G.nodes(data=True) if d["bipartite"] == 0]
        bottom = [v for v, d in G.nodes(data=True) if d["bipartite"] == 1]
        yield f"gnmk {n_left}x{n_right}", sp.csr_array(nx.bipartite.biadjacency_matrix(G, top, bottom))
        edges *= 10
    if max_edges >= 200_000:
        G = nx.bipartite.gnmk_random_graph(20_000, 10_000, 200_000, seed=0)
        top = [v for v, d in G.nodes(data=True) if d["bipartite"] == 0]
        bottom = [v for v, d in G.nodes(data=True) if d["bipartite"] == 1]
        yield "gnmk 20000x10000 (issue)", sp.csr_array(nx.bipartite.biadjacency_matrix(G, top, bottom))
    size = min(max_edges, 50_000)
    for name, build in (("unicyclic", unicyclic), ("pendant chains", pendant_chains), ("hubs", hubs), ("tree", tree)):
        yield f"{name} {size}", build(size)
    rng = np.random.default_rng(0)
    yield "head 16384x10 @90%", sp.csr_array((rng.random((16384, 10)) < 0.9).astype(float))


def cover_grid(max_edges: int) -> int:
    import tracemalloc
    import warnings

    from bipartite_expanders import universal_cover_radius
    from bipartite_expanders.cover import CoverToleranceWarning

    print(f"# cover grid up to {max_edges} edges; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"load {os.getloadavg()[0]:.1f}; CPU seconds")
    warm = next(iter(cover_graphs(10_000)))[1]  # imports and compiled kernels outside the timings
    ramanujan_report(warm)
    universal_cover_radius(warm, tol=1e-9)
    print("| graph | edges | pair s | default report s | ratio | rho method | verdict_uc | radius s (exact) | "
          "radius peak MB | graph MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, B in cover_graphs(max_edges):
        c = time.process_time()
        ramanujan_report(B, universal_cover=False)
        pair = time.process_time() - c
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoverToleranceWarning)
            c = time.process_time()
            r = ramanujan_report(B)
            full = time.process_time() - c
            radius, peak = math.nan, math.nan
            if not name.startswith("gnmk") or min(B.shape) <= 2000:  # the exact radius where it is quick
                tracemalloc.start()
                c = time.process_time()
                universal_cover_radius(B, scope="largest", tol=1e-9)
                radius = time.process_time() - c
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
        graph_mb = (B.data.nbytes + B.indices.nbytes + B.indptr.nbytes) / 1e6
        print(f"| {name} | {B.nnz} | {pair:.2f} | {full:.2f} | {full / max(pair, 1e-9):.1f} | {r.rho_uc_method} | "
              f"{r.verdict_uc.value} | {radius:.2f} | {peak / 1e6:.1f} | {graph_mb:.2f} |", flush=True)
    return 0


def verdicts(r) -> tuple[str, str, str]:
    return (r.verdict_s.value, r.verdict_r.value, r.verdict_uc.value)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=BLOCKS, help="transformer blocks (7 matrices each; 32: LLaMA-7B)")
    ap.add_argument("--scale", type=int, default=1, help="divide every dimension by this")
    ap.add_argument("--sparsity", choices=("unstructured", "2:4", "both"), default="both")
    ap.add_argument("--sample", type=int, default=2, help="layers per kind also censused at full precision")
    ap.add_argument("--folder", default=None, help="where to write the shards (default: a temporary folder)")
    ap.add_argument("--cover-grid", type=int, default=0, metavar="MAX_EDGES",
                    help="run only the cover-radius grid, with graphs up to this many edges (e.g. 1000000)")
    args = ap.parse_args()
    if args.cover_grid:
        return cover_grid(args.cover_grid)
    if args.blocks < 1 or args.scale < 1 or args.sample < 0:
        ap.error("--blocks and --scale must be >= 1, --sample >= 0")
    kinds = ("unstructured", "2:4") if args.sparsity == "both" else (args.sparsity,)
    print(f"# census_llm: {args.blocks} blocks x 7 matrices, scale 1/{args.scale}, sparsity {', '.join(kinds)}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.1f}")
    total_wall = 0.0
    for sparsity in kinds:
        with tempfile.TemporaryDirectory(dir=args.folder) as folder:
            t = time.perf_counter()
            paths = write_checkpoint(folder, args.blocks, args.scale, sparsity)
            size = sum(os.path.getsize(p) for p in paths) / 1e9
            print(f"\n## {sparsity}: wrote {len(paths)} shards, {size:.2f} GB, in {time.perf_counter() - t:.1f} s")
            rows: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
            sampled: dict[tuple, int] = defaultdict(int)
            census_wall = 0.0
            for path in paths:
                with safe_open(path, framework="pt") as f:
                    for key in f.keys():
                        w = f.get_tensor(key)
                        kind = (key.split(".")[-2], tuple(w.shape))
                        t0, c0 = time.perf_counter(), time.process_time()
                        mask_r, weight_r = census_layer(w)
                        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                        census_wall += wall
                        row = rows[kind]
                        row["wall"].append(wall)
                        row["cpu"].append(cpu)
                        row["products"].append(sum(r.state.n_matvec if r.state is not None else 0
                                                   for r in (mask_r, weight_r)))
                        row["accuracy"].append(mask_r.accuracy + "/" + weight_r.accuracy)
                        row["verdicts"].append((verdicts(mask_r), verdicts(weight_r)))
                        if sampled[kind] < args.sample:
                            sampled[kind] += 1
                            t1 = time.perf_counter()
                            full = full_precision_layer(w)
                            row["full_wall"].append(time.perf_counter() - t1)
                            same = (verdicts(full[0]), verdicts(full[1])) == row["verdicts"][-1]
                            row["agree"].append(same)
                            if not same:
                                print(f"  DISAGREE {key}: verdict {row['verdicts'][-1]} full "
                                      f"{(verdicts(full[0]), verdicts(full[1]))}")
                        del w
                        gc.collect()
            total_wall += census_wall
            print(f"census wall {census_wall:.1f} s for {sum(len(r['wall']) for r in rows.values())} layers "
                  f"(mask + |W| reports each); peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
            print("| layer | shape | n | wall s/layer | CPU s/layer | products | GEMM floor s | wall/floor | "
                  "accuracy | full-precision s/layer (sample) | verdicts equal (sample) | verdicts (mask S,R,UC / |W| S,R,UC) |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for (name, shape), row in sorted(rows.items()):
                products = float(np.mean(row["products"]))
                floor = gemm_floor(shape, int(products))
                wall = float(np.mean(row["wall"]))
                acc = sorted(set(row["accuracy"]))
                vs = sorted(set(row["verdicts"]))
                full = f"{np.mean(row['full_wall']):.2f}" if row["full_wall"] else "-"
                agree = f"{sum(row['agree'])}/{len(row['agree'])}" if row["agree"] else "-"
                print(f"| {name} | {shape[0]}x{shape[1]} | {len(row['wall'])} | {wall:.2f} | {np.mean(row['cpu']):.2f} | "
                      f"{products:.0f} | {floor:.3f} | {wall / floor:.1f} | {','.join(acc)} | {full} | {agree} | "
                      f"{'; '.join('/'.join(','.join(v) for v in pair) for pair in vs)} |")
    n_layers = 224 * len(kinds)
    done = args.blocks * 7 * len(kinds)
    print(f"\ntotal census wall {total_wall:.1f} s for {done} layers; at this rate the full model "
          f"({n_layers} layers, scale 1/{args.scale}) takes ~{total_wall * n_layers / done:.0f} s on one process")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
