"""What every backend shares: the result type, the registry, the counted operator, the
Rayleigh-Ritz pass on ``B`` and the residual-based accuracy check.

A backend is a plain function ``f(op, k, tol, start) -> SpectrumResult`` where ``op`` is a
:class:`MatrixOperator` (``B`` as a CSR array or a dense array, with counted products),
``k`` the number of values, ``tol`` the relative accuracy it aims at and ``start`` an
optional warm-start block of right singular vectors (``n x p``, orthonormal columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .kernels import KERNELS, VALUE_TYPES, CSRKernel, compiled_module, numba_available
from .threads import kernel_parts

__all__ = [
    "SpectrumResult",
    "SOLVERS",
    "register_solver",
    "MatrixOperator",
    "ritz",
    "finish",
    "accuracy_threshold",
    "error_bounds",
    "CONTRACT_RTOL",
    "CONTRACT_ATOL",
]

#: the accuracy contract: every returned value within ``CONTRACT_RTOL * s + CONTRACT_ATOL * s1``
#: of the exact one (s1 the largest); checked through the residual bound, see :func:`finish`.
CONTRACT_RTOL = 1e-8
CONTRACT_ATOL = 1e-12


@dataclass(frozen=True)
class SpectrumResult:
    """What a solver returns.

    ``values`` are the ``k`` largest singular values, descending (padded with zeros when
    the matrix has fewer). ``residuals[i]`` bounds the distance from ``values[i]`` to a true
    singular value: it is the eigen-residual ``sqrt((|B v - s u|^2 + |B^T u - s v|^2) / 2)`` of
    the pair in the symmetric ``(m + n)`` adjacency, so some adjacency eigenvalue lies within
    it (0 for exact dense factorisations); ``residual`` is their maximum. ``verified`` says the
    residuals meet the accuracy contract, the Frobenius check found no missed value and, for a
    single-vector Krylov solver, a deflation check found no copy of a repeated value missed
    (see :func:`~bipartite_expanders.top_singular_values`); ``note`` says why when it is False.
    ``fallback_from`` names the backend whose answer failed the check and was refined.
    ``left_vectors`` (m x k) and ``right_vectors`` (n x k) are the singular vectors (iterative
    backends add the next Ritz vector as a ``k + 1``-th column: a richer warm start);
    ``left_ids`` / ``right_ids``, when set, are the original vertex indices of the rows and
    columns (so a later call on a different scope can map the vectors by vertex).
    """

    values: np.ndarray
    solver: str
    n_matvec: int = 0
    residual: float = 0.0
    left_vectors: np.ndarray | None = field(default=None, repr=False)
    right_vectors: np.ndarray | None = field(default=None, repr=False)
    residuals: np.ndarray | None = field(default=None, repr=False)
    verified: bool = True
    fallback_from: str | None = None
    left_ids: np.ndarray | None = field(default=None, repr=False, compare=False)
    right_ids: np.ndarray | None = field(default=None, repr=False, compare=False)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (no vectors)."""
        return {
            "values": [float(v) for v in self.values],
            "solver": self.solver,
            "n_matvec": int(self.n_matvec),
            "residual": float(self.residual),
            "verified": bool(self.verified),
            "fallback_from": self.fallback_from,
            "note": self.note,
        }


SolverFunc = Callable[..., SpectrumResult]
#: name -> backend ``f(op: MatrixOperator, k: int, tol: float, start: ndarray | None)``
SOLVERS: dict[str, SolverFunc] = {}


def register_solver(name: str, func: SolverFunc | None = None) -> Any:
    """Register a backend under ``name`` (usable as a decorator).

    The backend gets ``(op, k, tol, start)`` (see :mod:`bipartite_expanders.solvers`) and
    returns a :class:`SpectrumResult`, best built with :func:`finish` so that it carries
    vectors and residuals that ``"auto"`` and the fallback can check.
    """

    def deco(f: SolverFunc) -> SolverFunc:
        SOLVERS[name] = f
        return f

    return deco(func) if func is not None else deco


