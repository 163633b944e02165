import math

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, SOLVERS, generators, spectral_pair, top_singular_values
from bipartite_expanders.spectrum import choose_solver

from conftest import random_sparse

NAMED = ["dense", "gram", "arpack"]


def exact_pair(M, s=None):
    """Reference t1, t2 per DESIGN from a full dense SVD (no component trickery); ``s`` reuses
    singular values already computed."""
    if s is None:
        s = sla.svdvals(np.asarray(M.toarray() if sp.issparse(M) else M, dtype=float))
    t1 = s[0]
    below = s[s < t1 * (1 - 1e-9)]
    t2 = below[0] if below.size else 0.0
    return t1, (0.0 if t2 < 1e-10 * t1 else t2)


@pytest.mark.parametrize("solver", ["auto"] + NAMED)
@pytest.mark.parametrize("q", [2, 3, 5, 7, 11])
def test_pg2_spectrum(q, solver):
    p = spectral_pair(generators.pg2_incidence(q), solver=solver)
    assert p.t1 == pytest.approx(q + 1, rel=1e-10)
    assert p.t2 == pytest.approx(math.sqrt(q), rel=1e-10)


@pytest.mark.parametrize("solver", ["auto"] + NAMED)
@pytest.mark.parametrize("n", [2, 3, 4, 7, 50, 301])
def test_even_cycle_spectrum(n, solver):
    p = spectral_pair(generators.even_cycle(n), solver=solver)
    assert p.t1 == pytest.approx(2.0, rel=1e-10)
    expected = 2 * math.cos(math.pi / n)
    assert p.t2 == pytest.approx(expected, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("solver", ["auto"] + NAMED)
@pytest.mark.parametrize("d", [2, 3, 4, 6, 9])
def test_hypercube_spectrum(d, solver):
    p = spectral_pair(generators.hypercube(d), solver=solver)
    assert p.t1 == pytest.approx(d, rel=1e-10)
    assert p.t2 == pytest.approx(d - 2, rel=1e-10, abs=0)
    if d == 2:
        assert p.t2 == 0.0  # exactly zero, not 1e-16


@pytest.mark.parametrize("solver", ["auto"] + NAMED)
@pytest.mark.parametrize("m, n", [(1, 1), (1, 7), (7, 1), (3, 4), (40, 90), (300, 200)])
def test_complete_bipartite_t2_exactly_zero(m, n, solver):
    p = spectral_pair(generators.complete_bipartite(m, n, weight=0.37), solver=solver)
    assert p.t1 == pytest.approx(0.37 * math.sqrt(m * n), rel=1e-12)
    assert p.t2 == 0.0


def test_repeated_t1_disjoint_union():
    g = generators.disjoint_union(generators.pg2_incidence(3), generators.pg2_incidence(3), generators.even_cycle(5))
    p = spectral_pair(g)
    assert p.t1 == pytest.approx(4.0)
    assert p.multiplicity == 2
    assert p.t2 == pytest.approx(2.0)  # the cycle's t1: the next value strictly below t1, not t1 again
    # and top_singular_values reports the multiplicity honestly
    assert top_singular_values(g, 3) == pytest.approx([4.0, 4.0, 2.0])
    twins = generators.disjoint_union(generators.pg2_incidence(3), generators.pg2_incidence(3))
    assert spectral_pair(twins).t2 == pytest.approx(math.sqrt(3))


def test_perfect_matching_and_many_stars():
    p = spectral_pair(BipartiteGraph.from_dense(np.eye(500)))
    assert (p.t1, p.t2, p.multiplicity) == (1.0, 0.0, 500)
    stars = generators.disjoint_union(*[generators.star(k) for k in (1, 4, 9, 4)])
    p = spectral_pair(stars)
    assert p.t1 == pytest.approx(3.0) and p.t2 == pytest.approx(2.0)


def test_many_small_components_match_dense(rng):
    M = random_sparse(rng, 400, 300, 0.003, weighted=True)
    t1, t2 = exact_pair(M)
    p = spectral_pair(M)
    assert p.t1 == pytest.approx(t1, rel=1e-10)
    assert p.t2 == pytest.approx(t2, rel=1e-10)


def test_zero_and_rank_one():
    assert spectral_pair(BipartiteGraph.from_edges([], (3, 3))).t1 == 0.0
    assert top_singular_values(np.zeros((4, 5)), 2).tolist() == [0.0, 0.0]
    u, v = np.arange(1, 6.0), np.arange(1, 8.0)
    for solver in NAMED:
        p = spectral_pair(np.outer(u, v), solver=solver)
        assert p.t1 == pytest.approx(np.linalg.norm(u) * np.linalg.norm(v), rel=1e-12)
        assert p.t2 == 0.0


@pytest.mark.parametrize("solver", NAMED)
@pytest.mark.parametrize("shape", [(1, 50), (50, 1), (2, 30), (3, 3), (4, 1000)])
def test_tiny_sides_where_scipy_refuses(shape, solver, rng):
    M = random_sparse(rng, *shape, 0.7, weighted=True)
    ref = sla.svdvals(M.toarray())
    got = top_singular_values(M, 2, solver=solver)
    expect = np.zeros(2)
    expect[: min(2, ref.size)] = ref[:2]
    assert got == pytest.approx(expect, rel=1e-10, abs=1e-12)


def test_signed_matrices_are_fine_for_top_singular_values(rng):
    A = rng.standard_normal((60, 80))
    assert top_singular_values(A, 3, solver="arpack") == pytest.approx(sla.svdvals(A)[:3], rel=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("density", [1.0, 0.1, 0.01, 0.001])
@pytest.mark.parametrize("shape", [(300, 700), (2000, 2000)])
def test_accuracy_against_lapack(shape, density, weighted, rng):
    """The contract: t1 and t2 within 1e-8 relative of dense LAPACK (plus 1e-12 t1 absolute,
    LAPACK's own rounding floor: an all-ones matrix has t2 = 0 exactly, LAPACK says ~1e-12)."""
    M = random_sparse(rng, *shape, density, weighted)
    ref = sla.svdvals(M.toarray())
    got = top_singular_values(M, 2)
    assert np.all(np.abs(got - ref[:2]) <= 1e-8 * ref[:2] + 1e-12 * ref[0])
    t1, t2 = exact_pair(M, ref)
    p = spectral_pair(M)
    assert abs(p.t1 - t1) <= 1e-8 * t1
    assert abs(p.t2 - t2) <= 1e-8 * t2 + 1e-12 * t1


@pytest.mark.parametrize("solver", NAMED)
def test_each_solver_against_lapack(solver, rng):
    for density in (1.0, 0.05, 0.005):
        M = random_sparse(rng, 250, 600, density, weighted=True)
        ref = sla.svdvals(M.toarray())[:2]
        res = top_singular_values(M, 2, solver=solver, full_output=True)
        assert np.all(np.abs(res.values - ref) <= 1e-8 * ref)
        assert res.solver == solver
        if res.left_vectors is not None:
            u, v = res.left_vectors[:, 0], res.right_vectors[:, 0]
            assert np.linalg.norm(M @ v - res.values[0] * u) <= 1e-6 * res.values[0]


def test_warm_start_accepts_previous_result(rng):
    M = random_sparse(rng, 500, 900, 0.02, weighted=True)
    first = top_singular_values(M, 2, solver="arpack", full_output=True)
    again = top_singular_values(M, 2, solver="arpack", v0=first, full_output=True)
    assert again.values == pytest.approx(first.values, rel=1e-10)
    with pytest.raises(ValueError, match="v0 must have length"):
        top_singular_values(M, 2, solver="arpack", v0=np.ones(7))


def test_bad_arguments():
    with pytest.raises(ValueError, match="solver must be 'auto' or one of"):
        top_singular_values(np.eye(3), solver="magic")
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        top_singular_values(np.eye(3), k=0)
    with pytest.raises(ValueError, match="tol"):
        top_singular_values(np.eye(3), tol=2.0)
    with pytest.raises(ValueError, match="2-D"):
        top_singular_values(np.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        top_singular_values(np.array([[np.nan, 1.0]]))
    with pytest.raises(TypeError, match="real"):
        top_singular_values(np.array([["a"]]))
    with pytest.raises(ValueError, match="negative"):
        spectral_pair(-np.eye(3))


def test_auto_choices_are_registered():
    for shape, nnz in [((10, 10), 100), ((784, 300), 23520), ((4608, 512), 2359296), ((4096, 11008), 4_500_000), ((3, 10**6), 10**5)]:
        assert choose_solver(shape, nnz) in SOLVERS
