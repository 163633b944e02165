import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, generators
from bipartite_expanders.graph import checked_csr


def test_from_dense_basic():
    g = BipartiteGraph.from_dense([[1, 0, 2], [0, 0, 3]])
    assert g.shape == (2, 3)
    assert g.n_edges == 3
    assert g.is_weighted
    assert g.density == pytest.approx(0.5)
    assert g.matrix.dtype == np.float64
    assert g.pattern().is_weighted is False
    assert g.pattern().n_edges == 3


def test_unweighted_and_zero_entries_dropped():
    g = BipartiteGraph.from_sparse(sp.csr_array(([1.0, 0.0, 1.0], ([0, 1, 1], [0, 0, 1])), shape=(2, 2)))
    assert g.n_edges == 2  # the explicit zero is no edge
    assert not g.is_weighted


def test_immutable_arrays():
    g = BipartiteGraph.from_dense(np.ones((2, 2)))
    with pytest.raises(ValueError):
        g.matrix.data[0] = 5.0
    src = np.ones((2, 2))
    g2 = BipartiteGraph.from_dense(src)
    src[0, 0] = 7
    assert g2.matrix[0, 0] == 1.0  # constructor copies


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        (np.ones(3), ValueError, "2-D"),
        (np.ones((2, 2, 2)), ValueError, "2-D"),
        (np.ones((0, 3)), ValueError, "at least (1, 1)"),
        (np.array([[1.0, np.nan]]), ValueError, "non-finite"),
        (np.array([[1.0, np.inf]]), ValueError, "non-finite"),
        (np.array([[1.0, -2.0]]), ValueError, "absolute values"),
        (np.array([["a", "b"]]), TypeError, "real numbers"),
        (np.array([[1 + 1j]]), TypeError, "real numbers"),
    ],
)
def test_bad_dense_input(bad, exc, words):
    with pytest.raises(exc, match=None) as info:
        BipartiteGraph.from_dense(bad)
    assert words in str(info.value)


def test_bad_sparse_input():
    with pytest.raises(TypeError, match="scipy.sparse"):
        BipartiteGraph.from_sparse(np.ones((2, 2)))
    with pytest.raises(ValueError, match="negative"):
        BipartiteGraph.from_sparse(sp.csr_array(-np.ones((2, 2))))
    with pytest.raises(ValueError, match="non-finite"):
        BipartiteGraph.from_sparse(sp.csr_array(np.array([[np.nan, 1.0]])))


def test_from_sparse_sums_duplicates_like_scipy():
    coo = sp.coo_array(([1.0, 2.0], ([0, 0], [1, 1])), shape=(1, 2))
    g = BipartiteGraph.from_sparse(coo)
    assert g.n_edges == 1 and g.matrix[0, 1] == 3.0


def test_from_edges_and_duplicates():
    g = BipartiteGraph.from_edges([(0, 1), (1, 0)], shape=(2, 2))
    assert g.n_edges == 2 and not g.is_weighted
    edges = [(0, 1), (0, 1), (1, 1)]
    with pytest.raises(ValueError, match="duplicate edge \\(0, 1\\)"):
        BipartiteGraph.from_edges(edges, (2, 2))
    w = [1.0, 4.0, 2.0]
    assert BipartiteGraph.from_edges(edges, (2, 2), w, duplicates="sum").matrix[0, 1] == 5.0
    assert BipartiteGraph.from_edges(edges, (2, 2), w, duplicates="max").matrix[0, 1] == 4.0
    assert BipartiteGraph.from_edges(edges, (2, 2), w, duplicates="last").matrix[0, 1] == 4.0
    assert BipartiteGraph.from_edges([(0, 1), (0, 1)], (1, 2), [5.0, 1.0], duplicates="last").matrix[0, 1] == 1.0
    with pytest.raises(ValueError, match="duplicates must be"):
        BipartiteGraph.from_edges(edges, (2, 2), duplicates="mean")


def test_from_edges_validation():
    with pytest.raises(ValueError, match="left index out of range"):
        BipartiteGraph.from_edges([(2, 0)], (2, 2))
    with pytest.raises(ValueError, match="right index out of range"):
        BipartiteGraph.from_edges([(0, -1)], (2, 2))
    with pytest.raises(ValueError, match="one value per edge"):
        BipartiteGraph.from_edges([(0, 0)], (2, 2), weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="pairs"):
        BipartiteGraph.from_edges([(0, 0, 0)], (2, 2))
    with pytest.raises(TypeError, match="shape"):
        BipartiteGraph.from_edges([(0, 0)], shape=5)
    with pytest.raises(ValueError, match="absolute"):
        BipartiteGraph.from_edges([(0, 0)], (1, 1), weights=[-1.0])
    empty = BipartiteGraph.from_edges([], (3, 4))
    assert empty.n_edges == 0 and empty.shape == (3, 4)


def test_transpose_subgraph_with_weights():
    g = BipartiteGraph.from_dense([[1, 2, 0], [0, 3, 4]])
    t = g.transpose()
    assert t.shape == (3, 2) and np.array_equal(t.toarray(), g.toarray().T)
    s = g.subgraph([1], [1, 2])
    assert np.array_equal(s.toarray(), [[3, 4]])
    s2 = g.subgraph(np.array([True, False]), None)
    assert np.array_equal(s2.toarray(), [[1, 2, 0]])
    with pytest.raises(ValueError, match="at least one vertex"):
        g.subgraph([], None)
    with pytest.raises(ValueError, match="out of range"):
        g.subgraph([5], None)
    rw = g.with_weights(np.full((2, 3), 7.0))
    assert rw.n_edges == 4 and set(rw.matrix.data.tolist()) == {7.0}
    with pytest.raises(ValueError, match="shape"):
        g.with_weights(np.ones((3, 3)))


