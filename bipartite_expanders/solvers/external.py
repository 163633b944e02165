"""Backends from optional packages: PRIMME (``pip install bipartite-expanders[primme]``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse.linalg as spla

from ._common import MatrixOperator, SpectrumResult, finish, register_solver
from .krylov import solve_lanczos

__all__ = ["primme_available"]


def primme_available() -> bool:
    """Whether the optional ``primme`` package can be imported."""
    return importlib.util.find_spec("primme") is not None


class _Counted(spla.LinearOperator):
    """``B`` for PRIMME, which calls ``matmat`` / ``rmatmat`` on blocks (products counted by ``op``)."""

    def __init__(self, op: MatrixOperator):
        self.op = op
        super().__init__(dtype=np.float64, shape=op.shape)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self.op.mv(np.ravel(x))

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self.op.rmv(np.ravel(x))

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        return self.op.mv(X)

    def _rmatmat(self, X: np.ndarray) -> np.ndarray:
        return self.op.rmv(X)

    def matmult(self, X: np.ndarray) -> np.ndarray:  # primme's name for the block product
        return self.op.mv(np.asarray(X).reshape(self.shape[1], -1))

    def rmatmult(self, X: np.ndarray) -> np.ndarray:
        return self.op.rmv(np.asarray(X).reshape(self.shape[0], -1))


@register_solver("primme")
def solve_primme(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """PRIMME's ``svds`` (Davidson-type, two-stage: normal equations then augmented) with the
    warm block as initial right vectors; Rayleigh-Ritz residuals are checked like the others."""
    if not primme_available():
        raise ImportError("solver='primme' needs the optional package primme: pip install 'bipartite-expanders[primme]'")
    import primme

    m, n = op.shape
    if min(m, n) <= k + 1:
        return solve_lanczos(op, k, tol, start)
    kk = min(k + 1, min(m, n) - 1)
    # PRIMME's tol is relative to ||B||: residual <= tol * ||B||. Aim at the smallest wanted value.
    u, s, vt = primme.svds(_Counted(op), kk, which="LM", tol=max(tol / 4, 1e-15),
                           v0=None if start is None else start[:, :kk], return_singular_vectors=True)
    order = np.argsort(-s)
    return finish(op, "primme", k, tol, s[order], u[:, order], vt[order].T)
