"""Census of a LLaMA-7B-shaped checkpoint (issue 23): the user's census path, timed against its compute floor.

The generator is part of the benchmark: it writes a Hugging Face model directory
(``config.json`` from ``transformers.LlamaConfig``, one bf16 safetensors shard per block and
``model.safetensors.index.json``, as ``save_pretrained`` lays them out) of a LLaMA-7B-shaped model
(32 blocks of q, k, v, o: 4096 x 4096; gate, up: 11008 x 4096; down: 4096 x 11008; 224 matrices,
Gaussian weights of std 0.02), magnitude-pruned to 50 % unstructured (per layer) or 2:4 (the two
largest of every 4 consecutive inputs).

**The census** is the one users run, ``bipartite-expanders census DIR`` (its function
``census_checkpoint(DIR, workers="auto")``: one process per core, layers in parallel, each layer
read from its shard, its mask and ``|W|`` reports with the census default ``accuracy="verdict"``):
wall and CPU seconds, peak resident memory of every process, verdicts and which accuracy each
report got. **Per layer kind**, on ``--sample`` layers of each kind in this process (one thread):
the census of the layer alone (the same function; its first time and the best of ``--repeat``),
the products its solver did, the compute floor (those products timed as plain float32 GEMMs of
8 columns in the same run, the best of ``--repeat``), the ratio of the two bests,
and the full-precision census (``accuracy="full"``: CSR and Lanczos to 1e-8) with its verdicts
against the checkpoint census's.

The full model is 13.5 GB per sparsity; ``--blocks`` and ``--scale`` run a subset:

    python benchmarks/census_llm.py                      # 32 blocks, both sparsities
    python benchmarks/census_llm.py --blocks 2 --sample 1 [--scale 4] [--sparsity 2:4]
    OMP_NUM_THREADS=1 python benchmarks/census_llm.py --cover-grid 1000000     # the cover-radius grid
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
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
    a = w.abs()
    if sparsity == "2:4":
        groups = a.reshape(w.shape[0], -1, 4)
        keep = torch.zeros_like(groups, dtype=torch.bool)
        keep.scatter_(2, groups.topk(2, dim=2).indices, True)
        return w * keep.reshape(w.shape)
    flat = a.numpy().ravel()
    threshold = float(np.partition(flat, flat.size // 2)[flat.size // 2])  # O(n), unlike a sort
    return w * (a >= threshold)


def write_checkpoint(folder: str, blocks: int, scale: int, sparsity: str, seed: int = 0) -> list[str]:
    """A Hugging Face model directory: config.json, one bf16 shard per block, the shard index."""
    from transformers import LlamaConfig

    h, i = HIDDEN // scale, INTERMEDIATE // scale
    LlamaConfig(vocab_size=256, hidden_size=h, intermediate_size=i, num_hidden_layers=blocks,
                num_attention_heads=max(1, h // 128), num_key_value_heads=max(1, h // 128),
                architectures=["LlamaForCausalLM"]).save_pretrained(folder)
    gen = torch.Generator().manual_seed(seed)
    paths, weight_map, total = [], {}, 0
    for b in range(blocks):
        tensors = {}
        for name, shape in layer_shapes(scale).items():
            w = torch.randn(shape, generator=gen).mul_(0.02)
            part = "self_attn" if KINDS[name] == "attn" else "mlp"
            tensors[f"model.layers.{b}.{part}.{name}.weight"] = prune(w, sparsity).to(torch.bfloat16).contiguous()
        shard = f"model-{b + 1:05d}-of-{blocks:05d}.safetensors"
        save_file(tensors, os.path.join(folder, shard), metadata={"format": "pt"})
        weight_map.update({k: shard for k in tensors})
        total += sum(t.numel() * 2 for t in tensors.values())
        paths.append(os.path.join(folder, shard))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh)
    return paths


def layer_census(weight: torch.Tensor, accuracy: str = "verdict"):
    """The census of one layer alone, by the function the checkpoint census calls per layer."""
    from torch import nn

    from bipartite_expanders.adapters.torch import census

    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device="meta")
    lin.weight = nn.Parameter(weight, requires_grad=False)
    return census(nn.Sequential(lin), accuracy=accuracy).layers[0]


@contextlib.contextmanager
def one_thread():
    """BLAS (threadpoolctl) and torch on one thread inside the block, as in a census worker."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


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
    yield from vgg19_mask_graphs(max_edges)


