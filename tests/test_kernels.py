"""The compiled sparse kernels against scipy (the reference), the compiled Lanczos steps
through every backend, and the thread policy (keyword, environment variable, validation)."""

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import spectral_pair, top_singular_values
from bipartite_expanders.solvers import SOLVERS, MatrixOperator, primme_available
from bipartite_expanders.solvers import kernels, threads
from bipartite_expanders.solvers.kernels import CSRKernel

pytestmark = pytest.mark.skipif(not kernels.numba_available(), reason="numba is not installed")

BACKENDS = [name for name in SOLVERS if name != "primme" or primme_available()]


def sparse(rng, m, n, density, kind):
    """A random CSR matrix: 'pattern' (0/1), 'const' (2.5 times a pattern) or 'values'."""
    A = sp.random_array((m, n), density=density, rng=rng, format="csr")
    if kind == "pattern":
        A.data[:] = 1.0
    elif kind == "const":
        A.data[:] = 2.5
    else:
        A.data = rng.standard_normal(A.nnz)
    return A


def with_empty_lines(rng, m, n, kind):
    """Empty first/last rows and a block of empty columns."""
    A = sparse(rng, m, n, 0.2, kind).tolil()
    A[0, :] = 0
    A[m - 1, :] = 0
    A[:, : n // 3] = 0
    A = sp.csr_array(A)
    A.eliminate_zeros()
    return A


SHAPES = [(50, 7), (7, 50), (1, 40), (40, 1), (30, 30)]


def integer_vector(rng, size):
    """Small integers: sums of them are exact in any order, so pattern products must agree exactly."""
    return rng.integers(-8, 9, size).astype(float)


def check_products(A, kern, rng, exact):
    m, n = A.shape
    x = integer_vector(rng, n) if exact else rng.standard_normal(n)
    y = integer_vector(rng, m) if exact else rng.standard_normal(m)
    X = integer_vector(rng, (n, 3)) if exact else rng.standard_normal((n, 3))
    Y = integer_vector(rng, (m, 3)) if exact else rng.standard_normal((m, 3))
    pairs = [(kern.gather(x), A @ x), (kern.scatter(y), A.T @ y), (kern.gram(x), A.T @ (A @ x)),
             (kern.gather(X), A @ X), (kern.scatter(Y), A.T @ Y)]
    for got, ref in pairs:
        assert got.shape == ref.shape and got.dtype == np.float64
        if exact:
            assert np.array_equal(got, ref)
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13 * max(np.abs(ref).max(initial=0), 1e-300))


@pytest.mark.parametrize("threads_", [1, 2])
@pytest.mark.parametrize("kind", ["pattern", "const", "values"])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_match_scipy(shape, kind, threads_, rng):
    A = sparse(rng, *shape, 0.3, kind)
    kern = CSRKernel(A, threads=threads_)
    assert kern.pattern == (kind != "values")
    assert kern.indices.dtype == np.uint16
    check_products(A, kern, rng, exact=kind == "pattern")


@pytest.mark.parametrize("kind", ["pattern", "values"])
@pytest.mark.parametrize("shape", [(40, 25), (25, 40)])
def test_kernels_with_empty_rows_and_columns(shape, kind, rng):
    A = with_empty_lines(rng, *shape, kind)
    for t in (1, 2):
        check_products(A, CSRKernel(A, threads=t), rng, exact=kind == "pattern")


@pytest.mark.parametrize("kind", ["pattern", "values"])
def test_kernels_with_wide_indices(kind, rng):
    # a side over 65,536 needs int32 indices
    A = sparse(rng, 6, 70_000, 0.001, kind)
    kern = CSRKernel(A, threads=2)
    assert kern.indices.dtype == np.int32
    check_products(A, kern, rng, exact=kind == "pattern")


