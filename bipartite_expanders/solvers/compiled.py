"""numba-compiled loops behind :mod:`bipartite_expanders.solvers.kernels` (importing this
module imports numba; :mod:`~bipartite_expanders.solvers.kernels` loads it on first use).

Every function takes a CSR structure ``(indptr, indices, data)`` of the matrix ``A`` it
multiplies by; ``data`` is ``None`` for a 0/1 pattern (numba prunes the branch at compile
time, so a pattern product reads no value array), or a float64 / float32 array (products
accumulate in float64 either way). ``indices`` may be uint16, int32 or int64: each
combination is compiled once on first use and cached on disk (``cache=True``: next to this
file when writable, else in numba's user-wide cache directory, see docs/spectrum.md).

* ``gather``: ``out = A x`` (row dot products, random reads of ``x``);
* ``scatter``: ``out = A^T y`` from the same rows (random writes into ``out``); the parallel
  version gives each thread its own accumulator and sums them;
* ``gram``: the fused ``out = A^T (A x)``: one pass over the rows, a dot product then a
  scatter of the same row while it is in cache;
* ``gkl_steps``: Golub-Kahan-Lanczos steps with one-sided reorthogonalisation, so that a
  Lanczos run returns to Python only at its convergence checks;
* ``edge_components``: connected components of a bipartite graph's non-isolated vertices
  (union-find over the stored non-zero entries, for the test that ``t1`` is simple);
* ``bidiagonal_top``: those checks' numbers (the top singular values of the Lanczos bidiagonal
  and the last entries of their vectors) in ``O(j)`` per value, where a dense SVD costs
  ``O(j^3)`` (at 30-60 steps: 60-450 us, against 20-80 us for four values).
"""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange

# A threading layer that is safe when several Python threads call parallel kernels at once
# (TBB or OpenMP); numba's fallback "workqueue" aborts the process then. Without either, the
# kernels run serially (see max_threads).
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "threadsafe"

__all__ = [
    "gather", "gather_parallel", "gather_block", "scatter", "scatter_parallel", "scatter_block",
    "gram", "gram_parallel", "gkl_steps", "gkl_steps_parallel", "bidiagonal_top", "edge_components",
    "set_threads", "get_threads", "max_threads",
]

_FLAGS = dict(cache=True, nogil=True, boundscheck=False)
# the per-row helpers are inlined at numba's IR level: left as calls, they made a product of a
# matrix with under one entry per row 2.5x slower than scipy's (measured 4608x512 at 0.1%)
_INLINE = dict(_FLAGS, inline="always")


def set_threads(n: int) -> None:
    """The number of threads the parallel kernels use in the calling thread."""
    numba.set_num_threads(n)


def get_threads() -> int:
    return int(numba.get_num_threads())


_PARALLEL_OK: bool | None = None


@njit(parallel=True, cache=True)
def _probe(x):
    for i in prange(x.shape[0]):
        x[i] = i
    return x


def max_threads() -> int:
    """Threads the parallel kernels may use: numba's maximum, or 1 when no thread-safe
    threading layer loads (the first call launches one tiny parallel loop to find out)."""
    global _PARALLEL_OK
    if _PARALLEL_OK is None:
        try:
            _probe(np.zeros(4))
            _PARALLEL_OK = True
        except Exception:  # no TBB/OpenMP layer: numba raises a ValueError naming the layers
            _PARALLEL_OK = False
    return int(numba.config.NUMBA_NUM_THREADS) if _PARALLEL_OK else 1


@njit(**_INLINE)
def _entries(indptr, i):
    """The positions of row ``i``'s stored entries, as an unsigned range: with signed bounds
    numba guards every ``indices[p]`` and ``data[p]`` against a negative ``p`` (Python's
    wraparound), a branch per entry that made the products 1.2-1.9x slower than with
    unsigned ones (measured on 4096x11008 and 25088x4096, 1 % and 10 %)."""
    return range(np.uint64(indptr[i]), np.uint64(indptr[i + 1]))


