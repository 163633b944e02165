"""Statistics that separate the bound from its schedule (issue 16; docs/bounded-pruning.md).

From run records alone (nothing here imports torch):

- :func:`reference_run`: the plain run (or the half-rate control) a bounded run or control is
  compared with: same model, data, training, analysis, seed and score method, plain pruning.
- :func:`matched_comparisons`: each non-plain run against its references **at its stopping
  density**, the reference's clean and noisy accuracies interpolated on log density
  (:func:`~.stats.accuracy_at_density`) within the seed; per configuration the per-seed gains,
  their mean and a confidence interval over runs (:func:`seed_interval`: Student t by default; a
  bootstrap only from :data:`BOOTSTRAP_MIN_N` runs on), never over rounds.
- :func:`density_points`: every configuration's accuracy at fixed densities, interpolated per run.
- :func:`binned_partial_spearman`: Spearman's rho of a metric with accuracy after removing
  density (log-density bins) and the configuration (fixed effects) from both ranks, beside
  the rank partial of :func:`~.stats.banded_spearman`.
- :func:`rejection_counts`: per bounded run and layer, how Algorithm 1 decided: accepted (at
  the first level, by the ``|W|`` rule), refused by the collapse guard, by ``no_k_accepted``,
  at random (the control), and the candidates each spectral test failed.
- :func:`stop_counts`: how many bounded runs stopped by themselves and how many at the cap.

>>> round(bootstrap_ci([1.0, 1.0, 1.0])["mean"], 6), bootstrap_ci([2.0])["low"]
(1.0, nan)
>>> ci = seed_interval([0.1, 0.5, 0.3])
>>> ci["method"], ci["n"], round(ci["low"], 4), round(ci["high"], 4)
('t', 3, -0.1968, 0.7968)
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bipartite_expanders import progress
from bipartite_expanders.solvers.threads import solve_threads
from bipartite_expanders.sparsify import SPECTRAL_RULES, removal_count

from ..hparams import MODEL_DEFAULTS, PRUNERS
from .load import RunData, group_runs
from .stats import STUDY_DENSITIES, partial_correlation, accuracy_at_density, mean_sd, record_metrics, t_interval

__all__ = ["bootstrap_ci", "seed_interval", "BOOTSTRAP_MIN_N", "INTERVAL_METHODS", "reference_run", "matched_comparisons", "density_points", "binned_partial_spearman",
           "spearman_table", "decision_counts", "rejection_counts", "bind_rates", "stop_counts", "DEFAULT_BINS", "REJECTION_FIELDS"]

#: log-density bins of :func:`binned_partial_spearman`
DEFAULT_BINS = 30

#: the fields of :func:`decision_counts`, in table order
REJECTION_FIELDS = ("steps", "accepted", "accepted_first", "accepted_weighted", "refused_collapse",
                    "refused_no_k", "refused_random", "nothing_to_prune", "failed_unweighted", "failed_weighted")


#: fewest runs for which :func:`seed_interval` reports a percentile bootstrap interval: with n
#: values the bootstrap interval lies inside [min, max] of them (with 3 it is exactly that range),
#: which covers the mean far less often than its nominal level for small n
BOOTSTRAP_MIN_N = 10

#: the ``method`` values of :func:`seed_interval`
INTERVAL_METHODS = ("auto", "t", "bootstrap")


# ------------------------------------------------------------------ intervals over runs
def seed_interval(values: Sequence[float | None], level: float = 0.95, method: str = "auto",
                  n_resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """The interval over runs (seeds) the statistics report: ``method="auto"`` and ``"t"`` give
    :func:`t_interval`; ``"bootstrap"`` the percentile bootstrap of :func:`bootstrap_ci`, which
    needs at least :data:`BOOTSTRAP_MIN_N` finite values (fewer raise ``ValueError``: with three
    seeds its interval is just their range). Returns :func:`t_interval`'s keys.

    >>> seed_interval([0.0, 1.0, 2.0], method="t")["method"]
    't'
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method must be one of {INTERVAL_METHODS}, got {method!r}")
    ci = t_interval(values, level)
    if method == "bootstrap":
        if ci["n"] < BOOTSTRAP_MIN_N:
            raise ValueError(f"method='bootstrap' needs at least {BOOTSTRAP_MIN_N} runs, got {ci['n']}: with fewer "
                             f"the percentile interval is about the range of the values; use method='t'")
        b = bootstrap_ci(values, level=level, n_resamples=n_resamples, seed=seed)
        ci.update(low=b["low"], high=b["high"], method="bootstrap")
    return ci


