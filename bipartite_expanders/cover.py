"""The spectral radius of a graph's universal covering tree, with a certified bracket.

A finite connected graph ``G`` (weights ``w > 0``) has a universal cover ``T``: the infinite
tree of its non-backtracking walks. The irregular Ramanujan property (Lubotzky;
Hoory-Linial-Wigderson section 6; Marcus-Spielman-Srivastava) is "connected and
``t2 <= rho(T)``"; Hoory's degree bound ``db`` only bounds ``rho(T)`` from below.

Characterisation used here (on the ``2E`` directed edges; ``e -> f`` means ``f`` continues
``e`` without backtracking; ``c_f = w_f**2``)::

    F_e(x) = 1 / x_e + sum_{e -> f} c_f x_f          (x > 0)
    rho(T) = inf_x max_e F_e(x)                        (cycle rank >= 1)

* Upper certificate: for any ``x > 0``, ``rho(T) <= max_e F_e(x)`` (it builds a positive
  ``h`` on ``T`` with ``A h <= z h`` from one end of the tree, and the Schur test gives
  ``||A_T|| <= z``). This holds whenever ``G`` has a cycle, minimum degree 1 included.
* Lower certificate: for any probability ``p >= 0`` on directed edges, by weak duality of
  the convex problem above (``x = exp(y)``),
  ``rho(T) >= L(p) = 2 sum_f w_f sqrt(p_f * sum_{e -> f} p_e)``.
  The uniform ``p`` gives the free bound ``(1/E) sum_{uv} w_uv (sqrt(d_u - 1) + sqrt(d_v - 1))``.
* At the optimum both meet: ``x`` is the Green function of the branches of ``T`` at
  ``z = rho(T)`` (the fold point of ``x = 1 / (z - S x)``) and ``p`` is the Perron vector of
  ``diag(c x**2) M`` (``M`` = predecessor sum).

The solver (``method="fold"``) follows the fold of the equivalent vertex system
``z g_v = 1 + 1/2 sum_{u ~ v} (sqrt(1 + 4 c_uv g_u g_v) - 1)`` (``g_v`` = diagonal Green
function of ``T`` at a lift of ``v``): pinned Newton steps parametrised by ``tau = log g_v0``
and a safeguarded secant on ``d z / d tau = 0`` (the fold is the minimum of ``z`` along the
branch). Each Newton step is one sparse solve of size ``N + 1``; on a bipartite graph the
larger side is eliminated first (its block is diagonal), leaving a dense solve of the smaller
side. The dual ``p`` at the fold comes in closed form from the branch tangent (O(E), no
eigensolver; see ``_dual_from_tangent``). Every component is solved on ``W / max W`` and scaled
back (scale-exact; tolerances relative to ``rho >= max W``); the O(E) loops are in
``cover_kernels`` (numba when installed). ``method="bisect"`` is the slow reference the issue describes: bisection on ``z`` with the
O(E) monotone sweep ``x <- 1 / (z - S x)`` from ``x = 0`` (a sweep that hits a non-positive
denominator certifies ``z <= rho(T)``: it found a finite subtree with an eigenvalue ``>= z``).

Graphs with cycle rank 0 (trees) or 1 (unicyclic) have an amenable cover and
``rho(T) = t1``; the bracket is then the Collatz-Wielandt bracket of the Perron vector.
Connected ``(c, d)``-biregular graphs with equal weights ``w`` (``c, d >= 2``) take the
closed form ``w (sqrt(c - 1) + sqrt(d - 1))``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse import csgraph

from . import cover_kernels as kernels
from . import progress
from ._checks import check_scope, check_tol
from .components import connected_components, degree_counts
from .files import json_float
from .graph import as_graph, checked_csr
from .scopes import restrict_to_scope
from .solvers.threads import solve_threads

__all__ = [
    "CoverRadius",
    "CoverToleranceWarning",
    "COVER_METHODS",
    "universal_cover_radius",
    "cover_radius_of_adjacency",
    "cover_bracket_free",
    "two_core_sides",
]

COVER_METHODS = ("auto", "fold", "bisect", "bracket")


class CoverToleranceWarning(RuntimeWarning):
    """The certified bracket on ``rho(T)`` is wider than the requested tolerance."""


_EPS = np.finfo(float).eps
# Dense eigensolvers below this many vertices (exact, and faster than ARPACK there).
_DENSE_MAX_VERTICES = 600
# Dense Schur complement (one BLAS SYRK) while keep x drop entries stay below this.
_DENSE_SCHUR_MAX = 30_000_000
# The smaller side's dense Schur complement (and its LU) only while it takes at most this many
# bytes; beyond it a sparse LU of the whole bordered system, whose fill stays near the graph's
# size when what lies outside a small 2-core is trees (pendant chains, hanging trees, hubs'
# leaves); a graph whose 2-core is itself too large for that gets the bounded bisection
# (O(E) memory, a certified bracket). Issue 23: a 24,896 x 24,896 dense array raised MemoryError.
_SCHUR_DENSE_BYTES = 256_000_000
# Rounds of pendant-vertex peeling when measuring the 2-core (more rounds: the rest counts as core).
_PEEL_ROUNDS = 256
# Longest continuation step in tau = log g_pin before the fold is bracketed.
_MAX_STEP = 0.5
# Factorisations per fold attempt before giving up on it (a badly chosen pin).
_MAX_FACTOR = 300
# Below this many vertices every Newton step refactorises (cheaper than refinement).
_REFACTOR_ALWAYS_MAX = 300
# The Schur complement by pairs of edges when their count is below this fraction of a SYRK's flops
# Refinement steps must shrink the residual at least this much, else the solver refactorises.
_MAX_CONTRACTION = 0.25
# Refinement steps per solve before refactorising.
_MAX_REFINE = 12
_PAIR_VS_SYRK = {True: 0.05, False: 0.005}  # by whether the compiled loops are bound
# Sweeps x <- 1 / (z - S x) from 0 for the first branch point (Newton corrects the rest).
_START_SWEEPS = 10


@dataclass(frozen=True)
class CoverRadius:
    """``rho(T)`` of a graph's universal cover with a certified bracket ``lower <= rho <= upper``.

    ``method`` says how it was obtained: ``"closed_form"`` (biregular), ``"perron"``
    (cycle rank <= 1, ``rho = t1``), ``"fold"``, ``"bisect"``, ``"fold+bisect"`` (the fold's
    bracket refined by the bounded bisection fallback), or ``"empty"`` (no edges); several
    components join their methods with ``+``.
    ``cycle_rank`` is ``E - N + (number of components)``; ``n_components`` counts the
    components with an edge (``rho`` is the largest of theirs); ``iterations`` counts
    Newton factorisations (fold) or sweeps (bisect). ``converged`` says whether the bracket met
    the requested relative width ``upper - lower <= tol * upper`` (``tol`` is kept); the
    bracket is certified either way.
    """

    value: float
    lower: float
    upper: float
    method: str
    cycle_rank: int
    n_components: int = 1
    iterations: int = 0
    converged: bool = True
    tol: float = 1e-10

    @property
    def width(self) -> float:
        """``upper - lower``."""
        return self.upper - self.lower

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (inf and NaN as strings)."""
        return {k: json_float(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


# ---------------------------------------------------------------- edge structures
class _Edges:
    """One connected graph as undirected edges ``(a[k], b[k], w[k])`` on ``n`` vertices.

    Directed edge ``k`` is ``a -> b`` and ``k + E`` is ``b -> a``. ``side`` is a 0/1 two-colouring
    when the graph is known to be bipartite (else None).
    """

    def __init__(self, n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, side: np.ndarray | None,
                 c: np.ndarray | None = None):
        self.n = int(n)
        self.a, self.b, self.w = a, b, w
        self.c = w * w if c is None else c
        self.E = int(a.size)
        self.degree = np.bincount(a, minlength=self.n) + np.bincount(b, minlength=self.n)
        self.side = side
        self._split: _Split | None = None

    # F_e(x) = 1/x_e + (S x)_e with (S x)_e = V_head(e) - c_e x_rev(e): O(E), no 2-step lists.
    def vertex_out(self, x: np.ndarray) -> np.ndarray:
        return kernels.vertex_out(self.a, self.b, self.c, x, self.n)

    def S(self, x: np.ndarray) -> np.ndarray:
        return kernels.edge_S(self.a, self.b, self.c, x, self.n)

    def M(self, p: np.ndarray) -> np.ndarray:
        """Predecessor sums ``(M p)_f = sum_{e -> f} p_e``."""
        return kernels.predecessor_sum(self.a, self.b, p, self.n)

    def offdiag_apply(self, jab: np.ndarray, jba: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The vertex Jacobian's off-diagonal part (``J[a, b] = jab``, ``J[b, a] = jba``) times ``v``."""
        return kernels.offdiag_apply(self.a, self.b, jab, jba, v, self.n)

    def upper(self, x: np.ndarray) -> float:
        """The certified upper bound ``max_e F_e(x)`` (cycle rank >= 1), rounding-widened."""
        if not np.all(np.isfinite(x)) or np.any(x <= 0):
            return math.inf
        return float(kernels.max_F(self.a, self.b, self.c, x, self.n)) * (1.0 + self.round_slack)

    def lower(self, p: np.ndarray) -> float:
        """The certified lower bound ``L(p)`` for any non-negative ``p`` (rounding-widened)."""
        return float(kernels.lower_bound_sum(self.a, self.b, self.w, np.array(p, dtype=float), self.n)) * (1.0 - self.round_slack)

    @property
    def round_slack(self) -> float:
        # Floating-point error of a sum of deg terms: a few ulps per term.
        return 8.0 * _EPS * (2.0 + float(self.degree.max(initial=1)))

    @cached_property
    def schur_fits(self) -> bool:
        """Whether the dense Schur complement of the smaller side fits ``_SCHUR_DENSE_BYTES``
        and pays: most of that side lies on the 2-core. When pendant trees make up most of it, a
        sparse LU eliminates them at no fill (measured: 1,800 x 1,800 pendant chains, 4,000
        edges: 0.17 s and 2 MB against 5 s and 137 MB for the dense complement)."""
        if self.side is None:
            return False
        nk = min(int(np.count_nonzero(self.side == 1)), int(np.count_nonzero(self.side == 0)))
        if nk <= _REFACTOR_ALWAYS_MAX:
            return True
        return 8.0 * (nk + 1) ** 2 <= _SCHUR_DENSE_BYTES and 2 * self.core_small_side > nk

    @cached_property
    def core_small_side(self) -> int:
        """Vertices on the smaller side of the 2-core (see :meth:`core_mask`)."""
        alive = self.core_mask
        if self.side is None:
            return int(alive.sum())
        return min(int(np.count_nonzero(alive & (self.side == 1))), int(np.count_nonzero(alive & (self.side == 0))))

    @cached_property
    def core_mask(self) -> np.ndarray:
        """The 2-core's vertices: pendant vertices peeled round by round, at most
        ``_PEEL_ROUNDS`` rounds (what is left counts as core)."""
        deg = self.degree.copy()
        alive = np.ones(self.n, dtype=bool)
        a, b = self.a, self.b
        for _ in range(_PEEL_ROUNDS):
            leaves = alive & (deg <= 1)
            if not leaves.any():
                break
            alive &= ~leaves
            # each edge from a removed leaf lowers its other end's degree
            ta, tb = leaves[a], leaves[b]
            deg -= np.bincount(b[ta & alive[b]], minlength=self.n) + np.bincount(a[tb & alive[a]], minlength=self.n)
            keep = alive[a] & alive[b]
            a, b = a[keep], b[keep]
        return alive

    def split(self) -> _Split:
        """The bipartite elimination structure (built once): the smaller side is kept."""
        if self._split is None:
            self._split = _Split(self)
        return self._split

    @property
    def residual_floor(self) -> float:
        # a vertex residual sums deg terms: its rounding level grows like sqrt(deg) ulps
        return 64.0 * _EPS * math.sqrt(1.0 + float(self.degree.max(initial=1)))

    # directed-edge arrays, built only where a numpy expression needs them (kernels take a, b)
    @cached_property
    def tail(self) -> np.ndarray:
        return np.concatenate([self.a, self.b])

    @cached_property
    def head(self) -> np.ndarray:
        return np.concatenate([self.b, self.a])

    @cached_property
    def ww(self) -> np.ndarray:
        return np.concatenate([self.w, self.w])

    def weighted_degree(self) -> np.ndarray:
        return np.bincount(self.a, weights=self.w, minlength=self.n) + np.bincount(self.b, weights=self.w, minlength=self.n)

    def adjacency(self) -> sp.csr_array:
        return sp.csr_array((self.ww, (self.tail, self.head)), shape=(self.n, self.n))


class _Block:
    """An off-diagonal block of the vertex Jacobian, one entry ``(row, col, val)`` per edge."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]):
        self.rows, self.cols, self.vals, self.shape = rows, cols, vals, shape

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return kernels.block_apply(self.rows, self.cols, self.vals, v, self.shape[0])

    def row(self, i: int) -> np.ndarray:
        sel = self.rows == i
        return np.bincount(self.cols[sel], weights=self.vals[sel], minlength=self.shape[1])

    def tocsr(self) -> sp.csr_array:
        return sp.csr_array((self.vals, (self.rows, self.cols)), shape=self.shape)


class _Split:
    """Index structure of the Schur elimination of a bipartite graph's larger side.

    ``keep`` is the smaller side (its block is factorised densely), ``drop`` the other; every
    edge has one end on each: ``kd_rows`` / ``kd_cols`` are its ends' positions within their
    sides and ``a_kept`` says whether ``a`` is the kept end.
    """

    def __init__(self, G: _Edges):
        n_small = int(np.count_nonzero(G.side == 1) <= np.count_nonzero(G.side == 0))
        self.is_keep = G.side == n_small
        self.keep = np.flatnonzero(self.is_keep)
        self.drop = np.flatnonzero(~self.is_keep)
        pos = np.empty(G.n, dtype=np.int64)
        pos[self.keep] = np.arange(self.keep.size)
        pos[self.drop] = np.arange(self.drop.size)
        self.pos = pos
        self.a_kept = self.is_keep[G.a]
        kv = np.where(self.a_kept, G.a, G.b)
        dv = np.where(self.a_kept, G.b, G.a)
        self.kept_end = kv
        # int32 positions: the products gather and scatter through them (half the index traffic)
        self.kd_rows, self.kd_cols = pos[kv].astype(np.int32), pos[dv].astype(np.int32)
        # edges grouped by their dropped end, for the Schur product sum_d C_kd[:, d] C_dk[d, :] / D_d
        self.by_drop = np.argsort(self.kd_cols, kind="stable").astype(np.int32)
        self.drop_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.kd_cols, minlength=self.drop.size))])
        # its cost (sum of squared dropped degrees) against a dense SYRK's nk^2 nd / 2
        self.pair_work = float(np.sum(np.diff(self.drop_ptr).astype(float) ** 2))

    def blocks(self, jab: np.ndarray, jba: np.ndarray) -> tuple[_Block, _Block]:
        """``C_kd`` (rows kept, columns dropped) and ``C_dk`` at the given Jacobian values."""
        nk, nd = self.keep.size, self.drop.size
        j_kd = np.where(self.a_kept, jab, jba)
        j_dk = np.where(self.a_kept, jba, jab)
        return _Block(self.kd_rows, self.kd_cols, j_kd, (nk, nd)), _Block(self.kd_cols, self.kd_rows, j_dk, (nd, nk))


# ------------------------------------------------------------------- small cases
def _closed_form(G: _Edges) -> float | None:
    """``w (sqrt(c-1) + sqrt(d-1))`` for a connected (c, d)-biregular graph with one weight."""
    if G.w.size == 0 or not np.all(G.w == G.w[0]):
        return None
    deg = G.degree
    if G.side is not None:
        c, d = deg[G.side == 0], deg[G.side == 1]
        if c.size and d.size and c.min() == c.max() and d.min() == d.max() and c[0] >= 2 and d[0] >= 2:
            return float(G.w[0] * (math.sqrt(c[0] - 1) + math.sqrt(d[0] - 1)))
    if deg.min() == deg.max() and deg[0] >= 2:
        return float(G.w[0] * 2.0 * math.sqrt(deg[0] - 1))
    return None


def _perron(G: _Edges, tol: float) -> tuple[float, float, float]:
    """``t1`` with its Collatz-Wielandt bracket ``min (A phi)/phi <= t1 <= max (A phi)/phi``."""
    A = G.adjacency()
    if G.n <= _DENSE_MAX_VERTICES:
        vals, vecs = np.linalg.eigh(A.toarray())
        t1, phi = float(vals[-1]), vecs[:, -1]
    else:
        vals, vecs = spla.eigsh(A, k=1, which="LA", tol=min(tol, 1e-12))
        t1, phi = float(vals[0]), vecs[:, 0]
    phi = np.abs(phi)
    if np.any(phi <= 0):
        return t1, math.nan, math.nan
    ratio = (A @ phi) / phi
    slack = 8.0 * _EPS * (2.0 + float(G.degree.max()))
    return t1, float(ratio.min()) * (1 - slack), float(ratio.max()) * (1 + slack)


# ------------------------------------------------------------- the fold solver
def _vertex_system(G: _Edges, g: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Residual of ``z g - 1 - sum 1/2 (sqrt(1 + 4 k) - 1)`` and its Jacobian: diagonal,
    ``d phi_a / d g_b`` and ``d phi_b / d g_a`` per edge."""
    return kernels.vertex_system(G.a, G.b, G.c, g, z, G.n)


def _edge_values(G: _Edges, g: np.ndarray) -> np.ndarray:
    """Branch Green functions on directed edges from the vertex ones: ``x_{u->v} = 2 g_v / (1 + q)``."""
    return kernels.edge_values(G.a, G.b, G.c, g)


class _Bordered:
    """Solves ``[[J, g], [e_pin^T, 0]] [dg; dz] = rhs`` for the vertex Jacobian ``J``.

    Bipartite graphs eliminate the larger side first (its block of ``J`` is diagonal), so the
    factorisation is a dense one of the smaller side; other graphs use a sparse LU.
    """

    def __init__(self, G: _Edges, pin: int, diag: np.ndarray, jab: np.ndarray, jba: np.ndarray, gz: np.ndarray):
        n = G.n
        self.G, self.pin, self.n = G, pin, n
        self.dense = n <= _REFACTOR_ALWAYS_MAX
        if self.dense:  # small: one dense LU, no sparse bookkeeping
            Mf = np.zeros((n + 1, n + 1))
            Mf[np.arange(n), np.arange(n)] = diag
            np.add.at(Mf, (G.a, G.b), jab)
            np.add.at(Mf, (G.b, G.a), jba)
            Mf[:n, n] = gz
            Mf[n, pin] = 1.0
            self.lu = sla.lu_factor(Mf, check_finite=False)
        elif G.side is not None and G.schur_fits:
            sp_ = G.split()
            self.keep, self.drop, pos = sp_.keep, sp_.drop, sp_.pos
            nk, nd = self.keep.size, self.drop.size
            # J restricted: rows keep / cols drop (C_kd) and rows drop / cols keep (C_dk).
            C_kd, C_dk = sp_.blocks(jab, jba)
            self.Dd = diag[self.drop]
            self.C_kd, self.C_dk = C_kd, C_dk
            if sp_.pair_work <= _PAIR_VS_SYRK[kernels.compiled_bound()] * nk * nk * nd or not (np.all(self.Dd > 0) and nk * nd <= _DENSE_SCHUR_MAX):
                # sparse layers: C_kd D^-1 C_dk = diag(g_k) sum_d (g_d / D_d) Q_d Q_d^T with Q = c / q,
                # one pass over the pairs of edges at each dropped vertex (each pair once)
                S = kernels.gram_pairs(sp_.drop_ptr, sp_.by_drop, C_kd.rows, -C_kd.vals / gz[sp_.kept_end], gz[self.drop] / self.Dd, nk)
                S *= -gz[self.keep][:, None]
            else:
                # C_kd = diag(g_k) Q and C_dk = diag(g_d) Q^T with Q = c / q: one dense SYRK.
                Qs = kernels.dense_block(C_kd.rows, C_kd.cols, -C_kd.vals / gz[sp_.kept_end], nk, nd)
                Qs *= np.sqrt(gz[self.drop] / self.Dd)
                S = sla.blas.dsyrk(1.0, Qs, lower=False)
                S = np.triu(S) + np.triu(S, 1).T
                S *= -gz[self.keep][:, None]
            S[np.arange(nk), np.arange(nk)] += diag[self.keep]
            bord = gz[self.keep] - C_kd @ (gz[self.drop] / self.Dd)
            Mk = np.zeros((nk + 1, nk + 1))
            Mk[:nk, :nk] = S
            Mk[:nk, nk] = bord
            self.pin_dropped = not sp_.is_keep[pin]
            if self.pin_dropped:
                # e_pin^T dg with dg_pin = (r_pin_row - C_dk[pin] dg_k - g_pin dz) / D_pin
                pd = pos[pin]
                row = C_dk.row(pd)
                Mk[nk, :nk] = -row / self.Dd[pd]
                Mk[nk, nk] = -gz[pin] / self.Dd[pd]
            else:
                Mk[nk, pos[pin]] = 1.0
            self.pos = pos
            self.lu = sla.lu_factor(Mk, check_finite=False)
        else:
            rows = np.concatenate([np.arange(n), G.a, G.b, np.arange(n), [n]])
            cols = np.concatenate([np.arange(n), G.b, G.a, np.full(n, n), [pin]])
            vals = np.concatenate([diag, jab, jba, gz, [1.0]])
            Mf = sp.csc_array((vals, (rows, cols)), shape=(n + 1, n + 1))
            self.slu = spla.splu(Mf)

    def solve(self, r: np.ndarray, r_pin: float) -> tuple[np.ndarray, float]:
        n = self.n
        if self.dense:
            sol = sla.lu_solve(self.lu, np.append(r, r_pin), check_finite=False)
            return sol[:n], float(sol[n])
        if getattr(self, "Dd", None) is not None:
            rd = r[self.drop] / self.Dd
            rk = r[self.keep] - self.C_kd @ rd
            if self.pin_dropped:
                r_pin = r_pin - rd[self.pos[self.pin]]
            sol = sla.lu_solve(self.lu, np.append(rk, r_pin), check_finite=False)
            nk = self.keep.size
            dk, dz = sol[:nk], float(sol[nk])
            # back-substitute: D_d dg_d = r_d - C_dk dg_k - g_d dz
            dd = rd - (self.C_dk @ dk) / self.Dd - self._gd_over_D * dz
            dg = np.empty(n)
            dg[self.keep] = dk
            dg[self.drop] = dd
            return dg, dz
        sol = self.slu.solve(np.append(r, r_pin))
        return sol[:n], float(sol[n])


class _Branch:
    """Newton machinery on the pinned vertex system, with one cached factorisation.

    Every linear solve at the current point uses the cached (possibly older) factorisation
    plus iterative refinement against the exact Jacobian (an O(E) product); it refactorises
    only when refinement stops contracting. Near a previous point this saves most
    factorisations, which dominate the cost.
    """

    def __init__(self, G: _Edges, pin: int, n_factor: int = 0):
        self.G, self.pin = G, pin
        self.solver: _Bordered | None = None
        self.n_factor = n_factor
        self._at: tuple[float, np.ndarray] | None = None
        self.n_solve = 0
        # relative residual of each linear solve: inexact Newton needs little; dz/dtau near the
        # fold is ~1e-7, so 1e-11 keeps it accurate to ~1e-4 of itself
        self.rtol = 1e-11
        self._sys: tuple[float, np.ndarray, tuple] | None = None

    def system(self, g: np.ndarray, z: float) -> tuple:
        """``_vertex_system`` at ``(g, z)``, cached for the last point (Newton's residual, the
        linear solve and the tangent all evaluate it at the same point)."""
        if self._sys is None or self._sys[0] != z or self._sys[1] is not g:
            self._sys = (z, g, _vertex_system(self.G, g, z))
        return self._sys[2]

    def _refactor(self, g: np.ndarray, z: float) -> None:
        _, diag, jab, jba = self.system(g, z)
        self.solver = _Bordered(self.G, self.pin, diag, jab, jba, g)
        if getattr(self.solver, "Dd", None) is not None:
            self.solver._gd_over_D = g[self.solver.drop] / self.solver.Dd
        self.n_factor += 1

    def solve(self, g: np.ndarray, z: float, r: np.ndarray, r_pin: float, rtol: float | None = None) -> tuple[np.ndarray, float]:
        """Solve the bordered system at ``(g, z)`` to relative residual ``rtol`` (default: near
        machine precision, ``self.rtol``)."""
        rtol = self.rtol if rtol is None else rtol
        G = self.G
        _, diag, jab, jba = self.system(g, z)

        def apply(v: np.ndarray, vz: float) -> tuple[np.ndarray, float]:
            return diag * v + G.offdiag_apply(jab, jba, v) + g * vz, float(v[self.pin])

        rscale = max(float(np.max(np.abs(r))), abs(r_pin), 1e-300)
        # small systems: a fresh factorisation is cheaper than refinement sweeps
        stale = G.n <= _REFACTOR_ALWAYS_MAX and not (self._at is not None and self._at[0] == z and np.array_equal(self._at[1], g))
        for attempt in range(2):
            if self.solver is None or attempt == 1 or stale:
                self._refactor(g, z)
                self._at = (z, g.copy())
                stale = False
            v, vz = self.solver.solve(r, r_pin)
            prev = math.inf
            for _ in range(_MAX_REFINE):
                self.n_solve += 1
                ar, ap = apply(v, vz)
                res_v, res_p = r - ar, r_pin - ap
                res = max(float(np.max(np.abs(res_v))), abs(res_p)) / rscale
                if not math.isfinite(res):
                    break
                if res < rtol:
                    return v, vz
                if res > _MAX_CONTRACTION * prev:  # slow contraction: a fresh factorisation is cheaper
                    break
                prev = res
                dv, dvz = self.solver.solve(res_v, res_p)
                v, vz = v + dv, vz + dvz
            else:
                return v, vz
            if attempt == 0 and prev < 1e-10 and res <= 2 * prev:  # stalled at rounding level
                return v, vz
        return v, vz

    def correct(self, g: np.ndarray, z: float, maxit: int = 12) -> tuple[np.ndarray, float, bool]:
        """Newton on the pinned vertex system (``g_pin`` fixed) from ``(g, z)``; gives up early
        when the residual grows twice in a row (the caller then shortens its step)."""
        G = self.G
        prev, grew = math.inf, 0
        for _ in range(maxit):
            phi = self.system(g, z)[0]
            res = float(np.max(np.abs(phi) / (1.0 + z * g)))
            if res < G.residual_floor:
                return g, z, True
            grew = grew + 1 if res > prev else 0
            if grew >= 2 or not math.isfinite(res):
                return g, z, False
            prev = res
            # inexact Newton: a correction solved to 1e-3 of the residual still contracts ~1000x
            dg, dz = self.solve(g, z, -phi, 0.0, rtol=max(self.rtol, min(1e-3, 1e-3 * res)))
            step = 1.0
            while not (np.all(g + step * dg > 0) and math.isfinite(dz)):  # keep g positive
                step *= 0.5
                if step < 1e-8:
                    return g, z, False
            g, z = g + step * dg, z + step * dz
            if np.max(np.abs(step * dg) / g) < 1e-15 and abs(step * dz) <= 4 * _EPS * abs(z):
                return g, z, True
        phi = self.system(g, z)[0]
        return g, z, bool(np.max(np.abs(phi) / (1.0 + z * g)) < max(1e-12, 16 * G.residual_floor))

    def tangent(self, g: np.ndarray, z: float) -> tuple[np.ndarray, float]:
        """``(dg/dtau, dz/dtau)`` along the branch for ``tau = log g_pin``."""
        return self.solve(g, z, np.zeros(self.G.n), float(g[self.pin]))


def _sweep(G: _Edges, z: float, x: np.ndarray | None, n_sweeps: int) -> tuple[np.ndarray | None, int]:
    """``x <- 1 / (z - S x)`` from ``x`` (0 when None). Returns None when a denominator
    turns non-positive (then ``z <= rho(T)``, certified), with the sweeps used."""
    if x is None:
        x = np.zeros(2 * G.E)
    for i in range(1, n_sweeps + 1):
        x_new, positive, change = kernels.sweep_step(G.a, G.b, G.c, x, z, G.n)
        if not positive:
            return None, i
        if change <= 2 * _EPS:
            return x_new, i
        x = x_new
    return x, n_sweeps


def _dual_from_tangent(G: _Edges, x: np.ndarray, h: np.ndarray, enough: float = math.inf) -> float:
    """The lower certificate ``L(p)`` for the dual ``p`` built from the branch tangent ``h``.

    At the fold the tangent ``h = dg/dtau`` spans the null space of the vertex Jacobian, which is
    ``diag(g)`` times a symmetric matrix; the optimal ``p`` then has inflow ``h_v`` at every
    vertex (``sum_{head(e) = v} p_e = h_v``) and ``p = c x^2 (M p)`` reads, per edge ``uv``,
    ``p_uv = a (h_u - p_vu)``, ``p_vu = b (h_v - p_uv)`` with ``a = c x_uv^2``,
    ``b = c x_vu^2`` (``a b < 1``): two unknowns, solved in closed form. O(E), no eigensolver.
    Up to three power steps ``p <- c x^2 M p`` follow until the bound reaches ``enough``; every
    iterate is a valid certificate.
    """
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(x))):
        return 0.0
    h = h if h.sum() >= 0 else -h
    p = kernels.dual_from_vertex(G.a, G.b, G.c, x, h)
    best = G.lower(p)
    if best >= enough:
        return best
    al = np.concatenate([G.c, G.c]) * x * x
    p = np.maximum(p, 0.0)
    for _ in range(3):
        if best >= enough:
            break
        p = al * G.M(p)
        total = p.sum()
        if not (total > 0 and math.isfinite(total)):
            break
        p /= total
        best = max(best, G.lower(p))
    return best


def _start_upper(G: _Edges) -> float:
    """A cheap certified upper bound: ``x_{v->w} = 1 / sqrt(C_v)`` with ``C_v = sum_w c_vw``."""
    C = np.bincount(G.a, weights=G.c, minlength=G.n) + np.bincount(G.b, weights=G.c, minlength=G.n)
    r = 1.0 / np.sqrt(np.maximum(C, np.finfo(float).tiny))  # C = 0: only dropped weights
    return G.upper(np.concatenate([r[G.a], r[G.b]]))  # x_{v->w} = 1 / sqrt(C_v)


def _fold(G: _Edges, tol: float, maxiter: int, pin: int | None = None, max_repins: int = 3) -> tuple[float, float, float, int, bool, int | None]:
    """The fold method: value, lower, upper, factorisations, success, and the vertex where the
    branch moved fastest at the end (the natural pin for another attempt)."""
    if pin is None:
        pin = int(np.argmax(G.degree))
        if G.side is not None:  # pin on the smaller side: that side is the one factorised
            small = int(np.count_nonzero(G.side == 1) < np.count_nonzero(G.side == 0))
            pin = int(np.argmax(np.where(G.side == small, G.degree, -1)))
    z_lo = G.lower(np.ones(2 * G.E))  # the free, uniform-p lower bound
    z = 1.05 * _start_upper(G)  # above rho: the sweep from 0 converges geometrically
    x, _ = _sweep(G, z, None, _START_SWEEPS)
    if x is None:
        return math.nan, z_lo, math.inf, 0, False, None
    g = 1.0 / (z - G.vertex_out(x))
    if np.any(g <= 0):
        return math.nan, z_lo, math.inf, 0, False, None
    br = _Branch(G, pin)
    g, z, ok = br.correct(g, z)
    if not ok:
        return math.nan, z_lo, math.inf, br.n_factor, False, None
    x = best_x = _edge_values(G, g)
    best_upper, best_z = G.upper(best_x), z
    lower, polish, repins = z_lo, 0, 0
    tan, dz = br.tangent(g, z)
    pts = [(math.log(g[pin]), z, dz)]
    target = 0.1 * tol * z
    bracket: list[float] | None = None  # [tau with dz < 0, tau with dz > 0]
    for it in range(maxiter):
        if br.n_factor > _MAX_FACTOR:
            break
        progress.update(f"fold step {it + 1}, bracket {_relative_width(lower, best_upper)}, "
                        f"{br.n_factor} factorisations")
        tau, zc, dzc = pts[-1]
        new = math.nan
        if len(pts) >= 2 and pts[-2][2] != dzc:  # secant on dz/dtau
            t0, _, d0 = pts[-2]
            if tau == t0:  # tau no longer resolves the fold (steps below its last bit): stop
                break
            curv = (dzc - d0) / (tau - t0)
            if curv > 0:
                if dzc * dzc / (2 * curv) < target:  # the quadratic model's remaining drop
                    # z is converged; the dual bound lags (its deficit is ~ |tau - tau*|, not
                    # squared): certify here, and polish a few more secant steps if needed
                    lower = max(lower, _dual_from_tangent(G, x, tan, best_upper * (1 - 0.1 * tol)))
                    if best_upper - lower <= tol * best_upper or polish >= 4 or abs(dzc / curv) < 1e-14:
                        break
                    polish += 1
                new = tau - dzc / curv
        if bracket is not None:
            lo_t, hi_t = bracket
            if not (math.isfinite(new) and min(lo_t, hi_t) < new < max(lo_t, hi_t)):
                new = 0.5 * (lo_t + hi_t)
        elif not math.isfinite(new) or (new - tau) * (-dzc) <= 0:
            # quadratic model z = z* + a (tau - tau*)^2 with z* >= z_lo bounds the step
            new = tau - 2.0 * max(zc - z_lo, 1e-3 * zc) / dzc if dzc != 0 else tau + 1.0
        step = new - tau
        if bracket is None:  # far from the fold the branch bends: short steps correct in few iterations
            step = max(-_MAX_STEP, min(_MAX_STEP, step))
        for _attempt in range(30):
            g_pred = g * np.exp(step * tan / g)  # log-linear predictor keeps g positive
            g_new, z_new, ok = br.correct(g_pred, zc + step * dzc)
            if ok:
                break
            step *= 0.5
        else:
            break
        g, z = g_new, z_new
        tan, dz = br.tangent(g, z)
        x = _edge_values(G, g)
        u = G.upper(x)
        if u < best_upper:
            best_upper, best_x, best_z = u, x, z
        speed = np.abs(tan / g)
        if bracket is None and repins < max_repins and speed.max() > 4.0:
            # another vertex's g moves much faster along the branch (the fold is driven by a
            # local structure there): re-pin there, so tau stays a good branch parameter
            pin = int(np.argmax(speed))
            br = _Branch(G, pin, n_factor=br.n_factor)
            tan, dz = br.tangent(g, z)
            pts = [(math.log(g[pin]), z, dz)]
            repins += 1
            continue
        tnew = math.log(g[pin])
        pts.append((tnew, z, dz))
        if bracket is None:
            if dz > 0 and dzc < 0:
                bracket = [tau, tnew]
            elif dz < 0 and dzc > 0:
                bracket = [tnew, tau]
        elif dz < 0:
            bracket[0] = tnew
        else:
            bracket[1] = tnew
        if dz == 0.0:
            break
    lower = max(lower, _dual_from_tangent(G, x, tan, best_upper * (1 - 0.1 * tol)))
    upper = best_upper
    value = min(max(best_z, lower), upper)
    # where the branch moves fastest: the best pin for another attempt
    speed = np.abs(tan / g)
    next_pin = int(np.argmax(speed)) if np.all(np.isfinite(speed)) else None
    return value, lower, upper, br.n_factor, upper - lower <= tol * upper, next_pin


def _bisect(G: _Edges, tol: float, maxiter: int, lower: float = 0.0, upper: float = math.inf, max_sweeps: int = 20_000,
            budget: int | None = None, near: float | None = None,
            until_decided: bool = False) -> tuple[float, float, float, int]:
    """Reference method: bisection on z with the monotone sweep (slow near the fold).

    Stops refining when a sweep does not settle within ``max_sweeps`` or after ``budget``
    sweeps in all (default: about ``5e7`` directed-edge updates); the bracket stays certified.
    ``near`` (a value the caller compares rho with, e.g. t2) is tried first, then just below it,
    so that a budget spent there decides on which side of it rho lies; ``until_decided`` stops
    as soon as the bracket does (``lower >= near`` or ``upper < near``).
    """
    if budget is None:
        budget = max(20_000, int(5e7 / max(G.E, 1)))
    lower = max(lower, G.lower(np.ones(2 * G.E)))
    wdeg = G.weighted_degree()
    if not math.isfinite(upper):
        upper = float(wdeg.max()) * (1.0 + 1e-12) + 1e-300
    sweeps = 0
    aim = near is not None and math.isfinite(near)
    first = [near, near * (1 - 1e-7)] if aim else []
    for _ in range(maxiter):
        if upper - lower <= tol * upper:
            break
        if until_decided and aim and (lower >= near or upper < near):
            break
        if sweeps >= budget:
            break
        while first and not lower < first[0] < upper:
            first.pop(0)
        z = first.pop(0) if first else 0.5 * (lower + upper)
        progress.update(f"bisection, bracket {_relative_width(lower, upper)}, {sweeps} of {budget} sweeps")
        x, used = _sweep(G, z, None, min(max_sweeps, budget - sweeps + 1))
        sweeps += used
        if x is None:  # a finite subtree has an eigenvalue >= z
            lower = z
            continue
        u = G.upper(x)
        if u >= upper:  # the sweep did not settle: undecided at this z, stop refining
            break
        upper = max(u, lower)
    return 0.5 * (lower + upper), lower, upper, sweeps


def _tree_bracket(G: _Edges, t1: float, tol: float) -> tuple[float, float]:
    """Certified bracket on ``t1`` of a tree: at ``z`` the sweep from 0 is the exact
    leaf-to-root elimination (settles within diameter + 1 sweeps); all pivots positive
    (edge denominators, then ``z - V_v`` at a vertex) iff ``z > t1`` (Sylvester's inertia)."""

    def above(z: float) -> bool:
        # exact after diameter + 1 sweeps (rounding may keep the last bits moving: no settle test)
        x, _ = _sweep(G, z, None, G.n + 1)
        return x is not None and bool(np.all(z - G.vertex_out(x) > 0))

    lo, hi = math.nan, math.nan
    for k in range(8):
        d = 0.25 * max(tol, 1e-13) * 10.0**k * t1
        if math.isnan(hi) and above(t1 + d):
            hi = t1 + d
        if math.isnan(lo) and above(t1 - d) is False:
            lo = t1 - d
        if not (math.isnan(lo) or math.isnan(hi)):
            break
    return lo, hi


def _inertia_above(A: sp.csr_array, z: float) -> bool | None:
    """Whether ``z > lambda_max(A)`` for a symmetric ``A``: ``z I - A`` is positive definite iff
    every pivot of its ``L D L^T`` factorisation (a symmetric permutation, no row pivoting) is
    positive (Sylvester's inertia). A sparse factorisation: on a graph of cycle rank <= 1 the
    fill is O(N) (trees eliminate leaf to root), so memory stays linear in the edges. None
    when the factorisation broke down or pivoted off the diagonal."""
    n = A.shape[0]
    M = (sp.identity(n, format="csc") * z - A).tocsc()
    try:
        lu = spla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options={"SymmetricMode": True})
    except (RuntimeError, MemoryError):
        return None
    if not np.array_equal(lu.perm_r, lu.perm_c):
        return None
    return bool(np.all(lu.U.diagonal() > 0))


