"""Peer spectral metrics as named options, each with its source, so results from other papers
can be reproduced without mixing definitions.

``SPECTRAL_METRICS`` maps a name to a :class:`MetricSpec` (description, source, function);
:func:`spectral_metric` evaluates one on a bipartite graph (rows = a layer's inputs), and
:func:`spectral_metrics` several at once, sharing one :class:`~bipartite_expanders.RamanujanReport`.
Every metric returns a float; NaN where its definition does not apply (the source's own
"skip" cases, e.g. average degree below 3 for Hoang et al.). See ``docs/metrics.md``.

Notation: ``t1 > t2`` top singular values of the bi-adjacency ``B``; ``eb = 2 sqrt(t1 - 1)``,
``db = sqrt(d_L - 1) + sqrt(d_R - 1)``; ``rho = rho(T)``, the universal-cover radius.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .report import RamanujanReport, ramanujan_report
from .graph import BipartiteGraph, as_graph
from .spectrum import top_singular_values

__all__ = ["MetricSpec", "SPECTRAL_METRICS", "spectral_metric", "spectral_metrics", "register_metric", "imdb", "narc"]

SEED = "the seed study (DESIGN.md; Hoory 2005 bounds, Table 1)"
HOANG = (
    "Hoang, Liu, Marculescu, Wang, 'Revisiting pruning at initialization through the lens of "
    "Ramanujan graph', ICLR 2023; definitions as in the authors' code, "
    "github.com/VITA-Group/ramanujan-on-pai, lib/graphs/scores.py"
)
HERE = "this library (docs/universal-cover.md)"


@dataclass(frozen=True)
class MetricSpec:
    """A named metric: ``func(graph, report)`` -> float, with what it is and where it comes from.

    ``weighted`` says which graph the metric reads: False its 0/1 pattern, True its weights.
    """

    name: str
    description: str
    source: str
    weighted: bool
    func: Callable[[BipartiteGraph, RamanujanReport], float]


SPECTRAL_METRICS: dict[str, MetricSpec] = {}


def register_metric(name: str, description: str, source: str, weighted: bool = False) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register ``func(graph, report) -> float`` under ``name`` (a decorator)."""

    def deco(func: Callable[..., float]) -> Callable[..., float]:
        SPECTRAL_METRICS[name] = MetricSpec(name, description, source, weighted, func)
        return func

    return deco


def _ratio(num: float, den: float) -> float:
    if math.isnan(num) or math.isnan(den) or den == 0:
        return math.nan
    return num / den


# ----------------------------------------------------------------- the seed study
register_metric("delta_s", "(eb - t2) / t2, the eigenvalue-bound margin", SEED)(lambda g, r: r.delta_s)
register_metric("delta_r", "(db - t2) / t2, the degree-bound margin", SEED)(lambda g, r: r.delta_r)

# --------------------------------------------------------- Hoang et al. (ICLR 2023)
def _hoang(g: BipartiteGraph, pick: Callable[[float, float, float, float], float]) -> float:
    score = _hoang_score(g.pattern().matrix)
    return math.nan if score is None else float(pick(*score))


register_metric("raw_gap_eb", "eb - mu (the code's delta_s: bound minus mu-hat)", HOANG)(
    lambda g, r: _hoang(g, lambda eb, db, mu, t1: eb - mu))
register_metric("raw_gap_db", "db - mu (the code's delta_r)", HOANG)(lambda g, r: _hoang(g, lambda eb, db, mu, t1: db - mu))
register_metric("normalized_gap_eb", "(eb - mu) / eb (the gap normalised by the bound)", HOANG)(
    lambda g, r: _hoang(g, lambda eb, db, mu, t1: _ratio(eb - mu, eb)))
register_metric("normalized_gap_db", "(db - mu) / db (the gap normalised by the bound)", HOANG)(
    lambda g, r: _hoang(g, lambda eb, db, mu, t1: _ratio(db - mu, db)))


def _weighted_gap(g: BipartiteGraph, r: RamanujanReport) -> float:
    s = top_singular_values(g, 2)
    return float(s[0] - s[1])


register_metric("weighted_spectral_gap", "sigma_1 - sigma_2 of the weighted graph |W| (the weighted spectral gap)", HOANG, weighted=True)(_weighted_gap)

# ------------------------------------------------------------------ this library
register_metric("raw_gap_uc", "rho(T) - t2, the exact irregular Ramanujan gap", HERE)(lambda g, r: r.rho_uc - r.t2)
register_metric("normalized_gap_uc", "(rho(T) - t2) / rho(T)", HERE)(lambda g, r: _ratio(r.rho_uc - r.t2, r.rho_uc))
register_metric("delta_uc", "(rho(T) - t2) / t2, the exact margin in the seed study's normalisation", HERE)(lambda g, r: r.delta_uc)


# ---------------------------------------------------- Hoang et al.: IMDB and NaRC
def _hoang_score(B: sp.csr_array) -> tuple[float, float, float, float] | None:
    """``(eb, db, mu, t1)`` of a graph after dropping zero-degree vertices, or None when an
    average degree is below 3 (the authors' ``ramanujan_score`` skips such graphs)."""
    dl = np.diff(B.indptr)
    dr = np.bincount(B.indices, minlength=B.shape[1])
    rows, cols = np.flatnonzero(dl), np.flatnonzero(dr)
    if rows.size == 0 or cols.size == 0:
        return None
    sub = sp.csr_array(B[rows][:, cols])
    d_l, d_r = sub.nnz / rows.size, sub.nnz / cols.size
    if d_l < 3 or d_r < 3:
        return None
    # mu-hat: third largest |eigenvalue| of the adjacency = sigma_2 of B (with multiplicity)
    t1, mu = (float(v) for v in top_singular_values(sub, 2))
    eb = 2.0 * math.sqrt(t1 - 1.0) if t1 >= 1 else math.nan
    db = math.sqrt(d_l - 1.0) + math.sqrt(d_r - 1.0)
    return eb, db, mu, t1


