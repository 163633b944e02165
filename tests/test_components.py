import numpy as np
import pytest

from bipartite_expanders import BipartiteGraph, connected_components, generators, scope_vertices, side_degrees
from bipartite_expanders.scopes import restrict_to_scope


def test_components_of_union_with_isolated():
    g = generators.disjoint_union(generators.complete_bipartite(2, 2), generators.even_cycle(4), BipartiteGraph.from_edges([], (1, 2)))
    c = connected_components(g)
    assert c.n_nontrivial == 2
    assert c.n_components == 2 + 3  # one isolated left, two isolated right
    # largest: the 8-cycle (8 edges) beats K_{2,2} (4 edges)
    rows, cols = scope_vertices(g, "largest")
    assert rows.tolist() == [2, 3, 4, 5] and cols.tolist() == [2, 3, 4, 5]
    rows, cols = scope_vertices(g, "nonisolated")
    assert rows.size == 6 and cols.size == 6
    rows, cols = scope_vertices(g, "all")
    assert rows.size == 7 and cols.size == 8


def test_largest_tie_break_by_vertices_then_label():
    # a 2x2 complete (4 edges, 4 vertices) vs a star K_{1,4} (4 edges, 5 vertices): the star wins
    g = generators.disjoint_union(generators.complete_bipartite(2, 2), generators.star(4))
    rows, cols = scope_vertices(g, "largest")
    assert rows.tolist() == [2] and cols.tolist() == [2, 3, 4, 5]
    # two equal components: the one with the lowest-numbered vertex
    h = generators.disjoint_union(generators.complete_bipartite(2, 2), generators.complete_bipartite(2, 2))
    rows, _ = scope_vertices(h, "largest")
    assert rows.tolist() == [0, 1]


def test_edgeless_scopes():
    g = BipartiteGraph.from_edges([], (3, 2))
    for scope in ("largest", "nonisolated"):
        r, c = scope_vertices(g, scope)
        assert r.size == 0 and c.size == 0
    sub, _, _ = restrict_to_scope(g, "largest")
    assert sub.shape == (0, 0)
    with pytest.raises(ValueError, match="scope must be one of"):
        scope_vertices(g, "biggest")


def test_side_degrees():
    g = BipartiteGraph.from_dense([[1, 2, 0], [0, 3, 0]])
    left, right = side_degrees(g.matrix, weighted=False)
    assert (left.n_vertices, left.average, left.minimum, left.maximum, left.isolated) == (2, 1.5, 1, 2, 0)
    assert (right.average, right.minimum, right.maximum, right.isolated) == (1.0, 0, 2, 1)
    left_w, right_w = side_degrees(g.matrix, weighted=True)
    assert left_w.average == 3.0 and right_w.average == 2.0
    assert left_w.minimum == 1  # minimum degree is an edge count even when weighted


def test_largest_tie_break_does_not_depend_on_vertex_order():
    # Two components with equal edges and vertices but different weights: the heavier one is the
    # largest whichever comes first (found by hypothesis on a 3 x 11 graph with two edges).
    a = BipartiteGraph.from_edges([(0, 0), (2, 5)], (3, 11), weights=[1.0, 2.5])
    b = BipartiteGraph.from_edges([(2, 0), (0, 5)], (3, 11), weights=[1.0, 2.5])
    for g in (a, b):
        rows, cols = scope_vertices(g, "largest")
        assert g.matrix[rows][:, cols].toarray().tolist() == [[2.5]]
    # Tied in size and weight but not in structure: path P6 (3+3 vertices, 5 edges) vs a spider
    path = BipartiteGraph.from_edges([(0, 0), (1, 0), (1, 1), (2, 1), (2, 2)], (3, 3))
    spider = BipartiteGraph.from_edges([(0, 0), (0, 1), (0, 2), (1, 0), (2, 1)], (3, 3))
    for first, second in ((path, spider), (spider, path)):
        g = generators.disjoint_union(first, second)
        rows, cols = scope_vertices(g, "largest")
        got = g.matrix[rows][:, cols]
        assert np.isclose(np.linalg.svd(got.toarray(), compute_uv=False)[0],
                          np.linalg.svd(spider.toarray(), compute_uv=False)[0])  # the spider has the larger t1
