"""Iterative backends: Golub-Kahan-Lanczos, ARPACK, PROPACK and LOBPCG (all matrix-free).

Each ends with a Rayleigh-Ritz pass on ``B`` and explicit residuals (:func:`finish`), so the
caller can check the answer instead of trusting the iteration's own stopping test.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import replace

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla
from numpy.linalg import LinAlgError

from ._common import MatrixOperator, SpectrumResult, error_bounds, finish, register_solver, ritz
from .kernels import compiled_module

__all__ = ["lanczos_svd", "LANCZOS_MEMORY_BYTES", "PROPACK_MEMORY_BYTES"]

#: the Lanczos bases (m + n doubles per step) may take this much memory before it gives up
LANCZOS_MEMORY_BYTES = 1_500_000_000
_SQRT2 = np.sqrt(2.0)
# scipy >= 1.15 seeds svds through ``rng``, earlier versions through ``random_state``
_SVDS_RNG = "rng" if "rng" in inspect.signature(spla.svds).parameters else "random_state"
#: PROPACK's Lanczos bases (``m + n`` doubles per step, no restarts) may take this much memory
PROPACK_MEMORY_BYTES = 200_000_000
#: Lanczos steps before its first convergence check (see :func:`lanczos_svd`)
FIRST_CHECK_STEPS = 12
# up to this many steps a dense SVD of the bidiagonal has less call overhead than the
# tridiagonal solver (and its factors serve the final Ritz vectors too)
_DENSE_BIDIAGONAL_MAX = 96


def _orth_against(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Classical Gram-Schmidt twice ("twice is enough"): x minus its projection on the rows
    of ``basis`` (vectors are stored as rows, so the active part is one contiguous slice)."""
    if basis.shape[0]:
        before = np.linalg.norm(x)
        x = x - (basis @ x) @ basis
        if np.linalg.norm(x) < 0.7 * before:  # Kahan-Parlett: a second pass only after cancellation
            x = x - (basis @ x) @ basis
    return x


def _fresh_direction(rng: np.random.Generator, basis: np.ndarray, n: int) -> np.ndarray:
    """A random unit vector orthogonal to the basis (restarts Lanczos after an invariant subspace)."""
    for _ in range(3):
        x = _orth_against(rng.standard_normal(n), basis)
        nx = np.linalg.norm(x)
        if nx > 1e-8:
            return x / nx
    return np.zeros(n)


def _bidiagonal_svd(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, s, Yt)``: the dense SVD of the upper bidiagonal (``alpha`` diagonal, ``beta``
    superdiagonal)."""
    return np.linalg.svd(np.diag(alpha) + np.diag(beta, 1))


def _bidiagonal_top(alpha: np.ndarray, beta: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``count`` singular values of the upper bidiagonal (``alpha`` diagonal, ``beta``
    superdiagonal) and the last entries of their left vectors over sqrt 2, from the
    Golub-Kahan tridiagonal (zero diagonal, off-diagonal alpha_1, beta_1, alpha_2, ...):
    ``O(j)`` per value instead of a dense ``O(j^3)`` SVD."""
    j = alpha.size
    if j <= _DENSE_BIDIAGONAL_MAX:
        X, sv, _ = _bidiagonal_svd(alpha, beta)
        return sv[:count], X[j - 1, :count] / _SQRT2
    e = np.zeros(2 * j - 1)
    e[0::2] = alpha
    e[1::2] = beta
    w, z = sla.eigh_tridiagonal(np.zeros(2 * j), e, select="i", select_range=(2 * j - count, 2 * j - 1),
                                check_finite=False)
    order = np.argsort(-w)
    return np.abs(w[order]), z[-1, order]


def _compiled_bidiagonal_top(alpha: np.ndarray, beta: np.ndarray, count: int) -> tuple[np.ndarray, ...] | None:
    """``(values, last, vectors)`` of :func:`~bipartite_expanders.solvers.compiled.bidiagonal_top`
    (what :func:`_bidiagonal_top` returns, and the Golub-Kahan eigenvectors), by bisection and a
    recurrence, compiled; None where that method does not apply."""
    values, last = np.empty(count), np.empty(count)
    vectors = np.empty((count, 2 * alpha.size))
    if compiled_module().bidiagonal_top(alpha, beta, count, values, last, vectors):
        return values, last, vectors
    return None


