"""The non-backtracking (Ihara) criterion.

The Hashimoto matrix ``H`` acts on the ``2E`` directed edges: ``H[e, f] = 1`` when ``f``
continues ``e`` without backtracking. Its spectrum is that of the Ihara zeta function's poles
(inverted). By the Ihara-Bass formula, ``det(I - u H) = (1 - u^2)^(E - N) det(I - u A + u^2 (D - I))``,
so apart from ``+-1`` (``E - N`` times each) the eigenvalues of ``H`` are those of the
``2N x 2N`` matrix::

    K = [[A, I - D],
         [I,     0]]

which is sparse, with ``N`` vertices instead of ``2E`` edges. The trivial eigenvalue is the
Perron root ``rho(H)`` (and ``-rho(H)`` for a bipartite graph, whose spectrum is symmetric);
the others are nontrivial. The graph satisfies the graph Riemann hypothesis (Stark-Terras;
Kotani-Sunada's irregular form) when every nontrivial eigenvalue has ``|lambda| <= sqrt(rho(H))``:
the verdict ``"Ihara RH holds"``.

The criterion is combinatorial: it reads the 0/1 pattern (weights are ignored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .components import connected_components
from .files import json_float
from .graph import BipartiteGraph, as_graph
from .scopes import SCOPES, restrict_to_scope

__all__ = ["NonBacktrackingResult", "nonbacktracking_test", "ihara_bass_matrix", "IHARA_HOLDS", "IHARA_FAILS", "IHARA_UNDEFINED"]

IHARA_HOLDS = "Ihara RH holds"
IHARA_FAILS = "Ihara RH fails"
IHARA_UNDEFINED = "undefined"

# Dense eigenvalues (all 2N) below this size; ARPACK for the few largest above it.
_DENSE_MAX = 600


@dataclass(frozen=True)
class NonBacktrackingResult:
    """The non-backtracking test on one scope.

    ``rho_h``: Perron eigenvalue of the Hashimoto matrix; ``lambda_nontrivial``: the largest
    modulus among the nontrivial eigenvalues (0 when there are none); ``margin``:
    ``sqrt(rho_h) - lambda_nontrivial``; ``eigenvalues``: the computed ones of largest modulus,
    as ``(real, imag)`` pairs; ``method``: ``"dense"`` or ``"arpack"``.
    """

    rho_h: float
    sqrt_rho_h: float
    lambda_nontrivial: float
    margin: float
    verdict: str
    eigenvalues: tuple[tuple[float, float], ...]
    n_vertices: int
    n_edges: int
    method: str

    @property
    def holds(self) -> bool:
        """True when the verdict is ``"Ihara RH holds"``."""
        return self.verdict == IHARA_HOLDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (inf and NaN as strings)."""

        return {
            "rho_h": json_float(self.rho_h), "sqrt_rho_h": json_float(self.sqrt_rho_h),
            "lambda_nontrivial": json_float(self.lambda_nontrivial), "margin": json_float(self.margin),
            "verdict": self.verdict, "eigenvalues": [[json_float(a), json_float(b)] for a, b in self.eigenvalues],
            "n_vertices": self.n_vertices, "n_edges": self.n_edges, "method": self.method,
        }


def ihara_bass_matrix(adjacency: Any) -> sp.csr_array:
    """The ``2N x 2N`` Ihara-Bass matrix ``[[A, I - D], [I, 0]]`` of a 0/1 adjacency matrix.

    >>> import numpy as np
    >>> K = ihara_bass_matrix(np.ones((3, 3)) - np.eye(3))   # the triangle: H is a 3-cycle twice
    >>> sorted(np.round(np.abs(np.linalg.eigvals(K.toarray())), 6))[-1]
    np.float64(1.0)
    """
    A = sp.csr_array(adjacency, dtype=float)
    A.data[:] = 1.0
    n = A.shape[0]
    deg = np.asarray(A.sum(axis=1)).ravel()
    eye = sp.eye_array(n, format="csr")
    return sp.csr_array(sp.block_array([[A, sp.diags_array(1.0 - deg)], [eye, None]], format="csr"))