def test_kernels_on_an_empty_matrix(rng):
    A = sp.csr_array((5, 4))
    kern = CSRKernel(A)
    assert np.array_equal(kern.gather(np.ones(4)), np.zeros(5))
    assert np.array_equal(kern.scatter(np.ones(5)), np.zeros(4))
    assert np.array_equal(kern.gram(np.ones(4)), np.zeros(4))


def test_float32_values_accumulate_in_float64(rng):
    A = sparse(rng, 300, 200, 0.1, "values")
    kern = CSRKernel(A, values="float32")
    assert kern.data.dtype == np.float32 and kern.bytes_per_entry() == 2 + 4
    A32 = sp.csr_array((A.data.astype(np.float32).astype(np.float64), A.indices, A.indptr), shape=A.shape)
    x = rng.standard_normal(200)
    np.testing.assert_allclose(kern.gather(x), A32 @ x, rtol=1e-13, atol=1e-13 * np.abs(A32 @ x).max())
    np.testing.assert_allclose(kern.gather(x), A @ x, rtol=1e-5, atol=1e-6 * np.abs(A @ x).max())


def test_plain_functions_and_errors(rng):
    A = sparse(rng, 20, 30, 0.2, "values")
    x, y = rng.standard_normal(30), rng.standard_normal(20)
    np.testing.assert_allclose(kernels.csr_matvec(sp.csc_matrix(A), x), A @ x, rtol=1e-13)
    np.testing.assert_allclose(kernels.csr_rmatvec(A, y), A.T @ y, rtol=1e-13)
    np.testing.assert_allclose(kernels.csr_gram_matvec(A, x), A.T @ (A @ x), rtol=1e-13)
    with pytest.raises(TypeError, match="A must be a scipy"):
        kernels.csr_matvec(A.toarray(), x)
    with pytest.raises(TypeError, match="CSR"):
        CSRKernel(sp.csc_array(A))
    with pytest.raises(ValueError, match="values must be"):
        CSRKernel(A, values="float16")
    with pytest.raises(ValueError, match="kernel must be"):
        MatrixOperator(A, kernel="fortran")
    with pytest.raises(ValueError, match="kernel must be"):
        top_singular_values(A, kernel="fortran")


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), density=st.floats(0.0, 1.0), seed=st.integers(0, 2**31),
       pattern=st.booleans(), t=st.sampled_from([1, 2]))
def test_kernels_agree_with_scipy_everywhere(m, n, density, seed, pattern, t):
    rng = np.random.default_rng(seed)
    A = sparse(rng, m, n, density, "pattern" if pattern else "values")
    check_products(A, CSRKernel(A, threads=t), rng, exact=pattern)


# ------------------------------------------------------------------ through the solvers
@pytest.mark.parametrize("solver", BACKENDS)
@pytest.mark.parametrize("shape, density, kind", [
    ((400, 120), 0.05, "pattern"), ((120, 400), 0.05, "values"), ((300, 300), 0.02, "const"),
])
def test_backends_with_compiled_kernels(solver, shape, density, kind, rng):
    A = sparse(rng, *shape, density, kind)
    if kind == "values":
        A.data = np.abs(A.data)
    ref = sla.svdvals(A.toarray())[:3]
    for threads_ in (1, 2):
        res = top_singular_values(A, 3, solver=solver, kernel="numba", threads=threads_, full_output=True)
        assert res.verified
        assert np.all(np.abs(res.values - ref) <= 1e-8 * ref + 1e-12 * ref[0])


