"""Reading and writing bipartite graphs: MatrixMarket ``.mtx``, scipy ``.npz``, numpy
``.npy`` (dense), ``.csv`` / ``.tsv`` bi-adjacency edge lists (``row, col[, weight]``, an
optional header line) and graph edge lists over one vertex numbering (``edgelist``: networkx's
``write_edgelist`` / ``write_weighted_edgelist``). See docs/graphs.md.

A square matrix that is symmetric (a ``symmetric`` MatrixMarket banner, or a square
pattern-symmetric one) is a graph's adjacency matrix, as SuiteSparse and networkx write graphs:
it is 2-coloured (:mod:`bipartite_expanders.bipartition`) into the bipartite graph it is, with a
:class:`GraphFileNote` saying so, or refused when it is not bipartite. ``matrix="biadjacency"``
reads it as rows x columns instead. Text files may be gzip-compressed (``.csv.gz``).

Every file is sized before anything is allocated for it: the shape a header, an array
header or an edge list implies is checked against ``max_vertices`` (by default what the
available memory holds, :func:`default_max_vertices`), and a dense file's or an entry list's
byte estimate against the available memory. Every error is a :class:`GraphFileError` naming
the file and, for text formats, the line.
"""

from __future__ import annotations

import array
import ast
import gzip
import math
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse as sp

from .bipartition import biadjacency
from .files import atomic_writer
from .graph import DUPLICATE_POLICIES, BipartiteGraph
from .memory import available_memory

__all__ = [
    "GraphFileError",
    "GraphFileNote",
    "load_graph",
    "save_graph",
    "FORMATS",
    "MATRIX_KINDS",
    "BIADJACENCY_COMMENT",
    "example_path",
    "available_memory",
    "default_max_vertices",
    "BYTES_PER_VERTEX",
    "BYTES_PER_EDGE",
]

#: ``edgelist`` is a graph's edge list over one vertex numbering (2-coloured); ``adjacency`` a
#: matrix file (.mtx, .npz, .npy by its extension) read as a graph's adjacency matrix
FORMATS = ("mtx", "npz", "npy", "csv", "tsv", "edgelist", "adjacency")
#: file name suffix -> format (``.gz`` is looked through)
_SUFFIXES = {"mtx": "mtx", "npz": "npz", "npy": "npy", "csv": "csv", "tsv": "tsv", "edgelist": "edgelist",
             "edges": "edgelist"}
#: how a matrix file is read: ``auto`` (adjacency when square and symmetric), or forced
MATRIX_KINDS = ("auto", "biadjacency", "adjacency")
#: the comment :func:`save_graph` writes into a .mtx file: it is read back as rows x columns
BIADJACENCY_COMMENT = "bipartite-expanders: bi-adjacency matrix (rows: left vertices, columns: right vertices)"

#: memory an analysis holds per vertex: index pointers, degree counts, component labels and
#: the Krylov basis of the eigensolvers (up to ~100 vectors of 8 bytes), rounded up
BYTES_PER_VERTEX = 1024
#: memory per stored entry while a file is read and analysed: the COO triplets read, the CSR
#: copy, its transpose and the float64 weights (about 5 x 8 bytes), rounded up
BYTES_PER_EDGE = 64


class GraphFileError(ValueError):
    """A graph file is missing, empty, malformed or too large; the message names the file."""


class GraphFileNote(UserWarning):
    """How a file was read when it could have been read otherwise (an adjacency matrix 2-coloured,
    a 1-based index detected); the ``analyze`` command prints it on stderr."""


