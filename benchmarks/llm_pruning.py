"""The LLM-pruning experiment: one-shot pruning of the byte-level Llama, with and without the Ramanujan lens.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/llm_pruning.py --models /work/wt-24-out \\
        --out docs/results/llm-pruning/records [--seeds 0 1 2]

For each seed's trained model (benchmarks/llm_train.py) and each pattern (50 %, 60 %
unstructured; 2:4) it runs magnitude, Wanda and SparseGPT, each

* unstructured: ``plain`` (uniform), ``owl`` (OWL outlier allocation, the baseline),
  ``spectral`` (allocation from the census margins), ``bounded`` (Ramanujan ceilings, water-filled);
* 2:4: ``plain``, ``bound_select`` (bound-respecting N:M selection), ``certified`` (certified
  Ramanujan 2:4 masks, weight-independent; SparseGPT reconstructs under them);

and records held-out bits per byte (and per-byte perplexity 2^bpb) on 256 fixed held-out windows
of 128 predicted bytes, the total sparsity, the per-layer sparsities and the census of the 28
pruned Linears: the study's rule ``max(delta_s, delta_r) >= 0`` (and each of delta_s, delta_r) and
the universal-cover test ``t2 <= rho(T)`` decided by the free O(E) bracket
(certified / refuted / undecided). Calibration: 32 training windows of 128 bytes (seeded).
One JSON record per run; a run whose record exists is skipped (resumable).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bipartite_expanders import ramanujan_report  # noqa: E402
from bipartite_expanders.adapters.torch import apply_masks, census, ensure_masks  # noqa: E402
from bipartite_expanders.adapters.torch.layers import layer_graph  # noqa: E402
from bipartite_expanders.adapters.torch.allocation import allocate_sparsity  # noqa: E402
from bipartite_expanders.adapters.torch.nm import bound_respecting_nm, ramanujan_nm_masks  # noqa: E402
from bipartite_expanders.adapters.torch.oneshot import layer_scores, oneshot_blocks, oneshot_prune  # noqa: E402
from stdlib_bytes import CONTEXT, bits_per_byte, corpus_bytes, eval_windows  # noqa: E402

METHODS = ("magnitude", "wanda", "sparsegpt")
PATTERNS = {"u50": ("unstructured", 0.5), "u60": ("unstructured", 0.6), "2:4": ("2:4", 0.5)}
VARIANTS = {"unstructured": ("plain", "owl", "spectral", "bounded"), "2:4": ("plain", "bound_select", "certified")}
GROUPS = {"magnitude": "layer", "wanda": "row", "sparsegpt": "layer"}


def census_summary(model, names, masks) -> dict:
    # the census reads each layer's mask (weight_mask): register the kept pattern first
    ensure_masks(model, names)
    apply_masks(model, {n: masks[n].float() for n in names})
    c = census(model, layers=names, universal_cover=False)
    modules = dict(model.named_modules())
    layers = []
    for lc in c.layers:
        r = lc.mask
        uc = "certified" if r.t2 <= r.uc_free_lower else "refuted" if r.t2 > r.uc_free_upper else "undecided"
        row = {"name": lc.name, "density": lc.density, "t1": r.t1, "t2": r.t2, "delta_s": r.delta_s,
               "delta_r": r.delta_r, "uc_free_lower": r.uc_free_lower, "uc_free_upper": r.uc_free_upper,
               "uc_free": uc, "uc": uc, "ramanujan": lc.is_ramanujan, "ramanujan_weighted": lc.is_ramanujan_weighted}
        if uc == "undecided":
            # the free O(E) bracket contains t2: the exact radius (about 2.5 s here) decides it
            exact = ramanujan_report(layer_graph(modules[lc.name], "mask"), universal_cover=True)
            row.update(rho_uc=exact.rho_uc, rho_uc_lower=exact.rho_uc_lower, rho_uc_upper=exact.rho_uc_upper,
                       uc={"ramanujan": "certified", "not_ramanujan": "refuted"}.get(exact.verdict_uc.value,
                                                                                       "undecided"))
        layers.append(row)
    return {"n_layers": len(layers), "ramanujan": sum(x["ramanujan"] for x in layers),
            "delta_s_ok": sum(x["delta_s"] >= 0 for x in layers), "delta_r_ok": sum(x["delta_r"] >= 0 for x in layers),
            "uc_certified": sum(x["uc_free"] == "certified" for x in layers),
            "uc_refuted": sum(x["uc_free"] == "refuted" for x in layers),
            "uc_undecided": sum(x["uc_free"] == "undecided" for x in layers),
            # the exact test, the free bracket first and the exact radius where it left t2 inside
            "uc_exact_certified": sum(x["uc"] == "certified" for x in layers),
            "uc_exact_refuted": sum(x["uc"] == "refuted" for x in layers),
            "uc_exact_undecided": sum(x["uc"] == "undecided" for x in layers),
            "ramanujan_weighted": sum(x["ramanujan_weighted"] for x in layers),
            "regime": c.regime, "layers": layers}


def json_clean(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if isinstance(x, dict):
        return {k: json_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_clean(v) for v in x]
    return x


def write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(json_clean(record), indent=1))
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--patterns", nargs="+", default=list(PATTERNS), choices=list(PATTERNS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--calibration", type=int, default=32, help="calibration windows of 128 bytes")
    ap.add_argument("--eval-windows", type=int, default=256)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from transformers import LlamaForCausalLM

    train = corpus_bytes("train")
    windows = eval_windows(corpus_bytes("held_out"), args.eval_windows)
    for seed in args.seeds:
        model_dir = args.models / f"seed{seed}" / "model"
        if not (model_dir / "model.safetensors").exists():
            print(f"seed {seed}: no trained model at {model_dir}; skipped", flush=True)
            continue
        rng = np.random.default_rng(1234 + seed)
        starts = rng.integers(0, len(train) - CONTEXT, args.calibration)
        calib = torch.from_numpy(np.stack([train[s:s + CONTEXT] for s in starts]).astype(np.int64))
        batches = [calib[i:i + 8] for i in range(0, len(calib), 8)]

        def load():
            return LlamaForCausalLM.from_pretrained(model_dir).eval()

        dense = load()
        names = [n for b in oneshot_blocks(dense) for n in b]
        out_dir = args.out / f"seed{seed}"
        if not (out_dir / "dense.json").exists():
            write(out_dir / "dense.json", {"seed": seed, "held_out_bpb": bits_per_byte(dense, windows),
                                           "n_windows": len(windows), "layers": names})
        scores_cache: dict[str, dict] = {}
        certified = None
        for pkey in args.patterns:
            pattern, sparsity = PATTERNS[pkey]
            for method in args.methods:
                for variant in VARIANTS["2:4" if pattern == "2:4" else "unstructured"]:
                    path = out_dir / f"{pkey.replace(':', 'of')}-{method}-{variant}.json"
                    if path.exists():
                        continue
                    t0 = time.perf_counter()
                    rec = {"seed": seed, "pattern": pkey, "method": method, "variant": variant, "target": sparsity}
                    kw: dict = {"pattern": pattern}
                    if method != "magnitude":
                        kw["batches"] = batches
                    if variant in ("owl", "spectral", "bounded"):
                        if method not in scores_cache:
                            scores_cache[method] = layer_scores(dense, method, batches)
                        if "wanda" not in scores_cache:
                            scores_cache["wanda"] = layer_scores(dense, "wanda", batches)
                        smap = allocate_sparsity(scores_cache[method], sparsity, variant,
                                                 outlier_scores=scores_cache["wanda"], groups=GROUPS[method])
                        kw["sparsities"] = smap.layers
                        rec["allocation"] = {"signal": smap.signal, "over_bound": smap.over_bound,
                                             "allocated_total": smap.total}
                    selections = {}
                    if variant == "bound_select":
                        def select(name, keep, scores):
                            new, info = bound_respecting_nm(keep, scores, 2, 4)
                            selections[name] = info.to_dict()
                            return new
                        kw["select"] = select
                    if variant == "certified":
                        if certified is None:
                            certified = ramanujan_nm_masks(dense, "2:4", seed=seed, layers=names)
                        kw["masks"] = certified.masks
                        rec["certificates"] = {n: {"t2": c.t2, "bound": c.bound, "certificate": c.certificate,
                                                   "switches": c.switches} for n, c in certified.certificates.items()}
                    model = load()
                    res = oneshot_prune(model, method, sparsity, **kw)
                    bpb = bits_per_byte(model, windows)
                    rec.update({"held_out_bpb": bpb, "perplexity_per_byte": 2.0 ** bpb,
                                "total_sparsity": res.total_sparsity, "sparsities": res.sparsities,
                                "reconstruction_error": res.reconstruction_error,
                                "census": census_summary(model, names, res.masks)})
                    if selections:
                        rec["selection"] = {"layers": selections,
                                            "already": sum(v["already"] for v in selections.values()),
                                            "ramanujan_after": sum(v["ramanujan"] for v in selections.values())}
                    rec["seconds"] = round(time.perf_counter() - t0, 1)
                    write(path, rec)
                    c = rec["census"]
                    print(f"seed {seed} {pkey} {method:9s} {variant:12s} bpb {bpb:.4f} sparsity {res.total_sparsity:.4f} "
                          f"ramanujan {c['ramanujan']}/{c['n_layers']} uc {c['uc_certified']}/{c['uc_refuted']}/"
                          f"{c['uc_undecided']} ({rec['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
