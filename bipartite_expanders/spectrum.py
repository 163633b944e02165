"""Top singular values of sparse bi-adjacency matrices, behind one ``solver=`` keyword.

Two layers, in the style of :mod:`scipy.sparse.linalg`:

* :func:`top_singular_values` returns the ``k`` largest singular values (with
  multiplicity) of any real matrix, by a named solver or ``"auto"``;
* :func:`spectral_pair` returns the pair ``(t1, t2)`` the Ramanujan bounds need, with
  DESIGN.md's semantics: ``t2`` is the largest singular value *strictly below* ``t1``
  (relative tolerance ``1e-9``), computed component by component so that a repeated
  ``t1`` (equal disconnected components) never gives ``t2 == t1``, and a value below
  ``1e-10 * t1`` is reported as exactly 0.

Solvers are plain functions registered in :data:`SOLVERS`; each returns a
:class:`SpectrumResult` carrying the values, the number of matrix-vector products, a
residual bound and (when asked) the singular vectors, which can warm-start a later call
through ``v0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .components import connected_components
from .graph import BipartiteGraph

__all__ = [
    "SOLVERS",
    "SpectrumResult",
    "SpectralPair",
    "register_solver",
    "choose_solver",
    "top_singular_values",
    "spectral_pair",
    "ZERO_RTOL",
    "DISTINCT_RTOL",
]

#: a singular value below ``ZERO_RTOL * t1`` is a numerical zero (DESIGN.md)
ZERO_RTOL = 1e-10
#: ``t2`` must lie below ``(1 - DISTINCT_RTOL) * t1`` to count as distinct from ``t1``
DISTINCT_RTOL = 1e-9

# Dense LAPACK is exact and, below this many matrix entries, faster than any iterative
# method here (see the closing note of the core issue for the timings that set it).
_DENSE_MAX_ENTRIES = 40_000
# Above this many entries a dense copy is too costly even for tiny matrices.
_DENSE_HARD_MAX_ENTRIES = 40_000_000


@dataclass(frozen=True)
class SpectrumResult:
    """What a solver returns.

    ``values`` are the ``k`` largest singular values, descending (padded with zeros when
    the matrix has fewer). ``residual`` bounds ``max_i max(||B v_i - s_i u_i||, ||B^T u_i - s_i v_i||)``
    (0 for exact dense factorisations). ``left_vectors`` (m x k) and ``right_vectors`` (n x k)
    are present when vectors were asked for or came for free.
    """

    values: np.ndarray
    solver: str
    n_matvec: int = 0
    residual: float = 0.0
    left_vectors: np.ndarray | None = field(default=None, repr=False)
    right_vectors: np.ndarray | None = field(default=None, repr=False)


SolverFunc = Callable[..., SpectrumResult]
#: name -> solver function ``f(B: csr_array, k: int, tol: float, v0: ndarray | None, want_vectors: bool)``
SOLVERS: dict[str, SolverFunc] = {}


def register_solver(name: str, func: SolverFunc | None = None) -> Any:
    """Register a solver under ``name`` (usable as a decorator)."""

    def deco(f: SolverFunc) -> SolverFunc:
        SOLVERS[name] = f
        return f

    return deco(func) if func is not None else deco


# ------------------------------------------------------------------ helpers
def _as_matrix(x: Any) -> sp.csr_array:
    if isinstance(x, BipartiteGraph):
        return x.matrix
    if sp.issparse(x):
        if x.ndim != 2:
            raise ValueError(f"x must be 2-D; got {x.ndim}-D")
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x must be a real matrix; got dtype {x.dtype}")
        csr = sp.csr_array(x, dtype=np.float64)
    else:
        arr = np.asarray(x)
        if arr.ndim != 2:
            raise ValueError(f"x must be 2-D; got shape {arr.shape}")
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"x must be a real matrix; got dtype {arr.dtype}")
        csr = sp.csr_array(arr.astype(np.float64, copy=False))
    if csr.nnz and not np.all(np.isfinite(csr.data)):
        raise ValueError("x has non-finite entries (NaN or inf)")
    return csr


def _pad(values: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(k)
    v = np.sort(np.abs(values))[::-1][:k]
    out[: v.size] = v
    return out


def _residual(B: sp.csr_array, s: np.ndarray, U: np.ndarray, V: np.ndarray) -> float:
    if s.size == 0:
        return 0.0
    r1 = np.linalg.norm(B @ V - U * s, axis=0)
    r2 = np.linalg.norm(B.T @ U - V * s, axis=0)
    return float(np.max(np.maximum(r1, r2)))


# ------------------------------------------------------------------ solvers
@register_solver("dense")
def _solve_dense(B: sp.csr_array, k: int, tol: float, v0: np.ndarray | None, want_vectors: bool) -> SpectrumResult:
    """LAPACK SVD of the dense matrix (gesdd): exact to rounding; O(m n min(m, n))."""
    m, n = B.shape
    if m * n > _DENSE_HARD_MAX_ENTRIES:
        raise ValueError(f"solver='dense' refuses a {m} x {n} matrix (over {_DENSE_HARD_MAX_ENTRIES} entries); use 'auto'")
    A = B.toarray()
    if want_vectors:
        U, s, Vt = sla.svd(A, full_matrices=False, check_finite=False)
        kk = min(k, s.size)
        return SpectrumResult(_pad(s, k), "dense", 0, 0.0, U[:, :kk].copy(), Vt[:kk].T.copy())
    s = sla.svdvals(A, check_finite=False)
    return SpectrumResult(_pad(s, k), "dense")


def _ritz(B: sp.csr_array, Q: np.ndarray, left: bool, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rayleigh-Ritz on the subspace spanned by the orthonormal columns of Q.

    ``left`` says Q spans left vectors (length m). The singular values of B^T Q (or B Q)
    are computed directly, not as square roots of Gram eigenvalues, so small ones keep
    their relative accuracy.
    """
    W = (B.T @ Q) if left else (B @ Q)
    X, s, Yt = np.linalg.svd(W, full_matrices=False)
    order = slice(0, min(k, s.size))
    if left:  # B^T Q = X S Y^T  ->  right vectors X, left vectors Q Y
        return s[order], Q @ Yt.T[:, order], X[:, order]
    return s[order], X[:, order], Q @ Yt.T[:, order]


