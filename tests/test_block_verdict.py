"""Block Lanczos brackets and ramanujan_report(accuracy="verdict") against dense SVD (issue 23)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import scipy.optimize as so
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import ramanujan_report, top_singular_values
from bipartite_expanders.bounds import Verdict, exact_verdict, margin, verdict
from bipartite_expanders.dense_layers import DenseLayer, dense_layer_facts, dense_operand
from bipartite_expanders.solvers.block import block_lanczos_bracket

report_module = importlib.import_module("bipartite_expanders.report")
torch = pytest.importorskip("torch")


def _layer(m: int, n: int, density: float, seed: int, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.abs(rng.standard_normal((m, n))) * (rng.random((m, n)) < density)).astype(dtype)


def _svd(A: np.ndarray) -> np.ndarray:
    return np.linalg.svd(np.asarray(A, dtype=np.float64), compute_uv=False)


@pytest.fixture
def small_dense_path(monkeypatch):
    """Let the dense path take test-sized layers (the real threshold is 1e6 entries)."""
    monkeypatch.setattr(report_module, "DENSE_PATH_FROM_ENTRIES", 10_000)
    monkeypatch.setattr(report_module, "COVER_AUTO_EDGES", 1_000)  # "auto" takes the free cover bracket


# ------------------------------------------------------------------ the solver
@pytest.mark.parametrize("shape", [(120, 300), (300, 120), (64, 64)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_brackets_contain_dense_svd(shape, dtype):
    A = _layer(*shape, 0.4, seed=sum(shape), dtype=dtype)
    s = _svd(A)
    r = block_lanczos_bracket(A, 3)
    assert r.converged
    assert np.all(r.lower <= s[:3] * (1 + 1e-12)) and np.all(r.upper >= s[:3] * (1 - 1e-12))
    np.testing.assert_allclose(r.values, s[:3], rtol=1e-7)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(20, 90), n=st.integers(20, 90), density=st.floats(0.05, 1.0), seed=st.integers(0, 10**6),
       signed=st.booleans())
def test_brackets_hold_for_any_matrix(m, n, density, seed, signed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * (rng.random((m, n)) < density)
    if not signed:
        A = np.abs(A)
    s = np.concatenate([_svd(A), np.zeros(2)])
    r = block_lanczos_bracket(A, 2, block=4)
    assert np.all(r.lower <= s[:2] + 1e-12 * s[0] + 1e-300)
    assert np.all(r.upper >= s[:2] - 1e-12 * s[0])


def test_low_rank_and_zero_matrices():
    rng = np.random.default_rng(0)
    A = (rng.random((80, 3)) @ rng.random((3, 100))).astype(np.float64)  # rank 3: invariant subspace
    s = _svd(A)
    r = block_lanczos_bracket(A, 4, block=8)
    np.testing.assert_allclose(r.values[:3], s[:3], rtol=1e-9)
    assert r.upper[3] >= 0 and r.lower[3] <= 1e-9 * s[0]
    z = block_lanczos_bracket(np.zeros((30, 40), dtype=np.float32), 2)
    assert z.values.tolist() == [0.0, 0.0] and z.upper.tolist() == [0.0, 0.0]


def test_decide_stops_early_and_is_certified():
    A = _layer(400, 900, 0.5, seed=3)
    s = _svd(A)
    calls = []

    def decide(lo, hi):
        calls.append((lo.copy(), hi.copy()))
        return hi[1] < 0.95 * s[0]

    r = block_lanczos_bracket(A, 2, decide=decide)
    full = block_lanczos_bracket(A, 2)
    assert r.decided and r.n_products < full.n_products
    assert r.lower[1] <= s[1] <= r.upper[1] and r.lower[0] <= s[0] <= r.upper[0]


def test_torch_and_bfloat16_inputs():
    A = _layer(150, 260, 0.5, seed=4)
    t = torch.from_numpy(A).to(torch.bfloat16)
    with pytest.raises(TypeError, match="float32 or float64"):
        block_lanczos_bracket(t, 2)
    op = dense_operand(t)  # a CPU tensor comes back as a numpy array (numpy's BLAS is faster here)
    assert op.dtype == np.float32 and not dense_layer_facts(op, None).binary
    ref = _svd(op)  # bf16 values are exact in float32
    r = block_lanczos_bracket(op, 2)
    assert np.all(r.lower <= ref[:2] * (1 + 1e-12)) and np.all(r.upper >= ref[:2] * (1 - 1e-12))
    r = block_lanczos_bracket(torch.from_numpy(op), 2)  # the torch code path (the one a GPU takes)
    assert np.all(r.lower <= ref[:2] * (1 + 1e-12)) and np.all(r.upper >= ref[:2] * (1 - 1e-12))


def test_block_solver_through_top_singular_values():
    A = _layer(200, 90, 0.3, seed=5, dtype=np.float64)
    np.testing.assert_allclose(top_singular_values(A, 3, solver="block"), _svd(A)[:3], rtol=1e-8)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        block_lanczos_bracket(np.ones(5, dtype=np.float32))
    with pytest.raises(ValueError, match="k must"):
        block_lanczos_bracket(np.ones((5, 5), dtype=np.float32), 0)
    with pytest.raises(TypeError, match="float32 or float64"):
        block_lanczos_bracket(np.ones((5, 5), dtype=np.float16))
    with pytest.raises(ValueError, match="negative"):
        dense_layer_facts(dense_operand(-np.ones((3, 3))), True)
    with pytest.raises(ValueError, match="non-finite"):
        dense_layer_facts(dense_operand(np.full((3, 3), np.nan)), True)
    with pytest.raises(ValueError, match="accuracy"):
        ramanujan_report(np.ones((3, 3)), accuracy="fast")
    # one bad entry among many, in a row-major array and in a transposed view (chunked passes)
    for bad, match in ((np.nan, "non-finite"), (np.inf, "non-finite"), (-1e-30, "negative")):
        big = np.ones((300, 70), dtype=np.float32)
        big[217, 33] = bad
        for x in (big, np.asfortranarray(big), big.T):
            with pytest.raises(ValueError, match=match):
                DenseLayer(x).facts(True)


# ------------------------------------------------------------------ the dense facts
def test_dense_facts_match_the_graph():
    from bipartite_expanders import BipartiteGraph, cover_bracket_free

    A = _layer(60, 80, 0.2, seed=6, dtype=np.float64)
    op = dense_operand(A)
    f = dense_layer_facts(op, False)
    g = BipartiteGraph.from_dense((A != 0).astype(float))
    assert f.n_edges == g.n_edges and f.connected
    np.testing.assert_array_equal(f.counts_left, np.count_nonzero(A, axis=1))
    lo, hi = cover_bracket_free(g)
    assert f.cover_free[0] == pytest.approx(lo, rel=1e-12) and f.cover_free[1] == pytest.approx(hi, rel=1e-12)
    two = np.zeros((6, 6))
    two[:3, :3] = 1
    two[3:, 3:] = 1
    assert not dense_layer_facts(two, False).connected


def test_transposed_views_read_by_rows_give_the_same_answer():
    # a weight's W.T is column-major: the passes work on its row-major transpose and swap back
    W = _layer(90, 40, 0.5, seed=11)  # (out, in) as stored
    view, copy = W.T, np.ascontiguousarray(W.T)
    assert view.flags.f_contiguous and not view.flags.c_contiguous
    s = _svd(copy)
    rv, rc = block_lanczos_bracket(view, 2), block_lanczos_bracket(copy, 2)
    np.testing.assert_allclose(rv.values, s[:2], rtol=1e-7)
    assert np.all(rv.lower <= s[:2] * (1 + 1e-12)) and np.all(rv.upper >= s[:2] * (1 - 1e-12))
    assert rv.left_vectors.shape[0] == 40 and rv.right_vectors.shape[0] == 90
    # left and right vectors of the view's own orientation: A v = s u
    A = copy.astype(np.float64)
    u, v = rv.left_vectors[:, 0], rv.right_vectors[:, 0]
    np.testing.assert_allclose(np.abs(A @ v), np.abs(s[0] * u), atol=1e-6 * s[0])
    np.testing.assert_allclose(np.abs(rc.left_vectors[:, 0]), np.abs(u), atol=1e-6)
    fv, fc = dense_layer_facts(view, None), dense_layer_facts(copy, None)
    for name in ("counts_left", "counts_right", "weight_left", "weight_right"):
        np.testing.assert_allclose(getattr(fv, name), getattr(fc, name), rtol=1e-12)
    np.testing.assert_array_equal(fv.counts_left, np.count_nonzero(W, axis=0))
    assert (fv.n_edges, fv.connected, fv.binary) == (fc.n_edges, fc.connected, fc.binary)
    assert fv.frobenius2 == pytest.approx(fc.frobenius2, rel=1e-12)
    assert fv.cover_free == pytest.approx(fc.cover_free, rel=1e-12)
    tv = torch.from_numpy(W).T  # the same through a torch view
    assert dense_layer_facts(tv, None).counts_left.tolist() == fc.counts_left.tolist()


def test_dense_layer_value_gives_the_reports_and_facts_of_its_array(small_dense_path):
    A = _layer(150, 110, 0.5, seed=21)
    layer = DenseLayer(A)
    for weighted in (None, False, True):
        f, ref = layer.facts(weighted), dense_layer_facts(dense_operand(A), weighted)
        np.testing.assert_array_equal(f.counts_left, ref.counts_left)
        np.testing.assert_allclose(f.weight_right, ref.weight_right, rtol=1e-13)
        assert (f.connected, f.binary, f.cover_free) == (ref.connected, ref.binary, ref.cover_free)
    again = DenseLayer(layer)
    assert again.operand is layer.operand and again.shape == (150, 110) and "150, 110" in repr(again)
    for accuracy in ("verdict", "full"):
        for weighted in (False, True):
            a = ramanujan_report(layer, weighted=weighted, accuracy=accuracy)
            b = ramanujan_report(A, weighted=weighted, accuracy=accuracy)
            assert (a.t1, a.t2, a.verdict_s, a.verdict_r, a.accuracy) == (b.t1, b.t2, b.verdict_s, b.verdict_r, b.accuracy)


# ------------------------------------------------------------------ verdict mode vs full precision
def _reference_verdicts(A: np.ndarray, weighted: bool) -> tuple[Verdict, Verdict]:
    """Verdicts from dense SVD and degrees computed here, independently of the library."""
    B = A if weighted else (A != 0).astype(float)
    s = _svd(B)
    d_l, d_r = B.sum() / B.shape[0], B.sum() / B.shape[1]
    eb, db = 2 * math.sqrt(s[0] - 1), math.sqrt(d_l - 1) + math.sqrt(d_r - 1)
    return verdict(margin(eb, s[1])), verdict(margin(db, s[1]))


def _compare(A: np.ndarray, weighted: bool, universal_cover="auto") -> tuple:
    v = ramanujan_report(A, weighted=weighted, accuracy="verdict", universal_cover=universal_cover)
    f = ramanujan_report(A.astype(np.float64), weighted=weighted, universal_cover=False)
    assert (v.verdict_s, v.verdict_r) == (f.verdict_s, f.verdict_r) == _reference_verdicts(A, weighted)
    assert v.t2_lower <= f.t2 * (1 + 1e-9) and f.t2 <= v.t2_upper * (1 + 1e-9)
    assert v.t1_lower <= f.t1 * (1 + 1e-9) and f.t1 <= v.t1_upper * (1 + 1e-9)
    return v, f


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
def test_random_layers_agree_with_full_precision(small_dense_path, seed, weighted):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(100, 220)), int(rng.integers(100, 220))
    A = _layer(m, n, float(rng.uniform(0.3, 0.9)), seed)
    v, f = _compare(A, weighted)
    assert v.accuracy == "verdict" and v.solver == "block"
    if v.verdict_uc is not Verdict.UNDEFINED:  # the free cover bracket decides the same way at full t2
        assert v.verdict_uc == exact_verdict(f.t2, v.rho_uc_lower, v.rho_uc_upper)


def _scale_to(A: np.ndarray, target: str, offset: float) -> np.ndarray:
    """``c A`` with ``t2(c A) - bound(c A) == offset`` (dense SVD, float64): a layer placed at its bound."""
    A = A.astype(np.float64)
    s = _svd(A)
    m, n = A.shape
    d_l, d_r = A.sum() / m, A.sum() / n

    def gap(c: float) -> float:
        bound = (2 * math.sqrt(c * s[0] - 1) if target == "eb"
                 else math.sqrt(c * d_l - 1) + math.sqrt(c * d_r - 1))
        return c * s[1] - bound - offset

    lo = 1.0 / min(d_l, d_r, s[0]) * 1.0001
    c = so.brentq(gap, lo, 1e6, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return c * A.astype(np.float64)


@pytest.mark.parametrize("target", ["db", "eb"])
@pytest.mark.parametrize("offset", [-1e-6, 1e-6, -1e-4, 1e-4])
def test_layers_at_their_bound(small_dense_path, target, offset):
    A = _scale_to(_layer(140, 180, 0.6, seed=11), target, offset)
    s = _svd(A)
    d_l, d_r = A.sum() / A.shape[0], A.sum() / A.shape[1]
    bound = 2 * math.sqrt(s[0] - 1) if target == "eb" else math.sqrt(d_l - 1) + math.sqrt(d_r - 1)
    assert abs(s[1] - bound - offset) < 1e-9  # placed where asked
    v, f = _compare(A, True, universal_cover=False)
    field = "verdict_s" if target == "eb" else "verdict_r"
    expected = Verdict.NOT_RAMANUJAN if offset > 0 else Verdict.RAMANUJAN
    assert getattr(v, field) == expected
    if v.accuracy == "verdict":  # decided by the bracket: it must exclude the bound
        assert v.t2_upper < bound + 1e-12 or v.t2_lower > bound - 1e-12


@pytest.mark.parametrize("target", ["db", "eb"])
@pytest.mark.parametrize("offset", [-1e-5, 1e-5])
def test_float32_layers_near_their_bound(small_dense_path, target, offset):
    """float32 rounding moves the placement by ~1e-6 relative; the verdict must still be the
    dense SVD's (computed on the float32 matrix's exact values)."""
    A = _scale_to(_layer(150, 130, 0.7, seed=12), target, offset).astype(np.float32)
    _compare(A, True, universal_cover=False)


def test_verdict_mode_falls_back_honestly(small_dense_path):
    two = np.zeros((200, 200), dtype=np.float32)  # two components: the full path decides
    two[:100, :100] = _layer(100, 100, 0.5, seed=1)
    two[100:, 100:] = _layer(100, 100, 0.5, seed=2)
    r = ramanujan_report(two, weighted=True, accuracy="verdict")
    assert r.accuracy == "full" and r.solver != "block"
    sparse = _layer(200, 200, 0.1, seed=3)  # below the dense path's density
    assert ramanujan_report(sparse, accuracy="verdict").accuracy == "full"


def test_isolated_vertices_and_tensor_input(small_dense_path):
    A = _layer(150, 170, 0.5, seed=8)
    A[7] = 0
    A[:, 3] = 0
    t = torch.from_numpy(A)
    v = ramanujan_report(t, weighted=True, accuracy="verdict", universal_cover=False)
    f = ramanujan_report(A.astype(np.float64), weighted=True, universal_cover=False)
    assert v.accuracy == "verdict" and (v.isolated_left, v.isolated_right) == (1, 1) == (f.isolated_left, f.isolated_right)
    assert (v.n_left, v.n_right, v.n_edges, v.min_degree_left) == (f.n_left, f.n_right, f.n_edges, f.min_degree_left)
    assert v.d_left == pytest.approx(f.d_left, rel=1e-12) and v.db == pytest.approx(f.db, rel=1e-12)
    assert (v.verdict_s, v.verdict_r) == (f.verdict_s, f.verdict_r)
    assert v.t2_lower <= f.t2 <= v.t2_upper * (1 + 1e-9)
    d = v.to_dict()
    assert d["accuracy"] == "verdict" and type(v).from_dict(d).t2_upper == v.t2_upper


def test_small_bfloat16_tensor_takes_the_full_path():
    t = torch.from_numpy(_layer(30, 40, 0.6, seed=9)).to(torch.bfloat16)
    r = ramanujan_report(t, weighted=True, accuracy="verdict")
    s = _svd(t.float().numpy())
    assert r.accuracy == "full" and r.t2 == pytest.approx(s[1], rel=1e-8)


def test_torch_code_path_of_the_facts_matches_numpy():
    """The path a CUDA tensor takes (a CPU tensor is handed to numpy before it), run on the CPU."""
    A = _layer(70, 90, 0.4, seed=10)
    A[3] = 0
    for weighted in (False, True):
        f_np = dense_layer_facts(A, weighted)
        f_t = dense_layer_facts(torch.from_numpy(A), weighted)
        np.testing.assert_array_equal(f_np.counts_left, f_t.counts_left)
        np.testing.assert_allclose(f_np.weight_right, f_t.weight_right, rtol=1e-12)
        assert f_np.connected == f_t.connected and f_np.cover_free == pytest.approx(f_t.cover_free, rel=1e-12)
        assert f_np.frobenius2 == pytest.approx(f_t.frobenius2, rel=1e-12)
