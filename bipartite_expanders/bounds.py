"""Hoory's bounds, Ramanujan margins and verdicts: pure formulas over numbers (a leaf module).

For a bipartite graph with top singular values ``t1 > t2`` and average degrees
``d_left``, ``d_right`` (Hoory 2005; Table 1 of the seed study):

* eigenvalue bound ``eb = 2 sqrt(t1 - 1)``, defined for ``t1 >= 1``;
* degree bound ``db = sqrt(d_left - 1) + sqrt(d_right - 1)``, defined for ``d_left, d_right >= 1``;
* margins ``delta_s = (eb - t2) / t2`` and ``delta_r = (db - t2) / t2``; ``t2 == 0`` gives
  ``+inf``; an undefined bound gives NaN and the verdict ``"undefined"``.

The report that computes these numbers for a graph is :mod:`bipartite_expanders.report`;
see docs/bounds.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

__all__ = [
    "Verdict",
    "HooryBounds",
    "hoory_bounds",
    "margin",
    "verdict",
    "exact_verdict",
    "headline_verdict",
    "VERDICT_BASES",
    "study_verdict",
]


class Verdict(str, Enum):
    """Whether a margin says Ramanujan. Compares equal to its string value."""

    RAMANUJAN = "ramanujan"
    NOT_RAMANUJAN = "not_ramanujan"
    UNDEFINED = "undefined"
    #: a certified bracket contains the threshold: the test cannot decide (docs/universal-cover.md)
    UNDECIDED = "undecided"

    def __str__(self) -> str:
        return self.value


def _real(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {type(x).__name__}")
    return float(x)


def verdict(delta: float) -> Verdict:
    """``ramanujan`` when ``delta >= 0``, ``undefined`` when NaN, else ``not_ramanujan``."""
    if math.isnan(delta):
        return Verdict.UNDEFINED
    return Verdict.RAMANUJAN if delta >= 0 else Verdict.NOT_RAMANUJAN


def margin(bound: float, t2: float) -> float:
    """``(bound - t2) / t2``; ``+inf`` when ``t2 == 0``, NaN when either is NaN.

    >>> margin(3.0, 2.0), margin(1.0, 0.0)
    (0.5, inf)
    """
    if math.isnan(bound) or math.isnan(t2):
        return math.nan
    if t2 == 0:
        return math.inf
    return (bound - t2) / t2


@dataclass(frozen=True)
class HooryBounds:
    """Hoory's two bounds and their margins over ``t2``."""

    eb: float
    db: float
    delta_s: float
    delta_r: float

    @property
    def verdict_s(self) -> Verdict:
        return verdict(self.delta_s)

    @property
    def verdict_r(self) -> Verdict:
        return verdict(self.delta_r)


def hoory_bounds(t1: float, t2: float, d_left: float, d_right: float) -> HooryBounds:
    """Hoory's eigenvalue and degree bounds and the margins ``delta_s``, ``delta_r``.

    NaN in, NaN out; ``t1 < 1`` leaves ``eb`` undefined (NaN), an average degree below 1
    leaves ``db`` undefined; ``t2 == 0`` makes a defined margin ``+inf``.

    Examples
    --------
    The seed study's Table 4 (LeNet layer 1, SynFlow-Bound, unweighted):

    >>> b = hoory_bounds(31.84, 14.32, 235.20, 3.07)
    >>> round(b.eb, 2), round(b.db, 2), round(b.delta_s, 2), round(b.delta_r, 2)
    (11.11, 16.74, -0.22, 0.17)
    """
    t1, t2 = _real(t1, "t1"), _real(t2, "t2")
    d_left, d_right = _real(d_left, "d_left"), _real(d_right, "d_right")
    for name, v in (("t1", t1), ("t2", t2), ("d_left", d_left), ("d_right", d_right)):
        if v < 0 or v == math.inf:
            raise ValueError(f"{name} must be finite and non-negative; got {v}")
    if t2 > t1 * (1 + 1e-12):
        raise ValueError(f"t2 must not exceed t1; got t1={t1}, t2={t2}")
    eb = 2.0 * math.sqrt(t1 - 1.0) if t1 >= 1 else math.nan
    db = math.sqrt(d_left - 1.0) + math.sqrt(d_right - 1.0) if (d_left >= 1 and d_right >= 1) else math.nan
    return HooryBounds(eb, db, margin(eb, t2), margin(db, t2))