def default_max_vertices() -> int:
    """The default ``max_vertices`` of :func:`load_graph`: ``available_memory() / BYTES_PER_VERTEX``
    (at least 1,000,000, so a nearly full machine still reads an ordinary layer)."""
    return max(available_memory() // BYTES_PER_VERTEX, 1_000_000)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def _check_size(where: str, shape: tuple[int, int], max_vertices: int, *, entries: int | None = None,
                dense: bool = False) -> None:
    """Refuse a shape (and a count of stored entries, or a dense array) too large to analyse."""
    m, n = shape
    if m < 0 or n < 0:
        raise GraphFileError(f"{where}: negative shape {m} x {n}")
    vertices = m + n
    estimate = BYTES_PER_VERTEX * vertices + BYTES_PER_EDGE * (entries or 0) + (8 * m * n if dense else 0)
    if vertices > max_vertices:
        raise GraphFileError(
            f"{where}: shape {m} x {n} has {vertices:,} vertices, more than max_vertices={max_vertices:,} "
            f"(estimated {_gib(estimate)} to analyse; available {_gib(available_memory())}); "
            "pass max_vertices= (--max-vertices) to raise the limit"
        )
    if (dense or entries) and estimate > available_memory():
        what = f"a dense {m} x {n} array" if dense else f"{entries:,} entries"
        raise GraphFileError(
            f"{where}: {what} needs an estimated {_gib(estimate)}, more than the {_gib(available_memory())} "
            "of memory available"
        )


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "gz" and len(path.suffixes) >= 2:
        suffix = path.suffixes[-2].lower().lstrip(".")
    return suffix


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}; got {fmt!r}")
        return fmt
    suffix = _suffix(path)
    if suffix not in _SUFFIXES:
        raise GraphFileError(f"{path}: unknown file type {path.suffix!r}; expected one of "
                             f"{', '.join('.' + f for f in _SUFFIXES)}, or pass format= (--format)")
    return _SUFFIXES[suffix]


def _open_text(path: Path) -> Any:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


# ------------------------------------------------------------------ edge lists
# Python's int() and float() accept "1_0" (= 10) and surrounding spaces; a data file's numbers
# are plain decimals, so they are matched first
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NONFINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def _is_number(text: str) -> bool:
    return bool(_DECIMAL.fullmatch(text) or _NONFINITE.fullmatch(text))


