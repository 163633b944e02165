import numpy as np
import pytest
import scipy.sparse as sp


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_sparse(rng, m, n, density, weighted):
    """A random sparse non-negative matrix (0/1 or |N(0,1)| weights)."""
    M = sp.random_array((m, n), density=density, rng=rng, format="csr")
    M.data = np.abs(rng.standard_normal(M.nnz)) + 1e-3 if weighted else np.ones(M.nnz)
    return M
