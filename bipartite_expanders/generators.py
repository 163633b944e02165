"""Bipartite graphs with known spectra, for baselines, masks and tests.

=================================  ==========  =====================
graph                               t1          t2
=================================  ==========  =====================
``complete_bipartite(m, n)``        sqrt(m n)   0
``pg2_incidence(q)`` (q prime)      q + 1       sqrt(q)
``even_cycle(n)`` (C_2n, n >= 2)    2           2 cos(pi / n)
``hypercube(d)`` (d >= 2)           d           d - 2
``random_biregular(...)``           sqrt(c d)   (random)
=================================  ==========  =====================
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .components import connected_components, degree_counts
from .cover import cover_bracket_free, universal_cover_radius
from .files import json_safe
from .graph import BipartiteGraph
from .spectrum import spectral_pair, top_singular_values

__all__ = [
    "complete_bipartite", "random_biregular", "pg2_incidence", "even_cycle", "hypercube", "star", "disjoint_union", "random_lift",
    "prime_power", "gf_tables", "PG2_MAX_Q", "array_code_incidence",
    "RamanujanGraph", "RamanujanSearchError", "RAMANUJAN_METHODS", "CERTIFICATE_RTOL",
    "ramanujan_biregular", "ramanujan_bipartite", "near_biregular_degrees", "random_near_biregular",
    "nm_pattern", "ramanujan_nm",
]


def _positive_int(x: object, name: str, minimum: int = 1) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {type(x).__name__}")
    if x < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {x}")
    return int(x)


def complete_bipartite(m: int, n: int, weight: float = 1.0) -> BipartiteGraph:
    """K_{m,n}: every left vertex joined to every right vertex. ``t1 = weight sqrt(mn)``, ``t2 = 0``.

    >>> complete_bipartite(2, 3).n_edges
    6
    """
    m, n = _positive_int(m, "m"), _positive_int(n, "n")
    if not (np.isfinite(weight) and weight > 0):
        raise ValueError(f"weight must be finite and positive; got {weight}")
    return BipartiteGraph(sp.csr_array(np.full((m, n), float(weight))))


def star(n: int) -> BipartiteGraph:
    """K_{1,n}: one left vertex joined to ``n`` right vertices (minimum degree 1)."""
    return complete_bipartite(1, n)


def random_biregular(n_left: int, d_left: int, n_right: int | None = None, d_right: int | None = None, *, seed: int | None = 0) -> BipartiteGraph:
    """A random simple (d_left, d_right)-biregular bipartite graph, seeded.

    Give ``n_right`` or ``d_right`` (the other follows from ``n_left d_left = n_right d_right``).
    Built by a random pairing of edge stubs (the configuration model), then repairing repeated
    pairs by random edge switches that keep every degree, so degrees are exact and the graph is simple.

    >>> g = random_biregular(6, 3, d_right=2, seed=1)
    >>> g.shape, sorted(set(g.matrix.sum(axis=0).tolist()))
    ((6, 9), [2.0])
    """
    n_left, d_left = _positive_int(n_left, "n_left"), _positive_int(d_left, "d_left")
    edges = n_left * d_left
    if n_right is None and d_right is None:
        raise ValueError("give n_right or d_right")
    if n_right is None:
        d_right = _positive_int(d_right, "d_right")
        if edges % d_right:
            raise ValueError(f"n_left * d_left = {edges} is not divisible by d_right = {d_right}")
        n_right = edges // d_right
    else:
        n_right = _positive_int(n_right, "n_right")
        if edges % n_right:
            raise ValueError(f"n_left * d_left = {edges} is not divisible by n_right = {n_right}")
        implied = edges // n_right
        if d_right is not None and d_right != implied:
            raise ValueError(f"d_right = {d_right} contradicts n_left * d_left / n_right = {implied}")
        d_right = implied
    if d_left > n_right or d_right > n_left:
        raise ValueError(f"no simple graph: d_left={d_left} > n_right={n_right} or d_right={d_right} > n_left={n_left}")
    rng = np.random.default_rng(seed)
    left, right = _biregular_pairs(n_left, d_left, n_right, d_right, rng)
    return BipartiteGraph.from_edges(np.column_stack([left, right]), (n_left, n_right))


def _biregular_pairs(n_left: int, d_left: int, n_right: int, d_right: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Edge end-points of a random simple biregular graph (see :func:`random_biregular`)."""
    return _pairs_with_degrees(np.full(n_left, d_left, dtype=np.int64), np.full(n_right, d_right, dtype=np.int64), rng)