def _inertia_bracket(G: _Edges, t1: float, tol: float) -> tuple[float, float]:
    """Certified bracket on ``t1`` by the inertia of ``z I - A`` at ``t1 (1 -+ d)``, ``d`` growing
    from ``tol / 4`` (NaN ends where it never decided). Rounding in the factorisation moves the
    decision by ~``n eps t1`` at most: ``d`` starts above that."""
    A = G.adjacency()
    floor = 64.0 * _EPS * max(G.n, 1) ** 0.5
    lo, hi = math.nan, math.nan
    for k in range(8):
        d = max(0.25 * max(tol, 1e-13), floor) * 10.0**k
        if math.isnan(hi) and _inertia_above(A, t1 * (1 + d)) is True:
            hi = t1 * (1 + d)
        if math.isnan(lo) and _inertia_above(A, t1 * (1 - d)) is False:
            lo = t1 * (1 - d)
        if not (math.isnan(lo) or math.isnan(hi)):
            break
    return lo, hi


def _fold_attempts(G: _Edges, tol: float, maxiter: int) -> tuple[float, float, float, int, bool]:
    """The fold solver, rerun at most twice at the vertex where the branch moved fastest;
    certificates from different runs combine (max of lowers, min of uppers)."""
    value, lo, hi, steps, ok, pin = _fold(G, tol, maxiter)
    tried: set[int | None] = {None}
    for _attempt in range(2):
        if ok or pin in tried:
            break
        tried.add(pin)
        v2, lo2, hi2, st2, _, pin = _fold(G, tol, maxiter, pin=pin, max_repins=0)
        steps += st2
        if hi2 - lo2 < hi - lo:
            value = v2
        lo, hi = max(lo, lo2), min(hi, hi2)
        value = min(max(value, lo), hi)
        ok = hi - lo <= tol * hi
    return value, lo, hi, steps, ok