def _index(text: str) -> int:
    """A vertex index: an integer, or a decimal with an integral value (``"3.0"``)."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if not _DECIMAL.fullmatch(text):
        raise ValueError(text)
    v = float(text)
    if not (math.isfinite(v) and v == math.floor(v) and abs(v) < 2**53):
        raise ValueError(text)
    return int(v)


def _weight(text: str) -> float:
    """An edge weight: a decimal (or inf/nan, refused later as non-finite); a nonzero decimal
    that underflows to 0.0 (``1e-400``) is refused, since a zero weight means no edge."""
    if _NONFINITE.fullmatch(text):
        return float(text)
    if not _DECIMAL.fullmatch(text):
        raise ValueError(text)
    v = float(text)
    mantissa = re.split(r"[eE]", text)[0]
    if v == 0.0 and any(ch in "123456789" for ch in mantissa):
        raise OverflowError(text)
    return v


def _split_fields(text: str, delimiter: str) -> list[str]:
    """The fields of an edge-list line: split at ``delimiter`` when the line holds one, else at
    whitespace (networkx's default); a networkx data dictionary (``{'weight': 2.0}``) is one field."""
    head, brace, tail = text.partition("{")
    fields = head.split(delimiter) if delimiter in head else head.split()
    fields = [f.strip() for f in fields]
    if fields and fields[-1] == "" and (brace or delimiter in head):
        fields.pop()  # a trailing delimiter before the dictionary
    if brace:
        fields.append(brace + tail)
    return fields


def _dict_weight(text: str) -> float:
    """The ``weight`` of a networkx edge-data dictionary (1.0 when it has none); parsed as a
    Python literal (``ast.literal_eval``: data, never code)."""
    if len(text) > 10_000:
        raise ValueError("edge data longer than 10,000 characters")
    data = ast.literal_eval(text)
    if not isinstance(data, dict):
        raise ValueError("edge data is not a dictionary")
    w = data.get("weight", 1.0)
    if isinstance(w, bool) or not isinstance(w, (int, float)):
        raise ValueError(f"weight {w!r} is not a number")
    return float(w)


def _index_base(path: Path, rows: np.ndarray, cols: np.ndarray, index_base: int | None, shape_known: bool,
                what: str) -> int:
    """The index base of an edge list: given, 0 when the size is fixed (a ``# shape`` comment or
    ``shape=``), else 1 when no index 0 appears (a note says so), else 0."""
    if index_base is not None:
        return index_base
    if shape_known:
        return 0
    low = int(min(rows.min(), cols.min()))
    if low == 1:
        warnings.warn(f"{path}: no {what} index is 0: read as 1-based (pass index_base=0, --index-base 0, to read it "
                      "0-based with an isolated vertex 0)", GraphFileNote, stacklevel=4)
        return 1
    return 0


def _read_edge_list(path: Path, delimiter: str, shape: tuple[int, int] | None, header: bool | None,
                    duplicates: str, max_vertices: int, index_base: int | None, one_numbering: bool) -> BipartiteGraph:
    """Parse ``u<delim>v[<delim>weight]`` lines into compact arrays, checking each line (and the
    size it implies) before storing it, so every error names its line. ``one_numbering``: the
    two indices number the vertices of one graph (``edgelist``), which is then 2-coloured;
    otherwise they are a row (left vertex) and a column (right vertex)."""
    rows, cols, lines = array.array("q"), array.array("q"), array.array("q")
    weights = array.array("d")
    shape_line = 0
    seen_data = False
    low = 0 if index_base is None else index_base
    sep = "TAB" if delimiter == "\t" else repr(delimiter)
    fields_are = "u, v[, weight]" if one_numbering else "row, col[, weight]"
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(("#", "%")):
                words = text.lstrip("#").split()
                if shape is None and not seen_data and len(words) == 3 and words[0] == "shape":  # save_graph's
                    try:
                        shape = (int(words[1]), int(words[2]))
                    except ValueError:
                        raise GraphFileError(f"{path}:{lineno}: malformed shape comment {text!r}") from None
                    _check_size(f"{path}:{lineno}", shape, max_vertices)
                    shape_line = lineno
                continue
            parts = _split_fields(text, delimiter)
            first = not seen_data
            seen_data = True
            if first and (header is True or (header is None and not any(_is_number(p) for p in parts))):
                continue  # a header line: forced, or no field of it is a number
            if len(parts) not in (2, 3):
                raise GraphFileError(
                    f"{path}:{lineno}: expected 2 or 3 fields separated by {sep} or whitespace ({fields_are}); "
                    f"got {len(parts)} in {text!r}"
                )
            try:
                r, c = _index(parts[0]), _index(parts[1])
            except ValueError:
                hint = " (a header line? pass header=True / --header)" if first and header is not False else ""
                raise GraphFileError(f"{path}:{lineno}: expected integer vertex indices; got {text!r}{hint}") from None
            try:
                if len(parts) < 3:
                    w = 1.0
                elif parts[2].startswith("{"):
                    w = _dict_weight(parts[2])
                else:
                    w = _weight(parts[2])
            except OverflowError:
                raise GraphFileError(f"{path}:{lineno}: the weight {parts[2]!r} underflows to 0.0 in float64, which "
                                     "would drop the edge; rescale the weights") from None
            except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError) as exc:
                raise GraphFileError(f"{path}:{lineno}: the weight {parts[2]!r} is not a number ({exc})") from None
            if r < low or c < low:
                what = "negative vertex index" if min(r, c) < 0 else "vertex index below 1"
                base = "1-based (index_base=1)" if low == 1 else "0-based"
                raise GraphFileError(f"{path}:{lineno}: {what} in {text!r}; indices are {base}")
            if not math.isfinite(w):
                raise GraphFileError(f"{path}:{lineno}: the weight {parts[2]!r} is not finite; weights must be finite")
            if w < 0:
                raise GraphFileError(
                    f"{path}:{lineno}: negative weight {w!r}; edge weights must be non-negative "
                    "(write absolute values, e.g. abs(W), for a signed weight matrix)"
                )
            if one_numbering and r == c:
                raise GraphFileError(f"{path}:{lineno}: self-loop at vertex {r}: a bipartite graph has none")
            if shape is not None and (r - low >= shape[0] or c - low >= shape[1]):
                raise GraphFileError(
                    f"{path}:{lineno}: edge ({r}, {c}) lies outside the shape {shape[0]} x {shape[1]}"
                    + (f" given at line {shape_line}" if shape_line else "")
                )
            if r + c + 2 > max_vertices * (2 if one_numbering else 1):
                _check_size(f"{path}:{lineno}", (r + 1, c + 1) if not one_numbering else (max(r, c) + 1, 0),
                            max_vertices)
            rows.append(r); cols.append(c); weights.append(w); lines.append(lineno)
    if not rows:
        raise GraphFileError(f"{path}: no edges found (empty edge list)")
    r_arr, c_arr = np.frombuffer(rows, dtype=np.int64), np.frombuffer(cols, dtype=np.int64)
    base = _index_base(path, r_arr, c_arr, index_base, shape is not None, "vertex" if one_numbering else "row or column")
    if base:
        r_arr, c_arr = r_arr - base, c_arr - base
    if one_numbering:
        n = int(max(r_arr.max(), c_arr.max())) + 1
        _check_size(str(path), (n, 0), max_vertices, entries=2 * r_arr.size)
        # an undirected edge: (u, v) and (v, u) are the same edge
        r_arr, c_arr = np.minimum(r_arr, c_arr), np.maximum(r_arr, c_arr)
        shp = (n, n)
    else:
        shp = shape if shape is not None else (int(r_arr.max()) + 1, int(c_arr.max()) + 1)
        _check_size(str(path), shp, max_vertices, entries=r_arr.size)
    if duplicates == "error":
        key = r_arr * shp[1] + c_arr
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            first_at, again_at = lines[int(order[dup[0]])], lines[int(order[dup[0] + 1])]
            i, j = int(r_arr[order[dup[0]]]) + base, int(c_arr[order[dup[0]]]) + base
            raise GraphFileError(
                f"{path}:{again_at}: duplicate edge ({i}, {j}), first at line "
                f"{first_at} ({dup.size} repeated edge{'s' if dup.size > 1 else ''} in all); combine repeats with "
                "--duplicates sum|max|last (duplicates= in load_graph)"
            )
    try:
        graph = BipartiteGraph.from_edges(np.column_stack([r_arr, c_arr]), shp, weights=np.frombuffer(weights),
                                          duplicates=duplicates)
        if not one_numbering:
            return graph
        upper = graph.matrix
        return _two_coloured(path, upper + upper.T, "edge list")
    except GraphFileError:
        raise
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{path}: {exc}") from None