# ------------------------------------------------------------------ A x
@njit(**_INLINE)
def _row_dot(indptr, indices, data, x, i):
    # Four partial sums: one accumulator chains every add on the one before (its latency,
    # not memory, bounds a long row); four made rows of ~400-1100 entries 1.5-2.1x faster and
    # rows of ~40-110 no slower (measured at 10 % and 1 % density).
    a0 = a1 = a2 = a3 = 0.0
    start = np.uint64(indptr[i])
    end = np.uint64(indptr[i + 1])
    four = np.uint64(4)
    quads = (end - start) // four
    one, two, three = np.uint64(1), np.uint64(2), np.uint64(3)
    if data is None:
        for t in range(quads):
            p = start + four * t
            a0 += x[indices[p]]
            a1 += x[indices[p + one]]
            a2 += x[indices[p + two]]
            a3 += x[indices[p + three]]
        for p in range(start + four * quads, end):
            a0 += x[indices[p]]
    else:
        for t in range(quads):
            p = start + four * t
            a0 += np.float64(data[p]) * x[indices[p]]
            a1 += np.float64(data[p + one]) * x[indices[p + one]]
            a2 += np.float64(data[p + two]) * x[indices[p + two]]
            a3 += np.float64(data[p + three]) * x[indices[p + three]]
        for p in range(start + four * quads, end):
            a0 += np.float64(data[p]) * x[indices[p]]
    return (a0 + a1) + (a2 + a3)


@njit(**_FLAGS)
def gather(indptr, indices, data, x, out):
    """``out[i] = sum_p data[p] x[indices[p]]`` over row ``i`` (one thread)."""
    for i in range(out.shape[0]):
        out[i] = _row_dot(indptr, indices, data, x, i)
    return out


@njit(parallel=True, **_FLAGS)
def gather_parallel(indptr, indices, data, x, out):
    """:func:`gather` with the rows split among threads (no shared writes)."""
    for i in prange(out.shape[0]):
        out[i] = _row_dot(indptr, indices, data, x, i)
    return out


@njit(**_INLINE)
def _row_dot_block(indptr, indices, data, X, i, out):
    for p in _entries(indptr, i):
        j = indices[p]
        if data is None:
            for c in range(X.shape[1]):
                out[c] += X[j, c]
        else:
            w = np.float64(data[p])
            for c in range(X.shape[1]):
                out[c] += w * X[j, c]


@njit(**_FLAGS)
def gather_block(indptr, indices, data, X, out):
    """``out = A X`` for a C-ordered block ``X`` (n x p)."""
    out[:, :] = 0.0
    for i in range(out.shape[0]):
        _row_dot_block(indptr, indices, data, X, i, out[i])
    return out


# ------------------------------------------------------------------ A^T y
@njit(**_INLINE)
def _row_scatter(indptr, indices, data, t, i, out):
    if data is None:
        for p in _entries(indptr, i):
            out[indices[p]] += t
    else:
        for p in _entries(indptr, i):
            out[indices[p]] += np.float64(data[p]) * t


@njit(**_FLAGS)
def scatter(indptr, indices, data, y, out):
    """``out = A^T y`` from A's rows: ``out[indices[p]] += data[p] y[i]`` (one thread)."""
    out[:] = 0.0
    for i in range(y.shape[0]):
        _row_scatter(indptr, indices, data, y[i], i, out)
    return out


@njit(**_FLAGS)
def _row_bounds(indptr, parts):
    """Row ranges of about equal numbers of stored entries, one per thread."""
    rows = indptr.shape[0] - 1
    bounds = np.empty(parts + 1, dtype=np.int64)
    bounds[0] = 0
    total = indptr[rows]
    r = 0
    for t in range(1, parts):
        goal = total * t // parts
        while r < rows and indptr[r] < goal:
            r += 1
        bounds[t] = r
    bounds[parts] = rows
    return bounds


@njit(parallel=True, **_FLAGS)
def _reduce_rows(acc, out):
    parts = acc.shape[0]
    for j in prange(out.shape[0]):
        s = 0.0
        for t in range(parts):
            s += acc[t, j]
        out[j] = s


