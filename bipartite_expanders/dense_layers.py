"""A dense layer as a graph without building one: the degree, component and cover-bracket
facts a Ramanujan report needs, read straight off a dense array or torch tensor.

A pruned LLM layer at 50 % density stores more bytes as CSR (12 per entry) than as a dense
float32 array (4 per entry over all positions), and converting it costs more than the solve
(issue 23). This module keeps it dense: the non-negative operand (``|W|`` or the 0/1 pattern,
float32, float64 kept as it is), its degrees, whether its non-isolated part is connected (a
breadth-first search by products: a dense layer's diameter is 2 or 3), and the free bracket on
the universal cover's radius (the same O(E) certificates as
:func:`~bipartite_expanders.cover.cover_bracket_free`). numpy arrays and torch tensors (any
device) are both accepted; nothing here imports torch unless a tensor is passed.

>>> import numpy as np
>>> facts = dense_layer_facts(np.ones((3, 4), dtype=np.float32), weighted=None)
>>> facts.counts_left.tolist(), facts.connected, round(facts.cover_free[0], 6)
([4, 4, 4], True, 3.146264)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .solvers.block import host_float64, is_torch_tensor, like_operand, torch_module

__all__ = ["DenseLayerFacts", "dense_operand", "pattern_of", "dense_layer_facts", "is_dense_layer", "DENSE_PATH_FROM_ENTRIES",
           "DENSE_PATH_FROM_DENSITY"]

#: the dense path takes layers with at least this many entries (smaller ones solve in
#: milliseconds on the sparse path, whose answers are exact to 1e-8)...
DENSE_PATH_FROM_ENTRIES = 1_000_000
#: ...and at least this fraction of non-zero entries (below it CSR products move fewer bytes)
DENSE_PATH_FROM_DENSITY = 0.3
_EPS = float(np.finfo(float).eps)


def is_dense_layer(x: Any) -> bool:
    """Whether ``x`` is a dense 2-D numpy array or torch tensor (not a graph, not sparse)."""
    if sp.issparse(x):
        return False
    if is_torch_tensor(x):
        return x.ndim == 2 and not x.is_sparse
    return isinstance(x, np.ndarray) and x.ndim == 2


def dense_operand(x: Any) -> Any:
    """A dense layer as a float32 or float64 array / tensor (float16, bfloat16, integer and
    boolean inputs become float32, one layer at a time; float32 and float64 stay as they are).
    A CPU tensor becomes a numpy array (sharing its memory when no conversion was needed); a
    tensor on another device stays there.
    The values are checked by :func:`dense_layer_facts` (one pass for everything).

    >>> import numpy as np
    >>> dense_operand(np.array([[0, 2], [1, 0]], dtype=np.int8)).dtype
    dtype('float32')
    """
    if is_torch_tensor(x):
        torch = torch_module()  # only reached with a tensor
        t = x.detach()
        t = t if t.dtype in (torch.float32, torch.float64) else t.to(torch.float32)
        # on the CPU, numpy's BLAS runs the thin products several times faster than torch's
        # (measured: 4096 x 11008 float32 times 8 columns), and the memory is shared
        return t.numpy() if t.device.type == "cpu" else t
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real matrix; got dtype {arr.dtype}")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32)


def pattern_of(A: Any) -> Any:
    """The 0/1 pattern of a dense operand, float32."""
    if is_torch_tensor(A):
        return (A != 0).to(torch_module().float32)
    return (A != 0).astype(np.float32)


@dataclass(frozen=True)
class DenseLayerFacts:
    """Degrees (edge counts and weight sums per vertex), connectivity of the non-isolated
    vertices, and the free cover bracket ``(lower, upper)`` of that part (upper ``inf`` for a
    weighted layer: use ``t1``)."""

    counts_left: np.ndarray
    counts_right: np.ndarray
    weight_left: np.ndarray
    weight_right: np.ndarray
    n_edges: int
    connected: bool
    cover_free: tuple[float, float]
    max_weight: float
    #: ``||A||_F^2`` of the analysed values (weights, or the pattern: ``n_edges``)
    frobenius2: float
    #: whether every value is 0 or 1 (a mask)
    binary: bool


#: rows per chunk of the one pass over a layer: ~16 MB of float64 at a time
_CHUNK_BYTES = 16_000_000


def _scan(A: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, bool]:
    """One pass over ``A`` by row chunks upcast to float64: edge counts and weight sums of both
    sides, ``||A||_F^2``, the largest value, whether all values are 0/1; raises on NaN / inf /
    negative values."""
    m, n = A.shape
    rows = max(1, _CHUNK_BYTES // (8 * max(n, 1)))
    cl = np.zeros(m, dtype=np.int64)
    wl = np.zeros(m)
    cr = np.zeros(n, dtype=np.int64)
    wr = np.zeros(n)
    frob2, peak, lowest, binary = 0.0, 0.0, 0.0, True
    torch_in = is_torch_tensor(A)
    for i in range(0, m, rows):
        c = A[i:i + rows]
        c = c.to("cpu").double().numpy() if torch_in else np.asarray(c, dtype=np.float64)
        nz = c != 0
        cl[i:i + rows] = nz.sum(axis=1)
        cr += nz.sum(axis=0)
        wl[i:i + rows] = c.sum(axis=1)
        wr += c.sum(axis=0)
        frob2 += float(np.einsum("ij,ij->", c, c))
        if c.size:
            peak = max(peak, float(c.max()))
            lowest = min(lowest, float(c.min()))
            if binary and peak <= 1.0:
                binary = bool(np.all((c == 0) | (c == 1)))
            else:
                binary = False
    if not (math.isfinite(frob2) and math.isfinite(peak) and math.isfinite(lowest)) or np.isnan(wl).any():
        raise ValueError("x has non-finite entries (NaN or inf)")
    if lowest < 0:
        raise ValueError("x has negative entries; edge weights must be non-negative "
                         "(pass absolute values, e.g. abs(W), for a signed weight matrix)")
    return cl, cr, wl, wr, frob2, peak, binary


def _reach(A: Any, live_l: np.ndarray, live_r: np.ndarray) -> bool:
    """Whether the non-isolated vertices form one component: breadth-first search from the
    first live left vertex by products with the non-negative ``A`` (a positive entry of
    ``A^T x`` for an indicator ``x`` is an edge to a reached vertex)."""
    m, n = A.shape
    reached_l = np.zeros(m, dtype=bool)
    reached_r = np.zeros(n, dtype=bool)
    reached_l[int(np.flatnonzero(live_l)[0])] = True
    ref = A
    while True:
        x = reached_l.astype(np.float64)
        r = host_float64(A.T @ like_operand(x, ref)) > 0
        y = (r | reached_r).astype(np.float64)
        left = host_float64(A @ like_operand(y, ref)) > 0
        left |= reached_l
        r |= reached_r
        if left.sum() == reached_l.sum() and r.sum() == reached_r.sum():
            return bool(left.sum() == live_l.sum() and r.sum() == live_r.sum())
        reached_l, reached_r = left, r


def dense_layer_facts(A: Any, weighted: bool | None) -> DenseLayerFacts:
    """The facts of a dense operand (from :func:`dense_operand`), validated on the way: its
    entries must be finite and non-negative (pass ``abs(W)`` for a signed weight). ``weighted``
    False describes the 0/1 pattern, None the weights unless they are all 0 or 1.

    The cover bracket is that of :func:`~bipartite_expanders.cover.cover_bracket_free` on the
    non-isolated vertices: the edge-average lower bound, raised to Hoory's for an unweighted
    connected layer of minimum degree >= 2, and for an unweighted layer with a cycle the
    upper bound ``max_{uv} sqrt(d_u - 1) + sqrt(d_v - 1)``.
    """
    cl, cr, wl, wr, frob2, peak, binary = _scan(A)
    if weighted is None:
        weighted = not binary
    E = int(cl.sum())
    if not weighted:
        wl, wr, frob2, peak = cl.astype(float), cr.astype(float), float(E), 1.0 if E else 0.0
    live_l, live_r = cl > 0, cr > 0
    connected = E > 0 and _reach(A, live_l, live_r)
    lower, upper = 0.0, 0.0
    if E:
        dl, dr = cl.astype(float), cr.astype(float)
        su = np.sqrt(np.maximum(dl - 1.0, 0.0))
        sv = np.sqrt(np.maximum(dr - 1.0, 0.0))
        slack = 8.0 * _EPS * (2.0 + max(dl.max(), dr.max()))
        lower = float(su @ wl + sv @ wr) / E * (1 - slack)
        upper = math.inf
        nl, nr = int(live_l.sum()), int(live_r.sum())
        if not weighted and connected:
            if dl[live_l].min() >= 2 and dr[live_r].min() >= 2:
                lower = max(lower, (math.sqrt(E / nl - 1.0) + math.sqrt(E / nr - 1.0)) * (1 - slack))
            if E >= nl + nr:  # a connected graph with a cycle
                u, v = int(np.argmax(su)), int(np.argmax(sv))
                if float(host_float64(A[u:u + 1, v:v + 1])[0, 0]) != 0:
                    best = su[u] + sv[v]
                else:  # the largest terms do not meet on an edge: max over each row's edges
                    ref_sv = like_operand(sv, A)
                    row_best = host_float64(((A != 0) * ref_sv[None, :]).max(1)[0] if is_torch_tensor(A)
                                            else ((A != 0) * ref_sv[None, :]).max(axis=1)).ravel()
                    best = float((su[live_l] + row_best[live_l]).max())
                upper = best * (1 + slack)
    return DenseLayerFacts(cl, cr, wl, wr, E, bool(connected), (float(lower), float(upper)), peak, frob2, binary)
