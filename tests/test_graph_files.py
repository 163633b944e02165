"""Graph files as graph people write them (issue 25; the number checks of issue 27): files written
by networkx (``write_edgelist``, ``write_weighted_edgelist``) and scipy (``mmwrite``, symmetric
and general), 0- and 1-based, with comments, and malformed ones.

The reference for a 2-coloured graph is independent of the reader: networkx's own bipartite sets
and ``biadjacency_matrix``, and the spectrum: the singular values of the bi-adjacency block are
the absolute eigenvalues of the adjacency matrix (dense ``eigvalsh``)."""
import gzip
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, GraphFileError, load_graph, save_graph
from bipartite_expanders.bipartition import NotBipartiteError, biadjacency, bipartition
from bipartite_expanders.cli import main
from bipartite_expanders.io import GraphFileNote


def _bipartite_nx(seed=0, n_left=7, n_right=5, p=0.5, weighted=False):
    g = nx.bipartite.random_graph(n_left, n_right, p, seed=seed)
    g.remove_nodes_from([v for v in list(g) if g.degree(v) == 0])
    g = nx.convert_node_labels_to_integers(g)
    if weighted:
        rng = np.random.default_rng(seed)
        for u, v in g.edges:
            g[u][v]["weight"] = float(rng.integers(1, 9)) / 4
    return g


def _same_graph(graph, nx_graph, weight=None):
    """graph is nx_graph's bi-adjacency block: the same singular values as |eig(A)| and each
    component's lowest vertex on the left (networkx's sets, ordered)."""
    a = nx.to_numpy_array(nx_graph, nodelist=sorted(nx_graph), weight=weight)
    eig = np.sort(np.abs(np.linalg.eigvalsh(a)))[::-1]
    sv = np.linalg.svd(graph.toarray(), compute_uv=False)
    sv = np.sort(np.concatenate([sv, sv, np.zeros(a.shape[0] - 2 * sv.size)]))[::-1]
    np.testing.assert_allclose(sv, eig, atol=1e-9)
    assert graph.n_left + graph.n_right == nx_graph.number_of_nodes()
    assert graph.n_edges == nx_graph.number_of_edges()


# ------------------------------------------------------------------ bipartition
def test_bipartition_matches_networkx_sets_and_block():
    g = _bipartite_nx(seed=3)
    a = nx.to_scipy_sparse_array(g, nodelist=sorted(g))
    left, right = bipartition(a)
    for comp in nx.connected_components(g):
        sub = g.subgraph(comp)
        x, y = nx.bipartite.sets(sub)
        lowest = min(comp)
        want_left = x if lowest in x else y
        assert set(left.tolist()) & comp == want_left
    block = nx.bipartite.biadjacency_matrix(g, row_order=left.tolist(), column_order=right.tolist())
    assert (biadjacency(a).matrix != sp.csr_array(block)).nnz == 0


@pytest.mark.parametrize("graph,words", [
    (nx.cycle_graph(5), "odd cycle"),
    (nx.complete_graph(3), "odd cycle"),
    (nx.Graph([(0, 0), (0, 1)]), "self-loop"),
])
def test_bipartition_refuses_odd_cycles(graph, words):
    with pytest.raises(NotBipartiteError, match=words):
        bipartition(nx.to_scipy_sparse_array(graph, nodelist=sorted(graph)))


