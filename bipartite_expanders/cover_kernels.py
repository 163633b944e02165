"""Loops over edges for the universal-cover solver (docs/universal-cover.md), compiled.

Every function takes the undirected edges ``(a[k], b[k])`` of one graph on ``n`` vertices with
``c = w**2``; a vector on directed edges has length ``2E``: entry ``k`` is ``a -> b`` and
``k + E`` is ``b -> a``. Each is one or two passes over the edges (``gram_pairs``: one over
the pairs of edges at each dropped vertex). ``lower_bound_sum`` cleans and normalises its ``p``
in place (negative or non-finite entries to 0, sum 1). With numba installed they are compiled (:mod:`~bipartite_expanders.cover_compiled`, imported on
the first call so that an import of the package does not pay numba's; ``cache=True``: a fresh
environment compiles once, later processes load the cache); without it the same functions run as
numpy ``bincount`` expressions.

>>> import numpy as np
>>> a, b, c = np.array([0, 0]), np.array([1, 2]), np.array([1.0, 4.0])
>>> vertex_out(a, b, c, np.ones(4), 3).tolist()   # sum over edges out of each vertex of c x
[5.0, 1.0, 4.0]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import importlib
import importlib.util

__all__ = [
    "COMPILED",
    "vertex_system",
    "offdiag_apply",
    "vertex_out",
    "edge_S",
    "max_F",
    "lower_bound_sum",
    "predecessor_sum",
    "edge_values",
    "block_apply",
    "dense_block",
    "sweep_step",
    "gram_pairs",
    "dual_from_vertex",
    "NUMPY_VERSIONS",
    "LOOPS",
    "COMPILE_FROM_EDGES",
    "prefer_compiled",
    "compiled_bound",
]

#: whether the loops are compiled by numba (importable; it is imported on the first loop called)
COMPILED = importlib.util.find_spec("numba") is not None


# --------------------------------------------------------------------- numpy versions
def _np_vertex_system(a, b, c, g, z, n):
    k = c * g[a] * g[b]
    q = np.sqrt(1.0 + 4.0 * k)
    term = 2.0 * k / (1.0 + q)  # = (q - 1) / 2 without cancellation
    phi = z * g - 1.0 - np.bincount(a, term, n) - np.bincount(b, term, n)
    jab = -c * g[a] / q  # d phi_a / d g_b
    jba = -c * g[b] / q  # d phi_b / d g_a
    diag = z + np.bincount(a, jba, n) + np.bincount(b, jab, n)
    return phi, diag, jab, jba


def _np_offdiag_apply(a, b, jab, jba, v, n):
    return np.bincount(a, jab * v[b], n) + np.bincount(b, jba * v[a], n)


def _np_vertex_out(a, b, c, x, n):
    E = a.size
    return np.bincount(a, c * x[:E], n) + np.bincount(b, c * x[E:], n)


def _np_edge_S(a, b, c, x, n):
    E = a.size
    V = _np_vertex_out(a, b, c, x, n)
    return np.concatenate([V[b] - c * x[E:], V[a] - c * x[:E]])


def _np_max_F(a, b, c, x, n):
    return float(np.max(1.0 / x + _np_edge_S(a, b, c, x, n)))


def _np_predecessor_sum(a, b, p, n):
    E = a.size
    into = np.bincount(b, p[:E], n) + np.bincount(a, p[E:], n)
    return np.concatenate([into[a] - p[E:], into[b] - p[:E]])


def _np_lower_bound_sum(a, b, w, p, n):
    p[:] = np.where(np.isfinite(p), np.maximum(p, 0.0), 0.0)
    total = p.sum()
    if not total > 0:
        return 0.0
    p /= total
    mp = np.maximum(_np_predecessor_sum(a, b, p, n), 0.0)
    return float(2.0 * np.sum(np.concatenate([w, w]) * np.sqrt(p * mp)))


def _np_edge_values(a, b, c, g):
    k = c * g[a] * g[b]
    s = 2.0 / (1.0 + np.sqrt(1.0 + 4.0 * k))
    return np.concatenate([g[b] * s, g[a] * s])


def _np_block_apply(rows, cols, vals, v, n_rows):
    return np.bincount(rows, vals * v[cols], n_rows)


def _np_dense_block(rows, cols, vals, n_rows, n_cols):
    return np.bincount(rows * n_cols + cols, vals, n_rows * n_cols).reshape(n_rows, n_cols)


def _np_sweep_step(a, b, c, x, z, n):
    den = z - _np_edge_S(a, b, c, x, n)
    if np.any(den <= 0):
        return x, False, np.inf
    x_new = 1.0 / den
    return x_new, True, float(np.max(np.abs(x_new - x) / x_new))


def _np_dual_from_vertex(a, b, c, x, h):
    E = a.size
    al = np.concatenate([c, c]) * x * x
    be = np.concatenate([al[E:], al[:E]])
    hu, hv = np.concatenate([h[a], h[b]]), np.concatenate([h[b], h[a]])
    return al * (hu - be * hv) / (1.0 - al * be)


def _np_gram_pairs(ptr, order, rows, q, s, n_keep):
    # sum over dropped d of s_d q_(.d) q_(.d)^T, as one sparse product
    nd = ptr.size - 1
    drop_of = np.repeat(np.arange(nd), np.diff(ptr))
    L = sp.csr_array((q[order] * s[drop_of], (rows[order], drop_of)), shape=(n_keep, nd))
    R = sp.csr_array((q[order], (rows[order], drop_of)), shape=(n_keep, nd))
    return (L @ R.T).toarray()


#: the numpy version of every loop, by name (the reference for the compiled ones)
NUMPY_VERSIONS = {name[4:]: f for name, f in dict(globals()).items() if name.startswith("_np_")}


#: the public loop names
LOOPS = ('vertex_system', 'offdiag_apply', 'vertex_out', 'edge_S', 'max_F', 'lower_bound_sum', 'predecessor_sum', 'edge_values', 'block_apply', 'dense_block', 'sweep_step', 'gram_pairs', 'dual_from_vertex')

#: graphs with at least this many edges get numba's loops: importing numba and loading its cache
#: costs ~0.4 s once per process, and the compiled loops halve the solve (784 x 300 at 10 %,
#: 23,728 edges: 0.12 s CPU in numpy, 0.06 s compiled); a census meets many layers of a few
#: thousand edges (VGG-19 at 1 %: a threshold of 10,000 edges made it 11x the Hoory census, 1,000
#: keeps it at 9x). Smaller graphs, the tests' and toy examples', stay in numpy and never import numba
COMPILE_FROM_EDGES = 1_000

# the numpy loops until prefer_compiled binds numba's (names listed for readers and linters)
vertex_system = _np_vertex_system
offdiag_apply = _np_offdiag_apply
vertex_out = _np_vertex_out
edge_S = _np_edge_S
max_F = _np_max_F
lower_bound_sum = _np_lower_bound_sum
predecessor_sum = _np_predecessor_sum
edge_values = _np_edge_values
block_apply = _np_block_apply
dense_block = _np_dense_block
sweep_step = _np_sweep_step
gram_pairs = _np_gram_pairs
dual_from_vertex = _np_dual_from_vertex


def compiled_bound() -> bool:
    """Whether numba's loops are the ones bound now (see :func:`prefer_compiled`)."""
    return globals()["vertex_system"] is not NUMPY_VERSIONS["vertex_system"]


def prefer_compiled(n_edges: int) -> bool:
    """Bind the loops for a graph of ``n_edges`` edges into this module: numba's from
    :data:`COMPILE_FROM_EDGES` edges (when numba is installed), else the numpy versions; returns
    whether the compiled loops are bound.

    The choice depends on the graph alone, never on what the process did before (whether numba
    is loaded already), so that the same graph gives the same floats in every process: the two
    versions sum in different orders, and a resumed run must write the records an uninterrupted
    one writes."""
    use = COMPILED and n_edges >= COMPILE_FROM_EDGES
    if use:
        compiled = importlib.import_module("bipartite_expanders.cover_compiled")
        globals().update({loop: getattr(compiled, loop) for loop in LOOPS})
    else:
        globals().update({loop: NUMPY_VERSIONS[loop] for loop in LOOPS})
    return use