def _pairs_with_degrees(deg_left: np.ndarray, deg_right: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Edge end-points of a random simple bipartite graph with the given degrees (the
    configuration model, repeated pairs repaired by degree-preserving switches)."""
    n_left, n_right = deg_left.size, deg_right.size
    edges = int(deg_left.sum())
    if 2 * edges > n_left * n_right:
        # Dense: switches rarely find room, so draw the (sparser) complement and invert it.
        cl, cr = _pairs_with_degrees(n_right - deg_left, n_left - deg_right, rng)
        full = np.ones((n_left, n_right), dtype=bool)
        full[cl, cr] = False
        return np.nonzero(full)
    left = np.repeat(np.arange(n_left), deg_left)
    right = rng.permutation(np.repeat(np.arange(n_right), deg_right))
    seen: dict[tuple[int, int], int] = {}
    bad: list[int] = []
    for e, pair in enumerate(zip(left.tolist(), right.tolist())):
        if pair in seen:
            bad.append(e)
        else:
            seen[pair] = e
    # Repair each repeated pair by switching its right end with a random other edge.
    attempts = 0
    while bad:
        attempts += 1
        if attempts > 1000 * (len(bad) + edges):
            raise RuntimeError("random_biregular: could not repair the pairing")
        e = bad[-1]
        f = int(rng.integers(edges))
        a, b, c, d = int(left[e]), int(right[e]), int(left[f]), int(right[f])
        if f == e or (a, d) in seen or (c, b) in seen or a == c:
            continue
        if seen.get((c, d)) == f:
            del seen[(c, d)]
        right[e], right[f] = d, b
        seen[(a, d)] = e
        seen[(c, b)] = f
        bad.pop()
    return left, right


def prime_power(q: int) -> tuple[int, int] | None:
    """``(p, k)`` with ``q = p**k`` and ``p`` prime, or None when ``q`` is not a prime power.

    >>> prime_power(9), prime_power(7), prime_power(12)
    ((3, 2), (7, 1), None)
    """
    q = _positive_int(q, "q")
    for p in range(2, int(math.isqrt(q)) + 1):
        if q % p == 0:
            k = 0
            while q % p == 0:
                q //= p
                k += 1
            return (p, k) if q == 1 else None
    return (q, 1) if q >= 2 else None


def _gf_digits(q: int, p: int, k: int) -> np.ndarray:
    """Element ``e`` of GF(p^k) as its ``k`` coefficients over GF(p) (base-p digits of ``e``)."""
    return (np.arange(q)[:, None] // p ** np.arange(k)[None, :]) % p


def _gf_mul_table(p: int, k: int, modulus: np.ndarray) -> np.ndarray:
    """The q x q multiplication table of GF(p)[x] / (modulus), ``modulus`` monic of degree k
    given by its ``k`` lower coefficients."""
    q = p**k
    dig = _gf_digits(q, p, k)
    prod = np.zeros((q, q, 2 * k - 1), dtype=np.int64)
    for i in range(k):  # polynomial product, all pairs at once
        prod[:, :, i:i + k] += dig[:, None, i, None] * dig[None, :, :]
    for deg in range(2 * k - 2, k - 1, -1):  # reduce x^deg = -(lower coefficients) x^(deg-k)
        lead = prod[:, :, deg] % p
        prod[:, :, deg - k:deg] -= lead[:, :, None] * modulus[None, None, :]
    return (prod[:, :, :k] % p) @ (p ** np.arange(k))


def gf_tables(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Addition and multiplication tables of the finite field GF(q), q a prime power.

    Elements are ``0 .. q-1``; for ``q = p**k`` element ``e`` is the polynomial whose
    coefficients are the base-``p`` digits of ``e``, reduced modulo the monic irreducible
    polynomial of degree ``k`` whose lower coefficients have the smallest such code (a quotient ring of
    GF(p)[x] is a field exactly when it has no zero divisors, which is what is checked).

    >>> add, mul = gf_tables(4)
    >>> int(mul[2, 2]), int(mul[2, 3]), int(add[2, 3])   # x x = x + 1, x (x + 1) = 1, x + (x + 1) = 1
    (3, 1, 1)
    """
    pk = prime_power(q)
    if pk is None:
        raise ValueError(f"q must be a prime power; got {q}")
    p, k = pk
    dig = _gf_digits(q, p, k)
    add = ((dig[:, None, :] + dig[None, :, :]) % p) @ (p ** np.arange(k))
    if k == 1:
        e = np.arange(q)
        return add, np.outer(e, e) % p
    for code in range(p**k):
        modulus = _gf_digits(p**k, p, k)[code]
        if modulus[0] == 0:
            continue  # divisible by x
        mul = _gf_mul_table(p, k, modulus)
        if np.all(mul[1:, 1:] != 0):
            return add, mul
    raise AssertionError(f"no irreducible polynomial of degree {k} over GF({p})")  # cannot happen


#: Largest q for :func:`pg2_incidence` (q^2 + q + 1 = 16,513 vertices a side).
PG2_MAX_Q = 128


def pg2_incidence(q: int) -> BipartiteGraph:
    """Point-line incidence graph of the projective plane PG(2, q), q a prime power.

    Both sides have ``q^2 + q + 1`` vertices, every degree is ``q + 1``, ``t1 = q + 1`` and
    ``t2 = sqrt(q)``: the graph is Ramanujan (``db = 2 sqrt(q)``). Arithmetic is in GF(q)
    (:func:`gf_tables`), so q = 4, 8, 9, 16, ... work as well as primes (q <= 128).

    >>> g = pg2_incidence(2); g.shape, g.n_edges
    ((7, 7), 21)
    >>> pg2_incidence(4).shape
    (21, 21)
    """
    q = _positive_int(q, "q", 2)
    if prime_power(q) is None:
        raise ValueError(f"q must be a prime power (PG(2, q) exists for those); got {q}")
    if q > PG2_MAX_Q:
        raise ValueError(f"q must be <= {PG2_MAX_Q} ({PG2_MAX_Q**2 + PG2_MAX_Q + 1} vertices a side); got {q}")
    add, mul = gf_tables(q)
    # Normalised representatives of the 1-dimensional subspaces of GF(q)^3; a line is a point
    # of the dual plane, incident when the dot product vanishes.
    pts = [(0, 0, 1)]
    pts += [(0, 1, z) for z in range(q)]
    pts += [(1, y, z) for y, z in itertools.product(range(q), repeat=2)]
    P = np.asarray(pts, dtype=np.int64)
    rows, cols = [], []
    chunk = max(1, 2_000_000 // len(pts))
    for start in range(0, len(pts), chunk):
        L = P[start:start + chunk]
        dot = add[add[mul[L[:, None, 0], P[None, :, 0]], mul[L[:, None, 1], P[None, :, 1]]], mul[L[:, None, 2], P[None, :, 2]]]
        r, c = np.nonzero(dot == 0)
        rows.append(r + start)
        cols.append(c)
    return BipartiteGraph.from_edges(np.column_stack([np.concatenate(rows), np.concatenate(cols)]), (len(pts), len(pts)))


def array_code_incidence(q: int, l: int) -> BipartiteGraph:
    """The array-code (LDPC) bigraph of Burnwal-Sinha-Vidyasagar: ``(l q) x q^2``, left degree
    ``q``, right degree ``l`` (q a prime power, ``2 <= l <= q``).

    Row ``(i, a)`` and column ``(j, b)`` (``i < l``; ``a, j, b`` in GF(q), index ``i q + a``
    and ``j q + b``) are joined when ``b = a + i j``. Two rows of different blocks share exactly
    one column and two rows of one block none, so ``B B^T = q I + (J_l - I_l) (x) J_q``: the
    singular values are ``sqrt(l q)``, ``sqrt(q)`` and 0, and ``t2 = sqrt(q) <=
    sqrt(q - 1) + sqrt(l - 1)``: an unbalanced Ramanujan bigraph.

    >>> g = array_code_incidence(5, 3); g.shape, g.n_edges
    ((15, 25), 75)
    """
    q = _positive_int(q, "q", 2)
    l = _positive_int(l, "l", 2)
    if prime_power(q) is None:
        raise ValueError(f"q must be a prime power; got {q}")
    if l > q:
        raise ValueError(f"l must be <= q = {q}; got {l}")
    if q > PG2_MAX_Q:
        raise ValueError(f"q must be <= {PG2_MAX_Q}; got {q}")
    add, mul = gf_tables(q)
    i, a, j = np.meshgrid(np.arange(l), np.arange(q), np.arange(q), indexing="ij")
    b = add[a, mul[i, j]]
    rows, cols = (i * q + a).ravel(), (j * q + b).ravel()
    return BipartiteGraph.from_edges(np.column_stack([rows, cols]), (l * q, q * q))


def even_cycle(n: int) -> BipartiteGraph:
    """The cycle C_{2n} as an n x n bipartite graph (n >= 2). ``t1 = 2``, ``t2 = 2 cos(pi / n)``.

    >>> even_cycle(3).n_edges
    6
    """
    n = _positive_int(n, "n", 2)
    i = np.arange(n)
    return BipartiteGraph.from_edges(np.column_stack([np.r_[i, i], np.r_[i, (i + 1) % n]]), (n, n))


def hypercube(d: int) -> BipartiteGraph:
    """The d-cube Q_d split by parity: ``2^(d-1)`` vertices a side, ``t1 = d``, ``t2 = d - 2`` (d >= 2).

    >>> hypercube(3).shape
    (4, 4)
    """
    d = _positive_int(d, "d", 1)
    if d > 24:
        raise ValueError(f"d must be <= 24 (2^d vertices); got {d}")
    verts = np.arange(2**d)
    parity = np.array([bin(v).count("1") % 2 for v in verts.tolist()])
    even, odd = verts[parity == 0], verts[parity == 1]
    pos = np.empty(2**d, dtype=np.int64)
    pos[even] = np.arange(even.size)
    pos[odd] = np.arange(odd.size)
    nbrs = even[:, None] ^ (1 << np.arange(d))[None, :]
    rows = np.repeat(pos[even], d)
    cols = pos[nbrs.ravel()]
    return BipartiteGraph.from_edges(np.column_stack([rows, cols]), (even.size, odd.size))


def disjoint_union(*graphs: BipartiteGraph) -> BipartiteGraph:
    """Block-diagonal union of bipartite graphs (left sides stacked, right sides stacked)."""
    if not graphs:
        raise ValueError("disjoint_union needs at least one graph")
    for i, g in enumerate(graphs):
        if not isinstance(g, BipartiteGraph):
            raise TypeError(f"graphs[{i}] must be a BipartiteGraph; got {type(g).__name__}")
    return BipartiteGraph(sp.block_diag([g.matrix for g in graphs], format="csr"))


def random_lift(base: BipartiteGraph, n: int, *, seed: int | None = 0) -> BipartiteGraph:
    """A random ``n``-lift of ``base``: each vertex becomes ``n`` copies, each edge ``(i, j)`` a
    random perfect matching between the copies of ``i`` and of ``j`` (weights copied).

    A lift has the same universal cover as its base, so the same ``rho(T)``; its spectrum is the
    base's plus "new" eigenvalues, which for large ``n`` lie in ``[-rho(T) - eps, rho(T) + eps]``
    (Bordenave-Collins 2019): random lifts are the standard near-Ramanujan irregular graphs.
    Vertex ``i * n + k`` of the lift is copy ``k`` of base vertex ``i``.

    >>> random_lift(complete_bipartite(2, 3), 4, seed=1).shape
    (8, 12)
    """
    if not isinstance(base, BipartiteGraph):
        raise TypeError(f"base must be a BipartiteGraph; got {type(base).__name__}")
    n = _positive_int(n, "n")
    rng = np.random.default_rng(seed)
    coo = base.matrix.tocoo()
    E = coo.nnz
    rows = (coo.row[:, None] * n + np.arange(n)[None, :]).ravel()
    perms = np.argsort(rng.random((E, n)), axis=1)  # one uniform permutation per base edge
    cols = (coo.col[:, None] * n + perms).ravel()
    w = np.repeat(coo.data, n)
    return BipartiteGraph(sp.csr_array((w, (rows, cols)), shape=(base.n_left * n, base.n_right * n)))


# ------------------------------------------------------------------ certified Ramanujan graphs
#: ``t2`` certifies against a bound when ``t2 (1 + rtol) + 1e-12 t1 <= bound``: the spectrum's
#: accuracy contract (docs/spectrum.md: each value within ``1e-8 s + 1e-12 s1`` of a true one).
CERTIFICATE_RTOL = 1e-8
RAMANUJAN_METHODS = ("auto", "explicit", "random", "lift")


class RamanujanSearchError(RuntimeError):
    """The search for a certified Ramanujan graph gave up; ``best_t2`` and ``bound`` say how close it came."""

    def __init__(self, message: str, *, best_t2: float = math.nan, bound: float = math.nan, tries: int = 0):
        super().__init__(message)
        self.best_t2 = best_t2
        self.bound = bound
        self.tries = tries


@dataclass(frozen=True)
class RamanujanGraph:
    """A generated graph with its Ramanujan certificate (docs/generators.md).

    ``graph`` is the simple 0/1 bipartite graph, connected; ``t1``, ``t2`` its top singular
    values (:func:`~bipartite_expanders.spectral_pair`). ``bound`` is what ``t2`` was certified
    against, ``t2 (1 + CERTIFICATE_RTOL) + 1e-12 t1 <= bound``, and ``certificate`` names it:

    * ``"degree_bound"``: biregular, ``bound = db = sqrt(d_L - 1) + sqrt(d_R - 1)``, which is
      ``rho(T)`` exactly for a (c, d)-biregular graph (Ramanujan in Hoory's and the MSS sense);
    * ``"cover_free_lower"``: ``bound`` is the free O(E) lower end of the universal cover's
      bracket (:func:`~bipartite_expanders.cover_bracket_free`), so ``t2 <= rho(T)``;
    * ``"cover_lower"``: ``bound`` is the lower end of the certified bracket of
      :func:`~bipartite_expanders.universal_cover_radius`, so ``t2 <= rho(T)``.

    ``method`` is the construction (``"complete"``, ``"pg2"``, ``"array_code"``, ``"random"``, ``"lift"``),
    ``tries`` the graphs drawn, ``switches`` the degree-preserving switches the repair kept.
    ``db`` is Hoory's degree bound from the average degrees (reported beside; for an irregular
    graph it is not the certificate), ``rho_lower``/``rho_upper`` the cover bracket when it was
    computed (for ``degree_bound`` the closed form ``db``, or ``t1`` for a star),
    ``degrees_left``/``degrees_right`` the (min, max) degrees.
    """

    graph: BipartiteGraph = field(repr=False)
    t1: float
    t2: float
    bound: float
    certificate: str
    method: str
    tries: int
    switches: int
    db: float
    rho_lower: float
    rho_upper: float
    degrees_left: tuple[int, int]
    degrees_right: tuple[int, int]

    @property
    def margin(self) -> float:
        """``(bound - t2) / t2`` (``inf`` when ``t2 = 0``)."""
        return math.inf if self.t2 == 0 else (self.bound - self.t2) / self.t2

    def to_dict(self) -> dict[str, Any]:
        """The certificate (everything but the graph) as a JSON-safe dict."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "graph"}
        out["shape"] = self.graph.shape
        out["n_edges"] = self.graph.n_edges
        return json_safe(out)


def _certifies(t1: float, t2: float, bound: float) -> bool:
    if t2 == 0.0:  # exactly zero (spectral_pair zeroes numerical zeros): below any bound, 0 included
        return bound >= 0.0
    return t2 * (1.0 + CERTIFICATE_RTOL) + 1e-12 * t1 <= bound


def _hoory_db(n_edges: int, n_left: int, n_right: int) -> float:
    dl, dr = n_edges / n_left, n_edges / n_right
    return math.sqrt(max(dl - 1.0, 0.0)) + math.sqrt(max(dr - 1.0, 0.0))


def _graph_of(left: np.ndarray, right: np.ndarray, shape: tuple[int, int]) -> BipartiteGraph:
    return BipartiteGraph.from_edges(np.column_stack([left, right]), shape)


def _second_pair(B: sp.csr_array, v0: Any) -> tuple[float, np.ndarray, np.ndarray, Any]:
    """``t2`` of a connected graph with its singular vectors (``t1`` is simple there)."""
    res = top_singular_values(B, 2, full_output=True, v0=v0)
    return float(res.values[1]), res.left_vectors[:, 1], res.right_vectors[:, 1], res


def _switch_candidates(left: np.ndarray, right: np.ndarray, u: np.ndarray, v: np.ndarray, n_right: int,
                       limit: int, rng: np.random.Generator, groups: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Vertex-disjoint switches ``(a, b), (c, d) -> (a, d), (c, b)`` that keep the graph simple,
    best first by the first-order change of ``u^T B v``: ``-(u_a - u_c)(v_b - v_d)``.

    ``groups`` (a label per left vertex) restricts the switches to pairs ``a, c`` of the same
    label, which keeps every right vertex's count of neighbours in each group (an N:M pattern)."""
    E = left.size
    S = min(20 * E, 400_000)
    e = rng.integers(E, size=S)
    if groups is None:
        f = rng.integers(E, size=S)
    else:  # a partner edge drawn from the same left group as e
        order = np.argsort(groups[left], kind="stable")
        counts = np.bincount(groups[left], minlength=int(groups.max()) + 1)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        g = groups[left[e]]
        f = order[starts[g] + (rng.random(S) * counts[g]).astype(np.int64)]
    a, b, c, d = left[e], right[e], left[f], right[f]
    gain = (u[a] - u[c]) * (v[b] - v[d])
    codes = np.sort(left.astype(np.int64) * n_right + right)
    ok = (a != c) & (b != d) & (gain > 0)
    for x, y in ((a, d), (c, b)):
        code = x.astype(np.int64) * n_right + y
        pos = np.minimum(np.searchsorted(codes, code), E - 1)
        ok &= codes[pos] != code
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(-gain[idx], kind="stable")]
    used_l: set[int] = set()
    used_r: set[int] = set()
    chosen: list[tuple[int, int]] = []
    for i in idx[: 50 * limit].tolist():
        ai, bi, ci, di = int(a[i]), int(b[i]), int(c[i]), int(d[i])
        if ai in used_l or ci in used_l or bi in used_r or di in used_r:
            continue
        used_l.update((ai, ci))
        used_r.update((bi, di))
        chosen.append((int(e[i]), int(f[i])))
        if len(chosen) >= limit:
            break
    return chosen


def _repair(left: np.ndarray, right: np.ndarray, shape: tuple[int, int], target: float, rng: np.random.Generator,
            max_rounds: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """Lower ``t2`` by degree-preserving switches until it certifies against ``target`` (or stalls).

    Each round applies a batch of the best-scoring switches and keeps it only when the
    recomputed ``t2`` went down; a rejected batch is halved, a rejected single switch ends it.
    Returns the right end-points, the last ``t2`` and the switches kept.
    """
    right = right.copy()
    B = _graph_of(left, right, shape).matrix
    t2, u, v, res = _second_pair(B, None)
    t1 = float(res.values[0])
    batch = max(1, left.size // 100)
    kept = 0
    for _ in range(max_rounds):
        if _certifies(t1, t2, target):
            break
        moves = _switch_candidates(left, right, u, v, shape[1], batch, rng, groups)
        if not moves:
            break
        trial = right.copy()
        for e, f in moves:
            trial[e], trial[f] = right[f], right[e]
        B = _graph_of(left, trial, shape).matrix
        t2_new, u_new, v_new, res_new = _second_pair(B, res)
        if t2_new < t2:
            right, t2, u, v, res, kept = trial, t2_new, u_new, v_new, res_new, kept + len(moves)
        elif batch == 1:
            break
        else:
            batch = max(1, batch // 2)
    return right, t2, kept


def _connect(left: np.ndarray, right: np.ndarray, shape: tuple[int, int], rng: np.random.Generator,
             max_attempts: int) -> np.ndarray | None:
    """Join the components of a simple graph by degree-preserving switches between an edge of
    the largest component and an edge of another; a switch is kept only when it lowers the
    number of components (it does unless both edges are bridges). Returns the new right
    end-points, or None when ``max_attempts`` switches did not connect the graph."""
    right = right.copy()
    comp = connected_components(_graph_of(left, right, shape))
    for _ in range(max_attempts):
        if comp.n_components == 1:
            return right
        label = comp.left_labels[left]
        giant = int(np.argmax(comp.edges))
        inside, outside = np.flatnonzero(label == giant), np.flatnonzero(label != giant)
        e, f = int(rng.choice(inside)), int(rng.choice(outside))
        trial = right.copy()
        trial[e], trial[f] = right[f], right[e]  # different components: the new pairs are new edges
        new = connected_components(_graph_of(left, trial, shape))
        if new.n_components < comp.n_components:
            right, comp = trial, new
    return right if comp.n_components == 1 else None


def _check_seed(seed: Any) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an integer or None; got {type(seed).__name__}")


def _connectable(n_left: int, n_right: int, n_edges: int) -> None:
    if n_edges < n_left + n_right - 1:
        raise ValueError(
            f"n_edges = {n_edges} < n_left + n_right - 1 = {n_left + n_right - 1}: no connected graph of that shape and size "
            "(a disconnected graph repeats t1 and cannot be Ramanujan)"
        )


def _explicit(n_left: int, n_right: int, d_left: int) -> tuple[BipartiteGraph, str] | None:
    """An explicit family of this shape and degree, if one is shipped."""
    if d_left == n_right:
        return complete_bipartite(n_left, n_right), "complete"
    if n_left == n_right and d_left >= 3:
        q = d_left - 1
        if q * q + q + 1 == n_left and q <= PG2_MAX_Q and prime_power(q) is not None:
            return pg2_incidence(q), "pg2"
    # array codes: (l q) x q^2 with left degree q, or its transpose
    q, l = d_left, n_left // max(d_left, 1)
    if n_right == q * q and n_left == l * q and 2 <= l <= q <= PG2_MAX_Q and prime_power(q) is not None:
        return array_code_incidence(q, l), "array_code"
    q = math.isqrt(n_left)
    l = d_left
    if n_left == q * q and n_right == l * q and 2 <= l <= q <= PG2_MAX_Q and prime_power(q) is not None:
        return array_code_incidence(q, l).T, "array_code"
    return None


def _finish(g: BipartiteGraph, method: str, tries: int, switches: int, bound: float | None) -> tuple[RamanujanGraph | None, float]:
    """Certify ``g``: against ``bound`` (biregular ``db``) when given, else against the lower end
    of the cover bracket. Returns the certificate (None when ``g`` fails) and the bound used."""
    if connected_components(g).n_components != 1:
        return None, math.nan if bound is None else bound
    pair = spectral_pair(g)
    n_left, n_right = g.shape
    dl, dr = degree_counts(g)
    common = dict(graph=g, t1=pair.t1, t2=pair.t2, method=method, tries=tries, switches=switches,
                  db=_hoory_db(g.n_edges, n_left, n_right),
                  degrees_left=(int(dl.min()), int(dl.max())), degrees_right=(int(dr.min()), int(dr.max())))
    if bound is not None:
        if not _certifies(pair.t1, pair.t2, bound):
            return None, bound
        # db is rho(T) for (c, d)-biregular graphs with c, d >= 2; a star's cover is itself (rho = t1)
        rho = bound if min(dl.min(), dr.min()) >= 2 else pair.t1
        return RamanujanGraph(bound=bound, certificate="degree_bound", rho_lower=rho, rho_upper=rho, **common), bound
    free_lower, free_upper = cover_bracket_free(g)
    if _certifies(pair.t1, pair.t2, free_lower):
        cert = RamanujanGraph(bound=free_lower, certificate="cover_free_lower", rho_lower=free_lower,
                              rho_upper=min(free_upper, pair.t1), **common)
        return cert, free_lower
    rho = universal_cover_radius(g, tol=1e-9)
    if _certifies(pair.t1, pair.t2, rho.lower):
        return RamanujanGraph(bound=rho.lower, certificate="cover_lower", rho_lower=rho.lower, rho_upper=rho.upper, **common), rho.lower
    return None, rho.lower


def _search(draw: Any, shape: tuple[int, int], method: str, biregular_bound: float | None, seed: int | None,
            max_tries: int, max_rounds: int) -> RamanujanGraph:
    """Draw, certify, else repair by switches and certify again, up to ``max_tries`` draws."""
    rng = np.random.default_rng(seed)
    best = math.inf
    disconnected = 0
    last_bound = biregular_bound if biregular_bound is not None else math.nan
    for tries in range(1, max_tries + 1):
        try:
            left, right = draw(rng)
        except RuntimeError:  # the configuration model could not be made simple: draw again
            continue
        if draw.groups is None:
            joined = _connect(left, right, shape, rng, max_attempts=50 * (shape[0] + shape[1]))
        else:  # _connect's switches ignore the groups: an N:M draw is kept only when connected as drawn
            joined = right if connected_components(_graph_of(left, right, shape)).n_components == 1 else None
        if joined is None:
            disconnected += 1
            continue
        right = joined
        g = _graph_of(left, right, shape)
        done, target = _finish(g, method, tries, 0, biregular_bound)
        if done is not None:
            return done
        # Repair towards this graph's bound; an irregular graph's rho(T) moves a little with the
        # switches, so the repaired graph is certified afresh.
        last_bound = target
        right2, t2, kept = _repair(left, right, shape, target, rng, max_rounds, draw.groups)
        best = min(best, t2)
        done, _ = _finish(_graph_of(left, right2, shape), method, tries, kept, biregular_bound)
        if done is not None:
            return done
    raise RamanujanSearchError(
        f"no certified Ramanujan graph of shape {shape} with {int(np.sum(draw.degrees_left))} edges after {max_tries} tries "
        f"({disconnected} draws could not be connected; best t2 = {best:.6g} against bound {last_bound:.6g}); "
        "try another seed or more tries",
        best_t2=best, bound=last_bound, tries=max_tries)


class _Draw:
    """Random simple graphs with fixed degree sequences (seeded per call through ``rng``)."""

    groups: np.ndarray | None = None  # left-vertex labels the repair's switches must respect

    def __init__(self, degrees_left: np.ndarray, degrees_right: np.ndarray):
        self.degrees_left, self.degrees_right = degrees_left, degrees_right

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        left, right = _pairs_with_degrees(self.degrees_left, self.degrees_right, rng)
        return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


class _LiftDraw(_Draw):
    """Random n-lifts of K_{d_right, d_left}: (d_left, d_right)-biregular on (n d_right) x (n d_left)."""

    def __init__(self, n: int, d_left: int, d_right: int):
        super().__init__(np.full(n * d_right, d_left), np.full(n * d_left, d_right))
        self.n, self.base = n, complete_bipartite(d_right, d_left)

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        coo = random_lift(self.base, self.n, seed=int(rng.integers(2**63))).matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64)


def _feasible_degrees(n_left: int, n_right: int, d_left: int) -> str:
    step = n_right // math.gcd(n_left, n_right)  # d_left must be a multiple of this
    lo, hi = (d_left // step) * step, (d_left // step + 1) * step
    options = [f"d_left = {d} (d_right = {n_left * d // n_right})" for d in (lo, hi) if 1 <= d <= n_right]
    return " or ".join(options)


def ramanujan_biregular(n_left: int, n_right: int, d_left: int, *, seed: int | None = 0, method: str = "auto",
                        max_tries: int = 20, max_rounds: int = 200) -> RamanujanGraph:
    """A simple connected (d_left, d_right)-biregular graph with ``t2 <= sqrt(d_left - 1) + sqrt(d_right - 1)``.

    ``d_right = n_left d_left / n_right`` must be an integer (the ``ValueError`` names the
    nearest feasible degrees otherwise). The bound ``db`` is the cover radius ``rho(T)`` of a
    biregular graph, so the certificate is Ramanujan in every sense the project uses.

    Methods (docs/generators.md): ``"explicit"`` (K_{m,n} when ``d_left = n_right``; PG(2, q)
    when ``n_left = n_right = q^2 + q + 1``, ``d_left = q + 1``; the array code
    :func:`array_code_incidence` of shape ``(l q) x q^2`` or its transpose; q a prime power); ``"random"``
    (a random biregular graph, Brito-Dumitriu-Harris: near-Ramanujan w.h.p., repaired by
    degree-preserving switches that lower ``t2``); ``"lift"`` (random n-lifts of
    ``K_{d_right, d_left}``, needs ``d_right | n_left``, repaired the same way); ``"auto"``:
    explicit where the shape fits, else random. Up to ``max_tries`` draws, each repaired for up
    to ``max_rounds`` rounds; :class:`RamanujanSearchError` when all fail.

    >>> r = ramanujan_biregular(30, 20, 4, seed=1)
    >>> r.graph.shape, r.degrees_right, r.certificate, r.t2 <= r.bound
    ((30, 20), (6, 6), 'degree_bound', True)
    >>> ramanujan_biregular(13, 13, 4).method
    'pg2'
    """
    n_left, n_right = _positive_int(n_left, "n_left"), _positive_int(n_right, "n_right")
    d_left = _positive_int(d_left, "d_left")
    _check_seed(seed)
    max_tries, max_rounds = _positive_int(max_tries, "max_tries"), _positive_int(max_rounds, "max_rounds", 0)
    if not isinstance(method, str) or method not in RAMANUJAN_METHODS:
        raise ValueError(f"method must be one of {RAMANUJAN_METHODS}; got {method!r}")
    if d_left > n_right:
        raise ValueError(f"d_left = {d_left} > n_right = {n_right}: no simple graph")
    if (n_left * d_left) % n_right:
        raise ValueError(
            f"d_right = n_left * d_left / n_right = {n_left * d_left / n_right:g} is not an integer; "
            f"nearest feasible: {_feasible_degrees(n_left, n_right, d_left)}"
        )
    d_right = n_left * d_left // n_right
    _connectable(n_left, n_right, n_left * d_left)
    bound = math.sqrt(d_left - 1) + math.sqrt(d_right - 1)
    explicit = _explicit(n_left, n_right, d_left)
    if method in ("auto", "explicit") and explicit is not None:
        done, _ = _finish(explicit[0], explicit[1], 1, 0, bound)
        if done is None:  # a shipped family failing its theorem is a bug, not a search failure
            raise AssertionError(f"{explicit[1]} graph failed its certificate")
        return done
    if method == "explicit":
        raise ValueError(f"no explicit family of shape ({n_left}, {n_right}) and degree d_left = {d_left}; use method='random'")
    if method == "lift":
        if n_left % d_right:
            raise ValueError(f"method='lift' needs d_right = {d_right} to divide n_left = {n_left}")
        draw: _Draw = _LiftDraw(n_left // d_right, d_left, d_right)
    else:
        draw = _Draw(np.full(n_left, d_left), np.full(n_right, d_right))
    return _search(draw, (n_left, n_right), method if method != "auto" else "random", bound, seed, max_tries, max_rounds)


def near_biregular_degrees(n_left: int, n_right: int, n_edges: int, *, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Degree sequences with ``n_edges`` edges that differ by at most one per side: on the left
    ``n_edges mod n_left`` vertices (chosen at random, seeded) get ``n_edges // n_left + 1``,
    the others ``n_edges // n_left``; the same on the right.

    >>> dl, dr = near_biregular_degrees(4, 3, 7)
    >>> sorted(dl.tolist()), sorted(dr.tolist())
    ([1, 2, 2, 2], [2, 2, 3])
    """
    n_left, n_right = _positive_int(n_left, "n_left"), _positive_int(n_right, "n_right")
    n_edges = _positive_int(n_edges, "n_edges", 0)
    _check_seed(seed)
    if n_edges > n_left * n_right:
        raise ValueError(f"n_edges = {n_edges} > n_left * n_right = {n_left * n_right}")
    rng = np.random.default_rng(seed)
    out = []
    for n in (n_left, n_right):
        q, r = divmod(n_edges, n)
        deg = np.full(n, q, dtype=np.int64)
        deg[rng.permutation(n)[:r]] += 1
        out.append(deg)
    return out[0], out[1]


def ramanujan_bipartite(n_left: int, n_right: int, n_edges: int, *, seed: int | None = 0, max_tries: int = 10,
                        max_rounds: int = 200) -> RamanujanGraph:
    """A connected near-biregular graph (degrees differ by at most one per side) with
    ``t2 <= rho(T)``, the irregular Ramanujan property (Marcus-Spielman-Srivastava).

    Certified against the *lower* end of a bracket on the universal cover's radius: first the
    free O(E) bracket (:func:`~bipartite_expanders.cover_bracket_free`), then, when ``t2`` falls
    inside it, the certified bracket of :func:`~bipartite_expanders.universal_cover_radius`.
    A ``t2`` inside the exact bracket's width counts as not certified. When ``n_edges`` allows
    exact biregularity (both sides divide it) the degree bound is the certificate, as in
    :func:`ramanujan_biregular`. Random draws with :func:`near_biregular_degrees` are repaired by
    degree-preserving switches; :class:`RamanujanSearchError` when ``max_tries`` draws fail.

    >>> r = ramanujan_bipartite(40, 12, 100, seed=0)
    >>> r.degrees_left, r.degrees_right, r.t2 <= r.rho_lower
    ((2, 3), (8, 9), True)
    """
    n_left, n_right = _positive_int(n_left, "n_left"), _positive_int(n_right, "n_right")
    n_edges = _positive_int(n_edges, "n_edges")
    _check_seed(seed)
    max_tries, max_rounds = _positive_int(max_tries, "max_tries"), _positive_int(max_rounds, "max_rounds", 0)
    if n_edges > n_left * n_right:
        raise ValueError(f"n_edges = {n_edges} > n_left * n_right = {n_left * n_right}: no simple graph")
    _connectable(n_left, n_right, n_edges)
    if n_edges % n_left == 0 and n_edges % n_right == 0:
        return ramanujan_biregular(n_left, n_right, n_edges // n_left, seed=seed, max_tries=max_tries, max_rounds=max_rounds)
    dl, dr = near_biregular_degrees(n_left, n_right, n_edges, seed=seed)
    return _search(_Draw(dl, dr), (n_left, n_right), "random", None, seed, max_tries, max_rounds)


def random_near_biregular(n_left: int, n_right: int, n_edges: int, *, seed: int | None = 0) -> BipartiteGraph:
    """A random simple graph with :func:`near_biregular_degrees` (same ``seed``, same degrees as
    :func:`ramanujan_bipartite`'s), uncertified and not necessarily connected: the control family.

    >>> g = random_near_biregular(40, 12, 100, seed=0)
    >>> g.n_edges, sorted(set(g.matrix.sum(axis=1).tolist()))
    (100, [2.0, 3.0])
    """
    dl, dr = near_biregular_degrees(n_left, n_right, n_edges, seed=seed)
    if n_edges == 0:
        return BipartiteGraph(sp.csr_array((n_left, n_right)))
    # a stream of its own, so the control never coincides with the certified search's draws
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0] if seed is not None else None)
    left, right = _pairs_with_degrees(dl, dr, rng)
    return _graph_of(np.asarray(left), np.asarray(right), (n_left, n_right))


def _check_nm(n_left: int, n: int, m: int) -> None:
    if not 1 <= n <= m:
        raise ValueError(f"an N:M pattern needs 1 <= n <= m; got n = {n}, m = {m}")
    if n_left % m:
        raise ValueError(f"n_left = {n_left} is not a multiple of m = {m}: the inputs do not split into groups of m")


def nm_pattern(n_left: int, n_right: int, n: int, m: int, *, seed: int | None = 0) -> BipartiteGraph:
    """A random N:M pattern as a bipartite graph (left = inputs, right = outputs): every right
    vertex keeps exactly ``n`` of each ``m`` consecutive left vertices, and the left degrees are
    as equal as that allows (within each group of ``m`` they differ by at most one), uncertified.

    The uncertified control of :func:`ramanujan_nm` (same draw, before any check or repair).

    >>> g = nm_pattern(8, 6, 2, 4, seed=0)
    >>> g.matrix.toarray().reshape(2, 4, 6).sum(axis=1).tolist()  # per group of 4 inputs, per output
    [[2, 2, 2, 2, 2, 2], [2, 2, 2, 2, 2, 2]]
    """
    n_left, n_right = _positive_int(n_left, "n_left"), _positive_int(n_right, "n_right")
    n, m = _positive_int(n, "n"), _positive_int(m, "m")
    _check_nm(n_left, n, m)
    _check_seed(seed)
    left, right = _NMDraw(n_left, n_right, n, m)(np.random.default_rng(seed))
    return _graph_of(left, right, (n_left, n_right))


class _NMDraw(_Draw):
    """Random N:M patterns: per group of m inputs, the outputs in random order take the slots
    (k n + t) mod m (t < n) in turn, and the group's inputs are randomly permuted."""

    def __init__(self, n_left: int, n_right: int, n: int, m: int):
        self.n_left, self.n_right, self.n, self.m = n_left, n_right, n, m
        self.groups = np.arange(n_left) // m
        dl = np.zeros(n_left, dtype=np.int64)
        slots = (np.arange(n_right)[:, None] * n + np.arange(n)[None, :]) % m
        per_slot = np.bincount(slots.ravel(), minlength=m)
        dl[:] = np.tile(per_slot, n_left // m)  # degrees before the in-group permutation (multiset per group)
        super().__init__(dl, np.full(n_right, n * n_left // m))

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n_groups = self.n_left // self.m
        slots = (np.arange(self.n_right)[:, None] * self.n + np.arange(self.n)[None, :]) % self.m  # (outputs, n)
        lefts, rights = [], []
        for g in range(n_groups):
            outputs = rng.permutation(self.n_right)
            inputs = g * self.m + rng.permutation(self.m)
            lefts.append(inputs[slots].ravel())
            rights.append(np.repeat(outputs, self.n))
        return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)


def ramanujan_nm(n_left: int, n_right: int, n: int, m: int, *, seed: int | None = 0, max_tries: int = 10,
                 max_rounds: int = 200) -> RamanujanGraph:
    """A certified Ramanujan N:M pattern: left = ``n_left`` inputs (a multiple of ``m``), right =
    ``n_right`` outputs; every output keeps exactly ``n`` of each ``m`` consecutive inputs (the
    2:4 / 4:8 semi-structured sparsity of sparse tensor cores, along the input dimension).

    The graph is right-regular by construction (right degree ``n n_left / m``); the left degrees
    are balanced within every group of ``m`` inputs. When ``n n_right / m`` is an integer the
    graph is biregular and certified against ``db = sqrt(d_L - 1) + sqrt(d_R - 1)`` (= rho(T));
    otherwise against the lower end of the universal cover's bracket, as
    :func:`ramanujan_bipartite`. Random draws (:func:`nm_pattern`) are repaired by switches that
    exchange two outputs' inputs inside one group, which keeps the pattern and every degree;
    :class:`RamanujanSearchError` when ``max_tries`` draws fail. ``n == m`` gives the complete
    graph (t2 = 0).

    >>> r = ramanujan_nm(64, 48, 2, 4, seed=0)
    >>> r.certificate, r.degrees_left, r.degrees_right, r.t2 <= r.bound
    ('degree_bound', (24, 24), (32, 32), True)
    """
    n_left, n_right = _positive_int(n_left, "n_left"), _positive_int(n_right, "n_right")
    n, m = _positive_int(n, "n"), _positive_int(m, "m")
    _check_nm(n_left, n, m)
    _check_seed(seed)
    max_tries, max_rounds = _positive_int(max_tries, "max_tries"), _positive_int(max_rounds, "max_rounds", 0)
    n_edges = n * n_left // m * n_right
    _connectable(n_left, n_right, n_edges)
    if n == m:
        done, _ = _finish(complete_bipartite(n_left, n_right), "complete", 1, 0, None)
        if done is None:
            raise AssertionError("the complete bipartite graph failed its certificate")
        return done
    biregular = (n * n_right) % m == 0
    bound = None
    if biregular:
        d_left, d_right = n * n_right // m, n * n_left // m
        bound = math.sqrt(max(d_left - 1, 0)) + math.sqrt(max(d_right - 1, 0))
    return _search(_NMDraw(n_left, n_right, n, m), (n_left, n_right), "nm", bound, seed, max_tries, max_rounds)
