"""Across-seed aggregation of lottery-ticket runs: Table 2 (mean ± sd), Figure 4, and the counter-check.

- :func:`table2_aggregate`: per pruner label (``IMP``, ``IMP-Bound``, ...), over seeds: the dense
  accuracy; for plain runs the accuracy at the rounds nearest the study's density points (3.16 % and
  1 %); for ``-Bound`` runs the stopping point (density, clean and noisy accuracy); for every run the
  sparsest round within ``alpha`` points of its dense accuracy.
- :func:`round_table`: one row per round of every run: density, accuracies, fraction of Ramanujan
  layers (mask rule), mean ``Delta_S`` and mean ``Delta_R`` over the layers (mask graph).
- :func:`spearman_bands`: the counter-check. Within each density band, the Spearman rank
  correlation with clean accuracy of (a) the fraction of Ramanujan layers, (b) mean ``Delta_S``,
  (c) mean ``Delta_R``, (d) density, and for (a)-(c) the partial rank correlation given density.
- :func:`figure4_aggregate`: accuracy (clean and the noisiest test set) and the fraction of
  Ramanujan layers against density, mean ± sd over seeds per round, plain solid, -Bound dashed,
  plain at half rate (the control) dotted.

Reads records only (JSON); nothing here imports torch.

>>> rows = [{"density": d, "accuracy": a, "frac_ramanujan": f, "mean_delta_s": f, "mean_delta_r": f}
...         for d, a, f in [(0.5, 0.9, 1.0), (0.4, 0.8, 0.5), (0.35, 0.7, 0.0), (0.45, 0.85, 0.6)]]
>>> b = spearman_bands(rows, bands=[(0.3, 1.0)])[0]
>>> b["n"], round(b["metrics"]["frac_ramanujan"]["rho"], 6)
(4, 1.0)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["run_label", "compare_lengths", "compare_lengths_markdown", "group_runs", "round_table", "spearman_bands", "table2_aggregate", "table2_aggregate_markdown",
           "spearman_markdown", "figure4_aggregate", "render_aggregate", "DENSITY_BANDS", "STUDY_DENSITIES"]

#: (low, high] total-density bands of the counter-check
DENSITY_BANDS: tuple[tuple[float, float], ...] = ((0.3, 1.0), (0.1, 0.3), (0.03, 0.1), (0.01, 0.03), (0.0, 0.01))
#: the densities at which the seed paper's Table 2 quotes the plain pruners
STUDY_DENSITIES: tuple[float, ...] = (0.0316, 0.01)
METRICS = ("frac_ramanujan", "mean_delta_s", "mean_delta_r", "density")


def _mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    import numpy as np

    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def run_label(run: Any) -> str:
    """The run's label, with ``(p/2)`` (or the rates) appended when it prunes at other rates than the
    model's defaults: ``IMP``, ``IMP-Bound``, ``IMP (p/2)``."""
    from .hparams import MODEL_DEFAULTS

    pr = run.hparams.get("pruning", {})
    model = run.hparams.get("model", {}).get("name")
    if not pr or model not in MODEL_DEFAULTS:
        return run.label
    default = MODEL_DEFAULTS[model][1]
    keys = [k for k in ("p_conv", "p_fc", "p_out") if k in default]
    if all(math.isclose(pr.get(k, default[k]), default[k]) for k in keys):
        return run.label
    if all(math.isclose(pr.get(k, default[k]), default[k] / 2) for k in keys):
        return f"{run.label} (p/2)"
    return run.label + " (" + ", ".join(f"{k}={pr[k]:g}" for k in keys) + ")"


def group_runs(runs: Sequence[Any]) -> dict[str, list[Any]]:
    """Runs by :func:`run_label`, each pruner's plain run, then at half rate, then its -Bound run
    (``IMP``, ``IMP (p/2)``, ``IMP-Bound``, ``SNIP``, ...), each group sorted by seed."""
    groups: dict[str, list[Any]] = {}
    for r in runs:
        groups.setdefault(run_label(r), []).append(r)
    for g in groups.values():
        g.sort(key=lambda r: r.hparams.get("seed", 0))
    order = sorted(groups, key=lambda lab: (lab.split(" ")[0].removesuffix("-Bound").lower(),
                                            "-Bound" in lab, lab))
    return {lab: groups[lab] for lab in order}


