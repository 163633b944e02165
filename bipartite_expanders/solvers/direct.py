"""Direct backends: dense LAPACK SVD, and dense ``eigh`` of the smaller Gram matrix."""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ._common import MatrixOperator, SpectrumResult, finish, pad, register_solver, ritz

__all__ = ["DENSE_HARD_MAX_ENTRIES", "GRAM_DENSE_FROM"]

#: above this many entries a dense SVD is refused (memory and hours of LAPACK time)
DENSE_HARD_MAX_ENTRIES = 40_000_000
#: a sparse matrix at least this dense forms its Gram matrix by one dense BLAS ``syrk``
GRAM_DENSE_FROM = 0.02
# full singular vectors are computed by the dense backend up to this many entries
_DENSE_VECTORS_MAX = 4_000_000


@register_solver("dense")
def solve_dense(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """LAPACK SVD of the dense matrix (``gesdd``): exact to rounding; O(m n min(m, n)).

    Refuses matrices over :data:`DENSE_HARD_MAX_ENTRIES` entries.
    """
    m, n = op.shape
    if m * n > DENSE_HARD_MAX_ENTRIES:
        raise ValueError(f"solver='dense' refuses a {m} x {n} matrix (over {DENSE_HARD_MAX_ENTRIES} entries); use 'auto'")
    A = op.toarray()
    if m * n <= _DENSE_VECTORS_MAX:
        U, s, Vt = sla.svd(A, full_matrices=False, check_finite=False)
        kk = min(k, s.size)
        return SpectrumResult(pad(s, k), "dense", 0, 0.0, U[:, :kk].copy(), Vt[:kk].T.copy(), np.zeros(k))
    return SpectrumResult(pad(sla.svdvals(A, check_finite=False), k), "dense", residuals=np.zeros(k))


def gram_matrix(op: MatrixOperator, left: bool) -> np.ndarray:
    """The dense Gram matrix of the smaller side, upper triangle valid.

    ``B B^T`` when ``left`` (m x m), else ``B^T B``; a dense (or dense enough) matrix goes
    through one BLAS ``syrk`` (half the flops of a product), a sparse one through scipy's
    sparse product.
    """
    m, n = op.shape
    if op.dense or op.nnz >= GRAM_DENSE_FROM * m * n:
        At = np.asfortranarray(op.toarray().T)  # n x m, Fortran order: no copy if A is C order
        # syrk(trans=0): At At^T = B^T B (n x n); syrk(trans=1): At^T At = B B^T (m x m)
        return sla.blas.dsyrk(1.0, At, trans=1 if left else 0, lower=0)
    B = op.B
    G = (B @ sp.csr_array(B.T)) if left else (sp.csr_array(B.T) @ B)
    return G.toarray()


@register_solver("gram")
def solve_gram(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """Dense ``eigh`` of the smaller Gram matrix, then a Rayleigh-Ritz pass on B itself.

    Fast when one side is small; the Ritz pass restores the accuracy of small singular
    values that squaring loses (exact up to the angle error of the eigenvectors). When a
    value is so small that the eigenvectors are wrong (``t2 < ~1e-7 t1``) the residual check
    fails and :func:`~bipartite_expanders.top_singular_values` refines it.
    """
    m, n = op.shape
    left = m <= n
    size = min(m, n)
    G = gram_matrix(op, left)
    kk = min(k + 1, size)  # one extra vector: it sharpens the Ritz values of the k wanted ones
    _, Q = sla.eigh(G, lower=False, subset_by_index=[size - kk, size - 1], check_finite=False, driver="evr")
    op.count += 2 * size  # what forming G costs in products with B and B^T
    s, U, V = ritz(op, Q, left, k + 1)
    return finish(op, "gram", k, tol, s, U, V)
