"""nonbacktracking_test against dense Hashimoto spectra built edge by edge."""

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, generators, ihara_bass_matrix, nonbacktracking_test


def hashimoto(B: np.ndarray) -> np.ndarray:
    """The 2E x 2E non-backtracking matrix of a bipartite graph, built directly."""
    m, n = B.shape
    edges = [(i, m + j) for i, j in zip(*np.nonzero(B))]
    darts = edges + [(v, u) for u, v in edges]
    H = np.zeros((len(darts), len(darts)))
    for a, (u, v) in enumerate(darts):
        for b, (x, y) in enumerate(darts):
            if x == v and y != u:
                H[a, b] = 1.0
    return H


def reference(B: np.ndarray) -> tuple[float, float]:
    vals = np.linalg.eigvals(hashimoto(B))
    rho = float(vals.real.max())
    rest = list(vals)
    for target in (rho, -rho):
        rest.pop(int(np.argmin(np.abs(np.asarray(rest) - target))))
    return rho, float(np.abs(rest).max())


GRAPHS = {
    "pg2_3": generators.pg2_incidence(3).toarray(),
    "hypercube3": generators.hypercube(3).toarray(),
    "irregular": np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 1], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], dtype=float),
    "leafy": np.array([[1, 1, 1, 0], [1, 1, 0, 1], [0, 1, 1, 0]], dtype=float),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_against_dense_hashimoto(name):
    B = GRAPHS[name]
    rho, lam = reference(B)
    r = nonbacktracking_test(BipartiteGraph.from_dense(B))
    assert r.rho_h == pytest.approx(rho, rel=1e-8)
    assert r.lambda_nontrivial == pytest.approx(lam, rel=1e-6, abs=1e-8)
    assert r.holds == (lam <= math.sqrt(rho) * (1 + 1e-9))


def test_ihara_bass_spectrum_is_hashimoto_minus_plus_minus_one():
    B = GRAPHS["irregular"]
    g = BipartiteGraph.from_dense(B)
    m, n = B.shape
    A = np.zeros((m + n, m + n))
    A[:m, m:], A[m:, :m] = B, B.T
    k_vals = np.sort_complex(np.round(np.linalg.eigvals(ihara_bass_matrix(A).toarray()), 6))
    h_vals = list(np.round(np.linalg.eigvals(hashimoto(B)), 6))
    E, N = g.n_edges, m + n
    for v in [1.0] * (E - N) + [-1.0] * (E - N):  # the (1 - u^2)^(E - N) factor
        h_vals.pop(int(np.argmin(np.abs(np.asarray(h_vals) - v))))
    assert np.allclose(k_vals, np.sort_complex(np.asarray(h_vals)), atol=1e-4)


def test_ramanujan_biregular_holds_and_rho_is_c_minus_1_d_minus_1():
    r = nonbacktracking_test(generators.pg2_incidence(5))
    assert r.rho_h == pytest.approx(5.0) and r.verdict == "Ihara RH holds"
    assert r.lambda_nontrivial == pytest.approx(math.sqrt(5.0))


def test_arpack_agrees_with_dense():
    rng = np.random.default_rng(0)
    B = (rng.random((60, 40)) < 0.12).astype(float)
    g = BipartiteGraph.from_dense(B)
    d = nonbacktracking_test(g, method="dense")
    a = nonbacktracking_test(g, method="arpack", k=8)
    assert (d.method, a.method) == ("dense", "arpack")
    assert a.rho_h == pytest.approx(d.rho_h, rel=1e-8)
    assert a.lambda_nontrivial == pytest.approx(d.lambda_nontrivial, rel=1e-6)
    assert a.verdict == d.verdict


def test_forest_is_undefined_and_serialises():
    r = nonbacktracking_test(generators.star(5))
    assert r.verdict == "undefined" and r.rho_h == 0.0
    json.dumps(r.to_dict(), allow_nan=False)
    empty = nonbacktracking_test(BipartiteGraph(sp.csr_array((2, 2))), scope="all")
    assert empty.verdict == "undefined" and empty.n_edges == 0


def test_bad_arguments():
    g = generators.pg2_incidence(2)
    with pytest.raises(ValueError, match="k must"):
        nonbacktracking_test(g, k=2)
    with pytest.raises(ValueError, match="method"):
        nonbacktracking_test(g, method="eig")
    with pytest.raises(ValueError, match="scope"):
        nonbacktracking_test(g, scope="x")