def _component_radius(G: _Edges, tol: float, method: str, maxiter: int, near: float | None = None,
                      sweep_budget: int | None = None) -> tuple[float, float, float, str, int]:
    """``(value, lower, upper, method, iterations)`` for one connected graph whose largest
    weight is 1 (then ``rho >= 1``: one edge is a finite subtree)."""
    if G.E == 0:
        return 0.0, 0.0, 0.0, "empty", 0
    rank = G.E - G.n + 1
    closed = _closed_form(G)
    if closed is not None and method in ("auto", "bracket"):
        return closed, closed * (1 - 4 * _EPS), closed * (1 + 4 * _EPS), "closed_form", 0
    if rank <= 1:
        t1, lo, hi = _perron(G, tol)
        if math.isfinite(lo) and hi - lo <= max(tol, 1e-12) * hi:
            return t1, lo, hi, "perron", 0
        # the Perron vector's tiny entries deep in hanging trees spoil Collatz-Wielandt: certify
        # t1 by the inertia of z I - A instead (a sparse factorisation, linear in the edges)
        ilo, ihi = _inertia_bracket(G, t1, tol)
        if not (math.isnan(ilo) or math.isnan(ihi)):
            return min(max(t1, ilo), ihi), ilo, ihi, "perron", 0
        if rank == 0:  # a tree: certify t1 by the exact leaf-to-root elimination instead
            lo, hi = _tree_bracket(G, t1, tol)
            if math.isnan(lo) or math.isnan(hi):  # not certified: the free bracket, reported wide
                lo, hi = G.lower(np.ones(2 * G.E)), float(G.weighted_degree().max())
            return min(max(t1, lo), hi), lo, hi, "perron", 0
    if method == "bracket":
        # no factorisation: the bisection aimed at `near`, within its sweep budget (O(E) each)
        value, lo, hi, sweeps = _bisect(G, tol, 200, upper=_start_upper(G), budget=sweep_budget, near=near,
                                        until_decided=True)
        return value, lo, hi, "bisect", sweeps
    if method == "auto" and not G.schur_fits and 8.0 * (G.core_small_side + 1) ** 2 > _SCHUR_DENSE_BYTES:
        # a 2-core too large for a dense or a sparse factorisation in linear memory: the bounded
        # bisection (O(E) memory; its bracket is certified, converged or not)
        budget = min(20_000, max(100, int(2.5e7 / (2 * G.E)))) if sweep_budget is None else sweep_budget
        value, lo, hi, sweeps = _bisect(G, tol, 200, upper=_start_upper(G), budget=budget, near=near)
        return value, lo, hi, "bisect", sweeps
    if method in ("auto", "fold"):
        try:
            value, lo, hi, steps, ok = _fold_attempts(G, tol, maxiter)
        except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
            # a numerically singular step: the fold gives nothing, the bisection below decides
            value, lo, hi, steps, ok = math.nan, 0.0, math.inf, 0, False
        hi = min(hi, _start_upper(G))
        if ok or method == "fold":
            return min(max(value, lo), hi), lo, hi, "fold", steps
        # bounded fallback: about 2.5e7 directed-edge updates
        budget = min(20_000, max(100, int(2.5e7 / (2 * G.E)))) if sweep_budget is None else sweep_budget
        v2, lo2, hi2, sweeps = _bisect(G, tol, 200, lower=lo, upper=hi, budget=budget, near=near)
        if lo2 <= value <= hi2:
            v2 = value
        return v2, lo2, hi2, "fold+bisect", steps + sweeps
    value, lo, hi, sweeps = _bisect(G, tol, 200, upper=_start_upper(G), budget=sweep_budget, near=near)
    return value, lo, hi, "bisect", sweeps


