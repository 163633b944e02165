"""Graph families for the universal-cover property tests (tests/test_cover_families.py).

Each builder returns a dense 0/1 bi-adjacency matrix of a connected bipartite graph; the
families are the ones issue 14 names: paths, bands, trees, stars, cycles, grids, biregular,
random sparse, heavy-tailed degrees, pendant chains, near-complete layers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def bipartite_from_edges(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Bi-adjacency of a bipartite graph on ``n`` vertices given by its edge list (two-coloured by BFS)."""
    A = sp.csr_array((np.ones(len(edges)), ([u for u, _ in edges], [v for _, v in edges])), shape=(n, n))
    A = ((A + A.T) > 0).astype(float)
    order, pred = csgraph.breadth_first_order(A, 0, directed=False)
    assert order.size == n, "not connected"
    depth = np.zeros(n, dtype=int)
    for v in order[1:]:
        depth[v] = depth[pred[v]] + 1
    left, right = np.flatnonzero(depth % 2 == 0), np.flatnonzero(depth % 2 == 1)
    B = A.toarray()[np.ix_(left, right)]
    assert B.sum() == A.sum() / 2, "not bipartite"
    return B


def path(n: int) -> np.ndarray:
    return bipartite_from_edges(n, [(i, i + 1) for i in range(n - 1)])


def band(m: int, width: int, n: int | None = None) -> np.ndarray:
    n = m + width - 1 if n is None else n
    B = np.zeros((m, n))
    for i in range(m):
        B[i, i:i + width] = 1
    return B


def star(n: int) -> np.ndarray:
    return np.ones((1, n))


def even_cycle(k: int) -> np.ndarray:
    return bipartite_from_edges(2 * k, [(i, (i + 1) % (2 * k)) for i in range(2 * k)])


def grid(r: int, c: int) -> np.ndarray:
    idx = np.arange(r * c).reshape(r, c)
    edges = [(idx[i, j], idx[i, j + 1]) for i in range(r) for j in range(c - 1)]
    edges += [(idx[i, j], idx[i + 1, j]) for i in range(r - 1) for j in range(c)]
    return bipartite_from_edges(r * c, edges)


def random_tree(n: int, rng: np.random.Generator) -> np.ndarray:
    return bipartite_from_edges(n, [(int(rng.integers(0, v)), v) for v in range(1, n)])


def random_sparse(m: int, n: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """A random layer, then its largest component (with a spanning path added so it is connected)."""
    B = (rng.random((m, n)) < density).astype(float)
    for i in range(max(m, n)):  # a zig-zag path through every vertex keeps it connected
        B[i % m, i % n] = 1
        B[(i + 1) % m, i % n] = 1
    return B


def heavy_tailed(m: int, n: int, rng: np.random.Generator, exponent: float = 2.1) -> np.ndarray:
    """Chung-Lu style: left degrees from a Pareto law, endpoints on the right uniform."""
    deg = np.minimum(n, np.ceil((1.0 - rng.random(m)) ** (-1.0 / (exponent - 1.0)))).astype(int)
    B = np.zeros((m, n))
    for i, d in enumerate(deg):
        B[i, rng.choice(n, size=d, replace=False)] = 1
    for i in range(max(m, n)):
        B[i % m, i % n] = 1
        B[(i + 1) % m, i % n] = 1
    return B


def pendant_chains(core: np.ndarray, n_chains: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``core`` with ``n_chains`` paths of ``length`` edges hanging from random core vertices."""
    m, n = core.shape
    edges = [(i, m + j) for i, j in zip(*np.nonzero(core))]
    N = m + n
    for _ in range(n_chains):
        prev = int(rng.integers(0, N))
        for _ in range(length):
            edges.append((prev, N))
            prev, N = N, N + 1
    return bipartite_from_edges(N, edges)


def near_complete(m: int, n: int, density: float, rng: np.random.Generator) -> np.ndarray:
    B = (rng.random((m, n)) < density).astype(float)
    B[:, 0] = 1
    B[0, :] = 1
    return B


def families(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """A fixed list of (name, bi-adjacency) covering every family, a few sizes each."""
    rng = np.random.default_rng(seed)
    out = [(f"path {n}", path(n)) for n in (2, 3, 8, 31)]
    out += [(f"band {m}x{w}+{e}", band(m, w, m + w - 1 - e)) for m, w, e in ((14, 5, 0), (14, 5, 4), (9, 3, 1), (15, 4, 3), (30, 6, 2))]
    out += [(f"star {n}", star(n)) for n in (1, 2, 7, 200)]
    out += [(f"cycle {k}", even_cycle(k)) for k in (2, 3, 10)]
    out += [(f"grid {r}x{c}", grid(r, c)) for r, c in ((2, 2), (3, 5), (8, 8))]
    out += [(f"tree {n}", random_tree(n, rng)) for n in (5, 40, 300)]
    out += [(f"random {m}x{n} {d}", random_sparse(m, n, d, rng)) for m, n, d in ((12, 8, 0.3), (60, 40, 0.08), (200, 50, 0.05))]
    out += [(f"heavy {m}x{n}", heavy_tailed(m, n, rng)) for m, n in ((40, 30), (300, 100))]
    out += [(f"pendant {k}x{L}", pendant_chains(random_sparse(20, 15, 0.25, rng), k, L, rng)) for k, L in ((1, 8), (5, 3), (3, 30))]
    out += [(f"near-complete {m}x{n}", near_complete(m, n, 0.9, rng)) for m, n in ((10, 10), (400, 6), (50, 20))]
    return out
