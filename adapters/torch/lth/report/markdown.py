"""The reports' markdown: one table writer (:func:`md_table`) and the tables built on it.

Nothing here imports torch.

>>> print(md_table(["a", "b"], [[1, "x|y"]]))
| a | b |
|---|---|
| 1 | x\\|y |
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bipartite_expanders.bounds import VERDICT_BASES, study_verdict
from bipartite_expanders.report import RamanujanReport

from .load import RunData
from .stats import SPEARMAN_METRICS, STUDY_DENSITIES, failing_layers, flatten, num, undefined_layers

__all__ = ["md_table", "pct", "pm", "ci_cell", "table2_markdown", "table2_aggregate_markdown", "rounds_markdown",
           "layers_markdown", "spearman_markdown", "study_markdown", "compare_lengths_markdown", "provenance_markdown",
           "hparams_markdown", "package_version", "git_commit"]


def md_table(head: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table; ``|`` inside a cell is escaped, ``None`` is empty."""
    def cell(v: Any) -> str:
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def pct(x: float | None, digits: int = 2) -> str:
    """A fraction in percent; ``-`` for None or NaN."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def pm(ms: Mapping[str, float], digits: int = 2, scale: float = 100.0) -> str:
    """A :func:`~bipartite_expanders.adapters.torch.lth.report.stats.mean_sd` as ``mean ± sd`` (``-`` when empty)."""
    if ms["n"] == 0:
        return "-"
    if ms["n"] == 1 or not math.isfinite(ms["sd"]):
        return f"{scale * ms['mean']:.{digits}f}"
    return f"{scale * ms['mean']:.{digits}f} ± {scale * ms['sd']:.{digits}f}"


def ci_cell(ci: Mapping[str, Any], scale: float = 100.0, digits: int = 2, sign: bool = True) -> str:
    """A :func:`~bipartite_expanders.adapters.torch.lth.report.stats.t_interval` (or any interval
    dict with ``mean``, ``low``, ``high``, ``n``, ``values``) as ``mean [low, high] (n=N: per-seed
    values)``, in points; ``-`` for a missing seed's value, ``-`` when empty.

    >>> ci_cell({"mean": 0.01, "low": -0.002, "high": 0.022, "n": 2, "values": [0.0, 0.02]})
    '+1.00 [-0.20, +2.20] (n=2: +0.00 +2.00)'
    """
    if not ci or ci["n"] == 0:
        return "-"
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    values = " ".join("-" if v is None else f.format(scale * v) for v in ci.get("values", []))
    seeds = f"n={ci['n']}: {values}" if values else f"n={ci['n']}"
    m = f.format(scale * ci["mean"])
    if not math.isfinite(ci["low"]):
        return f"{m} ({seeds})"
    return f"{m} [{f.format(scale * ci['low'])}, {f.format(scale * ci['high'])}] ({seeds})"


def _g(v: Any, digits: int = 4) -> str:
    x = num(v)
    return "-" if math.isnan(x) else (("+" if x > 0 else "-") + "inf" if math.isinf(x) else f"{x:.{digits}g}")


def table2_markdown(rows: Sequence[Mapping[str, Any]], alphas: Iterable[float] = (1.5, 2.0)) -> str:
    """Markdown of :func:`~bipartite_expanders.adapters.torch.lth.report.stats.table2` (percent). The last two
    columns compare a -Bound run with its plain run of the same seed at the same density."""
    alphas = list(alphas)
    head = ["run (pruner, seed)", "dense acc"]
    for a in alphas:
        head += [f"density @ α={a:g}", f"acc @ α={a:g}"]
    head += ["stop round (reason)", "density @ stop", "acc @ stop", "noisy acc @ stop",
             "plain acc at that density (interpolated)", "Bound − plain"]
    body = []
    for r in rows:
        cells = [r["label"], pct(r["dense_accuracy"])]
        for a in alphas:
            v = r[f"alpha={a:g}"]
            cells += ["-", "-"] if v is None else [pct(v["density"], 3), pct(v["accuracy"])]
        s = r["stop"]
        noisy = ", ".join(f"σ={k}: {pct(v)}" for k, v in s["noisy"].items())
        cells += [f"{s['round']} ({s['reason'] or 'running'})", pct(s["density"], 3), pct(s["accuracy"]), noisy]
        m = r.get("plain_at_stop")
        if m is None:
            cells += ["", ""]
        elif m["accuracy"] is None:
            cells += [m["why"], "-"]
        else:
            cells += [pct(m["accuracy"]), f"{100 * m['gain']:+.2f}"]
        body.append(cells)
    return md_table(head, body)


def table2_aggregate_markdown(rows: Sequence[Mapping[str, Any]], alphas: Iterable[float] = (1.5, 2.0)) -> str:
    """Markdown of :func:`~bipartite_expanders.adapters.torch.lth.report.stats.table2_aggregate`: mean ± sd over seeds, percent."""
    alphas = list(alphas)
    head = ["configuration", "seeds", "dense acc"]
    for a in alphas:
        head += [f"density @ α={a:g}", f"acc @ α={a:g}"]
    head += ["stop round", "density @ stop", "acc @ stop", "noisy acc @ stop", "stop reasons",
             "Bound − plain at matched density: mean [t interval] (per seed)"]
    body = []
    for r in rows:
        n = len(r["seeds"])
        cells = [r["label"], f"{n} ({', '.join(map(str, r['seeds']))})", pm(r["dense_accuracy"])]
        for a in alphas:
            v = r[f"alpha={a:g}"]
            short = f" ({v['n']}/{n})" if 0 < v["n"] < n else ""
            cells += [pm(v["density"], 3) + short, pm(v["accuracy"]) + short]
        s = r["stop"]
        cells += [pm(s["round"], 1, 1.0), pm(s["density"], 3), pm(s["accuracy"]),
                  ", ".join(f"σ={k}: {pm(v)}" for k, v in s["noisy"].items()),
                  ", ".join(f"{k} ×{c}" for k, c in s["reasons"].items())]
        m = r.get("plain_at_stop")
        cells.append("" if m is None else (ci_cell(m["gain_ci"]) if "gain_ci" in m else pm(m["gain"])) + f" ({m['n']}/{n})")
        body.append(cells)
    return md_table(head, body)


def rounds_markdown(run: RunData) -> str:
    """Per round: density, accuracies, regime, the Ramanujan layers and which layers fail."""
    sig = run.sigmas
    head = (["round", "density %", "acc %"] + [f"acc σ={s} %" for s in sig]
            + ["regime", "regime weighted", "Ramanujan layers", "not Ramanujan", "train s"])
    body = []
    for r in run.records:
        cen = r.get("census", [])
        fails, undefined = failing_layers(r), undefined_layers(r)
        listed = fails + [f"{name} (undefined)" for name in undefined]
        body.append([r["round"], pct(r["density"]["total"], 3), pct(r["accuracy"]["clean"])]
                    + [pct(r["accuracy"]["noisy"][s]) for s in sig]
                    + [r.get("regime"), r.get("regime_weighted"), f"{len(cen) - len(listed)}/{len(cen)}",
                       ", ".join(listed) or "-", f"{num(r.get('timing', {}).get('train_s')):.1f}"])
    return md_table(head, body) + "\n\n" + ROUNDS_LEGEND


#: the legend printed under :func:`rounds_markdown`'s table
ROUNDS_LEGEND = (
    "Columns: `regime` / `regime weighted`: fully, partially or non Ramanujan over the layers by the seed study's "
    "rule (`max(Delta_S, Delta_R) >= 0`) on the 0/1 masks / on `|W|`; `Ramanujan layers`: masks that pass the "
    "rule, of all layers; `not Ramanujan`: masks whose defined margins are all negative, and `(undefined)` "
    "where neither margin is defined (NaN), which is not counted as a failure."
)

#: the legend printed under :func:`layers_markdown`'s table
LAYERS_LEGEND = (
    "Columns: `verdict` is the graph's one verdict (docs/bounds.md, \"The verdict\"): a Ramanujan graph is "
    "connected with `t2 <= rho(T)`, the universal cover's spectral radius; in order, "
    + "; ".join(f"`{k}`: {v}" for k, v in VERDICT_BASES.items())
    + ". `t1`, `t2`: the two largest singular values; `eb = 2 sqrt(t1 - 1)` (no theorem for irregular graphs) and "
    "`db = sqrt(dL - 1) + sqrt(dR - 1)` (Hoory: `db <= rho(T)` at minimum degree >= 2): the bounds; "
    "`Delta_S = (eb - t2)/t2`, `Delta_R = (db - t2)/t2`: their margins (`-`: undefined, NaN). `study rule`: the seed "
    "study's rule, yes when `max(Delta_S, Delta_R) >= 0`, no when the defined margins are negative, undefined "
    "when neither is defined; the rounds table's regime and Ramanujan-layer counts use this rule."
)


def _verdict(rep: Mapping[str, Any]) -> str:
    """A stored report's verdict: recorded, or recomputed from the fields (records written before it)."""
    if rep.get("verdict"):
        return str(rep["verdict"])
    try:
        return RamanujanReport.from_dict(rep).verdict.value
    except (TypeError, ValueError, KeyError):
        return "-"