def test_equality():
    a = BipartiteGraph.from_dense(np.eye(2))
    assert a == BipartiteGraph.from_edges([(0, 0), (1, 1)], (2, 2))
    assert a != BipartiteGraph.from_dense(np.ones((2, 2)))
    with pytest.raises(TypeError):
        hash(a)


def test_networkx_round_trip():
    g = BipartiteGraph.from_dense([[1.0, 0.5, 0], [0, 2.0, 3.0]])
    G = g.to_networkx()
    assert nx.is_bipartite(G)
    assert BipartiteGraph.from_networkx(G) == g
    # explicit left, arbitrary labels, missing weights default to 1
    H = nx.Graph([("a", "x"), ("b", "x"), ("b", "y")])
    h = BipartiteGraph.from_networkx(H, left=["a", "b"])
    assert h.shape == (2, 2) and h.n_edges == 3 and not h.is_weighted
    with pytest.raises(ValueError, match="bipartite"):
        BipartiteGraph.from_networkx(nx.path_graph(3))
    with pytest.raises(ValueError, match="joins one side"):
        BipartiteGraph.from_networkx(nx.path_graph(3), left=[0, 1])
    with pytest.raises(TypeError):
        BipartiteGraph.from_networkx(np.ones((2, 2)))


def test_networkx_known_graph():
    G = nx.complete_bipartite_graph(3, 4)
    g = BipartiteGraph.from_networkx(G)
    assert g == generators.complete_bipartite(3, 4)


def test_igraph_round_trip():
    igraph = pytest.importorskip("igraph")
    g = BipartiteGraph.from_dense([[1.0, 0.5, 0], [0, 2.0, 3.0]])
    G = g.to_igraph()
    assert G.is_bipartite()
    assert BipartiteGraph.from_igraph(G) == g
    H = igraph.Graph.Full_Bipartite(2, 3)
    assert BipartiteGraph.from_igraph(H) == generators.complete_bipartite(2, 3)
    with pytest.raises(ValueError, match="vertex attribute"):
        BipartiteGraph.from_igraph(igraph.Graph.Ring(4))


# ------------------------------------------------------------ the package's API for handed-over matrices
def test_adopt_csr_checks_what_it_is_handed():
    bad = sp.csr_array((np.ones(3), np.array([1, 2, 3]), np.array([0, 1, 2, 3])), shape=(3, 3))
    with pytest.raises(ValueError, match=r"layer\.indices must lie in \[0, 3\)"):
        BipartiteGraph.adopt_csr(bad, "layer", canonical=True)
    neg = sp.csr_array((np.array([1.0, -2.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="negative"):
        BipartiteGraph.adopt_csr(neg)
    # a false claim of canonical form (unsorted, duplicated, an explicit zero) is repaired, not trusted
    messy = sp.csr_array((np.array([2.0, 1.0, 3.0, 0.0]), np.array([1, 0, 0, 1]), np.array([0, 2, 4])), shape=(2, 2))
    g = BipartiteGraph.adopt_csr(messy, canonical=True)
    np.testing.assert_array_equal(g.toarray(), [[1.0, 2.0], [3.0, 0.0]])
    assert g.n_edges == 3 and g == BipartiteGraph.from_dense([[1.0, 2.0], [3.0, 0.0]])


def test_structure_cache_and_scaling_share_the_edges():
    g = BipartiteGraph.from_dense([[1.0, 3.0], [0.0, 2.0]])
    calls = []
    assert g.cached("k", lambda: calls.append(1) or 7) == 7
    assert g.cached("k", lambda: calls.append(1) or 8) == 7 and calls == [1]
    g.remember("known", 1)
    g.remember("known", 2)  # a known fact is kept
    assert g.cached("known", lambda: 3) == 1
    h = g.scaled(-1000)
    np.testing.assert_array_equal(h.toarray(), np.ldexp(g.toarray(), -1000))
    assert h.cached("k", lambda: 9) == 7 and g.pattern().cached("k", lambda: 9) == 7
    tiny = BipartiteGraph.from_dense([[1e-300, 1.0]]).scaled(-1000)
    assert tiny.n_edges == 2 and tiny.matrix.data.min() > 0  # an underflowing weight stays an edge
    with pytest.raises(ValueError, match="overflow"):
        g.scaled(1100)
    with pytest.raises(TypeError, match="exponent must be an integer"):
        g.scaled(0.5)


def test_a_shape_beyond_memory_is_refused_naming_the_argument():
    # before: numpy's MemoryError ("Unable to allocate 74.5 GiB ...") from inside scipy
    with pytest.raises(ValueError, match=r"shape \(10000000000, 10000000000\) needs 149 GiB for its index pointers"):
        BipartiteGraph.from_edges([(0, 1)], shape=(10**10, 10**10))
    huge = sp.coo_array((np.ones(1), ([0], [0])), shape=(2**40, 3))
    with pytest.raises(ValueError, match=r"W.shape \(1099511627776, 3\) needs"):
        checked_csr(huge, "W")
    # an ordinary large shape passes the check (its pointers fit)
    assert BipartiteGraph.from_edges([(0, 1)], shape=(10**6, 10**6)).n_edges == 1