@njit(parallel=True, **_FLAGS)
def scatter_parallel(indptr, indices, data, y, out, acc):
    """:func:`scatter` with each thread scattering a range of rows into its own row of
    ``acc`` (threads x len(out)); the rows of ``acc`` are then summed into ``out``."""
    parts = acc.shape[0]
    bounds = _row_bounds(indptr, parts)
    for t in prange(parts):
        a = acc[t]
        a[:] = 0.0
        for i in range(np.uint64(bounds[t]), np.uint64(bounds[t + 1])):
            _row_scatter(indptr, indices, data, y[i], i, a)
    _reduce_rows(acc, out)
    return out


@njit(**_INLINE)
def _row_scatter_block(indptr, indices, data, y, i, out):
    for p in _entries(indptr, i):
        o = out[indices[p]]
        if data is None:
            for c in range(y.shape[0]):
                o[c] += y[c]
        else:
            w = np.float64(data[p])
            for c in range(y.shape[0]):
                o[c] += w * y[c]


@njit(**_FLAGS)
def scatter_block(indptr, indices, data, Y, out):
    """``out = A^T Y`` for a C-ordered block ``Y`` (m x p), from A's rows."""
    out[:, :] = 0.0
    for i in range(Y.shape[0]):
        _row_scatter_block(indptr, indices, data, Y[i], i, out)
    return out


# ------------------------------------------------------------------ A^T A x
@njit(**_FLAGS)
def gram(indptr, indices, data, x, out):
    """``out = A^T (A x)`` in one pass over A's rows (one thread)."""
    out[:] = 0.0
    for i in range(indptr.shape[0] - 1):
        t = _row_dot(indptr, indices, data, x, i)
        if t != 0.0:
            _row_scatter(indptr, indices, data, t, i, out)
    return out


@njit(parallel=True, **_FLAGS)
def gram_parallel(indptr, indices, data, x, out, acc):
    """:func:`gram` with per-thread accumulators (``acc``: threads x len(out))."""
    parts = acc.shape[0]
    bounds = _row_bounds(indptr, parts)
    for t in prange(parts):
        a = acc[t]
        a[:] = 0.0
        for i in range(np.uint64(bounds[t]), np.uint64(bounds[t + 1])):
            s = _row_dot(indptr, indices, data, x, i)
            if s != 0.0:
                _row_scatter(indptr, indices, data, s, i, a)
    _reduce_rows(acc, out)
    return out


# ------------------------------------------------------------------ Golub-Kahan-Lanczos
@njit(**_FLAGS)
def _product(indptr, indices, data, as_gather, scale, x, out, acc):
    """``out = scale * A x`` (a gather over A's rows) when ``as_gather``, else
    ``out = scale * A^T x`` (a scatter over them); one thread."""
    if as_gather:
        gather(indptr, indices, data, x, out)
    else:
        scatter(indptr, indices, data, x, out)
    if scale != 1.0:
        out *= scale


@njit(**_FLAGS)
def _product_parallel(indptr, indices, data, as_gather, scale, x, out, acc):
    """:func:`_product` with the parallel kernels (``acc``: per-thread accumulators)."""
    if as_gather:
        gather_parallel(indptr, indices, data, x, out)
    else:
        scatter_parallel(indptr, indices, data, x, out, acc)
    if scale != 1.0:
        out *= scale


@njit(**_FLAGS)
def _orth_against(x, basis, rows):
    """x minus its projection on ``basis[:rows]`` (classical Gram-Schmidt, a second pass only
    after cancellation: Kahan-Parlett "twice is enough")."""
    if rows == 0:
        return
    B = basis[:rows]
    before = np.sqrt(np.dot(x, x))
    c = B @ x
    x -= c @ B
    if np.sqrt(np.dot(x, x)) < 0.7 * before:
        c = B @ x
        x -= c @ B


@njit(**_FLAGS)
def _fresh(basis, rows, out):
    """A random unit vector orthogonal to ``basis[:rows]`` into ``out`` (zeros if none found)."""
    for _ in range(3):
        for i in range(out.shape[0]):
            out[i] = np.random.standard_normal()
        _orth_against(out, basis, rows)
        nx = np.sqrt(np.dot(out, out))
        if nx > 1e-8:
            out /= nx
            return
    out[:] = 0.0