def vgg19_mask_graphs(max_edges: int):
    """The mask graphs of a CIFAR-shaped VGG-19 (seeded init) after one layer-wise magnitude step
    to 10 % and to 1 % density, the layers of at most ``max_edges`` edges (every third layer, to
    keep the grid short; the benchmark census_vgg19.py times the whole census)."""
    from bipartite_expanders.adapters.torch import layer_graph, prunable_layers, prune_step
    from bipartite_expanders.adapters.torch.lth.models import build_model

    for density in (0.1, 0.01):
        model = build_model("vgg19", input_shape=(3, 32, 32), num_classes=10, seed=0)
        prune_step(model, "magnitude", 1.0 - density)
        for i, (name, mod) in enumerate(prunable_layers(model).items()):
            g = layer_graph(mod, "mask")
            if i % 3 == 0 and g.n_edges <= max_edges:
                yield f"VGG-19 {name} @{density:.0%}", g.matrix


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


def checkpoint_census(folder: str) -> tuple[dict, float, float, float]:
    """The user's census of the model directory: (result, wall s, CPU s of all processes, peak RSS GB of
    the largest worker and of this process)."""
    from bipartite_expanders.adapters.torch.checkpoint_census import census_checkpoint

    t, c0 = time.perf_counter(), os.times()
    with RssSampler() as rss:
        res = census_checkpoint(folder, workers="auto")
    wall, c1 = time.perf_counter() - t, os.times()
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system) - (
        c0.user + c0.system + c0.children_user + c0.children_system)
    return res, wall, cpu, (rss.largest / 1e9, rss.total / 1e9)


