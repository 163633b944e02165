"""Across seeds and across runs: Table 2 and Figure 4 as mean ± sd, and the Spearman counter-check.

A sweep repeats each configuration over seeds. :func:`group_runs` puts runs whose hyperparameters
differ only in the seed together; :func:`table2_aggregate` and :func:`figure4_aggregate` give the
seed paper's Table 2 and Figure 4 as mean ± sample standard deviation over the seeds (Figure 4
averages round by round: round ``r``'s density and accuracy over the seeds that reached it).

:func:`spearman_check` is the counter-check of the science issue: over all rounds of all runs,
the Spearman rank correlation with accuracy of (a) the fraction of Ramanujan layers, (b) the mean
``Delta_S``, (c) the mean ``Delta_R`` over layers, and (d) density alone, within each density band
(and over all densities). If the spectral metrics carry information beyond density, (a)-(c) should
correlate with accuracy *inside* a band, where density barely varies.

>>> recs = [{"round": i, "density": {"total": d}, "accuracy": {"clean": a, "noisy": {}},
...          "census": [{"is_ramanujan": r, "mask": {"delta_s": s, "delta_r": s + 1}}]}
...         for i, (d, a, r, s) in enumerate([(1.0, .9, True, .5), (.8, .91, True, .4),
...                                          (.6, .8, False, -.1), (.4, .7, False, -.3)])]
>>> from adapters.torch.lth.report import RunData
>>> rows = spearman_check([RunData(Path("r"), {}, recs)], bands=(1.0, 0.5, 0.0))
>>> [(r["band"], r["n"], round(r["metrics"]["mean_delta_s"]["rho"], 2)) for r in rows]
[('all', 4, 0.8), ('(0.5, 1]', 3, 0.5), ('(0, 0.5]', 1, nan)]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report import RunData, _density_axis, _pct, _shade_regimes, table2

__all__ = ["RunGroup", "group_runs", "mean_sd", "table2_aggregate", "table2_aggregate_markdown", "figure4_aggregate",
           "record_metrics", "spearman_check", "spearman_markdown", "aggregate_sections", "DEFAULT_BANDS",
           "SPEARMAN_METRICS"]

#: density band edges, high to low: bands (0.5, 1], (0.2, 0.5], ..., (0, 0.01]
DEFAULT_BANDS: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0)

#: metric name -> description, in the order of the science issue's counter-check
SPEARMAN_METRICS: dict[str, str] = {
    "frac_ramanujan": "(a) fraction of Ramanujan layers",
    "mean_delta_s": "(b) mean Delta_S",
    "mean_delta_r": "(c) mean Delta_R",
    "density": "(d) density alone",
}


@dataclass
class RunGroup:
    """Runs whose hyperparameters differ only in the seed."""

    key: str
    runs: list[RunData]

    @property
    def label(self) -> str:
        return self.runs[0].label

    @property
    def title(self) -> str:
        return self.runs[0].title

    @property
    def seeds(self) -> list[Any]:
        return [r.hparams.get("seed") for r in self.runs]


def _group_key(run: RunData) -> str:
    if not run.hparams:  # no hparams.json: a group of its own
        return f"path:{run.path}"
    h = {k: v for k, v in run.hparams.items() if k != "seed"}
    return hashlib.sha256(json.dumps(h, sort_keys=True).encode()).hexdigest()[:12]


def group_runs(runs: Sequence[RunData]) -> list[RunGroup]:
    """Runs grouped by their hyperparameters without the seed; groups ordered by model, data set,
    pruner, plain before -Bound; seeds in order."""
    groups: dict[str, RunGroup] = {}
    for run in runs:
        groups.setdefault(_group_key(run), RunGroup(_group_key(run), [])).runs.append(run)
    for g in groups.values():
        g.runs.sort(key=lambda r: (r.hparams.get("seed") is None, r.hparams.get("seed", 0)))

    def order(g: RunGroup) -> tuple[str, ...]:  # model, data set, pruner, then plain before -Bound
        h = g.runs[0].hparams
        if not h:
            return ("~", str(g.runs[0].path))
        return (h["model"]["name"], h["dataset"]["name"], h["pruning"]["pruner"], str(h["pruning"]["bound"]), g.key)

    return sorted(groups.values(), key=order)


def mean_sd(values: Iterable[float | None]) -> dict[str, float]:
    """Mean, sample standard deviation (``ddof=1``; NaN for one value) and count of the finite values.

    >>> mean_sd([1.0, 2.0, 3.0, None, float("nan")])
    {'mean': 2.0, 'sd': 1.0, 'n': 3}
    """
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0}
    m = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    return {"mean": m, "sd": sd, "n": n}


# ------------------------------------------------------------------ Table 2
def table2_aggregate(groups: Sequence[RunGroup], alphas: Iterable[float] = (1.5, 2.0)) -> list[dict[str, Any]]:
    """Per group, :func:`~adapters.torch.lth.report.table2` over its seeds as mean ± sd: the dense
    accuracy; per alpha the density and accuracy (over the seeds that reach one within alpha); the
    stopping point's round, density, clean and noisy accuracy, and the stop reasons counted."""
    alphas = list(alphas)
    out = []
    for g in groups:
        rows = table2(g.runs, alphas)
        agg: dict[str, Any] = {"label": g.label, "title": g.title, "group": g.key, "seeds": g.seeds,
                               "runs": [r["run"] for r in rows],
                               "dense_accuracy": mean_sd(r["dense_accuracy"] for r in rows)}
        for a in alphas:
            pts = [r[f"alpha={a:g}"] for r in rows if r[f"alpha={a:g}"] is not None]
            agg[f"alpha={a:g}"] = {"density": mean_sd(p["density"] for p in pts),
                                   "accuracy": mean_sd(p["accuracy"] for p in pts), "n": len(pts)}
        stops = [r["stop"] for r in rows]
        sigmas = list(stops[0]["noisy"]) if stops else []
        agg["stop"] = {"round": mean_sd(s["round"] for s in stops), "density": mean_sd(s["density"] for s in stops),
                       "accuracy": mean_sd(s["accuracy"] for s in stops),
                       "noisy": {k: mean_sd(s["noisy"].get(k) for s in stops) for k in sigmas},
                       "reasons": dict(Counter(str(s["reason"]) for s in stops))}
        out.append(agg)
    return out


