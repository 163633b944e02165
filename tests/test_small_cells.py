"""Small layers (issue 23, item 6): what ``solver="auto"`` picks on small sparse cells (compiled
Lanczos, or PROPACK through scipy without numba; the Gram method, dense LAPACK) returns t1, t2 equal to numpy's dense SVD within
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
from bipartite_expanders.solvers.kernels import numba_available

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
#: what a small cell gets: compiled Lanczos, or PROPACK where numba is not installed
SMALL = "lanczos" if numba_available() else "propack"


@pytest.mark.parametrize("shape, density, expected", [
    ((300, 100), 0.05, "gram"),          # a side <= 200: one syrk and a small eigh
    ((500, 500), 0.01, SMALL),
    ((784, 300), 0.1, SMALL),            # was the Gram method (side <= 350, >= 5 %)
    ((2000, 1000), 0.03, SMALL),         # 60,000 entries: the last small cell
    ((3072, 768), 0.02, SMALL),
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
    assert res.solver == SMALL or res.fallback_from == SMALL
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
    """A rank-one block inside a sparse cell: t2 = 0 (Lanczos meets an invariant subspace after
    one step and restarts; without numba PROPACK gives up there, Lanczos answers, and the
    result says so)."""
    M = sp.lil_array((400, 300))
    M[:60, :50] = 1.0
    M = sp.csr_array(M)
    assert choose_solver(M.shape, M.nnz) == SMALL
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
    assert choose_solver(M.shape, M.nnz) == SMALL
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
    assert res.verified and res.solver == SMALL
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


# ------------------------------------------------------------------ the compiled convergence check
def _lapack_top(alpha, beta, count):
    """The reference for the check: numpy's SVD of the dense bidiagonal."""
    X, s, Yt = np.linalg.svd(np.diag(alpha) + np.diag(beta, 1))
    return s[:count], np.abs(X[-1, :count]) / np.sqrt(2), X[:, :count], Yt[:count].T


def _lanczos_bidiagonals(M, steps):
    """The bidiagonals a Golub-Kahan-Lanczos run on M (numpy, full reorthogonalisation, written
    here as the reference) has after 3, 4, ..., steps steps."""
    M = sp.csr_array(M)
    m, n = M.shape
    P, Q = np.zeros((steps, m)), np.zeros((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    Q[0] = np.ones(n) / np.sqrt(n)
    for j in range(steps):
        p = M @ Q[j] - (beta[j - 1] * P[j - 1] if j else 0)
        p -= P[:j].T @ (P[:j] @ p)
        alpha[j] = np.linalg.norm(p)
        P[j] = p / alpha[j]
        r = M.T @ P[j] - alpha[j] * Q[j]
        r -= Q[: j + 1].T @ (Q[: j + 1] @ r)
        beta[j] = np.linalg.norm(r)
        Q[j + 1] = r / beta[j]
    return [(alpha[:j].copy(), beta[: j - 1].copy()) for j in range(3, steps + 1)]


@pytest.mark.skipif(not numba_available(), reason="the compiled check needs numba")
@settings(max_examples=15, deadline=None)
@given(m=st.integers(30, 300), n=st.integers(30, 300), density=st.floats(0.02, 0.3), seed=st.integers(0, 2**32 - 1))
def test_compiled_check_matches_the_dense_svd_of_the_bidiagonal(m, n, density, seed):
    """Where the compiled check answers (bisection values, recurrence vectors), it agrees with
    LAPACK's SVD of the bidiagonal: values to 1e-13 of the largest, last entries and vectors to
    1e-6 of the vectors' scale where the last entry is not rounding noise."""
    from bipartite_expanders.solvers.kernels import compiled_module

    M = random_sparse(np.random.default_rng(seed), m, n, density, True)
    answered = 0
    for alpha, beta in _lanczos_bidiagonals(M, min(m, n, 40)):
        count = min(alpha.size, 4)
        values, last, vectors = np.empty(count), np.empty(count), np.empty((count, 2 * alpha.size))
        if not compiled_module().bidiagonal_top(alpha, beta, count, values, last, vectors):
            continue
        answered += 1
        s, z, X, Y = _lapack_top(alpha, beta, count)
        np.testing.assert_allclose(values, s, rtol=0, atol=1e-13 * s[0])
        np.testing.assert_allclose(last, z, rtol=1e-6, atol=1e-13)
        # the rows are unit Golub-Kahan vectors (v_1, u_1, v_2, ...) / sqrt 2 of distinct values
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-12)
        distinct = np.r_[True, np.diff(-s) > 1e-6 * s[0]] & np.r_[np.diff(-s) > 1e-6 * s[0], True]
        for c in np.flatnonzero(distinct):
            u, v = vectors[c, 1::2] * np.sqrt(2), vectors[c, 0::2] * np.sqrt(2)
            assert abs(abs(u @ X[:, c]) - 1) < 1e-6 and abs(abs(v @ Y[:, c]) - 1) < 1e-6
    assert answered > 0  # a converging run's bidiagonals are what the method is for


@pytest.mark.skipif(not numba_available(), reason="the compiled check needs numba")
def test_compiled_check_declines_what_it_cannot_do():
    """An off-diagonal entry at zero (a restarted run), an all-zero bidiagonal, and vectors whose
    recurrence does not close (a random bidiagonal's top vectors spread over every index) are
    left to the dense SVD."""
    from bipartite_expanders.solvers.kernels import compiled_module

    cm = compiled_module()
    out = np.empty(3), np.empty(3), np.empty((3, 12))
    assert not cm.bidiagonal_top(np.array([3.0, 0.0, 1.0, 2.0, 1.0, 1.0]), np.ones(5), 3, *out)
    assert not cm.bidiagonal_top(np.zeros(6), np.zeros(5), 3, *out)
    declined = 0
    rng = np.random.default_rng(0)
    out = np.empty(3), np.empty(3), np.empty((3, 120))
    for _ in range(20):
        alpha, beta = 1 + rng.random(60), rng.random(59)
        if cm.bidiagonal_top(alpha, beta, 3, *out):  # where it answers, it is right
            s, z, _, _ = _lapack_top(alpha, beta, 3)
            np.testing.assert_allclose(out[0], s, rtol=1e-13)
            np.testing.assert_allclose(out[1], z, rtol=1e-6, atol=1e-13)
        else:
            declined += 1
    assert declined > 0


@pytest.mark.parametrize("M", [
    sp.block_diag([sp.random_array((260, 240), density=0.05, rng=1)] * 2, format="csr"),   # repeated values
    sp.csr_array(np.outer(np.arange(1, 401), np.ones(300)) * (np.random.default_rng(2).random((400, 300)) < 0.1)),
    sp.csr_array(sp.random_array((500, 400), density=0.02, rng=3) @ sp.diags_array(np.r_[np.ones(399), 0.0])),
])
def test_small_cell_lanczos_on_restarts_and_repeats(M):
    """Cells whose Lanczos run meets an invariant subspace (two equal blocks; a column of zeros)
    restart with a fresh direction: the compiled check declines those bidiagonals and the dense
    SVD decides; the answer still matches LAPACK and is verified."""
    M = sp.csr_array(M)
    res = top_singular_values(M, 2, full_output=True)
    assert res.verified
    assert_contract(res.values, dense_top(M))


@pytest.mark.skipif(not numba_available(), reason="the compiled pass needs numba")
@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), density=st.floats(0.0, 0.3), zeros=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**32 - 1))
def test_edge_components_counts_what_networkx_counts(m, n, density, zeros, seed):
    """The compiled union-find behind the test that t1 is simple counts the components of the
    non-isolated vertices, a stored zero being no edge, as networkx does on the same edges."""
    import networkx as nx

    from bipartite_expanders.solvers.kernels import compiled_module

    rng = np.random.default_rng(seed)
    M = sp.random_array((m, n), density=density, rng=rng, format="csr")
    M.data[rng.random(M.nnz) < zeros] = 0.0  # stored zeros
    G = nx.Graph()
    rows, cols = M.nonzero()
    G.add_edges_from((("r", int(i)), ("c", int(j))) for i, j in zip(rows, cols))
    got = compiled_module().edge_components(M.indptr, M.indices, M.data, m, n)
    assert got == nx.number_connected_components(G)