# ------------------------------------------------------------------ public API
def _check_method(method: Any) -> str:
    if method not in COVER_METHODS:
        raise ValueError(f"method must be one of {COVER_METHODS}; got {method!r}")
    return str(method)


def _combine(parts: list[tuple[float, float, float, str, int]], rank: int, n_comp: int, tol: float) -> CoverRadius:
    if not parts:
        return CoverRadius(0.0, 0.0, 0.0, "empty", rank, 0, 0, True, tol)
    i = int(np.argmax([p[0] for p in parts]))
    value = parts[i][0]
    lower = max(p[1] for p in parts)
    upper = max(p[2] for p in parts)
    methods = sorted({p[3] for p in parts if p[3] != "empty"}) or ["empty"]
    converged = bool(upper - lower <= tol * upper)
    return CoverRadius(float(value), float(lower), float(upper), "+".join(methods), int(rank), int(n_comp),
                       int(sum(p[4] for p in parts)), converged, tol)


def _scaled_component(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, side: np.ndarray | None, tol: float,
                      method: str, maxiter: int, near: float | None = None,
                      sweep_budget: int | None = None) -> tuple[float, float, float, str, int]:
    """``_component_radius`` on ``W / max W``, scaled back: ``rho(c W) = c rho(W)`` for every
    representable ``c``, and every tolerance is relative to the radius."""
    scale = float(w.max())
    w = w / scale
    # weights whose square underflows count as 0 in c = w^2; the upper bound then adds their
    # largest weighted degree (the norm of what was dropped, by the Schur test)
    tiny = w < 1e-150
    c = np.where(tiny, 0.0, w * w)
    dropped = 0.0
    if tiny.any():
        wt = np.where(tiny, w, 0.0)
        dropped = float((np.bincount(a, weights=wt, minlength=n) + np.bincount(b, weights=wt, minlength=n)).max())
    value, lo, hi, how, its = _component_radius(_Edges(n, a, b, w, side, c=c), tol, method, maxiter,
                                                None if near is None else near / scale, sweep_budget)
    hi = hi + dropped
    lo = min(lo, hi)
    value = min(max(value, lo), hi)
    return value * scale, lo * scale, hi * scale, how, its


