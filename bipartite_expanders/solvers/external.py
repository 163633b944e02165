"""Backends from optional packages: PRIMME (``pip install bipartite-expanders[primme]``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse.linalg as spla

from ._common import MatrixOperator, SpectrumResult, finish, register_solver

__all__ = ["primme_available"]


def primme_available() -> bool:
    """Whether the optional ``primme`` package can be imported."""
    return importlib.util.find_spec("primme") is not None


def _as_linear_operator(op: MatrixOperator) -> spla.LinearOperator:
    return spla.LinearOperator(op.shape, matvec=op.mv, rmatvec=op.rmv, matmat=op.mv, rmatmat=op.rmv, dtype=np.float64)


@register_solver("primme")
def solve_primme(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """PRIMME's ``svds`` (Davidson-type, two-stage: normal equations then augmented) with the
    warm block as initial right vectors; Rayleigh-Ritz residuals are checked like the others."""
    if not primme_available():
        raise ImportError("solver='primme' needs the optional package primme: pip install 'bipartite-expanders[primme]'")
    import primme

    m, n = op.shape
    if min(m, n) <= k + 1:
        from .krylov import solve_lanczos

        return solve_lanczos(op, k, tol, start)
    kk = min(k + 1, min(m, n) - 1)
    # PRIMME's tol is relative to ||B||: residual <= tol * ||B||. Aim at the smallest wanted value.
    u, s, vt = primme.svds(_as_linear_operator(op), kk, which="LM", tol=max(tol / 4, 1e-15),
                           v0=None if start is None else start[:, :kk], return_singular_vectors=True)
    order = np.argsort(-s)[:k]
    return finish(op, "primme", k, tol, s[order], u[:, order], vt[order].T)