def bootstrap_ci(values: Sequence[float | None], level: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> dict[str, float]:
    """Mean of the finite ``values`` (one per run) and its percentile bootstrap interval
    (``scipy.stats.bootstrap``, resampling the runs with replacement, seeded): ``mean``, ``low``,
    ``high``, ``n``. Fewer than two values: the interval is NaN; identical values: a point.

    >>> ci = bootstrap_ci([0.0, 1.0, 2.0], seed=0)
    >>> ci["mean"], 0.0 <= ci["low"] < 1.0 < ci["high"] <= 2.0
    (1.0, True)
    """
    from scipy.stats import bootstrap

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    x = np.asarray([float(v) for v in values if v is not None and math.isfinite(float(v))], dtype=float)
    if x.size == 0:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    mean = float(math.fsum(x) / x.size)
    if x.size < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": 1}
    if np.all(x == x[0]):
        return {"mean": mean, "low": float(x[0]), "high": float(x[0]), "n": int(x.size)}
    res = bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=level, method="percentile",
                    rng=np.random.default_rng(seed))
    return {"mean": mean, "low": float(res.confidence_interval.low), "high": float(res.confidence_interval.high),
            "n": int(x.size)}


# ------------------------------------------------------------------ references
def _pruning(run: RunData) -> dict[str, Any]:
    return dict(run.hparams.get("pruning", {}))


def _method(run: RunData) -> str | None:
    spec = PRUNERS.get(str(_pruning(run).get("pruner")))
    return spec.method if spec is not None else None


def _synflow_steps(run: RunData) -> int | None:
    """How often a SynFlow run scores per round (None: not SynFlow): records without the field
    iterate 100 steps plain and score once bounded, as the runner did."""
    if _method(run) != "synflow":
        return None
    pr = _pruning(run)
    return 1 if pr.get("bound") else int(pr.get("synflow_steps") or 100)


def _rate_scale(run: RunData) -> float | None:
    """The run's rates over the model's defaults (1 = default, 0.5 = p/2, None = other)."""
    pr = _pruning(run)
    model = run.hparams.get("model", {}).get("name")
    if model not in MODEL_DEFAULTS:
        return None
    default = MODEL_DEFAULTS[model][1]
    keys = [k for k in ("p_conv", "p_fc", "p_out") if k in default]
    for scale in (1.0, 0.5):
        if all(math.isclose(float(pr.get(k, default[k])), default[k] * scale) for k in keys):
            return scale
    return None


def reference_run(run: RunData, runs: Sequence[RunData], half: bool = False) -> tuple[RunData | None, bool]:
    """The plain run ``run`` is compared with (``half``: the half-rate control): same model,
    data set, training, analysis, seed and score method, ``bound`` false, the default (half)
    rates. A SynFlow reference that scores as ``run`` does is preferred; the flag says whether
    the returned one scores the same way (False: e.g. 100-step plain SynFlow for a bounded run)."""
    h = run.hparams
    want = 0.5 if half else 1.0
    found: list[RunData] = []
    for r in runs:
        if r is run or _pruning(r).get("bound") or r.seed != run.seed or _method(r) != _method(run):
            continue
        if any(r.hparams.get(k) != h.get(k) for k in ("model", "dataset", "training", "analysis")):
            continue
        if _rate_scale(r) != want or _pruning(r).get("allocation", "layerwise") != _pruning(run).get("allocation", "layerwise"):
            continue
        found.append(r)
    if not found:
        return None, False
    same = [r for r in found if _synflow_steps(r) == _synflow_steps(run)]
    return (same[0], True) if same else (found[0], False)


def _is_reference(run: RunData) -> bool:
    return not _pruning(run).get("bound") and _rate_scale(run) == 1.0