@register_solver("gram")
def _solve_gram(B: sp.csr_array, k: int, tol: float, v0: np.ndarray | None, want_vectors: bool) -> SpectrumResult:
    """Dense ``eigh`` of the smaller Gram matrix, then a Rayleigh-Ritz pass on B itself.

    Fast when one side is small; the Ritz pass restores the accuracy of small singular
    values that squaring loses (it is exact up to the angle error of the eigenvectors).
    """
    m, n = B.shape
    left = m <= n
    if B.nnz >= 0.02 * m * n:  # dense enough that BLAS (syrk-like) beats a sparse product
        A = B.toarray()
        G = A @ A.T if left else A.T @ A
    else:
        G = (B @ B.T) if left else (B.T @ B)
        G = G.toarray()
    size = G.shape[0]
    kk = min(k + 1, size)  # one extra vector: it sharpens the Ritz values of the k wanted ones
    _, Q = sla.eigh(G, subset_by_index=[size - kk, size - 1], check_finite=False, driver="evr")
    s, U, V = _ritz(B, Q, left, k)
    return SpectrumResult(_pad(s, k), "gram", 2 * size, _residual(B, s, U, V), U, V)


class _CountingGram(spla.LinearOperator):
    """The Gram operator of the smaller side, counting products with B."""

    def __init__(self, B: sp.csr_array, left: bool):
        self.B, self.BT, self.left = B, sp.csr_array(B.T), left
        size = B.shape[0] if left else B.shape[1]
        super().__init__(dtype=np.float64, shape=(size, size))
        self.count = 0

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        self.count += 2
        x = np.ravel(x)
        return self.B @ (self.BT @ x) if self.left else self.BT @ (self.B @ x)


