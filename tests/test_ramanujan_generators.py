"""PG(2, q) over GF(q), certified Ramanujan generators: checked against numpy's dense SVD."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph

from bipartite_expanders import generators as G
from bipartite_expanders import universal_cover_radius


def dense_svd(graph) -> np.ndarray:
    return np.linalg.svd(graph.toarray(), compute_uv=False)


def n_components(A: np.ndarray) -> int:
    m, n = A.shape
    adj = sp.bmat([[None, sp.csr_array(A)], [sp.csr_array(A.T), None]])
    return csgraph.connected_components(adj, directed=False)[0]


def check_simple_connected(A: np.ndarray) -> None:
    assert set(np.unique(A).tolist()) <= {0.0, 1.0}
    assert n_components(A) == 1


# ------------------------------------------------------------------ GF(q) and PG(2, q)
@pytest.mark.parametrize("q", [4, 8, 9, 16, 25, 27])
def test_gf_tables_are_a_field(q):
    add, mul = G.gf_tables(q)
    e = np.arange(q)
    assert np.array_equal(add, add.T) and np.array_equal(mul, mul.T)
    assert np.array_equal(add[0], e) and np.array_equal(mul[1], e) and not mul[0].any()
    # every row of + and of (nonzero) * is a permutation: inverses exist
    assert all(sorted(row) == list(range(q)) for row in add)
    assert all(sorted(row) == list(range(1, q)) for row in mul[1:, 1:])
    # associativity and distributivity on every triple
    a, b, c = np.meshgrid(e, e, e, indexing="ij")
    assert np.array_equal(mul[mul[a, b], c], mul[a, mul[b, c]])
    assert np.array_equal(add[add[a, b], c], add[a, add[b, c]])
    assert np.array_equal(mul[a, add[b, c]], add[mul[a, b], mul[a, c]])
    p = G.prime_power(q)[0]
    assert np.all(add[e, e] == 0) if p == 2 else True  # characteristic 2: x + x = 0


def test_gf_prime_is_modular_arithmetic():
    add, mul = G.gf_tables(7)
    e = np.arange(7)
    assert np.array_equal(add, (e[:, None] + e[None, :]) % 7)
    assert np.array_equal(mul, (e[:, None] * e[None, :]) % 7)


def test_prime_power():
    assert [G.prime_power(q) for q in (2, 4, 8, 9, 12, 25, 1, 49, 97, 100)] == [
        (2, 1), (2, 2), (2, 3), (3, 2), None, (5, 2), None, (7, 2), (97, 1), None]


@pytest.mark.parametrize("q", [2, 3, 4, 5, 7, 8, 9, 11, 16])
def test_pg2_spectrum_and_axioms(q):
    g = G.pg2_incidence(q)
    A = g.toarray()
    N = q * q + q + 1
    assert A.shape == (N, N)
    assert np.all(A.sum(0) == q + 1) and np.all(A.sum(1) == q + 1)
    off = ~np.eye(N, dtype=bool)
    assert np.all((A @ A.T)[off] == 1)  # two points lie on exactly one line
    assert np.all((A.T @ A)[off] == 1)  # two lines meet in exactly one point
    s = dense_svd(g)
    assert abs(s[0] - (q + 1)) < 1e-9
    assert np.all(np.abs(s[1:] - math.sqrt(q)) < 1e-9)  # t2 = sqrt(q), with multiplicity N - 1


def test_pg2_bad_q():
    for q in (6, 10, 12):
        with pytest.raises(ValueError, match="prime power"):
            G.pg2_incidence(q)
    with pytest.raises(ValueError, match="<= 128"):
        G.pg2_incidence(131)
    with pytest.raises(ValueError):
        G.pg2_incidence(1)
    with pytest.raises(TypeError):
        G.pg2_incidence(4.0)


@pytest.mark.parametrize("q, l", [(2, 2), (3, 2), (4, 3), (5, 5), (8, 4), (9, 2), (7, 3)])
def test_array_code_spectrum(q, l):
    A = G.array_code_incidence(q, l).toarray()
    assert A.shape == (l * q, q * q)
    assert np.all(A.sum(1) == q) and np.all(A.sum(0) == l)
    s = dense_svd(G.array_code_incidence(q, l))  # sqrt(l q) once, sqrt(q) (l q - l times), 0 (l - 1 times)
    expect = np.r_[math.sqrt(l * q), np.full(l * q - l, math.sqrt(q)), np.zeros(l - 1)]
    assert np.allclose(s, expect, atol=1e-9)
    assert math.sqrt(q) <= math.sqrt(q - 1) + math.sqrt(l - 1)
    r = G.ramanujan_biregular(l * q, q * q, q)
    assert r.method == "array_code" and abs(r.t2 - math.sqrt(q)) < 1e-9
    rt = G.ramanujan_biregular(q * q, l * q, l)  # the transposed orientation
    assert rt.method == "array_code" and rt.graph == (G.array_code_incidence(q, l).T if l < q else r.graph)
    with pytest.raises(ValueError, match="l must be <= q"):
        G.array_code_incidence(3, 4)
    with pytest.raises(ValueError, match="prime power"):
        G.array_code_incidence(6, 2)


# ------------------------------------------------------------------ biregular
BIREGULAR = [
    (20, 20, 3, "auto"), (60, 40, 2, "random"), (60, 30, 3, "random"), (90, 60, 4, "random"),
    (300, 300, 3, "random"), (60, 40, 2, "lift"), (64, 32, 4, "lift"), (500, 500, 4, "lift"),
    (7, 7, 3, "auto"), (21, 21, 5, "explicit"), (73, 73, 9, "auto"), (5, 8, 8, "auto"),
]


@pytest.mark.parametrize("n_left, n_right, d_left, method", BIREGULAR)
def test_ramanujan_biregular_against_dense_svd(n_left, n_right, d_left, method):
    r = G.ramanujan_biregular(n_left, n_right, d_left, seed=0, method=method)
    A = r.graph.toarray()
    d_right = n_left * d_left // n_right
    assert A.shape == (n_left, n_right)
    check_simple_connected(A)
    assert np.all(A.sum(1) == d_left) and np.all(A.sum(0) == d_right)
    s = dense_svd(r.graph)
    assert abs(s[0] - r.t1) < 1e-8 and abs(s[0] - math.sqrt(d_left * d_right)) < 1e-8
    assert abs(s[1] - r.t2) < 1e-8
    bound = math.sqrt(d_left - 1) + math.sqrt(d_right - 1)
    assert r.bound == pytest.approx(bound, rel=1e-14) and r.certificate == "degree_bound"
    assert s[1] <= bound and r.margin >= 0
    assert r.degrees_left == (d_left, d_left) and r.degrees_right == (d_right, d_right)
    if method != "auto":
        assert r.method == {"explicit": "pg2"}.get(method, method)


def test_ramanujan_biregular_explicit_families():
    assert G.ramanujan_biregular(91, 91, 10).method == "pg2"  # PG(2, 9): t2 = 3
    assert G.ramanujan_biregular(91, 91, 10).t2 == pytest.approx(3.0, abs=1e-9)
    k = G.ramanujan_biregular(5, 8, 8)
    assert k.method == "complete" and k.t2 == 0 and math.isinf(k.margin)
    # the random method ignores the explicit family of the same shape
    assert G.ramanujan_biregular(13, 13, 4, method="random").method == "random"


def test_ramanujan_biregular_is_deterministic_per_seed():
    a = G.ramanujan_biregular(200, 100, 3, seed=4)
    b = G.ramanujan_biregular(200, 100, 3, seed=4)
    c = G.ramanujan_biregular(200, 100, 3, seed=5)
    assert a.graph == b.graph and a.t2 == b.t2 and a.graph != c.graph
    assert G.ramanujan_biregular(64, 32, 4, method="lift", seed=2).graph == G.ramanujan_biregular(64, 32, 4, method="lift", seed=2).graph


def test_ramanujan_biregular_repair_and_give_up():
    # seed 5's first draw is above the bound: without repair rounds the search gives up ...
    with pytest.raises(G.RamanujanSearchError, match="after 1 tries") as info:
        G.ramanujan_biregular(300, 300, 3, seed=5, max_tries=1, max_rounds=0)
    assert info.value.best_t2 > info.value.bound == pytest.approx(2 * math.sqrt(2))
    # ... and the switches bring the same draw under it
    r = G.ramanujan_biregular(300, 300, 3, seed=5, max_tries=1)
    assert r.tries == 1 and r.switches > 0
    s = dense_svd(r.graph)
    assert abs(s[1] - r.t2) < 1e-8 and s[1] <= 2 * math.sqrt(2) < info.value.best_t2
    A = r.graph.toarray()
    assert np.all(A.sum(1) == 3) and np.all(A.sum(0) == 3)


def test_ramanujan_biregular_infeasible_degrees():
    with pytest.raises(ValueError, match=r"d_right = n_left \* d_left / n_right = 39.2 is not an integer; nearest feasible: d_left = 75 \(d_right = 196\)"):
        G.ramanujan_biregular(784, 300, 15)
    with pytest.raises(ValueError, match=r"nearest feasible: d_left = 4 \(d_right = 6\) or d_left = 6 \(d_right = 9\)"):
        G.ramanujan_biregular(30, 20, 5)
    with pytest.raises(ValueError, match="no simple graph"):
        G.ramanujan_biregular(10, 5, 6)
    with pytest.raises(ValueError, match="no connected graph"):
        G.ramanujan_biregular(10, 10, 1)
    with pytest.raises(ValueError, match="method must be one of"):
        G.ramanujan_biregular(20, 20, 3, method="magic")
    with pytest.raises(ValueError, match="no explicit family"):
        G.ramanujan_biregular(20, 20, 3, method="explicit")
    with pytest.raises(ValueError, match="needs d_right = 3 to divide n_left = 20"):
        G.ramanujan_biregular(20, 20, 3, method="lift")
    with pytest.raises(TypeError, match="d_left"):
        G.ramanujan_biregular(20, 20, 3.0)
    with pytest.raises(TypeError, match="seed"):
        G.ramanujan_biregular(20, 20, 3, seed="x")


# ------------------------------------------------------------------ near-biregular
NEAR = [(40, 12, 100), (576, 128, 737), (100, 37, 555), (60, 40, 120), (30, 30, 250), (9, 4, 36), (1152, 128, 1475)]


@pytest.mark.parametrize("n_left, n_right, n_edges", NEAR)
def test_ramanujan_bipartite_against_dense_svd(n_left, n_right, n_edges):
    r = G.ramanujan_bipartite(n_left, n_right, n_edges, seed=0)
    A = r.graph.toarray()
    check_simple_connected(A)
    assert A.sum() == n_edges
    dl, dr = A.sum(1), A.sum(0)
    assert dl.max() - dl.min() <= 1 and dr.max() - dr.min() <= 1
    assert r.degrees_left == (dl.min(), dl.max()) and r.degrees_right == (dr.min(), dr.max())
    s = dense_svd(r.graph)
    assert abs(s[0] - r.t1) < 1e-8 and abs(s[1] - r.t2) < 1e-8
    assert s[1] <= r.bound
    if r.certificate == "degree_bound":
        assert dl.min() == dl.max() and dr.min() == dr.max()
    else:
        assert r.certificate in ("cover_free_lower", "cover_lower")
        assert r.bound == r.rho_lower <= r.rho_upper
    assert r.db == pytest.approx(math.sqrt(n_edges / n_left - 1) + math.sqrt(n_edges / n_right - 1))


def test_ramanujan_bipartite_bound_is_below_the_reference_cover_radius():
    # the certified bound must be a true lower bound on rho(T): compare with the slow bisection reference
    for args, certificate in [((40, 12, 100), "cover_free_lower"), ((120, 50, 230), "cover_lower")]:
        r = G.ramanujan_bipartite(*args, seed=1)
        assert r.certificate == certificate
        ref = universal_cover_radius(r.graph, tol=1e-6, method="bisect")
        assert r.bound <= ref.upper * (1 + 1e-12)
        assert r.t2 <= ref.lower


def test_ramanujan_bipartite_complete_and_errors():
    r = G.ramanujan_bipartite(3, 4, 12)
    assert r.method == "complete" and r.t2 == 0
    with pytest.raises(ValueError, match="no connected graph"):
        G.ramanujan_bipartite(27, 64, 17)
    with pytest.raises(ValueError, match="no simple graph"):
        G.ramanujan_bipartite(3, 4, 13)
    with pytest.raises(ValueError, match="n_edges must be >= 1"):
        G.ramanujan_bipartite(3, 4, 0)


def test_ramanujan_bipartite_repair_and_give_up():
    with pytest.raises(G.RamanujanSearchError, match="no certified Ramanujan graph of shape") as info:
        G.ramanujan_bipartite(300, 280, 901, seed=0, max_tries=1, max_rounds=0)
    assert info.value.best_t2 > info.value.bound
    r = G.ramanujan_bipartite(300, 280, 901, seed=0, max_tries=1)
    assert r.switches > 0 and r.certificate == "cover_lower"
    s = dense_svd(r.graph)
    assert abs(s[1] - r.t2) < 1e-8 and s[1] <= r.bound <= r.rho_upper


def test_ramanujan_bipartite_deterministic_and_control_degrees():
    a = G.ramanujan_bipartite(100, 37, 555, seed=3)
    assert a.graph == G.ramanujan_bipartite(100, 37, 555, seed=3).graph
    assert a.graph != G.ramanujan_bipartite(100, 37, 555, seed=4).graph
    control = G.random_near_biregular(100, 37, 555, seed=3)
    assert control != a.graph  # its own random stream ...
    A, C = a.graph.toarray(), control.toarray()
    assert np.array_equal(A.sum(1), C.sum(1)) and np.array_equal(A.sum(0), C.sum(0))  # ... the same degrees
    assert set(np.unique(C).tolist()) == {0.0, 1.0}


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(0, 3600))
def test_near_biregular_degrees(n_left, n_right, n_edges):
    n_edges = min(n_edges, n_left * n_right)
    dl, dr = G.near_biregular_degrees(n_left, n_right, n_edges, seed=n_edges)
    assert dl.sum() == dr.sum() == n_edges
    assert dl.max() - dl.min() <= 1 and dr.max() - dr.min() <= 1
    g = G.random_near_biregular(n_left, n_right, n_edges, seed=n_edges)
    A = g.toarray()
    assert np.array_equal(A.sum(1), dl) and np.array_equal(A.sum(0), dr)


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 40), st.integers(2, 40), st.floats(0.0, 1.0), st.integers(0, 2**31))
def test_ramanujan_bipartite_certificates_hold(n_left, n_right, fill, seed):
    lo = n_left + n_right - 1
    n_edges = lo + round(fill * (n_left * n_right - lo))
    if n_edges > n_left * n_right:
        return
    try:
        r = G.ramanujan_bipartite(n_left, n_right, n_edges, seed=seed)
    except G.RamanujanSearchError:
        return  # failing loudly is allowed; a certificate that does not hold is not
    A = r.graph.toarray()
    check_simple_connected(A)
    s = dense_svd(r.graph)
    assert A.sum() == n_edges and abs(s[1] - r.t2) < 1e-8 and s[1] <= r.bound * (1 + 1e-12)
