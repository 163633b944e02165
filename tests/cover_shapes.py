"""Sparse graph shapes that once made the exact universal-cover radius allocate dense
vertex-by-vertex arrays (issue 23): unicyclic graphs with trees hanging off the cycle, random
cores with long pendant chains, hubs with many pendant vertices, and trees. Each builder returns
a CSR bi-adjacency matrix of a connected bipartite graph with about ``edges`` edges."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def _bipartite(n: int, u: np.ndarray, v: np.ndarray) -> sp.csr_array:
    """Bi-adjacency of a connected bipartite graph on ``n`` vertices (two-coloured by BFS depth)."""
    A = sp.csr_array((np.ones(u.size), (u, v)), shape=(n, n))
    A = ((A + A.T) > 0).astype(float).tocsr()
    depth = csgraph.shortest_path(A, indices=0, unweighted=True, directed=False)
    assert np.all(np.isfinite(depth)), "not connected"
    left = np.flatnonzero(depth % 2 == 0)
    right = np.flatnonzero(depth % 2 == 1)
    B = sp.csr_array(A[left][:, right])
    assert B.nnz * 2 == A.nnz, "not bipartite"
    return B


def _tree_edges(start: int, count: int, attach_to: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertices start .. start + count - 1, each attached to a uniformly random earlier vertex (>= 0)."""
    new = np.arange(start, start + count)
    parent = (rng.random(count) * (attach_to + np.arange(count))).astype(np.int64)
    parent = np.where(parent < attach_to, parent, parent - attach_to + start)
    return parent, new


def unicyclic(edges: int, seed: int = 0, cycle: int = 100) -> sp.csr_array:
    """An even cycle of ``cycle`` vertices with random trees hanging off it (cycle rank 1)."""
    rng = np.random.default_rng(seed)
    cu = np.arange(cycle)
    cv = (cu + 1) % cycle
    tu, tv = _tree_edges(cycle, edges - cycle, cycle, rng)
    return _bipartite(edges, np.concatenate([cu, tu]), np.concatenate([cv, tv]))


def tree(edges: int, seed: int = 0) -> sp.csr_array:
    """A random recursive tree (cycle rank 0)."""
    rng = np.random.default_rng(seed)
    tu, tv = _tree_edges(1, edges, 1, rng)
    return _bipartite(edges + 1, tu, tv)


def pendant_chains(edges: int, seed: int = 0, core: int = 200, chain: int = 50) -> sp.csr_array:
    """A random bipartite core (degree ~4) with paths of ``chain`` vertices hanging off it."""
    rng = np.random.default_rng(seed)
    half = core // 2
    cu = rng.integers(0, half, 2 * core)
    cv = half + rng.integers(0, half, 2 * core)
    ring = np.arange(half)  # a Hamiltonian-ish cycle keeps the core connected
    cu = np.concatenate([cu, ring, ring])
    cv = np.concatenate([cv, half + ring, half + (ring + 1) % half])
    pairs = np.unique(np.stack([cu, cv], 1), axis=0)
    cu, cv = pairs[:, 0], pairs[:, 1]
    n_chains = max(1, (edges - cu.size) // chain)
    us, vs = [cu], [cv]
    nxt = core
    for i in range(n_chains):
        anchor = int(rng.integers(0, core))
        path = np.arange(nxt, nxt + chain)
        us.append(np.concatenate([[anchor], path[:-1]]))
        vs.append(path)
        nxt += chain
    return _bipartite(nxt, np.concatenate(us), np.concatenate(vs))


def hubs(edges: int, seed: int = 0, n_hubs: int = 5) -> sp.csr_array:
    """A few hubs, each joined to many pendant vertices and to a shared ring of degree-2 vertices."""
    rng = np.random.default_rng(seed)
    ring = 4 * n_hubs
    # hubs 0..n_hubs-1 (left), ring vertices (right) each joined to two hubs: cycles through the hubs
    ru = np.concatenate([np.arange(ring) % n_hubs, (np.arange(ring) + 1) % n_hubs])
    rv = np.concatenate([n_hubs + np.arange(ring)] * 2)
    leaves = edges - ru.size
    lu = rng.integers(0, n_hubs, leaves)
    lv = n_hubs + ring + np.arange(leaves)
    return _bipartite(n_hubs + ring + leaves, np.concatenate([ru, lu]), np.concatenate([rv, lv]))
