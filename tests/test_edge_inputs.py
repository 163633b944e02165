"""Every row of issue 12's table: each input gives a clear error or the exact answer.

References are independent: numpy's dense SVD of the unscaled matrix, closed forms, or scipy's
own reading of a file; never the code's own output at another scale alone.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import (
    BipartiteGraph,
    GraphFileError,
    load_graph,
    ramanujan_report,
    spectral_pair,
    top_singular_values,
)

SOLVERS = ("dense", "gram", "lanczos", "arpack")


def _bad_index_csr():
    # built without scipy's full check: column index 3 in a 3 x 3 matrix
    return sp.csr_array((np.ones(3), np.array([1, 2, 3]), np.array([0, 1, 2, 3])), shape=(3, 3))


def _bad_indptr_csr():
    m = sp.csr_array((np.ones(3), np.array([1, 2, 0]), np.array([0, 1, 2, 3])), shape=(3, 3))
    m.indptr = np.array([0, 3, 1, 3])  # not monotone
    return m


def _save_raw_npz(path, m):
    np.savez(path, data=m.data, indices=m.indices, indptr=m.indptr, format=b"csr", shape=np.array(m.shape))


def _analyze(*args):
    return subprocess.run([sys.executable, "-m", "bipartite_expanders", "analyze", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- row 1: malformed sparse structure
@pytest.mark.parametrize("make, words", [(_bad_index_csr, r"indices must lie in \[0, 3\)"),
                                         (_bad_indptr_csr, "indptr must be non-decreasing")])
@pytest.mark.parametrize("func", [ramanujan_report, top_singular_values, spectral_pair, BipartiteGraph, BipartiteGraph.from_sparse])
def test_malformed_csr_is_refused_before_any_kernel(make, words, func):
    with pytest.raises(ValueError, match=words):
        func(make())


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil"])
def test_malformed_other_formats(fmt):
    if fmt == "csc":
        m = sp.csc_array((np.ones(3), np.array([1, 2, 3]), np.array([0, 1, 2, 3])), shape=(3, 3))
    elif fmt == "coo":
        m = sp.coo_array((np.ones(2), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2))
        m.col[1] = 7
    else:
        m = sp.lil_array((2, 2))
        m[0, 0] = 1.0
        m.rows[0] = [7]
    with pytest.raises(ValueError, match=r"matrix\.(indices|col) .*must lie in"):
        BipartiteGraph(m)


@pytest.mark.parametrize("make, words", [(_bad_index_csr, "indices must lie in"), (_bad_indptr_csr, "indptr")])
def test_malformed_npz_through_analyze_is_one_clean_error(tmp_path, make, words):
    p = tmp_path / "bad.npz"
    _save_raw_npz(p, make())
    r = _analyze(p)
    assert r.returncode == 1, (r.returncode, r.stderr)  # not 134 (abort) or 139 (segfault)
    assert str(p) in r.stderr and words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- rows 2-5: any scale
def _reference(W):
    return np.linalg.svd(np.asarray(W, dtype=float), compute_uv=False)


def test_tiny_weights_gram_path():
    rng = np.random.default_rng(0)
    W = rng.random((60, 300))
    s = _reference(W)
    r = ramanujan_report(W * 1e-200, universal_cover=False)
    assert r.t1 == pytest.approx(s[0] * 1e-200, rel=1e-10) and r.t2 == pytest.approx(s[1] * 1e-200, rel=1e-8)
    assert r.state.verified
    res = top_singular_values(W * 1e-200, 2, solver="gram", full_output=True)
    assert res.verified and np.allclose(res.values, s[:2] * 1e-200, rtol=1e-8, atol=0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_huge_weights_every_solver(solver):
    rng = np.random.default_rng(0)
    W = rng.random((60, 300))
    s = _reference(W)
    res = top_singular_values(W * 1e160, 2, solver=solver, full_output=True)  # lanczos / arpack raised ArpackError
    assert res.verified
    np.testing.assert_allclose(res.values, s[:2] * 1e160, rtol=1e-8, atol=0)


@pytest.mark.parametrize("c", [1e-200, 1e200, 1e-300, 1e300])
def test_star_norm_neither_underflows_nor_overflows(c):
    r = ramanujan_report(np.full((1, 3), c))
    assert r.t1 == pytest.approx(math.sqrt(3) * c, rel=1e-14) and r.t2 == 0.0
    assert r.d_left == pytest.approx(3 * c, rel=1e-14) and r.d_right == pytest.approx(c, rel=1e-14)


def test_near_overflow_degrees_and_values():
    W = np.array([[1e308, 1e308], [1e308, 5e307]])  # total weight 3.5e308 is not a double; its averages are
    r = ramanujan_report(W)
    s = _reference(W / 1e308) * 1e308
    assert r.t1 == pytest.approx(s[0], rel=1e-12) and r.t2 == pytest.approx(s[1], rel=1e-12)
    assert r.d_left == pytest.approx(1.75e308, rel=1e-14) and r.d_right == pytest.approx(1.75e308, rel=1e-14)
    assert math.isfinite(r.db) and r.delta_r == pytest.approx((r.db - r.t2) / r.t2)


# ---------------------------------------------------------------- row 6: integer duplicates
def test_integer_duplicates_are_summed_without_wrapping():
    for counts, expect in (([100, 100, 100], 300.0), ([100, 100], 200.0), ([127] * 1000, 127000.0)):
        k = len(counts)
        coo = sp.coo_array((np.array(counts, dtype=np.int8), (np.zeros(k, int), np.zeros(k, int))), shape=(2, 2))
        g = BipartiteGraph(coo)
        assert g.matrix[0, 0] == expect and g.n_edges == 1
    big = np.array([2**62, 2**62], dtype=np.int64)  # wraps to a negative in int64
    g = BipartiteGraph(sp.coo_array((big, ([0, 0], [0, 0])), shape=(1, 1)))
    assert g.matrix[0, 0] == pytest.approx(2.0**63)
    u = sp.coo_array((np.array([200, 200], dtype=np.uint8), ([0, 0], [1, 1])), shape=(2, 2))
    assert top_singular_values(u, 1)[0] == 400.0


def test_duplicates_summing_past_the_largest_double_are_refused():
    coo = sp.coo_array((np.array([1e308, 1e308]), ([0, 0], [0, 0])), shape=(1, 1))
    with pytest.raises(ValueError, match="overflows to inf"):
        BipartiteGraph(coo)


# ---------------------------------------------------------------- row 7: sizes checked before allocating
def test_mtx_header_size_is_checked_before_reading(tmp_path):
    p = tmp_path / "big.mtx"
    p.write_text("%%MatrixMarket matrix coordinate real general\n% a comment\n1000000000 1000000000 3\n1 1 1\n2 2 1\n3 3 1\n")
    with pytest.raises(GraphFileError) as exc:
        load_graph(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:3: shape 1000000000 x 1000000000") and "max_vertices" in msg and "GiB" in msg
    # the same file is fine once the limit allows it... but not its memory estimate for a dense array
    q = tmp_path / "dense.mtx"
    q.write_text("%%MatrixMarket matrix array real general\n100000 100000\n1\n")
    with pytest.raises(GraphFileError, match=r"dense.mtx:2: a dense 100000 x 100000 array needs an estimated"):
        load_graph(q, max_vertices=10**9)


def test_csv_edge_far_out_is_refused_at_its_line(tmp_path):
    p = tmp_path / "far.csv"
    p.write_text("0,0\n0,9999999999\n")
    with pytest.raises(GraphFileError, match=r"far.csv:2: shape 1 x 10000000000 has 10,000,000,001 vertices"):
        load_graph(p)
    with pytest.raises(GraphFileError, match="more than max_vertices=100"):
        load_graph(tmp_path / "far.csv", max_vertices=100)


def test_npy_header_size_is_checked_before_reading(tmp_path):
    p = tmp_path / "huge.npy"
    with open(p, "wb") as fh:  # a header promising 80 GB, and no data
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
    with pytest.raises(GraphFileError, match="huge.npy: a dense 100000 x 100000 array"):
        load_graph(p, max_vertices=10**9)
    with pytest.raises(GraphFileError, match="more than max_vertices=1,000"):
        load_graph(p, max_vertices=1000)


# ---------------------------------------------------------------- row 8: header detection
def test_numeric_first_line_is_an_edge(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("0.0,1.0\n1,1\n2,0\n")
    g = load_graph(p)
    np.testing.assert_array_equal(g.toarray(), [[0, 1], [0, 1], [1, 0]])
    assert load_graph(p, header=True).n_edges == 2
    named = tmp_path / "named.csv"
    named.write_text("row,col,weight\n0,0,2.5\n")
    assert load_graph(named).matrix[0, 0] == 2.5
    with pytest.raises(GraphFileError, match=r"named.csv:1: expected integer vertex indices"):
        load_graph(named, header=False)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("0,x\n1,1\n")  # half a header is not a header
    with pytest.raises(GraphFileError, match="mixed.csv:1:"):
        load_graph(mixed)


@pytest.mark.parametrize("content, words", [
    ("0,0\n1,1,2,3\n", r":2: expected 2 or 3 fields"),
    ("0,0\n-1,1\n", r":2: negative vertex index"),
    ("0,0,1\n1,1,nan\n", r":2: the weight 'nan' is not finite"),
    ("0,0,1\n1,1,inf\n", r":2: the weight 'inf' is not finite"),
    ("0,0,1\n1,1,abc\n", r":2: the weight 'abc' is not a number"),
    ("# shape 2 2\n0,0\n5,1\n", r":3: edge \(5, 1\) lies outside the shape 2 x 2 given at line 1"),
    ("0,0\n1,0.5\n", r":2: expected integer vertex indices"),
])
def test_every_edge_list_error_names_file_and_line(tmp_path, content, words):
    p = tmp_path / "e.csv"
    p.write_text(content)
    with pytest.raises(GraphFileError, match=f"e.csv{words}"):
        load_graph(p)


def test_mtx_entry_errors_name_the_line(tmp_path):
    p = tmp_path / "neg.mtx"
    p.write_text("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 -3\n")
    with pytest.raises(GraphFileError, match=r"neg.mtx:4: entry \(2, 2\) has a negative weight -3.0"):
        load_graph(p)


def test_binary_garbage_in_a_text_format(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(GraphFileError, match="g.csv"):
        load_graph(p)


# ---------------------------------------------------------------- row 9: the 3 x 5 star + path
def test_star_plus_path_largest_is_transpose_symmetric():
    # a star K_{1,3} (t1 = sqrt 3) and a path on 4 vertices (t1 = golden ratio): both 3 edges, 4 vertices
    W = np.zeros((3, 5))
    W[0, [0, 1, 2]] = 1  # the star, its centre on the left
    W[1, 3] = W[2, 3] = W[2, 4] = 1  # the path l1 - r3 - l2 - r4
    r, rt = ramanujan_report(W), ramanujan_report(W.T)
    assert r.t1 == pytest.approx(math.sqrt(3)) and rt.t1 == pytest.approx(math.sqrt(3))
    assert (r.n_left, r.n_right) == (rt.n_right, rt.n_left) == (1, 3)