def universal_cover_radius(
    graph: Any,
    tol: float = 1e-10,
    *,
    scope: str | None = None,
    weighted: bool | None = None,
    method: str = "auto",
    maxiter: int = 100,
    near: float | None = None,
    sweep_budget: int | None = None,
) -> CoverRadius:
    """The spectral radius ``rho(T)`` of a bipartite graph's universal covering tree.

    Parameters
    ----------
    graph
        A :class:`BipartiteGraph` (or anything it accepts).
    tol
        Target relative width of the certified bracket, ``upper - lower <= tol * upper``; a
        result that misses it has ``converged=False`` and a :class:`CoverToleranceWarning` is
        issued (the bracket is certified either way).
    scope
        None (default) requires a connected graph (isolated vertices included) and raises
        ``ValueError`` otherwise. ``"largest"`` analyses the component with most edges;
        ``"nonisolated"`` / ``"all"`` take the largest ``rho`` over the components (the cover of
        a disconnected graph is a forest of covers).
    weighted
        None uses the graph as it is, False its 0/1 pattern, True its weights.
    method
        ``"auto"`` (closed forms, then ``"fold"`` with ``"bisect"`` as a fallback), ``"fold"``,
        ``"bisect"`` (the slow reference), or ``"bracket"``: the closed forms and amenable covers
        exactly, otherwise only the bisection aimed at ``near`` within ``sweep_budget``, stopped
        as soon as its bracket decides on which side of ``near`` rho lies (no factorisation; a
        certified bracket that need not meet ``tol``: what a report needs to decide
        ``t2 <= rho(T)`` at a bounded cost).
    maxiter
        Outer iterations of the fold search.
    near
        A value the caller will compare ``rho(T)`` with (a report passes ``t2``): where the
        bounded bisection runs (a 2-core too large to factorise in linear memory, or a fold that
        failed), it tests ``near`` first, so its budget decides on which side of it rho lies.
    sweep_budget
        Sweeps (O(E) each) the bounded bisection may spend; default about ``2.5e7 / (2E)``.

    Examples
    --------
    >>> from bipartite_expanders import generators, universal_cover_radius
    >>> r = universal_cover_radius(generators.random_biregular(12, 3, d_right=4, seed=0), method="fold")
    >>> round(r.value, 8), round(2**0.5 + 3**0.5, 8), r.width < 1e-9
    (3.14626437, 3.14626437, True)
    """
    tol = check_tol(tol)
    method = _check_method(method)
    check_scope(scope, allow_none=True)
    if weighted not in (None, True, False):
        raise TypeError(f"weighted must be None, True or False; got {weighted!r}")
    g = as_graph(graph)
    if weighted is False or (weighted is None and not g.is_weighted):
        g = g.pattern()
    kernels.prefer_compiled(g.n_edges)
    comp = connected_components(g)
    if scope is None:
        if comp.n_components != 1:
            iso = int(np.count_nonzero(comp.edges == 0))
            raise ValueError(
                f"graph is disconnected ({comp.n_nontrivial} components with edges, {iso} isolated vertices); "
                "rho(T) is defined per connected graph: pass scope='largest', 'nonisolated' or 'all'"
            )
        scope = "all"
    B, _, _ = restrict_to_scope(g, scope, comp)
    with _one_blas_thread(), progress.task(f"universal-cover radius ({B.nnz} edges)"):
        r = _bipartite_radius(sp.csr_array(B), tol, method, maxiter, near, sweep_budget)
    return _warn_if_wide(r)  # after the status line is erased


