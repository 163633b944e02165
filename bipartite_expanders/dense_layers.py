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

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .solvers.block import host_float64, is_column_major, is_torch_tensor, like_operand, torch_module

__all__ = ["DenseLayer", "DenseLayerFacts", "dense_operand", "pattern_of", "dense_layer_facts", "is_dense_layer",
           "DENSE_PATH_FROM_ENTRIES", "DENSE_PATH_FROM_DENSITY"]

#: the dense path takes layers with at least this many entries (smaller ones solve in
#: milliseconds on the sparse path, whose answers are exact to 1e-8)...
DENSE_PATH_FROM_ENTRIES = 1_000_000
#: ...and at least this fraction of non-zero entries (below it CSR products move fewer bytes)
DENSE_PATH_FROM_DENSITY = 0.3
_EPS = float(np.finfo(float).eps)


def is_dense_layer(x: Any) -> bool:
    """Whether ``x`` is a :class:`DenseLayer` or a dense 2-D numpy array or torch tensor (not a
    graph, not sparse)."""
    if isinstance(x, DenseLayer):
        return True
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


#: rows per chunk of the one pass over a layer: ~2 MB of float64 at a time (stays in cache)
_CHUNK_BYTES = 2_000_000


def _scan(A: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, bool]:
    """One pass over ``A`` by row chunks upcast to float64: edge counts and weight sums of both
    sides, ``||A||_F^2``, the largest value, whether all values are 0/1; raises on NaN / inf /
    negative values. The sums are matrix-vector products on a cache-sized float64 chunk and its
    0/1 indicator (exact counts; 1.6x the axis reductions they replace on a 4096 x 11008 layer)."""
    m, n = A.shape
    rows = max(1, min(m, _CHUNK_BYTES // (8 * max(n, 1))))
    cl = np.zeros(m, dtype=np.int64)
    wl = np.zeros(m)
    cr = np.zeros(n)
    wr = np.zeros(n)
    frob2, peak, lowest, binary = 0.0, 0.0, 0.0, True
    torch_in = is_torch_tensor(A)
    buf, ind = np.empty((rows, n)), np.empty((rows, n))
    ones_n, ones_r = np.ones(n), np.ones(rows)
    for i in range(0, m, rows):
        part = A[i:i + rows]
        c = buf[: part.shape[0]]
        np.copyto(c, part.to("cpu").double().numpy() if torch_in else part)
        z = ind[: c.shape[0]]
        np.not_equal(c, 0, out=z)
        o = ones_r[: c.shape[0]]
        cl[i:i + rows] = z @ ones_n
        cr += o @ z
        wl[i:i + rows] = c @ ones_n
        wr += o @ c
        frob2 += float(np.einsum("ij,ij->", c, c))
        if c.size:
            peak = max(peak, float(c.max()))
            lowest = min(lowest, float(c.min()))
            binary = binary and peak <= 1.0 and bool(np.array_equal(c, z))
    if not (math.isfinite(frob2) and math.isfinite(peak) and math.isfinite(lowest)) or np.isnan(wl).any():
        raise ValueError("x has non-finite entries (NaN or inf)")
    if lowest < 0:
        raise ValueError("x has negative entries; edge weights must be non-negative "
                         "(pass absolute values, e.g. abs(W), for a signed weight matrix)")
    return cl, cr.astype(np.int64), wl, wr, frob2, peak, binary


def _reach(A: Any, counts_left: np.ndarray) -> bool:
    """Whether the non-isolated vertices form one component: breadth-first search by products
    with the non-negative ``A`` (a positive entry of ``A x`` for an indicator ``x`` of reached
    right vertices marks the left vertices adjacent to them), from the neighbours of the live
    left vertex of largest degree. Once every live left vertex is reached, so is every live
    right vertex (each has an edge to a live left vertex): a dense layer, whose diameter is 2
    or 3, takes one product instead of a product per side and step."""
    m = A.shape[0]
    start = int(np.argmax(counts_left))
    reached_r = host_float64(A[start:start + 1]).ravel() > 0
    reached_l = np.zeros(m, dtype=bool)
    reached_l[start] = True
    ref = A
    total_l = int(np.count_nonzero(counts_left))
    while True:
        left = (host_float64(A @ like_operand(reached_r.astype(np.float64), ref)).ravel() > 0) | reached_l
        if int(left.sum()) == total_l:
            return True
        if int(left.sum()) == int(reached_l.sum()):
            return False
        reached_l = left
        right = (host_float64(A.T @ like_operand(reached_l.astype(np.float64), ref)).ravel() > 0) | reached_r
        if int(right.sum()) == int(reached_r.sum()):
            return False
        reached_r = right


def _take(A: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``A[rows][:, cols]`` as a float64 host array (numpy or torch ``A``)."""
    if is_torch_tensor(A):
        torch = torch_module()
        r = torch.as_tensor(rows, device=A.device)
        c = torch.as_tensor(cols, device=A.device)
        return host_float64(A.index_select(0, r).index_select(1, c))
    return np.asarray(A[np.ix_(rows, cols)], dtype=np.float64)


def _row_max_over_edges(A: Any, values: np.ndarray, rows_wanted: np.ndarray) -> np.ndarray:
    """``max_{v: A[u, v] != 0} values[v]`` for every wanted row ``u`` (``-inf`` elsewhere).
    Columns are visited in decreasing ``values``, a growing batch at a time, and a row is done
    at its first edge: on a dense layer the first batch settles nearly every row, so this reads
    a sliver of the matrix instead of building an m x n array."""
    m, n = A.shape
    order = np.argsort(-values, kind="stable")
    best = np.full(m, -np.inf)
    todo = np.flatnonzero(rows_wanted)
    start, batch = 0, 32
    while todo.size and start < n:
        cols = order[start:start + batch]
        hit = _take(A, todo, cols) != 0
        found = hit.any(axis=1)
        best[todo[found]] = values[cols[hit[found].argmax(axis=1)]]
        todo = todo[~found]
        start += batch
        batch *= 4
    return best


def _scan_layer(A: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, bool, bool]:
    """:func:`_scan` and the connectivity of the non-isolated part; a column-major ``A`` (a
    weight's ``W.T``) is read through its row-major transpose, the sides swapped back."""
    if is_column_major(A):
        cr, cl, wr, wl, frob2, peak, binary, connected = _scan_layer(A.T)
        return cl, cr, wl, wr, frob2, peak, binary, connected
    cl, cr, wl, wr, frob2, peak, binary = _scan(A)
    connected = bool(cl.any()) and _reach(A, cl)
    return cl, cr, wl, wr, frob2, peak, binary, connected


def dense_layer_facts(A: Any, weighted: bool | None) -> DenseLayerFacts:
    """The facts of a dense operand (from :func:`dense_operand`), validated on the way: its
    entries must be finite and non-negative (pass ``abs(W)`` for a signed weight). ``weighted``
    False describes the 0/1 pattern, None the weights unless they are all 0 or 1.

    The cover bracket is that of :func:`~bipartite_expanders.cover.cover_bracket_free` on the
    non-isolated vertices: the edge-average lower bound, raised to Hoory's for an unweighted
    connected layer of minimum degree >= 2, and for an unweighted layer with a cycle the
    upper bound ``max_{uv} sqrt(d_u - 1) + sqrt(d_v - 1)``.
    """
    return _facts(A, _scan_layer(A), weighted)


def _facts(A: Any, scanned: tuple[Any, ...], weighted: bool | None) -> DenseLayerFacts:
    cl, cr, wl, wr, frob2, peak, binary, connected = scanned
    if weighted is None:
        weighted = not binary
    E = int(cl.sum())
    if not weighted:
        wl, wr, frob2, peak = cl.astype(float), cr.astype(float), float(E), 1.0 if E else 0.0
    live_l, live_r = cl > 0, cr > 0
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
                    row_best = _row_max_over_edges(A, sv, live_l)
                    best = float((su[live_l] + row_best[live_l]).max())
                upper = best * (1 + slack)
    return DenseLayerFacts(cl, cr, wl, wr, E, bool(connected), (float(lower), float(upper)), peak, frob2, binary)


class DenseLayer:
    """A dense layer (array or tensor) as one value for several reports: its operand
    (:func:`dense_operand`) and the validating pass over it (degrees, weight sums, connectivity),
    done once and shared. The census reports a layer's mask and ``|W|`` from one such value
    when they have the same non-zero pattern, so the layer is read once for both.
    The values must not change while the value is in use.

    Examples
    --------
    >>> import numpy as np
    >>> from bipartite_expanders.dense_layers import DenseLayer
    >>> layer = DenseLayer(np.array([[1.0, 0.5], [0.0, 2.0]]))
    >>> layer.shape, layer.facts(False).counts_left.tolist(), layer.facts(True).weight_left.tolist()
    ((2, 2), [2, 1], [1.5, 2.0])
    """

    def __init__(self, x: Any) -> None:
        shared = isinstance(x, DenseLayer)
        self.operand = x.operand if shared else dense_operand(x)
        self._scanned: tuple[Any, ...] | None = x._scanned if shared else None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.operand.shape[0]), int(self.operand.shape[1]))

    @property
    def ndim(self) -> int:
        return 2

    def facts(self, weighted: bool | None) -> DenseLayerFacts:
        """:func:`dense_layer_facts` of the operand; the pass over it runs on the first call."""
        if self._scanned is None:
            self._scanned = _scan_layer(self.operand)
        return _facts(self.operand, self._scanned, weighted)

    def __repr__(self) -> str:
        return f"DenseLayer(shape={self.shape}, dtype={str(self.operand.dtype).replace('torch.', '')})"
