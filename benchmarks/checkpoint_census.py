"""Peak memory of a streaming checkpoint census against the largest layer (issue 22).

Writes a LLaMA-shaped bf16 checkpoint (``config.json``, one safetensors shard per block and
``model.safetensors.index.json``, as ``save_pretrained`` lays it out; every projection pruned at
random to ``--density``), then censuses it in a fresh process with
``bipartite_expanders.adapters.torch.checkpoint_census.census_checkpoint`` and prints that
process's peak resident memory (``VmHWM`` of /proc/self/status, and a /proc sampler; not
``ru_maxrss``, which Linux carries over from the parent across exec) against the size of the
checkpoint and of its largest layer. The generator holds one block at a time; the files are
deleted afterwards.

    OMP_NUM_THREADS=1 python benchmarks/checkpoint_census.py --blocks 6              # 2.4 GB, LLaMA-7B blocks
    python benchmarks/checkpoint_census.py --hidden 1024 --intermediate 2752 --blocks 2   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, threading, time
def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], status("VmRSS"))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
import torch, transformers
from bipartite_expanders.adapters.torch.checkpoint_census import census_checkpoint
time.sleep(0.2)
base = status("VmRSS")
t, c = time.perf_counter(), time.process_time()
res = census_checkpoint(sys.argv[1], workers=int(sys.argv[2]), universal_cover=(False if sys.argv[3] == "False" else "auto"))
wall, cpu = time.perf_counter() - t, time.process_time() - c
# VmHWM: this process's resident high-water mark (ru_maxrss would carry the parent's from before exec)
print(json.dumps({"base_rss": base, "peak_rss": status("VmHWM"), "peak_sampled": peak[0], "wall": wall, "cpu": cpu,
                  "layers": len(res["layers"]), "regime": res["regime"], "structure": res["structure"],
                  "max_edges": max(l["n_kept"] for l in res["layers"])}))
"""


def write_checkpoint(d: Path, hidden: int, intermediate: int, blocks: int, density: float, vocab: int,
                     seed: int) -> tuple[int, int]:
    """A LLaMA-shaped sharded bf16 checkpoint; returns (bytes on disk, bytes of the largest layer)."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig

    heads = max(1, hidden // 128)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=blocks,
                      num_attention_heads=heads, num_key_value_heads=heads, tie_word_embeddings=True,
                      architectures=["LlamaForCausalLM"])
    cfg.save_pretrained(d)
    gen = torch.Generator().manual_seed(seed)
    weight_map: dict[str, str] = {}
    total = 0
    n_files = blocks + 1

    def pruned(rows: int, cols: int) -> torch.Tensor:
        w = torch.randn(rows, cols, generator=gen, dtype=torch.float32).mul_(0.02)
        w.mul_(torch.rand(rows, cols, generator=gen) < density)
        return w.to(torch.bfloat16)

    for b in range(blocks + 1):
        shard = f"model-{b + 1:05d}-of-{n_files:05d}.safetensors"
        if b == blocks:
            tensors = {"model.embed_tokens.weight": pruned(vocab, hidden), "model.norm.weight": torch.ones(hidden)}
        else:
            p = f"model.layers.{b}."
            tensors = {p + f"self_attn.{n}_proj.weight": pruned(hidden, hidden) for n in "qkvo"}
            tensors[p + "mlp.gate_proj.weight"] = pruned(intermediate, hidden)
            tensors[p + "mlp.up_proj.weight"] = pruned(intermediate, hidden)
            tensors[p + "mlp.down_proj.weight"] = pruned(hidden, intermediate)
            tensors[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
            tensors[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        save_file(tensors, str(d / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, shard))
        total += (d / shard).stat().st_size
        del tensors
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total},
                                                                "weight_map": weight_map}))
    return total, 2 * hidden * intermediate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--intermediate", type=int, default=11008)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--universal-cover", choices=("auto", "off"), default="auto")
    ap.add_argument("--dir", help="where to write the checkpoint (default: a temporary directory, deleted after)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="ckpt-census-"))
    root.mkdir(parents=True, exist_ok=True)
    d = root / "llama-like"
    d.mkdir(exist_ok=True)
    try:
        t = time.perf_counter()
        size, largest = write_checkpoint(d, args.hidden, args.intermediate, args.blocks, args.density, args.vocab,
                                         args.seed)
        gen_s = time.perf_counter() - t
        uc = "auto" if args.universal_cover == "auto" else "False"
        out = subprocess.run([sys.executable, "-c", CHILD, str(d), str(args.workers), uc], check=True,
                             capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(d, ignore_errors=True)
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    gib = 2**30
    f64_dense = largest * 4  # the largest layer as a dense float64 array
    print(f"checkpoint: {args.blocks} LLaMA blocks {args.hidden} x {args.intermediate}, bf16, density {args.density}, "
          f"{size / gib:.2f} GiB in {args.blocks + 1} shards (written in {gen_s:.0f} s)")
    print(f"census: {r['layers']} layers ({r['structure']}), regime {r['regime']}, workers {args.workers}, "
          f"universal cover {args.universal_cover}; wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s")
    print("| quantity | bytes | x largest layer (bf16) |")
    print("|---|---|---|")
    for name, v in [("largest layer, bf16 on disk", largest), ("largest layer, dense float64", f64_dense),
                    ("checkpoint on disk", size), ("process after imports (RSS)", r["base_rss"]),
                    ("peak RSS (VmHWM)", r["peak_rss"]), ("peak RSS (/proc sampler)", r["peak_sampled"]),
                    ("peak RSS - after imports", r["peak_rss"] - r["base_rss"])]:
        print(f"| {name} | {v / gib:.3f} GiB | {v / largest:.2f} |")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
