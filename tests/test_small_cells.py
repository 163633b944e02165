"""Small layers (issue 23, item 6): what ``solver="auto"`` picks on small sparse cells (PROPACK
through scipy, the Gram method, dense LAPACK) returns t1, t2 equal to numpy's dense SVD within
the accuracy contract, on random cells and on the edge cases: t2 = 0, repeated singular values,
one column, disconnected graphs, isolated vertices, stored zeros. No test here asserts on time
(the timings are benchmarks/small_cells.py's business)."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import choose_solver, spectral_pair, top_singular_values
from bipartite_expanders.solvers import CONTRACT_ATOL, CONTRACT_RTOL

from conftest import random_sparse


def dense_top(M, k=2):
    """The reference: numpy's LAPACK SVD of the dense matrix, padded with zeros."""
    s = np.linalg.svd(M.toarray() if sp.issparse(M) else np.asarray(M), compute_uv=False)
    out = np.zeros(k)
    out[: min(k, s.size)] = s[:k]
    return out


def assert_contract(got, ref):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    assert np.all(np.abs(got - ref) <= CONTRACT_RTOL * ref + CONTRACT_ATOL * ref[0]), (got, ref)


# ------------------------------------------------------------------ the rule
@pytest.mark.parametrize("shape, density, expected", [
    ((300, 100), 0.05, "gram"),          # a side <= 200: one syrk and a small eigh
    ((500, 500), 0.01, "propack"),
    ((784, 300), 0.1, "propack"),        # was the Gram method (side <= 350, >= 5 %)
    ((2000, 1000), 0.03, "propack"),     # 60,000 entries: the last small cell
    ((3072, 768), 0.02, "propack"),
    ((2000, 1000), 0.031, "lanczos"),    # past 6e4 entries: products dominate, the earlier rule
    ((4608, 512), 0.001, "arpack"),      # below 0.5 %: the earlier rule (a tie there)
    ((784, 300), 0.3, "gram"),           # dense-ish: the Gram method
    ((9000, 1000), 0.006, "lanczos"),    # 10,000 vertices: Lanczos
])
def test_small_cell_rule(shape, density, expected):
    m, n = shape
    assert choose_solver(shape, int(round(density * m * n))) == expected


# ------------------------------------------------------------------ random small cells
@pytest.mark.parametrize("shape", [(500, 240), (300, 420), (600, 600)])
@pytest.mark.parametrize("density", [0.01, 0.04, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_auto_on_small_cells_matches_dense_svd(shape, density, weighted, rng):
    M = random_sparse(rng, *shape, density, weighted)
    res = top_singular_values(M, 2, full_output=True)
    assert res.solver == "propack" or res.fallback_from == "propack"
    assert res.verified
    ref = dense_top(M)
    assert_contract(res.values, ref)
    # the error bounds the check proved are true bounds (the k-th value's needs the gap below it)
    assert np.all(np.abs(res.values - ref) <= res.residuals + 1e-14 * ref[0])
    # the returned vectors are singular vectors of M (the check ran on them)
    u, v = res.left_vectors[:, 0], res.right_vectors[:, 0]
    np.testing.assert_allclose(M @ v, res.values[0] * u, atol=1e-7 * res.values[0])


@settings(max_examples=12, deadline=None)
@given(m=st.integers(201, 700), n=st.integers(201, 700), density=st.floats(0.005, 0.2),
       weighted=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_auto_agrees_with_dense_svd_property(m, n, density, weighted, seed):
    M = random_sparse(np.random.default_rng(seed), m, n, density, weighted)
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M))


def test_propack_backend_with_more_values(rng):
    M = random_sparse(rng, 700, 400, 0.03, True)
    res = top_singular_values(M, 5, solver="propack", full_output=True)
    assert res.solver == "propack" and res.verified and res.n_matvec > 0
    assert_contract(res.values, dense_top(M, 5))


# ------------------------------------------------------------------ edge cases
def test_t2_zero_rank_one_block():
    """A rank-one block inside a sparse cell: t2 = 0 (PROPACK meets an invariant subspace
    after one step; Lanczos answers, and the result says so)."""
    M = sp.lil_array((400, 300))
    M[:60, :50] = 1.0
    M = sp.csr_array(M)
    assert choose_solver(M.shape, M.nnz) == "propack"
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M))
    assert res.values[1] <= 1e-10 * res.values[0]
    p = spectral_pair(M)
    assert p.t1 == pytest.approx(np.sqrt(60 * 50), rel=1e-12) and p.t2 == 0.0


