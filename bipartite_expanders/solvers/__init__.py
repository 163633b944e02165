"""Eigensolver backends for the top singular values of a bi-adjacency matrix.

Every backend is a plain function registered in :data:`SOLVERS` under its name and called as
``f(op, k, tol, start)``: ``op`` is a :class:`MatrixOperator` (``B`` as CSR or dense, with
counted products), ``start`` an optional warm block of right singular vectors. It returns a
:class:`SpectrumResult` with values, vectors, mat-vec count and per-value residual bounds;
:func:`~bipartite_expanders.top_singular_values` checks those bounds against the accuracy
contract and refines an answer that fails.

=========  ==========================================================================
dense      LAPACK ``gesdd`` on the dense matrix (the reference)
gram       dense ``eigh`` of the smaller Gram matrix (one BLAS ``syrk``), Rayleigh-Ritz on B
lanczos    Golub-Kahan-Lanczos on B, full reorthogonalisation, no restarts
arpack     ARPACK on the smaller Gram operator, Rayleigh-Ritz on B
propack    PROPACK through scipy's ``svds`` on B (Golub-Kahan-Lanczos, partial reorthogonalisation)
lobpcg     scipy LOBPCG on the smaller Gram operator, Rayleigh-Ritz on B
primme     PRIMME ``svds`` (optional package ``primme``)
=========  ==========================================================================

Who multiplies: :class:`MatrixOperator` (``kernel="auto" | "numba" | "scipy"``) over the
compiled kernels of :mod:`.kernels` / :mod:`.compiled` or scipy's; how many threads:
:mod:`.threads` (see docs/spectrum.md, "Kernels and threads").
"""

from . import block, direct, external, krylov  # noqa: F401  (registers the backends)
from ._common import (
    CONTRACT_ATOL,
    CONTRACT_RTOL,
    SOLVERS,
    MatrixOperator,
    SpectrumResult,
    accuracy_threshold,
    finish,
    register_solver,
    ritz,
)
from .direct import DENSE_HARD_MAX_ENTRIES
from .external import primme_available
from .krylov import lanczos_svd

__all__ = [
    "SOLVERS",
    "SpectrumResult",
    "MatrixOperator",
    "register_solver",
    "accuracy_threshold",
    "finish",
    "ritz",
    "lanczos_svd",
    "primme_available",
    "CONTRACT_RTOL",
    "CONTRACT_ATOL",
    "DENSE_HARD_MAX_ENTRIES",
]