def exact_verdict(t2: float, lower: float, upper: float, connected: bool = True) -> Verdict:
    """The irregular-Ramanujan verdict ``t2 <= rho(T)`` decided by a certified bracket alone.

    ``ramanujan`` when ``t2 <= lower``, ``not_ramanujan`` when ``t2 > upper`` or the graph is
    disconnected, ``undecided`` when the bracket contains ``t2``, ``undefined`` for NaN input.

    >>> exact_verdict(2.0, 2.5, 2.6).value, exact_verdict(2.55, 2.5, 2.6).value
    ('ramanujan', 'undecided')
    """
    if not connected:
        return Verdict.NOT_RAMANUJAN
    if math.isnan(t2) or math.isnan(lower) or math.isnan(upper):
        return Verdict.UNDEFINED
    if t2 <= lower:
        return Verdict.RAMANUJAN
    if t2 > upper:
        return Verdict.NOT_RAMANUJAN
    return Verdict.UNDECIDED


#: why :func:`headline_verdict` says what it says
VERDICT_BASES = {
    "exact": "the universal cover's exact test (t2 <= rho(T)), decided by its certified bracket",
    "disconnected": "the scope is disconnected, and a Ramanujan graph is connected",
    "db": "t2 <= db <= rho(T): Hoory's theorem (0/1 graph, minimum degree >= 2)",
    "open": "the exact test was not run or its bracket contains t2, and db does not decide",
    "undefined": "t2 or every test is undefined (an empty scope, NaN)",
}


def headline_verdict(verdict_uc: Verdict | str, t2: float, delta_r: float, db_valid: bool, weighted: bool,
                     connected: bool) -> tuple[Verdict, str]:
    """The one verdict of a report, and its basis (a key of :data:`VERDICT_BASES`).

    The definition is the irregular-Ramanujan one: connected and ``t2 <= rho(T)``. So, in order:

    1. a disconnected scope is ``not_ramanujan``;
    2. the exact universal-cover test, when its certified bracket decides (``verdict_uc`` is
       ``ramanujan`` or ``not_ramanujan``);
    3. else Hoory's degree bound where his theorem holds (a 0/1 graph with minimum degree >= 2):
       ``t2 <= db <= rho(T)`` proves ``ramanujan``; ``t2 > db`` proves nothing;
    4. else ``undecided``; ``undefined`` when ``t2`` is NaN.

    ``eb`` never decides: no theorem relates it to ``rho(T)`` for irregular graphs
    (docs/universal-cover.md); it stays beside the verdict, as does ``delta_s``.

    >>> headline_verdict("undecided", 2.0, 0.1, True, False, True)
    (<Verdict.RAMANUJAN: 'ramanujan'>, 'db')
    >>> headline_verdict("not_ramanujan", 2.0, 0.1, True, False, True)[0].value
    'not_ramanujan'
    >>> headline_verdict("undefined", 2.0, -0.1, True, False, True)[0].value
    'undecided'
    """
    if math.isnan(t2):
        return Verdict.UNDEFINED, "undefined"
    if not connected:
        return Verdict.NOT_RAMANUJAN, "disconnected"
    uc = Verdict(verdict_uc)
    if uc in (Verdict.RAMANUJAN, Verdict.NOT_RAMANUJAN):
        return uc, "exact"
    if db_valid and not weighted and not math.isnan(delta_r) and delta_r >= 0:
        return Verdict.RAMANUJAN, "db"
    return Verdict.UNDECIDED, "open"


def study_verdict(*margins: Any) -> Verdict:
    """The seed study's rule over margins: ``ramanujan`` when one is >= 0, ``undefined`` when none
    is defined (NaN, or the strings of :func:`~bipartite_expanders.files.json_float`: e.g. an
    untrained layer's ``|W|`` with ``t1 < 1``), else ``not_ramanujan``. Never "not Ramanujan"
    for want of a number.

    >>> [study_verdict(*m).value for m in [(-0.1, float("nan")), (float("nan"),), (-0.2, 0.0), ("nan", None)]]
    ['not_ramanujan', 'undefined', 'ramanujan', 'undefined']
    """
    defined = []
    for v in margins:
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isnan(x):
            defined.append(x)
    if not defined:
        return Verdict.UNDEFINED
    return Verdict.RAMANUJAN if max(defined) >= 0 else Verdict.NOT_RAMANUJAN