def test_operator_uses_one_compiled_copy(rng):
    tall, wide = sparse(rng, 300, 100, 0.1, "pattern"), sparse(rng, 100, 300, 0.1, "values")
    for A in (tall, wide):
        op = MatrixOperator(A, kernel="numba")
        assert op.kernel == "numba" and op.compiled.shape == (max(A.shape), min(A.shape))
        x, y = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
        np.testing.assert_allclose(op.mv(x), A @ x, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(op.rmv(y), A.T @ y, rtol=1e-13, atol=1e-12)
        left = A.shape[0] <= A.shape[1]
        z = y if left else x
        ref = A @ (A.T @ z) if left else A.T @ (A @ z)
        before = op.count
        np.testing.assert_allclose(op.gram(z, left), ref, rtol=1e-12, atol=1e-12)
        assert op.count == before + 2
    assert MatrixOperator(tall, kernel="scipy").kernel == "scipy"
    assert MatrixOperator(tall.toarray()).kernel == "blas"


def test_lanczos_compiled_matches_python_loop(rng):
    A = sparse(rng, 500, 200, 0.05, "values")
    a = top_singular_values(A, 4, solver="lanczos", kernel="numba", full_output=True)
    b = top_singular_values(A, 4, solver="lanczos", kernel="scipy", full_output=True)
    assert a.verified and b.verified
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9)


def test_float32_operator_is_checked_on_the_float64_matrix(rng):
    A = sparse(rng, 400, 150, 0.05, "values")
    A.data = np.abs(A.data)
    op = MatrixOperator(A, kernel="numba", values="float32")
    res = SOLVERS["lanczos"](op, 2, 1e-9, None)
    ref = sla.svdvals(A.toarray())[:2]
    # whatever the float32 iteration reached, the check is on B: verified implies the contract
    if res.verified:
        assert np.all(np.abs(res.values - ref) <= 1e-8 * ref + 1e-12 * ref[0])


def test_disconnected_and_tiny_graphs_with_compiled_kernels():
    blocks = sp.block_diag([sp.csr_array(np.ones((3, 4))), sp.csr_array(np.ones((2, 2))), sp.csr_array((1, 1))],
                           format="csr")
    p = spectral_pair(blocks, kernel="numba", threads=2)
    assert abs(p.t1 - np.sqrt(12)) <= 1e-12 * p.t1 and abs(p.t2 - 2.0) <= 1e-10


# ------------------------------------------------------------------ threads
def test_thread_keyword_and_environment(monkeypatch):
    monkeypatch.delenv(threads.ENV_THREADS, raising=False)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # an idle machine
    assert threads.resolve_threads(None, 10) == (1, 1)
    assert threads.resolve_threads(None, 10**9)[1] == 1  # BLAS: one thread by policy
    assert threads.resolve_threads(None, 10**9)[0] == threads.available_cores()
    assert threads.resolve_threads(3, 10) == (3, 1)  # a Krylov solve: one BLAS thread
    assert threads.resolve_threads(3, 10, dense=True) == (3, 3)
    assert threads.resolve_threads(None, 10, dense=True) == (1, 1)  # the policy: one BLAS thread
    monkeypatch.setenv(threads.ENV_THREADS, "2")
    assert threads.resolve_threads(None, 10) == (2, 1)
    assert threads.resolve_threads(None, 10, dense=True) == (2, 2)
    assert threads.resolve_threads(1, 10, dense=True) == (1, 1)  # the keyword wins
    monkeypatch.setenv(threads.ENV_THREADS, "many")
    with pytest.raises(ValueError, match=threads.ENV_THREADS):
        threads.resolve_threads(None, 10)
    monkeypatch.delenv(threads.ENV_THREADS)
    # a busy machine: the policy runs one kernel thread whatever the size
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (threads.available_cores() + 3.0,) * 3)
    assert threads.resolve_threads(None, 10**9) == (1, 1)
    assert threads.resolve_threads(None, 10, dense=True) == (1, 1)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            top_singular_values(np.eye(3), threads=bad)
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            spectral_pair(np.eye(3), threads=bad)  # stars only: no solver runs
    with pytest.raises(ValueError, match="kernel must be"):
        spectral_pair(np.eye(3), kernel="blas")


