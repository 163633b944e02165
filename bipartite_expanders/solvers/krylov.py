"""Iterative backends: Golub-Kahan-Lanczos, ARPACK and LOBPCG (all matrix-free).

Each ends with a Rayleigh-Ritz pass on ``B`` and explicit residuals (:func:`finish`), so the
caller can check the answer instead of trusting the iteration's own stopping test.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from ._common import MatrixOperator, SpectrumResult, finish, register_solver, ritz

__all__ = ["lanczos_svd", "LANCZOS_MEMORY_BYTES"]

#: the Lanczos bases (m + n doubles per step) may take this much memory before it gives up
LANCZOS_MEMORY_BYTES = 1_500_000_000
_SQRT2 = np.sqrt(2.0)


def _orth_against(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Classical Gram-Schmidt twice ("twice is enough"): x minus its projection on the basis."""
    if basis.shape[1]:
        x = x - basis @ (basis.T @ x)
        x = x - basis @ (basis.T @ x)
    return x


def _fresh_direction(rng: np.random.Generator, basis: np.ndarray) -> np.ndarray:
    """A random unit vector orthogonal to the basis (restarts Lanczos after an invariant subspace)."""
    for _ in range(3):
        x = _orth_against(rng.standard_normal(basis.shape[0]), basis)
        nx = np.linalg.norm(x)
        if nx > 1e-8:
            return x / nx
    return np.zeros(basis.shape[0])


