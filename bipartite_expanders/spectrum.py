"""Top singular values of sparse bi-adjacency matrices, behind one ``solver=`` keyword.

Two layers, in the style of :mod:`scipy.sparse.linalg`:

* :func:`top_singular_values` returns the ``k`` largest singular values (with
  multiplicity) of any real matrix, by a named solver or ``"auto"``;
* :func:`spectral_pair` returns the pair ``(t1, t2)`` the Ramanujan bounds need, with
  the semantics of docs/bounds.md: ``t2`` is the largest singular value *strictly below* ``t1``
  (relative tolerance ``1e-9``), computed component by component so that a repeated
  ``t1`` (equal disconnected components) never gives ``t2 == t1``, and a value below
  ``1e-10 * t1`` is reported as exactly 0.

Solvers are plain functions registered in :data:`SOLVERS`; each returns a
:class:`SpectrumResult` carrying the values, the number of matrix-vector products, a
residual bound and (when asked) the singular vectors, which can warm-start a later call
through ``v0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as graph_components

from ._checks import check_k, check_tol
from .components import connected_components
from .graph import BipartiteGraph, as_graph, checked_csr
from .scaling import group_norms, needs_scaling, power_of_two_scale
from .solvers import (SOLVERS, MatrixOperator, SpectrumResult, accuracy_threshold, finish, lanczos_svd, register_solver,
                      ritz)
from .solvers.direct import DENSE_HARD_MAX_ENTRIES
from .solvers.external import primme_available
from .solvers.kernels import KERNELS, compiled_loaded, compiled_module, numba_available
from .solvers.threads import resolve_threads, solve_threads

__all__ = [
    "SOLVERS",
    "SpectrumResult",
    "SpectralPair",
    "SpectrumAccuracyError",
    "register_solver",
    "choose_solver",
    "top_singular_values",
    "spectral_pair",
    "ZERO_RTOL",
    "DISTINCT_RTOL",
    "DEFAULT_TOL",
    "SMALL_CELL_MAX_NNZ",
    "is_small_cell",
]

#: a singular value below ``ZERO_RTOL * t1`` is a numerical zero (docs/spectrum.md)
ZERO_RTOL = 1e-10
#: ``t2`` must lie below ``(1 - DISTINCT_RTOL) * t1`` to count as distinct from ``t1``
DISTINCT_RTOL = 1e-9
#: iterative backends stop at eigen-residual ``tol * s_i + 1e-4 tol * s_1``; results are
#: then checked against the contract ``1e-8 s_i + 1e-12 s_1`` (see docs/spectrum.md)
DEFAULT_TOL = 1e-9

# Dense LAPACK is exact and, below this many matrix entries, faster than any iterative
# method here (measured: docs/benchmarks/eigensolvers.md).
_DENSE_MAX_ENTRIES = 2_500
# Golub-Kahan-Lanczos beats ARPACK from this many vertices even when products are cheap: its
# per-step Python cost is O(1) calls while ARPACK's restarts redo O(m + n) work (measured on
# a quiet machine: 4096x11008 at 0.1%: 43 ms against 60; 25088x4096 at 0.1%: 33 ms against 75).
_LANCZOS_FROM_VERTICES = 10_000
#: a sparse matrix with at most this many stored entries (and fewer than 10,000 vertices, a smaller
#: side above 200) is a small cell: compiled Golub-Kahan-Lanczos (numba kernels, compiled
#: convergence checks) solved every such cell of the measured grid (300x100 to 3072x768, 1-10 %)
#: faster than scipy's ``svds`` with fewer products; PROPACK through ``svds`` where numba is missing
#: (docs/benchmarks/small_cells.md)
SMALL_CELL_MAX_NNZ = 60_000
# Below 0.5 % the two tied within the noise (0.74-1.36x on 784x300 to 4608x512 at 0.1-0.4 %): the
# earlier rule is kept there.
_SMALL_CELL_MIN_DENSITY = 0.005
# A CSR matrix at least this dense is multiplied as a dense array: a dense BLAS gemv moves
# 8 bytes per entry at full bandwidth, CSR 12 bytes per stored entry with indirection
# (measured ~0.75 ns per dense entry against ~2.7 ns per CSR entry, one thread).
DENSE_OPERATOR_FROM = 0.3
_DENSE_OPERATOR_MAX_BYTES = 2_000_000_000


class SpectrumAccuracyError(ArithmeticError):
    """No backend, fallbacks included, could prove the accuracy contract for this input."""


def _as_matrix(x: Any, densify: bool = True) -> sp.csr_array | np.ndarray:
    """A CSR float64 array, or a dense C-ordered float64 array when the input is dense
    enough that BLAS products beat CSR ones (a sparse input only with ``densify``)."""
    if isinstance(x, BipartiteGraph):
        B = x.matrix
    elif sp.issparse(x):
        B = checked_csr(x, "x", allow_empty=True)  # structure checked before any kernel reads it
        if B.nnz and not np.all(np.isfinite(B.data)):
            raise ValueError("x has non-finite entries (NaN or inf)")
    else:
        arr = np.asarray(x)
        if arr.ndim != 2:
            raise ValueError(f"x must be 2-D; got shape {arr.shape}")
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"x must be a real matrix; got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError("x has non-finite entries (NaN or inf)")
        m, n = arr.shape
        if m * n and np.count_nonzero(arr) >= DENSE_OPERATOR_FROM * m * n:
            return arr
        return sp.csr_array(arr)
    return _densified(B) if densify else B


def _densified(B: sp.csr_array | np.ndarray) -> sp.csr_array | np.ndarray:
    """A CSR matrix dense enough for BLAS products as a dense array; anything else as it is."""
    if isinstance(B, np.ndarray):
        return B
    m, n = B.shape
    if m * n and B.nnz >= DENSE_OPERATOR_FROM * m * n and 8 * m * n <= _DENSE_OPERATOR_MAX_BYTES and min(m, n) > 1:
        return B.toarray()
    return B


def _weight_scale(B: sp.csr_array | np.ndarray) -> float:
    """The power of two to divide ``B`` by before solving: 1 when its largest magnitude is safe."""
    data = B if isinstance(B, np.ndarray) else B.data
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    return power_of_two_scale(peak) if needs_scaling(peak) else 1.0


def _divided(B: sp.csr_array | np.ndarray, scale: float) -> sp.csr_array | np.ndarray:
    """``B / scale`` (exact: a power of two), sharing a CSR matrix's index arrays."""
    if isinstance(B, np.ndarray):
        return B / scale
    out = sp.csr_array((B.data / scale, B.indices, B.indptr), shape=B.shape, copy=False)
    if B.has_canonical_format:
        out.has_canonical_format = True
    return out


