"""The study's comparisons, on top of :mod:`adapters.torch.lth.sweep_report` (Table 2 / Figure 4
over seeds and the Spearman check, which ``bipartite-expanders report`` renders):

- :func:`study_table`: per configuration (runs that differ only in the seed), mean ± sd over seeds
  of the plain runs' accuracy at the rounds nearest the study's density points (3.16 % and 1 %), and
  for a ``-Bound`` run its stopping point against the plain run of the same pruner and seed at its
  round nearest that density, and against the *half-rate control* (plain at ``p/2``, the schedule a
  -Bound run follows while every step is accepted at ``k = 1``).
- :func:`partial_spearman`: the counter-check's rho with clean accuracy per density band, plus the
  partial rank correlation given density (what a metric says about accuracy that density does not).
- :func:`overlay_figure`: accuracy (clean, noisiest sigma) and the fraction of Ramanujan layers
  against density, every configuration on one set of axes (mean ± sd over seeds per round).
- :func:`compare_lengths`: the shortening check, runs that differ only in iterations, round by round.

Reads records only (JSON); nothing here imports torch.

>>> _partial(0.5, 0.0, 0.0), round(_partial(0.5, 0.5, 0.5), 4)
(0.5, 0.3333)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .sweep_report import DEFAULT_BANDS, SPEARMAN_METRICS, _pm, group_runs, mean_sd, record_metrics

__all__ = ["run_label", "study_table", "study_markdown", "partial_spearman", "partial_spearman_markdown",
           "overlay_figure", "compare_lengths", "compare_lengths_markdown", "render_study", "STUDY_DENSITIES"]

#: the densities at which the seed paper's Table 2 quotes the plain pruners
STUDY_DENSITIES: tuple[float, ...] = (0.0316, 0.01)


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


def _nearest(run: Any, density: float) -> dict[str, Any]:
    """The run's record whose total density is nearest ``density`` on a log scale."""
    return min(run.records, key=lambda r: abs(math.log(r["density"]["total"]) - math.log(density)))


def study_table(runs: Sequence[Any], densities: Iterable[float] = STUDY_DENSITIES) -> list[dict[str, Any]]:
    """One row per configuration (see the module docstring); means and sds are
    :func:`~adapters.torch.lth.sweep_report.mean_sd` dicts."""
    densities = list(densities)
    groups = group_runs(runs)
    by_label = {run_label(g.runs[0]): g for g in groups}
    rows = []
    for g in groups:
        label = run_label(g.runs[0])
        last = [r.records[-1] for r in g.runs]
        sig = g.runs[0].sigmas
        row: dict[str, Any] = {"label": label, "seeds": g.seeds, "rounds": [len(r.records) - 1 for r in g.runs],
                               "finished": [x.get("stop") is not None for x in last],
                               "dense": mean_sd(r.records[0]["accuracy"]["clean"] for r in g.runs),
                               # wall time of the rounds as recorded (contention included), per run
                               "seconds": mean_sd(math.fsum(x.get("timing", {}).get("total_s", math.nan)
                                                            for x in r.records) for r in g.runs)}
        if "-Bound" not in label:
            for d in densities:
                recs = [_nearest(r, d) for r in g.runs]
                row[f"at_{d:g}"] = {"density": mean_sd(x["density"]["total"] for x in recs),
                                    "accuracy": mean_sd(x["accuracy"]["clean"] for x in recs),
                                    "noisy": {s: mean_sd(x["accuracy"]["noisy"][s] for x in recs) for s in sig}}
        row["stop"] = {"density": mean_sd(x["density"]["total"] for x in last),
                       "accuracy": mean_sd(x["accuracy"]["clean"] for x in last),
                       "noisy": {s: mean_sd(x["accuracy"]["noisy"][s] for x in last) for s in sig},
                       "reasons": [x.get("stop") for x in last]}
        if "-Bound" in label:
            # how Algorithm 1 decided: the share of accepted layer steps taken at k = 1 (i.e. at p/2,
            # the half-rate schedule) and the share accepted only by the weighted (|W|) rule
            steps = [d for r in g.runs for x in r.records for d in ((x.get("prune") or {}).get("decisions") or {}).values()
                     if d and d.get("accepted")]
            row["decisions"] = {"accepted": len(steps),
                                "k1": sum(d.get("k") == 1 for d in steps) / len(steps) if steps else math.nan,
                                "weighted": sum(d.get("rule") == "weighted" for d in steps) / len(steps) if steps else math.nan}
            base = label.replace("-Bound", "")
            for key, other in (("plain_at_stop", base), ("half_at_stop", f"{base} (p/2)")):
                if other not in by_label:
                    continue
                plain = {r.hparams.get("seed"): r for r in by_label[other].runs}
                near = [(_nearest(plain[r.hparams.get("seed")], x["density"]["total"]), x)
                        for r, x in zip(g.runs, last) if r.hparams.get("seed") in plain]
                if near:
                    row[key] = {"density": mean_sd(n["density"]["total"] for n, _ in near),
                                "accuracy": mean_sd(n["accuracy"]["clean"] for n, _ in near),
                                "gain": mean_sd(x["accuracy"]["clean"] - n["accuracy"]["clean"] for n, x in near),
                                "n": len(near)}
        rows.append(row)
    # each pruner: plain, its half-rate control, then -Bound
    rows.sort(key=lambda r: (r["label"].split(" ")[0].replace("-Bound", "").lower(), "-Bound" in r["label"],
                             r["label"]))
    return rows