def _two_coloured(path: Path, adjacency: Any, what: str) -> BipartiteGraph:
    """The bipartite graph of a graph's adjacency matrix, with a note saying how it was read."""
    try:
        graph = biadjacency(adjacency)
    except ValueError as exc:
        raise GraphFileError(f"{path}: read as a graph's {what} ({adjacency.shape[0]} vertices): {exc}; pass "
                             "matrix='biadjacency' (--matrix biadjacency) to read a matrix as rows x columns") from None
    warnings.warn(f"{path}: read as a graph's {what} on {adjacency.shape[0]} vertices and 2-coloured into a "
                  f"{graph.n_left} x {graph.n_right} bipartite graph (left: the side of each component's "
                  "lowest-numbered vertex)", GraphFileNote, stacklevel=4)
    return graph


# ------------------------------------------------------------------ MatrixMarket
def _mtx_size_line(path: Path) -> tuple[int, bool]:
    """Line number of a MatrixMarket file's size line (the first after the banner and comments),
    and whether a comment says the matrix is a bi-adjacency matrix (:data:`BIADJACENCY_COMMENT`)."""
    opener: Any = gzip.open if path.suffix.lower() == ".gz" else open
    marked = False
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno > 1 and line.lstrip().startswith("%"):
                marked = marked or BIADJACENCY_COMMENT in line
            elif lineno > 1 and line.strip():
                return lineno, marked
    return 1, marked


def _is_adjacency(matrix: Any, symmetry: str, marked: bool, kind: str) -> bool:
    """Whether a matrix file is read as a graph's adjacency matrix (see :func:`load_graph`)."""
    if kind != "auto":
        return kind == "adjacency"
    if marked or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        return False
    if symmetry != "general":
        return True
    a = sp.csr_array(matrix)
    pattern = (a != 0).astype(np.int8)
    return (pattern - pattern.T).count_nonzero() == 0


