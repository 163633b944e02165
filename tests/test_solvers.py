"""Every eigensolver backend against exact spectra and dense LAPACK, the residual check and its
fallbacks (tiny t2 for the Gram method, clustered spectra for LOBPCG), and warm starts."""

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import (
    BipartiteGraph,
    SOLVERS,
    SpectrumAccuracyError,
    SpectrumResult,
    generators,
    ramanujan_report,
    spectral_pair,
    top_singular_values,
)
from bipartite_expanders import spectrum
from bipartite_expanders.solvers import MatrixOperator, primme_available
from bipartite_expanders.solvers.kernels import numba_available
from bipartite_expanders.solvers._common import error_bounds

from conftest import random_sparse

BACKENDS = [name for name in SOLVERS if name != "primme" or primme_available()]


def within_contract(got, ref):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    return np.all(np.abs(got - ref) <= 1e-8 * ref + 1e-12 * ref[0])


def with_spectrum(rng, m, n, s):
    """A dense m x n matrix with prescribed singular values ``s`` (random orthogonal factors)."""
    U = np.linalg.qr(rng.standard_normal((m, len(s))))[0]
    V = np.linalg.qr(rng.standard_normal((n, len(s))))[0]
    return (U * np.asarray(s)) @ V.T


# ------------------------------------------------------------------ exact spectra
@pytest.mark.parametrize("solver", BACKENDS)
@pytest.mark.parametrize("graph, t1, t2", [
    (generators.pg2_incidence(5), 6.0, math.sqrt(5)),
    (generators.pg2_incidence(7), 8.0, math.sqrt(7)),
    (generators.even_cycle(64), 2.0, 2 * math.cos(math.pi / 64)),
    (generators.hypercube(7), 7.0, 5.0),
    (generators.complete_bipartite(30, 70), math.sqrt(2100), 0.0),
    (generators.disjoint_union(generators.pg2_incidence(5), generators.pg2_incidence(5), generators.hypercube(5)),
     6.0, 5.0),
])
def test_backends_on_exact_spectra(solver, graph, t1, t2):
    p = spectral_pair(graph, solver=solver)
    assert abs(p.t1 - t1) <= 1e-8 * t1
    assert abs(p.t2 - t2) <= 1e-8 * t2 + 1e-12 * t1
    assert p.result.verified


@pytest.mark.parametrize("solver", BACKENDS)
@pytest.mark.parametrize("shape, density, weighted", [
    ((120, 90), 0.3, True), ((500, 200), 0.02, False), ((200, 700), 0.01, True), ((300, 300), 1.0, True),
])
def test_backends_against_lapack(solver, shape, density, weighted, rng):
    M = random_sparse(rng, *shape, density, weighted)
    ref = sla.svdvals(M.toarray())[:3]
    res = top_singular_values(M, 3, solver=solver, full_output=True)
    assert within_contract(res.values, ref)
    assert res.verified and res.residuals.shape == (3,)
    if solver != "dense":
        assert res.n_matvec > 0
    # the vectors are singular vectors of M
    u, v = res.left_vectors[:, 0], res.right_vectors[:, 0]
    assert np.linalg.norm(M @ v - res.values[0] * u) <= 1e-6 * res.values[0]


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), density=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1),
       solver=st.sampled_from(BACKENDS))
def test_property_every_backend_matches_lapack(m, n, density, seed, solver):
    rng = np.random.default_rng(seed)
    A = (rng.random((m, n)) < density) * np.abs(rng.standard_normal((m, n)))
    ref = np.zeros(2)
    s = sla.svdvals(A)
    ref[: min(2, s.size)] = s[:2]
    got = top_singular_values(A, 2, solver=solver)
    if ref[0] == 0:
        assert np.all(got == 0)
    else:
        assert within_contract(got, ref)


def test_dense_array_input_stays_dense(rng):
    A = np.abs(rng.standard_normal((300, 120)))
    assert isinstance(spectrum._as_matrix(A), np.ndarray)
    assert sp.issparse(spectrum._as_matrix(np.eye(50)))  # 2% dense: CSR
    for solver in ("lanczos", "arpack", "gram"):
        assert within_contract(top_singular_values(A, 2, solver=solver), sla.svdvals(A)[:2])