def study_markdown(rows: Sequence[dict[str, Any]], densities: Iterable[float] = STUDY_DENSITIES) -> str:
    """:func:`study_table` as markdown (percent; mean ± sd over seeds)."""
    densities = list(densities)
    head = ["configuration", "seeds (finished)", "wall s per run", "dense acc %"]
    for d in densities:
        head += [f"density % near {100 * d:g}", "acc %"]
    head += ["last round: density %", "acc %", "noisy acc %", "plain at that density: acc %", "Bound − plain",
             "plain p/2 at that density: acc %", "Bound − plain p/2", "Bound steps: at k=1 % / by the |W| rule %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["label"], f"{len(r['seeds'])} ({sum(r['finished'])})", _pm(r["seconds"], 0, 1.0), _pm(r["dense"])]
        for d in densities:
            v = r.get(f"at_{d:g}")
            cells += ["", ""] if v is None else [_pm(v["density"]), _pm(v["accuracy"])]
        s = r["stop"]
        cells += [_pm(s["density"]), _pm(s["accuracy"]), ", ".join(f"σ={k}: {_pm(v)}" for k, v in s["noisy"].items())]
        for key in ("plain_at_stop", "half_at_stop"):
            p = r.get(key)
            cells += ["", ""] if p is None else [f"{_pm(p['accuracy'])} (at {_pm(p['density'])} %)", _pm(p["gain"])]
        d = r.get("decisions")
        cells.append("" if d is None else f"{100 * d['k1']:.0f} / {100 * d['weighted']:.0f} (of {d['accepted']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ partial rank correlation
def _partial(r_xy: float, r_xz: float, r_yz: float) -> float:
    """Partial correlation of x and y given z from the three pairwise correlations."""
    den = (1 - r_xz ** 2) * (1 - r_yz ** 2)
    return (r_xy - r_xz * r_yz) / math.sqrt(den) if den > 1e-12 else math.nan


def partial_spearman(runs: Sequence[Any], bands: Sequence[float] = DEFAULT_BANDS,
                     accuracy: str = "clean") -> list[dict[str, Any]]:
    """Per band (``"all"`` first, then ``(lo, hi]`` from the edges ``bands``, high to low) and per
    metric of :data:`~adapters.torch.lth.sweep_report.SPEARMAN_METRICS`: Spearman's rho with
    accuracy, its p-value, the rounds used, and (not for density itself) the partial rank
    correlation given density. Rounds with a NaN metric are left out of that metric; +inf ranks
    highest; fewer than 3 rounds or a constant column give NaN."""
    import warnings

    import numpy as np
    from scipy.stats import spearmanr

    rows = [record_metrics(rec, "mask", accuracy) for run in runs for rec in run.records]
    edges = [float(b) for b in bands]
    sets = [("all", rows)] + [(f"({lo:g}, {hi:g}]", [m for m in rows if lo < m["density"] <= hi])
                              for hi, lo in zip(edges, edges[1:])]
    out = []
    for band, ms in sets:
        y = np.asarray([m["accuracy"] for m in ms], dtype=float)
        z = np.asarray([m["density"] for m in ms], dtype=float)
        res: dict[str, Any] = {"band": band, "n": len(ms), "metrics": {}}
        for key in SPEARMAN_METRICS:
            x = np.asarray([m[key] for m in ms], dtype=float)
            ok = ~np.isnan(x)
            e = {"rho": math.nan, "p": math.nan, "n": int(ok.sum()), "partial": math.nan}
            if ok.sum() >= 3:
                with warnings.catch_warnings():  # constant input: NaN, reported as such
                    warnings.simplefilter("ignore")
                    rho, p = spearmanr(x[ok], y[ok])
                    e["rho"], e["p"] = float(rho), float(p)
                    if key != "density":
                        e["partial"] = _partial(float(rho), float(spearmanr(x[ok], z[ok])[0]),
                                                float(spearmanr(y[ok], z[ok])[0]))
            res["metrics"][key] = e
        out.append(res)
    return out


def partial_spearman_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """rho (partial rho given density) and p per metric and band."""
    head = ["density band", "rounds"] + list(SPEARMAN_METRICS.values())
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["band"], str(r["n"])]
        for key in SPEARMAN_METRICS:
            e = r["metrics"][key]
            if math.isnan(e["rho"]):
                cells.append("n/a (constant)" if e["n"] >= 3 else "-")
                continue
            part = "" if math.isnan(e["partial"]) else f" ({e['partial']:+.2f})"
            cells.append(f"{e['rho']:+.2f}{part}, p={e['p']:.2g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ one figure for all configurations
def overlay_figure(runs: Sequence[Any], path: str | os.PathLike, title: str = "") -> Path:
    """Accuracy (clean, noisiest sigma) and the fraction of Ramanujan layers vs density, mean ± sd
    over seeds per round; one colour per pruner, plain solid, -Bound dashed, plain p/2 dotted."""
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
    panels.append(("fraction of Ramanujan layers (mask)", lambda rec: record_metrics(rec)["frac_ramanujan"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.3), squeeze=False)
    axes = axes[0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    base_of: dict[str, int] = {}
    for g in groups:
        label = run_label(g.runs[0])
        base = label.split(" ")[0].replace("-Bound", "")
        color = colors[base_of.setdefault(base, len(base_of)) % len(colors)]
        style = "--" if "-Bound" in label else (":" if "(" in label else "-")
        n = max(len(r.records) for r in g.runs)
        for ax, (ylabel, f) in zip(axes, panels):
            xs, ms, ss = [], [], []
            for i in range(n):
                recs = [r.records[i] for r in g.runs if i < len(r.records)]
                vals = [f(x) for x in recs]
                xs.append(100 * float(np.mean([x["density"]["total"] for x in recs])))
                ms.append(float(np.mean(vals)))
                ss.append(float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0)
            xa, ma, sa = map(np.asarray, (xs, ms, ss))
            ax.plot(xa, ma, style, color=color, marker={"-": ".", "--": "x", ":": "+"}[style], ms=4,
                    label=f"{label} (n={len(g.runs)})")
            ax.fill_between(xa, ma - sa, ma + sa, color=color, alpha=0.15, lw=0)
            ax.set_ylabel(ylabel)
    for ax in axes:
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("weights remaining % (log)")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ the shortening check
def compare_lengths(runs: Sequence[Any]) -> dict[str, Any]:
    """Runs that differ only in ``training.iterations`` (same pruner and seed, so the same density
    schedule), round by round: each run's density and clean accuracy per round, and per pair of
    lengths the Spearman correlation of clean accuracy over their common rounds (does the shorter
    training rank the density points as the longer one does?), the best round of each and the
    mean accuracy gain of the longer."""
    from scipy.stats import spearmanr

    runs = sorted(runs, key=lambda r: r.hparams["training"]["iterations"])
    its = [int(r.hparams["training"]["iterations"]) for r in runs]
    if len(set(its)) != len(its):
        raise ValueError(f"runs must differ in iterations, got {its}")
    table = []
    for i in range(max(len(r.records) for r in runs)):
        row: dict[str, Any] = {"round": i}
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
            pairs.append({"iterations": [its[a], its[b]], "rounds": m,
                          "spearman": float(spearmanr(xa, xb)[0]) if m >= 3 else math.nan,
                          "best_round": [max(range(m), key=xa.__getitem__), max(range(m), key=xb.__getitem__)],
                          "mean_gap": math.fsum(y - x for x, y in zip(xa, xb)) / m if m else math.nan})
    return {"iterations": its, "rounds": table, "pairs": pairs}


def compare_lengths_markdown(cmp: dict[str, Any]) -> str:
    """:func:`compare_lengths` as markdown: one row per round, then the pairwise summary."""
    its = [str(i) for i in cmp["iterations"]]
    head = ["round", "density %"] + [f"acc % ({i} it)" for i in its]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in cmp["rounds"]:
        dens = next(row[i]["density"] for i in its if i in row)
        cells = [str(row["round"]), f"{100 * dens:.2f}"]
        cells += [f"{100 * row[i]['accuracy']:.2f}" if i in row else "" for i in its]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| lengths | common rounds | Spearman of accuracy over rounds | best round | "
              "mean gain of the longer (points) |", "|---|---|---|---|---|"]
    for p in cmp["pairs"]:
        a, b = p["iterations"]
        lines.append(f"| {a} vs {b} | {p['rounds']} | {p['spearman']:+.2f} | {p['best_round'][0]} vs "
                     f"{p['best_round'][1]} | {100 * p['mean_gap']:+.2f} |")
    return "\n".join(lines)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def render_study(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, title: str = "",
                 bands: Sequence[float] = DEFAULT_BANDS) -> Path:
    """Write ``study.json``, ``spearman_partial.json`` (clean and noisiest sigma), ``overlay.png`` and
    ``study.md`` (which holds the tables) into ``out``; returns the markdown's path."""
    from .report import load_run
    from .runner import find_run_dirs

    runs = [load_run(p) for p in find_run_dirs(run_dirs)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = study_table(runs)
    sp = partial_spearman(runs, bands)
    sigmas = runs[0].sigmas
    noisy = max(sigmas, key=float) if sigmas else None
    sp_noisy = partial_spearman(runs, bands, accuracy=noisy) if noisy else []
    (out / "study.json").write_text(json.dumps(_json_safe(rows), indent=1))
    (out / "spearman_partial.json").write_text(json.dumps(_json_safe({"clean": sp, f"noise {noisy}": sp_noisy}), indent=1))
    overlay_figure(runs, out / "overlay.png", title=title)
    n_rounds = sum(len(r.records) for r in runs)
    parts = [f"# {title or 'Study'}", "", f"{len(runs)} runs, {n_rounds} rounds.", "",
             "## Study points and the controls (mean ± sd over seeds, percent)", "", study_markdown(rows), "",
             "![overlay](overlay.png)", "",
             "## Counter-check: Spearman rho with clean accuracy (partial rho given density), p", "",
             partial_spearman_markdown(sp)]
    if sp_noisy:
        parts += ["", f"## The same with accuracy at noise σ={noisy}", "", partial_spearman_markdown(sp_noisy)]
    md = out / "study.md"
    md.write_text("\n".join(parts) + "\n")
    return md