def _relative_width(lower: float, upper: float) -> str:
    # scale-free (a report analyses a power-of-two rescaled copy): the width the tolerance compares
    return f"relative width {(upper - lower) / upper:.1e}" if math.isfinite(upper) and upper > 0 else "unbounded"


def _one_blas_thread() -> Any:
    # the dense factorisations here are small: one BLAS thread is several times faster than two
    return solve_threads(1, 1)


def _warn_if_wide(r: CoverRadius) -> CoverRadius:
    if not r.converged:
        warnings.warn(
            f"universal-cover bracket [{r.lower!r}, {r.upper!r}] (method {r.method}) is {r.width / r.upper:.2e} wide "
            f"relative, above tol={r.tol:g}; it is certified but does not decide rho(T) to that tolerance",
            CoverToleranceWarning, stacklevel=3)
    return r


def _bipartite_radius(B: sp.csr_array, tol: float, method: str, maxiter: int, near: float | None = None,
                      sweep_budget: int | None = None) -> CoverRadius:
    m, n = B.shape
    coo = B.tocoo()
    a = coo.row.astype(np.int64)
    b = coo.col.astype(np.int64) + m
    side = np.concatenate([np.zeros(m, dtype=np.int8), np.ones(n, dtype=np.int8)])
    return _radius_of_edges(m + n, a, b, coo.data.astype(float), side, tol, method, maxiter, near, sweep_budget)


