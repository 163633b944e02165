"""The bipartite graph value type.

A :class:`BipartiteGraph` wraps a validated, canonical CSR ``float64`` bi-adjacency
matrix ``B`` of shape ``(n_left, n_right)``: rows are left vertices, columns right
vertices, and a stored (non-zero) entry ``B[i, j] = w > 0`` is an edge of weight ``w``.
Zero means "no edge": explicit zeros are dropped on construction.

Duplicate entries follow scipy's own convention in :meth:`BipartiteGraph.from_sparse`
(they are summed, as every scipy arithmetic operation would); :meth:`BipartiteGraph.from_edges`
refuses them by default (``duplicates="error"``) because a repeated edge in an edge list is
almost always a mistake, and offers ``"sum"``, ``"max"`` and ``"last"`` when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from .memory import INDEX_BYTES_CHECKED_FROM, available_memory

__all__ = ["BipartiteGraph", "as_graph", "checked_csr", "check_compressed", "DUPLICATE_POLICIES"]

#: what a repeated edge of an edge list means (:meth:`BipartiteGraph.from_edges`)
DUPLICATE_POLICIES = ("error", "sum", "max", "last")

T = TypeVar("T")


def _check_values(data: np.ndarray, name: str) -> np.ndarray:
    """Validate edge values: real, finite, non-negative. Returns a float64 array."""
    if data.dtype == object or data.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, int or float); got dtype {data.dtype}"
        )
    values = np.asarray(data, dtype=np.float64)
    if values.size:
        if not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise ValueError(f"{name} has {bad} non-finite entr{'y' if bad == 1 else 'ies'} (NaN or inf); weights must be finite")
        if values.min() < 0:
            raise ValueError(
                f"{name} has negative entries; edge weights must be non-negative "
                "(pass absolute values, e.g. abs(W), for a signed weight matrix)"
            )
    return values


def _check_index_array(arr: Any, name: str) -> np.ndarray:
    """A 1-D signed or unsigned integer array (the caller's, not cast); comparisons on it must
    not subtract (``np.diff`` of an unsigned array wraps instead of going negative)."""
    if isinstance(arr, np.ndarray):
        a = arr
    else:
        try:
            a = np.asarray(arr)
        except Exception as exc:  # ragged lists, exotic objects
            raise TypeError(f"{name} must be a 1-D integer array: {exc}") from None
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array; got dtype {a.dtype}, shape {a.shape}")
    return a


def _as_int64(a: np.ndarray) -> np.ndarray:
    """A checked index array (every value in [0, 2**63)) as the int64 scipy's kernels expect
    (a copy; an unsigned or narrow array handed to scipy reaches C++ code that aborts on it)."""
    return np.array(a, dtype=np.int64)


def _check_value_dtype(data: np.ndarray, name: str) -> None:
    if data.dtype == object or data.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers (bool, int or float); got dtype {data.dtype}")


def check_compressed(matrix: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """indptr / indices / data of a CSR, CSC or BSR matrix, checked the way scipy's
    ``check_format(full_check=True)`` does, but without touching (casting) the caller's arrays;
    ``ValueError`` / ``TypeError`` naming ``name`` otherwise (the compiled kernels, which index
    without bounds checks, rely on it)."""
    fmt = matrix.format
    m, n = matrix.shape
    data = np.asarray(matrix.data)
    _check_value_dtype(data, name)
    if fmt != "bsr" and data.ndim != 1:
        raise ValueError(f"{name}.data must be 1-D for a {fmt.upper()} matrix; got shape {data.shape}")
    indptr = _check_index_array(matrix.indptr, f"{name}.indptr")
    indices = _check_index_array(matrix.indices, f"{name}.indices")
    if fmt == "bsr":
        if data.ndim != 3:
            raise ValueError(f"{name}.data must be 3-D (blocks) for a BSR matrix; got shape {data.shape}")
        r, c = data.shape[1:]
        if r < 1 or c < 1 or m % r or n % c:
            raise ValueError(f"{name}: block size {(r, c)} does not divide the shape {(m, n)}")
        major, minor = m // r, n // c
    else:
        major, minor = (m, n) if fmt == "csr" else (n, m)
    if indptr.size != major + 1:
        raise ValueError(f"{name}.indptr must have length {major + 1}; got {indptr.size}")
    if indptr[0] != 0:
        raise ValueError(f"{name}.indptr must start at 0; got {indptr[0]}")
    # compared, not subtracted: np.diff of an unsigned indptr wraps and never goes negative
    if indptr.size > 1 and np.any(indptr[1:] < indptr[:-1]):
        raise ValueError(f"{name}.indptr must be non-decreasing")
    nnz = int(indptr[-1])
    if nnz > indices.size or nnz > data.shape[0]:
        raise ValueError(f"{name}: indptr ends at {nnz} but indices has {indices.size} and data {data.shape[0]} entries")
    used = indices[:nnz]
    if used.size and (used.min() < 0 or used.max() >= minor):
        raise ValueError(f"{name}.indices must lie in [0, {minor}); got min {used.min()}, max {used.max()}")
    return indptr[: major + 1], used, data[:nnz]


def _check_coordinates(row: Any, col: Any, data: np.ndarray, shape: tuple[int, int], name: str) -> tuple[np.ndarray, np.ndarray]:
    r = _check_index_array(row, f"{name}.row")
    c = _check_index_array(col, f"{name}.col")
    if not (r.size == c.size == data.shape[0]) or data.ndim != 1:
        raise ValueError(f"{name}: row, col and data must be 1-D of one length; got {r.size}, {c.size} and shape {data.shape}")
    for idx, size, side in ((r, shape[0], "row"), (c, shape[1], "col")):
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            raise ValueError(f"{name}.{side} indices must lie in [0, {size}); got min {idx.min()}, max {idx.max()}")
    return r, c


def _integer_entries(values: list[Any], name: str) -> np.ndarray:
    """Python-level indices (LIL rows, DOK keys) as an integer array, each one checked to be
    an integer: scipy would read ``1.7`` as 1 and ``"2"`` as 2."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    bad = next((v for v in values if isinstance(v, bool) or not isinstance(v, (int, np.integer))), None)
    if bad is not None:
        raise TypeError(f"{name} must hold integer indices; got {bad!r} ({type(bad).__name__})")
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        raise ValueError(f"{name} holds an index outside the int64 range") from None


def _lil_coordinates(matrix: Any, shape: tuple[int, int], name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = shape[0]
    rows, vals = matrix.rows, matrix.data
    try:
        ok = len(rows) == m and len(vals) == m and all(
            isinstance(a, list) and isinstance(b, list) and len(a) == len(b) for a, b in zip(rows, vals))
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: a LIL matrix needs {m} rows of index and data lists of equal lengths")
    counts = [len(a) for a in rows]
    cols = _integer_entries([j for a in rows for j in a], f"{name}.rows")
    flat = [v for b in vals for v in b]
    try:
        data = np.asarray(flat) if flat else np.zeros(0)
    except Exception as exc:
        raise TypeError(f"{name}.data must hold real numbers: {exc}") from None
    return np.repeat(np.arange(m), counts), cols, data.reshape(-1) if data.ndim else data


def _dok_coordinates(matrix: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # read the dict itself: scipy's tocoo() drops a key out of range (and casts silently)
    items = list(matrix.items())
    keys = [k for k, _ in items]
    bad = next((k for k in keys if not isinstance(k, tuple) or len(k) != 2), None)
    if bad is not None:
        raise ValueError(f"{name}: a DOK key must be a (row, col) pair; got {bad!r}")
    row = _integer_entries([k[0] for k in keys], f"{name} keys (row)")
    col = _integer_entries([k[1] for k in keys], f"{name} keys (col)")
    values = [v for _, v in items]
    try:
        data = np.asarray(values) if values else np.zeros(0)
    except Exception as exc:
        raise TypeError(f"{name} values must be real numbers: {exc}") from None
    return row, col, data


def _dia_coordinates(matrix: Any, shape: tuple[int, int], name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of a DIA matrix, computed here: scipy's conversion wraps an offset such as
    2**62 in index arithmetic (a diagonal far outside becomes the main one)."""
    m, n = shape
    offsets = _check_index_array(matrix.offsets, f"{name}.offsets")
    data = np.asarray(matrix.data)
    _check_value_dtype(data, name)
    if data.ndim != 2 or data.shape[0] != offsets.size:
        raise ValueError(f"{name}.data must be 2-D with one row per offset ({offsets.size}); got shape {data.shape}")
    ks = [int(k) for k in offsets]  # Python integers: no wrap-around
    outside = [k for k in ks if not -m < k < n]
    if outside:
        raise ValueError(f"{name}.offsets: diagonal {outside[0]} lies outside a {m} x {n} matrix "
                         f"(offsets must lie in ({-m}, {n}))")
    if len(set(ks)) != len(ks):
        raise ValueError(f"{name}.offsets must not repeat a diagonal")
    rows, cols, vals = [], [], []
    width = min(data.shape[1], n)
    for d, k in enumerate(ks):
        j = np.arange(max(k, 0), min(width, m + k), dtype=np.int64)  # A[j - k, j] = data[d, j]
        keep = data[d, j] != 0  # scipy's conversion leaves out the stored zeros too
        rows.append(j[keep] - k); cols.append(j[keep]); vals.append(data[d, j][keep])
    if not ks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, data.dtype)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def checked_csr(matrix: Any, name: str = "matrix", *, allow_empty: bool = False, edge_weights: bool = False) -> sp.csr_array:
    """A fresh CSR ``float64`` copy of any scipy sparse matrix, its structure checked first.

    Index arrays are checked (lengths, ``indptr`` monotone, every index in range) before any
    of scipy's compiled kernels reads them: a malformed matrix raises a ``ValueError`` naming
    ``name`` instead of corrupting memory. Values are converted to ``float64`` *before*
    duplicate entries are summed, so integer inputs cannot wrap (three ``int8`` 100s give
    300). ``edge_weights=True`` also requires every stored value, and every sum of
    duplicates, to be finite and non-negative (as edge weights must be); otherwise values
    are not checked. ``allow_empty`` admits a 0 x n or m x 0 shape.

    >>> import numpy as np, scipy.sparse as sp
    >>> bad = sp.csr_array((np.ones(3), np.array([1, 2, 3]), np.array([0, 1, 2, 3])), shape=(3, 3))
    >>> checked_csr(bad, "W")
    Traceback (most recent call last):
    ...
    ValueError: W.indices must lie in [0, 3); got min 1, max 3
    >>> int8 = sp.coo_array((np.array([100, 100, 100], dtype=np.int8), ([0, 0, 0], [0, 0, 0])), shape=(1, 1))
    >>> checked_csr(int8).toarray()
    array([[300.]])
    """
    if not sp.issparse(matrix):
        raise TypeError(f"{name} must be a scipy.sparse matrix or array; got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got {matrix.ndim}-D")
    m, n = _check_shape(matrix.shape, f"{name}.shape", allow_empty=allow_empty)
    fmt = matrix.format
    if fmt in ("csr", "csc", "bsr"):
        indptr, indices, data = check_compressed(matrix, name)
        values = data.astype(np.float64)
        if edge_weights:
            _check_values(values, name)
        if fmt == "bsr":
            r, c = values.shape[1:]
            src: Any = sp.bsr_array((values, _as_int64(indices), _as_int64(indptr)), shape=(m, n), blocksize=(r, c))
        else:
            kind = sp.csr_array if fmt == "csr" else sp.csc_array
            src = kind((values, _as_int64(indices), _as_int64(indptr)), shape=(m, n))
        csr = sp.csr_array(src)
    else:
        if fmt == "coo":
            coords = getattr(matrix, "coords", None)
            row, col = (coords if coords is not None and len(coords) == 2 else (matrix.row, matrix.col))
            data = np.asarray(matrix.data)
        elif fmt == "lil":
            row, col, data = _lil_coordinates(matrix, (m, n), name)
        elif fmt == "dok":
            row, col, data = _dok_coordinates(matrix, name)
        elif fmt == "dia":
            row, col, data = _dia_coordinates(matrix, (m, n), name)
        else:
            raise TypeError(f"{name}: unsupported sparse format {fmt!r}")
        _check_value_dtype(data, name)
        r, c = _check_coordinates(row, col, data, (m, n), name)
        values = data.astype(np.float64)
        if edge_weights:
            _check_values(values, name)
        csr = sp.csr_array((values, (_as_int64(r), _as_int64(c))), shape=(m, n))
    csr.sum_duplicates()
    if edge_weights and csr.nnz and not np.all(np.isfinite(csr.data)):
        raise ValueError(f"{name} has duplicate entries whose sum overflows to inf; weights must be finite")
    return csr


def _check_shape(shape: Any, name: str = "shape", *, allow_empty: bool = False) -> tuple[int, int]:
    try:
        m, n = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of integers (n_left, n_right); got {shape!r}") from None
    low = 0 if allow_empty else 1
    if m < low or n < low:
        raise ValueError(f"{name} must be at least {(low, low)}; got {(m, n)}")
    # a graph holds index pointers for both sides (8 bytes per vertex): refuse a shape whose
    # pointers alone exceed the memory, instead of numpy's MemoryError deep inside scipy
    need = 8 * (m + n + 2)
    if need >= INDEX_BYTES_CHECKED_FROM:
        free = available_memory()
        if need > free:
            raise ValueError(f"{name} {(m, n)} needs {need / 2**30:.3g} GiB for its index pointers alone, more "
                             f"than the {free / 2**30:.3g} GiB of memory available")
    return m, n


def _freeze(matrix: sp.csr_array) -> sp.csr_array:
    for arr in (matrix.data, matrix.indices, matrix.indptr):
        arr.flags.writeable = False
    return matrix


class BipartiteGraph:
    """An immutable bipartite graph over a sparse bi-adjacency matrix.

    Parameters
    ----------
    matrix
        Anything :func:`scipy.sparse.csr_array` accepts, or a dense array-like, of shape
        ``(n_left, n_right)``. Entries must be finite and non-negative; zero is no edge.

    Examples
    --------
    >>> import numpy as np
    >>> from bipartite_expanders import BipartiteGraph
    >>> g = BipartiteGraph.from_dense(np.ones((2, 3)))
    >>> g.shape, g.n_edges, g.is_weighted
    ((2, 3), 6, False)
    """

    # _structure caches facts that depend only on the edge set (degree counts, components):
    # the value is immutable, so they are computed once and shared with pattern() and scaled();
    # other modules reach it through cached() and remember().
    __slots__ = ("_matrix", "_weighted", "_structure")

    def __init__(self, matrix: Any):
        if isinstance(matrix, BipartiteGraph):
            self._matrix = matrix._matrix
            self._weighted = matrix._weighted
            self._structure = matrix._structure
            return
        self._structure: dict[str, Any] = {}
        if sp.issparse(matrix):
            csr = self._canonical_from_sparse(matrix)
        else:
            csr = self._canonical_from_dense(matrix)
        self._matrix = _freeze(csr)
        self._weighted = bool(csr.nnz and np.any(csr.data != 1.0))

    # ---------------------------------------------------------------- validation
    @staticmethod
    def _canonical_from_sparse(matrix: Any, name: str = "matrix") -> sp.csr_array:
        if matrix.ndim != 2:
            raise ValueError(f"{name} must be 2-D; got {matrix.ndim}-D")
        # structure first (no compiled kernel reads a malformed index), then values in
        # float64, summed (scipy's convention: duplicate entries add up) without wrapping
        csr = checked_csr(matrix, name, edge_weights=True)
        csr.eliminate_zeros()
        csr.sort_indices()
        return csr

    @staticmethod
    def _canonical_from_dense(array: Any, name: str = "array") -> sp.csr_array:
        try:
            dense = np.asarray(array)
        except Exception as exc:  # ragged nested lists, exotic objects
            raise TypeError(f"{name} must be array-like: {exc}") from None
        if dense.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_left, n_right); got shape {dense.shape}")
        _check_shape(dense.shape, f"{name}.shape")
        values = _check_values(dense, name)
        return BipartiteGraph._canonical_from_sparse(sp.csr_array(values), name)

    # -------------------------------------------------------------- constructors
    @classmethod
    def from_dense(cls, array: Any) -> BipartiteGraph:
        """Build from a dense 2-D array; non-zero entries are edges.

        >>> BipartiteGraph.from_dense([[1, 0], [2, 3]]).n_edges
        3
        """
        return cls(cls._canonical_from_dense(array))

    @classmethod
    def from_sparse(cls, matrix: Any) -> BipartiteGraph:
        """Build from any scipy sparse matrix or array (duplicate entries are summed).

        >>> import scipy.sparse as sp
        >>> BipartiteGraph.from_sparse(sp.eye(3)).n_edges
        3
        """
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy.sparse matrix or array; got {type(matrix).__name__}")
        return cls(matrix)

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[Sequence[int]] | np.ndarray,
        shape: tuple[int, int],
        weights: Iterable[float] | np.ndarray | None = None,
        *,
        duplicates: str = "error",
    ) -> BipartiteGraph:
        """Build from an edge list of ``(left, right)`` index pairs (0-based).

        ``duplicates`` says what a repeated pair means: ``"error"`` (default) raises,
        ``"sum"`` adds the weights, ``"max"`` keeps the largest, ``"last"`` keeps the last.
        Zero weights are dropped (zero means no edge).

        >>> g = BipartiteGraph.from_edges([(0, 0), (1, 2)], shape=(2, 3), weights=[0.5, 2.0])
        >>> g.n_edges, g.is_weighted
        (2, True)
        """
        m, n = _check_shape(shape)
        if duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}; got {duplicates!r}")
        arr = np.asarray(list(edges) if not isinstance(edges, np.ndarray) else edges)
        if arr.size == 0:
            arr = arr.reshape(0, 2)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"edges must be a sequence of (left, right) pairs; got array of shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError("edges must hold integer vertex indices")
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "iu":
            raise TypeError(f"edges must hold integer vertex indices; got dtype {arr.dtype}")
        rows, cols = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= m):
            raise ValueError(f"edges: left index out of range [0, {m}) (min {rows.min()}, max {rows.max()})")
        if cols.size and (cols.min() < 0 or cols.max() >= n):
            raise ValueError(f"edges: right index out of range [0, {n}) (min {cols.min()}, max {cols.max()})")
        if weights is None:
            w = np.ones(rows.size)
        else:
            w = _check_values(np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights), "weights")
            if w.shape != (rows.size,):
                raise ValueError(f"weights must have one value per edge ({rows.size}); got shape {w.shape}")
        key = rows * n + cols
        order = np.argsort(key, kind="stable")
        key, rows, cols, w = key[order], rows[order], cols[order], w[order]
        dup = np.zeros(key.size, dtype=bool)
        dup[1:] = key[1:] == key[:-1]
        if dup.any():
            if duplicates == "error":
                i = int(np.argmax(dup))
                raise ValueError(
                    f"edges contains duplicate edge ({rows[i]}, {cols[i]}) ({int(dup.sum())} repeats); "
                    "pass duplicates='sum', 'max' or 'last' to combine them"
                )
            starts = np.flatnonzero(~dup)
            if duplicates == "sum":
                w = np.add.reduceat(w, starts)
            elif duplicates == "max":
                w = np.maximum.reduceat(w, starts)
            else:  # last in the given order: the stable sort keeps it last in its run
                ends = np.append(starts[1:], key.size) - 1
                w = w[ends]
            rows, cols = rows[starts], cols[starts]
        return cls(sp.csr_array((w, (rows, cols)), shape=(m, n)))

    @classmethod
    def from_networkx(cls, G: Any, left: Iterable[Any] | None = None, *, weight: str | None = "weight") -> BipartiteGraph:
        """Build from a networkx graph.

        ``left`` lists the left vertices; when None, nodes with attribute ``bipartite == 0``
        are left and the rest right (networkx's bipartite convention). Vertex order follows
        ``G.nodes``. Edge weights come from attribute ``weight`` (1 where absent; ``weight=None``
        ignores weights).

        >>> import networkx as nx
        >>> BipartiteGraph.from_networkx(nx.complete_bipartite_graph(2, 3)).shape
        (2, 3)
        """
        import networkx as nx

        if not isinstance(G, nx.Graph):
            raise TypeError(f"G must be a networkx graph; got {type(G).__name__}")
        if G.is_directed() or G.is_multigraph():
            raise TypeError("G must be an undirected simple nx.Graph (not directed, not a multigraph)")
        nodes = list(G.nodes)
        if left is None:
            missing = [v for v in nodes if "bipartite" not in G.nodes[v]]
            if missing:
                raise ValueError(
                    f"G: node {missing[0]!r} has no 'bipartite' attribute; set it (0 = left, 1 = right) or pass left="
                )
            left_set = {v for v in nodes if G.nodes[v]["bipartite"] == 0}
        else:
            left_set = set(left)
            unknown = left_set.difference(G.nodes)
            if unknown:
                raise ValueError(f"left names nodes not in G: {sorted(map(repr, unknown))[:5]}")
        lefts = [v for v in nodes if v in left_set]
        rights = [v for v in nodes if v not in left_set]
        if not lefts or not rights:
            raise ValueError(f"G must have vertices on both sides; got {len(lefts)} left and {len(rights)} right")
        li = {v: i for i, v in enumerate(lefts)}
        ri = {v: j for j, v in enumerate(rights)}
        rows, cols, ws = [], [], []
        for u, v, data in G.edges(data=True):
            if u in li and v in ri:
                rows.append(li[u]); cols.append(ri[v])
            elif v in li and u in ri:
                rows.append(li[v]); cols.append(ri[u])
            else:
                raise ValueError(f"G is not bipartite under the given sides: edge ({u!r}, {v!r}) joins one side to itself")
            ws.append(1.0 if weight is None else data.get(weight, 1.0))
        return cls.from_edges(np.array([rows, cols], dtype=np.int64).T.reshape(-1, 2), (len(lefts), len(rights)),
                              weights=np.asarray(ws, dtype=np.float64))

    @classmethod
    def from_igraph(cls, G: Any, *, types: str = "type", weight: str | None = "weight") -> BipartiteGraph:
        """Build from a python-igraph graph whose vertex attribute ``type`` is False (left) / True (right).

        Edge weights come from edge attribute ``weight`` when present.
        """
        try:
            import igraph
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ImportError("from_igraph needs python-igraph: pip install 'bipartite-expanders[igraph]'") from exc
        if not isinstance(G, igraph.Graph):
            raise TypeError(f"G must be an igraph.Graph; got {type(G).__name__}")
        if types not in G.vs.attributes():
            raise ValueError(f"G has no vertex attribute {types!r} (False = left, True = right)")
        if G.is_directed():
            raise TypeError("G must be undirected")
        kinds = np.asarray([bool(t) for t in G.vs[types]])
        left_ids = np.flatnonzero(~kinds)
        right_ids = np.flatnonzero(kinds)
        if left_ids.size == 0 or right_ids.size == 0:
            raise ValueError("G must have vertices on both sides")
        pos = np.empty(kinds.size, dtype=np.int64)
        pos[left_ids] = np.arange(left_ids.size)
        pos[right_ids] = np.arange(right_ids.size)
        el = np.asarray(G.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        a, b = el[:, 0], el[:, 1]
        if np.any(kinds[a] == kinds[b]):
            raise ValueError("G is not bipartite under its vertex types: an edge joins one side to itself")
        lv = np.where(kinds[a], b, a)
        rv = np.where(kinds[a], a, b)
        w = None
        if weight is not None and weight in G.es.attributes():
            w = np.asarray(G.es[weight], dtype=np.float64)
        return cls.from_edges(np.column_stack([pos[lv], pos[rv]]), (left_ids.size, right_ids.size), weights=w)

    # --------------------------------------------------------------- converters
    def to_networkx(self) -> Any:
        """Return an ``nx.Graph``: left vertices ``0..m-1`` (``bipartite=0``), right ``m..m+n-1``
        (``bipartite=1``), edge attribute ``weight``.
        """
        import networkx as nx

        m, n = self.shape
        G = nx.Graph()
        G.add_nodes_from(range(m), bipartite=0)
        G.add_nodes_from(range(m, m + n), bipartite=1)
        coo = self._matrix.tocoo()
        G.add_weighted_edges_from(zip(coo.row.tolist(), (coo.col + m).tolist(), coo.data.tolist()))
        return G

    def to_igraph(self) -> Any:
        """Return an ``igraph.Graph`` with vertex attribute ``type`` (False = left) and edge ``weight``."""
        import igraph

        m, n = self.shape
        coo = self._matrix.tocoo()
        G = igraph.Graph.Bipartite([False] * m + [True] * n, list(zip(coo.row.tolist(), (coo.col + m).tolist())))
        G.es["weight"] = coo.data.tolist()
        return G

    # --------------------------------------------------------------- properties
    @property
    def matrix(self) -> sp.csr_array:
        """The canonical CSR float64 bi-adjacency matrix (read-only arrays)."""
        return self._matrix

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(s) for s in self._matrix.shape)  # type: ignore[return-value]

    @property
    def n_left(self) -> int:
        return int(self._matrix.shape[0])

    @property
    def n_right(self) -> int:
        return int(self._matrix.shape[1])

    @property
    def n_edges(self) -> int:
        return int(self._matrix.nnz)

    @property
    def density(self) -> float:
        """Edges over possible edges, ``n_edges / (n_left * n_right)``."""
        return self.n_edges / (self.n_left * self.n_right)

    @property
    def is_weighted(self) -> bool:
        """True when some edge weight differs from 1."""
        return self._weighted

    def pattern(self) -> BipartiteGraph:
        """The unweighted (0/1) graph on the same edges."""
        if not self._weighted:
            return self
        m = self._matrix
        # the index arrays are read-only, so the pattern shares them (and the structure cache)
        csr = sp.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape, copy=False)
        csr.has_canonical_format = True
        g = BipartiteGraph._trusted(csr, False, canonical=True)
        g._structure = self._structure
        return g

    def transpose(self) -> BipartiteGraph:
        """Swap the sides: right vertices become left."""
        return BipartiteGraph._trusted(sp.csr_array(self._matrix.T.tocsr(), copy=True), self._weighted)

    @property
    def T(self) -> BipartiteGraph:
        return self.transpose()

    def subgraph(self, rows: Any = None, cols: Any = None) -> BipartiteGraph:
        """The induced subgraph on the given left ``rows`` and right ``cols``.

        Each is an index array (kept in the given order), a boolean mask, or None for all.

        >>> BipartiteGraph.from_dense([[1, 1], [0, 1]]).subgraph([1], None).n_edges
        1
        """
        r = self._select(rows, self.n_left, "rows")
        c = self._select(cols, self.n_right, "cols")
        if r.size == 0 or c.size == 0:
            raise ValueError(f"subgraph must keep at least one vertex per side; got {r.size} rows and {c.size} cols")
        sub = self._matrix[r][:, c]
        return BipartiteGraph._trusted(sp.csr_array(sub), bool(sub.nnz and np.any(sub.data != 1.0)))

    @staticmethod
    def _select(index: Any, size: int, name: str) -> np.ndarray:
        if index is None:
            return np.arange(size)
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (size,):
                raise ValueError(f"{name} as a boolean mask must have length {size}; got shape {idx.shape}")
            return np.flatnonzero(idx)
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise TypeError(f"{name} must be a 1-D integer index array or boolean mask")
        if idx.min() < -size or idx.max() >= size:
            raise ValueError(f"{name} has an index out of range for {size} vertices")
        return np.where(idx < 0, idx + size, idx)

    @classmethod
    def _trusted(cls, csr: sp.csr_array, weighted: bool, *, canonical: bool = False) -> BipartiteGraph:
        """Wrap a CSR matrix of valid values without re-validating them (internal); takes
        ownership of its arrays. ``canonical=True``: the caller guarantees sorted indices,
        no duplicates and no explicit zeros (skips three passes over the edges)."""
        g = cls.__new__(cls)
        if not canonical:
            csr.sum_duplicates()
            csr.eliminate_zeros()
            csr.sort_indices()
        g._matrix = _freeze(csr)
        g._weighted = weighted
        g._structure = {}
        return g

    @classmethod
    def adopt_csr(cls, csr: sp.csr_array, name: str = "matrix", *, canonical: bool = False,
                  allow_empty: bool = False) -> BipartiteGraph:
        """A graph over a CSR ``float64`` matrix the caller built and hands over: nothing is
        copied (the package's modules and adapters build layer graphs of millions of edges).

        The structure (index ranges, ``indptr``) and the values are checked in a few O(E)
        passes, so a malformed matrix raises a ``ValueError`` naming ``name``. ``canonical=True``
        says the caller built it canonical (sorted indices, no duplicates, no explicit zeros);
        a claim that does not hold is repaired in place rather than trusted. ``allow_empty``
        admits a side without vertices (an edgeless graph's ``largest`` scope).

        >>> import numpy as np, scipy.sparse as sp
        >>> B = sp.csr_array((np.array([2.0, 1.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
        >>> BipartiteGraph.adopt_csr(B, canonical=True).is_weighted
        True
        """
        if not isinstance(csr, (sp.csr_array, sp.csr_matrix)):
            raise TypeError(f"{name} must be a scipy CSR array; got {type(csr).__name__}")
        m, n = _check_shape(csr.shape, f"{name}.shape", allow_empty=allow_empty)
        indptr, indices, data = check_compressed(csr, name)
        if indices.size != np.asarray(csr.indices).size or data.shape[0] != np.asarray(csr.data).shape[0]:
            raise ValueError(f"{name}: indices and data must have indptr[-1] = {indices.size} entries")
        data = _check_values(data, name)
        csr = sp.csr_array((data, indices, indptr), shape=(m, n), copy=False)
        if canonical:
            starts = np.zeros(indices.size, dtype=bool)
            starts[indptr[:-1][np.diff(indptr) > 0]] = True
            increasing = starts[1:] | (np.diff(indices) > 0)
            canonical = bool(np.all(increasing)) and not bool(np.any(data == 0))
        if canonical:
            csr.has_sorted_indices = True
            csr.has_canonical_format = True
        return cls._trusted(csr, bool(csr.nnz and np.any(csr.data != 1.0)), canonical=canonical)

    # ------------------------------------------------------ the structure cache
    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A fact about the edge set (degree counts, components), computed by ``compute()``
        once per graph value and shared with :meth:`pattern` and :meth:`scaled`, which have
        the same edges. The value is shared: make its arrays read-only.

        >>> import numpy as np
        >>> g = BipartiteGraph.from_dense(np.eye(2))
        >>> g.cached("n_rows", lambda: 2), g.cached("n_rows", lambda: 3)
        (2, 2)
        """
        if key not in self._structure:
            self._structure[key] = compute()
        return self._structure[key]

    def remember(self, key: str, value: Any) -> None:
        """Record a fact about the edge set known without computing it (a scope that is one
        component by construction); a fact already known is kept."""
        self._structure.setdefault(key, value)

    def scaled(self, exponent: int) -> BipartiteGraph:
        """The same edges with every weight times ``2**exponent``: exact, since only the
        exponents move (a weight that would underflow stays at the smallest positive double,
        so no edge is lost). Shares the index arrays and the structure cache.

        >>> BipartiteGraph.from_dense([[4.0, 0.0], [1.0, 2.0]]).scaled(-2).toarray()
        array([[1.  , 0.  ],
               [0.25, 0.5 ]])
        """
        if isinstance(exponent, bool) or not isinstance(exponent, (int, np.integer)):
            raise TypeError(f"exponent must be an integer; got {exponent!r}")
        if exponent == 0:
            return self
        m = self._matrix
        with np.errstate(over="ignore", under="ignore"):  # both are checked or repaired below
            data = np.ldexp(m.data, int(exponent))
        if exponent < 0:
            np.maximum(data, np.nextafter(0.0, 1.0), out=data)
        elif m.nnz and not np.all(np.isfinite(data)):
            raise ValueError(f"scaled: weights times 2**{exponent} overflow")
        csr = sp.csr_array((data, m.indices, m.indptr), shape=m.shape, copy=False)
        g = BipartiteGraph._trusted(csr, bool(csr.nnz and np.any(data != 1.0)), canonical=True)
        g._structure = self._structure
        return g

    def with_weights(self, weights: Any) -> BipartiteGraph:
        """The same edge set with new weights: a dense (n_left, n_right) array of which only
        entries on edges are read (zero there drops the edge)."""
        w = np.asarray(weights)
        if w.shape != self.shape:
            raise ValueError(f"weights must have shape {self.shape}; got {w.shape}")
        m = self._matrix
        rows = np.repeat(np.arange(self.n_left), np.diff(m.indptr))
        vals = _check_values(w[rows, m.indices], "weights")
        csr = sp.csr_array((vals, m.indices.copy(), m.indptr.copy()), shape=m.shape)
        return BipartiteGraph._trusted(csr, bool(csr.nnz and np.any(vals[vals != 0] != 1.0)))

    def toarray(self) -> np.ndarray:
        """Dense copy of the bi-adjacency matrix."""
        return self._matrix.toarray()

    # ---------------------------------------------------------------- dunders
    def __repr__(self) -> str:
        kind = "weighted" if self._weighted else "unweighted"
        return f"BipartiteGraph(shape={self.shape}, n_edges={self.n_edges}, {kind})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BipartiteGraph):
            return NotImplemented
        a, b = self._matrix, other._matrix
        return (
            a.shape == b.shape
            and a.nnz == b.nnz
            and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
        )

    __hash__ = None  # type: ignore[assignment]  # value equality over a large array: not hashable


def as_graph(x: Any, name: str = "graph") -> BipartiteGraph:
    """Coerce a graph, sparse matrix or dense array to :class:`BipartiteGraph` (validating it)."""
    if isinstance(x, BipartiteGraph):
        return x
    try:
        return BipartiteGraph(x)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
