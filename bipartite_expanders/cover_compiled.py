"""The universal-cover loops of :mod:`bipartite_expanders.cover_kernels`, compiled by numba.

Imported on first use only (numba's import costs ~0.4 s); ``cache=True`` keeps the machine code
on disk (beside the package, or in the user's cache directory when that is read-only), so only a
fresh environment pays the compile. Each function has the signature and the result of its numpy
version in :mod:`~bipartite_expanders.cover_kernels`, which the tests compare it with.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)

@_jit
def vertex_system(a, b, c, g, z, n):
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
def offdiag_apply(a, b, jab, jba, v, n):
    out = np.zeros(n)
    for k in range(a.size):
        out[a[k]] += jab[k] * v[b[k]]
        out[b[k]] += jba[k] * v[a[k]]
    return out

@_jit
def vertex_out(a, b, c, x, n):
    E = a.size
    V = np.zeros(n)
    for k in range(E):
        V[a[k]] += c[k] * x[k]
        V[b[k]] += c[k] * x[k + E]
    return V

@_jit
def edge_S(a, b, c, x, n):
    E = a.size
    V = vertex_out(a, b, c, x, n)
    out = np.empty(2 * E)
    for k in range(E):
        out[k] = V[b[k]] - c[k] * x[k + E]
        out[k + E] = V[a[k]] - c[k] * x[k]
    return out

@_jit
def max_F(a, b, c, x, n):
    E = a.size
    V = vertex_out(a, b, c, x, n)
    best = -np.inf
    for k in range(E):
        f1 = 1.0 / x[k] + V[b[k]] - c[k] * x[k + E]
        f2 = 1.0 / x[k + E] + V[a[k]] - c[k] * x[k]
        best = max(best, f1, f2)
    return best

@_jit
def predecessor_sum(a, b, p, n):
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
def lower_bound_sum(a, b, w, p, n):
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
def edge_values(a, b, c, g):
    E = a.size
    out = np.empty(2 * E)
    for k in range(E):
        gu, gv = g[a[k]], g[b[k]]
        s = 2.0 / (1.0 + np.sqrt(1.0 + 4.0 * c[k] * gu * gv))
        out[k] = gv * s
        out[k + E] = gu * s
    return out

@_jit
def block_apply(rows, cols, vals, v, n_rows):
    out = np.zeros(n_rows)
    for k in range(rows.size):
        out[rows[k]] += vals[k] * v[cols[k]]
    return out

@_jit
def dense_block(rows, cols, vals, n_rows, n_cols):
    out = np.zeros((n_rows, n_cols))
    for k in range(rows.size):
        out[rows[k], cols[k]] += vals[k]
    return out

@_jit
def sweep_step(a, b, c, x, z, n):
    E = a.size
    V = vertex_out(a, b, c, x, n)
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
def dual_from_vertex(a, b, c, x, h):
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
def gram_pairs(ptr, order, rows, q, s, n_keep):
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