class RssSampler:
    """Resident memory of the census, sampled every 50 ms while the block runs: the largest
    worker process and the largest sum of the workers and of what this process added since the
    block began (ru_maxrss cannot tell: a spawned worker's counts the parent's pages at fork
    time, and this process's is a high-water mark of the whole benchmark, the checkpoint
    writer's tensors included)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.largest, self.total = interval, 0, 0
        self._stop = threading.Event()
        self._me = psutil.Process()
        self._base = self._me.memory_info().rss

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = []
            for p in self._me.children(recursive=True):
                try:
                    sizes.append(p.memory_info().rss)
                except psutil.Error:  # a worker that just ended
                    pass
            own = max(0, self._me.memory_info().rss - self._base)
            self.largest = max(self.largest, max(sizes, default=0), own)
            self.total = max(self.total, sum(sizes) + own)
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def record_verdicts(rec: dict) -> tuple:
    return tuple(tuple(rec[k][f] for f in ("verdict_s", "verdict_r", "verdict_uc")) for k in ("mask", "weight"))


def layer_verdicts(lc) -> tuple:
    return (verdicts(lc.mask), verdicts(lc.weight))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=BLOCKS, help="transformer blocks (7 matrices each; 32: LLaMA-7B)")
    ap.add_argument("--scale", type=int, default=1, help="divide every dimension by this")
    ap.add_argument("--sparsity", choices=("unstructured", "2:4", "both"), default="both")
    ap.add_argument("--sample", type=int, default=1, help="layers per kind also timed alone and at full precision")
    ap.add_argument("--repeat", type=int, default=3,
                    help="times each sampled layer is timed alone; the best is compared with the floor, which is "
                         "timed the same way (default 3)")
    ap.add_argument("--folder", default=None, help="where to write the model (default: a temporary folder)")
    ap.add_argument("--cover-grid", type=int, default=0, metavar="MAX_EDGES",
                    help="run only the cover-radius grid, with graphs up to this many edges (e.g. 1000000)")
    args = ap.parse_args()
    if args.cover_grid:
        return cover_grid(args.cover_grid)
    if args.blocks < 1 or args.scale < 1 or args.sample < 0 or args.repeat < 1:
        ap.error("--blocks, --scale and --repeat must be >= 1, --sample >= 0")
    kinds = ("unstructured", "2:4") if args.sparsity == "both" else (args.sparsity,)
    print(f"# census_llm: {args.blocks} blocks x 7 matrices, scale 1/{args.scale}, sparsity {', '.join(kinds)}; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} before the run")
    total_wall = 0.0
    for sparsity in kinds:
        with tempfile.TemporaryDirectory(dir=args.folder) as folder:
            t = time.perf_counter()
            paths = write_checkpoint(folder, args.blocks, args.scale, sparsity)
            size = sum(os.path.getsize(p) for p in paths) / 1e9
            print(f"\n## {sparsity}: wrote {len(paths)} shards, {size:.2f} GB, in {time.perf_counter() - t:.1f} s")
            load0 = os.getloadavg()[0]
            res, wall, cpu, peak = checkpoint_census(folder)
            total_wall += wall
            layers = res["layers"]
            acc = Counter(f"{r['mask']['accuracy']}/{r['weight']['accuracy']}" for r in layers)
            verd = Counter(f"{r['mask']['verdict']}/{r['weight']['verdict']}" for r in layers)
            print(f"census_checkpoint(workers='auto'): {len(layers)} layers in {wall:.1f} s wall, {cpu:.1f} CPU-s "
                  f"(all processes), peak RSS {peak[0]:.2f} GB (largest process), {peak[1]:.2f} GB (all census processes "
                  f"together); load {load0:.1f} -> "
                  f"{os.getloadavg()[0]:.1f}")
            print(f"accuracy (mask/|W|): {dict(acc)}; verdicts (mask/|W|): {dict(verd)}")
            by_name = {r["name"]: r for r in layers}
            rows: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
            for path in paths:
                with safe_open(path, framework="pt") as f:
                    for key in f.keys():
                        kind = (key.split(".")[-2], tuple(f.get_slice(key).get_shape()))
                        if len(rows[kind]["wall"]) >= args.sample:
                            continue
                        w = f.get_tensor(key)
                        with one_thread():  # as each census worker runs
                            walls, cpus = [], []
                            for _ in range(args.repeat):  # the best, as the floor's GEMMs are timed
                                t0, c0 = time.perf_counter(), time.process_time()
                                lc = layer_census(w)
                                walls.append(time.perf_counter() - t0)
                                cpus.append(time.process_time() - c0)
                            rows[kind]["first"].append(walls[0])
                            rows[kind]["wall"].append(min(walls))
                            rows[kind]["cpu"].append(cpus[int(np.argmin(walls))])
                        rows[kind]["products"].append(sum(r.state.n_matvec if r.state is not None else 0
                                                          for r in (lc.mask, lc.weight)))
                        t1 = time.perf_counter()
                        full = layer_census(w, accuracy="full")
                        rows[kind]["full_wall"].append(time.perf_counter() - t1)
                        name = key.removesuffix(".weight")
                        same = layer_verdicts(full) == layer_verdicts(lc) == record_verdicts(by_name[name])
                        rows[kind]["agree"].append(same)
                        if not same:
                            print(f"  DISAGREE {key}: checkpoint census {record_verdicts(by_name[name])}, alone "
                                  f"{layer_verdicts(lc)}, full {layer_verdicts(full)}")
                        del w, lc, full
                        gc.collect()
            print("\nPer layer kind, alone in this process (one thread):\n")
            print(f"| layer | shape | n | first wall s | wall s (best of {args.repeat}) | CPU s | products | GEMM floor s | "
                  "wall/floor | full-precision wall s | verdicts equal (checkpoint census, alone, full) |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for (name, shape), row in sorted(rows.items()):
                products = float(np.mean(row["products"]))
                with one_thread():
                    floor = gemm_floor(shape, int(products), repeat=args.repeat)
                wall_l = float(np.mean(row["wall"]))
                print(f"| {name} | {shape[0]}x{shape[1]} | {len(row['wall'])} | {np.mean(row['first']):.2f} | {wall_l:.2f} | "
                      f"{np.mean(row['cpu']):.2f} | "
                      f"{products:.0f} | {floor:.3f} | {wall_l / floor:.1f} | {np.mean(row['full_wall']):.2f} | "
                      f"{sum(row['agree'])}/{len(row['agree'])} |")
    print(f"\ntotal census wall {total_wall:.1f} s for {args.blocks * 7 * len(kinds)} layers "
          f"({len(kinds)} checkpoint(s) of {args.blocks} blocks, scale 1/{args.scale})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
