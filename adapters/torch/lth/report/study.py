"""``reproduce report``: the study's comparisons over a grid's run directories (torch-free).

:func:`render_study` writes ``study.json``, ``spearman_partial.json``, ``overlay.png`` and
``study.md``: per configuration the accuracy at the study's density points, each -Bound
configuration against the plain run and the half-rate control at the same density, and the
banded Spearman counter-check (clean and noisiest sigma). :func:`render_statistics` writes
``statistics.md`` / ``statistics.json``: the statistics of :mod:`~.controls` (``report --statistics``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bipartite_expanders.solvers.threads import solve_threads
from bipartite_expanders.files import atomic_write, write_json

from .controls import (BOOTSTRAP_MIN_N, DEFAULT_BINS, INTERVAL_METHODS, bind_rates, density_points, matched_comparisons, rejection_counts, spearman_table,
                       stop_counts)
from .figures import overlay_figure
from .load import load_runs
from .markdown import ci_cell, md_table, pct, spearman_markdown, study_markdown
from .stats import DEFAULT_BANDS, STUDY_DENSITIES, banded_spearman, study_table

__all__ = ["render_study", "render_statistics", "statistics_markdown", "reading"]


def render_study(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, title: str = "",
                 bands: Sequence[float] = DEFAULT_BANDS) -> Path:
    """Write the study's files into ``out``; returns ``study.md``."""
    runs = load_runs(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = study_table(runs)
    sp = banded_spearman(runs, bands)
    sigmas = runs[0].sigmas
    noisy = max(sigmas, key=float) if sigmas else None
    sp_noisy = banded_spearman(runs, bands, accuracy=noisy) if noisy else []
    write_json(out / "study.json", rows, indent=1)
    write_json(out / "spearman_partial.json", {"clean": sp, f"noise {noisy}": sp_noisy}, indent=1)
    overlay_figure(runs, out / "overlay.png", title=title)
    n_rounds = sum(len(r.records) for r in runs)
    parts = [f"# {title or 'Study'}", "", f"{len(runs)} runs, {n_rounds} rounds.", "",
             "## Study points and the controls (percent)", "",
             "Accuracies at the study's density points: interpolated linearly in log density between the two "
             "rounds of a run that bracket the density, within each seed, then mean [95 % Student-t interval] over "
             "the seeds that reach it, with the per-seed values. A -Bound configuration is compared with the plain "
             "run of the same pruner and seed at its stopping density, interpolated the same way (n = seeds with "
             "such a plain run); other columns mean ± sd over seeds.", "", study_markdown(rows), "",
             "![overlay](overlay.png)", "",
             "## Counter-check: Spearman rho with clean accuracy (partial rho given density), p", "",
             spearman_markdown(sp)]
    if sp_noisy:
        parts += ["", f"## The same with accuracy at noise σ={noisy}", "", spearman_markdown(sp_noisy)]
    md = out / "study.md"
    atomic_write(md, "\n".join(parts) + "\n")
    return md


# ------------------------------------------------------------------ the statistics of issue 16
def _ci(ci: Mapping[str, Any], scale: float = 100.0, digits: int = 2, sign: bool = True) -> str:
    return ci_cell(ci, scale, digits, sign)


def reading(ci: Mapping[str, Any]) -> str:
    """How a difference's interval reads: ``higher`` / ``lower`` when it excludes zero, ``no
    difference shown`` when it contains zero, ``-`` without an interval (fewer than two seeds).

    >>> reading({"n": 3, "low": -0.1, "high": 0.4}), reading({"n": 3, "low": 0.1, "high": 0.4})
    ('no difference shown', 'higher')
    """
    if ci["n"] < 2 or not math.isfinite(ci["low"]):
        return "-"
    if ci["low"] > 0:
        return "higher"
    if ci["high"] < 0:
        return "lower"
    return "no difference shown"


def _table(head: Sequence[Any], body: list[list[Any]], none: str) -> str:
    return md_table(head, body) if body else f"({none})"


def statistics_markdown(stats: Mapping[str, Any]) -> str:
    """The tables of :func:`render_statistics` as markdown."""
    level = int(round(100 * stats["level"]))
    q = (1 + stats["level"]) / 2
    how = (f"Student-t intervals over runs (seeds): mean ± t_{{{q:g}, n−1}}·sd/√n, n the seeds compared"
           if stats.get("interval", "auto") in ("auto", "t") else
           f"percentile bootstrap over runs (seeds), {stats['n_resamples']} resamples, seed {stats['seed']}")
    parts = [f"# {stats['title'] or 'Statistics'}", "",
             f"{stats['runs']} runs, {stats['rounds']} rounds. Intervals: {level} % {how}; every cell lists n and the "
             "per-seed values in seed order. `clean reading`: `higher`/`lower` only when the clean interval excludes "
             "zero, else `no difference shown`.", "",
             "## Gains at matched density", "",
             "Each run's stopping point against its reference run of the same seed (same score method, plain "
             "pruning at the default rates, or at half the rates for `p/2`), whose accuracy is interpolated linearly "
             "in log density at the run's stopping density (`at`: `stop`), or, when the run went deeper than its "
             "reference, at the deepest density both reach, both interpolated there (`deepest common`). Points of accuracy; mean over seeds [interval] "
             "(n: per-seed values). `scoring`: whether the reference scores as the run does (SynFlow: once per round or 100 "
             "iterations); `unfinished`: seeds still running, their last round standing in for the stopping point.", ""]
    sigmas = sorted({s for r in stats["comparisons"] for s in r["noisy"]}, key=float)
    head = (["configuration", "vs", "at", "density %", "clean", "clean reading"] + [f"σ={s}" for s in sigmas]
            + ["seeds", "missing", "scoring", "unfinished"])
    body = [[r["label"], r["vs"], ", ".join(r["at"]) or "-", pct(r["density"]["mean"], 3), _ci(r["clean"]),
             reading(r["clean"])]
            + [_ci(r["noisy"][s]) if s in r["noisy"] else "-" for s in sigmas]
            + [",".join(str(s) for s in r["seeds"]), "; ".join(f"seed {m['seed']}: {m['why']}" for m in r["missing"]),
               ("same" if r["same_scoring"] else "differs") if r["seeds"] else "-", ",".join(str(s) for s in r["unfinished"]) or "-"]
            for r in stats["comparisons"]]
    parts += [md_table(head, body), "", "## Accuracy at fixed densities", "",
              "Clean accuracy (%) interpolated on log density within each run, mean [interval] (n: per-seed values, "
              "`-` where the run does not reach the density) over the runs that reach it.", ""]
    dens = stats["densities"]
    head = ["configuration", "seeds", "unfinished", "stop density %", "stop accuracy"] + [f"at {100 * d:g} %" for d in dens]
    body = [[r["label"], len(r["seeds"]), len(r["unfinished"]), pct(r["stop_density"]["mean"], 3),
             _ci(r["stop_accuracy"], sign=False)] + [_ci(r[f"at_{d:g}"], sign=False) for d in dens]
            for r in stats["points"]]
    parts += [md_table(head, body), "", "## Did the -Bound runs stop by themselves?", ""]
    body = [[r["label"], r["runs"], r["by_itself"], r["at_cap"], r["unfinished"], ",".join(map(str, r["cap"])),
             ",".join(map(str, r["rounds"]))] for r in stats["stops"]]
    no_bound = "no bounded runs"
    # the round count excludes round 0 (the dense network): it is the number of prune steps
    parts += [_table(["configuration", "runs", "no layer changes", "at the cap", "unfinished", "cap", "pruning rounds"],
                     body, no_bound),
              "", "## Algorithm 1's decisions per run and layer", "",
              "Layer steps (one per layer and prune step) and how they ended; `failed unweighted` / `failed |W|`: "
              "candidates the spectral tests refused (a step tries up to `levels` candidates); `binds`: steps in "
              "which a spectral test refused a candidate and changed the outcome (not accepted at the first level).",
              ""]
    head = ["run", "layer", "steps", "accepted", "at first k", "by |W|", "collapse guard", "no_k_accepted", "random",
            "nothing", "failed unweighted", "failed |W|", "binds"]
    body = []
    for r in stats["rejections"]:
        for name, c in list(r["layers"].items()) + [("all", r["total"])]:
            body.append([r["label"], name, c["steps"], c["accepted"], c["accepted_first"], c["accepted_weighted"],
                         c["refused_collapse"], c["refused_no_k"], c["refused_random"], c["nothing_to_prune"],
                         c["failed_unweighted"], c["failed_weighted"],
                         r["binds_total"] if name == "all" else r["binds"].get(name, 0)])
    parts += [_table(head, body, no_bound), "", "Per configuration (all seeds): the share of layer steps in which the spectral "
              "test changed the outcome (the `reject_rate` of its random-rejection control) and the share the degree "
              "guard refused.", ""]
    body = [[r["label"], r["runs"], r["steps"], r["binds"], f"{r['bind_rate']:.4f}", r["collapse"], f"{r['collapse_rate']:.4f}"]
            for r in stats["bind_rates"]]
    parts += [_table(["configuration", "runs", "layer steps", "binds", "bind rate", "collapse guard", "guard rate"],
                     body, no_bound), ""]
    for sp in stats["spearman"]:
        parts += [f"## Spearman with {sp['accuracy']} accuracy: rank partial and binned partial", "",
                  f"{sp['rounds']} rounds of {sp['runs']} runs ({sp['configs']} configurations; {sp['duplicates']} rounds "
                  f"repeat another exactly, {sp.get('unique_rounds', '-')} distinct) pooled. rho; the partial rank "
                  f"correlation given density; the binned partial: ranks regressed on {sp['bins']} log-density bins and "
                  "one fixed effect per configuration, the residuals correlated (margins of the mask graphs, layers "
                  "averaged); the same over the distinct rounds only (each repeated round once); and a 95 % run-level "
                  f"bootstrap interval of the binned partial ({sp.get('n_resamples', 0)} resamples of whole runs: rounds "
                  f"of one run are not independent; none below {BOOTSTRAP_MIN_N} runs).", ""]
        body = [[name, e["n"], f"{e['rho']:+.3f}", f"{e['partial']:+.3f}", f"{e['binned']:+.3f}",
                 f"{e.get('binned_unique', math.nan):+.3f}",
                 (f"[{e['binned_low']:+.2f}, {e['binned_high']:+.2f}]" if math.isfinite(e.get("binned_low", math.nan)) else "-"), e["binned_bins"]]
                for name, e in sp["metrics"].items()]
        parts += [md_table(["metric", "rounds", "rho", "partial (rank)", "partial (bins + configuration)",
                            "the same, distinct rounds", "run-level bootstrap 95 %", "bins used"],
                           body).replace("+nan", "nan"), ""]
    return "\n".join(parts)


def render_statistics(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, title: str = "",
                      seed: int = 0, n_resamples: int = 10_000, bins: int = DEFAULT_BINS,
                      densities: Sequence[float] = STUDY_DENSITIES, interval: str = "auto") -> Path:
    """Write ``statistics.json`` and ``statistics.md`` (docs/bounded-pruning.md) from the run
    records under ``run_dirs`` (record formats 1 and 2) into ``out``; returns the markdown's path:
    the gains at matched density with intervals over runs (``interval``: ``"auto"``/``"t"``
    Student t, ``"bootstrap"`` from :data:`~.controls.BOOTSTRAP_MIN_N` runs on), the accuracies at fixed
    densities, how the -Bound runs stopped, Algorithm 1's decisions per run, layer and rule, and
    the Spearman partials with density bins and configuration fixed effects (clean and noisiest)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an int >= 100, got {n_resamples!r}")
    if interval not in INTERVAL_METHODS:
        raise ValueError(f"interval must be one of {INTERVAL_METHODS}, got {interval!r}")
    runs = load_runs(run_dirs)
    if not runs:
        raise FileNotFoundError(f"no run directories under {[str(p) for p in run_dirs]}")
    # small dense algebra throughout (bootstraps, least squares on a few hundred rows): one BLAS
    # thread; more spin against any other busy process (a run that took 10 min beside one)
    with solve_threads(1, 1):
        return _write_statistics(runs, out, title, seed, n_resamples, bins, densities, interval)


def _write_statistics(runs: list, out: str | os.PathLike, title: str, seed: int, n_resamples: int, bins: int,
                      densities: Sequence[float], interval: str) -> Path:
    sigmas = runs[0].sigmas
    spearman = [spearman_table(runs, bins=bins, seed=seed)]
    if sigmas:
        spearman.append(spearman_table(runs, accuracy=max(sigmas, key=float), bins=bins, seed=seed))
    stats = {"title": title, "runs": len(runs), "rounds": sum(len(r.records) for r in runs), "seed": seed,
             "n_resamples": n_resamples, "level": 0.95, "interval": interval, "densities": list(densities),
             "comparisons": matched_comparisons(runs, n_resamples=n_resamples, seed=seed, interval=interval),
             "points": density_points(runs, densities, n_resamples=n_resamples, seed=seed, interval=interval),
             "stops": stop_counts(runs), "rejections": rejection_counts(runs), "spearman": spearman}
    stats["bind_rates"] = bind_rates(stats["rejections"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "statistics.json", stats, indent=1)
    md = out / "statistics.md"
    atomic_write(md, statistics_markdown(stats) + "\n")
    return md