# ------------------------------------------------------------------ matched comparisons
def _gains(run: RunData, ref: RunData) -> dict[str, Any]:
    """Gains of ``run`` over ``ref`` at ``run``'s stopping density; when ``run`` went deeper than
    ``ref`` (a p/2 run past its plain run's last round), at the deepest density both reach
    instead, ``run`` interpolated there too (``at = "deepest common"``)."""
    density = float(run.records[-1]["density"]["total"])
    floor = min(float(r["density"]["total"]) for r in ref.records)
    at = "stop"
    if density < floor:
        density, at = floor, "deepest common"
    out: dict[str, Any] = {"reference": ref.path.name, "density": density, "at": at}
    acc = accuracy_at_density(ref.records, density)
    own = accuracy_at_density(run.records, density)
    out["clean"] = None if acc is None or own is None else own - acc
    out["noisy"] = {}
    for sigma in run.records[-1]["accuracy"]["noisy"]:
        a = accuracy_at_density(run.records, density, key=sigma)
        b = accuracy_at_density(ref.records, density, key=sigma)
        out["noisy"][sigma] = None if b is None or a is None else a - b
    return out


def matched_comparisons(runs: Sequence[RunData], n_resamples: int = 10_000, seed: int = 0,
                        interval: str = "auto") -> list[dict[str, Any]]:
    """Per configuration that is not plain pruning at the default rates (p/2, -Bound, the
    controls): per seed the gain in clean and noisy accuracy of its stopping point over the
    plain run (``vs = "plain"``) and the half-rate control (``vs = "p/2"``, not for p/2 itself),
    at the stopping density (or the deepest density both reach, when the run went deeper than
    its reference), interpolated on log density; over seeds the per-seed gains, their mean and
    interval (:func:`seed_interval`, ``method=interval``). A seed whose reference does not reach
    the density, or that has none, is counted in ``missing``."""
    rows = []
    for g in group_runs(runs):
        if all(_is_reference(r) for r in g.runs):
            continue
        for vs, half in (("plain", False), ("p/2", True)):
            if half and not _pruning(g.runs[0]).get("bound"):
                continue
            per_seed, missing, same = [], [], True
            for r in g.runs:
                ref, same_scoring = reference_run(r, runs, half)
                if ref is None:
                    missing.append({"seed": r.seed, "why": "no reference run"})
                    continue
                x = _gains(r, ref)
                if x["clean"] is None:
                    missing.append({"seed": r.seed, "why": "outside the reference's densities"})
                    continue
                same &= same_scoring
                per_seed.append({"seed": r.seed, "run": r.path.name, **x})
            sigmas = sorted({s for x in per_seed for s in x["noisy"]}, key=float)
            rows.append({"label": g.label, "vs": vs, "seeds": [x["seed"] for x in per_seed], "missing": missing,
                         "at": sorted({x["at"] for x in per_seed}),
                         "unfinished": [r.seed for r in g.runs if r.records[-1].get("stop") is None],
                         "same_scoring": same, "per_seed": per_seed,
                         "density": mean_sd(x["density"] for x in per_seed),
                         "clean": seed_interval([x["clean"] for x in per_seed], method=interval,
                                                n_resamples=n_resamples, seed=seed),
                         "noisy": {s: seed_interval([x["noisy"].get(s) for x in per_seed], method=interval,
                                                    n_resamples=n_resamples, seed=seed) for s in sigmas}})
    return rows


def density_points(runs: Sequence[RunData], densities: Sequence[float] = STUDY_DENSITIES,
                   n_resamples: int = 10_000, seed: int = 0, interval: str = "auto") -> list[dict[str, Any]]:
    """Per configuration, its clean accuracy at each of ``densities``, interpolated on log
    density within each run (None where the run does not reach it), per seed, mean and interval
    (:func:`seed_interval`) over the runs that do; and the stopping point."""
    rows = []
    for g in group_runs(runs):
        row: dict[str, Any] = {"label": g.label, "seeds": g.seeds,
                               "unfinished": [r.seed for r in g.runs if r.records[-1].get("stop") is None],
                               "stop_density": mean_sd(r.records[-1]["density"]["total"] for r in g.runs),
                               "stop_accuracy": seed_interval([r.records[-1]["accuracy"]["clean"] for r in g.runs],
                                                              method=interval, n_resamples=n_resamples, seed=seed)}
        for d in densities:
            row[f"at_{d:g}"] = seed_interval([accuracy_at_density(r.records, d) for r in g.runs], method=interval,
                                             n_resamples=n_resamples, seed=seed)
        rows.append(row)
    return rows