@pytest.mark.parametrize("split", [1e-12, 1e-9, 1e-4])
def test_compiled_lanczos_with_a_nearly_repeated_second_value(split):
    """t2 and t3 closer than the compiled check's vectors can separate: the final Ritz vectors
    come from LAPACK where the recurrence's are not orthonormal, and the answer is LAPACK's
    within the contract (a dense 300 x 250 spectrum [10, 5, 5 (1 - split), 4.9, ...] stored as
    CSR, solved by Lanczos on the compiled kernels). Splits of 1e-7 to 1e-5 are left out: there
    Lanczos returns a Ritz value between t2 and t3 (up to 7e-8 off) whose Kato-Temple bound, with
    the gap to the next Ritz value, passes; the Ritz-based check cannot see the unresolved t3
    (docs/spectrum.md, "The check"; the same with the code before the compiled check)."""
    rng = np.random.default_rng(4)
    U = np.linalg.qr(rng.standard_normal((300, 250)))[0]
    V = np.linalg.qr(rng.standard_normal((250, 250)))[0]
    s = np.r_[10.0, 5.0, 5.0 * (1 - split), np.linspace(4.9, 0.1, 247)]
    M = sp.csr_array((U * s) @ V.T)
    kernel = "numba" if numba_available() else "scipy"
    res = top_singular_values(M, 2, solver="lanczos", kernel=kernel, full_output=True)
    assert res.verified
    assert_contract(res.values, s[:2])


def test_without_numba_small_cells_take_propack(monkeypatch, rng):
    """Where numba is not installed the small-cell rule keeps PROPACK through scipy (and the
    scipy kernels): the answer is still LAPACK's within the contract, and verified."""
    from bipartite_expanders import spectrum

    monkeypatch.setattr(spectrum, "numba_available", lambda: False)
    M = random_sparse(rng, 500, 400, 0.03, True)
    assert choose_solver(M.shape, M.nnz) == "propack"
    res = top_singular_values(M, 2, full_output=True)
    assert res.solver == "propack" or res.fallback_from == "propack"
    assert res.verified
    assert_contract(res.values, dense_top(M))


def test_is_small_cell_bounds():
    """The small-cell predicate at its edges: 60,000 entries in, one more out; a smaller side of
    200 out, 201 in; 10,000 vertices out; density 0.5 % in, just below out."""
    from bipartite_expanders.spectrum import SMALL_CELL_MAX_NNZ, is_small_cell

    assert is_small_cell((2000, 1000), SMALL_CELL_MAX_NNZ)
    assert not is_small_cell((2000, 1000), SMALL_CELL_MAX_NNZ + 1)
    assert not is_small_cell((1000, 200), 10_000) and is_small_cell((1000, 201), 10_000)
    assert not is_small_cell((9000, 1000), 50_000) and is_small_cell((8999, 1000), 50_000)
    assert is_small_cell((1000, 1000), 5_000) and not is_small_cell((1000, 1000), 4_999)
