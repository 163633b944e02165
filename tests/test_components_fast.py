"""The single-component fast path of connected_components agrees with scipy's csgraph exactly."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph

from bipartite_expanders import BipartiteGraph, connected_components
from bipartite_expanders.components import _one_component, degree_counts


def csgraph_labels(B):
    m, n = B.shape
    adj = sp.csr_array((np.ones(B.nnz), B.indices.astype(np.int64) + m, np.concatenate([B.indptr, np.full(n, B.indptr[-1])])),
                       shape=(m + n, m + n))
    return csgraph.connected_components(adj, directed=True, connection="weak")


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 25), n=st.integers(1, 25), p=st.floats(0.02, 0.6), blank=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matches_csgraph(m, n, p, blank, seed):
    rng = np.random.default_rng(seed)
    A = (rng.random((m, n)) < p).astype(float)
    if blank:
        A[rng.integers(0, m)] = 0  # an isolated left vertex
    if A.sum() == 0:
        A[0, 0] = 1
    g = BipartiteGraph.from_dense(A)
    k, labels = csgraph_labels(g.matrix)
    c = connected_components(g)
    assert c.n_components == k
    np.testing.assert_array_equal(np.concatenate([c.left_labels, c.right_labels]), labels)
    edge_rows = np.repeat(np.arange(m), np.diff(g.matrix.indptr))
    np.testing.assert_array_equal(c.edges, np.bincount(labels[:m][edge_rows], minlength=k))
    np.testing.assert_array_equal(c.n_vertices, np.bincount(labels, minlength=k))


def test_fast_path_taken_and_declined():
    dense = BipartiteGraph.from_dense(np.ones((4, 3)))
    assert _one_component(dense.matrix) is not None
    two = BipartiteGraph.from_dense(np.eye(3))
    assert _one_component(two.matrix) is None
    path = np.zeros((40, 40))  # a long path: diameter beyond the hop limit, csgraph decides
    idx = np.arange(40)
    path[idx, idx] = 1
    path[idx[1:], idx[:-1]] = 1
    assert _one_component(BipartiteGraph.from_dense(path).matrix) is None
    assert connected_components(BipartiteGraph.from_dense(path)).n_nontrivial == 1


def test_components_and_degrees_are_cached_read_only_and_shared_with_the_pattern():
    g = BipartiteGraph.from_dense(np.array([[0.5, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 3.0]]))
    c = connected_components(g)
    assert connected_components(g) is c
    assert connected_components(g.pattern()) is c  # same edge set, same structure
    for arr in (c.left_labels, c.right_labels, c.edges, c.n_vertices):
        with pytest.raises(ValueError):
            arr[0] = 7
    deg_l, deg_r = degree_counts(g)
    np.testing.assert_array_equal(deg_l, [2, 0, 1])
    np.testing.assert_array_equal(deg_r, [1, 1, 1])
    assert degree_counts(g.pattern())[0] is deg_l
    # a graph on other edges does not see the cache
    other = BipartiteGraph.from_dense(np.ones((3, 3)))
    assert connected_components(other).n_nontrivial == 1
    np.testing.assert_array_equal(degree_counts(other)[1], [3, 3, 3])