def _grow(basis: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, basis.shape[1]))
    out[: basis.shape[0]] = basis
    return out


def _start_vector(start: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """One start vector from a warm block: the sum of its columns (each a unit vector), so that
    every previous direction is present. No random part is mixed in: it would have to be
    converged away like a cold start; an exhausted subspace restarts with a fresh direction."""
    if start is None:
        return rng.standard_normal(n) / np.sqrt(n)
    return start.sum(axis=1)


def _python_steps(op: MatrixOperator, P: np.ndarray, Q: np.ndarray, alpha: np.ndarray, beta: np.ndarray, j: int,
                  stop: int, reorth_left: bool, tiny: float, rng: np.random.Generator) -> int:
    """Golub-Kahan-Lanczos steps ``j .. stop - 1`` through ``op``'s products (the reference
    for the compiled :func:`~bipartite_expanders.solvers.compiled.gkl_steps`)."""
    m, n = op.shape
    for j in range(j, stop):
        p = op.mv(Q[j])
        if j:
            p -= beta[j - 1] * P[j - 1]
        if reorth_left:
            p = _orth_against(p, P[:j])
        a = np.linalg.norm(p)
        if a <= tiny:
            a, p = 0.0, _fresh_direction(rng, P[:j], m)
        else:
            p /= a
        P[j] = p
        r = op.rmv(p) - a * Q[j]
        if not reorth_left:
            r = _orth_against(r, Q[: j + 1])
        b = np.linalg.norm(r)
        if b <= tiny:
            b, r = 0.0, _fresh_direction(rng, Q[: j + 1], n)
        else:
            r /= b
        Q[j + 1] = r
        alpha[j], beta[j] = a, b
    return stop


def lanczos_svd(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None = None, *,
                seed: int = 0, max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Golub-Kahan-Lanczos bidiagonalisation of ``B`` with full reorthogonalisation.

    Works on ``B`` itself (no squaring, so small singular values keep absolute accuracy
    ``eps * t1``) and keeps the whole basis (no restarts: it needs the fewest products of
    the Krylov methods here). Stops when the ``k`` top Ritz pairs have eigen-residual
    error bounds (:func:`error_bounds`: residual, or residual squared over the gap) ``<= tol *
    s_i + 1e-4 * tol * s_1``, the residuals read off the bidiagonal for free. An invariant
    subspace (a component explored, a low rank) restarts with a fresh orthogonal direction,
    so repeated values of other components are still found.

    Returns ``(s, U, V, converged)``: Rayleigh-Ritz triplets of ``B`` (``k + 1`` where
    possible) on the span of the converged Ritz vectors.
    """
    m, n = op.shape
    size = min(m, n)
    rng = np.random.default_rng(seed)
    cap = max(k + 2, int(LANCZOS_MEMORY_BYTES // (8 * (m + n))))
    steps = min(size, cap if max_steps is None else min(cap, max_steps))
    chunk = min(steps + 1, max(4 * k + 8, 48))
    Q = np.zeros((chunk, n))  # rows: right Lanczos vectors; grown geometrically as needed
    P = np.zeros((chunk, m))
    alpha = np.zeros(steps)
    beta = np.zeros(steps)
    q = _start_vector(start, n, rng)
    Q[0] = q / np.linalg.norm(q)
    scale = np.sqrt(op.frob2)  # >= t1: the size below which a vector is rounding noise
    tiny = 1e-13 * scale
    # One-sided reorthogonalisation (Simon & Zha 2000): only the shorter vectors are kept
    # orthogonal, which keeps the bidiagonal's singular values accurate at a fraction of the
    # memory traffic; the Ritz vectors are then rebuilt from that side alone.
    reorth_left = m <= n
    compiled = op.lanczos_operands()
    # The steps between two convergence checks run in one call: compiled (no Python per
    # step) when the operator's products are, else the Python loop below.
    if compiled is not None:
        cm = compiled_module()
        gkl = cm.gkl_steps_parallel if op.parts > 1 else cm.gkl_steps
        acc_m, acc_n = np.empty((op.parts, m)), np.empty((op.parts, n))

        def advance(j: int, stop: int) -> int:
            gkl(*compiled, P, Q, alpha, beta, j, stop, reorth_left, tiny, seed + j, acc_m, acc_n)
            op.count += 2 * (stop - j)
            return stop
    else:
        def advance(j: int, stop: int) -> int:
            return _python_steps(op, P, Q, alpha, beta, j, stop, reorth_left, tiny, rng)

    j = 0
    top: tuple[np.ndarray, ...] | None = None
    # The first check after FIRST_CHECK_STEPS steps (a Ritz value of a random layer's second
    # singular value needs 30-120; on a small cell a step costs less than a check: on 500 x 500
    # at 1 %, 8 us against 60-150 us for an SVD of the j x j bidiagonal, 15-50 us compiled), then
    # where the observed decay of the bound predicts convergence, growing by at most a third.
    next_check = min(steps, max(k + 1, FIRST_CHECK_STEPS))
    last: tuple[int, float] | None = None
    converged = False
    factors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    while j < steps:
        stop = min(next_check, steps)
        if stop + 1 > Q.shape[0]:
            rows = min(steps + 1, max(stop + 1, 2 * Q.shape[0]))
            Q, P = _grow(Q, rows), _grow(P, rows)
        j = advance(j, stop)
        if j >= next_check or j == steps:
            factors = top = None
            if compiled is not None:  # O(j) per value, compiled; None where it does not apply
                top = _compiled_bidiagonal_top(alpha[:j], beta[: j - 1], min(j, k + 2))
            if top is not None:
                s_top, z_last = top[0], top[1]
            else:
                if j <= _DENSE_BIDIAGONAL_MAX:
                    factors = _bidiagonal_svd(alpha[:j], beta[: j - 1])
                    s_top, z_last = factors[1][: k + 3], factors[0][j - 1, : k + 3] / _SQRT2
                else:
                    s_top, z_last = _bidiagonal_top(alpha[:j], beta[: j - 1], min(j, k + 3))
            res = np.abs(beta[j - 1] * z_last)
            kk = min(k, j)
            err = error_bounds(s_top, res)[:kk]
            target = tol * s_top[:kk] + 1e-4 * tol * s_top[0]
            if np.all(err <= target) and (j > k or j == size):
                converged = True
                break
            gap = float(np.max(np.log(np.maximum(err, 1e-300)) - np.log(target)))
            step = max(2, j // 3)
            if last is not None and last[1] > gap:
                rate = (last[1] - gap) / (j - last[0])
                step = int(min(step, max(1, 0.9 * gap / rate)))
            last = (j, gap)
            next_check = j + step
    kk = min(k + 1, j)  # one extra pair: its gap sharpens the error bound of the k-th
    X = Yt = None
    if top is not None:
        # the Golub-Kahan vectors (v_1, u_1, v_2, ...) / sqrt 2 of the last check (at this j), used where
        # they are orthonormal (the recurrence's vectors of two values closer than its accuracy
        # are not: LAPACK's then)
        X, Yt = _SQRT2 * top[2][:kk, 1::2].T, _SQRT2 * top[2][:kk, 0::2]
        side = X if reorth_left else Yt.T
        if not np.max(np.abs(side.T @ side - np.eye(kk))) <= 1e-8:
            X = Yt = None
    if X is None:
        if factors is None or factors[1].size != j:
            factors = _bidiagonal_svd(alpha[:j], beta[: j - 1])
        X, _, Yt = factors
    W = (P[:j].T @ X[:, :kk]) if reorth_left else (Q[:j].T @ Yt[:kk].T)
    W = np.linalg.qr(W)[0]
    s, U, V = ritz(op, W, reorth_left, kk)
    return s, U, V, converged


@register_solver("lanczos")
def solve_lanczos(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """Golub-Kahan-Lanczos on ``B`` with full reorthogonalisation (:func:`lanczos_svd`)."""
    s, U, V, _ = lanczos_svd(op, k, tol, start)
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
        return self.op.gram(np.ravel(x), self.left)

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
    if v0 is None or not np.linalg.norm(v0) > 0:
        # ARPACK's own start vector is random and unseeded: the same matrix gave different
        # last bits in every process. A seeded one makes the floats a function of B alone.
        v0 = np.random.default_rng(0).standard_normal(size)
    gram = _GramOperator(op, left)
    try:
        _, Q = spla.eigsh(gram, k=kk, which="LA", tol=tol / 4, v0=v0, ncv=ncv, maxiter=max(1000, 10 * size))
    except spla.ArpackNoConvergence as exc:  # keep what converged; the residual check judges it
        if exc.eigenvectors is None or exc.eigenvectors.shape[1] == 0:
            raise
        Q = exc.eigenvectors
    Q, _ = np.linalg.qr(Q)
    s, U, V = ritz(op, Q, left, k + 1)
    return finish(op, "arpack", k, tol, s, U, V)


class _CountedMatrix(spla.LinearOperator):
    """``B`` (or ``B^T`` with ``transpose``) for scipy's ``svds``: products through ``op``, which
    counts them."""

    def __init__(self, op: MatrixOperator, transpose: bool = False):
        self.op = op
        self._mv, self._rmv = (op.rmv, op.mv) if transpose else (op.mv, op.rmv)
        m, n = op.shape
        super().__init__(dtype=np.float64, shape=(n, m) if transpose else (m, n))

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self._mv(np.ravel(x))

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        return self._rmv(np.ravel(y))

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        return self._mv(X)

    def _rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return self._rmv(Y)


@register_solver("propack")
def solve_propack(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """PROPACK (Golub-Kahan-Lanczos on ``B`` with partial reorthogonalisation, Larsen 1998)
    through :func:`scipy.sparse.linalg.svds`, its Krylov space allowed to grow to the smaller
    side (no restarts), from a seeded start vector (or the warm block) on the short side.

    It computes ``k + 1`` triplets: PROPACK stops on its own error bound (the residual refined
    by the gap, ``tol`` times the largest value; ``svds`` passes it ``tol**2``, so it is given
    ``sqrt(tol)``), and the check can only prove that bound for the ``k``-th value with the gap
    to the value below it. With ``k`` triplets (at ``tol / 4``) the residual of ``t2`` missed the
    contract on 24 of the 38 cells of the small-cell grid, masks and weights (19 at ``tol / 40``);
    with ``k + 1`` it met it on all 38, in 57-165 products (the check's included) against
    93-207 for ``svds(tol=0)`` with ``k`` on the masks (benchmarks/small_cells.py).
    The answer's own vectors are checked (two block products, no extra Rayleigh-Ritz pass).
    PROPACK gives up on an invariant subspace (a matrix of rank below its Krylov dimension, a
    small component explored); Lanczos, which restarts there, answers instead, and the result
    says so in ``fallback_from``.
    """
    m, n = op.shape
    size = min(m, n)
    if size <= k + 1:
        return solve_lanczos(op, k, tol, start)
    kk = min(k + 1, size - 1)  # one value more: its gap makes the k-th value's r^2 / gap bound valid
    kmax = int(min(size, max(kk + 2, PROPACK_MEMORY_BYTES // (8 * (m + n)))))
    # PROPACK starts on the left side of the operator it gets: given B^T when B is tall, so that
    # the start vector lives on the short side (2000 x 1000 at 2 %: 28 ms against 45 ms as B)
    tall = m > n
    v0 = None if start is None else (start if tall else op.mv(start)).sum(axis=1)
    if v0 is None or not np.linalg.norm(v0) > 0:
        v0 = np.random.default_rng(0).standard_normal(size)  # the floats a function of B alone
    # PROPACK draws random vectors when it restarts: seeded, so the floats are a function of B alone
    seeded = {_SVDS_RNG: np.random.default_rng(0)}
    try:
        X, s, Yt = spla.svds(_CountedMatrix(op, transpose=tall), k=kk, tol=float(np.sqrt(tol)), v0=v0,
                             maxiter=kmax, solver="propack", **seeded)
    except (LinAlgError, ValueError):  # an invariant subspace, no convergence within kmax steps, or
        # a scipy built without PROPACK (scipy < 1.12 needs SCIPY_USE_PROPACK=1)
        res = solve_lanczos(op, k, tol, start)
        return replace(res, fallback_from="propack", n_matvec=op.count)
    U, V = (Yt.T, X) if tall else (X, Yt.T)
    order = np.argsort(-s)
    return finish(op, "propack", k, tol, s[order], U[:, order], V[:, order], next_known=kk > k)


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
    s, U, V = ritz(op, Q, left, k + 1)
    return finish(op, "lobpcg", k, tol, s, U, V)