class MatrixOperator:
    """``B`` (CSR or dense ndarray) with products counted in single mat-vecs.

    A product with a block of ``p`` columns counts ``p``; a fused Gram product counts 2.

    ``kernel`` chooses who multiplies a sparse ``B`` (a dense one always goes to BLAS):

    * ``"numba"``: the compiled kernels of :mod:`~bipartite_expanders.solvers.kernels` on
      one copy of ``B``, the CSR matrix of the long side's rows (indices into the short
      side, 2 bytes each below 65,536; no value array for a 0/1 or constant matrix): ``B x``
      and ``B^T y`` are a gather and a scatter over those rows, whose random accesses land in
      the short vector, and ``B^T B x`` (or ``B B^T y``, the smaller Gram) is one fused pass;
      Golub-Kahan-Lanczos runs its steps in compiled code (:meth:`lanczos_operands`);
    * ``"scipy"``: scipy's CSR kernels, the reference (see below);
    * ``"auto"``: ``"numba"`` when numba is importable and ``B`` has at least
      :attr:`NUMBA_FROM_NNZ` stored entries (its one-off import and first call cost ~0.4 s, more
      than a small solve), else ``"scipy"``. The choice depends on ``B`` alone, not on whether
      the process has loaded numba already, so that a matrix gets the same floats in every
      process (a resumed pipeline run writes the records an uninterrupted one writes).

    Blocks (the Rayleigh-Ritz pass and the residuals of :func:`finish`, a few calls per
    solve) always go through scipy on the float64 ``B`` (scipy's CSR kernel was faster on
    blocks of 3 here, and this keeps the check on ``B`` itself). ``values="float32"`` keeps
    a weighted matrix's values in float32 for the iteration's vector products (float64
    accumulation); the check still sees ``B``. ``threads`` is the compiled kernels' thread count, at most
    :attr:`parts`, the number of parts a product is split into, which depends on ``B`` alone (see
    :mod:`~bipartite_expanders.solvers.threads`).

    With scipy, the kernel is chosen by where its random accesses land. scipy's CSR kernel
    gathers from the input vector, its CSC kernel scatters into the output; either is
    fastest when that vector is the *short* side's and stays in the L1 cache. So a large
    matrix (``nnz >= 2e6`` and a side of ``8192`` or more) keeps one copy, the CSR matrix of
    the long side's rows, and uses it both ways (gather for one product, CSC-view scatter
    for the other): measured on 25088x4096 at 10%, ``B^T y`` 45 ms as a CSR gather against
    18 ms as a scatter, and on 4096x11008 at 10%, ``B x`` 25 ms against 10 ms. Smaller
    matrices sit in cache either way and use two CSR gathers (``B`` and a CSR copy of
    ``B^T``), which are slightly faster there.
    """

    #: sparse matrices from this many stored entries and a side this long use one copy and the
    #: short-side kernels (see the class docstring)
    SCATTER_FROM_NNZ = 2_000_000
    SCATTER_FROM_SIDE = 8192
    #: ``kernel="auto"`` loads numba for a matrix with this many stored entries (a solve of it
    #: with scipy takes ~0.1 s or more, so the one-off ~0.4 s import pays within a few solves)
    NUMBA_FROM_NNZ = 200_000

    def __init__(self, B: sp.csr_array | np.ndarray, kernel: str = "auto", threads: int = 1,
                 values: str = "float64"):
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
        if values not in VALUE_TYPES:
            raise ValueError(f"values must be one of {VALUE_TYPES}; got {values!r}")
        self.B = B
        self.dense = isinstance(B, np.ndarray)
        self._BT: Any = None
        self._fwd: Any = None
        self.shape = B.shape
        self.count = 0
        self.threads = max(1, int(threads))
        #: parts of a compiled product (:func:`~bipartite_expanders.solvers.threads.kernel_parts`); 1: serial
        self.parts = 1
        if self.dense:
            self.nnz = int(np.count_nonzero(B))
            self.frob2 = float(np.einsum("ij,ij->", B, B))
        else:
            self.nnz = int(B.nnz)
            self.frob2 = float(B.data @ B.data)
        m, n = B.shape
        self._short_side_kernels = (not self.dense and self.nnz >= self.SCATTER_FROM_NNZ
                                    and max(m, n) >= self.SCATTER_FROM_SIDE)
        if self.dense:
            self.kernel = "blas"
        elif kernel == "auto":
            use = self.nnz >= self.NUMBA_FROM_NNZ and numba_available()
            self.kernel = "numba" if use else "scipy"
        elif kernel == "numba" and not numba_available():
            raise ImportError("kernel='numba' needs numba (pip install numba); kernel='scipy' works without it")
        else:
            self.kernel = kernel
        #: the compiled structure: CSR rows of the long side (``B`` when tall, ``B^T`` when wide)
        self.compiled: CSRKernel | None = None
        self._tall = m >= n
        if self.kernel == "numba":
            cm = compiled_module()  # loaded now, so that a thread policy entered next reaches it
            parts = kernel_parts(self.nnz)
            self.parts = min(parts, cm.max_threads()) if parts > 1 else 1
            # the parts are fixed by B (so are the floats); the threads only run them
            self.threads = min(self.threads, self.parts)
            long_rows = B if self._tall else sp.csr_array(B.T)
            self.compiled = CSRKernel(long_rows, values=values, threads=self.parts)

    @property
    def BT(self) -> Any:
        """``B^T`` as the operand of scipy's ``rmv``: a transposed view, or a CSR copy of the transpose."""
        if self._BT is None:
            m, n = self.shape
            if self.dense or (self._short_side_kernels and m >= n):
                self._BT = self.B.T  # dense: BLAS; tall: CSC view, scatter into the short output
            else:
                self._BT = sp.csr_array(self.B.T)  # gather from the input of length m
        return self._BT

    @property
    def forward(self) -> Any:
        """``B`` as the operand of scipy's ``mv``: itself, or for a large wide matrix the CSC
        view of the transpose's CSR copy (scatter into the short output)."""
        if self._fwd is None:
            m, n = self.shape
            self._fwd = self.BT.T if (self._short_side_kernels and m < n) else self.B
        return self._fwd

    def mv(self, x: np.ndarray) -> np.ndarray:
        """``B @ x`` for a vector or a block."""
        self.count += 1 if x.ndim == 1 else x.shape[1]
        c = self.compiled
        if c is not None:
            if x.ndim == 1:
                return c.gather(x) if self._tall else c.scatter(x)
            return self.B @ x  # blocks (Ritz pass, residuals): scipy on the float64 matrix, no copy
        return self.forward @ x

    def rmv(self, y: np.ndarray) -> np.ndarray:
        """``B^T @ y`` for a vector or a block."""
        self.count += 1 if y.ndim == 1 else y.shape[1]
        c = self.compiled
        if c is not None:
            if y.ndim == 1:
                return c.scatter(y) if self._tall else c.gather(y)
            return self.B.T @ y
        if y.ndim == 2 and self._BT is None and not self.dense:
            # a block before any vector product (the Gram method's Ritz pass and residuals): the
            # CSC view, not a transposed copy (0.11 ms of a 1.6 ms solve on 300x100 at 5 %)
            return self.B.T @ y
        return self.BT @ y

    def gram(self, x: np.ndarray, left: bool) -> np.ndarray:
        """``B B^T x`` (``left``) or ``B^T B x``; one fused pass when compiled and ``x`` is a
        vector of the short side. Counts two products per column."""
        c = self.compiled
        if c is not None and x.ndim == 1 and left != self._tall:
            self.count += 2
            return c.gram(x)
        return self.mv(self.rmv(x)) if left else self.rmv(self.mv(x))

    def lanczos_operands(self) -> tuple[Any, ...] | None:
        """``(indptr, indices, data, tall, scale)`` of the compiled structure for
        :func:`~bipartite_expanders.solvers.compiled.gkl_steps`, or None when the products
        are not compiled."""
        c = self.compiled
        if c is None:
            return None
        return (*c.operands(), self._tall, c.scale)

    def toarray(self) -> np.ndarray:
        return self.B if self.dense else self.B.toarray()


