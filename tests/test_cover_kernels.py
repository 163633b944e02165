"""cover_kernels: the compiled loops agree with their numpy versions and with dense references."""

import numpy as np
import pytest

import subprocess
import sys

from bipartite_expanders import cover_kernels as K

NP = K.NUMPY_VERSIONS
C = pytest.importorskip("bipartite_expanders.cover_compiled")  # needs numba


@pytest.fixture
def graph():
    rng = np.random.default_rng(0)
    m, n = 30, 12
    B = rng.random((m, n)) < 0.3
    B[np.arange(m), np.arange(m) % n] = True
    a, b = np.nonzero(B)
    b = b + m
    return a.astype(np.int64), b.astype(np.int64), rng.uniform(0.1, 2.0, a.size), m + n, rng


def test_numpy_versions_cover_every_loop():
    assert set(NP) == set(K.LOOPS) and all(callable(getattr(C, name)) for name in K.LOOPS)


def test_the_loops_follow_the_graph_not_the_process():
    """numba's import costs more than the numpy loops on a small graph, and the choice must not
    depend on whether numba is loaded already (a fresh process, so no other test loaded it)."""
    code = ("import sys; from bipartite_expanders import cover_kernels as K; "
            "assert not K.prefer_compiled(10) and 'numba' not in sys.modules; "
            "assert K.vertex_out is K.NUMPY_VERSIONS['vertex_out']; "
            "assert K.prefer_compiled(K.COMPILE_FROM_EDGES) and 'numba' in sys.modules; "
            "assert K.vertex_out is not K.NUMPY_VERSIONS['vertex_out']; "
            "assert not K.prefer_compiled(10) and K.vertex_out is K.NUMPY_VERSIONS['vertex_out']")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_loops_agree_with_numpy_and_dense(graph):
    a, b, w, n, rng = graph
    c = w * w
    E = a.size
    x = rng.uniform(0.05, 1.0, 2 * E)
    g = rng.uniform(0.05, 1.0, n)
    v = rng.standard_normal(n)
    p = rng.uniform(0.0, 1.0, 2 * E)
    for name, args in [("vertex_out", (a, b, c, x, n)), ("edge_S", (a, b, c, x, n)), ("max_F", (a, b, c, x, n)),
                       ("predecessor_sum", (a, b, p, n)), ("edge_values", (a, b, c, g)),
                       ("vertex_system", (a, b, c, g, 3.0, n)), ("dual_from_vertex", (a, b, c, x, v))]:
        got, ref = getattr(C, name)(*args), NP[name](*args)
        for u, r in zip(np.atleast_1d(got) if not isinstance(got, tuple) else got,
                        np.atleast_1d(ref) if not isinstance(ref, tuple) else ref):
            np.testing.assert_allclose(u, r, rtol=1e-12, atol=1e-14, err_msg=name)
    assert C.lower_bound_sum(a, b, w, p.copy(), n) == pytest.approx(NP["lower_bound_sum"](a, b, w, p.copy(), n), rel=1e-12)
    # dense references: V = (A o C) x on the out-edges; the off-diagonal product
    _, _, jab, jba = C.vertex_system(a, b, c, g, 3.0, n)
    J = np.zeros((n, n))
    J[a, b], J[b, a] = jab, jba
    np.testing.assert_allclose(C.offdiag_apply(a, b, jab, jba, v, n), J @ v, rtol=1e-12, atol=1e-14)
    xs, ok, _ = C.sweep_step(a, b, c, x, 50.0, n)
    xr, okr, _ = NP["sweep_step"](a, b, c, x, 50.0, n)
    assert ok and okr
    np.testing.assert_allclose(xs, xr, rtol=1e-12)


def test_gram_pairs_against_dense(graph):
    a, b, w, n, rng = graph
    m = 30
    # keep the right side (12), drop the left (30): sum_d s_d q_d q_d^T
    rows, cols = (b - m).astype(np.int32), a.astype(np.int32)
    q = rng.standard_normal(a.size)
    s = rng.uniform(-1.0, 2.0, m)
    order = np.argsort(cols, kind="stable").astype(np.int32)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=m))])
    Q = np.zeros((12, m))
    Q[rows, cols] = q
    ref = Q @ np.diag(s) @ Q.T
    np.testing.assert_allclose(C.gram_pairs(ptr, order, rows, q, s, 12), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(NP["gram_pairs"](ptr, order, rows, q, s, 12), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(C.dense_block(rows, cols, q, 12, m), Q)
    np.testing.assert_allclose(C.block_apply(rows, cols, q, np.arange(m, dtype=float), 12), Q @ np.arange(m))
