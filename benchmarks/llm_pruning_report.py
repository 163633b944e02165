"""Table and figure of the LLM-pruning experiment from its records (benchmarks/llm_pruning.py).

    python benchmarks/llm_pruning_report.py docs/results/llm-pruning

Reads ``DIR/records/seed*/*.json``; writes ``DIR/summary.json``, ``DIR/table.md`` and
``DIR/bpb.png``. Means over seeds with n and a two-sided 95 % Student-t interval; the change
against the same method's ``plain`` run is paired by seed.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

PATTERN_ORDER = ["u50", "u60", "2:4"]
METHOD_ORDER = ["magnitude", "wanda", "sparsegpt"]
VARIANT_ORDER = ["plain", "owl", "spectral", "bounded", "bound_select", "certified"]
PATTERN_NAME = {"u50": "50 % unstructured", "u60": "60 % unstructured", "2:4": "2:4"}


def interval(values: list[float]) -> tuple[float, float, float]:
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def load(directory: Path) -> tuple[dict, dict]:
    runs: dict = defaultdict(dict)
    dense: dict = {}
    for path in sorted((directory / "records").glob("seed*/*.json")):
        rec = json.loads(path.read_text())
        if path.name == "dense.json":
            dense[rec["seed"]] = rec["held_out_bpb"]
            continue
        runs[(rec["pattern"], rec["method"], rec["variant"])][rec["seed"]] = rec
    return runs, dense


def fmt(mean: float, lo: float, hi: float, digits: int = 3, sign: bool = False) -> str:
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    if math.isnan(lo):
        return f.format(mean)
    return f"{f.format(mean)} [{f.format(lo)}, {f.format(hi)}]"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path)
    args = ap.parse_args(argv)
    if not (args.directory / "records").is_dir():
        ap.error(f"{args.directory}: no records/ folder (benchmarks/llm_pruning.py --out DIR/records writes it)")
    runs, dense = load(args.directory)
    summary = {"dense": {"per_seed": dense, **dict(zip(("mean", "lo", "hi"), interval(list(dense.values()))))} if dense else {},
               "runs": []}
    lines = ["| pattern | method | variant | n | held-out bits/byte | vs dense (paired) | vs plain (paired) | per seed | "
             "Ramanujan layers (rule), per seed | t2 <= rho(T): yes / no / undecided, per seed | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted(runs, key=lambda k: (PATTERN_ORDER.index(k[0]), METHOD_ORDER.index(k[1]), VARIANT_ORDER.index(k[2])))
    for key in keys:
        by_seed = runs[key]
        seeds = sorted(by_seed)
        bpb = [by_seed[s]["held_out_bpb"] for s in seeds]
        m = interval(bpb)
        plain = runs.get((key[0], key[1], "plain"), {})
        paired = [by_seed[s]["held_out_bpb"] - plain[s]["held_out_bpb"] for s in seeds if s in plain]
        d = interval(paired) if paired and key[2] != "plain" else (math.nan, math.nan, math.nan)
        vs_dense = [by_seed[s]["held_out_bpb"] - dense[s] for s in seeds if s in dense]
        dd = interval(vs_dense) if vs_dense else (math.nan, math.nan, math.nan)
        ram = [by_seed[s]["census"]["ramanujan"] for s in seeds]
        cen = [by_seed[s]["census"] for s in seeds]
        # the exact test where the records have it (free bracket, exact radius where it left t2 inside)
        ucc = [c.get("uc_exact_certified", c["uc_certified"]) for c in cen]
        ucr = [c.get("uc_exact_refuted", c["uc_refuted"]) for c in cen]
        ucu = [c.get("uc_exact_undecided", c["uc_undecided"]) for c in cen]
        n_layers = by_seed[seeds[0]]["census"]["n_layers"]
        notes = []
        if key[2] == "bound_select":
            already = [by_seed[s]["selection"]["already"] for s in seeds]
            notes.append(f"score's own mask already Ramanujan in {sum(already)}/{n_layers * len(seeds)} layers")
        if "allocation" in by_seed[seeds[0]]:
            over = sum(len(by_seed[s]["allocation"]["over_bound"]) for s in seeds)
            tot = [by_seed[s]["total_sparsity"] for s in seeds]
            notes.append(f"total sparsity {min(tot):.4f}-{max(tot):.4f}")
            if key[2] == "bounded":
                ceil = [float(v) for s in seeds for v in by_seed[s]["allocation"]["signal"].values()]
                notes.append(f"ceilings {min(ceil):.2f}-{max(ceil):.2f}, over bound {over}")
        entry = {"pattern": key[0], "method": key[1], "variant": key[2], "n": len(seeds), "seeds": seeds,
                 "bpb": dict(zip(("mean", "lo", "hi"), m)), "bpb_per_seed": bpb,
                 "delta_vs_dense": dict(zip(("mean", "lo", "hi"), dd)) if vs_dense else None,
                 "delta_vs_plain": dict(zip(("mean", "lo", "hi"), d)) if paired and key[2] != "plain" else None,
                 "ramanujan_layers": ram, "uc_certified_layers": ucc, "uc_refuted_layers": ucr,
                 "uc_undecided_layers": ucu, "n_layers": n_layers, "notes": notes}
        summary["runs"].append(entry)
        lines.append(f"| {PATTERN_NAME[key[0]]} | {key[1]} | {key[2]} | {len(seeds)} | {fmt(*m)} | "
                     f"{fmt(*dd, sign=True) if vs_dense else ''} | "
                     f"{fmt(*d, sign=True) if paired and key[2] != 'plain' else ''} | {', '.join(f'{x:.3f}' for x in bpb)} | "
                     f"{'/'.join(map(str, ram))} of {n_layers} | "
                     f"{', '.join(f'{c}/{r}/{u}' for c, r, u in zip(ucc, ucr, ucu))} | {'; '.join(notes)} |")
    if dense:
        dm = interval(list(dense.values()))
        lines.insert(0, f"Dense models: {fmt(*dm)} bits/byte (n = {len(dense)}; per seed "
                        f"{', '.join(f'{dense[s]:.3f}' for s in sorted(dense))}).\n")
    (args.directory / "summary.json").write_text(json.dumps(summary, indent=1, default=lambda x: None))
    (args.directory / "table.md").write_text("\n".join(lines) + "\n")
    figure(args.directory / "bpb.png", summary, keys, runs, dense)
    print("\n".join(lines))
    return 0


def figure(path: Path, summary: dict, keys, runs, dense) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"plain": "#444444", "owl": "#1f77b4", "spectral": "#2ca02c", "bounded": "#d62728",
              "bound_select": "#9467bd", "certified": "#ff7f0e"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=False)
    for ax, pattern in zip(axes, PATTERN_ORDER):
        entries = [e for e in summary["runs"] if e["pattern"] == pattern]
        variants = [v for v in VARIANT_ORDER if any(e["variant"] == v for e in entries)]
        width = 0.8 / max(len(variants), 1)
        for j, v in enumerate(variants):
            for i, method in enumerate(METHOD_ORDER):
                e = next((e for e in entries if e["method"] == method and e["variant"] == v), None)
                if e is None:
                    continue
                x = i + (j - (len(variants) - 1) / 2) * width
                b = e["delta_vs_dense"]
                if b is None:
                    continue
                lo_missing = b["lo"] is None or (isinstance(b["lo"], float) and math.isnan(b["lo"]))
                yerr = None if lo_missing else [[b["mean"] - b["lo"]], [b["hi"] - b["mean"]]]
                ax.errorbar([x], [b["mean"]], yerr=yerr, fmt="o", color=colors[v], capsize=3,
                            label=v if i == 0 else None)
                per_seed = [bpb - dense[s_] for s_, bpb in zip(e["seeds"], e["bpb_per_seed"]) if s_ in dense]
                ax.scatter([x] * len(per_seed), per_seed, s=8, color=colors[v], alpha=0.4)
        ax.axhline(0.0, color="k", lw=0.8, ls="--", label="dense")
        ax.set_xticks(range(len(METHOD_ORDER)), METHOD_ORDER)
        ax.set_title(PATTERN_NAME[pattern])
        ax.set_ylabel("held-out bits/byte minus the dense model's")
        if pattern == "2:4":
            ax.set_yscale("symlog", linthresh=0.05)
            # room for the highest interval end (a fixed limit hid the certified masks' +2.8)
            top = max((e["delta_vs_dense"]["hi"] for e in entries if e["delta_vs_dense"]
                       and isinstance(e["delta_vs_dense"]["hi"], float) and math.isfinite(e["delta_vs_dense"]["hi"])),
                      default=1.0)
            ax.set_ylim(-0.02, 1.5 * top)
        ax.legend(fontsize=7)
    n = max((e["n"] for e in summary["runs"]), default=0)
    fig.suptitle(f"One-shot pruning of a 1.8 M-parameter byte-level Llama (stdlib source): change in held-out bits/byte, paired by seed; mean, 95 % t-interval, seeds as dots (n = {n})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