def test_bipartition_refuses_asymmetric_and_non_square():
    with pytest.raises(ValueError, match="symmetric"):
        bipartition(np.array([[0, 1], [0, 0]]))
    with pytest.raises(ValueError, match="symmetric.*differ"):
        bipartition(np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(ValueError, match="square"):
        bipartition(np.ones((2, 3)))


def test_isolated_vertices_go_left_and_two_components_each_start_left():
    g = nx.Graph([(1, 3), (2, 4)])
    g.add_node(0)  # isolated
    a = nx.to_scipy_sparse_array(g, nodelist=range(5))
    left, right = bipartition(a)
    assert left.tolist() == [0, 1, 2] and right.tolist() == [3, 4]


# ------------------------------------------------------------------ networkx edge lists
@pytest.mark.parametrize("data", [True, False])
def test_networkx_write_edgelist(tmp_path, data):
    g = _bipartite_nx(seed=1)
    p = tmp_path / "g.edgelist"
    nx.write_edgelist(g, p, data=data)  # "u v {}" by default, "u v" with data=False
    with pytest.warns(GraphFileNote, match="2-coloured"):
        graph = load_graph(p)
    _same_graph(graph, g)


def test_networkx_write_weighted_edgelist_and_weight_dicts(tmp_path):
    g = _bipartite_nx(seed=2, weighted=True)
    for name, write in [("w.edgelist", nx.write_weighted_edgelist), ("d.edgelist", nx.write_edgelist)]:
        write(g, tmp_path / name)  # "u v w" and "u v {'weight': w}"
        with pytest.warns(GraphFileNote):
            graph = load_graph(tmp_path / name)
        assert graph.is_weighted
        _same_graph(graph, g, weight="weight")


def test_networkx_one_based_edge_list_gains_no_vertex(tmp_path):
    g = _bipartite_nx(seed=4)
    g1 = nx.relabel_nodes(g, {v: v + 1 for v in g})
    p = tmp_path / "g1.edgelist"
    nx.write_edgelist(g1, p, data=False, comments="#")
    with pytest.warns(GraphFileNote) as notes:
        graph = load_graph(p)
    assert any("1-based" in str(n.message) for n in notes)
    _same_graph(graph, g)
    # forced 0-based: vertex 0 is there, isolated (a left vertex)
    with pytest.warns(GraphFileNote):
        assert load_graph(p, index_base=0).n_left == graph.n_left + 1


def test_edgelist_with_commas_comments_and_both_orientations(tmp_path):
    p = tmp_path / "g.edges"
    p.write_text("% a comment\n# another\n0,3\n3,1\n\n1 , 4\n2 4\n")
    with pytest.warns(GraphFileNote):
        graph = load_graph(p)
    assert graph.shape == (3, 2) and graph.n_edges == 4
    p.write_text("0 3\n3 0\n")
    with pytest.raises(GraphFileError, match=r":2: duplicate edge \(0, 3\), first at line 1"):
        load_graph(p)


@pytest.mark.parametrize("name,content,words", [
    ("bad.edgelist", "0 1\n1 2\n2 0\n", "not bipartite.*odd cycle"),
    ("bad.edgelist", "0 1\n2 2\n", ":2: self-loop at vertex 2"),
    ("bad.edgelist", "a b\nc d\n", "expected integer vertex indices"),
    ("bad.edgelist", "0 1 {'weight': 'x'}\n", ":1: the weight .* is not a number"),
    ("bad.edgelist", "0 1 {__import__('os')}\n", ":1: the weight .* is not a number"),
    ("bad.edgelist", "0 1 2 3\n", ":1: expected 2 or 3 fields"),
    # numbers Python itself would misread (float('1_0') == 10.0) or round to nothing
    ("n.csv", "0,1_0\n", "expected integer vertex indices"),
    ("n.csv", "0,1,1_0\n", "the weight '1_0' is not a number"),
    ("n.csv", "0,1,1e-400\n", "underflows to 0.0"),
    ("n.csv", "0,1, 2\n0 ,2,0x10\n", ":2: the weight '0x10' is not a number"),
])
def test_malformed_files_are_refused_naming_the_line(tmp_path, name, content, words):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(GraphFileError, match=words):
        load_graph(p)


# ------------------------------------------------------------------ bi-adjacency edge lists (csv, tsv)
def test_csv_one_based_detected_and_forced(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("1,1\n2,3\n")
    with pytest.warns(GraphFileNote, match="1-based"):
        g = load_graph(p)
    assert g.shape == (2, 3) and g.matrix[0, 0] == 1 and g.matrix[1, 2] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_graph(p, index_base=0).shape == (3, 4)
        p.write_text("0,1\n1,1\n")
        with pytest.raises(GraphFileError, match=":1: vertex index below 1.*1-based"):
            load_graph(p, index_base=1)
        assert load_graph(p).shape == (2, 2)  # an index 0: 0-based, no note


def test_csv_with_whitespace_and_saved_shape_stays_zero_based(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("# shape 3 3\n1 1\n2 2\n")  # no index 0, but the size is given: 0-based
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = load_graph(p)
    assert g.shape == (3, 3) and g.matrix[2, 2] == 1




def test_gzipped_csv_and_edgelist(tmp_path, capsys):
    p = tmp_path / "x.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("row,col\n0,0\n1,1\n1,0\n")
    assert load_graph(p).n_edges == 3
    assert main(["analyze", str(p), "--no-universal-cover"]) == 0
    assert "2 x 2, 3 edges" in capsys.readouterr().out


# ------------------------------------------------------------------ MatrixMarket from scipy
def test_scipy_mmwrite_symmetric_adjacency_is_two_coloured(tmp_path):
    g = _bipartite_nx(seed=5)
    a = nx.to_scipy_sparse_array(g, nodelist=sorted(g))
    p = tmp_path / "adj.mtx"
    scipy.io.mmwrite(str(p), sp.coo_matrix(a), symmetry="symmetric")
    assert scipy.io.mminfo(str(p))[5] == "symmetric"
    with pytest.warns(GraphFileNote, match="adjacency matrix"):
        graph = load_graph(p)
    _same_graph(graph, g)


def test_scipy_mmwrite_general_pattern_symmetric_is_adjacency_unless_forced(tmp_path):
    g = _bipartite_nx(seed=6, weighted=True)
    a = nx.to_scipy_sparse_array(g, nodelist=sorted(g))
    p = tmp_path / "gen.mtx"
    scipy.io.mmwrite(str(p), sp.coo_matrix(a), symmetry="general")
    with pytest.warns(GraphFileNote):
        graph = load_graph(p)
    _same_graph(graph, g, weight="weight")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_stored = load_graph(p, matrix="biadjacency")
    assert as_stored.shape == a.shape


def test_non_bipartite_adjacency_is_refused(tmp_path):
    p = tmp_path / "tri.mtx"
    scipy.io.mmwrite(str(p), sp.coo_matrix(nx.to_scipy_sparse_array(nx.cycle_graph(3))))
    with pytest.raises(GraphFileError, match="not bipartite.*--matrix biadjacency"):
        load_graph(p)


def test_general_rectangular_and_asymmetric_square_stay_biadjacency(tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(4, 6), (5, 5)]:
        m = sp.random(*shape, density=0.5, random_state=rng, format="coo")
        m.data[:] = 1.0
        if shape[0] == shape[1]:
            m = sp.coo_matrix(sp.triu(m, 1) + sp.eye(5))  # not pattern-symmetric
        p = tmp_path / f"b{shape[0]}.mtx"
        scipy.io.mmwrite(str(p), m, symmetry="general")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert load_graph(p).shape == shape


def test_save_graph_round_trips_a_symmetric_square_biadjacency(tmp_path):
    g = BipartiteGraph.from_dense(np.eye(3) + np.eye(3, k=1) + np.eye(3, k=-1))  # symmetric, diagonal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_graph(save_graph(g, tmp_path / "s.mtx")) == g


def test_format_adjacency_on_npz_and_npy(tmp_path):
    g = _bipartite_nx(seed=7)
    a = nx.to_scipy_sparse_array(g, nodelist=sorted(g))
    sp.save_npz(tmp_path / "a.npz", sp.csr_matrix(a))
    np.save(tmp_path / "a.npy", a.toarray())
    for name in ("a.npz", "a.npy"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert load_graph(tmp_path / name).shape == a.shape  # by default as stored
        with pytest.warns(GraphFileNote):
            _same_graph(load_graph(tmp_path / name, "adjacency"), g)


# ------------------------------------------------------------------ the command
def test_analyze_format_flag_and_note(tmp_path, capsys):
    g = _bipartite_nx(seed=8)
    p = tmp_path / "graph.txt"
    nx.write_edgelist(g, p, data=False)
    assert main(["analyze", str(p), "--no-universal-cover"]) == 1  # .txt: which format?
    assert "--format" in capsys.readouterr().err
    assert main(["analyze", str(p), "--format", "edgelist", "--no-universal-cover", "--json"]) == 0
    captured = capsys.readouterr()
    assert "note:" in captured.err and "2-coloured" in captured.err
    assert main(["analyze", str(p), "--format", "edgelist", "--index-base", "1"]) == 1
    assert "below 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(p), "--format", "adjacency", "--matrix", "biadjacency"])
    assert exc.value.code == 2