def _layer_stats(rec: dict[str, Any]) -> tuple[float, float, float]:
    import numpy as np

    cen = rec.get("census", [])
    if not cen:
        return math.nan, math.nan, math.nan
    frac = sum(bool(layer.get("is_ramanujan")) for layer in cen) / len(cen)

    def mean_of(key: str) -> float:
        vals = np.asarray([float(layer["mask"][key]) if layer.get("mask", {}).get(key) is not None else math.nan
                           for layer in cen])
        vals = vals[~np.isnan(vals)]
        return float(vals.mean()) if vals.size else math.nan  # +inf (t2 = 0) stays +inf: ranks above all

    return frac, mean_of("delta_s"), mean_of("delta_r")


def round_table(runs: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per round of every run (see the module docstring)."""
    rows = []
    for run in runs:
        for rec in run.records:
            frac, ds, dr = _layer_stats(rec)
            rows.append({"run": run.path.name, "label": run_label(run), "seed": run.hparams.get("seed"),
                         "round": rec["round"], "density": float(rec["density"]["total"]),
                         "accuracy": float(rec["accuracy"]["clean"]),
                         "noisy": {k: float(v) for k, v in rec["accuracy"]["noisy"].items()},
                         "frac_ramanujan": frac, "mean_delta_s": ds, "mean_delta_r": dr,
                         "regime": rec.get("regime")})
    return rows


def _partial(r_xy: float, r_xz: float, r_yz: float) -> float:
    den = (1 - r_xz ** 2) * (1 - r_yz ** 2)
    return (r_xy - r_xz * r_yz) / math.sqrt(den) if den > 1e-12 else math.nan


def spearman_bands(rows: Sequence[dict[str, Any]], bands: Iterable[tuple[float, float]] = DENSITY_BANDS,
                   target: str = "accuracy") -> list[dict[str, Any]]:
    """Per density band ``(low, high]``: the rounds in it and, per metric, Spearman's ``rho`` with
    ``target`` (``accuracy`` or a noisy sigma such as ``"0.3"``), its p-value, and (for the
    spectral metrics) the partial rank correlation given density. A constant metric gives NaN."""
    import warnings

    import numpy as np
    from scipy.stats import spearmanr

    out = []
    for lo, hi in bands:
        sel = [r for r in rows if lo < r["density"] <= hi]
        y = np.asarray([r["accuracy"] if target == "accuracy" else r["noisy"][target] for r in sel], dtype=float)
        res: dict[str, Any] = {"band": [lo, hi], "n": len(sel), "metrics": {}}
        rho_d = math.nan
        cols = {m: np.asarray([r[m] for r in sel], dtype=float) for m in METRICS}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant input: NaN, reported as such
            for m in METRICS:
                x = cols[m]
                ok = ~np.isnan(x) & ~np.isnan(y)
                if ok.sum() < 3:
                    res["metrics"][m] = {"rho": math.nan, "p": math.nan, "n": int(ok.sum()), "partial": math.nan}
                    continue
                rho, p = spearmanr(x[ok], y[ok])
                entry = {"rho": float(rho), "p": float(p), "n": int(ok.sum()), "partial": math.nan}
                if m == "density":
                    rho_d = float(rho)
                else:
                    r_xz = float(spearmanr(x[ok], cols["density"][ok])[0])
                    r_yz = float(spearmanr(y[ok], cols["density"][ok])[0])
                    entry["partial"] = _partial(float(rho), r_xz, r_yz)
                res["metrics"][m] = entry
        res["metrics"]["density"]["partial"] = math.nan
        res["rho_density"] = rho_d
        out.append(res)
    return out


def _nearest(run: Any, density: float) -> dict[str, Any]:
    return min(run.records, key=lambda r: abs(math.log(r["density"]["total"]) - math.log(density)))


def table2_aggregate(runs: Sequence[Any], alphas: Iterable[float] = (1.5, 2.0),
                     densities: Iterable[float] = STUDY_DENSITIES) -> list[dict[str, Any]]:
    """One row per pruner label, mean ± sd over its runs (seeds); see the module docstring."""
    from .report import _at_alpha

    alphas, densities = list(alphas), list(densities)
    rows = []
    groups_all = group_runs(runs)
    for label, group in groups_all.items():
        row: dict[str, Any] = {"label": label, "seeds": [r.hparams.get("seed") for r in group],
                               "rounds": [len(r.records) - 1 for r in group],
                               "finished": [r.records[-1].get("stop") is not None for r in group]}
        row["dense"] = _mean_sd([r.records[0]["accuracy"]["clean"] for r in group])
        sigmas = group[0].sigmas
        if not label.endswith("-Bound"):
            for d in densities:
                recs = [_nearest(r, d) for r in group]
                row[f"at_{d:g}"] = {"density": _mean_sd([x["density"]["total"] for x in recs]),
                                    "accuracy": _mean_sd([x["accuracy"]["clean"] for x in recs]),
                                    "noisy": {s: _mean_sd([x["accuracy"]["noisy"][s] for x in recs]) for s in sigmas}}
        last = [r.records[-1] for r in group]
        row["stop"] = {"density": _mean_sd([x["density"]["total"] for x in last]),
                       "accuracy": _mean_sd([x["accuracy"]["clean"] for x in last]),
                       "noisy": {s: _mean_sd([x["accuracy"]["noisy"][s] for x in last]) for s in sigmas},
                       "reasons": [x.get("stop") for x in last]}
        if label.endswith("-Bound"):
            # the plain run of the same pruner and seed, at its round nearest the bound's stop density
            base = label.removesuffix("-Bound")
            for key, other in (("plain_at_stop", base), ("half_at_stop", f"{base} (p/2)")):
                plain = {r.hparams.get("seed"): r for r in groups_all.get(other, [])}
                pairs = [(plain[r.hparams.get("seed")], x) for r, x in zip(group, last) if r.hparams.get("seed") in plain]
                if not pairs:
                    continue
                near = [(_nearest(p, x["density"]["total"]), x) for p, x in pairs]
                row[key] = {"density": _mean_sd([n["density"]["total"] for n, _ in near]),
                            "accuracy": _mean_sd([n["accuracy"]["clean"] for n, _ in near]),
                            "gain": _mean_sd([x["accuracy"]["clean"] - n["accuracy"]["clean"] for n, x in near])}
        for a in alphas:
            hits = [_at_alpha(r, a) for r in group]
            hits = [h for h in hits if h is not None]
            row[f"alpha={a:g}"] = {"density": _mean_sd([h["density"]["total"] for h in hits]),
                                   "accuracy": _mean_sd([h["accuracy"]["clean"] for h in hits])}
        rows.append(row)
    return rows


def _ms(v: tuple[float, float, int], scale: float = 100.0, digits: int = 2) -> str:
    m, s, n = v
    if n == 0:
        return "-"
    return f"{scale * m:.{digits}f} ± {scale * s:.{digits}f}" if n > 1 else f"{scale * m:.{digits}f}"


def table2_aggregate_markdown(rows: Sequence[dict[str, Any]], alphas: Iterable[float] = (1.5, 2.0),
                              densities: Iterable[float] = STUDY_DENSITIES) -> str:
    """The Table-2 analog as markdown (percent, mean ± sd over seeds; n = seeds)."""
    alphas, densities = list(alphas), list(densities)
    head = ["pruner", "seeds", "dense acc %"]
    for d in densities:
        head += [f"density % (near {100 * d:g})", "acc %"]
    head += ["stop density %", "stop acc %", "stop noisy acc %", "plain acc % near stop density", "Bound − plain (points)",
             "plain p/2 acc % near stop density", "Bound − plain p/2 (points)"]
    for a in alphas:
        head += [f"density % @ α={a:g}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        n_done = sum(r["finished"])
        cells = [r["label"], f"{len(r['seeds'])}" + ("" if n_done == len(r["seeds"]) else f" ({n_done} finished)"),
                 _ms(r["dense"])]
        for d in densities:
            v = r.get(f"at_{d:g}")
            cells += ["", ""] if v is None else [_ms(v["density"], digits=2), _ms(v["accuracy"])]
        s = r["stop"]
        cells += [_ms(s["density"], digits=2), _ms(s["accuracy"]),
                  ", ".join(f"σ={k}: {_ms(v)}" for k, v in s["noisy"].items())]
        for key in ("plain_at_stop", "half_at_stop"):
            p = r.get(key)
            cells += ["", ""] if p is None else [f"{_ms(p['accuracy'])} (at {_ms(p['density'])} %)", _ms(p["gain"])]
        for a in alphas:
            cells += [_ms(r[f"alpha={a:g}"]["density"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spearman_markdown(bands: Sequence[dict[str, Any]]) -> str:
    """The counter-check as markdown: rho (partial rho given density) per metric and band."""
    names = {"frac_ramanujan": "(a) frac. Ramanujan", "mean_delta_s": "(b) mean Δ_S", "mean_delta_r": "(c) mean Δ_R",
             "density": "(d) density"}
    head = ["density band %", "rounds"] + [names[m] for m in METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(e: dict[str, Any]) -> str:
        if math.isnan(e["rho"]):
            return "n/a (constant)" if e["n"] >= 3 else "-"
        part = "" if math.isnan(e.get("partial", math.nan)) else f" ({e['partial']:+.2f})"
        return f"{e['rho']:+.2f}{part}, p={e['p']:.2g}"

    for b in bands:
        lo, hi = b["band"]
        cells = [f"({100 * lo:g}, {100 * hi:g}]", str(b["n"])] + [cell(b["metrics"][m]) for m in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure4_aggregate(runs: Sequence[Any], path: str | os.PathLike, title: str = "") -> Path:
    """Accuracy (clean, noisiest sigma) and fraction of Ramanujan layers vs density, mean ± sd over
    seeds per round, one colour per pruner, plain solid and -Bound dashed; writes a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = group_runs(runs)
    sigmas = runs[0].sigmas if runs else []
    noisy = max(sigmas, key=float) if sigmas else None
    panels = [("clean test accuracy %", lambda rec: 100 * rec["accuracy"]["clean"])]
    if noisy is not None:
        panels.append((f"accuracy % at noise σ={noisy}", lambda rec: 100 * rec["accuracy"]["noisy"][noisy]))
    panels.append(("fraction of Ramanujan layers (mask)", lambda rec: _layer_stats(rec)[0]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    base_of = {}
    for label, group in groups.items():
        base = label.split(" ")[0].removesuffix("-Bound")
        color = colors[base_of.setdefault(base, len(base_of)) % len(colors)]
        n = max(len(r.records) for r in group)
        for ax, (ylabel, f) in zip(axes, panels):
            xs, ms, ss = [], [], []
            for i in range(n):
                recs = [r.records[i] for r in group if i < len(r.records)]
                xs.append(100 * np.mean([x["density"]["total"] for x in recs]))
                vals = [f(x) for x in recs]
                ms.append(np.mean(vals))
                ss.append(np.std(vals, ddof=1) if len(vals) > 1 else 0.0)
            xs, ms, ss = map(np.asarray, (xs, ms, ss))
            ls = "--" if "-Bound" in label else (":" if "(" in label else "-")
            ax.plot(xs, ms, ls, color=color, marker={"-": ".", "--": "x", ":": "+"}[ls], ms=4,
                    label=f"{label} (n={len(group)})")
            ax.fill_between(xs, ms - ss, ms + ss, color=color, alpha=0.15, lw=0)
            ax.set_ylabel(ylabel)
    for ax in axes:
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("weights remaining %")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_lengths(runs: Sequence[Any]) -> dict[str, Any]:
    """The shortening check: runs that differ only in ``training.iterations`` (same pruner, seed and
    masks rule), round by round. Returns, per round present in at least two runs, the density and
    clean accuracy of each, and per pair of lengths the Spearman correlation of clean accuracy over
    their common rounds (does a shorter training rank the density points as a longer one does?)."""
    from scipy.stats import spearmanr

    runs = sorted(runs, key=lambda r: r.hparams["training"]["iterations"])
    its = [int(r.hparams["training"]["iterations"]) for r in runs]
    if len(set(its)) != len(its):
        raise ValueError(f"runs must differ in iterations, got {its}")
    n = max(len(r.records) for r in runs)
    table = []
    for i in range(n):
        row = {"round": i}
        for it, r in zip(its, runs):
            if i < len(r.records):
                rec = r.records[i]
                row[str(it)] = {"density": rec["density"]["total"], "accuracy": rec["accuracy"]["clean"],
                                "noisy": rec["accuracy"]["noisy"]}
        table.append(row)
    pairs = []
    for a in range(len(runs)):
        for b in range(a + 1, len(runs)):
            m = min(len(runs[a].records), len(runs[b].records))
            xa = [runs[a].records[i]["accuracy"]["clean"] for i in range(m)]
            xb = [runs[b].records[i]["accuracy"]["clean"] for i in range(m)]
            rho = float(spearmanr(xa, xb)[0]) if m >= 3 else math.nan
            best_a, best_b = max(range(m), key=lambda i: xa[i]), max(range(m), key=lambda i: xb[i])
            pairs.append({"iterations": [its[a], its[b]], "rounds": m, "spearman": rho,
                          "best_round": [best_a, best_b],
                          "mean_gap": float(sum(y - x for x, y in zip(xa, xb)) / m) if m else math.nan})
    return {"iterations": its, "rounds": table, "pairs": pairs}


def compare_lengths_markdown(cmp: dict[str, Any]) -> str:
    """:func:`compare_lengths` as markdown: one row per round, then the pairwise summary."""
    its = [str(i) for i in cmp["iterations"]]
    head = ["round", "density %"] + [f"acc % ({i} it)" for i in its]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in cmp["rounds"]:
        dens = next(row[i]["density"] for i in its if i in row)
        cells = [str(row["round"]), f"{100 * dens:.2f}"] + [f"{100 * row[i]['accuracy']:.2f}" if i in row else "" for i in its]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| lengths | common rounds | Spearman of accuracy over rounds | best round | mean gain of the longer (points) |",
              "|---|---|---|---|---|"]
    for p in cmp["pairs"]:
        a, b = p["iterations"]
        lines.append(f"| {a} vs {b} | {p['rounds']} | {p['spearman']:+.2f} | {p['best_round'][0]} vs {p['best_round'][1]} | "
                     f"{100 * p['mean_gap']:+.2f} |")
    return "\n".join(lines)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def render_aggregate(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, title: str = "",
                     alphas: Iterable[float] = (1.5, 2.0)) -> Path:
    """Write ``table2.md/json``, ``spearman.md/json`` (clean and noisiest sigma), ``rounds.json``
    and ``figure4.png`` into ``out``; returns the path of ``aggregate.md`` that links them."""
    from .report import load_run
    from .runner import find_run_dirs

    alphas = list(alphas)
    runs = [load_run(p) for p in find_run_dirs(run_dirs)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t2 = table2_aggregate(runs, alphas)
    rows = round_table(runs)
    bands = spearman_bands(rows)
    sigmas = runs[0].sigmas
    noisy = max(sigmas, key=float) if sigmas else None
    bands_noisy = spearman_bands(rows, target=noisy) if noisy else []
    (out / "table2.json").write_text(json.dumps(_json_safe(t2), indent=1))
    (out / "spearman.json").write_text(json.dumps(_json_safe({"clean": bands, f"noise {noisy}": bands_noisy}), indent=1))
    (out / "rounds.json").write_text(json.dumps(_json_safe(rows)))
    figure4_aggregate(runs, out / "figure4.png", title=title)
    t2_md = table2_aggregate_markdown(t2, alphas)
    sp_md = spearman_markdown(bands)
    parts = [f"# {title or 'Aggregate'}", "", f"{len(runs)} runs, {len(rows)} rounds.", "",
             "## Table 2 analog (mean ± sd over seeds)", "", t2_md, "", "![figure 4](figure4.png)", "",
             "## Counter-check: Spearman rho with clean accuracy per density band (partial rho given density)", "",
             sp_md]
    if bands_noisy:
        parts += ["", f"## Counter-check with accuracy at noise σ={noisy}", "", spearman_markdown(bands_noisy)]
    (out / "table2.md").write_text(t2_md + "\n")
    (out / "spearman.md").write_text(sp_md + "\n")
    md = out / "aggregate.md"
    md.write_text("\n".join(parts) + "\n")
    return md
