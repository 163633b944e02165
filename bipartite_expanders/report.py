"""The Ramanujan report of a bipartite graph: the one module that combines components, scopes,
spectrum, Hoory's bounds and the universal-cover radius (docs/bounds.md).

>>> from bipartite_expanders import generators, ramanujan_report
>>> r = ramanujan_report(generators.pg2_incidence(3))
>>> round(r.t1, 6), round(r.t2, 6), r.verdict_r.value
(4.0, 1.732051, 'ramanujan')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._checks import check_scope
from .bounds import HooryBounds, Verdict, exact_verdict, headline_verdict, hoory_bounds, margin, verdict
from .components import Components, connected_components, degree_counts, side_degrees
from .cover import cover_bracket_free, universal_cover_radius
from .files import json_float
from .graph import BipartiteGraph, as_graph
from .scaling import scale_exponent
from .scopes import restrict_to_scope
from .spectrum import DEFAULT_TOL, SpectrumResult, spectral_pair

__all__ = ["Regime", "RamanujanReport", "ramanujan_report", "network_regime", "cover_is_exact_by_default",
           "COVER_AUTO_EDGES"]

#: ``universal_cover="auto"`` computes the exact radius unless the scope has more edges than this;
#: such graphs get the certified free bracket (benchmarks/census_vgg19.py, docs/universal-cover.md,
#: "Default")
COVER_AUTO_EDGES = 200_000


class Regime(str, Enum):
    """A network's regime over its analysed layers."""

    FULLY = "fully"
    PARTIALLY = "partially"
    NON = "non"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RamanujanReport:
    """The spectral report of one bipartite graph on one scope.

    ``t1, t2, d_left, d_right`` are all taken on ``scope``; ``n_left, n_right, n_edges`` and
    the degree fields describe the scope; ``isolated_left/right`` and ``n_components``
    (components with at least one edge) describe the whole graph. ``db_valid`` says whether
    Hoory's hypothesis (minimum degree >= 2 on both sides of the scope) holds.
    """

    t1: float
    t2: float
    d_left: float
    d_right: float
    eb: float
    db: float
    delta_s: float
    delta_r: float
    verdict_s: Verdict
    verdict_r: Verdict
    db_valid: bool
    n_components: int
    isolated_left: int
    isolated_right: int
    min_degree_left: int
    min_degree_right: int
    n_edges: int
    n_left: int
    n_right: int
    scope: str
    weighted: bool
    solver: str
    max_degree_left: int = 0
    max_degree_right: int = 0
    density: float = math.nan
    shape: tuple[int, int] = (0, 0)
    total_edges: int = 0
    t1_multiplicity: int = 1
    #: the solver's output on the scope (singular vectors): pass it as ``v0`` to warm-start the
    #: analysis of a slightly changed graph. Not serialised, not compared.
    state: SpectrumResult | None = field(default=None, repr=False, compare=False)
    #: rho(T), the spectral radius of the scope's universal covering tree (NaN when not computed),
    #: with its certified bracket; see :func:`~bipartite_expanders.cover.universal_cover_radius`
    rho_uc: float = math.nan
    rho_uc_lower: float = math.nan
    rho_uc_upper: float = math.nan
    #: ``(rho_uc - t2) / t2`` and the exact verdict: connected scope and ``t2 <= rho(T)``, decided
    #: by the bracket alone (``undecided`` when ``rho_uc_lower < t2 <= rho_uc_upper``)
    delta_uc: float = math.nan
    verdict_uc: Verdict = Verdict.UNDEFINED
    #: whether the bracket met ``tol`` (relative to rho), and how rho(T) was obtained:
    #: the solver's method (``"fold"``, ``"closed_form"``, ...), ``""`` when not computed
    rho_uc_converged: bool = False
    rho_uc_method: str = ""
    #: the free O(E) bracket on rho(T): Hoory / edge-average <= rho(T) <= min(t1, max edge bound)
    uc_free_lower: float = math.nan
    uc_free_upper: float = math.nan

    @property
    def is_ramanujan(self) -> bool:
        """The unweighted rule of the study: ``max(delta_s, delta_r) >= 0``."""
        return Verdict.RAMANUJAN in (self.verdict_s, self.verdict_r)

    @property
    def connected(self) -> bool:
        """Whether the scope is one component (``largest`` always is)."""
        if self.scope == "largest":
            return True
        if self.scope == "nonisolated":
            return self.n_components <= 1
        return self.n_components <= 1 and self.isolated_left == 0 and self.isolated_right == 0

    @property
    def verdict(self) -> Verdict:
        """The report's one verdict (:func:`~bipartite_expanders.bounds.headline_verdict`): the
        exact universal-cover test when it decides, else Hoory's ``db`` where his theorem holds,
        else ``undecided`` (``undefined`` for an empty scope); ``verdict_basis`` says which."""
        return self._headline()[0]

    @property
    def verdict_basis(self) -> str:
        """Why :attr:`verdict` says what it says: a key of :data:`~bipartite_expanders.bounds.VERDICT_BASES`."""
        return self._headline()[1]

    def _headline(self) -> tuple[Verdict, str]:
        t2 = self.t2 if self.n_edges else math.nan
        return headline_verdict(self.verdict_uc, t2, self.delta_r, self.db_valid, self.weighted, self.connected)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: inf and NaN as the strings ``"inf"``, ``"-inf"``, ``"nan"``; the
        headline ``verdict`` and ``verdict_basis`` first (computed, not read back by :meth:`from_dict`)."""
        out: dict[str, Any] = {"verdict": self.verdict.value, "verdict_basis": self.verdict_basis}
        for f in fields(self):
            if f.name == "state":
                continue
            v = getattr(self, f.name)
            if isinstance(v, Enum):
                v = v.value
            elif isinstance(v, float):
                v = json_float(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RamanujanReport:
        """Inverse of :meth:`to_dict`."""
        kw: dict[str, Any] = {}
        names = {f.name: f for f in fields(cls)}
        for k, v in data.items():
            if k not in names:
                continue
            if k in ("verdict_s", "verdict_r", "verdict_uc"):
                v = Verdict(v)
            elif k == "shape":
                v = tuple(v)
            elif isinstance(v, str) and k not in ("scope", "solver", "rho_uc_method"):
                v = float(v)
            kw[k] = v
        return cls(**kw)


def ramanujan_report(
    graph: Any,
    scope: str = "largest",
    weighted: bool | None = None,
    solver: str = "auto",
    *,
    tol: float = DEFAULT_TOL,
    v0: Any = None,
    universal_cover: bool | str = "auto",
) -> RamanujanReport:
    """Analyse one bipartite graph: spectrum, degrees, Hoory bounds and verdicts on a scope.

    Parameters
    ----------
    graph
        A :class:`BipartiteGraph` (or anything :class:`BipartiteGraph` accepts).
    scope
        ``"largest"`` (component with most edges), ``"nonisolated"`` or ``"all"``.
    weighted
        None analyses the graph as it is; False uses its 0/1 pattern; True uses its weights.
    solver, tol, v0
        Passed to :func:`~bipartite_expanders.spectrum.spectral_pair`.
    universal_cover
        ``"auto"`` (default): the exact universal-cover radius ``rho_uc`` (``tol``-certified) and
        ``verdict_uc``, except on the class that stays slow, large graphs (more than
        ``COVER_AUTO_EDGES`` edges), which get the free
        O(E) bracket instead (``rho_uc_method == "free"``, ``rho_uc`` NaN, the verdict decided by
        that bracket); see docs/universal-cover.md. True always computes the exact radius; False
        leaves the fields NaN / ``undefined`` (the free bracket ``uc_free_*`` is always filled).

    Examples
    --------
    >>> from bipartite_expanders import generators, ramanujan_report
    >>> r = ramanujan_report(generators.complete_bipartite(3, 4))
    >>> r.t2, r.verdict_s.value, r.delta_r
    (0.0, 'ramanujan', inf)
    """
    g = as_graph(graph)
    check_scope(scope)
    if weighted not in (None, True, False):
        raise TypeError(f"weighted must be None, True or False; got {weighted!r}")
    use_weights = g.is_weighted if weighted is None else bool(weighted)
    if not use_weights:
        g = g.pattern()
    comp = connected_components(g)
    sub, rows, cols = restrict_to_scope(g, scope, comp)
    scope_graph = _scope_graph(g, sub, scope, use_weights)
    left, right = side_degrees(sub, use_weights, degree_counts(scope_graph))
    if sub.shape[0] and sub.shape[1]:
        pair = spectral_pair(scope_graph, solver=solver, tol=tol, v0=v0, vertex_ids=(rows, cols))
        t1, t2, used, mult, state = pair.t1, pair.t2, pair.solver, pair.multiplicity, pair.result
    else:  # an edgeless graph's largest / nonisolated scope is empty
        t1, t2, used, mult, state = 0.0, 0.0, solver, 0, None
    d_l = left.average
    d_r = right.average
    if not all(math.isfinite(v) for v in (t1, d_l, d_r) if not math.isnan(v)):
        # the answer itself is past the largest double (1.8e308): say so, naming the argument,
        # rather than let a bound complain that t1 is not finite
        peak = float(g.matrix.data.max())
        raise ValueError(f"graph: weights up to {peak:.3g} give t1 = {t1:.3g} and average degrees {d_l:.3g}, {d_r:.3g}: "
                         f"past the float64 range ({np.finfo(np.float64).max:.3g}); divide the weights by a power "
                         "of two (the margins and verdicts do not change with scale)")
    if math.isnan(d_l) or math.isnan(d_r):  # empty scope: t1 = 0, every bound undefined
        b = HooryBounds(math.nan, math.nan, math.nan, math.nan)
    else:
        b = hoory_bounds(t1, t2, d_l, d_r)
    whole_l, whole_r = side_degrees(g.matrix, use_weights, degree_counts(g))
    n_l, n_r = sub.shape
    if not (isinstance(universal_cover, (bool, np.bool_)) or universal_cover == "auto"):
        raise TypeError(f"universal_cover must be 'auto', True or False; got {universal_cover!r}")
    uc = _universal_cover_fields(scope_graph, use_weights, t1, t2, universal_cover, tol)
    return RamanujanReport(
        t1=t1, t2=t2, d_left=d_l, d_right=d_r,
        eb=b.eb, db=b.db, delta_s=b.delta_s, delta_r=b.delta_r,
        verdict_s=verdict(b.delta_s), verdict_r=verdict(b.delta_r),
        db_valid=bool(n_l and n_r and left.minimum >= 2 and right.minimum >= 2),
        n_components=comp.n_nontrivial,
        isolated_left=whole_l.isolated, isolated_right=whole_r.isolated,
        min_degree_left=left.minimum, min_degree_right=right.minimum,
        n_edges=int(sub.nnz), n_left=int(n_l), n_right=int(n_r),
        scope=scope, weighted=use_weights, solver=used,
        max_degree_left=left.maximum, max_degree_right=right.maximum,
        density=(sub.nnz / (n_l * n_r)) if n_l and n_r else math.nan,
        shape=g.shape, total_edges=g.n_edges, t1_multiplicity=mult, state=state,
        **uc,
    )


def _scope_graph(g: BipartiteGraph, sub: Any, scope: str, weighted: bool) -> BipartiteGraph:
    """The scope as a graph value: ``g`` itself when the scope is every vertex (sharing its
    cached degrees and components), else a graph over the freshly sliced matrix; a ``largest``
    scope is one component by construction, so its components are known without a search."""
    if sub is g.matrix:
        return g
    scope_graph = BipartiteGraph.adopt_csr(sp.csr_array(sub, copy=False), "scope", canonical=True, allow_empty=True)
    if scope == "largest" and scope_graph.n_edges:
        m, n = scope_graph.shape
        arrays = (np.zeros(m, dtype=np.int64), np.zeros(n, dtype=np.int64),
                  np.array([scope_graph.n_edges]), np.array([m + n]))
        for arr in arrays:
            arr.flags.writeable = False
        scope_graph.remember("components", Components(1, *arrays))
    return scope_graph


def cover_is_exact_by_default(n_edges: int) -> bool:
    """The ``universal_cover="auto"`` rule: the exact radius except on graphs of more than
    :data:`COVER_AUTO_EDGES` edges, where the solver's few dozen O(E) passes with their linear
    algebra cost 10-40 times the whole spectral pair (docs/universal-cover.md, "Default").

    >>> cover_is_exact_by_default(147_000), cover_is_exact_by_default(235_930)
    (True, False)
    """
    return n_edges <= COVER_AUTO_EDGES


def _universal_cover_fields(scope_graph: BipartiteGraph, weighted: bool, t1: float, t2: float, mode: bool | str,
                            tol: float) -> dict[str, Any]:
    """rho(T) fields of a report: the free bracket always, the certified value when asked for
    (``mode`` True, or "auto" outside the slow class), else the free bracket's verdict."""
    out: dict[str, Any] = {}
    if not (scope_graph.n_left and scope_graph.n_right) or scope_graph.n_edges == 0:
        return out
    # rho(T) and its brackets are homogeneous of degree 1 in the weights: computed with the largest
    # weight in [1, 2) and scaled back, exactly (docs/bounds.md, "Scale")
    e = scale_exponent(float(scope_graph.matrix.data.max())) if weighted else 0
    unit = scope_graph.scaled(-e)
    lo, hi = cover_bracket_free(unit)
    lo, hi = math.ldexp(lo, e), min(math.ldexp(hi, e), t1)
    out["uc_free_lower"], out["uc_free_upper"] = lo, hi
    if mode is False:
        return out
    density = scope_graph.n_edges / (scope_graph.n_left * scope_graph.n_right)
    connected = connected_components(scope_graph).n_components == 1
    if mode == "auto" and not cover_is_exact_by_default(scope_graph.n_edges):
        out.update(rho_uc_lower=lo, rho_uc_upper=hi, rho_uc_converged=bool(hi - lo <= max(tol, 1e-12) * hi),
                   rho_uc_method="free", verdict_uc=exact_verdict(t2, lo, hi, connected))
        return out
    r = universal_cover_radius(unit, tol=max(tol, 1e-12), scope="all")
    value, lower, upper = (math.ldexp(v, e) for v in (r.value, r.lower, r.upper))
    out.update(rho_uc=value, rho_uc_lower=lower, rho_uc_upper=upper, delta_uc=margin(value, t2),
               rho_uc_converged=r.converged, rho_uc_method=r.method)
    out["verdict_uc"] = exact_verdict(t2, lower, upper, connected)
    return out


def network_regime(reports: Iterable[RamanujanReport | bool]) -> Regime:
    """``fully`` when every report is Ramanujan (by ``is_ramanujan``), ``non`` when none is,
    else ``partially``. Accepts reports or booleans; an empty collection is an error.

    >>> network_regime([True, False]).value
    'partially'
    """
    flags = [r.is_ramanujan if isinstance(r, RamanujanReport) else bool(r) for r in reports]
    if not flags:
        raise ValueError("reports must not be empty")
    if all(flags):
        return Regime.FULLY
    if not any(flags):
        return Regime.NON
    return Regime.PARTIALLY
