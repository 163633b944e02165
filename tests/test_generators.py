import numpy as np
import pytest

from bipartite_expanders import generators


def test_random_biregular_exact_degrees_simple_and_seeded():
    for n_left, d_left, d_right in [(30, 3, 5), (100, 7, 7), (50, 10, 25), (12, 12, 12)]:
        g = generators.random_biregular(n_left, d_left, d_right=d_right, seed=3)
        A = g.toarray()
        assert set(A.ravel().tolist()) <= {0.0, 1.0}  # simple: no multi-edges
        assert np.all(A.sum(axis=1) == d_left) and np.all(A.sum(axis=0) == d_right)
    a = generators.random_biregular(40, 4, d_right=8, seed=7)
    b = generators.random_biregular(40, 4, d_right=8, seed=7)
    c = generators.random_biregular(40, 4, d_right=8, seed=8)
    assert a == b and a != c
    assert generators.random_biregular(10, 3, n_right=15).shape == (10, 15)


def test_random_biregular_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        generators.random_biregular(10, 3, d_right=4)
    with pytest.raises(ValueError, match="no simple graph"):
        generators.random_biregular(3, 5, d_right=5)
    with pytest.raises(ValueError, match="give n_right or d_right"):
        generators.random_biregular(3, 2)
    with pytest.raises(ValueError, match="contradicts"):
        generators.random_biregular(10, 3, n_right=15, d_right=3)


def test_pg2_structure():
    for q in (2, 3, 5):
        A = generators.pg2_incidence(q).toarray()
        N = q * q + q + 1
        assert A.shape == (N, N)
        assert np.all(A.sum(0) == q + 1) and np.all(A.sum(1) == q + 1)
        # two points lie on exactly one common line
        common = A @ A.T
        assert np.all(common[~np.eye(N, dtype=bool)] == 1)
    with pytest.raises(ValueError, match="prime power"):
        generators.pg2_incidence(6)


def test_other_generators():
    assert generators.even_cycle(2) == generators.complete_bipartite(2, 2)
    assert generators.hypercube(2) == generators.complete_bipartite(2, 2)
    h = generators.hypercube(5).toarray()
    assert np.all(h.sum(0) == 5) and np.all(h.sum(1) == 5)
    with pytest.raises(ValueError):
        generators.even_cycle(1)
    with pytest.raises(TypeError):
        generators.complete_bipartite(2.5, 3)
    with pytest.raises(ValueError):
        generators.complete_bipartite(2, 3, weight=-1)
    with pytest.raises(TypeError):
        generators.disjoint_union(np.eye(2))