def _start_vector(start: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """One start vector from a warm block: the sum of its columns (each a unit vector), so that
    every previous direction is present; a small random part keeps the rest of the space reachable."""
    noise = rng.standard_normal(n) / np.sqrt(n)
    if start is None:
        return noise
    return start.sum(axis=1) + 1e-3 * noise


def lanczos_svd(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None = None, *,
                seed: int = 0, max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Golub-Kahan-Lanczos bidiagonalisation of ``B`` with full reorthogonalisation.

    Works on ``B`` itself (no squaring, so small singular values keep absolute accuracy
    ``eps * t1``) and keeps the whole basis (no restarts: it needs the fewest products of
    the Krylov methods here). Stops when the ``k`` top Ritz pairs have eigen-residual
    ``<= tol * s_i + 1e-4 * tol * s_1``, read off the bidiagonal for free. An invariant
    subspace (a component explored, a low rank) restarts with a fresh orthogonal direction,
    so repeated values of other components are still found.

    Returns ``(s, U, V, residual_estimates, converged)``.
    """
    m, n = op.shape
    size = min(m, n)
    rng = np.random.default_rng(seed)
    cap = max(k + 2, int(LANCZOS_MEMORY_BYTES // (8 * (m + n))))
    steps = min(size, cap if max_steps is None else min(cap, max_steps))
    Q = np.zeros((n, steps + 1))
    P = np.zeros((m, steps))
    alpha = np.zeros(steps)
    beta = np.zeros(steps)
    q = _start_vector(start, n, rng)
    Q[:, 0] = q / np.linalg.norm(q)
    scale = np.sqrt(op.frob2)  # >= t1: the size below which a vector is rounding noise
    tiny = 1e-13 * scale
    j = 0
    next_check = k + 1
    s = X = Yt = res = None
    converged = False
    while j < steps:
        p = op.mv(Q[:, j])
        if j:
            p -= beta[j - 1] * P[:, j - 1]
        p = _orth_against(p, P[:, :j])
        a = np.linalg.norm(p)
        if a <= tiny:
            a, p = 0.0, _fresh_direction(rng, P[:, :j])
        else:
            p /= a
        P[:, j] = p
        r = op.rmv(p) - a * Q[:, j]
        r = _orth_against(r, Q[:, : j + 1])
        b = np.linalg.norm(r)
        if b <= tiny:
            b, r = 0.0, _fresh_direction(rng, Q[:, : j + 1])
        else:
            r /= b
        Q[:, j + 1] = r
        alpha[j], beta[j] = a, b
        j += 1
        if j >= next_check or j == steps:
            Bj = np.diag(alpha[:j]) + np.diag(beta[: j - 1], 1)
            X, s, Yt = np.linalg.svd(Bj)
            res = np.abs(beta[j - 1] * X[j - 1, :]) / _SQRT2
            kk = min(k, j)
            target = tol * s[:kk] + 1e-4 * tol * s[0]
            if np.all(res[:kk] <= target) and (j >= k or j == size):
                converged = True
                break
            next_check = j + max(1, j // 10)  # an SVD of the bidiagonal costs O(j^3): check sparsely
    kk = min(k, j)
    U = P[:, :j] @ X[:, :kk]
    V = Q[:, :j] @ Yt[:kk].T
    return s[:kk], U, V, res[:kk], converged


@register_solver("lanczos")
def solve_lanczos(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """Golub-Kahan-Lanczos on ``B`` with full reorthogonalisation (:func:`lanczos_svd`)."""
    s, U, V, _, _ = lanczos_svd(op, k, tol, start)
    return finish(op, "lanczos", k, tol, s, U, V)


def _gram_start(op: MatrixOperator, start: np.ndarray | None, left: bool) -> np.ndarray | None:
    """Map a warm block of right vectors onto the side a Gram method iterates (a block)."""
    if start is None:
        return None
    return op.mv(start) if left else start


class _GramOperator(spla.LinearOperator):
    """``B B^T`` (left) or ``B^T B`` as a LinearOperator whose products ``op`` counts."""

    def __init__(self, op: MatrixOperator, left: bool):
        self.op, self.left = op, left
        size = op.shape[0] if left else op.shape[1]
        super().__init__(dtype=np.float64, shape=(size, size))

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.ravel(x)
        return self.op.mv(self.op.rmv(x)) if self.left else self.op.rmv(self.op.mv(x))

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        return self.op.mv(self.op.rmv(X)) if self.left else self.op.rmv(self.op.mv(X))


@register_solver("arpack")
def solve_arpack(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """ARPACK (implicitly restarted Lanczos) on the smaller Gram operator, then Rayleigh-Ritz on B."""
    m, n = op.shape
    left = m <= n
    size = min(m, n)
    if size <= k + 2:  # ARPACK needs k < size - 1; a Lanczos run is exact there
        return solve_lanczos(op, k, tol, start)
    kk = min(k + 1, size - 2)
    ncv = min(size, max(2 * kk + 1, 24))
    block = _gram_start(op, start, left)
    v0 = None if block is None else block.sum(axis=1)
    if v0 is not None and not np.linalg.norm(v0) > 0:
        v0 = None
    gram = _GramOperator(op, left)
    try:
        _, Q = spla.eigsh(gram, k=kk, which="LA", tol=tol / 4, v0=v0, ncv=ncv, maxiter=max(1000, 10 * size))
    except spla.ArpackNoConvergence as exc:  # keep what converged; the residual check judges it
        if exc.eigenvectors is None or exc.eigenvectors.shape[1] == 0:
            raise
        Q = exc.eigenvectors
    Q, _ = np.linalg.qr(Q)
    s, U, V = ritz(op, Q, left, k)
    return finish(op, "arpack", k, tol, s, U, V)


@register_solver("lobpcg")
def solve_lobpcg(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """scipy's LOBPCG on the smaller Gram operator with a block of ``k + 3``, seeded with the
    warm block; a Rayleigh-Ritz pass on B and the residual check follow (LOBPCG alone stalls
    near ``1e-4`` relative on clustered spectra, so its answer is refined when it fails)."""
    m, n = op.shape
    left = m <= n
    size = min(m, n)
    bs = min(k + 3, size)
    if size < 3 * bs:  # LOBPCG needs room for three blocks
        return solve_lanczos(op, k, tol, start)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((size, bs))
    block = _gram_start(op, start, left)
    if block is not None:
        p = min(block.shape[1], bs)
        X[:, :p] = block[:, :p]
    # an upper bound of t1^2 (||B||_1 ||B||_inf) scales LOBPCG's absolute residual tolerance
    B = op.B
    absB = np.abs(B)
    norm1 = float(np.max(absB.sum(axis=0)))
    norminf = float(np.max(absB.sum(axis=1)))
    gram = _GramOperator(op, left)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, Q = spla.lobpcg(gram, X, tol=tol * norm1 * norminf, maxiter=200, largest=True)
    Q = sla.qr(Q, mode="economic")[0]
    s, U, V = ritz(op, Q, left, k)
    return finish(op, "lobpcg", k, tol, s, U, V)