def _radius_of_edges(N: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, side: np.ndarray | None, tol: float, method: str, maxiter: int,
                     near: float | None = None, sweep_budget: int | None = None) -> CoverRadius:
    if a.size == 0:
        return CoverRadius(0.0, 0.0, 0.0, "empty", 0, 0, 0, True, tol)
    adj = sp.csr_array((np.ones(a.size), (a, b)), shape=(N, N))
    k, labels = csgraph.connected_components(adj, directed=False)
    edge_label = labels[a]
    n_per = np.bincount(labels, minlength=k)
    e_per = np.bincount(edge_label, minlength=k)
    rank = int(a.size - N + k)
    parts = []
    order = np.argsort(edge_label, kind="stable")
    starts = np.concatenate([[0], np.cumsum(e_per)])
    nonempty = np.flatnonzero(e_per)
    for i, c in enumerate(nonempty):
        if nonempty.size > 1:
            progress.update(f"component {i + 1} of {nonempty.size} ({int(e_per[c])} edges)")
        idx = order[starts[c]:starts[c + 1]]
        verts = np.flatnonzero(labels == c) if k > 1 else np.arange(N)
        pos = np.empty(N, dtype=np.int64)
        pos[verts] = np.arange(verts.size)
        parts.append(_scaled_component(int(n_per[c]), pos[a[idx]], pos[b[idx]], w[idx], None if side is None else side[verts],
                                       tol, method, maxiter, near, sweep_budget))
    return _combine(parts, rank, int(np.count_nonzero(e_per)), tol)