def pad(values: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(k)
    v = np.sort(np.abs(np.asarray(values, dtype=float)))[::-1][:k]
    out[: v.size] = v
    return out


def _pad_positional(x: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(k)
    out[: min(k, x.size)] = x[:k]
    return out


def ritz(op: MatrixOperator, Q: np.ndarray, left: bool, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rayleigh-Ritz on the subspace spanned by the orthonormal columns of Q.

    ``left`` says Q spans left vectors (length m). The singular values of ``B^T Q`` (or
    ``B Q``) are computed directly, not as square roots of Gram eigenvalues, so small ones
    keep their relative accuracy. Returns ``(s, U, V)`` with ``k`` columns at most.
    """
    W = op.rmv(Q) if left else op.mv(Q)
    X, s, Yt = np.linalg.svd(W, full_matrices=False)
    order = slice(0, min(k, s.size))
    if left:  # B^T Q = X S Y^T  ->  right vectors X, left vectors Q Y
        return s[order], Q @ Yt.T[:, order], X[:, order]
    return s[order], X[:, order], Q @ Yt.T[:, order]


def pair_residuals(op: MatrixOperator, s: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Eigen-residuals of the pairs ``(s_i, [u_i; v_i] / sqrt 2)`` in the adjacency matrix."""
    if s.size == 0:
        return np.zeros(0)
    r1 = np.linalg.norm(op.mv(V) - U * s, axis=0)
    r2 = np.linalg.norm(op.rmv(U) - V * s, axis=0)
    return np.sqrt((r1**2 + r2**2) / 2.0)


def accuracy_threshold(s: np.ndarray, tol: float) -> np.ndarray:
    """Largest residual that still proves the contract for each value (with a factor 2 margin).

    The contract is ``|s - s_ref| <= max(tol, 1e-8) s_ref + max(1e-4 tol, 1e-12) s1``.
    """
    rtol = max(tol, CONTRACT_RTOL)
    atol = max(1e-4 * tol, CONTRACT_ATOL)
    s1 = float(s[0]) if s.size else 0.0
    return 0.5 * (rtol * s + atol * s1)


def frobenius_ok(op: MatrixOperator, s: np.ndarray) -> bool:
    """A cheap necessary condition: the values found leave room for ``||B||_F^2``.

    If every other singular value were at most ``s[-1]``, ``||B||_F^2 <= sum s_i^2 +
    (rank - k) s_k^2``; a violation proves a value above ``s[-1]`` was missed.
    """
    if s.size == 0:
        return True
    rank_bound = min(op.shape)
    k = s.size
    bound = float(s @ s) + max(rank_bound - k, 0) * float(s[-1]) ** 2
    return op.frob2 <= bound * (1 + 1e-9) + 1e-300


def error_bounds(s: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Bounds on ``|s_i - sigma_i|`` from the Ritz values and their eigen-residuals.

    Each ``s_i`` lies within ``r_i`` of an eigenvalue of the symmetric adjacency (Weyl); when
    its neighbours are separated, the Kato-Temple bound ``r_i^2 / delta_i`` is sharper, with
    ``delta_i = min_j |s_i - s_j| - r_j - r_i`` over the other computed pairs (and over ``s_i``
    itself, the distance to the mirror eigenvalue ``-s_i``). As with every Ritz-based check,
    the bounds assume that no singular value between the computed ones was missed.
    """
    s = np.asarray(s, dtype=float)
    r = np.asarray(residuals, dtype=float)
    dist = np.abs(s[:, None] - s[None, :]) - r[None, :]
    np.fill_diagonal(dist, np.inf)
    delta = np.minimum(2 * s, dist.min(axis=1, initial=np.inf)) - r  # 2 s_i: the mirror eigenvalue -s_i
    with np.errstate(divide="ignore", invalid="ignore"):
        quad = np.where(delta > 0, r * r / delta, np.inf)
    return np.minimum(r, quad)


def finish(op: MatrixOperator, name: str, k: int, tol: float, s: np.ndarray, U: np.ndarray, V: np.ndarray,
           residuals: np.ndarray | None = None, next_known: bool = True) -> SpectrumResult:
    """Build a result from Ritz triplets (``k`` or more; extra ones sharpen the gaps), computing
    the residuals when not given, and check it.

    ``verified`` holds when the :func:`error_bounds` of the first ``k`` values are within
    :func:`accuracy_threshold` and :func:`frobenius_ok` holds. ``residuals`` on the result
    are those error bounds. ``next_known=False`` says the triplets stop at the ``k``-th value
    (no Ritz value below it was computed): its gap to the rest of the spectrum is then unknown,
    so its bound is the residual itself (Weyl), never ``r^2 / gap``.
    """
    s = np.asarray(s, dtype=float)
    if residuals is None:
        residuals = pair_residuals(op, s, U, V)
    bounds = error_bounds(s, residuals)
    if not next_known and s.size:
        bounds[s.size - 1] = residuals[s.size - 1]
    kk = min(k, s.size)
    thr = accuracy_threshold(s[:kk], tol)
    ok = bool(np.all(bounds[:kk] <= thr)) and frobenius_ok(op, s[:kk])
    # vectors: the k wanted and the extra one, if any (a richer warm start for the next call)
    return SpectrumResult(
        pad(s[:kk], k), name, op.count, float(bounds[:kk].max()) if kk else 0.0,
        U[:, : kk + 1], V[:, : kk + 1], _pad_positional(bounds[:kk], k), ok,
    )
