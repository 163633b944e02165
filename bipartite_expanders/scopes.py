"""Analysis scopes of a bipartite graph (docs/components.md).

Scopes (``scope=``):

``"largest"``
    the component with the most edges (ties: more vertices, then properties that depend
    neither on vertex order nor on which side is left, spectral ones included);
``"nonisolated"``
    every vertex with at least one edge;
``"all"``
    every vertex.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._checks import SCOPES, check_scope
from .components import Components, connected_components
from .graph import BipartiteGraph, as_graph
from .scaling import power_of_two_scale
from .spectrum import top_singular_values

__all__ = ["SCOPES", "scope_vertices", "restrict_to_scope", "TIE_RTOL"]

#: spectral values of tied components within this relative distance count as equal (the
#: accuracy contract of :func:`top_singular_values` is 1e-8 relative)
TIE_RTOL = 1e-8



def scope_vertices(graph: Any, scope: str = "largest", components: Components | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Left and right vertex indices of a scope (see module docstring).

    An edgeless graph has an empty ``largest`` and ``nonisolated`` scope.
    """
    g = as_graph(graph)
    check_scope(scope)
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
    """The largest component, with ties broken by properties that do not depend on vertex order
    nor, as far as possible, on which side is called left.

    Most edges, then most vertices (``Components.largest``). Components still tied are compared
    first by what transposition leaves unchanged: total weight, ``t1``, ``t2``, then the two sides'
    (size, min degree, max degree) as an unordered pair. The total weight (exactly rounded) and
    the degrees are compared exactly, ``t1`` and ``t2`` within :data:`TIE_RTOL` (relative to ``t1``),
    so solver noise cannot decide and the choice is the same for ``c * W`` as for ``W`` (rounding
    to 10 digits chose differently for ``W`` and ``2 W``: decimal boundaries move with scale). So ``W`` and ``W.T`` choose the same component (the 3 x 5
    star + path of issue 12: the star, ``t1 = sqrt 3`` against the path's golden ratio). Only
    mirror images (equal in all of these, sides swapped) are told apart by orientation, the
    larger left side first: no rule can choose both invariantly, and their reports are each
    other's transposes. Components equal in everything, whose reports are identical, fall back
    to the lowest label. See docs/components.md.
    """
    first = comp.largest()
    tied = np.flatnonzero((comp.edges == comp.edges[first]) & (comp.n_vertices == comp.n_vertices[first]))
    if tied.size == 1:
        return first
    B = g.matrix
    lgroup = np.argsort(comp.left_labels, kind="stable")
    rgroup = np.argsort(comp.right_labels, kind="stable")
    lstart = np.concatenate([[0], np.cumsum(np.bincount(comp.left_labels, minlength=comp.n_components))])
    rstart = np.concatenate([[0], np.cumsum(np.bincount(comp.right_labels, minlength=comp.n_components))])

    # Spectral values are computed on B divided by one power of two near its largest weight (so
    # the floats of every solve are the same for c * W as for W, c a power of two) and compared
    # with the accuracy contract's relative tolerance, which no scaling moves (rounding to 10
    # digits did: its boundaries are decimal). Weights and degrees are compared exactly.
    peak = float(B.data.max()) if B.nnz else 1.0
    unit = power_of_two_scale(peak) if peak > 0 else 1.0
    facts: dict[int, tuple[float, float, float, tuple[Any, ...], tuple[int, int, int]]] = {}
    for c in map(int, tied):
        rows = lgroup[lstart[c]:lstart[c + 1]]
        cols = rgroup[rstart[c]:rstart[c + 1]]
        sub = sp.csr_array(B[rows][:, cols])
        s = top_singular_values(sp.csr_array((sub.data / unit, sub.indices, sub.indptr), shape=sub.shape), 2)
        deg_l, deg_r = np.diff(sub.indptr), np.bincount(sub.indices, minlength=cols.size)
        left = (rows.size, int(deg_l.min()), int(deg_l.max()))
        right = (cols.size, int(deg_r.min()), int(deg_r.max()))
        # total weight exactly rounded (math.fsum): the same for any order of the edges
        facts[c] = (math.fsum(sub.data.tolist()), float(s[0]), float(s[1]), tuple(sorted((left, right))), left)
    cands = list(facts)
    top = max(facts[c][0] for c in cands)
    cands = [c for c in cands if facts[c][0] == top]
    t1 = max(facts[c][1] for c in cands)
    cands = [c for c in cands if facts[c][1] >= t1 * (1 - TIE_RTOL)]
    t2 = max(facts[c][2] for c in cands)
    cands = [c for c in cands if facts[c][2] >= t2 - TIE_RTOL * t1]
    # transposition-invariant first, then orientation (mirror images only), then the label
    best = max(facts[c][3:] for c in cands)
    return min(c for c in cands if facts[c][3:] == best)


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