def cover_radius_of_adjacency(A: Any, tol: float = 1e-10, *, method: str = "auto", maxiter: int = 100) -> CoverRadius:
    """``rho(T)`` for any simple graph given by a symmetric non-negative adjacency matrix.

    The universal cover is defined for every graph, bipartite or not; this entry point takes
    the (N x N) adjacency (dense or sparse; zero diagonal) instead of a bi-adjacency matrix.

    >>> import numpy as np
    >>> K4_minus_edge = np.ones((4, 4)) - np.eye(4); K4_minus_edge[0, 1] = K4_minus_edge[1, 0] = 0
    >>> round(cover_radius_of_adjacency(K4_minus_edge).value, 5)
    2.50829
    """
    tol = check_tol(tol)
    method = _check_method(method)
    M = checked_csr(A, "A") if sp.issparse(A) else None
    if M is None:
        arr = np.asarray(A)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"A must be a real matrix; got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"A must be 2-D; got shape {arr.shape}")
        M = sp.csr_array(arr.astype(float))
    if M.shape[0] != M.shape[1] or M.shape[0] < 1:
        raise ValueError(f"A must be a non-empty square matrix; got shape {M.shape}")
    M = sp.csr_array(M, dtype=float)
    M.sum_duplicates()
    M.eliminate_zeros()
    if M.nnz and (not np.all(np.isfinite(M.data)) or M.data.min() < 0):
        raise ValueError("A must have finite, non-negative entries")
    if M.diagonal().any():
        raise ValueError("A must have a zero diagonal (loops are not supported)")
    if (M != M.T).nnz:
        raise ValueError("A must be symmetric")
    coo = sp.triu(M, k=1).tocoo()
    kernels.prefer_compiled(coo.nnz)
    with _one_blas_thread(), progress.task(f"universal-cover radius ({coo.nnz} edges)"):
        r = _radius_of_edges(M.shape[0], coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, None, tol, method, maxiter)
    return _warn_if_wide(r)


def _max_edge_sum(B: Any, su: np.ndarray, sv: np.ndarray, deg_l: np.ndarray) -> float:
    """``max over edges uv of su[u] + sv[v]``; O(1) when the largest terms of both sides meet
    on an edge (always in a dense layer), else one pass over the edges."""
    u, v = int(np.argmax(su)), int(np.argmax(sv))
    row = B.indices[B.indptr[u]:B.indptr[u + 1]]
    k = np.searchsorted(row, v)
    if k < row.size and row[k] == v:
        return float(su[u] + sv[v])
    live = deg_l > 0
    best = np.maximum.reduceat(sv[B.indices], B.indptr[:-1][live])
    return float((su[live] + best).max())


def two_core_sides(graph: Any) -> tuple[int, int]:
    """Vertices of each side on the 2-core of a bipartite graph: what is left once pendant
    vertices are peeled (chains and hanging trees go; at most 256 rounds, longer chains count
    as core). The cover solver's factorisations cost what this core costs.

    >>> from bipartite_expanders import generators
    >>> two_core_sides(generators.even_cycle(4)), two_core_sides(generators.complete_bipartite(1, 3))
    ((4, 4), (0, 0))
    """
    g = as_graph(graph)
    B = g.matrix.tocoo()
    m, n = B.shape
    if B.nnz == 0:
        return 0, 0
    G = _Edges(m + n, B.row.astype(np.int64), B.col.astype(np.int64) + m, np.ones(B.nnz), None)
    alive = G.core_mask
    return int(alive[:m].sum()), int(alive[m:].sum())


def cover_bracket_free(graph: Any) -> tuple[float, float]:
    """The free bracket on ``rho(T)`` of a connected graph: no iteration, O(E).

    Lower: the edge-average bound ``(1/E) sum_{uv} w_uv (sqrt(d_u - 1) + sqrt(d_v - 1))`` (the
    dual certificate at uniform ``p``; valid for every graph), raised to Hoory's
    ``sqrt(d_L - 1) + sqrt(d_R - 1)`` for an unweighted graph of minimum degree >= 2.
    Upper: for an unweighted graph with a cycle, ``max_{uv} sqrt(d_u - 1) + sqrt(d_v - 1)``
    (the primal certificate ``x_{v->w} = 1 / sqrt(d_v - 1)``); otherwise ``inf`` (use ``t1``).

    >>> from bipartite_expanders import generators
    >>> lo, hi = cover_bracket_free(generators.even_cycle(4))   # the cycle's cover is Z: rho = 2
    >>> round(lo, 9), round(hi, 9)
    (2.0, 2.0)
    """
    g = as_graph(graph)
    B = g.matrix
    if B.nnz == 0:
        return 0.0, 0.0
    dl_count, dr_count = degree_counts(g)
    dl, dr = dl_count.astype(float), dr_count.astype(float)
    # per-vertex terms: sum over edges of w_uv (s_u + s_v) = sum_u s_u W_u + sum_v s_v W_v
    su = np.sqrt(np.maximum(dl - 1.0, 0.0))
    sv = np.sqrt(np.maximum(dr - 1.0, 0.0))
    wl = np.add.reduceat(B.data, B.indptr[:-1][dl_count > 0]) if g.is_weighted else dl[dl_count > 0]
    wr = np.bincount(B.indices, weights=B.data, minlength=B.shape[1]) if g.is_weighted else dr
    slack = 8.0 * _EPS * (2.0 + max(dl.max(), dr.max()))
    edge_mean = float(su[dl_count > 0] @ wl + sv @ wr) / B.nnz
    lower = edge_mean * (1 - slack)
    upper = math.inf
    nl, nr = int(np.count_nonzero(dl)), int(np.count_nonzero(dr))
    if not g.is_weighted:
        comp = connected_components(g)
        if dl[dl > 0].min() >= 2 and dr[dr > 0].min() >= 2 and comp.n_nontrivial == 1:
            hoory = math.sqrt(B.nnz / nl - 1.0) + math.sqrt(B.nnz / nr - 1.0)  # Hoory needs one component
            lower = max(lower, hoory * (1 - slack))
        nontrivial = comp.edges > 0
        if np.all(comp.edges[nontrivial] >= comp.n_vertices[nontrivial]):  # every component has a cycle
            upper = _max_edge_sum(B, su, sv, dl_count) * (1 + slack)
    return float(lower), float(upper)