# ------------------------------------------------------------------ Spearman with bins and fixed effects
def binned_partial_spearman(x: Sequence[float], y: Sequence[float], density: Sequence[float],
                            config: Sequence[Any] | None = None, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Spearman's rho of ``x`` and ``y`` with density and configuration controlled: both are
    ranked (average ranks, ``+inf`` highest), each rank vector is regressed by least squares on
    one indicator per occupied log-density bin (``bins`` equal widths between the smallest and
    largest density) plus one per configuration (fixed effects), and ``rho`` is the Pearson
    correlation of the residuals. Rows with a NaN are left out; NaN when fewer rows than
    regressors + 2 remain or a residual vector is zero.

    >>> d = [1.0, 1.0, 0.1, 0.1]
    >>> binned_partial_spearman([1, 2, 3, 4], [1, 2, 3, 4], d, bins=2)["rho"]
    1.0
    """
    from scipy.stats import rankdata

    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    xa, ya, za = (np.asarray(v, dtype=float) for v in (x, y, density))
    if not (xa.shape == ya.shape == za.shape) or xa.ndim != 1:
        raise ValueError(f"x, y and density must be 1-d of one length, got {xa.shape}, {ya.shape}, {za.shape}")
    cfg = np.asarray(["" for _ in xa] if config is None else [str(c) for c in config])
    if cfg.shape != xa.shape:
        raise ValueError(f"config must have one entry per row ({xa.size}), got {cfg.size}")
    if np.any(za <= 0) or not np.all(np.isfinite(za)):
        raise ValueError("density must be positive and finite")
    ok = ~(np.isnan(xa) | np.isnan(ya))
    xa, ya, za, cfg = xa[ok], ya[ok], za[ok], cfg[ok]
    out: dict[str, Any] = {"rho": math.nan, "n": int(xa.size), "bins": 0, "configs": int(len(set(cfg.tolist())))}
    if xa.size < 3:
        return out
    logd = np.log(za)
    lo, hi = float(logd.min()), float(logd.max())
    edges = np.linspace(lo, hi, bins + 1)
    which = np.clip(np.searchsorted(edges, logd, side="right") - 1, 0, bins - 1) if hi > lo else np.zeros(xa.size, int)
    occupied = sorted(set(which.tolist()))
    configs = sorted(set(cfg.tolist()))
    cols = [(which == b).astype(float) for b in occupied] + [(cfg == c).astype(float) for c in configs[1:]]
    design = np.column_stack(cols)
    rank = np.linalg.matrix_rank(design)
    out["bins"] = len(occupied)
    if xa.size < rank + 2:
        return out
    rx, ry = rankdata(xa), rankdata(ya)
    ex = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
    ey = ry - design @ np.linalg.lstsq(design, ry, rcond=None)[0]
    sx, sy = float(np.sqrt(ex @ ex)), float(np.sqrt(ey @ ey))
    if sx < 1e-9 * max(1.0, float(np.abs(rx).max())) or sy < 1e-9 * max(1.0, float(np.abs(ry).max())):
        return out
    out["rho"] = float(np.clip((ex @ ey) / (sx * sy), -1.0, 1.0))
    return out


def spearman_table(runs: Sequence[RunData], kind: str = "mask", accuracy: str = "clean",
                   bins: int = DEFAULT_BINS, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Every round of every run pooled: per metric of :data:`~.stats.SPEARMAN_METRICS` (density
    left out) Spearman's rho with accuracy, the rank partial given density, and the binned
    partial with configuration fixed effects (:func:`binned_partial_spearman`); also how many
    rounds there are, from how many runs and configurations, and how many rounds repeat another
    round's (density, accuracy, metrics) exactly (e.g. a -Bound run identical to p/2 early on, or
    a control identical to its -Bound run).

    Pseudo-replication: rounds of one run are not independent and repeated rounds count twice,
    so the binned partial is also given (``binned_unique``) over the distinct rounds only (each
    repeated round once, with the configuration of its first occurrence), and with a run-level
    percentile bootstrap interval (``binned_low``, ``binned_high``: whole runs resampled with
    replacement, ``n_resamples`` times, seeded; NaN below :data:`BOOTSTRAP_MIN_N` runs, where a
    bootstrap over runs means little)."""
    from scipy.stats import spearmanr

    rows, cfg, run_of = [], [], []
    for j, run in enumerate(runs):
        for rec in run.records:
            rows.append(record_metrics(rec, kind, accuracy))
            cfg.append(run.config_label)
            run_of.append(j)
    keys = [tuple(sorted(m.items())) for m in rows]
    dup = len(keys) - len(set(keys))
    first: dict[Any, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    unique = np.asarray(sorted(first.values()), dtype=int)
    y = np.asarray([m["accuracy"] for m in rows], dtype=float)
    z = np.asarray([m["density"] for m in rows], dtype=float)
    run_idx = np.asarray(run_of, dtype=int)
    by_run = [np.flatnonzero(run_idx == j) for j in range(len(runs))]
    rng = np.random.default_rng(seed)
    draws = [np.concatenate([by_run[j] for j in rng.integers(0, len(runs), len(runs))]) for _ in range(n_resamples)] \
        if len(runs) >= BOOTSTRAP_MIN_N and n_resamples > 0 else []
    cfg_a = np.asarray(cfg)
    out: dict[str, Any] = {"accuracy": accuracy, "kind": kind, "rounds": len(rows), "runs": len(runs),
                           "configs": len(set(cfg)), "duplicates": dup, "unique_rounds": int(unique.size), "bins": bins,
                           "n_resamples": len(draws), "metrics": {}}
    for key in ("frac_ramanujan", "mean_delta_s", "mean_delta_r"):
        x = np.asarray([m[key] for m in rows], dtype=float)
        ok = ~np.isnan(x)
        e: dict[str, Any] = {"n": int(ok.sum()), "rho": math.nan, "partial": math.nan}
        if ok.sum() >= 3:
            with warnings.catch_warnings():  # a constant column: NaN, reported as such
                warnings.simplefilter("ignore")
                rho = float(spearmanr(x[ok], y[ok])[0])
                e["rho"] = rho
                e["partial"] = partial_correlation(rho, float(spearmanr(x[ok], z[ok])[0]),
                                                   float(spearmanr(y[ok], z[ok])[0]))
        b = binned_partial_spearman(x, y, z, cfg, bins=bins)
        e["binned"], e["binned_bins"] = b["rho"], b["bins"]
        e["binned_unique"] = binned_partial_spearman(x[unique], y[unique], z[unique], cfg_a[unique], bins=bins)["rho"]
        boot = []
        # thousands of tiny least-squares solves: one BLAS thread (two threads spin against any
        # other busy process on a 2-core machine, 10x slower or worse)
        with solve_threads(1, 1), progress.task(f"run-level bootstrap of the binned Spearman ({accuracy} accuracy)"):
            for k, i in enumerate(draws):  # minutes on a large grid: a status line on a terminal
                progress.update(f"{key}: resample {k + 1} of {len(draws)}")
                boot.append(binned_partial_spearman(x[i], y[i], z[i], cfg_a[i], bins=bins)["rho"])
        boot = [v for v in boot if math.isfinite(v)]
        e["binned_low"], e["binned_high"] = ((float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)))
                                             if len(boot) >= 100 else (math.nan, math.nan))
        out["metrics"][key] = e
    return out


