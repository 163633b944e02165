"""Ramanujan-bounded sparsification of one bipartite graph (Algorithm 1; docs/bounded-pruning.md).

Given a graph (its edges are the weights still present), a score per edge and a rate ``p``,
:func:`bounded_sparsify` tries the candidates that remove the lowest-scoring ``p / 2**k`` of
the edges, ``k = first_k .. levels`` (``first_k = 1``: the pseudo-code; ``0``: "try ``p``
first"), and accepts the first one that keeps the spectral bound (the tests of ``rules``):

1. if an average degree of the candidate drops below 2 (``collapse="average"``; or the
   minimum degree, ``collapse="minimum"``), the graph is kept as it was ("collapse") and the
   search stops;
2. the unweighted candidate is accepted when ``max(delta_s, delta_r) > 0`` ("unweighted");
3. else the score-weighted candidate ``|score|`` on the kept edges is accepted when its
   ``delta_s >= 0`` and ``t1 >= 1`` ("weighted");
4. else the next ``k``; when none is accepted the graph is kept ("no_k_accepted").

``rules=("unweighted",)`` drops the ``|score|`` fallback (the control of docs/bounded-pruning.md);
``rules=()`` runs no spectral test at all: the first candidate that does not collapse is accepted
(rule ``"none"``), which is the schedule and the degree guard without the bound.

Nothing here knows about neural networks: the torch adapter unfolds a layer into a graph and
its scores into a matrix of the same shape and calls this function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._checks import check_rate, check_scope
from .files import json_float
from .graph import BipartiteGraph, as_graph, checked_csr
from .report import RamanujanReport, ramanujan_report

__all__ = [
    "DEFAULT_LEVELS",
    "COLLAPSE_RULES",
    "SPECTRAL_RULES",
    "Candidate",
    "SparsifyReason",
    "SparsifyDecision",
    "SparsifyResult",
    "bounded_sparsify",
    "removal_count",
    "removal_order",
    "lowest",
]

#: Default number of halvings ``K``: candidates ``p/2 .. p/32``. With the usual ``p = 0.2`` the
#: last candidate removes 0.6% of a layer's weights; below that a candidate differs from the
#: layer by so few edges that its margins are the layer's own, and every level costs up to two
#: spectral solves, so deeper levels buy time, not decisions. (The seed paper leaves K open.)
DEFAULT_LEVELS = 5

COLLAPSE_RULES = ("average", "minimum")

#: the spectral tests of Algorithm 1, in the order they are tried
SPECTRAL_RULES = ("unweighted", "weighted")


class SparsifyReason(str, Enum):
    """Why :func:`bounded_sparsify` ended where it did."""

    ACCEPTED = "accepted"
    COLLAPSE = "collapse"
    NO_K_ACCEPTED = "no_k_accepted"
    NOTHING_TO_PRUNE = "nothing_to_prune"

    def __str__(self) -> str:
        return self.value


def removal_count(n_remaining: int, rate: float) -> int:
    """How many of ``n_remaining`` weights a rate removes: ``rate * n`` rounded to nearest
    (halves up), never more than ``n``.

    Rounding to nearest, not up: ``ceil(0.2 * 100)`` is 21 in floating point.

    >>> removal_count(100, 0.2), removal_count(7, 0.5), removal_count(3, 0.1)
    (20, 4, 0)
    """
    if isinstance(n_remaining, bool) or not isinstance(n_remaining, (int, np.integer)) or n_remaining < 0:
        raise ValueError(f"n_remaining must be a non-negative integer; got {n_remaining!r}")
    rate = check_rate(rate)
    return min(int(n_remaining), int(math.floor(rate * int(n_remaining) + 0.5 + 1e-9)))


def removal_order(scores: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Indices that sort ``scores`` ascending, ties by ``tiebreak`` ascending (default: the
    position). The first ``n`` are the ``n`` weights to remove.

    >>> removal_order(np.array([2.0, 1.0, 1.0, 0.5])).tolist()
    [3, 1, 2, 0]
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    key = np.arange(s.size) if tiebreak is None else np.asarray(tiebreak).ravel()
    if key.shape != s.shape:
        raise ValueError(f"tiebreak must have one value per score ({s.size}); got {key.size}")
    return np.lexsort((key, s))


def lowest(scores: np.ndarray, count: int, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``count`` lowest ``scores``, ties by ``tiebreak`` ascending (default: the
    position): the same set as ``removal_order(scores, tiebreak)[:count]``, in O(n) time
    (a partition around the threshold; only the tied entries are sorted). Not sorted.

    >>> sorted(lowest(np.array([2.0, 1.0, 1.0, 0.5]), 2).tolist())
    [1, 3]
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    count = int(count)
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count >= s.size:
        return np.arange(s.size)
    v = np.partition(s, count - 1)[count - 1]
    below = np.flatnonzero(s < v)
    ties = np.flatnonzero(s == v)
    need = count - below.size
    if tiebreak is not None and need < ties.size:
        key = np.asarray(tiebreak).ravel()
        if key.shape != s.shape:
            raise ValueError(f"tiebreak must have one value per score ({s.size}); got {key.size}")
        ties = ties[np.argsort(key[ties], kind="stable")]
    return np.concatenate([below, ties[:need]])


@dataclass(frozen=True)
class Candidate:
    """One tried candidate: level ``k``, its rate ``p / 2**k``, the reports that decided it."""

    k: int
    rate: float
    n_removed: int
    n_edges: int
    unweighted: RamanujanReport
    weighted: RamanujanReport | None
    collapsed: bool
    accepted_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "rate": self.rate,
            "n_removed": self.n_removed,
            "n_edges": self.n_edges,
            "collapsed": self.collapsed,
            "accepted_by": self.accepted_by,
            "unweighted": self.unweighted.to_dict(),
            "weighted": None if self.weighted is None else self.weighted.to_dict(),
        }


@dataclass(frozen=True)
class SparsifyDecision:
    """What :func:`bounded_sparsify` decided.

    ``reason`` is ``"accepted"`` (then ``k`` and ``rule``, ``"unweighted"``, ``"weighted"`` or
    ``"none"`` (``rules=()``), say which candidate and which test), ``"collapse"`` (``k`` is the candidate that fell
    below degree 2), ``"no_k_accepted"`` or ``"nothing_to_prune"`` (rate 0, no edges, or a
    rate too small to remove one edge). ``candidates`` records every candidate tried.
    """

    reason: SparsifyReason
    k: int | None
    rule: str | None
    rate: float
    applied_rate: float
    levels: int
    collapse: str
    scope: str
    n_edges_before: int
    n_edges_after: int
    candidates: tuple[Candidate, ...] = ()
    first_k: int = 1
    rules: tuple[str, ...] = SPECTRAL_RULES

    @property
    def accepted(self) -> bool:
        return self.reason == SparsifyReason.ACCEPTED

    @property
    def n_removed(self) -> int:
        return self.n_edges_before - self.n_edges_after

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (inf/NaN as strings, enums as their values)."""
        return {
            "reason": self.reason.value,
            "accepted": self.accepted,
            "k": self.k,
            "rule": self.rule,
            "rate": json_float(self.rate),
            "applied_rate": json_float(self.applied_rate),
            "levels": self.levels,
            "collapse": self.collapse,
            "scope": self.scope,
            "n_edges_before": self.n_edges_before,
            "n_edges_after": self.n_edges_after,
            "n_removed": self.n_removed,
            "first_k": self.first_k,
            "rules": list(self.rules),
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass(frozen=True)
class SparsifyResult:
    """The accepted mask (a 0/1 graph on a subset of the input's edges) and the decision.

    ``state`` is the solver output of the last unweighted candidate analysed; pass it as ``v0``
    to the next call on the same layer to warm-start the eigensolver.
    """

    mask: BipartiteGraph
    decision: SparsifyDecision
    state: Any = field(default=None, repr=False, compare=False)


def _margins_hold(report: RamanujanReport) -> bool:
    """The unweighted rule: a defined margin is strictly positive (NaN never holds)."""
    return any(d > 0 for d in (report.delta_s, report.delta_r) if not math.isnan(d))


def _weighted_holds(report: RamanujanReport) -> bool:
    """The weighted rule: ``delta_s >= 0`` (defined) and ``t1 >= 1``."""
    return (not math.isnan(report.delta_s)) and report.delta_s >= 0 and report.t1 >= 1


def _collapsed(report: RamanujanReport, rule: str) -> bool:
    if rule == "average":
        # An empty scope (every edge removed) has NaN averages: that is a collapse too.
        return not (report.d_left >= 2 and report.d_right >= 2)
    return report.n_edges == 0 or report.min_degree_left < 2 or report.min_degree_right < 2


def _edge_values(values: Any, g: BipartiteGraph, rows: np.ndarray, name: str, kinds: str) -> np.ndarray:
    """Read a (n_left, n_right) dense or sparse matrix at the graph's edges (CSR order)."""
    B = g.matrix
    if isinstance(values, BipartiteGraph):
        values = values.matrix
    if sp.issparse(values):
        if values.shape != g.shape:
            raise ValueError(f"{name} must have the graph's shape {g.shape}; got {values.shape}")
        if values.dtype.kind not in kinds:
            raise TypeError(f"{name} must be a real matrix; got dtype {values.dtype}")
        out = np.asarray(checked_csr(values, name)[rows, B.indices]).ravel()
    else:
        arr = np.asarray(values)
        if arr.shape != g.shape:
            raise ValueError(f"{name} must have the graph's shape {g.shape}; got {arr.shape}")
        if arr.dtype == object or arr.dtype.kind not in kinds:
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
        out = arr[rows, B.indices]
    return out


def bounded_sparsify(
    graph: Any,
    scores: Any,
    rate: float,
    levels: int | None = None,
    collapse: str = "average",
    scope: str = "largest",
    solver: str = "auto",
    *,
    tiebreak: Any = None,
    v0: Any = None,
    tol: float | None = None,
    rules: Any = SPECTRAL_RULES,
    first_k: int = 1,
) -> SparsifyResult:
    """Algorithm 1 of the seed study on one bipartite graph.

    Parameters
    ----------
    graph
        The current graph: its edges are the weights still present (weights are ignored; the
        unweighted test uses the 0/1 pattern).
    scores
        A dense array or sparse matrix of the graph's shape; only entries on edges are read.
        Lower scores are removed first; any real finite values (GraSP's are signed). The
        weighted test uses ``|score|`` on the kept edges (a zero score drops that edge).
    rate
        ``p`` in [0, 1], the fraction of the graph's edges the unbounded step would remove.
    levels
        ``K``, the number of halvings tried (candidates ``p/2, ..., p/2**K``); default
        :data:`DEFAULT_LEVELS`.
    collapse
        ``"average"`` (default, the pseudo-code: an average degree of the candidate's scope
        below 2) or ``"minimum"`` (the text: a minimum degree below 2).
    scope, solver, tol
        Passed to :func:`~bipartite_expanders.ramanujan_report` for every candidate
        (``tol=None``: the report's default).
    tiebreak
        Optional array of the graph's shape: among equal scores the lower ``tiebreak`` value
        is removed first (default: the row-major position ``i * n_right + j``).
    rules
        Which spectral tests accept a candidate, a subset of :data:`SPECTRAL_RULES` tried in
        that order (default both: Algorithm 1); ``("unweighted",)``: no ``|score|`` fallback;
        ``()``: no spectral test (only the collapse guard refuses).
    first_k
        The first level tried: ``1`` (default, the pseudo-code: ``p/2`` first) or ``0`` (``p``
        first, then ``p/2, p/4, ...``); at most ``levels``.
    v0
        Warm start for the first candidate's solver (e.g. a previous ``SparsifyResult.state``
        or ``RamanujanReport.state``); later candidates start from the one before.

    Returns
    -------
    SparsifyResult
        ``mask``: the accepted 0/1 graph (the input's pattern when nothing was accepted);
        ``decision``: a :class:`SparsifyDecision`.

    Examples
    --------
    >>> import numpy as np
    >>> from bipartite_expanders import bounded_sparsify, generators
    >>> g = generators.complete_bipartite(6, 6)
    >>> res = bounded_sparsify(g, np.arange(36.0).reshape(6, 6), rate=0.5, levels=3)
    >>> res.decision.reason.value, res.decision.k, res.decision.rule, res.mask.n_edges
    ('accepted', 1, 'unweighted', 27)
    """
    g = as_graph(graph)
    rate = check_rate(rate)
    if levels is None:
        levels = DEFAULT_LEVELS
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be a positive integer; got {levels!r}")
    if collapse not in COLLAPSE_RULES:
        raise ValueError(f"collapse must be one of {COLLAPSE_RULES}; got {collapse!r}")
    check_scope(scope)
    if isinstance(rules, str) or not isinstance(rules, (tuple, list)):
        raise TypeError(f"rules must be a tuple of names from {SPECTRAL_RULES}; got {rules!r}")
    rules = tuple(rules)
    if any(r not in SPECTRAL_RULES for r in rules) or len(set(rules)) != len(rules):
        raise ValueError(f"rules must be distinct names from {SPECTRAL_RULES}; got {rules!r}")
    rules = tuple(r for r in SPECTRAL_RULES if r in rules)  # the order of Algorithm 1
    if isinstance(first_k, bool) or not isinstance(first_k, (int, np.integer)) or not 0 <= first_k <= levels:
        raise ValueError(f"first_k must be an integer in [0, levels={levels}]; got {first_k!r}")
    first_k = int(first_k)
    pattern = g.pattern()
    B = pattern.matrix
    m, n = g.shape
    rows = np.repeat(np.arange(m), np.diff(B.indptr))
    s = _edge_values(scores, g, rows, "scores", "biuf").astype(np.float64)
    if s.size and not np.all(np.isfinite(s)):
        raise ValueError(f"scores has {int(np.count_nonzero(~np.isfinite(s)))} non-finite entries on edges (NaN or inf)")
    key = None if tiebreak is None else _edge_values(tiebreak, g, rows, "tiebreak", "biuf")  # None: CSR order = row-major
    n_edges = g.n_edges
    extra = {} if tol is None else {"tol": tol}
    # Algorithm 1 reads only the Hoory margins: the universal-cover radius (10-20x a spectrum) is skipped.

    def decide(reason: SparsifyReason, k: int | None, rule: str | None, kept: BipartiteGraph, cands: list[Candidate], state: Any) -> SparsifyResult:
        applied = rate / 2**k if reason == SparsifyReason.ACCEPTED and k is not None else 0.0
        dec = SparsifyDecision(reason, k, rule, rate, applied, int(levels), collapse, scope,
                               n_edges, kept.n_edges, tuple(cands), first_k, rules)
        return SparsifyResult(kept, dec, state)

    candidates: list[Candidate] = []
    state = v0
    for k in range(first_k, int(levels) + 1):
        r_k = rate / 2**k
        n_rm = removal_count(n_edges, r_k)
        if n_rm == 0:  # every later k removes nothing too
            break
        keep = np.ones(n_edges, dtype=bool)
        keep[lowest(s, n_rm, key)] = False
        counts = np.bincount(rows[keep], minlength=m)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        cand = BipartiteGraph(sp.csr_array((np.ones(int(keep.sum())), B.indices[keep], indptr), shape=(m, n)))
        rep = ramanujan_report(cand, scope=scope, weighted=False, solver=solver, v0=state, universal_cover=False, **extra)
        state = rep.state if rep.state is not None else state
        if _collapsed(rep, collapse):
            candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, None, True, None))
            return decide(SparsifyReason.COLLAPSE, k, None, pattern, candidates, state)
        if not rules:
            candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, None, False, "none"))
            return decide(SparsifyReason.ACCEPTED, k, "none", cand, candidates, state)
        if "unweighted" in rules and _margins_hold(rep):
            candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, None, False, "unweighted"))
            return decide(SparsifyReason.ACCEPTED, k, "unweighted", cand, candidates, state)
        if "weighted" not in rules:
            candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, None, False, None))
            continue
        weights = np.abs(s[keep])
        wcand = BipartiteGraph(sp.csr_array((weights, B.indices[keep], indptr), shape=(m, n)))
        wrep = ramanujan_report(wcand, scope=scope, weighted=True, solver=solver, universal_cover=False, **extra)
        if _weighted_holds(wrep):
            candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, wrep, False, "weighted"))
            return decide(SparsifyReason.ACCEPTED, k, "weighted", cand, candidates, state)
        candidates.append(Candidate(k, r_k, n_rm, cand.n_edges, rep, wrep, False, None))
    reason = SparsifyReason.NO_K_ACCEPTED if candidates else SparsifyReason.NOTHING_TO_PRUNE
    return decide(reason, None, None, pattern, candidates, state)
