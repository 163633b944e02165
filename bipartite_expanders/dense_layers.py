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
>>> facts = dense_layer_facts(np.ones((3, 4), dtype=np.float32), weighted=False)
>>> facts.counts_left.tolist(), facts.connected, round(facts.cover_free[0], 6)
([4, 4, 4], True, 4.146264)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .solvers.block import host_float64, is_torch_tensor

__all__ = ["DenseLayerFacts", "dense_operand", "dense_layer_facts", "is_dense_layer", "DENSE_PATH_FROM_ENTRIES",
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


def dense_operand(x: Any, weighted: bool | None) -> tuple[Any, bool]:
    """The non-negative operand of a dense layer and whether it is weighted.

    ``weighted`` True keeps the values (which must be finite and non-negative: pass ``abs(W)``
    for a signed weight, as for every graph of this package), False their 0/1 pattern, None
    keeps values unless they are all 0 or 1. float16 / bfloat16 / integer inputs become
    float32 (one layer at a time), float32 and float64 stay as they are.

    >>> import numpy as np
    >>> A, w = dense_operand(np.array([[0, 2.5], [1, 0]]), None); A.dtype, w
    (dtype('float64'), True)
    """
    if is_torch_tensor(x):
        import torch  # only reached with a tensor

        t = x.detach()
        if t.dtype == torch.bool or not (t.is_floating_point() or t.dtype in (torch.int8, torch.uint8, torch.int16,
                                                                             torch.int32, torch.int64)):
            t = t.to(torch.float32)
        if t.dtype not in (torch.float32, torch.float64):
            t = t.to(torch.float32)
        if not bool(torch.isfinite(t).all()):
            raise ValueError("x has non-finite entries (NaN or inf)")
        if bool((t < 0).any()):
            raise ValueError("x has negative entries; edge weights must be non-negative "
                             "(pass absolute values, e.g. abs(W), for a signed weight matrix)")
        if weighted is None:
            weighted = bool(((t != 0) & (t != 1)).any())
        return (t if weighted else (t != 0).to(torch.float32)), bool(weighted)
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real matrix; got dtype {arr.dtype}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("x has non-finite entries (NaN or inf)")
    if arr.size and arr.min() < 0:
        raise ValueError("x has negative entries; edge weights must be non-negative "
                         "(pass absolute values, e.g. abs(W), for a signed weight matrix)")
    if weighted is None:
        weighted = bool(np.any((arr != 0) & (arr != 1)))
    return (arr if weighted else (arr != 0).astype(np.float32)), bool(weighted)


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


def _sum(A: Any, axis: int) -> np.ndarray:
    if is_torch_tensor(A):
        import torch

        return A.sum(dim=axis, dtype=torch.float64).cpu().numpy()
    return A.sum(axis=axis, dtype=np.float64)


def _count(A: Any, axis: int) -> np.ndarray:
    if is_torch_tensor(A):
        return (A != 0).sum(dim=axis).cpu().numpy().astype(np.int64)
    return np.count_nonzero(A, axis=axis).astype(np.int64)


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
        r = host_float64(A.T @ _like(x, ref)) > 0
        y = (r | reached_r).astype(np.float64)
        left = host_float64(A @ _like(y, ref)) > 0
        left |= reached_l
        r |= reached_r
        if left.sum() == reached_l.sum() and r.sum() == reached_r.sum():
            return bool(left.sum() == live_l.sum() and r.sum() == live_r.sum())
        reached_l, reached_r = left, r


def _like(x: np.ndarray, ref: Any) -> Any:
    if is_torch_tensor(ref):
        import torch

        return torch.from_numpy(x).to(device=ref.device, dtype=ref.dtype)
    return x.astype(ref.dtype)


def dense_layer_facts(A: Any, weighted: bool) -> DenseLayerFacts:
    """The facts of a non-negative dense operand (from :func:`dense_operand`).

    The cover bracket is that of :func:`~bipartite_expanders.cover.cover_bracket_free` on the
    non-isolated vertices: the edge-average lower bound, raised to Hoory's for an unweighted
    connected layer of minimum degree >= 2, and for an unweighted layer with a cycle the
    upper bound ``max_{uv} sqrt(d_u - 1) + sqrt(d_v - 1)``.
    """
    cl, cr = _count(A, 1), _count(A, 0)
    wl, wr = (_sum(A, 1), _sum(A, 0)) if weighted else (cl.astype(float), cr.astype(float))
    E = int(cl.sum())
    live_l, live_r = cl > 0, cr > 0
    connected = E > 0 and _reach(A, live_l, live_r)
    peak = float(host_float64(A.max().reshape(1, 1))[0, 0]) if E else 0.0
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
                    ref_sv = _like(sv, A)
                    row_best = host_float64(((A != 0) * ref_sv[None, :]).max(1)[0] if is_torch_tensor(A)
                                            else ((A != 0) * ref_sv[None, :]).max(axis=1)).ravel()
                    best = float((su[live_l] + row_best[live_l]).max())
                upper = best * (1 + slack)
    return DenseLayerFacts(cl, cr, wl, wr, E, bool(connected), (float(lower), float(upper)), peak)