@njit(**_INLINE)
def _gkl(product, indptr, indices, data, tall, scale, P, Q, alpha, beta, j, stop, reorth_left, tiny, seed, acc_m,
         acc_n):
    if seed >= 0:
        np.random.seed(seed)
    m = P.shape[1]
    n = Q.shape[1]
    p = np.empty(m)
    r = np.empty(n)
    for step in range(j, stop):
        product(indptr, indices, data, tall, scale, Q[step], p, acc_m)
        if step > 0:
            b_prev = beta[step - 1]
            for i in range(m):
                p[i] -= b_prev * P[step - 1, i]
        if reorth_left:
            _orth_against(p, P, step)
        a = np.sqrt(np.dot(p, p))
        if a <= tiny:
            a = 0.0
            _fresh(P, step, p)
        else:
            p /= a
        P[step] = p
        product(indptr, indices, data, not tall, scale, p, r, acc_n)
        for i in range(n):
            r[i] -= a * Q[step, i]
        if not reorth_left:
            _orth_against(r, Q, step + 1)
        b = np.sqrt(np.dot(r, r))
        if b <= tiny:
            b = 0.0
            _fresh(Q, step + 1, r)
        else:
            r /= b
        Q[step + 1] = r
        alpha[step] = a
        beta[step] = b
    return stop


@njit(**_FLAGS)
def gkl_steps(indptr, indices, data, tall, scale, P, Q, alpha, beta, j, stop, reorth_left, tiny, seed, acc_m, acc_n):
    """Golub-Kahan-Lanczos steps ``j .. stop - 1`` on rows of ``P`` (left, m) and ``Q``
    (right, n; ``Q[j]`` is the current unit vector); fills ``alpha[j:stop]``,
    ``beta[j:stop]``, ``P[j:stop]``, ``Q[j + 1:stop + 1]``. ``(indptr, indices, data)`` are
    the CSR rows of ``B`` (``tall``) or of ``B^T``, times ``scale``: ``B x`` is a gather over
    them and ``B^T y`` a scatter when ``tall``, the other way round otherwise. Same algorithm
    as the Python loop in :func:`bipartite_expanders.solvers.krylov.lanczos_svd`; one thread
    (``acc_*`` unused)."""
    return _gkl(_product, indptr, indices, data, tall, scale, P, Q, alpha, beta, j, stop, reorth_left, tiny, seed,
                acc_m, acc_n)


@njit(**_FLAGS)
def gkl_steps_parallel(indptr, indices, data, tall, scale, P, Q, alpha, beta, j, stop, reorth_left, tiny, seed, acc_m,
                       acc_n):
    """:func:`gkl_steps` with the parallel kernels (``acc_m``, ``acc_n``: per-thread
    accumulators, threads x m and threads x n); compiled separately, so a serial run never
    compiles the parallel kernels."""
    return _gkl(_product_parallel, indptr, indices, data, tall, scale, P, Q, alpha, beta, j, stop, reorth_left, tiny,
                seed, acc_m, acc_n)


@njit(**_FLAGS)
def _counts_below(e, x, pivmin, counts):
    """How many eigenvalues of the tridiagonal with zero diagonal and off-diagonal ``e`` lie
    below each ``x[c]`` (Sturm: the negative pivots of ``T - x I = L D L^T``), into ``counts``,
    all shifts in one pass over ``e``."""
    w = x.shape[0]
    d = np.empty(w)
    for c in range(w):
        d[c] = -x[c]
        if abs(d[c]) < pivmin:
            d[c] = -pivmin
        counts[c] = 1 if d[c] < 0 else 0
    for i in range(e.shape[0]):
        e2 = e[i] * e[i]
        for c in range(w):
            dc = -x[c] - e2 / d[c]
            if abs(dc) < pivmin:
                dc = -pivmin
            d[c] = dc
            if dc < 0:
                counts[c] += 1


