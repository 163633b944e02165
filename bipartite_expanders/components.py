"""Connected components and degree statistics (a leaf: the scopes built on them, with their
spectral tie-break, are in :mod:`bipartite_expanders.scopes`).

Components come from :func:`scipy.sparse.csgraph.connected_components` on the
bi-adjacency matrix seen as a directed graph from left to right vertices with weak
connectivity, which is the undirected bipartite graph without building the (m+n)
adjacency.

Degrees: minimum and maximum degrees are edge counts (Hoory's hypothesis "minimum degree
>= 2" is about the combinatorial graph); the average degree is the edge count, or the total
weight for a weighted analysis, over the number of vertices of that side in the scope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from .graph import as_graph

__all__ = [
    "Components",
    "SideDegrees",
    "connected_components",
    "side_degrees",
    "degree_counts",
]

@dataclass(frozen=True)
class Components:
    """Component labels of a bipartite graph.

    ``left_labels[i]`` / ``right_labels[j]`` give the component of each vertex; isolated
    vertices are components of their own (with zero edges). ``edges[c]`` and
    ``n_vertices[c]`` count edges and vertices per component.
    """

    n_components: int
    left_labels: np.ndarray
    right_labels: np.ndarray
    edges: np.ndarray
    n_vertices: np.ndarray

    @property
    def n_nontrivial(self) -> int:
        """Number of components with at least one edge."""
        return int(np.count_nonzero(self.edges))

    def largest(self) -> int:
        """Label of the component with the most edges (ties: more vertices, then lowest label)."""
        order = np.lexsort((np.arange(self.n_components), -self.n_vertices, -self.edges))
        return int(order[0])


def connected_components(graph: Any) -> Components:
    """Connected components of a bipartite graph (computed once per graph value and cached on
    it, so the arrays are read-only).

    >>> import numpy as np
    >>> from bipartite_expanders import BipartiteGraph
    >>> c = connected_components(BipartiteGraph.from_dense(np.eye(3)))
    >>> c.n_components, c.n_nontrivial
    (3, 3)
    """
    g = as_graph(graph)
    cached = g._structure.get("components")
    if cached is None:
        cached = _components(g.matrix, *degree_counts(g))
        for arr in (cached.left_labels, cached.right_labels, cached.edges, cached.n_vertices):
            arr.flags.writeable = False  # cached on the graph and shared: read-only
        g._structure["components"] = cached
    return cached


def degree_counts(graph: Any) -> tuple[np.ndarray, np.ndarray]:
    """Edge counts of the left and right vertices (read-only arrays, cached on the graph)."""
    g = as_graph(graph)
    cached = g._structure.get("degrees")
    if cached is None:
        B = g.matrix
        m, n = B.shape
        if B.nnz == m * n:  # complete (an unpruned layer): no pass over the edges
            deg_l, deg_r = np.full(m, n, dtype=np.int64), np.full(n, m, dtype=np.int64)
        else:
            deg_l = np.diff(B.indptr)
            deg_r = np.bincount(B.indices, minlength=n)
        deg_l.flags.writeable = deg_r.flags.writeable = False
        cached = g._structure["degrees"] = (deg_l, deg_r)
    return cached


def _components(B: sp.csr_array, deg_l: np.ndarray, deg_r: np.ndarray) -> Components:
    m, n = B.shape
    fast = _one_component(B, deg_l, deg_r)
    if fast is not None:
        return fast
    # Directed left->right edges on m+n nodes; weak connectivity = undirected components.
    adj = sp.csr_array(
        (np.ones(B.nnz), B.indices.astype(np.int64) + m, np.concatenate([B.indptr, np.full(n, B.indptr[-1])])),
        shape=(m + n, m + n),
    )
    k, labels = csgraph.connected_components(adj, directed=True, connection="weak")
    left, right = labels[:m], labels[m:]
    edge_rows = np.repeat(np.arange(m), np.diff(B.indptr))
    edges = np.bincount(left[edge_rows], minlength=k)
    n_vertices = np.bincount(labels, minlength=k)
    return Components(int(k), left, right, edges, n_vertices)


def _connected_labels(live_l: np.ndarray, live_r: np.ndarray, nnz: int) -> Components:
    """Components when every non-isolated vertex lies in one component (csgraph's labels)."""
    m = live_l.size
    main = np.concatenate([live_l, live_r])
    start = ~main
    first = int(np.argmax(main))
    start[first] = True
    labels = np.cumsum(start) - 1
    labels[main] = labels[first]
    k = int(start.sum())
    edges = np.zeros(k, dtype=np.int64)
    edges[labels[first]] = nnz
    n_vertices = np.bincount(labels, minlength=k)
    return Components(k, labels[:m], labels[m:], edges, n_vertices)


def _one_component(B: sp.csr_array, deg_l: np.ndarray | None = None, deg_r: np.ndarray | None = None,
                   max_hops: int = 8) -> Components | None:
    """Components of a graph that is connected up to isolated vertices (every network layer
    worth analysing), or None when it is not, or not shown to be within ``max_hops``.

    A breadth-first search from the highest-degree left vertex by sparse products with B and
    B^T: an expander's diameter is a few hops, and each hop costs two O(E) products, where
    csgraph's weak components build the transpose first. Labels follow csgraph's convention
    (numbered by each component's lowest vertex, left vertices before right ones).
    """
    m, n = B.shape
    if B.nnz == 0:
        return None
    if deg_l is None or deg_r is None:
        deg_l, deg_r = np.diff(B.indptr), np.bincount(B.indices, minlength=n)
    live_l, live_r = deg_l > 0, deg_r > 0
    r0 = int(np.argmax(deg_l))
    n_live_l, n_live_r = int(np.count_nonzero(live_l)), int(np.count_nonzero(live_r))
    # A vertex adjacent to every live vertex of the other side joins them all, and every
    # live vertex of its own side has a neighbour among them: one component (dense layers).
    if int(deg_l[r0]) == n_live_r or int(deg_r.max()) == n_live_l:
        return _connected_labels(live_l, live_r, int(B.nnz))
    cols = np.zeros(n, dtype=bool)
    cols[B.indices[B.indptr[r0]:B.indptr[r0 + 1]]] = True
    n_cols = int(cols.sum())
    BT = B.T
    for _ in range(max_hops):
        rows = (B @ cols.astype(np.float64)) > 0
        cols = (BT @ rows.astype(np.float64)) > 0
        grown = int(cols.sum())
        if grown == n_cols:
            break
        n_cols = grown
    else:
        return None
    if not (np.array_equal(rows, live_l) and np.array_equal(cols, live_r)):
        return None  # the search closed on a component that misses some edges: several components
    return _connected_labels(live_l, live_r, int(B.nnz))


@dataclass(frozen=True)
class SideDegrees:
    """Degree statistics of one side of a scope.

    ``average`` is edges (or total weight) per vertex, NaN for an empty side; ``minimum`` and
    ``maximum`` are edge counts (0 for an empty side); ``isolated`` counts degree-0 vertices.
    """

    n_vertices: int
    average: float
    minimum: int
    maximum: int
    isolated: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def side_degrees(matrix: sp.csr_array, weighted: bool,
                 counts: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[SideDegrees, SideDegrees]:
    """Degree statistics of the left (rows) and right (columns) side of a bi-adjacency matrix.

    ``counts``: the edge counts of both sides when known (:func:`degree_counts`)."""
    m, n = matrix.shape
    if counts is None:
        counts_l = np.diff(matrix.indptr)
        counts_r = np.bincount(matrix.indices, minlength=n)
    else:
        counts_l, counts_r = counts
    total = float(matrix.data.sum()) if weighted else float(matrix.nnz)

    def stats(counts: np.ndarray, size: int) -> SideDegrees:
        if size == 0:
            return SideDegrees(0, float("nan"), 0, 0, 0)
        return SideDegrees(int(size), total / size, int(counts.min()), int(counts.max()), int(np.count_nonzero(counts == 0)))

    return stats(counts_l, m), stats(counts_r, n)