def _pm(ms: dict[str, float], digits: int = 2, scale: float = 100.0) -> str:
    if ms["n"] == 0:
        return "-"
    if ms["n"] == 1 or not math.isfinite(ms["sd"]):
        return f"{scale * ms['mean']:.{digits}f}"
    return f"{scale * ms['mean']:.{digits}f} ± {scale * ms['sd']:.{digits}f}"


def table2_aggregate_markdown(rows: Sequence[dict[str, Any]], alphas: Iterable[float] = (1.5, 2.0)) -> str:
    """Markdown of :func:`table2_aggregate`: mean ± sd over seeds, densities and accuracies in percent."""
    alphas = list(alphas)
    head = ["run", "seeds", "dense acc"]
    for a in alphas:
        head += [f"density @ α={a:g}", f"acc @ α={a:g}"]
    head += ["stop round", "density @ stop", "acc @ stop", "noisy acc @ stop", "stop reasons"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        n = len(r["seeds"])
        cells = [r["label"], str(n), _pm(r["dense_accuracy"])]
        for a in alphas:
            v = r[f"alpha={a:g}"]
            short = f" ({v['n']}/{n})" if 0 < v["n"] < n else ""
            cells += [_pm(v["density"], 3) + short, _pm(v["accuracy"]) + short]
        s = r["stop"]
        cells += [_pm(s["round"], 1, 1.0), _pm(s["density"], 3), _pm(s["accuracy"]),
                  ", ".join(f"{k}: {_pm(v)}" for k, v in s["noisy"].items()),
                  ", ".join(f"{k} ×{c}" for k, c in s["reasons"].items())]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ Figure 4
def _by_round(g: RunGroup, fn: Any) -> list[dict[str, float]]:
    """Round r -> mean_sd over the seeds that reached round r of ``fn(record)``."""
    n = max(len(r.records) for r in g.runs)
    return [mean_sd(fn(run.records[i]) for run in g.runs if i < len(run.records)) for i in range(n)]


def _num(v: Any) -> float:
    """A report field as a float: the core's JSON-safe ``"inf"``, ``"-inf"``, ``"nan"`` strings
    included; anything else (None, a verdict) is NaN.

    >>> _num("inf"), _num(2), _num(None), _num("ramanujan")
    (inf, 2.0, nan, nan)
    """
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    return math.nan


def _layer_value(rec: dict[str, Any], layer: str, kind: str, name: str) -> float | None:
    for c in rec.get("census", []):
        if c.get("name") == layer:
            v = _num((c.get(kind) or {}).get(name))
            return None if math.isnan(v) else v
    return None


def _mean_run(g: RunGroup) -> RunData:
    """A stand-in run of per-round mean densities and the most common regime (for the shading)."""
    dens = _by_round(g, lambda r: r["density"]["total"])
    recs = []
    for i, d in enumerate(dens):
        regimes = Counter(run.records[i].get("regime") for run in g.runs if i < len(run.records))
        recs.append({"density": {"total": d["mean"]}, "regime": regimes.most_common(1)[0][0]})
    return RunData(g.runs[0].path, g.runs[0].hparams, recs)


def figure4_aggregate(groups: Sequence[RunGroup], path: str | os.PathLike, kind: str = "mask") -> Path:
    """Figure 4 over seeds as a PNG: one column per group; rows accuracy (clean and noisy),
    ``Delta_S`` and ``Delta_R`` per layer (of the ``kind`` graph), each the per-round mean with a
    ± sd bar, against the per-round mean density (log axis), shaded by the most common regime.
    A margin that is ``+inf`` (``t2 = 0``) for every seed is a triangle on the top edge; otherwise
    the mean is over the seeds with a finite margin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .report import REGIME_COLORS

    n = max(len(groups), 1)
    fig, axes = plt.subplots(3, n, figsize=(5.2 * n, 11), squeeze=False)
    for j, g in enumerate(groups):
        mean_run = _mean_run(g)
        x = [100 * d for d in mean_run.densities]
        ax = axes[0][j]
        _shade_regimes(ax, mean_run)
        sigmas = g.runs[0].sigmas
        series = [("clean", lambda r: r["accuracy"]["clean"], "o-", "black")]
        series += [(f"noise sigma={s}", lambda r, s=s: r["accuracy"]["noisy"].get(s), "o--", None) for s in sigmas]
        for name, fn, style, color in series:
            ms = _by_round(g, fn)
            ax.errorbar(x, [100 * m["mean"] for m in ms], yerr=[100 * (m["sd"] if m["n"] > 1 else 0) for m in ms],
                        fmt=style, ms=3, capsize=2, label=name, color=color)
        ax.set_ylabel("test accuracy (%), mean ± sd")
        ax.set_title(f"{g.title} ({len(g.runs)} seeds)", fontsize=10)
        _density_axis(ax)
        ax.legend(fontsize=7, loc="lower left")
        layers = [c["name"] for c in g.runs[0].records[0].get("census", [])]
        for i, (name, sym) in enumerate((("delta_s", "Delta_S"), ("delta_r", "Delta_R"))):
            ax = axes[1 + i][j]
            _shade_regimes(ax, mean_run)
            for layer in layers:
                ms = _by_round(g, lambda r, layer=layer: _layer_value(r, layer, kind, name))
                pts = [(xv, m) for xv, m in zip(x, ms) if m["n"] > 0]
                line = ax.errorbar([p[0] for p in pts], [p[1]["mean"] for p in pts],
                                   yerr=[p[1]["sd"] if p[1]["n"] > 1 else 0 for p in pts], fmt="o-", ms=3, capsize=2,
                                   label=layer)
                all_inf = [xv for k, xv in enumerate(x) if all(
                    _layer_value(run.records[k], layer, kind, name) == math.inf for run in g.runs if k < len(run.records))
                    and ms[k]["n"] == 0]
                if all_inf:
                    ax.plot(all_inf, [1.0] * len(all_inf), "^", ms=5, transform=ax.get_xaxis_transform(),
                            clip_on=False, color=line.lines[0].get_color())
            ax.axhline(0.0, color="black", lw=0.8)
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylabel(f"{sym} ({kind} graph), mean ± sd")
            _density_axis(ax)
            ax.legend(fontsize=7, loc="best")
    handles = [Patch(color=c, alpha=0.3, label=f"{k} Ramanujan") for k, c in REGIME_COLORS.items()]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ Spearman counter-check
def _mean_over_layers(values: list[float]) -> float:
    """Mean of the layers' margins, NaN (undefined bound) layers left out; any +inf gives +inf."""
    vals = [v for v in values if not math.isnan(v)]
    return math.fsum(vals) / len(vals) if vals and not any(math.isinf(v) for v in vals) else (
        math.inf if any(v == math.inf for v in vals) else math.nan)


def record_metrics(record: dict[str, Any], kind: str = "mask", accuracy: str = "clean") -> dict[str, float]:
    """A round's accuracy, density, fraction of Ramanujan layers and mean margins of the ``kind`` graphs.

    >>> record_metrics({"density": {"total": 0.5}, "accuracy": {"clean": 0.9, "noisy": {"0.1": 0.8}},
    ...                 "census": [{"is_ramanujan": True, "mask": {"delta_s": 1.0, "delta_r": 2.0}},
    ...                            {"is_ramanujan": False, "mask": {"delta_s": -1.0, "delta_r": "nan"}}]})
    {'accuracy': 0.9, 'density': 0.5, 'frac_ramanujan': 0.5, 'mean_delta_s': 0.0, 'mean_delta_r': 2.0}
    """
    acc = record["accuracy"]["clean"] if accuracy == "clean" else record["accuracy"]["noisy"].get(accuracy)
    if acc is None:
        raise ValueError(f"accuracy must be 'clean' or a noise sigma of the records {list(record['accuracy']['noisy'])}, "
                         f"got {accuracy!r}")
    cen = record.get("census", [])

    def margins(name: str) -> list[float]:
        return [_num((c.get(kind) or {}).get(name)) for c in cen]

    return {"accuracy": float(acc), "density": float(record["density"]["total"]),
            "frac_ramanujan": (sum(bool(c.get("is_ramanujan")) for c in cen) / len(cen)) if cen else math.nan,
            "mean_delta_s": _mean_over_layers(margins("delta_s")), "mean_delta_r": _mean_over_layers(margins("delta_r"))}


def _spearman(x: list[float], y: list[float]) -> dict[str, float]:
    from scipy.stats import spearmanr

    pts = [(a, b) for a, b in zip(x, y) if not (math.isnan(a) or math.isnan(b))]
    n = len(pts)
    if n < 3:
        return {"rho": math.nan, "p": math.nan, "n": n}
    with warnings.catch_warnings():  # constant input: rho is undefined, reported as NaN
        warnings.simplefilter("ignore")
        res = spearmanr([p[0] for p in pts], [p[1] for p in pts])
    return {"rho": float(res.statistic), "p": float(res.pvalue), "n": n}


def spearman_check(runs: Sequence[RunData], bands: Sequence[float] = DEFAULT_BANDS, kind: str = "mask",
                   accuracy: str = "clean") -> list[dict[str, Any]]:
    """The counter-check: Spearman's rho (``scipy.stats.spearmanr``) of each of
    :data:`SPEARMAN_METRICS` with accuracy, over every round of every run pooled: first over all
    densities, then within each band ``(lo, hi]`` of ``bands`` (edges, high to low). Rounds whose
    metric is NaN are left out of that metric; ``+inf`` margins (``t2 = 0``) rank highest.
    A band with fewer than 3 rounds, or constant values, gives ``rho = nan``."""
    if kind not in ("mask", "weight", "score"):
        raise ValueError(f"kind must be 'mask', 'weight' or 'score', got {kind!r}")
    edges = [float(b) for b in bands]
    if len(edges) < 2 or any(not (0 <= b <= 1) for b in edges) or any(a <= b for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bands must be at least two density edges in [0, 1], strictly decreasing, got {bands!r}")
    rows_in = [record_metrics(rec, kind, accuracy) for run in runs for rec in run.records]
    groups = [("all", rows_in)]
    for hi, lo in zip(edges, edges[1:]):
        groups.append((f"({lo:g}, {hi:g}]", [m for m in rows_in if lo < m["density"] <= hi]))
    out = []
    for band, ms in groups:
        acc = [m["accuracy"] for m in ms]
        out.append({"band": band, "n": len(ms),
                    "density_range": [min((m["density"] for m in ms), default=math.nan),
                                      max((m["density"] for m in ms), default=math.nan)],
                    "metrics": {k: _spearman([m[k] for m in ms], acc) for k in SPEARMAN_METRICS}})
    return out


def spearman_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown of :func:`spearman_check`: rho (p) per band and metric."""
    head = ["density band", "rounds"] + list(SPEARMAN_METRICS.values())
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["band"], str(r["n"])]
        for k in SPEARMAN_METRICS:
            m = r["metrics"][k]
            cells.append("-" if math.isnan(m["rho"]) else f"{m['rho']:+.2f} (p={m['p']:.2g}, n={m['n']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ the report's sections
def aggregate_sections(runs: Sequence[RunData], out: str | os.PathLike, alphas: Sequence[float] = (1.5, 2.0),
                       kind: str = "mask", bands: Sequence[float] = DEFAULT_BANDS) -> list[str]:
    """Write ``figure4_mean.png``, ``table2_mean.json`` (when some configuration has several
    seeds) and ``spearman.json`` into ``out``; return the report's markdown lines for them."""
    from .runner import write_json_atomic

    out = Path(out)
    parts: list[str] = []
    groups = group_runs(runs)
    if any(len(g.runs) > 1 for g in groups):
        figure4_aggregate(groups, out / "figure4_mean.png", kind=kind)
        rows = table2_aggregate(groups, alphas)
        write_json_atomic(out / "table2_mean.json", rows)
        parts += ["## Across seeds: Table 2 analog (mean ± sd)", "",
                  "Each row: the runs whose hyperparameters differ only in the seed; each cell the mean ± sample "
                  "standard deviation over the seeds (in percent; `(k/n)`: only k of the n seeds reach a round "
                  "within α).", "", table2_aggregate_markdown(rows, alphas), "",
                  "## Across seeds: Figure 4 analog (mean ± sd)", "",
                  "Round by round, the mean over the seeds that reached the round, with ± sd bars.", "",
                  "![Figure 4, mean over seeds](figure4_mean.png)", ""]
    sp = spearman_check(runs, bands=bands, kind=kind)
    write_json_atomic(out / "spearman.json", {"kind": kind, "accuracy": "clean", "bands": list(bands), "rows": sp})
    parts += ["## Counter-check: Spearman rank correlation with clean accuracy", "",
              f"Over all {sp[0]['n']} rounds of all {len(runs)} runs pooled, per density band: Spearman's rho "
              f"(p-value, rounds) of each metric with clean test accuracy; margins of the {kind} graphs, layers "
              "averaged. Inside a band density barely varies, so a spectral metric that predicts accuracy "
              "beyond density shows up there.", "", spearman_markdown(sp), ""]
    return parts
