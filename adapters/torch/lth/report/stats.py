"""The reports' numbers, from records alone (JSON dicts; nothing here imports torch).

- :func:`table2` / :func:`table2_aggregate`: the seed paper's Table 2 per run and over seeds: the
  sparsest round within ``alpha`` points of the dense accuracy, the stopping point, and for a
  ``-Bound`` run the plain run of the same pruner and seed **at the same density**, its clean
  accuracy interpolated linearly in log density between the two plain rounds that bracket it
  (:func:`accuracy_at_density`).
- :func:`banded_spearman`: the counter-check: Spearman's rho of each of :data:`SPEARMAN_METRICS`
  with accuracy per density band, and the partial rank correlation given density.
- :func:`study_table`, :func:`compare_lengths`: the study's comparisons (docs/results.md).

>>> accuracy_at_density([{"density": {"total": 1.0}, "accuracy": {"clean": 0.9}},
...                      {"density": {"total": 0.25}, "accuracy": {"clean": 0.7}}], 0.5)
0.8
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bipartite_expanders.bounds import Verdict, study_verdict
from bipartite_expanders.files import from_json_float

from ..hparams import CONTROLS
from .load import RunData, RunGroup, group_runs, run_label

__all__ = ["num", "flatten", "metric_keys", "layer_metric", "mean_sd", "record_metrics", "banded_spearman",
           "accuracy_at_density", "matched_plain", "table2", "table2_aggregate", "study_table", "compare_lengths",
           "failing_layers", "layer_rules", "undefined_layers", "partial_correlation", "t_interval", "DEFAULT_BANDS", "SPEARMAN_METRICS", "STUDY_DENSITIES"]

#: density band edges, high to low: bands (0.5, 1], (0.2, 0.5], ..., (0, 0.01]
DEFAULT_BANDS: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0)

#: metric name -> description, in the order of the science issue's counter-check
SPEARMAN_METRICS: dict[str, str] = {
    "frac_ramanujan": "(a) fraction of Ramanujan layers",
    "mean_delta_s": "(b) mean Delta_S",
    "mean_delta_r": "(c) mean Delta_R",
    "density": "(d) density alone",
}

#: the densities at which the seed paper's Table 2 quotes the plain pruners
STUDY_DENSITIES: tuple[float, ...] = (0.0316, 0.01)


def num(v: Any) -> float:
    """A record field as a float: numbers, and the ``"inf"``/``"-inf"``/``"nan"`` strings of
    :func:`bipartite_expanders.files.json_float`; anything else (None, a verdict) is NaN.

    >>> num("inf"), num(2), num(None), num("ramanujan")
    (inf, 2.0, nan, nan)
    """
    try:
        return from_json_float(v)
    except ValueError:
        return math.nan


def _is_numeric(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None or v in ("inf", "-inf", "nan")


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: ``{"mask": {"t1": 2}} -> {"mask.t1": 2}``.

    >>> flatten({"name": "fc1", "mask": {"t1": 2.0, "t2": 1.0}})
    {'name': 'fc1', 'mask.t1': 2.0, 'mask.t2': 1.0}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def metric_keys(runs: Sequence[RunData], metric: str) -> list[str]:
    """The census keys ``metric`` names: itself if present, else every numeric key whose last
    dotted component equals it (``rho_uc`` -> ``mask.rho_uc``, ``weight.rho_uc``)."""
    keys: dict[str, None] = {}
    for run in runs:
        for rec in run.records:
            for layer in rec.get("census", []):
                for k, v in flatten(layer).items():
                    if _is_numeric(v):
                        keys[k] = None
    if metric in keys:
        return [metric]
    found = [k for k in keys if k.split(".")[-1] == metric or k.endswith("." + metric)]
    if not found:
        numeric = sorted(k for k in keys if "." in k)[:12]
        raise ValueError(f"metric {metric!r} is in no layer record; numeric fields include {numeric}")
    return found


def layer_metric(run: RunData, key: str) -> dict[str, list[float]]:
    """layer name -> the value of census field ``key`` per round (NaN where absent or null)."""
    series: dict[str, list[float]] = {}
    for i, rec in enumerate(run.records):
        for layer in rec.get("census", []):
            vals = series.setdefault(layer["name"], [math.nan] * len(run.records))
            vals[i] = num(flatten(layer).get(key))
    return series


def layer_rules(record: Mapping[str, Any], kind: str = "mask") -> dict[str, Verdict]:
    """Each layer's seed-study rule on ``kind`` (``mask``: the 0/1 graph; ``weight``): ``ramanujan``
    when a margin is >= 0, ``not_ramanujan`` when the defined margins are negative, ``undefined``
    when neither is defined (NaN: never counted as "not Ramanujan").

    >>> rec = {"census": [{"name": "fc1", "mask": {"delta_s": -0.1, "delta_r": 0.2}},
    ...                   {"name": "fc2", "mask": {"delta_s": "nan", "delta_r": "nan"}}]}
    >>> {k: v.value for k, v in layer_rules(rec).items()}
    {'fc1': 'ramanujan', 'fc2': 'undefined'}
    """
    return {c["name"]: study_verdict((c.get(kind) or {}).get("delta_s"), (c.get(kind) or {}).get("delta_r"))
            for c in record.get("census", [])}


def failing_layers(record: Mapping[str, Any]) -> list[str]:
    """The layers of a round that are not Ramanujan by the study's rule on the mask: defined
    margins, all negative (an undefined margin is not a failure; see :func:`layer_rules`)."""
    return [k for k, v in layer_rules(record).items() if v is Verdict.NOT_RAMANUJAN]


def undefined_layers(record: Mapping[str, Any]) -> list[str]:
    """The layers of a round whose mask margins are both undefined (NaN)."""
    return [k for k, v in layer_rules(record).items() if v is Verdict.UNDEFINED]


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


def _finite(values: Sequence[float | None]) -> tuple[list[float | None], Any]:
    """The values with NaN/inf/None as None (order kept, one per run) and the finite ones."""
    import numpy as np

    kept = [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]
    return kept, np.asarray([v for v in kept if v is not None], dtype=float)


def t_interval(values: Sequence[float | None], level: float = 0.95) -> dict[str, Any]:
    """Mean of the finite ``values`` (one per run) and its Student-t interval
    ``mean ± t(level, n - 1) * sd / sqrt(n)``: ``mean``, ``low``, ``high``, ``sd``, ``n``,
    ``values`` (the input with non-finite entries as None, so that they line up with the seeds),
    ``method = "t"``. Fewer than two values: the interval is NaN; identical values: a point.

    >>> ci = t_interval([1.0, 2.0, 3.0])
    >>> ci["mean"], ci["n"], round(ci["high"] - ci["mean"], 4)  # t(0.975, 2) = 4.3027, sd/sqrt(3) = 0.5774
    (2.0, 3, 2.4841)
    """
    import numpy as np
    from scipy.stats import t as student_t

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    kept, x = _finite(values)
    out: dict[str, Any] = {"mean": math.nan, "low": math.nan, "high": math.nan, "sd": math.nan, "n": int(x.size),
                           "values": kept, "method": "t", "level": level}
    if x.size == 0:
        return out
    out["mean"] = float(math.fsum(x) / x.size)
    if x.size < 2:
        return out
    sd = float(np.std(x, ddof=1))
    half = float(student_t.ppf(0.5 + level / 2, x.size - 1)) * sd / math.sqrt(x.size)
    out.update(sd=sd, low=out["mean"] - half, high=out["mean"] + half)
    return out


# ------------------------------------------------------------------ matched density
def accuracy_at_density(records: Sequence[Mapping[str, Any]], density: float, key: str = "clean") -> float | None:
    """The clean (or ``key`` = a noise sigma) accuracy of a run at ``density``: linear in
    ``log density`` between the two rounds that bracket it (exact at a round's own density);
    None outside the run's density range."""
    pts = sorted(((float(r["density"]["total"]), r["accuracy"]["clean"] if key == "clean" else
                   r["accuracy"]["noisy"].get(key)) for r in records), reverse=True)
    pts = [(d, a) for d, a in pts if a is not None and d > 0]
    if not pts or not (pts[-1][0] <= density <= pts[0][0]) or density <= 0:
        return None
    for (d0, a0), (d1, a1) in zip(pts, pts[1:]):
        if d1 <= density <= d0:
            if d0 == d1:
                return float(a0)
            t = (math.log(d0) - math.log(density)) / (math.log(d0) - math.log(d1))
            return float(a0 + t * (a1 - a0))
    return float(pts[0][1])  # a single round, at exactly this density


def matched_plain(bound: RunData, runs: Sequence[RunData], suffix: str = "") -> RunData | None:
    """The plain run of ``bound``'s pruner, seed and other hyperparameters (``suffix``: e.g.
    ``" (p/2)"`` for the half-rate control), among ``runs``."""
    want = bound.config_label.replace("-Bound", "")
    for variant, _, _ in CONTROLS.values():  # a control of the bound is compared with the same plain run
        want = want.replace(variant, "")
    want += suffix
    h = dict(bound.hparams)
    for r in runs:
        if r.config_label != want or r.seed != bound.seed:
            continue
        o = dict(r.hparams)
        same = all(o.get(k) == h.get(k) for k in ("model", "dataset", "training", "analysis"))
        if same or not h:
            return r
    return None


def _matched(bound: RunData, plain: RunData | None, density: float) -> dict[str, Any] | None:
    if plain is None:
        return None
    acc = accuracy_at_density(plain.records, density)
    if acc is None:
        return {"run": plain.path.name, "accuracy": None, "gain": None, "why": "outside the plain run's densities"}
    return {"run": plain.path.name, "accuracy": acc, "gain": bound.records[-1]["accuracy"]["clean"] - acc}


# ------------------------------------------------------------------ Table 2
def _at_alpha(run: RunData, alpha: float) -> dict[str, Any] | None:
    recs = run.records
    dense = recs[0]["accuracy"]["clean"]
    ok = [r for r in recs if r["accuracy"]["clean"] >= dense - alpha / 100.0]
    if not ok:
        return None
    return min(ok, key=lambda r: (r["density"]["total"], -r["round"]))


def table2(runs: Sequence[RunData], alphas: Iterable[float] = (1.5, 2.0)) -> list[dict[str, Any]]:
    """One row per run: dense accuracy; density, clean and noisy accuracy of the sparsest round
    within ``alpha`` points of the dense accuracy, per alpha; the stopping point; and for a
    -Bound run (key ``"plain_at_stop"``) the plain run of the same seed interpolated at the
    stopping density (None without such a run among ``runs``)."""
    rows = []
    for run in runs:
        recs = run.records
        last = recs[-1]
        row: dict[str, Any] = {"run": run.path.name, "label": run.seed_label, "config": run.config_label,
                               "seed": run.seed, "rounds": len(recs) - 1, "dense_accuracy": recs[0]["accuracy"]["clean"]}
        for a in alphas:
            r = _at_alpha(run, a)
            row[f"alpha={a:g}"] = None if r is None else {
                "round": r["round"], "density": r["density"]["total"], "accuracy": r["accuracy"]["clean"],
                "noisy": r["accuracy"]["noisy"]}
        row["stop"] = {"round": last["round"], "reason": last.get("stop"), "density": last["density"]["total"],
                       "accuracy": last["accuracy"]["clean"], "noisy": last["accuracy"]["noisy"],
                       "regime": last.get("regime")}
        if "-Bound" in run.config_label:
            row["plain_at_stop"] = _matched(run, matched_plain(run, runs), last["density"]["total"])
        rows.append(row)
    return rows


def table2_aggregate(groups: Sequence[RunGroup], alphas: Iterable[float] = (1.5, 2.0),
                     runs: Sequence[RunData] | None = None) -> list[dict[str, Any]]:
    """Per group, :func:`table2` over its seeds as mean ± sd: the dense accuracy; per alpha the
    density and accuracy (over the seeds that reach one within alpha); the stopping point's round,
    density, clean and noisy accuracy, the stop reasons counted; for -Bound groups the gain over
    the plain run at matched density (per seed, then mean ± sd and a :func:`t_interval`, ``n``
    seeds matched)."""
    alphas = list(alphas)
    pool = list(runs) if runs is not None else [r for g in groups for r in g.runs]
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
        if "-Bound" in g.label:
            m = [_matched(r, matched_plain(r, pool), r.records[-1]["density"]["total"]) for r in g.runs]
            m = [x for x in m if x is not None and x["accuracy"] is not None]
            agg["plain_at_stop"] = {"accuracy": mean_sd(x["accuracy"] for x in m),
                                    "gain": mean_sd(x["gain"] for x in m), "n": len(m),
                                    "gain_ci": t_interval([x["gain"] for x in m])}
        out.append(agg)
    return out


# ------------------------------------------------------------------ the counter-check
def _mean_over_layers(values: list[float]) -> float:
    """Mean of the layers' margins, NaN (undefined bound) layers left out; any +inf gives +inf."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return math.nan
    if any(v == math.inf for v in vals):
        return math.inf
    if any(math.isinf(v) for v in vals):
        return math.nan
    return math.fsum(vals) / len(vals)


def record_metrics(record: Mapping[str, Any], kind: str = "mask", accuracy: str = "clean") -> dict[str, float]:
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
        return [num((c.get(kind) or {}).get(name)) for c in cen]

    return {"accuracy": float(acc), "density": float(record["density"]["total"]),
            "frac_ramanujan": (sum(bool(c.get("is_ramanujan")) for c in cen) / len(cen)) if cen else math.nan,
            "mean_delta_s": _mean_over_layers(margins("delta_s")), "mean_delta_r": _mean_over_layers(margins("delta_r"))}


def partial_correlation(r_xy: float, r_xz: float, r_yz: float) -> float:
    """Partial correlation of x and y given z from the three pairwise correlations.

    >>> partial_correlation(0.5, 0.0, 0.0), round(partial_correlation(0.5, 0.5, 0.5), 4)
    (0.5, 0.3333)
    """
    den = (1 - r_xz ** 2) * (1 - r_yz ** 2)
    return (r_xy - r_xz * r_yz) / math.sqrt(den) if den > 1e-12 else math.nan


def banded_spearman(runs: Sequence[RunData], bands: Sequence[float] = DEFAULT_BANDS, kind: str = "mask",
                    accuracy: str = "clean") -> list[dict[str, Any]]:
    """The counter-check over every round of every run pooled: per band (``"all"`` first, then
    ``(lo, hi]`` from the edges ``bands``, high to low) and per metric of
    :data:`SPEARMAN_METRICS`, Spearman's rho with accuracy (``scipy.stats.spearmanr``), its
    p-value, the rounds used, and (not for density itself) the partial rank correlation given
    density. Rounds with a NaN metric are left out of that metric; ``+inf`` margins (``t2 = 0``)
    rank highest; fewer than 3 rounds or a constant column give NaN."""
    import numpy as np
    from scipy.stats import spearmanr

    if kind not in ("mask", "weight", "score"):
        raise ValueError(f"kind must be 'mask', 'weight' or 'score', got {kind!r}")
    edges = [float(b) for b in bands]
    if len(edges) < 2 or any(not (0 <= b <= 1) for b in edges) or any(a <= b for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bands must be at least two density edges in [0, 1], strictly decreasing, got {bands!r}")
    rows = [record_metrics(rec, kind, accuracy) for run in runs for rec in run.records]
    sets = [("all", rows)] + [(f"({lo:g}, {hi:g}]", [m for m in rows if lo < m["density"] <= hi])
                              for hi, lo in zip(edges, edges[1:])]
    out = []
    for band, ms in sets:
        y = np.asarray([m["accuracy"] for m in ms], dtype=float)
        z = np.asarray([m["density"] for m in ms], dtype=float)
        res: dict[str, Any] = {"band": band, "n": len(ms),
                               "density_range": [float(z.min()) if len(z) else math.nan,
                                                 float(z.max()) if len(z) else math.nan], "metrics": {}}
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
                        e["partial"] = partial_correlation(float(rho), float(spearmanr(x[ok], z[ok])[0]),
                                                float(spearmanr(y[ok], z[ok])[0]))
            res["metrics"][key] = e
        out.append(res)
    return out


# ------------------------------------------------------------------ the study
def study_table(runs: Sequence[RunData], densities: Iterable[float] = STUDY_DENSITIES) -> list[dict[str, Any]]:
    """One row per configuration: the plain runs' clean and noisy accuracy at the study's density
    points, interpolated linearly in log density within each seed (:func:`accuracy_at_density`;
    a seed that does not reach the density is left out and the count says so), per seed and as
    :func:`t_interval` over seeds; for a -Bound configuration its stopping point against the plain
    run of the same pruner and seed *at the same density* (interpolated the same way) and against
    the half-rate control (plain at ``p/2``), per seed and with a :func:`t_interval`, and how
    Algorithm 1 decided (share of accepted steps at ``k = 1`` and by the ``|W|`` rule)."""
    densities = list(densities)
    groups = group_runs(runs)
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
                row[f"at_{d:g}"] = {"density": d,
                                    "accuracy": t_interval([accuracy_at_density(r.records, d) for r in g.runs]),
                                    "noisy": {s: t_interval([accuracy_at_density(r.records, d, key=s) for r in g.runs])
                                              for s in sig}}
        row["stop"] = {"density": mean_sd(x["density"]["total"] for x in last),
                       "accuracy": mean_sd(x["accuracy"]["clean"] for x in last),
                       "noisy": {s: mean_sd(x["accuracy"]["noisy"][s] for x in last) for s in sig},
                       "reasons": [x.get("stop") for x in last]}
        if "-Bound" in label:
            steps = [d for r in g.runs for x in r.records for d in ((x.get("prune") or {}).get("decisions") or {}).values()
                     if d and d.get("accepted")]
            row["decisions"] = {"accepted": len(steps),
                                "k1": sum(d.get("k") == 1 for d in steps) / len(steps) if steps else math.nan,
                                "weighted": sum(d.get("rule") == "weighted" for d in steps) / len(steps) if steps else math.nan}
            for key, suffix in (("plain_at_stop", ""), ("half_at_stop", " (p/2)")):
                m = [_matched(r, matched_plain(r, runs, suffix), r.records[-1]["density"]["total"]) for r in g.runs]
                m = [x for x in m if x is not None and x["accuracy"] is not None]
                if m:
                    row[key] = {"accuracy": mean_sd(x["accuracy"] for x in m), "gain": mean_sd(x["gain"] for x in m),
                                "n": len(m), "gain_ci": t_interval([x["gain"] for x in m])}
        rows.append(row)
    # each pruner: plain, its half-rate control, then -Bound
    rows.sort(key=lambda r: (r["label"].split(" ")[0].replace("-Bound", "").lower(), "-Bound" in r["label"],
                             r["label"]))
    return rows


def compare_lengths(runs: Sequence[RunData]) -> dict[str, Any]:
    """Runs that differ only in ``training.iterations`` (same pruner and seed, so the same density
    schedule), round by round: each run's density and clean accuracy per round, and per pair of
    lengths the Spearman correlation of clean accuracy over their common rounds, the best round
    of each and the mean accuracy gain of the longer."""
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


def by_round(runs: Sequence[RunData], fn: Callable[[Mapping[str, Any]], Any]) -> list[dict[str, float]]:
    """Round r -> :func:`mean_sd` over the runs that reached round r of ``fn(record)``."""
    n = max(len(r.records) for r in runs)
    return [mean_sd(fn(run.records[i]) for run in runs if i < len(run.records)) for i in range(n)]