def _read_mtx(path: Path, max_vertices: int) -> tuple[Any, str, bool]:
    """The matrix of a MatrixMarket file, its symmetry and whether it is marked bi-adjacency."""
    size_line, marked = _mtx_size_line(path)
    try:
        m, n, entries, layout, field, symmetry = scipy.io.mminfo(str(path))
    except Exception as exc:  # a malformed banner or size line
        raise GraphFileError(f"{path}: cannot read as .mtx: {exc}") from None  # the reader names the line
    if field == "complex":
        raise GraphFileError(f"{path}:1: complex entries; edge weights must be real")
    dense = layout == "array"
    stored = int(entries) * (2 if symmetry != "general" else 1)
    _check_size(f"{path}:{size_line}", (int(m), int(n)), max_vertices, entries=None if dense else stored, dense=dense)
    data = scipy.io.mmread(str(path))
    if not sp.issparse(data):
        return np.asarray(data), symmetry, marked
    coo = sp.coo_array(data)
    bad = ~np.isfinite(coo.data) | (coo.data < 0) if coo.data.dtype.kind == "f" else coo.data < 0
    if bad.any():
        k = int(np.argmax(bad))
        what = "a non-finite" if not np.isfinite(coo.data[k]) else "a negative"
        # in a general coordinate file the k-th entry is the k-th line after the size line
        at = f"{path}:{size_line + 1 + k}" if symmetry == "general" else str(path)
        raise GraphFileError(
            f"{at}: entry ({int(coo.row[k]) + 1}, {int(coo.col[k]) + 1}) has {what} weight {float(coo.data[k])!r}; "
            "edge weights must be finite and non-negative (write abs(W) for a signed matrix)"
        )
    return coo, symmetry, marked


# ------------------------------------------------------------------ numpy files
def _npy_shape(fh: Any) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(fh)
    return tuple(int(s) for s in shape), dtype


def _check_dense_header(where: str, shape: tuple[int, ...], max_vertices: int) -> None:
    if len(shape) == 2:
        _check_size(where, (shape[0], shape[1]), max_vertices, dense=True)