# ------------------------------------------------------------------ Algorithm 1's decisions
def _levels_tried(d: Mapping[str, Any]) -> list[int]:
    """The levels a decision could have tried: ``first_k .. levels`` while a candidate removes an edge."""
    n, rate = int(d.get("n_edges_before") or 0), float(d.get("rate") or 0.0)
    first = int(d.get("first_k", 1))
    return [k for k in range(first, int(d.get("levels") or 0) + 1) if removal_count(n, rate / 2 ** k) > 0]


def decision_counts(d: Mapping[str, Any]) -> dict[str, int]:
    """One layer step's decision (:meth:`bipartite_expanders.SparsifyDecision.to_dict`, or the
    random-rejection control's) as counts of :data:`REJECTION_FIELDS`. The candidates each
    spectral test failed are read from ``candidates`` where the record keeps them, else
    reconstructed from ``reason``, ``k`` and ``rule`` (every level before the decisive one failed
    both tests; an acceptance by the ``|W|`` rule failed the unweighted test first), which is
    what Algorithm 1 does.

    >>> c = decision_counts({"reason": "accepted", "k": 2, "rule": "weighted", "rate": 0.2, "levels": 5,
    ...                      "n_edges_before": 1000})
    >>> c["accepted"], c["accepted_first"], c["failed_unweighted"], c["failed_weighted"]
    (1, 0, 2, 1)
    """
    c = dict.fromkeys(REJECTION_FIELDS, 0)
    c["steps"] = 1
    reason, k, rule = d.get("reason"), d.get("k"), d.get("rule")
    rules = tuple(d.get("rules", SPECTRAL_RULES))
    first = int(d.get("first_k", 1))
    key = {"accepted": "accepted", "collapse": "refused_collapse", "no_k_accepted": "refused_no_k",
           "random_rejection": "refused_random", "nothing_to_prune": "nothing_to_prune"}.get(str(reason))
    if key is None:
        raise ValueError(f"unknown decision reason {reason!r}")
    c[key] = 1
    if reason == "accepted":
        c["accepted_first"] = int(k == first)
        c["accepted_weighted"] = int(rule == "weighted")
    cands = d.get("candidates")
    if cands:
        for x in cands:
            if x.get("collapsed") or not rules:
                continue
            if "unweighted" in rules and x.get("accepted_by") != "unweighted":
                c["failed_unweighted"] += 1
            if x.get("weighted") is not None and x.get("accepted_by") != "weighted":
                c["failed_weighted"] += 1
        return c
    if reason in ("random_rejection", "nothing_to_prune") or not rules:
        return c
    tried = _levels_tried(d)
    failed = len(tried) if reason == "no_k_accepted" else len([j for j in tried if k is not None and j < k])
    c["failed_unweighted"] = failed * ("unweighted" in rules) + int(rule == "weighted" and "unweighted" in rules)
    c["failed_weighted"] = failed * ("weighted" in rules)
    return c