def nonbacktracking_test(graph: Any, k: int = 6, *, scope: str = "largest", method: str = "auto", tol: float = 1e-10) -> NonBacktrackingResult:
    """Nontrivial Hashimoto eigenvalues of a bipartite graph's scope and the Ihara RH verdict.

    Parameters
    ----------
    graph
        A :class:`~bipartite_expanders.BipartiteGraph` (or anything it accepts); its 0/1 pattern is used.
    k
        How many eigenvalues of largest modulus to compute (>= 3; the two trivial ones
        ``+-rho(H)`` are among them).
    scope
        ``"largest"`` (default), ``"nonisolated"`` or ``"all"``; see :mod:`~bipartite_expanders.scopes`.
    method
        ``"auto"`` (dense below ``2N = 600``, else ARPACK), ``"dense"`` or ``"arpack"``.
    tol
        ARPACK's relative tolerance; the verdict allows ``1e-9`` relative slack for it.

    Examples
    --------
    >>> from bipartite_expanders import generators, nonbacktracking_test
    >>> r = nonbacktracking_test(generators.pg2_incidence(3))   # (4, 4)-biregular, Ramanujan
    >>> round(r.rho_h, 6), r.verdict
    (3.0, 'Ihara RH holds')
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 3:
        raise ValueError(f"k must be an integer >= 3; got {k!r}")
    if method not in ("auto", "dense", "arpack"):
        raise ValueError(f"method must be 'auto', 'dense' or 'arpack'; got {method!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}; got {scope!r}")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ValueError(f"tol must be a float in (0, 1); got {tol!r}")
    g = as_graph(graph).pattern()
    B, _, _ = restrict_to_scope(g, scope)
    m, n = B.shape
    N, E = m + n, int(B.nnz)
    if E == 0:
        return NonBacktrackingResult(0.0, 0.0, 0.0, 0.0, IHARA_UNDEFINED, (), N, 0, "none")

    if E - N + connected_components(BipartiteGraph._trusted(sp.csr_array(B, copy=True), False)).n_components <= 0:
        # a forest: H is nilpotent (no closed non-backtracking walk), nothing to test
        return NonBacktrackingResult(0.0, 0.0, math.nan, math.nan, IHARA_UNDEFINED, (), N, E, "none")
    A = sp.csr_array(sp.block_array([[None, B], [B.T, None]], format="csr"))
    A.data[:] = 1.0
    K = ihara_bass_matrix(A)
    use_dense = method == "dense" or (method == "auto" and 2 * N <= _DENSE_MAX) or 2 * N <= k + 2
    if use_dense:
        vals = np.linalg.eigvals(K.toarray())
        used = "dense"
    else:
        kk = min(int(k), 2 * N - 2)
        vals = spla.eigs(K, k=kk, which="LM", tol=tol, ncv=min(2 * N, max(2 * kk + 1, 40)), return_eigenvectors=False)
        used = "arpack"
    vals = vals[np.argsort(-np.abs(vals), kind="stable")]
    real = vals[np.abs(vals.imag) <= 1e-8 * max(1.0, float(np.abs(vals).max()))].real
    rho = float(real.max()) if real.size else 0.0
    if rho < 1.0 - 1e-9:
        # H is nilpotent (a forest has no closed non-backtracking walk): no spectrum to test
        top = tuple((float(v.real), float(v.imag)) for v in vals[:k])
        return NonBacktrackingResult(max(rho, 0.0), math.sqrt(max(rho, 0.0)), math.nan, math.nan, IHARA_UNDEFINED, top, N, E, used)
    # drop one copy of +rho and, the graph being bipartite, one copy of -rho
    rest = list(vals)
    for target in (rho, -rho):
        i = int(np.argmin(np.abs(np.asarray(rest) - target)))
        if abs(rest[i] - target) <= 1e-6 * rho:
            rest.pop(i)
    lam = float(np.abs(np.asarray(rest)).max()) if rest else 0.0
    sq = math.sqrt(rho)
    holds = lam <= sq * (1.0 + 1e-9)
    top = tuple((float(v.real), float(v.imag)) for v in vals[:k])
    return NonBacktrackingResult(rho, sq, lam, sq - lam, IHARA_HOLDS if holds else IHARA_FAILS, top, N, E, used)