def test_solve_threads_restores_the_blas_setting():
    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    with threads.solve_threads(1, 1):
        inside = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert all(n == 1 for n in inside)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_without_a_threading_layer_the_kernels_run_serially():
    """A threading layer that cannot load (TBB is not installed here) makes a two-thread
    request run the serial kernels instead of failing."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np, scipy.sparse as sp; from bipartite_expanders import top_singular_values; "
            "from bipartite_expanders.solvers import MatrixOperator; "
            "B = sp.random_array((400, 150), density=0.05, rng=np.random.default_rng(0), format='csr'); "
            "r = top_singular_values(B, 2, kernel='numba', threads=2, full_output=True); assert r.verified; "
            "print(MatrixOperator(B, kernel='numba', threads=2).threads)")
    try:
        import tbb  # noqa: F401
        pytest.skip("TBB is installed: the layer loads")
    except ImportError:
        pass
    env = dict(os.environ, NUMBA_THREADING_LAYER="tbb")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_wrong_lengths_and_malformed_structures_raise_instead_of_crashing(rng):
    # the kernels run without bounds checks: every entry point must reject what would read
    # or write outside the arrays (before this check, a wrong-length vector segfaulted)
    A = sparse(rng, 20, 30, 0.2, "values")
    kern = CSRKernel(A)
    with pytest.raises(ValueError, match="x must be a vector or block with 30 rows"):
        kern.gather(np.ones(20))
    with pytest.raises(ValueError, match="y must be a vector or block with 20 rows"):
        kern.scatter(np.ones(30))
    with pytest.raises(ValueError, match="x must be"):
        kern.gram(np.ones((20, 2)))
    with pytest.raises(ValueError, match="x must be"):
        kernels.csr_matvec(A, np.ones(1))
    bad = sp.csr_array((A.data, A.indices.copy(), A.indptr), shape=A.shape)
    bad.indices[3] = 30
    with pytest.raises(ValueError, match=r"A.indices must lie in \[0, 30\)"):
        CSRKernel(bad)
    bad = sp.csr_array((A.data, A.indices, A.indptr.copy()), shape=A.shape)
    bad.indptr[5] = bad.indptr[6] + 1
    with pytest.raises(ValueError, match="non-decreasing"):
        CSRKernel(bad)


def test_load_changes_time_never_floats(rng, monkeypatch):
    # the parts of a parallel product depend on the matrix alone: run by one thread (a busy
    # machine) or two (an idle one), the Lanczos run gives the same floats, so a resumed run
    # writes the records an uninterrupted one writes. Splitting by the thread count instead
    # changes the bidiagonal in its last bits (the scatter's partial sums are added in another
    # order), which this compares bit for bit.
    from bipartite_expanders.solvers import MatrixOperator
    from bipartite_expanders.solvers.krylov import lanczos_svd

    monkeypatch.delenv(threads.ENV_THREADS, raising=False)
    B = sp.random_array((1200, 500), density=0.4, rng=rng, format="csr")
    B.data = np.abs(rng.standard_normal(B.nnz))
    runs = []
    for n_threads in (1, 2):
        op = MatrixOperator(B, kernel="numba", threads=n_threads)
        assert op.parts == min(2, threads.available_cores(), kernels.compiled_module().max_threads())
        with threads.solve_threads(op.threads, 1, parallel=op.parts > 1):
            runs.append(lanczos_svd(op, 2, 1e-8))
    (s1, U1, V1, ok1), (s2, U2, V2, ok2) = runs
    assert ok1 and ok2 and np.array_equal(s1, s2) and np.array_equal(V1, V2) and np.array_equal(U1, U2)
    # and through the public function, at an idle and at a busy load average
    values = []
    for load in (0.0, threads.available_cores() + 3.0):
        monkeypatch.setattr(threads.os, "getloadavg", lambda load=load: (load,) * 3)
        values.append(top_singular_values(B, k=2, solver="lanczos", kernel="numba", full_output=True))
    assert np.array_equal(values[0].values, values[1].values) and values[0].verified
    np.testing.assert_allclose(values[0].values, np.linalg.svd(B.toarray(), compute_uv=False)[:2], rtol=1e-10)
