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

import numpy as np
import scipy.sparse as sp

from .graph import BipartiteGraph

__all__ = ["complete_bipartite", "random_biregular", "pg2_incidence", "even_cycle", "hypercube", "star", "disjoint_union", "random_lift"]


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
    if 2 * d_left > n_right:
        # Dense: switches rarely find room, so draw the (sparse) complement and invert it.
        cl, cr = _biregular_pairs(n_left, n_right - d_left, n_right, n_left - d_right, rng)
        full = np.ones((n_left, n_right), dtype=bool)
        full[cl, cr] = False
        return np.nonzero(full)
    edges = n_left * d_left
    left = np.repeat(np.arange(n_left), d_left)
    right = rng.permutation(np.repeat(np.arange(n_right), d_right))
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


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % p for p in range(2, int(q**0.5) + 1))


def pg2_incidence(q: int) -> BipartiteGraph:
    """Point-line incidence graph of the projective plane PG(2, q), q prime.

    Both sides have ``q^2 + q + 1`` vertices, every degree is ``q + 1``, ``t1 = q + 1`` and
    ``t2 = sqrt(q)``: the graph is Ramanujan with equality in the degree bound.

    >>> g = pg2_incidence(2); g.shape, g.n_edges
    ((7, 7), 21)
    """
    q = _positive_int(q, "q", 2)
    if not _is_prime(q):
        raise ValueError(f"q must be prime (prime powers need field arithmetic not implemented here); got {q}")
    # Normalised representatives of the 1-dimensional subspaces of F_q^3.
    pts = [(0, 0, 1)]
    pts += [(0, 1, z) for z in range(q)]
    pts += [(1, y, z) for y, z in itertools.product(range(q), repeat=2)]
    P = np.asarray(pts, dtype=np.int64)
    incidence = (P @ P.T) % q == 0  # a line is a point of the dual plane
    return BipartiteGraph(sp.csr_array(incidence.astype(np.float64)))


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
