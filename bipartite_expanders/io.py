"""Reading and writing bipartite graphs: MatrixMarket ``.mtx``, scipy ``.npz``, numpy
``.npy`` (dense) and ``.csv`` / ``.tsv`` edge lists (``row, col[, weight]``, 0-based, an
optional header line). See docs/graphs.md.

Every file is sized before anything is allocated for it: the shape a header, an array
header or an edge list implies is checked against ``max_vertices`` (by default what the
available memory holds, :func:`default_max_vertices`), and a dense file's or an entry list's
byte estimate against the available memory. Every error is a :class:`GraphFileError` naming
the file and, for text formats, the line.
"""

from __future__ import annotations

import array
import gzip
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse as sp

from .files import atomic_writer
from .graph import DUPLICATE_POLICIES, BipartiteGraph
from .memory import available_memory

__all__ = [
    "GraphFileError",
    "load_graph",
    "save_graph",
    "FORMATS",
    "example_path",
    "available_memory",
    "default_max_vertices",
    "BYTES_PER_VERTEX",
    "BYTES_PER_EDGE",
]

FORMATS = ("mtx", "npz", "npy", "csv", "tsv")

#: memory an analysis holds per vertex: index pointers, degree counts, component labels and
#: the Krylov basis of the eigensolvers (up to ~100 vectors of 8 bytes), rounded up
BYTES_PER_VERTEX = 1024
#: memory per stored entry while a file is read and analysed: the COO triplets read, the CSR
#: copy, its transpose and the float64 weights (about 5 x 8 bytes), rounded up
BYTES_PER_EDGE = 64


class GraphFileError(ValueError):
    """A graph file is missing, empty, malformed or too large; the message names the file."""


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


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}; got {fmt!r}")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "gz" and len(path.suffixes) >= 2:
        suffix = path.suffixes[-2].lower().lstrip(".")
    if suffix not in FORMATS:
        raise GraphFileError(f"{path}: unknown file type {path.suffix!r}; expected one of {', '.join('.' + f for f in FORMATS)}")
    return suffix


# ------------------------------------------------------------------ edge lists
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _index(text: str) -> int:
    """A vertex index: an integer, or a float with an integral value (``"3.0"``)."""
    try:
        return int(text)
    except ValueError:
        pass
    v = float(text)  # ValueError: not a number
    if not (math.isfinite(v) and v == math.floor(v) and abs(v) < 2**53):
        raise ValueError(text)
    return int(v)