def _start_vector(B: sp.csr_array, v0: np.ndarray | None, left: bool) -> np.ndarray | None:
    """Map a warm-start vector of either side onto the side the solver iterates."""
    if v0 is None:
        return None
    m, n = B.shape
    v = np.asarray(v0, dtype=np.float64).ravel()
    if v.size == n and not (left and v.size == m):
        v = B @ v if left else v
    elif v.size == m:
        v = v if left else B.T @ v
    else:
        raise ValueError(f"v0 must have length {m} (left) or {n} (right); got {v.size}")
    return v if np.linalg.norm(v) > 0 else None


@register_solver("arpack")
def _solve_arpack(B: sp.csr_array, k: int, tol: float, v0: np.ndarray | None, want_vectors: bool) -> SpectrumResult:
    """ARPACK (implicitly restarted Lanczos) on the smaller Gram operator, then Rayleigh-Ritz on B."""
    m, n = B.shape
    left = m <= n
    size = min(m, n)
    if size <= k + 2:  # ARPACK needs k < size (and some room); tiny sides are exact and cheap densely
        return _solve_small(B, k, tol, v0, want_vectors)
    op = _CountingGram(B, left)
    kk = min(k + 1, size - 2)
    ncv = min(size, max(2 * kk + 1, 24))
    start = _start_vector(B, v0, left)
    try:
        _, Q = spla.eigsh(op, k=kk, which="LA", tol=min(tol, 1e-10), v0=start, ncv=ncv, maxiter=max(1000, 10 * size))
    except spla.ArpackNoConvergence as exc:
        if exc.eigenvectors is None or exc.eigenvectors.shape[1] < k:
            raise
        Q = exc.eigenvectors
    Q, _ = np.linalg.qr(Q)
    s, U, V = _ritz(B, Q, left, k)
    return SpectrumResult(_pad(s, k), "arpack", op.count + kk, _residual(B, s, U, V), U, V)


def _solve_small(B: sp.csr_array, k: int, tol: float, v0: np.ndarray | None, want_vectors: bool) -> SpectrumResult:
    m, n = B.shape
    if m * n <= _DENSE_HARD_MAX_ENTRIES:
        return _solve_dense(B, k, tol, v0, want_vectors)
    return _solve_gram(B, k, tol, v0, want_vectors)


def choose_solver(shape: tuple[int, int], nnz: int, k: int = 2) -> str:
    """The solver ``"auto"`` picks for a matrix of this shape and number of stored entries.

    Measured on this project's 2-core reference machine, one BLAS thread (see
    ``docs/spectrum.md``): dense LAPACK wins up to about 40,000 entries; the Gram method wins
    when the smaller side is small and the matrix dense (forming it is one BLAS product, and
    Lanczos struggles with the clustered bulk of a dense random layer); ARPACK wins on
    everything sparse.
    """
    m, n = shape
    small = min(m, n)
    if m * n <= _DENSE_MAX_ENTRIES or small <= k + 2:
        return "dense" if m * n <= _DENSE_HARD_MAX_ENTRIES else "gram"
    density = nnz / (m * n)
    if (small <= 2000 and density >= 0.3) or (small <= 600 and density >= 0.05):
        return "gram"
    return "arpack"