def test_repeated_top_value_two_equal_components(rng):
    """block_diag(R, R): t1 twice. A single-vector Krylov answer would say [t1, t2(R)]; the
    deflation check must find the missed copy."""
    R = random_sparse(rng, 250, 160, 0.05, True)
    M = sp.csr_array(sp.block_diag([R, R]))
    assert choose_solver(M.shape, M.nnz) == "propack"
    ref = dense_top(M, 3)
    assert ref[0] == pytest.approx(ref[1], rel=1e-12)
    for k in (2, 3):
        res = top_singular_values(M, k, full_output=True)
        assert res.verified
        assert_contract(res.values, ref[:k])
    p = spectral_pair(M)
    assert p.multiplicity == 2 and p.t1 == pytest.approx(ref[0], rel=1e-9)


def test_repeated_value_with_isolated_vertices_and_a_stored_zero(rng):
    """Isolated vertices do not make a graph connected, and a stored zero is no edge: both
    must leave the deflation check on for block_diag(R, R)."""
    R = random_sparse(rng, 240, 150, 0.06, False)
    M = sp.block_diag([R, R, sp.csr_array((30, 20))], format="coo")  # 30 + 20 isolated vertices
    row = np.concatenate([M.row, [0]])
    col = np.concatenate([M.col, [150]])   # a stored zero between the two copies
    data = np.concatenate([M.data, [0.0]])
    M = sp.csr_array((data, (row, col)), shape=M.shape)
    assert M.nnz == R.nnz * 2 + 1
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M))
    assert res.values[1] == pytest.approx(res.values[0], rel=1e-9)


def test_isolated_vertices_keep_a_simple_top_value(rng):
    """A connected cell plus isolated rows and columns: t1 is simple (the answer needs no
    deflation solve) and t1, t2 match the dense SVD."""
    R = random_sparse(rng, 400, 300, 0.05, True)
    M = sp.csr_array(sp.block_diag([R, sp.csr_array((50, 40))]))
    res = top_singular_values(M, 2, full_output=True)
    plain = top_singular_values(R, 2, full_output=True)
    assert res.verified and res.solver == "propack"
    assert_contract(res.values, dense_top(M))
    # no deflation solve: the same products as the cell without its isolated vertices, up to
    # the start vector's different length
    assert res.n_matvec <= 2 * plain.n_matvec


def test_disconnected_different_components(rng):
    A = random_sparse(rng, 300, 200, 0.05, True)
    B = random_sparse(rng, 200, 150, 0.08, True)
    M = sp.csr_array(sp.block_diag([A, B]))
    res = top_singular_values(M, 3, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M, 3))
    p = spectral_pair(M)
    ref = dense_top(M, 3)
    assert p.t1 == pytest.approx(ref[0], rel=1e-9)
    assert p.t2 == pytest.approx(ref[1] if ref[1] < ref[0] * (1 - 1e-9) else ref[2], rel=1e-8)


@pytest.mark.parametrize("shape", [(500, 1), (1, 500)])
def test_one_column_or_row(shape, rng):
    M = random_sparse(rng, *shape, 0.3, True)
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert res.values[0] == pytest.approx(np.linalg.norm(M.data), rel=1e-12) and res.values[1] == 0.0


def test_signed_weights_and_warm_start(rng):
    """Negative weights (no Perron-Frobenius shortcut: the deflation check runs) and a warm
    start (auto then takes Lanczos, which keeps it)."""
    M = random_sparse(rng, 500, 300, 0.04, True)
    M.data *= rng.choice([-1.0, 1.0], M.nnz)
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M))
    warm = top_singular_values(M, 2, v0=res, full_output=True)
    assert warm.solver == "lanczos" and warm.verified
    assert_contract(warm.values, dense_top(M))