def layers_markdown(run: RunData, kind: str = "mask") -> str:
    """Per round and layer: the verdict, density, ``t1``, ``t2``, ``eb``, ``db``, the margins and
    the study's rule; a legend under the table explains each column and rule."""
    head = ["round", "layer", "verdict", "density %", "t1", "t2", "eb", "db", "Delta_S", "Delta_R", "study rule"]
    body = []
    for r in run.records:
        for c in r.get("census", []):
            rep = flatten({kind: c.get(kind) or {}})
            rule = study_verdict(rep.get(f"{kind}.delta_s"), rep.get(f"{kind}.delta_r"))
            body.append([r["round"], c["name"], _verdict(c.get(kind) or {}), pct(c.get("density"), 2)]
                        + [_g(rep.get(f"{kind}.{k}")) for k in ("t1", "t2", "eb", "db", "delta_s", "delta_r")]
                        + [{"ramanujan": "yes", "not_ramanujan": "**no**"}.get(rule.value, "undefined")])
    return md_table(head, body) + "\n\n" + LAYERS_LEGEND


def spearman_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown of :func:`~bipartite_expanders.adapters.torch.lth.report.stats.banded_spearman`: per band and metric
    ``rho (partial rho given density), p``."""
    head = ["density band", "rounds"] + list(SPEARMAN_METRICS.values())
    body = []
    for r in rows:
        cells = [r["band"], r["n"]]
        for key in SPEARMAN_METRICS:
            e = r["metrics"][key]
            if math.isnan(e["rho"]):
                cells.append("n/a (constant)" if e["n"] >= 3 else "-")
                continue
            part = "" if math.isnan(e["partial"]) else f" ({e['partial']:+.2f})"
            cells.append(f"{e['rho']:+.2f}{part}, p={e['p']:.2g}, n={e['n']}")
        body.append(cells)
    return md_table(head, body)


def study_markdown(rows: Sequence[Mapping[str, Any]], densities: Iterable[float] = STUDY_DENSITIES) -> str:
    """:func:`~bipartite_expanders.adapters.torch.lth.report.stats.study_table` as markdown (percent; accuracies at
    the density points and the differences as mean [t interval] with the per-seed values, the rest mean ± sd)."""
    densities = list(densities)
    head = ["configuration", "seeds (finished)", "wall s per run", "dense acc %"]
    for d in densities:
        head += [f"acc % at {100 * d:g} % (interpolated)"]
    head += ["last round: density %", "acc %", "noisy acc %", "plain at that density (interpolated): acc %",
             "Bound − plain: mean [t interval] (per seed)", "plain p/2 at that density: acc %", "Bound − plain p/2",
             "Bound steps: at k=1 % / by the |W| rule %"]
    body = []
    for r in rows:
        cells = [r["label"], f"{len(r['seeds'])} ({sum(r['finished'])})", pm(r["seconds"], 0, 1.0), pm(r["dense"])]
        for d in densities:
            v = r.get(f"at_{d:g}")
            cells += [""] if v is None else [ci_cell(v["accuracy"], sign=False)]
        s = r["stop"]
        cells += [pm(s["density"]), pm(s["accuracy"]), ", ".join(f"σ={k}: {pm(v)}" for k, v in s["noisy"].items())]
        for key in ("plain_at_stop", "half_at_stop"):
            p = r.get(key)
            cells += ["", ""] if p is None else [f"{pm(p['accuracy'])} (n={p['n']})",
                                                 ci_cell(p["gain_ci"]) if "gain_ci" in p else pm(p["gain"])]
        d = r.get("decisions")
        cells.append("" if d is None else f"{100 * d['k1']:.0f} / {100 * d['weighted']:.0f} (of {d['accepted']})")
        body.append(cells)
    return md_table(head, body)


def compare_lengths_markdown(cmp: Mapping[str, Any]) -> str:
    """:func:`~bipartite_expanders.adapters.torch.lth.report.stats.compare_lengths` as markdown."""
    its = [str(i) for i in cmp["iterations"]]
    body = []
    for row in cmp["rounds"]:
        dens = next(row[i]["density"] for i in its if i in row)
        body.append([row["round"], f"{100 * dens:.2f}"] + [f"{100 * row[i]['accuracy']:.2f}" if i in row else ""
                                                          for i in its])
    pairs = [[f"{p['iterations'][0]} vs {p['iterations'][1]}", p["rounds"], f"{p['spearman']:+.2f}",
              f"{p['best_round'][0]} vs {p['best_round'][1]}", f"{100 * p['mean_gap']:+.2f}"] for p in cmp["pairs"]]
    return (md_table(["round", "density %"] + [f"acc % ({i} it)" for i in its], body) + "\n\n"
            + md_table(["lengths", "common rounds", "Spearman of accuracy over rounds", "best round",
                        "mean gain of the longer (points)"], pairs))


# ------------------------------------------------------------------ provenance
def package_version() -> str:
    from bipartite_expanders import __version__

    return str(__version__)


def git_commit(path: str | Path | None = None) -> str:
    """The commit of the checkout holding this package (``+dirty`` with uncommitted changes), or
    ``unknown`` outside a git checkout."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip()[:12] + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance_markdown(runs: Sequence[RunData]) -> str:
    """What made the report: package version, commit, and the runs' record formats."""
    formats = sorted({r.records[0].get("format") for r in runs if r.records}, key=str)
    return (f"bipartite-expanders {package_version()}, commit `{git_commit()}`; "
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}, record format {', '.join(map(str, formats))}.")


def hparams_markdown(runs: Sequence[RunData]) -> str:
    """The hyperparameters: those every run shares as one list, then a table of the ones that
    differ (with the run, its pruner and seed)."""
    flat = [flatten(r.hparams) for r in runs]
    keys = sorted({k for f in flat for k in f})
    shared = [k for k in keys if all(k in f for f in flat) and len({repr(f[k]) for f in flat}) == 1]
    differ = [k for k in keys if k not in shared]
    lines = ["Shared: " + (", ".join(f"`{k}` = {flat[0][k]!r}" for k in shared) if shared and flat else "none") + "."]
    if differ or len(runs) > 1:
        lines += ["", md_table(["run", "pruner, seed"] + [f"`{k}`" for k in differ],
                               [[f"`{r.path.name}`", r.seed_label] + [repr(f.get(k)) for k in differ]
                                for r, f in zip(runs, flat)])]
    return "\n".join(lines)
