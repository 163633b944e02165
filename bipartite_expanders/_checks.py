"""Argument checks shared by the core's functions, written once so that every function refuses
the same bad value with the same message (naming the argument).

>>> check_tol(1e-9), check_k(2), check_scope("all"), check_rate(0.2)
(1e-09, 2, 'all', 0.2)
>>> check_tol(0)
Traceback (most recent call last):
...
ValueError: tol must be a float in (0, 1); got 0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["SCOPES", "check_scope", "check_tol", "check_k", "check_rate"]

#: the analysis scopes (docs/components.md)
SCOPES = ("largest", "nonisolated", "all")


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_scope(scope: Any, *, allow_none: bool = False) -> str | None:
    """``scope`` if it is one of :data:`SCOPES` (or None when ``allow_none``), else ``ValueError``."""
    if scope is None and allow_none:
        return None
    if not isinstance(scope, str) or scope not in SCOPES:
        choices = ("None", *SCOPES) if allow_none else SCOPES
        raise ValueError(f"scope must be one of {', '.join(choices)}; got {scope!r}")
    return scope


def check_tol(tol: Any) -> float:
    """``tol`` as a float in the open interval (0, 1), else ``ValueError``."""
    if not _is_real(tol) or not (0 < float(tol) < 1):
        raise ValueError(f"tol must be a float in (0, 1); got {tol!r}")
    return float(tol)


def check_k(k: Any, minimum: int = 1) -> int:
    """``k`` as an integer of at least ``minimum``, else ``ValueError``."""
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < minimum:
        raise ValueError(f"k must be an integer >= {minimum}; got {k!r}")
    return int(k)


def check_rate(rate: Any) -> float:
    """``rate`` as a float in [0, 1]: ``TypeError`` when it is not a real number, ``ValueError``
    when it is out of range or NaN."""
    if not _is_real(rate):
        raise TypeError(f"rate must be a real number in [0, 1]; got {type(rate).__name__}")
    r = float(rate)
    if math.isnan(r) or not (0.0 <= r <= 1.0):
        raise ValueError(f"rate must be in [0, 1]; got {rate!r}")
    return r