# ------------------------------------------------------------------ the check and its fallbacks
@pytest.mark.parametrize("shape", [(300, 80), (80, 300)])
def test_short_side_kernels_give_the_same_products(shape, rng, monkeypatch):
    # large matrices multiply with the kernel whose random accesses hit the short side's
    # vector (thresholds lowered so a small matrix takes that path)
    monkeypatch.setattr(MatrixOperator, "SCATTER_FROM_NNZ", 0)
    monkeypatch.setattr(MatrixOperator, "SCATTER_FROM_SIDE", 0)
    B = random_sparse(rng, *shape, 0.1, weighted=True)
    op = MatrixOperator(B)
    assert op._short_side_kernels
    x, y = rng.standard_normal(shape[1]), rng.standard_normal(shape[0])
    X, Y = rng.standard_normal((shape[1], 3)), rng.standard_normal((shape[0], 3))
    np.testing.assert_allclose(op.mv(x), B @ x, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(op.rmv(y), B.T @ y, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(op.mv(X), B @ X, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(op.rmv(Y), B.T @ Y, rtol=1e-13, atol=1e-13)
    assert op.count == 8
    # one copy of the matrix: the CSR of the long side's rows, seen both ways
    tall = shape[0] >= shape[1]
    assert (op.forward is B) == tall and sp.issparse(op.BT)
    for solver in ("lanczos", "arpack"):
        assert within_contract(top_singular_values(B, 2, solver=solver), sla.svdvals(B.toarray())[:2])


def test_gram_squaring_fails_on_tiny_t2_and_the_fallback_fires(rng):
    s = [1.0, 3e-8, 1e-9]
    A = with_spectrum(rng, 400, 300, s)
    raw = SOLVERS["gram"](MatrixOperator(A), 2, 1e-9, None)
    assert not raw.verified  # squaring: t2^2 = 9e-16 is at eps, the eigenvector is noise
    assert abs(raw.values[1] - s[1]) > 1e-8 * s[1] + 1e-12  # and the raw t2 is really wrong
    res = top_singular_values(A, 2, solver="gram", full_output=True)
    assert res.fallback_from == "gram" and res.solver != "gram"
    assert within_contract(res.values, s[:2])


def test_near_zero_t2_bipartite_graph():
    """A complete bipartite graph with one slightly heavier edge: t2 ~ 1e-9 t1 (squaring loses it)."""
    m, n = 60, 50
    A = np.ones((m, n))
    A[0, 0] += 1e-7
    ref = sla.svdvals(A)
    for solver in BACKENDS:
        p = spectral_pair(A, solver=solver)
        assert abs(p.t1 - ref[0]) <= 1e-8 * ref[0]
        t2 = ref[1] if ref[1] >= 1e-10 * ref[0] else 0.0
        assert abs(p.t2 - t2) <= 1e-8 * t2 + 1e-12 * ref[0]


def test_lobpcg_fails_on_a_clustered_spectrum_and_the_fallback_fires(rng):
    n = 300
    s = 1 - np.arange(n) * 1e-5 / n  # t2 in a cluster of 299 values within 1e-5
    s[0] = 2.0
    A = with_spectrum(rng, 400, n, s)
    raw = SOLVERS["lobpcg"](MatrixOperator(A), 2, 1e-9, None)
    assert not raw.verified
    res = top_singular_values(A, 2, solver="lobpcg", full_output=True)
    assert res.fallback_from == "lobpcg"
    assert within_contract(res.values, s[:2])


def test_no_verified_answer_raises(monkeypatch, rng):
    def bad(op, k, tol, start):
        return SpectrumResult(np.ones(k), "bad", residuals=np.ones(k), verified=False,
                              left_vectors=np.zeros((op.shape[0], k)), right_vectors=np.zeros((op.shape[1], k)))

    monkeypatch.setitem(SOLVERS, "bad", bad)
    monkeypatch.setitem(SOLVERS, "lanczos", bad)
    monkeypatch.setitem(SOLVERS, "arpack", bad)
    monkeypatch.setattr(spectrum, "DENSE_HARD_MAX_ENTRIES", 10)
    with pytest.raises(SpectrumAccuracyError, match="could verify"):
        top_singular_values(np.abs(rng.standard_normal((30, 20))), 2, solver="bad")


def test_frobenius_check_catches_a_missed_value(rng):
    from bipartite_expanders.solvers._common import finish

    A = with_spectrum(rng, 50, 40, [3.0, 2.0, 1e-3])
    op = MatrixOperator(A)
    U, s, Vt = np.linalg.svd(A)
    # report 3 and 1e-3 (skipping 2) with exact vectors: residuals are 0, only the norm check sees it
    res = finish(op, "x", 2, 1e-9, np.array([3.0, 1e-3]), U[:, [0, 2]], Vt[[0, 2]].T)
    assert res.residual < 1e-12 and not res.verified
    assert finish(op, "x", 2, 1e-9, s[:2], U[:, :2], Vt[:2].T).verified


def test_error_bounds():
    s = np.array([10.0, 5.0, 4.0])
    r = np.array([1e-6, 1e-4, 1e-3])
    b = error_bounds(s, r)
    assert b[0] == pytest.approx(1e-12 / (5 - 1e-4 - 1e-6), rel=1e-9)  # Kato-Temple: r^2 / gap
    assert b[1] == pytest.approx(1e-8 / (1 - 1e-3 - 1e-4), rel=1e-9)
    assert np.all(b <= r)
    assert error_bounds(np.array([1.0, 1.0]), np.array([0.1, 0.1]))[0] == 0.1  # no gap: Weyl


# ------------------------------------------------------------------ names
def test_unknown_solver_lists_the_valid_ones():
    with pytest.raises(ValueError, match="lanczos") as e:
        top_singular_values(np.eye(3), solver="slepc")
    assert "arpack" in str(e.value) and "'auto'" in str(e.value)
    with pytest.raises(TypeError, match="solver"):
        top_singular_values(np.eye(3), solver=None)
    with pytest.raises(ValueError, match="solver"):
        spectral_pair(generators.pg2_incidence(2), solver="LOBPCG")


@pytest.mark.skipif(primme_available(), reason="primme is installed")
def test_primme_missing_is_a_clear_error():
    with pytest.raises(ValueError, match="pip install"):
        top_singular_values(np.eye(30), solver="primme")


# ------------------------------------------------------------------ warm starts
@pytest.mark.parametrize("solver", [b for b in BACKENDS if b not in ("dense",)])
def test_warm_start_gives_the_same_values(solver, rng):
    M = random_sparse(rng, 500, 300, 0.03, weighted=True)
    cold = top_singular_values(M, 2, solver=solver, full_output=True)
    warm = top_singular_values(M, 2, solver=solver, v0=cold, full_output=True)
    assert within_contract(warm.values, cold.values)
    block = top_singular_values(M, 2, solver=solver, v0=cold.right_vectors, full_output=True)
    assert within_contract(block.values, cold.values)
    left = top_singular_values(M, 2, solver=solver, v0=cold.left_vectors[:, 0], full_output=True)
    assert within_contract(left.values, cold.values)


def test_warm_start_after_pruning_and_across_scope_change(rng):
    """A pruned layer re-analysed from the previous report's state: same numbers as cold, fewer
    products when the state is close, and vectors mapped by vertex when the scope shrinks."""
    M = random_sparse(rng, 1500, 1000, 0.01, weighted=True)
    g = BipartiteGraph.from_sparse(M)
    first = ramanujan_report(g, solver="lanczos")
    data = M.data.copy()
    data[np.argsort(data)[: int(0.2 * data.size)]] = 0  # magnitude pruning of 20%
    M2 = sp.csr_array((data, M.indices, M.indptr), shape=M.shape)
    M2.eliminate_zeros()
    g2 = BipartiteGraph.from_sparse(M2)
    cold = ramanujan_report(g2, solver="lanczos")
    warm = ramanujan_report(g2, solver="lanczos", v0=first.state)
    ref = sla.svdvals(cold.state and sp.csr_array(M2)[np.ix_(*_scope(g2))].toarray())[:2]
    assert within_contract([warm.t1, warm.t2], ref) and within_contract([cold.t1, cold.t2], ref)
    assert warm.state.n_matvec <= cold.state.n_matvec
    # the scope changed (isolated vertices removed): the state still maps by vertex id
    assert warm.state.right_ids is not None and warm.state.right_ids.size == warm.n_right
    mapped = spectrum._warm_block(first.state, sp.csr_array(M2)[np.ix_(*_scope(g2))],
                                  (warm.state.left_ids, warm.state.right_ids))
    assert mapped is not None and mapped.shape[0] == warm.n_right
    assert np.allclose(mapped.T @ mapped, np.eye(mapped.shape[1]), atol=1e-10)


def _scope(g):
    from bipartite_expanders import scope_vertices

    return scope_vertices(g, "largest")


def test_warm_start_with_a_foreign_result_is_ignored(rng):
    a = top_singular_values(random_sparse(rng, 40, 30, 0.3, True), 2, solver="lanczos", full_output=True)
    M = random_sparse(rng, 70, 50, 0.2, True)
    assert within_contract(top_singular_values(M, 2, solver="lanczos", v0=a), sla.svdvals(M.toarray())[:2])
    with pytest.raises(ValueError, match="v0 must have length"):
        top_singular_values(M, 2, v0=np.ones(9))
    with pytest.raises(ValueError, match="v0"):
        top_singular_values(M, 2, v0=np.full(50, np.nan))


def test_spectrum_result_to_dict_is_json_safe(rng):
    res = top_singular_values(random_sparse(rng, 60, 40, 0.2, True), 2, solver="lanczos", full_output=True)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["solver"] == "lanczos" and d["verified"] is True and len(d["values"]) == 2


# ------------------------------------------------------------------ the benchmark runs
def _eigensolver_grid():
    """benchmarks/eigensolver_grid.py as a module (benchmarks/ is not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "eigensolver_grid.py"
    spec = importlib.util.spec_from_file_location("eigensolver_grid", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["eigensolver_grid"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run_grid(argv):
    bench = _eigensolver_grid()
    parser = argparse.ArgumentParser()
    bench.configure(parser)
    return bench.run(parser.parse_args(argv))


def test_bench_eigensolvers_smoke(tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = _run_grid(["--shape", "80x60", "--density", "0.2", "--weights", "absw",
                    "--repeats", "1", "--no-warm", "--methods", "dense,lanczos,auto,study,adjacency", "--json", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    (cell,) = data["cells"]
    for name in ("dense", "lanczos", "auto", "study", "adjacency"):
        r = cell["methods"][name]
        assert r["time_s"] > 0 and max(r["err_t1"], r["err_t2"]) < 1e-8
    assert "study (ARPACK on BᵀB) ÷ auto" in capsys.readouterr().out
    with pytest.raises(ValueError, match="nope"):
        _run_grid(["--methods", "nope", "--shape", "5x5"])


# ------------------------------------------------------------------ auto
def test_auto_rule_and_closed_form():
    from bipartite_expanders import choose_solver

    assert choose_solver((40, 50), 2000) == "dense"
    assert choose_solver((784, 150), 5000) == "gram"               # one side <= 200
    assert choose_solver((4608, 512), 4608 * 512) == "gram"         # dense, side <= 2048
    assert choose_solver((4096, 11008), 450_888) == "lanczos"       # expensive products
    small = "lanczos" if numba_available() else "propack"
    assert choose_solver((4608, 512), 23_593) == small              # a small cell (<= 6e4 entries, 0.5-25 %)
    assert choose_solver((4608, 512), 2_359) == "arpack"            # cheap products, below 0.5 %
    assert choose_solver((25088, 4096), 102_760) == "lanczos"       # 10,000 vertices or more
    # a constant layer without zeros (an unpruned mask, t2 = 0) is answered in closed form
    res = top_singular_values(np.full((800, 300), 0.5), 2, full_output=True)
    assert res.solver == "exact" and res.n_matvec == 0
    assert res.values[0] == pytest.approx(0.5 * math.sqrt(800 * 300), rel=1e-15) and res.values[1] == 0.0
    assert within_contract(res.values, sla.svdvals(np.full((800, 300), 0.5))[:2])
    # duplicate stored entries add up: four stored ones on a 2x2 grid are not a constant matrix
    dup = sp.csr_array((np.ones(4), np.array([0, 0, 0, 1]), np.array([0, 3, 4])), shape=(2, 2))
    got = top_singular_values(dup, 2, full_output=True)
    assert got.solver != "exact" and within_contract(got.values, sla.svdvals(dup.toarray())[:2])
    # a negative constant: |c| sqrt(mn), and left vectors carry the sign
    neg = top_singular_values(np.full((3, 5), -2.0), 2, full_output=True)
    assert neg.solver == "exact" and neg.values[0] == pytest.approx(2 * math.sqrt(15))
    np.testing.assert_allclose(np.full((3, 5), -2.0) @ neg.right_vectors[:, 0], neg.values[0] * neg.left_vectors[:, 0])
    # ... and only then: one entry changed goes to a backend
    A = np.ones((800, 300))
    A[3, 7] = 2.0
    res = top_singular_values(A, 2, full_output=True)
    assert res.solver == "gram" and within_contract(res.values, sla.svdvals(A)[:2])
    # a dense random layer: the Gram method answers
    A = np.abs(np.random.default_rng(3).standard_normal((800, 300)))
    res = top_singular_values(A, 2, full_output=True)
    assert res.solver == "gram" and within_contract(res.values, sla.svdvals(A)[:2])


def test_auto_switches_to_lanczos_for_a_warm_start(rng):
    M = random_sparse(rng, 3000, 700, 0.002, weighted=True)   # cheap products: arpack when cold
    cold = top_singular_values(M, 2, full_output=True)
    assert cold.solver == "arpack"
    warm = top_singular_values(M, 2, v0=cold, full_output=True)
    assert warm.solver == "lanczos" and within_contract(warm.values, cold.values)