def rejection_counts(runs: Sequence[RunData]) -> list[dict[str, Any]]:
    """Per bounded run (``-Bound`` and its controls): per layer the summed :func:`decision_counts`
    over every prune step in its records, the layers' total, and the fraction of steps the
    spectral test refused at least one candidate of (``binds``)."""
    out = []
    for run in sorted(runs, key=lambda r: (r.config_label, str(r.seed))):
        if not _pruning(run).get("bound"):
            continue
        layers: dict[str, dict[str, int]] = {}
        binds: Counter[str] = Counter()
        for rec in run.records:
            for name, d in ((rec.get("prune") or {}).get("decisions") or {}).items():
                if not d:
                    continue
                c = decision_counts(d)
                acc = layers.setdefault(name, dict.fromkeys(REJECTION_FIELDS, 0))
                for f in REJECTION_FIELDS:
                    acc[f] += c[f]
                binds[name] += int(c["failed_unweighted"] > 0 and not c["accepted_first"] or c["refused_no_k"] > 0)
        total = {f: sum(v[f] for v in layers.values()) for f in REJECTION_FIELDS}
        out.append({"run": run.path.name, "label": run.seed_label, "config": run.config_label, "layers": layers,
                    "total": total, "binds": dict(binds), "binds_total": sum(binds.values())})
    return out


def bind_rates(rejections: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per bounded configuration, over its runs of :func:`rejection_counts`: the layer steps, the
    steps in which the spectral test changed the outcome (``binds``) and their share, the
    ``reject_rate`` a random-rejection control of that configuration should use, and the share
    the degree guard refused."""
    by: dict[str, dict[str, Any]] = {}
    for r in rejections:
        row = by.setdefault(r["config"], {"label": r["config"], "runs": 0, "steps": 0, "binds": 0, "collapse": 0})
        row["runs"] += 1
        row["steps"] += r["total"]["steps"]
        row["binds"] += r["binds_total"]
        row["collapse"] += r["total"]["refused_collapse"]
    for row in by.values():
        row["bind_rate"] = row["binds"] / row["steps"] if row["steps"] else math.nan
        row["collapse_rate"] = row["collapse"] / row["steps"] if row["steps"] else math.nan
    return list(by.values())


def stop_counts(runs: Sequence[RunData]) -> list[dict[str, Any]]:
    """Per bounded configuration: how many runs stopped by themselves (``bound_no_change``), at
    the round cap (``rounds``), at the target density, or have not finished (``None``)."""
    rows = []
    for g in group_runs(runs):
        if not _pruning(g.runs[0]).get("bound"):
            continue
        reasons = Counter(str(r.records[-1].get("stop")) for r in g.runs)
        rows.append({"label": g.label, "runs": len(g.runs), "by_itself": reasons.get("bound_no_change", 0),
                     "at_cap": reasons.get("rounds", 0), "target_density": reasons.get("target_density", 0),
                     "unfinished": reasons.get("None", 0),
                     "rounds": [len(r.records) - 1 for r in g.runs],
                     "cap": sorted({int(_pruning(r).get("rounds", 0)) for r in g.runs})})
    return rows
