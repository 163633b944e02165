"""Loops over edges for the universal-cover solver (docs/universal-cover.md), compiled.

Every function takes the undirected edges ``(a[k], b[k])`` of one graph on ``n`` vertices with
``c = w**2``; a vector on directed edges has length ``2E``: entry ``k`` is ``a -> b`` and
``k + E`` is ``b -> a``. Each is one or two passes over the edges (``gram_pairs``: one over
the pairs of edges at each dropped vertex). ``lower_bound_sum`` cleans and normalises its ``p``
in place (negative or non-finite entries to 0, sum 1). With numba installed they are compiled (``cache=True``: the first call in a fresh environment compiles, later processes load
the cache); without it the same functions run as numpy ``bincount`` expressions.

>>> import numpy as np
>>> a, b, c = np.array([0, 0]), np.array([1, 2]), np.array([1.0, 4.0])
>>> vertex_out(a, b, c, np.ones(4), 3).tolist()   # sum over edges out of each vertex of c x
[5.0, 1.0, 4.0]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:
    import numba
except ImportError:  # pragma: no cover - numba is optional; numpy versions below
    numba = None

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
]

#: whether the loops are compiled by numba
COMPILED = numba is not None


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


# ------------------------------------------------------------------- compiled loops
if numba is not None:
    _jit = numba.njit(cache=True, nogil=True)

    @_jit
    def _nb_vertex_system(a, b, c, g, z, n):
        E = a.size
        acc = np.zeros(n)
        dacc = np.zeros(n)
        jab = np.empty(E)
        jba = np.empty(E)
        for k in range(E):
            u, v = a[k], b[k]
            gu, gv = g[u], g[v]
            kk = c[k] * gu * gv
            q = np.sqrt(1.0 + 4.0 * kk)
            term = 2.0 * kk / (1.0 + q)
            acc[u] += term
            acc[v] += term
            ab = -c[k] * gu / q
            ba = -c[k] * gv / q
            jab[k] = ab
            jba[k] = ba
            dacc[u] += ba
            dacc[v] += ab
        phi = np.empty(n)
        diag = np.empty(n)
        for i in range(n):
            phi[i] = z * g[i] - 1.0 - acc[i]
            diag[i] = z + dacc[i]
        return phi, diag, jab, jba

    @_jit
    def _nb_offdiag_apply(a, b, jab, jba, v, n):
        out = np.zeros(n)
        for k in range(a.size):
            out[a[k]] += jab[k] * v[b[k]]
            out[b[k]] += jba[k] * v[a[k]]
        return out

    @_jit
    def _nb_vertex_out(a, b, c, x, n):
        E = a.size
        V = np.zeros(n)
        for k in range(E):
            V[a[k]] += c[k] * x[k]
            V[b[k]] += c[k] * x[k + E]
        return V

    @_jit
    def _nb_edge_S(a, b, c, x, n):
        E = a.size
        V = _nb_vertex_out(a, b, c, x, n)
        out = np.empty(2 * E)
        for k in range(E):
            out[k] = V[b[k]] - c[k] * x[k + E]
            out[k + E] = V[a[k]] - c[k] * x[k]
        return out

    @_jit
    def _nb_max_F(a, b, c, x, n):
        E = a.size
        V = _nb_vertex_out(a, b, c, x, n)
        best = -np.inf
        for k in range(E):
            f1 = 1.0 / x[k] + V[b[k]] - c[k] * x[k + E]
            f2 = 1.0 / x[k + E] + V[a[k]] - c[k] * x[k]
            best = max(best, f1, f2)
        return best

    @_jit
    def _nb_predecessor_sum(a, b, p, n):
        E = a.size
        into = np.zeros(n)
        for k in range(E):
            into[b[k]] += p[k]
            into[a[k]] += p[k + E]
        out = np.empty(2 * E)
        for k in range(E):
            out[k] = into[a[k]] - p[k + E]
            out[k + E] = into[b[k]] - p[k]
        return out

    @_jit
    def _nb_lower_bound_sum(a, b, w, p, n):
        E = a.size
        total = 0.0
        for k in range(2 * E):  # p is cleaned (negative or non-finite -> 0) and normalised here
            if not (p[k] > 0.0 and p[k] < np.inf):
                p[k] = 0.0
            total += p[k]
        if not total > 0.0:
            return 0.0
        for k in range(2 * E):
            p[k] /= total
        into = np.zeros(n)
        for k in range(E):
            into[b[k]] += p[k]
            into[a[k]] += p[k + E]
        total = 0.0
        for k in range(E):
            m1 = max(into[a[k]] - p[k + E], 0.0)
            m2 = max(into[b[k]] - p[k], 0.0)
            total += w[k] * (np.sqrt(p[k] * m1) + np.sqrt(p[k + E] * m2))
        return 2.0 * total

    @_jit
    def _nb_edge_values(a, b, c, g):
        E = a.size
        out = np.empty(2 * E)
        for k in range(E):
            gu, gv = g[a[k]], g[b[k]]
            s = 2.0 / (1.0 + np.sqrt(1.0 + 4.0 * c[k] * gu * gv))
            out[k] = gv * s
            out[k + E] = gu * s
        return out

    @_jit
    def _nb_block_apply(rows, cols, vals, v, n_rows):
        out = np.zeros(n_rows)
        for k in range(rows.size):
            out[rows[k]] += vals[k] * v[cols[k]]
        return out

    @_jit
    def _nb_dense_block(rows, cols, vals, n_rows, n_cols):
        out = np.zeros((n_rows, n_cols))
        for k in range(rows.size):
            out[rows[k], cols[k]] += vals[k]
        return out

    @_jit
    def _nb_sweep_step(a, b, c, x, z, n):
        E = a.size
        V = _nb_vertex_out(a, b, c, x, n)
        out = np.empty(2 * E)
        change = 0.0
        for k in range(E):
            d1 = z - (V[b[k]] - c[k] * x[k + E])
            d2 = z - (V[a[k]] - c[k] * x[k])
            if d1 <= 0.0 or d2 <= 0.0:
                return x, False, np.inf
            y1, y2 = 1.0 / d1, 1.0 / d2
            change = max(change, abs(y1 - x[k]) / y1, abs(y2 - x[k + E]) / y2)
            out[k], out[k + E] = y1, y2
        return out, True, change

    @_jit
    def _nb_dual_from_vertex(a, b, c, x, h):
        E = a.size
        p = np.empty(2 * E)
        for k in range(E):
            al = c[k] * x[k] * x[k]
            be = c[k] * x[k + E] * x[k + E]
            den = 1.0 - al * be
            p[k] = al * (h[a[k]] - be * h[b[k]]) / den
            p[k + E] = be * (h[b[k]] - al * h[a[k]]) / den
        return p

    @_jit
    def _nb_gram_pairs(ptr, order, rows, q, s, n_keep):
        upper = np.zeros((n_keep, n_keep))
        for d in range(ptr.size - 1):
            for i in range(ptr[d], ptr[d + 1]):
                e = order[i]
                k1, v1 = rows[e], q[e] * s[d]
                upper[k1, k1] += v1 * q[e]
                for j in range(i + 1, ptr[d + 1]):  # each unordered pair once, into the upper triangle
                    f = order[j]
                    k2 = rows[f]
                    if k1 <= k2:
                        upper[k1, k2] += v1 * q[f]
                    else:
                        upper[k2, k1] += v1 * q[f]
        for i in range(n_keep):
            for j in range(i + 1, n_keep):
                upper[j, i] = upper[i, j]
        return upper

    gram_pairs = _nb_gram_pairs
    sweep_step, dual_from_vertex = _nb_sweep_step, _nb_dual_from_vertex
    vertex_system, offdiag_apply, vertex_out, edge_S = _nb_vertex_system, _nb_offdiag_apply, _nb_vertex_out, _nb_edge_S
    max_F, predecessor_sum, lower_bound_sum = _nb_max_F, _nb_predecessor_sum, _nb_lower_bound_sum
    edge_values, block_apply, dense_block = _nb_edge_values, _nb_block_apply, _nb_dense_block
else:  # pragma: no cover - exercised only without numba
    sweep_step, dual_from_vertex, gram_pairs = _np_sweep_step, _np_dual_from_vertex, _np_gram_pairs
    vertex_system, offdiag_apply, vertex_out, edge_S = _np_vertex_system, _np_offdiag_apply, _np_vertex_out, _np_edge_S
    max_F, predecessor_sum, lower_bound_sum = _np_max_F, _np_predecessor_sum, _np_lower_bound_sum
    edge_values, block_apply, dense_block = _np_edge_values, _np_block_apply, _np_dense_block
