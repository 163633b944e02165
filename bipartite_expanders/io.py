"""Reading and writing bipartite graphs: MatrixMarket ``.mtx``, scipy ``.npz``, numpy
``.npy`` (dense) and ``.csv`` / ``.tsv`` edge lists (``row, col[, weight]``, 0-based, an
optional header line).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse as sp

from .graph import BipartiteGraph

__all__ = ["GraphFileError", "load_graph", "save_graph", "FORMATS", "example_path"]

FORMATS = ("mtx", "npz", "npy", "csv", "tsv")


class GraphFileError(ValueError):
    """A graph file is missing, empty or malformed; the message names the file."""


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


def _read_edge_list(path: Path, delimiter: str, shape: tuple[int, int] | None) -> BipartiteGraph:
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    n_fields = None
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if text.startswith("#"):
                words = text.lstrip("#").split()
                if shape is None and len(words) == 3 and words[0] == "shape":  # written by save_graph
                    try:
                        shape = (int(words[1]), int(words[2]))
                    except ValueError:
                        raise GraphFileError(f"{path}:{lineno}: malformed shape comment {text!r}") from None
                continue
            if not text:
                continue
            parts = [p.strip() for p in (text.split(delimiter) if delimiter != "ws" else text.split())]
            try:
                r, c = int(parts[0]), int(parts[1])
                w = float(parts[2]) if len(parts) > 2 else 1.0
            except (ValueError, IndexError):
                if not rows and n_fields is None and lineno == 1:
                    n_fields = -1  # a header line
                    continue
                raise GraphFileError(f"{path}:{lineno}: expected 'row{delimiter}col[{delimiter}weight]' with integer indices; got {text!r}") from None
            if len(parts) not in (2, 3):
                raise GraphFileError(f"{path}:{lineno}: expected 2 or 3 fields; got {len(parts)}")
            rows.append(r); cols.append(c); weights.append(w)
    if not rows:
        raise GraphFileError(f"{path}: no edges found (empty edge list)")
    r_arr, c_arr = np.asarray(rows), np.asarray(cols)
    if r_arr.min() < 0 or c_arr.min() < 0:
        raise GraphFileError(f"{path}: negative vertex index; indices are 0-based")
    inferred = (int(r_arr.max()) + 1, int(c_arr.max()) + 1)
    shp = shape if shape is not None else inferred
    try:
        return BipartiteGraph.from_edges(np.column_stack([r_arr, c_arr]), shp, weights=np.asarray(weights), duplicates="error")
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{path}: {exc}") from None


def load_graph(path: str | os.PathLike[str], format: str | None = None, *, shape: tuple[int, int] | None = None) -> BipartiteGraph:
    """Read a bipartite graph from a file; the format comes from the extension unless given.

    ``shape`` fixes the size of an edge list (otherwise the largest indices + 1).
    Raises :class:`GraphFileError` (a ``ValueError``) naming the file on any problem.

    >>> g = load_graph(example_path())
    >>> g.shape
    (784, 300)
    """
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
            data = scipy.io.mmread(str(p))
            matrix: Any = data if sp.issparse(data) else np.asarray(data)
        elif fmt == "npz":
            try:
                matrix = sp.load_npz(p)
            except (ValueError, KeyError, OSError):
                with np.load(p) as z:  # np.savez with one dense array
                    if len(z.files) != 1:
                        raise GraphFileError(f"{p}: not a scipy.sparse .npz and not a single-array numpy .npz") from None
                    matrix = z[z.files[0]]
        elif fmt == "npy":
            matrix = np.load(p, allow_pickle=False)
        else:
            return _read_edge_list(p, "," if fmt == "csv" else "\t", shape)
    except GraphFileError:
        raise
    except Exception as exc:  # scipy/numpy parse errors come in many types
        raise GraphFileError(f"{p}: cannot read as .{fmt}: {exc}") from None
    try:
        return BipartiteGraph(matrix)
    except (ValueError, TypeError) as exc:
        raise GraphFileError(f"{p}: {exc}") from None


def save_graph(graph: BipartiteGraph, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write a graph atomically (temp file, then rename). Returns the path."""
    if not isinstance(graph, BipartiteGraph):
        raise TypeError(f"graph must be a BipartiteGraph; got {type(graph).__name__}")
    p = Path(path)
    fmt = _format_of(p, format)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        if fmt == "mtx":
            scipy.io.mmwrite(tmp, sp.coo_matrix(graph.matrix))
        elif fmt == "npz":
            sp.save_npz(tmp, sp.csr_matrix(graph.matrix))
        elif fmt == "npy":
            np.save(tmp, graph.toarray())
        else:
            sep = "," if fmt == "csv" else "\t"
            coo = graph.matrix.tocoo()
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(f"# shape {graph.n_left} {graph.n_right}\n")
                for r, c, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
                    fh.write(f"{r}{sep}{c}{sep}{w!r}\n")
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