def top_singular_values(
    x: Any,
    k: int = 2,
    *,
    solver: str = "auto",
    tol: float = 1e-10,
    v0: Any = None,
    full_output: bool = False,
) -> np.ndarray | SpectrumResult:
    """The ``k`` largest singular values of a graph or matrix, descending.

    Parameters
    ----------
    x
        A :class:`BipartiteGraph`, a scipy sparse matrix, or a dense 2-D array (any real signs).
    k
        How many values; a matrix with fewer than ``k`` singular values is padded with zeros.
    solver
        ``"auto"`` or a name in :data:`SOLVERS` (``"dense"``, ``"gram"``, ``"arpack"``, ...).
    tol
        Requested relative accuracy for iterative solvers.
    v0
        Warm start: a vector on either side (e.g. a previous result's top right singular
        vector) or a previous :class:`SpectrumResult`.
    full_output
        Return the whole :class:`SpectrumResult` (vectors, mat-vec count, residual).

    Examples
    --------
    >>> import numpy as np
    >>> top_singular_values(np.diag([3.0, 1.0, 2.0]), k=2)
    array([3., 2.])
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ValueError(f"tol must be a float in (0, 1); got {tol!r}")
    B = _as_matrix(x)
    m, n = B.shape
    if solver == "auto":
        name = choose_solver((m, n), B.nnz, k)
    elif solver in SOLVERS:
        name = solver
    else:
        raise ValueError(f"solver must be 'auto' or one of {sorted(SOLVERS)}; got {solver!r}")
    if isinstance(v0, SpectrumResult):
        # A previous result warm-starts only when its vectors still fit this matrix.
        rv = v0.right_vectors
        v0 = rv[:, 0] if rv is not None and rv.shape[0] == n else None
    if m == 0 or n == 0 or B.nnz == 0:
        z = SpectrumResult(np.zeros(k), name)
        return z if full_output else z.values
    res = SOLVERS[name](B, int(k), float(tol), v0, full_output)
    return res if full_output else res.values


# ------------------------------------------------------------------ (t1, t2)
@dataclass(frozen=True)
class SpectralPair:
    """``t1`` and ``t2`` of a non-negative matrix, per DESIGN.md.

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


def _component_pair(B: sp.csr_array, solver: str, tol: float, v0: Any) -> tuple[float, np.ndarray, SpectrumResult]:
    """t1 and the values below it for one connected component (t1 is simple there by
    Perron-Frobenius; the loop only guards numerically equal values)."""
    k = 2
    small = min(B.shape)
    while True:
        res = top_singular_values(B, k, solver=solver, tol=tol, v0=v0, full_output=True)
        vals = res.values
        t1 = float(vals[0])
        if k >= small or vals[-1] < t1 * (1.0 - DISTINCT_RTOL):
            return t1, vals[1:], res
        k = min(2 * k, small)


def spectral_pair(x: Any, *, solver: str = "auto", tol: float = 1e-10, v0: Any = None) -> SpectralPair:
    """``(t1, t2)`` of a bipartite graph or non-negative matrix, per DESIGN.md.

    ``t1`` is the largest singular value; ``t2`` the largest one strictly below it, so that
    a disconnected graph with two equal components still has ``t2 < t1``.

    >>> import numpy as np
    >>> from bipartite_expanders import BipartiteGraph
    >>> two_edges = BipartiteGraph.from_dense(np.eye(2))   # t1 = 1 twice, nothing below
    >>> p = spectral_pair(two_edges); (p.t1, p.t2, p.multiplicity)
    (1.0, 0.0, 2)
    """
    from .graph import as_graph

    g = x if isinstance(x, BipartiteGraph) else as_graph(x, "x")
    if g.n_edges == 0:
        return SpectralPair(0.0, 0.0, solver if solver != "auto" else "none", 0)
    comp = connected_components(g)
    B = g.matrix
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
        sq = sp.csr_array((B.data**2, B.indices, B.indptr), shape=B.shape)
        row_of_edge = np.repeat(np.arange(B.shape[0]), np.diff(B.indptr))
        norms = np.sqrt(np.bincount(comp.left_labels[row_of_edge], weights=sq.data, minlength=comp.n_components))
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
        start = v0 if main is None else None
        if start is not None and not isinstance(start, SpectrumResult) and sub.shape != B.shape:
            start = None  # a whole-graph warm start does not fit a component
        t1c, rest, res = _component_pair(sub, solver, tol, start)
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