def _npz_headers(zf: zipfile.ZipFile, path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of every array in a ``.npz``, read from the ``.npy`` headers of the
    zip members (a few hundred bytes each) before any array's data is read, so a small file
    that decompresses to gigabytes is refused before it is inflated."""
    headers = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise GraphFileError(f"{path}: member {info.filename!r} is not a .npy array")
        with zf.open(info) as member:
            shape, dtype = _npy_shape(member)
        if dtype.hasobject:
            raise GraphFileError(f"{path}: member {info.filename!r} holds Python objects (dtype {dtype}); "
                                 "object arrays are never read (they would be unpickled)")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if info.file_size < declared:
            raise GraphFileError(f"{path}: member {info.filename!r} declares {shape} of {dtype} "
                                 f"({declared:,} bytes) but holds {info.file_size:,}")
        headers[info.filename[:-4]] = (shape, dtype)
    return headers


def _read_npz(path: Path, max_vertices: int) -> Any:
    with zipfile.ZipFile(path) as zf:
        headers = _npz_headers(zf, path)
        if "shape" in headers and "format" in headers:  # written by scipy.sparse.save_npz
            shape_shape, shape_dtype = headers["shape"]
            if shape_shape != (2,) or shape_dtype.kind not in "iu":
                raise GraphFileError(f"{path}: shape.npy must hold two integers; got {shape_shape} of {shape_dtype}")
            entries = max((int(np.prod(headers[k][0], dtype=object)) for k in ("data", "indices", "row", "col")
                           if k in headers), default=0)
            total = sum(int(np.prod(s, dtype=object)) * d.itemsize for s, d in headers.values())
            if total > available_memory():
                raise GraphFileError(f"{path}: its arrays hold {_gib(total)}, more than the "
                                     f"{_gib(available_memory())} of memory available")
            with np.load(path, allow_pickle=False) as z:  # only the 2-entry shape array is read here
                shape = tuple(int(s) for s in np.asarray(z["shape"]).ravel()[:2])
            _check_size(str(path), shape, max_vertices, entries=entries)  # type: ignore[arg-type]
            if shape[0] >= 0 and shape[1] >= 0 and entries > shape[0] * shape[1]:
                raise GraphFileError(f"{path}: {entries:,} stored entries for a {shape[0]} x {shape[1]} matrix "
                                     f"(at most {shape[0] * shape[1]:,} can be distinct)")
            return sp.load_npz(path)
        if len(headers) != 1:
            raise GraphFileError(f"{path}: not a scipy.sparse .npz and not a single-array numpy .npz")
        (shape_, _), = headers.values()
        _check_dense_header(str(path), shape_, max_vertices)
    with np.load(path, allow_pickle=False) as z:
        return z[z.files[0]]


def _read_npy(path: Path, max_vertices: int) -> Any:
    with open(path, "rb") as fh:
        shape, _ = _npy_shape(fh)
    _check_dense_header(str(path), shape, max_vertices)
    return np.load(path, allow_pickle=False)


def load_graph(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    shape: tuple[int, int] | None = None,
    header: bool | None = None,
    duplicates: str = "error",
    max_vertices: int | None = None,
    index_base: int | None = None,
    matrix: str = "auto",
) -> BipartiteGraph:
    """Read a bipartite graph from a file; the format comes from the extension unless given.

    Parameters
    ----------
    path, format
        The file, and one of :data:`FORMATS` (default: its extension, ``.edgelist`` and
        ``.edges`` for ``edgelist``; ``.gz`` is looked through). ``csv`` and ``tsv`` are
        bi-adjacency edge lists (``row, col[, weight]``); ``edgelist`` is a graph's edge list over
        one vertex numbering (``u v [weight | {'weight': w}]``, networkx's ``write_edgelist`` and
        ``write_weighted_edgelist``), 2-coloured into its two sides; ``adjacency`` reads a matrix
        file (by its extension) as a graph's adjacency matrix. Edge-list fields are separated
        by the format's delimiter or, on a line without it, by whitespace; ``#`` and ``%``
        lines are comments.
    shape
        Fixes the size of a bi-adjacency edge list (otherwise a ``# shape m n`` comment, else
        the largest indices + 1).
    header
        Edge lists only: None (default) skips the first line when none of its fields is a
        number (``row,col,weight``); True always skips it; False never does.
    duplicates
        Edge lists only: what a repeated ``(row, col)`` means: ``"error"`` (default), ``"sum"``,
        ``"max"`` or ``"last"`` (see :meth:`BipartiteGraph.from_edges`). Other formats follow
        scipy and sum duplicate entries.
    max_vertices
        Refuse a file whose shape has more vertices (``n_left + n_right``) before allocating
        anything for it; default :func:`default_max_vertices` (the available memory over
        :data:`BYTES_PER_VERTEX`).
    index_base
        Edge lists only: 0 or 1, the first vertex's index. None (default): 0 when the size is
        fixed (``shape``, a ``# shape`` comment), else 1 when no index is 0 (a
        :class:`GraphFileNote` says so), else 0. An index below the base is an error.
    matrix
        Matrix files (.mtx, .npz, .npy): ``"auto"`` (default) reads a square matrix stored
        ``symmetric`` in MatrixMarket, or square and pattern-symmetric, as a graph's adjacency
        matrix and 2-colours it (:mod:`bipartite_expanders.bipartition`; a
        :class:`GraphFileNote` says so; a graph with an odd cycle is refused), unless the file
        carries :data:`BIADJACENCY_COMMENT` (:func:`save_graph` writes it); npz and npy files
        are bi-adjacency matrices. ``"biadjacency"`` and ``"adjacency"`` force one reading.

    Raises :class:`GraphFileError` (a ``ValueError``) naming the file, and for text formats
    the line, on any problem.

    >>> g = load_graph(example_path())
    >>> g.shape
    (784, 300)
    """
    if header not in (None, True, False):
        raise TypeError(f"header must be None, True or False; got {header!r}")
    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}; got {duplicates!r}")
    if index_base is not None and (isinstance(index_base, bool) or index_base not in (0, 1)):
        raise ValueError(f"index_base must be None, 0 or 1; got {index_base!r}")
    if matrix not in MATRIX_KINDS:
        raise ValueError(f"matrix must be one of {MATRIX_KINDS}; got {matrix!r}")
    if max_vertices is None:
        max_vertices = default_max_vertices()
    elif isinstance(max_vertices, bool) or not isinstance(max_vertices, (int, np.integer)) or max_vertices < 2:
        raise ValueError(f"max_vertices must be an integer >= 2; got {max_vertices!r}")
    p = Path(path)
    if not p.exists():
        raise GraphFileError(f"{p}: no such file")
    if p.is_dir():
        raise GraphFileError(f"{p}: is a directory, not a graph file")
    if p.stat().st_size == 0:
        raise GraphFileError(f"{p}: file is empty")
    fmt = _format_of(p, format)
    kind = matrix
    if fmt == "adjacency":
        if matrix == "biadjacency":
            raise ValueError("format='adjacency' reads an adjacency matrix; it contradicts matrix='biadjacency'")
        kind = "adjacency"
        fmt = _SUFFIXES.get(_suffix(p), "")
        if fmt not in ("mtx", "npz", "npy"):
            raise GraphFileError(f"{p}: format 'adjacency' reads a matrix file (.mtx, .npz, .npy); got {p.suffix!r}")
    symmetry, marked = "general", False
    try:
        if fmt == "mtx":
            data, symmetry, marked = _read_mtx(p, int(max_vertices))
        elif fmt == "npz":
            data = _read_npz(p, int(max_vertices))
        elif fmt == "npy":
            data = _read_npy(p, int(max_vertices))
        else:
            delimiter = {"csv": ",", "tsv": "\t", "edgelist": ","}[fmt]
            return _read_edge_list(p, delimiter, shape, header, duplicates, int(max_vertices), index_base,
                                   one_numbering=fmt == "edgelist")
    except GraphFileError:
        raise
    except UnicodeDecodeError as exc:
        raise GraphFileError(f"{p}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except Exception as exc:  # scipy/numpy parse errors come in many types
        raise GraphFileError(f"{p}: cannot read as .{fmt}: {exc}") from None
    if fmt != "mtx" and kind == "auto":
        kind = "biadjacency"  # an .npz / .npy array carries no symmetry: read as stored
    try:
        if _is_adjacency(data, symmetry, marked, kind):
            return _two_coloured(p, data, "adjacency matrix")
        return BipartiteGraph(data)
    except GraphFileError:
        raise
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{p}: {exc}") from None


def save_graph(graph: BipartiteGraph, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write a graph atomically (:func:`bipartite_expanders.files.atomic_writer`). Returns the path."""
    if not isinstance(graph, BipartiteGraph):
        raise TypeError(f"graph must be a BipartiteGraph; got {type(graph).__name__}")
    p = Path(path)
    fmt = _format_of(p, format)
    if fmt in ("edgelist", "adjacency"):
        raise ValueError(f"save_graph writes bi-adjacency formats (mtx, npz, npy, csv, tsv); got {fmt!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        coo = graph.matrix.tocoo()
        with atomic_writer(p, "w") as fh:
            fh.write(f"# shape {graph.n_left} {graph.n_right}\n")
            for r, c, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
                fh.write(f"{r}{sep}{c}{sep}{w!r}\n")
        return p
    with atomic_writer(p, "wb") as fh:
        if fmt == "mtx":  # general + the comment: read back as rows x columns even when square and symmetric
            scipy.io.mmwrite(fh, sp.coo_matrix(graph.matrix), comment=BIADJACENCY_COMMENT, symmetry="general")
        elif fmt == "npz":
            sp.save_npz(fh, sp.csr_matrix(graph.matrix))
        else:
            np.save(fh, graph.toarray())
    return p


def example_path(name: str = "lenet_fc1_mask") -> Path:
    """Path of an example graph shipped with the package.

    ``lenet_fc1_mask`` is a 784 x 300 0/1 mask at 10% density, the shape of LeNet-300-100's
    first layer after ten rounds of 20% pruning, drawn at random (seed 0).
    """
    p = Path(__file__).parent / "data" / f"{name}.npz"
    if not p.exists():
        available = sorted(q.stem for q in p.parent.glob("*.npz"))
        raise ValueError(f"no example named {name!r}; available: {available}")
    return p
