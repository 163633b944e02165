"""Analysis scopes of a bipartite graph (docs/components.md).

Scopes (``scope=``):

``"largest"``     the component with the most edges (ties: more vertices, then properties
                  that do not depend on vertex order, spectral ones included);
``"nonisolated"`` every vertex with at least one edge;
``"all"``         every vertex.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .components import Components, connected_components
from .graph import BipartiteGraph, as_graph
from .spectrum import top_singular_values

__all__ = ["SCOPES", "scope_vertices", "restrict_to_scope"]

SCOPES = ("largest", "nonisolated", "all")


def scope_vertices(graph: Any, scope: str = "largest", components: Components | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Left and right vertex indices of a scope (see module docstring).

    An edgeless graph has an empty ``largest`` and ``nonisolated`` scope.
    """
    g = as_graph(graph)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}; got {scope!r}")
    if scope == "all":
        return np.arange(g.n_left), np.arange(g.n_right)
    B = g.matrix
    if scope == "nonisolated":
        return np.flatnonzero(np.diff(B.indptr)), np.flatnonzero(np.bincount(B.indices, minlength=g.n_right))
    if g.n_edges == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    comp = components if components is not None else connected_components(g)
    c = _largest_invariant(g, comp)
    return np.flatnonzero(comp.left_labels == c), np.flatnonzero(comp.right_labels == c)


def _largest_invariant(g: BipartiteGraph, comp: Components) -> int:
    """The largest component, with ties broken by properties that do not depend on vertex order.

    Most edges, then most vertices (``Components.largest``). Components still tied are compared by
    total weight, left-side size, t1, t2 and min/max degrees (rounded to 10 significant digits, so
    rounding noise cannot decide), and only components equal in all of these, whose reports are
    then identical, fall back to the lowest label. Without this a permutation of the vertices could
    change which of two tied components a report describes.
    """
    first = comp.largest()
    tied = np.flatnonzero((comp.edges == comp.edges[first]) & (comp.n_vertices == comp.n_vertices[first]))
    if tied.size == 1:
        return first
    def key(c: int) -> tuple[float, ...]:
        rows = np.flatnonzero(comp.left_labels == c)
        cols = np.flatnonzero(comp.right_labels == c)
        sub = g.matrix[rows][:, cols]
        s = top_singular_values(sub, 2)
        deg_l, deg_r = np.diff(sp.csr_array(sub).indptr), np.bincount(sp.csr_array(sub).indices, minlength=cols.size)
        vals = (float(sub.sum()), float(rows.size), float(s[0]), float(s[1]),
                float(deg_l.min()), float(deg_r.min()), float(deg_l.max()), float(deg_r.max()))
        return tuple(float(f"{v:.10g}") for v in vals)

    keys = {int(c): key(int(c)) for c in tied}
    best = max(keys.values())
    return min(c for c, k in keys.items() if k == best)


def restrict_to_scope(graph: Any, scope: str = "largest", components: Components | None = None) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """The bi-adjacency matrix restricted to a scope, with the kept row and column indices.

    Returns a CSR matrix (possibly 0 x 0 for an edgeless graph's ``largest`` scope).
    """
    g = as_graph(graph)
    rows, cols = scope_vertices(g, scope, components)
    if scope == "all" or (rows.size == g.n_left and cols.size == g.n_right):
        return g.matrix, rows, cols  # the scope is every vertex (sorted indices): no slicing copy
    sub = g.matrix[rows][:, cols] if rows.size and cols.size else sp.csr_array((rows.size, cols.size))
    return sp.csr_array(sub), rows, cols