def imdb(graph: Any, *, bound: str = "db", normalized: bool = False, min_count: int = 3) -> float:
    """Iterative Mean Difference of Bound (Hoang et al., ICLR 2023).

    The left (input) vertices are grouped by degree; each group with at least ``min_count``
    vertices, together with every right vertex, spans a left-regular subgraph ``K_i``; zero-degree
    vertices are dropped and subgraphs with an average degree below 3 are skipped. IMDB is the
    mean over the kept ``K_i`` of ``bound(K_i) - mu(K_i)`` (``bound = db`` by default, ``"eb"`` for
    the eigenvalue bound; ``normalized=True`` divides each term by its bound), ``mu`` being
    ``sigma_2`` of ``K_i``. NaN when no subgraph is kept. Reads the 0/1 pattern.

    >>> from bipartite_expanders import generators
    >>> round(imdb(generators.pg2_incidence(3)), 6)   # one group: db - t2 = 2 sqrt 3 - sqrt 3
    1.732051
    """
    if bound not in ("db", "eb"):
        raise ValueError(f"bound must be 'db' or 'eb'; got {bound!r}")
    B = as_graph(graph).pattern().matrix
    deg = np.diff(B.indptr)
    terms = []
    for d in np.unique(deg):
        group = np.flatnonzero(deg == d)
        if d == 0 or group.size < min_count:
            continue
        score = _hoang_score(sp.csr_array(B[group]))
        if score is None:
            continue
        eb, db, mu, _ = score
        b = db if bound == "db" else eb
        terms.append(_ratio(b - mu, b) if normalized else b - mu)
    return float(np.mean(terms)) if terms else math.nan


def narc(graph: Any) -> float:
    """Normalized Random Coefficient (Hoang et al., ICLR 2023; the code's ``random_bound``).

    With ``L``, ``R`` the non-isolated vertices per side, ``E`` edges, ``(m, n)`` the layer's
    full shape and ``mu = sigma_2`` of the non-isolated graph::

        NaRC = ((mu^2 / 4 + 1) sqrt(L R) - |E - (d_L / n) L R|) / (m n),   d_L = E / L

    NaN when an average degree is below 3 (the authors skip the layer). Reads the 0/1 pattern.
    """
    g = as_graph(graph).pattern()
    B = g.matrix
    score = _hoang_score(B)
    if score is None:
        return math.nan
    mu = score[2]
    m, n = g.shape
    L = int(np.count_nonzero(np.diff(B.indptr)))
    R = int(np.count_nonzero(np.bincount(B.indices, minlength=n)))
    E = B.nnz
    ls = (mu * mu / 4.0 + 1.0) * math.sqrt(L * R)
    rs = abs(E - (E / L / n) * L * R)
    return (ls - rs) / (m * n)


register_metric("imdb", "mean over left-degree classes of db - mu (Iterative Mean Difference of Bound)", HOANG)(lambda g, r: imdb(g))
register_metric("imdb_normalized", "mean over left-degree classes of (db - mu) / db", HOANG)(lambda g, r: imdb(g, normalized=True))
register_metric("imdb_eb", "mean over left-degree classes of eb - mu", HOANG)(lambda g, r: imdb(g, bound="eb"))
register_metric("narc", "Normalized Random Coefficient: ((mu^2/4 + 1) sqrt(LR) - |E - d_L LR / n|) / (m n)", HOANG)(lambda g, r: narc(g))


def spectral_metrics(graph: Any, names: Iterable[str] | None = None, *, scope: str = "largest") -> dict[str, float]:
    """Several metrics of one graph, sharing its reports (one unweighted, one weighted if needed).

``scope`` applies to the report-based metrics (the seed study's and this library's); Hoang et
al.'s metrics follow the authors' code: the whole graph without its zero-degree vertices, ``mu``
= ``sigma_2`` counted with multiplicity, NaN when an average degree is below 3.

    >>> from bipartite_expanders import generators
    >>> m = spectral_metrics(generators.pg2_incidence(3), ["raw_gap_db", "raw_gap_uc"])
    >>> round(m["raw_gap_db"], 6), round(m["raw_gap_uc"], 6)
    (1.732051, 1.732051)
    """
    g = as_graph(graph)
    wanted = list(SPECTRAL_METRICS) if names is None else list(names)
    for name in wanted:
        if name not in SPECTRAL_METRICS:
            raise ValueError(f"unknown metric {name!r}; choose from {sorted(SPECTRAL_METRICS)}")
    reports: dict[bool, RamanujanReport] = {}
    out: dict[str, float] = {}
    for name in wanted:
        spec = SPECTRAL_METRICS[name]
        if spec.weighted not in reports:
            reports[spec.weighted] = ramanujan_report(g, scope=scope, weighted=spec.weighted)
        out[name] = float(spec.func(g, reports[spec.weighted]))
    return out


def spectral_metric(graph: Any, name: str, *, scope: str = "largest") -> float:
    """One named metric of a graph (see :data:`SPECTRAL_METRICS` for the names and sources).

    >>> from bipartite_expanders import generators
    >>> round(spectral_metric(generators.pg2_incidence(3), "normalized_gap_db"), 6)
    0.5
    """
    return spectral_metrics(graph, [name], scope=scope)[name]
