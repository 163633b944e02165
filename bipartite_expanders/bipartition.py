"""The two sides of a graph given by its adjacency matrix: 2-colouring, and the bi-adjacency
matrix it implies.

Graph people store a bipartite graph as a graph: a symmetric adjacency matrix (SuiteSparse,
``networkx.to_scipy_sparse_array``) or an edge list over one vertex numbering (networkx's
``write_edgelist``). :func:`bipartition` finds the two colour classes (networkx calls them
``bipartite.sets``), :func:`biadjacency` the ``left x right`` block the rest of the library
analyses.

The colouring uses the bipartite double cover: vertex ``u`` becomes ``u`` and ``u + n``, each
edge ``{u, v}`` the edges ``{u, v + n}`` and ``{u + n, v}``. A component of the graph is
bipartite exactly when its double cover splits into two components, and then ``u`` and
``u + n`` lie in different ones; which one holds ``u`` is its colour. One call of
``scipy.sparse.csgraph.connected_components`` does it in O(V + E), with no per-component loop.
Within each component the side holding its lowest-numbered vertex is the left side (scipy labels
components in order of their lowest vertex); an isolated vertex is a left vertex.

>>> import numpy as np
>>> path = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])  # 0 - 1 - 2 - 3
>>> left, right = bipartition(path)
>>> left.tolist(), right.tolist()
([0, 2], [1, 3])
>>> biadjacency(path).shape
(2, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .graph import BipartiteGraph

__all__ = ["NotBipartiteError", "bipartition", "biadjacency"]


class NotBipartiteError(ValueError):
    """The graph has an odd cycle (a self-loop is one of length 1); the message names an edge on one."""


def _square_csr(adjacency: Any) -> sp.csr_array:
    a = sp.csr_array(adjacency) if sp.issparse(adjacency) else sp.csr_array(np.asarray(adjacency))
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"an adjacency matrix must be square; got shape {a.shape}")
    a.eliminate_zeros()
    return a


def _check_symmetric(a: sp.csr_array) -> None:
    pattern = (a != 0).astype(np.int8)
    asym = abs(pattern - pattern.T)
    if asym.nnz:
        r, c = asym.nonzero()
        raise ValueError(f"an adjacency matrix must be symmetric: entry ({r[0]}, {c[0]}) is stored but "
                         f"({c[0]}, {r[0]}) is not (0-based)")
    diff = abs(a - a.T)
    if diff.nnz and diff.max() > 0:
        r, c = diff.nonzero()
        raise ValueError(f"an adjacency matrix must be symmetric: entries ({r[0]}, {c[0]}) and ({c[0]}, {r[0]}) "
                         f"differ ({a[r[0], c[0]]!r} and {a[c[0], r[0]]!r}, 0-based)")


def bipartition(adjacency: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two colour classes of a graph, as sorted vertex index arrays ``(left, right)``.

    Parameters
    ----------
    adjacency
        A symmetric square matrix (dense or scipy.sparse); nonzero entries are edges.

    Raises
    ------
    NotBipartiteError
        When a component has an odd cycle (a nonzero diagonal entry is a self-loop); the
        message names a vertex on it.
    ValueError
        When the matrix is not square or not symmetric.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_scipy_sparse_array(nx.complete_bipartite_graph(2, 3))
    >>> [s.tolist() for s in bipartition(A)]
    [[0, 1], [2, 3, 4]]
    """
    a = _square_csr(adjacency)
    _check_symmetric(a)
    n = a.shape[0]
    loops = np.flatnonzero(a.diagonal())
    if loops.size:
        raise NotBipartiteError(f"vertex {loops[0]} has a self-loop (0-based): a bipartite graph has none")
    coo = a.tocoo()
    rows = np.concatenate([coo.row, coo.row + n])
    cols = np.concatenate([coo.col + n, coo.col])
    cover = sp.csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(2 * n, 2 * n))
    _, labels = connected_components(cover, directed=False)
    same = np.flatnonzero(labels[:n] == labels[n:])
    if same.size:
        u = int(same[0])
        raise NotBipartiteError(f"the graph is not bipartite: the component of vertex {u} (0-based) has an odd cycle")
    colour = labels[:n] > labels[n:]
    return np.flatnonzero(~colour), np.flatnonzero(colour)


def biadjacency(adjacency: Any) -> BipartiteGraph:
    """The bipartite graph of a symmetric adjacency matrix: rows are :func:`bipartition`'s left
    vertices, columns its right vertices, each in increasing order; weights are kept.

    >>> import numpy as np
    >>> biadjacency(np.array([[0, 2.0], [2.0, 0]])).matrix.toarray()
    array([[2.]])
    """
    left, right = bipartition(adjacency)
    a = _square_csr(adjacency)
    return BipartiteGraph(a[left][:, right])