@njit(**_FLAGS)
def bidiagonal_top(alpha, beta, count, values, last, vectors):
    """The ``count`` largest singular values of the upper bidiagonal (``alpha`` diagonal of
    length ``j``, ``beta`` superdiagonal of length ``j - 1``) into ``values`` (descending), and
    the last entries of the matching unit eigenvectors of its Golub-Kahan tridiagonal (zero
    diagonal, off-diagonal ``alpha_1, beta_1, alpha_2, ...``; the left vector's last entry over
    sqrt 2) into ``last``, up to sign, and those unit eigenvectors into the rows of ``vectors``
    (``count x 2j``, entries ordered ``v_1, u_1, v_2, u_2, ...``). Returns False, leaving the
    work to a dense SVD, where this method does not apply: an off-diagonal entry near zero (a
    restarted Lanczos run) or a vector whose recurrence does not close.

    Values by bisection on Sturm counts (high relative accuracy on this matrix, Demmel and Kahan
    1990); each vector by the three-term recurrence from the last entry upwards, which follows
    the growing solution for a converged Ritz vector (large near the top, small at the bottom);
    its first row, not used by the recurrence, is checked to hold."""
    j = alpha.shape[0]
    size = 2 * j
    e = np.empty(size - 1)
    for i in range(j):
        e[2 * i] = alpha[i]
        if i < j - 1:
            e[2 * i + 1] = beta[i]
    emax = 0.0
    for i in range(size - 1):
        emax = max(emax, abs(e[i]))
    if emax == 0.0:
        return False
    for i in range(size - 1):
        if abs(e[i]) <= 1e-10 * emax:
            return False
    eps = 2.2e-16
    pivmin = 1e-300 + emax * emax * 1e-290
    # bisection of all ``count`` values at once; the c-th largest is the (size - c)-th smallest
    lo = np.zeros(count)
    hi = np.full(count, 2.0 * emax * (1.0 + 4.0 * eps))
    mid = np.empty(count)
    counts = np.empty(count, dtype=np.int64)
    for _ in range(200):
        moving = False
        for c in range(count):
            mid[c] = 0.5 * (lo[c] + hi[c])
            if hi[c] - lo[c] > 2.0 * eps * hi[c] and lo[c] < mid[c] < hi[c]:
                moving = True
        if not moving:
            break
        _counts_below(e, mid, pivmin, counts)
        for c in range(count):
            if counts[c] >= size - c:
                hi[c] = mid[c]
            else:
                lo[c] = mid[c]
    x = np.empty(size)
    for c in range(count):
        lam = 0.5 * (lo[c] + hi[c])
        values[c] = lam
        # x[size - 1] = 1 and rows size-1 .. 1 of (T - lam I) x = 0, upwards
        x[size - 1] = 1.0
        x[size - 2] = lam / e[size - 2]
        scale = 1.0
        for r in range(size - 2, 0, -1):
            x[r - 1] = (lam * x[r] - e[r] * x[r + 1]) / e[r - 1]
            if abs(x[r - 1]) > 1e150:  # rescale: only ratios matter
                for t in range(r - 1, size):
                    x[t] *= 1e-150
                scale *= 1e-150
        norm = np.sqrt(np.dot(x, x))
        first = abs(-lam * x[0] + e[0] * x[1])
        if not (norm > 0.0 and np.isfinite(norm)) or first > 1e-6 * max(lam, 1e-300) * norm:
            return False
        last[c] = scale / norm
        for t in range(size):
            vectors[c, t] = x[t] / norm
    return True


@njit(**_FLAGS)
def _root(parent, v):
    while parent[v] != v:
        parent[v] = parent[parent[v]]  # path halving
        v = parent[v]
    return v


@njit(**_FLAGS)
def edge_components(indptr, indices, data, m, n):
    """The number of connected components of the bipartite graph whose edges are the stored
    non-zero entries of the CSR matrix ``(indptr, indices, data)`` (``m`` rows, ``n`` columns),
    counting only vertices with an edge (union-find, one pass over the entries)."""
    parent = np.arange(m + n)
    touched = np.zeros(m + n, dtype=np.bool_)
    components = 0
    for i in range(m):
        for k in range(indptr[i], indptr[i + 1]):
            if data[k] == 0:
                continue
            u, v = i, m + indices[k]
            for w in (u, v):
                if not touched[w]:
                    touched[w] = True
                    components += 1
            ru, rv = _root(parent, u), _root(parent, v)
            if ru != rv:
                parent[ru] = rv
                components -= 1
    return components