def _read_edge_list(path: Path, delimiter: str, shape: tuple[int, int] | None, header: bool | None,
                    duplicates: str, max_vertices: int) -> BipartiteGraph:
    """Parse ``row<delim>col[<delim>weight]`` lines into compact arrays, checking each line (and
    the size it implies) before storing it, so every error names its line."""
    rows, cols, lines = array.array("q"), array.array("q"), array.array("q")
    weights = array.array("d")
    shape_line = 0
    seen_data = False
    sep = "TAB" if delimiter == "\t" else repr(delimiter)
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("#"):
                words = text.lstrip("#").split()
                if shape is None and not seen_data and len(words) == 3 and words[0] == "shape":  # save_graph's
                    try:
                        shape = (int(words[1]), int(words[2]))
                    except ValueError:
                        raise GraphFileError(f"{path}:{lineno}: malformed shape comment {text!r}") from None
                    _check_size(f"{path}:{lineno}", shape, max_vertices)
                    shape_line = lineno
                continue
            parts = [p.strip() for p in text.split(delimiter)]
            first = not seen_data
            seen_data = True
            if first and (header is True or (header is None and not any(_is_number(p) for p in parts))):
                continue  # a header line: forced, or no field of it is a number
            if len(parts) not in (2, 3):
                raise GraphFileError(
                    f"{path}:{lineno}: expected 2 or 3 fields separated by {sep} (row, col[, weight]); "
                    f"got {len(parts)} in {text!r}"
                )
            try:
                r, c = _index(parts[0]), _index(parts[1])
            except ValueError:
                hint = " (a header line? pass header=True / --header)" if first and header is not False else ""
                raise GraphFileError(f"{path}:{lineno}: expected integer vertex indices; got {text!r}{hint}") from None
            try:
                w = float(parts[2]) if len(parts) == 3 else 1.0
            except ValueError:
                raise GraphFileError(f"{path}:{lineno}: the weight {parts[2]!r} is not a number") from None
            if r < 0 or c < 0:
                raise GraphFileError(f"{path}:{lineno}: negative vertex index in {text!r}; indices are 0-based")
            if not math.isfinite(w):
                raise GraphFileError(f"{path}:{lineno}: the weight {parts[2]!r} is not finite; weights must be finite")
            if w < 0:
                raise GraphFileError(
                    f"{path}:{lineno}: negative weight {w!r}; edge weights must be non-negative "
                    "(write absolute values, e.g. abs(W), for a signed weight matrix)"
                )
            if shape is not None and (r >= shape[0] or c >= shape[1]):
                raise GraphFileError(
                    f"{path}:{lineno}: edge ({r}, {c}) lies outside the shape {shape[0]} x {shape[1]}"
                    + (f" given at line {shape_line}" if shape_line else "")
                )
            if r + c + 2 > max_vertices:
                _check_size(f"{path}:{lineno}", (r + 1, c + 1), max_vertices)
            rows.append(r); cols.append(c); weights.append(w); lines.append(lineno)
    if not rows:
        raise GraphFileError(f"{path}: no edges found (empty edge list)")
    r_arr, c_arr = np.frombuffer(rows, dtype=np.int64), np.frombuffer(cols, dtype=np.int64)
    shp = shape if shape is not None else (int(r_arr.max()) + 1, int(c_arr.max()) + 1)
    _check_size(str(path), shp, max_vertices, entries=r_arr.size)
    if duplicates == "error":
        key = r_arr * shp[1] + c_arr
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            first_at, again_at = lines[int(order[dup[0]])], lines[int(order[dup[0] + 1])]
            raise GraphFileError(
                f"{path}:{again_at}: duplicate edge ({r_arr[order[dup[0]]]}, {c_arr[order[dup[0]]]}), first at line "
                f"{first_at} ({dup.size} repeated edge{'s' if dup.size > 1 else ''} in all); combine repeats with "
                "--duplicates sum|max|last (duplicates= in load_graph)"
            )
    try:
        return BipartiteGraph.from_edges(np.column_stack([r_arr, c_arr]), shp, weights=np.frombuffer(weights),
                                         duplicates=duplicates)
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{path}: {exc}") from None


# ------------------------------------------------------------------ MatrixMarket
def _mtx_size_line(path: Path) -> int:
    """Line number of a MatrixMarket file's size line (the first after the banner and comments)."""
    opener: Any = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno > 1 and line.strip() and not line.lstrip().startswith("%"):
                return lineno
    return 1


def _read_mtx(path: Path, max_vertices: int) -> Any:
    size_line = _mtx_size_line(path)
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
        return np.asarray(data)
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
    return coo


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
) -> BipartiteGraph:
    """Read a bipartite graph from a file; the format comes from the extension unless given.

    Parameters
    ----------
    path, format
        The file, and one of :data:`FORMATS` (default: its extension; ``.gz`` is looked through).
    shape
        Fixes the size of an edge list (otherwise a ``# shape m n`` comment, else the largest
        indices + 1).
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
    try:
        if fmt == "mtx":
            matrix: Any = _read_mtx(p, int(max_vertices))
        elif fmt == "npz":
            matrix = _read_npz(p, int(max_vertices))
        elif fmt == "npy":
            matrix = _read_npy(p, int(max_vertices))
        else:
            return _read_edge_list(p, "," if fmt == "csv" else "\t", shape, header, duplicates, int(max_vertices))
    except GraphFileError:
        raise
    except UnicodeDecodeError as exc:
        raise GraphFileError(f"{p}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except Exception as exc:  # scipy/numpy parse errors come in many types
        raise GraphFileError(f"{p}: cannot read as .{fmt}: {exc}") from None
    try:
        return BipartiteGraph(matrix)
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{p}: {exc}") from None


def save_graph(graph: BipartiteGraph, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write a graph atomically (:func:`bipartite_expanders.files.atomic_writer`). Returns the path."""
    if not isinstance(graph, BipartiteGraph):
        raise TypeError(f"graph must be a BipartiteGraph; got {type(graph).__name__}")
    p = Path(path)
    fmt = _format_of(p, format)
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
        if fmt == "mtx":
            scipy.io.mmwrite(fh, sp.coo_matrix(graph.matrix))
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