def _nnz(B: sp.csr_array | np.ndarray) -> int:
    return int(np.count_nonzero(B)) if isinstance(B, np.ndarray) else int(B.nnz)


def _warm_block(v0: Any, B: sp.csr_array | np.ndarray, ids: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    """A warm start as an orthonormal block of right vectors of ``B`` (n x p), or None.

    A :class:`SpectrumResult` gives its right vectors; when both it and this call know the
    original vertex ids (``spectral_pair`` sets them), vectors are mapped vertex by vertex,
    so a warm start survives a changed scope or component. Otherwise a result whose vectors
    do not fit is dropped. An array is a vector or block of either side (left ones are
    mapped through ``B^T``).
    """
    m, n = B.shape
    if v0 is None:
        return None
    if isinstance(v0, SpectrumResult):
        V, U = v0.right_vectors, v0.left_vectors
        if V is None:
            return None
        if ids is not None and v0.right_ids is not None:
            block = _map_by_ids(V, v0.right_ids, ids[1])
        elif V.shape[0] == n:
            block = V
        elif U is not None and U.shape[0] == m:
            block = B.T @ U
        else:
            return None
    else:
        arr = np.asarray(v0, dtype=np.float64)
        if arr.ndim not in (1, 2) or not np.all(np.isfinite(arr)):
            raise ValueError(f"v0 must be a finite vector or block of length {m} (left) or {n} (right)")
        block = arr.reshape(arr.shape[0], -1)
        if block.shape[0] == n:
            pass
        elif block.shape[0] == m:
            block = B.T @ block
        else:
            raise ValueError(f"v0 must have length {m} (left) or {n} (right); got {block.shape[0]}")
    norms = np.linalg.norm(block, axis=0)
    block = block[:, norms > 1e-12 * max(float(norms.max(initial=0.0)), 1e-300)]
    if block.shape[1] == 0:
        return None
    Q, R = np.linalg.qr(block)
    keep = np.abs(np.diag(R)) > 1e-8 * np.abs(R).max()
    return Q[:, keep] if keep.any() else None


def _map_by_ids(V: np.ndarray, old_ids: np.ndarray, new_ids: np.ndarray) -> np.ndarray:
    """Rows of V (indexed by ``old_ids``) placed at the positions of ``new_ids``; zeros for new vertices."""
    out = np.zeros((new_ids.size, V.shape[1]))
    order = np.argsort(old_ids, kind="stable")
    sorted_ids = old_ids[order]
    pos = np.searchsorted(sorted_ids, new_ids)
    pos = np.minimum(pos, max(sorted_ids.size - 1, 0))
    hit = sorted_ids.size > 0
    if hit:
        found = sorted_ids[pos] == new_ids
        out[found] = V[order[pos[found]]]
    return out


def is_small_cell(shape: tuple[int, int], nnz: int) -> bool:
    """Whether ``"auto"`` treats a sparse matrix of this shape and number of stored entries as a
    small cell: at most :data:`SMALL_CELL_MAX_NNZ` entries, fewer than 10,000 vertices, a smaller
    side above 200 and density from 0.005 to 0.25 (see :func:`choose_solver`).

    >>> is_small_cell((784, 300), 23_520), is_small_cell((784, 150), 5_000)
    (True, False)
    """
    m, n = shape
    if min(m, n) <= 200 or nnz > SMALL_CELL_MAX_NNZ or m + n >= _LANCZOS_FROM_VERTICES:
        return False
    density = nnz / (m * n)
    return _SMALL_CELL_MIN_DENSITY <= density < 0.25


def choose_solver(shape: tuple[int, int], nnz: int, k: int = 2) -> str:
    """The backend ``"auto"`` runs for a matrix of this shape and number of stored entries.

    Measured on this project's 2-core reference machine, one BLAS thread (the benchmark in
    ``docs/benchmarks/eigensolvers.md``):

    * dense LAPACK up to 2,500 entries (nothing beats one ``gesdd`` call there);
    * the Gram method when the smaller side is at most 200, or at most 2048 with density
      >= 0.25, or at most 350 with density >= 0.05: forming the Gram matrix is one BLAS
      ``syrk`` and its ``eigh`` is cheap, while Krylov methods need 100-250 products to
      resolve ``t2`` at the edge of a random layer's dense bulk;
    * Golub-Kahan-Lanczos when products are expensive (``nnz / (m + n) >= 16``) or the
      graph has 10,000 vertices or more: it needs about half the products of ARPACK;
    * on small cells (:func:`is_small_cell`: at most :data:`SMALL_CELL_MAX_NNZ` stored
      entries, fewer than 10,000 vertices, a smaller side above 200 and density from 0.005 to
      0.25), Golub-Kahan-Lanczos on the compiled kernels, which ``"auto"`` selects there
      (numba's one-off import and cache load, ~0.4 s, is paid by the first such call of a
      process); PROPACK through :func:`scipy.sparse.linalg.svds` where numba is not installed
      (measured on 300x100 to 3072x768 at 1-10 %, ``benchmarks/small_cells.py``);
    * ARPACK otherwise: with cheap products its compiled loop beat Lanczos' Python one
      (measured with scipy's kernels; with the compiled kernels both loops are compiled and
      the rule was kept, see docs/spectrum.md).

    Whatever it picks, the answer is checked and refined (see :func:`top_singular_values`).
    """
    m, n = shape
    small = min(m, n)
    if m * n <= _DENSE_MAX_ENTRIES or small <= k + 2:
        return "dense" if m * n <= DENSE_HARD_MAX_ENTRIES else "gram"
    density = nnz / (m * n)
    if small <= 200 or (small <= 2048 and density >= 0.25):
        return "gram"
    if is_small_cell(shape, nnz):
        return "lanczos" if numba_available() else "propack"
    if small <= 350 and density >= 0.05:
        return "gram"
    return "lanczos" if nnz >= 16 * (m + n) or m + n >= _LANCZOS_FROM_VERTICES else "arpack"


def _constant_complete(B: sp.csr_array | np.ndarray, k: int) -> SpectrumResult | None:
    """The exact answer for a constant matrix without zeros (an unpruned layer's mask):
    ``c 1 1^T`` has the single singular value ``c sqrt(mn)`` with constant vectors. None for
    any other matrix (one pass over the entries decides)."""
    if not isinstance(B, np.ndarray) and not B.has_canonical_format:
        B = sp.csr_array(B, copy=True)  # duplicate entries add up: count distinct positions
        B.sum_duplicates()
        B.eliminate_zeros()
    m, n = B.shape
    if isinstance(B, np.ndarray):
        data = B
    elif B.nnz == m * n:
        data = B.data
    else:
        return None
    lo, hi = float(data.min()), float(data.max())
    if lo != hi or lo == 0.0:
        return None
    values = np.zeros(k)
    values[0] = abs(lo) * np.sqrt(m * n)
    sign = 1.0 if lo > 0 else -1.0
    return SpectrumResult(values, "exact", 0, 0.0, np.full((m, 1), sign / np.sqrt(m)), np.full((n, 1), 1 / np.sqrt(n)),
                          np.zeros(k))


def _refine(op: MatrixOperator, k: int, tol: float, first: SpectrumResult, start: np.ndarray | None) -> SpectrumResult:
    """Fallback chain for an answer that failed its check: Lanczos on B warm-started from the
    failed answer's vectors (it converges in few steps from them, and does not square), then
    ARPACK, then dense LAPACK where it fits. Raises :class:`SpectrumAccuracyError` otherwise."""
    tried = [first.solver]
    warm = first.right_vectors if first.right_vectors is not None and first.right_vectors.size else start
    if warm is not None:
        warm = np.linalg.qr(warm)[0]
    chain = [c for c in ("lanczos", "arpack") if c != first.solver]
    for name in chain:
        res = SOLVERS[name](op, k, tol / 10, warm)
        if res.verified:
            return replace(res, fallback_from="+".join(tried), n_matvec=op.count)
        tried.append(name)
    m, n = op.shape
    if m * n <= DENSE_HARD_MAX_ENTRIES:
        res = SOLVERS["dense"](op, k, tol, None)
        return replace(res, fallback_from="+".join(tried), n_matvec=op.count)
    raise SpectrumAccuracyError(
        f"no backend could verify the top {k} singular values of a {m} x {n} matrix to tol={tol} (tried {tried})"
    )


#: solvers that grow one Krylov vector at a time: they meet a repeated value once per start
#: vector, so their answers get the deflation check of :func:`_multiplicity_checked`
SINGLE_VECTOR_SOLVERS = ("lanczos", "arpack", "propack", "primme")


class _Deflated:
    """``(I - U U^T) B (I - V V^T)``: ``B`` with the found singular pairs taken out (for
    :func:`lanczos_svd`, through its Python steps)."""

    def __init__(self, op: MatrixOperator, U: np.ndarray, V: np.ndarray):
        self.op, self.U, self.V = op, U, V
        self.shape, self.frob2, self.count, self.parts = op.shape, op.frob2, 0, 1

    def lanczos_operands(self) -> None:
        return None

    def mv(self, x: np.ndarray) -> np.ndarray:
        y = self.op.mv(x - self.V @ (self.V.T @ x))
        return y - self.U @ (self.U.T @ y)

    def rmv(self, y: np.ndarray) -> np.ndarray:
        x = self.op.rmv(y - self.U @ (self.U.T @ y))
        return x - self.V @ (self.V.T @ x)


def _top_is_simple(B: sp.csr_array | np.ndarray) -> bool:
    """Whether ``t1`` of ``B`` is simple for certain: ``B`` non-negative and the graph of its
    non-isolated vertices connected (Perron-Frobenius; an isolated vertex adds only a zero
    singular value). One O(E) pass on the edges ``row -> m + col`` read as undirected (no
    block matrix: 0.2-0.7 ms on 300x100 to 3072x768 layers against 0.5-1.5 ms with one);
    decides whether ``k = 2`` needs the deflation check."""
    data = B if isinstance(B, np.ndarray) else B.data
    if data.size and float(data.min()) < 0:
        return False
    if compiled_loaded() and not isinstance(B, np.ndarray):
        # numba is loaded already (a compiled solve): one union-find pass, ~20x cheaper; the
        # answer is the same boolean either way, so no float depends on which pass ran
        m, n = B.shape
        return compiled_module().edge_components(B.indptr, B.indices, B.data, m, n) == 1
    A = sp.csr_array(B) if isinstance(B, np.ndarray) else B
    if not np.all(A.data):  # a stored zero is no edge
        A = sp.csr_array(A, copy=True)
        A.eliminate_zeros()
    m, n = A.shape
    nnz = int(A.indptr[-1])
    indptr = np.concatenate([A.indptr, np.full(n, nnz, dtype=A.indptr.dtype)])
    cols = A.indices[:nnz]
    # float64 weights: csgraph converts anything else to them first (half the time on 3072 x 768)
    edges = sp.csr_array((np.ones(nnz), cols + m, indptr), shape=(m + n, m + n))
    count = graph_components(edges, directed=False, return_labels=False)
    isolated = int(np.count_nonzero(np.diff(A.indptr) == 0)) + n - int(np.count_nonzero(np.bincount(cols, minlength=n)))
    return count - isolated == 1


def _multiplicity_checked(op: MatrixOperator, k: int, tol: float, res: SpectrumResult) -> SpectrumResult:
    """A single-vector Krylov answer, checked for a missed copy of a repeated value.

    Such a solver finds each singular value once per start vector: for ``block_diag(R, R)`` it
    returns ``[t1(R), t2(R)]`` with residuals that pass, while the truth is ``[t1(R), t1(R)]``.
    A fresh (seeded, random) start in the complement of the found vectors has a component
    along every missed copy, so Lanczos on the deflated matrix converges to the largest value
    the answer left out; above the k-th value found, it was missed: the answer is rebuilt
    by Rayleigh-Ritz on the found and the new vectors, and checked again (up to ``k`` times).
    A check that does not converge leaves the answer unverified, with a note saying so.
    """
    m, n = op.shape
    for attempt in range(k):
        U = res.left_vectors[:, :k]
        V = res.right_vectors[:, :k]
        if U is None or V is None or min(m, n) <= U.shape[1]:
            return res  # the found vectors span a whole side: nothing can be missed
        deflated = _Deflated(op, U, V)
        d, _, Vd, converged = lanczos_svd(deflated, 1, tol, seed=attempt + 1)
        op.count += deflated.count
        kth = float(res.values[k - 1])
        margin = float(accuracy_threshold(res.values, tol)[k - 1]) + float(res.residuals[k - 1])
        if float(d[0]) <= kth + 2 * margin:
            if converged:
                return replace(res, n_matvec=op.count)
            return replace(res, n_matvec=op.count, verified=False,
                           note="the deflation check for a repeated value did not converge")
        res = replace(_block_krylov(op, k, tol, np.column_stack([V, Vd[:, :1]]), res.solver),
                      fallback_from=res.fallback_from)
        if not res.verified:
            return replace(res, note="a missed copy of a repeated value was found, but its residual "
                                     "did not reach the accuracy contract")
    return replace(res, verified=False, note=f"the deflation check kept finding missed values ({k} passes)")


def _block_krylov(op: MatrixOperator, k: int, tol: float, V: np.ndarray, name: str,
                  max_blocks: int = 40) -> SpectrumResult:
    """Rayleigh-Ritz on the block Krylov space ``span(V, (B^T B) V, (B^T B)^2 V, ...)``, grown
    one block at a time until :func:`finish` verifies the top ``k`` (a block method sees a
    repeated value as often as it repeats, up to the block's width). Starts from vectors that
    are already close (the found ones and a missed copy), so a few blocks suffice."""
    n = op.shape[1]
    block = np.linalg.qr(V)[0]
    basis = block
    res = None
    for _ in range(max_blocks):
        s, U, Vr = ritz(op, basis, False, k + 1)
        res = finish(op, name, k, tol, s, U, Vr)
        if res.verified or basis.shape[1] + block.shape[1] > n:
            return res
        Z = op.rmv(op.mv(block))
        for _ in range(2):  # twice is enough
            Z -= basis @ (basis.T @ Z)
        block = np.linalg.qr(Z)[0]
        basis = np.column_stack([basis, block])
    return res


def top_singular_values(
    x: Any,
    k: int = 2,
    *,
    solver: str = "auto",
    tol: float = DEFAULT_TOL,
    v0: Any = None,
    full_output: bool = False,
    vertex_ids: tuple[np.ndarray, np.ndarray] | None = None,
    threads: int | None = None,
    kernel: str = "auto",
) -> np.ndarray | SpectrumResult:
    """The ``k`` largest singular values of a graph or matrix, descending.

    Every answer is checked before it is returned: each value's eigen-residual must prove it
    lies within ``max(tol, 1e-8) s + max(1e-4 tol, 1e-12) s1`` of a true singular value, and
    the Frobenius norm must leave no room for a missed larger one. An answer that fails is
    refined (Lanczos warm-started from it, then ARPACK, then dense LAPACK), never returned.
    A matrix whose largest entry lies outside ``[2**-64, 2**64]`` is solved divided by a power of
    two and the values multiplied back, exactly, so any scale from 1e-300 to 1e300 gives the same
    relative accuracy (docs/bounds.md, "Scale").

    Parameters
    ----------
    x
        A :class:`BipartiteGraph`, a scipy sparse matrix, or a dense 2-D array (any real signs).
    k
        How many values; a matrix with fewer than ``k`` singular values is padded with zeros.
        Krylov backends see a repeated value once per invariant subspace they meet; use
        :func:`spectral_pair` (which splits components) for ``t1`` and ``t2``.
    solver
        ``"auto"`` or a name in :data:`SOLVERS`: ``"dense"``, ``"gram"``, ``"lanczos"``,
        ``"arpack"``, ``"propack"``, ``"lobpcg"``, ``"primme"`` (optional package).
    tol
        Relative accuracy iterative backends aim at (residual ``<= tol * s_i``).
    v0
        Warm start: a previous :class:`SpectrumResult` (its singular vectors, mapped by vertex
        when ``vertex_ids`` and the result's ids are known), or a vector / block of either side.
    full_output
        Return the whole :class:`SpectrumResult` (vectors, mat-vec count, residuals).
    vertex_ids
        Original indices ``(rows, cols)`` of this matrix's vertices; stored on the result and
        used to map a warm start from a different scope.
    threads
        Threads of the solve, BLAS and compiled kernels alike; None: the environment variable
        ``BIPARTITE_EXPANDERS_THREADS``, else the policy (one BLAS thread, kernel threads by
        size; :mod:`bipartite_expanders.solvers.threads`).
    kernel
        Who multiplies a sparse matrix: ``"auto"`` (compiled numba kernels for large matrices
        and for the compiled Lanczos of small cells, see :func:`choose_solver`), ``"numba"``,
        or ``"scipy"`` (the reference); see :class:`~bipartite_expanders.solvers.MatrixOperator`.

    Examples
    --------
    >>> import numpy as np
    >>> top_singular_values(np.diag([3.0, 1.0, 2.0]), k=2)
    array([3., 2.])
    """
    k = check_k(k)
    tol = check_tol(tol)
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a string; got {type(solver).__name__}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    B = _as_matrix(x, densify=False)  # the closed-form check first: no dense copy for it
    m, n = B.shape
    nnz = _nnz(B)
    if solver == "auto":
        name = choose_solver((m, n), nnz, k)
    elif solver in SOLVERS:
        name = solver
        if name == "primme" and not primme_available():
            raise ValueError("solver='primme' needs the optional package primme (pip install 'bipartite-expanders[primme]')")
    else:
        raise ValueError(f"solver must be 'auto' or one of {sorted(SOLVERS)}; got {solver!r}")
    # threads=N gives the Gram method's dense eigenproblem N BLAS threads; a Krylov solve one
    kernel_threads, blas_threads = resolve_threads(threads, nnz, dense=name == "gram")
    if vertex_ids is not None:
        vertex_ids = (np.asarray(vertex_ids[0]), np.asarray(vertex_ids[1]))
        if vertex_ids[0].shape != (m,) or vertex_ids[1].shape != (n,):
            raise ValueError(f"vertex_ids must be two index arrays of lengths {m} and {n}")
    if m == 0 or n == 0 or nnz == 0:
        z = SpectrumResult(np.zeros(k), name, residuals=np.zeros(k))
        return z if full_output else z.values
    # Scale-exact (docs/bounds.md): solve on B / s, s a power of two near max |B|, then multiply
    # the values back by s; exact, and no square, Gram entry or residual under- or overflows.
    scale = _weight_scale(B)
    if scale != 1.0:
        B = _divided(B, scale)
    start = _warm_block(v0, B, vertex_ids)
    res = _constant_complete(B, int(k)) if solver == "auto" and nnz >= m * n else None
    if res is None:
        if solver == "auto" and name in ("arpack", "propack") and start is not None:
            # ARPACK's restarts and PROPACK's single start throw a warm start away; Lanczos keeps it
            name = "lanczos"
        small_sparse = not isinstance(B, np.ndarray) and is_small_cell((m, n), nnz)
        if kernel == "auto" and name == "lanczos" and small_sparse and numba_available():
            # Lanczos on a small cell (the rule's pick, or asked for) runs compiled: its Python
            # steps cost 30-60 us each (scipy's product overhead), the whole compiled solve less
            kernel = "numba"
        op = MatrixOperator(_densified(B), kernel=kernel, threads=kernel_threads)
        with solve_threads(op.threads, blas_threads, parallel=op.parts > 1):
            res = SOLVERS[name](op, int(k), float(tol), start)
        if not res.verified:
            with solve_threads(op.threads, 1, parallel=op.parts > 1):  # the refinement is Krylov
                res = _refine(op, int(k), float(tol), res, start)
        if res.solver in SINGLE_VECTOR_SOLVERS and k >= 2 and not (k == 2 and _top_is_simple(op.B)):
            with solve_threads(op.threads, 1, parallel=op.parts > 1):
                res = _multiplicity_checked(op, int(k), float(tol), res)
    if scale != 1.0:
        res = replace(res, values=res.values * scale, residual=res.residual * scale,
                      residuals=None if res.residuals is None else res.residuals * scale)
    if vertex_ids is not None:
        res = replace(res, left_ids=vertex_ids[0], right_ids=vertex_ids[1])
    return res if full_output else res.values


# ------------------------------------------------------------------ (t1, t2)
@dataclass(frozen=True)
class SpectralPair:
    """``t1`` and ``t2`` of a non-negative matrix, as docs/bounds.md defines them.

    ``multiplicity`` is how many components attain ``t1`` (1 for a connected graph).
    ``solver`` is the solver that ran on the largest component.
    """

    t1: float
    t2: float
    solver: str
    multiplicity: int = 1
    n_matvec: int = 0
    residual: float = 0.0
    result: SpectrumResult | None = field(default=None, repr=False, compare=False)


def _clean_pair(t1: float, below: np.ndarray) -> float:
    """Largest value strictly below t1 (relative tolerance), zeroing numerical zeros."""
    cand = below[below < t1 * (1.0 - DISTINCT_RTOL)]
    t2 = float(cand.max()) if cand.size else 0.0
    return 0.0 if t2 < ZERO_RTOL * t1 else t2


def _component_pair(B: sp.csr_array, solver: str, tol: float, v0: Any,
                    ids: tuple[np.ndarray, np.ndarray] | None, threads: int | None = None,
                    kernel: str = "auto") -> tuple[float, np.ndarray, SpectrumResult]:
    """t1 and the values below it for one connected component (t1 is simple there by
    Perron-Frobenius; the loop only guards numerically equal values)."""
    k = 2
    small = min(B.shape)
    while True:
        res = top_singular_values(B, k, solver=solver, tol=tol, v0=v0, full_output=True, vertex_ids=ids,
                                  threads=threads, kernel=kernel)
        vals = res.values
        t1 = float(vals[0])
        if k >= small or vals[-1] < t1 * (1.0 - DISTINCT_RTOL):
            return t1, vals[1:], res
        k = min(2 * k, small)


def spectral_pair(x: Any, *, solver: str = "auto", tol: float = DEFAULT_TOL, v0: Any = None,
                  vertex_ids: tuple[np.ndarray, np.ndarray] | None = None, threads: int | None = None,
                  kernel: str = "auto") -> SpectralPair:
    """``(t1, t2)`` of a bipartite graph or non-negative matrix, as docs/bounds.md defines them.

    ``t1`` is the largest singular value; ``t2`` the largest one strictly below it, so that
    a disconnected graph with two equal components still has ``t2 < t1``.

    ``v0`` warm-starts every component from a previous result (``SpectralPair.result`` or
    ``RamanujanReport.state``); its vectors are mapped by vertex, so a changed scope or a
    pruned graph still benefits. ``vertex_ids`` are the original indices ``(rows, cols)`` of
    ``x``'s vertices (default ``arange``), recorded on the result for that mapping.
    ``threads`` and ``kernel`` are passed to :func:`top_singular_values` for every component.

    >>> import numpy as np
    >>> from bipartite_expanders import BipartiteGraph
    >>> two_edges = BipartiteGraph.from_dense(np.eye(2))   # t1 = 1 twice, nothing below
    >>> p = spectral_pair(two_edges); (p.t1, p.t2, p.multiplicity)
    (1.0, 0.0, 2)
    """

    g = x if isinstance(x, BipartiteGraph) else as_graph(x, "x")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    resolve_threads(threads, 0)  # a bad value is refused even when no component needs a solver
    if g.n_edges == 0:
        return SpectralPair(0.0, 0.0, solver if solver != "auto" else "none", 0)
    comp = connected_components(g)
    B = g.matrix
    if vertex_ids is None:
        row_ids, col_ids = np.arange(B.shape[0]), np.arange(B.shape[1])
    else:
        row_ids, col_ids = np.asarray(vertex_ids[0]), np.asarray(vertex_ids[1])
        if row_ids.shape != (B.shape[0],) or col_ids.shape != (B.shape[1],):
            raise ValueError(f"vertex_ids must be two index arrays of lengths {B.shape[0]} and {B.shape[1]}")
    nontrivial = np.flatnonzero(comp.edges)
    order = nontrivial[np.argsort(-comp.edges[nontrivial], kind="stable")]
    t1s: list[float] = []
    below: list[np.ndarray] = []
    main: SpectrumResult | None = None
    # Components with one vertex on a side are stars: one singular value, the weight norm.
    lsize = np.bincount(comp.left_labels, minlength=comp.n_components)
    rsize = np.bincount(comp.right_labels, minlength=comp.n_components)
    star = (lsize == 1) | (rsize == 1)
    if star[order].any():
        row_of_edge = np.repeat(np.arange(B.shape[0]), np.diff(B.indptr))
        norms = group_norms(B.data, comp.left_labels[row_of_edge], comp.n_components)  # no square under/overflows
        t1s.extend(norms[order[star[order]]].tolist())
    # Vertices grouped by component once, so many small components cost O(m + n) in all.
    lgroup = np.argsort(comp.left_labels, kind="stable")
    rgroup = np.argsort(comp.right_labels, kind="stable")
    lstart = np.concatenate([[0], np.cumsum(lsize)])
    rstart = np.concatenate([[0], np.cumsum(rsize)])
    for c in order[~star[order]]:
        rows = lgroup[lstart[c]:lstart[c + 1]]
        cols = rgroup[rstart[c]:rstart[c + 1]]
        sub = B if (rows.size == B.shape[0] and cols.size == B.shape[1]) else sp.csr_array(B[rows][:, cols])
        # a warm start pays only on large components (mapping costs O(m + n) per component)
        start = v0 if min(sub.shape) >= 32 else None
        if start is not None and not isinstance(start, SpectrumResult) and sub.shape != B.shape:
            start = None  # a whole-graph vector does not fit a component (a result is mapped by vertex)
        t1c, rest, res = _component_pair(sub, solver, tol, start, (row_ids[rows], col_ids[cols]), threads, kernel)
        if main is None:
            main = res
        t1s.append(t1c)
        below.append(rest)
    t1_all = np.asarray(t1s)
    t1 = float(t1_all.max())
    mult = int(np.count_nonzero(t1_all >= t1 * (1.0 - DISTINCT_RTOL)))
    t2 = _clean_pair(t1, np.concatenate([t1_all] + below))
    used = main.solver if main is not None else "dense"
    return SpectralPair(
        t1, t2, used, mult,
        n_matvec=main.n_matvec if main is not None else 0,
        residual=main.residual if main is not None else 0.0,
        result=main,
    )
