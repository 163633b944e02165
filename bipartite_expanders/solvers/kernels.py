"""Compiled sparse products for the eigensolvers: ``B x``, ``B^T y``, the fused ``B^T B x``
(and ``B B^T y``) and Golub-Kahan-Lanczos steps, with numba.

Why compiled: scipy's CSR kernel reads a float64 value and an int32 index per stored entry
and cannot fuse two products; a 0/1 mask needs no value array at all, an index into a side
shorter than 65,536 fits in 2 bytes, and the fused ``B^T (B x)`` reads each row once for both
products. numba is imported on first use only (an import costs ~0.5 s; the compiled code is
cached on disk, next to the package when it is writable, else in numba's user-wide cache
directory such as ``~/.cache/numba`` or ``$NUMBA_CACHE_DIR``). scipy stays the reference:
``kernel="scipy"`` on :class:`~bipartite_expanders.solvers.MatrixOperator`, and the fallback
when numba is not importable. See docs/spectrum.md ("Kernels and threads").

The plain functions :func:`csr_matvec`, :func:`csr_rmatvec` and :func:`csr_gram_matvec` take
any scipy CSR matrix (e.g. for other modules' Krylov loops); :class:`CSRKernel` keeps a
converted structure for repeated products.

>>> import numpy as np, scipy.sparse as sp
>>> A = sp.csr_array(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
>>> csr_matvec(A, np.ones(3)), csr_rmatvec(A, np.ones(2)), csr_gram_matvec(A, np.ones(3))
(array([3., 3.]), array([1., 3., 2.]), array([3., 9., 6.]))
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..graph import check_compressed

__all__ = [
    "numba_available", "compiled_loaded", "compiled_module", "CSRKernel", "KERNELS", "VALUE_TYPES",
    "csr_matvec", "csr_rmatvec", "csr_gram_matvec", "index_dtype",
]

#: names accepted by ``kernel=``: "auto" (numba when importable), "numba", "scipy"
KERNELS = ("auto", "numba", "scipy")
#: value arrays a kernel may hold: "float64", or "float32" (half the bytes; products still
#: accumulate in float64, but the matrix itself is rounded, so only iterations use it)
VALUE_TYPES = ("float64", "float32")

_COMPILED: ModuleType | None = None


_NUMBA_FOUND: bool | None = None


def numba_available() -> bool:
    """Whether numba can be imported (without importing it; looked up once per process: a
    lookup searches ``sys.path``, ~35 µs, a tenth of a small solve)."""
    global _NUMBA_FOUND
    if _NUMBA_FOUND is None:
        _NUMBA_FOUND = _COMPILED is not None or importlib.util.find_spec("numba") is not None
    return _NUMBA_FOUND


def compiled_loaded() -> bool:
    """Whether the compiled module (and numba) is already loaded in this process."""
    return _COMPILED is not None


def compiled_module() -> ModuleType:
    """The numba-compiled loops (:mod:`bipartite_expanders.solvers.compiled`), imported on
    first use so that a process which never multiplies a sparse matrix never loads numba."""
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = importlib.import_module("bipartite_expanders.solvers.compiled")
    return _COMPILED


def index_dtype(size: int) -> type:
    """The narrowest unsigned/signed index type for indices ``0 .. size - 1``."""
    if size <= np.iinfo(np.uint16).max + 1:
        return np.uint16
    if size <= np.iinfo(np.int32).max:
        return np.int32
    return np.int64


class CSRKernel:
    """One CSR matrix ``A`` (r x c) converted for the compiled kernels.

    ``indices`` take the narrowest type for ``c`` (:func:`index_dtype`), ``indptr`` int32
    when ``nnz`` fits; a matrix whose stored values are all equal (a 0/1 mask, or ``c`` times
    one) keeps no value array, only that constant (``scale``). ``values="float32"`` stores
    the values in float32 (products accumulate in float64). ``threads`` is the number of
    threads its products use (1: the serial kernels).
    """

    def __init__(self, A: sp.csr_array | sp.csr_matrix, values: str = "float64", threads: int = 1):
        if values not in VALUE_TYPES:
            raise ValueError(f"values must be one of {VALUE_TYPES}; got {values!r}")
        if not sp.issparse(A) or A.format != "csr":
            raise TypeError(f"A must be a scipy CSR matrix; got {type(A).__name__}")
        self.shape = A.shape
        r, c = A.shape
        check_compressed(A, "A")  # the kernels read it without bounds checks
        nnz = int(A.indptr[-1]) if A.indptr.size else 0
        self.nnz = nnz
        self.indptr = A.indptr.astype(np.int32 if nnz < np.iinfo(np.int32).max else np.int64, copy=False)
        self.indices = A.indices[:nnz].astype(index_dtype(c), copy=False)
        data = np.asarray(A.data[:nnz], dtype=np.float64)
        self.scale = 1.0
        self.data: np.ndarray | None
        if nnz and float(data.min()) == float(data.max()):
            self.scale, self.data = float(data[0]), None  # a pattern: no value array
        else:
            self.data = data.astype(np.float32) if values == "float32" else data
        self.threads = max(1, int(threads))
        self._acc: dict[int, np.ndarray] = {}

    @property
    def pattern(self) -> bool:
        return self.data is None

    def bytes_per_entry(self) -> int:
        """Bytes a product reads per stored entry: the index, plus the value if any."""
        return self.indices.itemsize + (0 if self.data is None else self.data.itemsize)

    def _accumulators(self, length: int) -> np.ndarray:
        acc = self._acc.get(length)
        if acc is None or acc.shape[0] != self.threads:
            acc = np.empty((self.threads, length))
            self._acc[length] = acc
        return acc

    def _operand(self, x: Any, length: int, name: str) -> np.ndarray:
        """``x`` as a C-contiguous float64 vector or block of ``length`` rows; the kernels
        index without bounds checks, so a wrong length must stop here."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[0] != length:
            raise ValueError(f"{name} must be a vector or block with {length} rows for a {self.shape[0]} x "
                             f"{self.shape[1]} matrix; got shape {x.shape}")
        return x

    def _scaled(self, out: np.ndarray, power: int = 1) -> np.ndarray:
        if self.scale != 1.0:
            out *= self.scale**power
        return out

    def gather(self, x: np.ndarray) -> np.ndarray:
        """``A x`` (row dot products) for a vector or a block of ``c`` rows."""
        cm = compiled_module()
        x = self._operand(x, self.shape[1], "x")
        r = self.shape[0]
        if x.ndim == 1:
            out = np.empty(r)
            f = cm.gather_parallel if self.threads > 1 else cm.gather
            return self._scaled(f(self.indptr, self.indices, self.data, x, out))
        out = np.empty((r, x.shape[1]))
        return self._scaled(cm.gather_block(self.indptr, self.indices, self.data, x, out))

    def scatter(self, y: np.ndarray) -> np.ndarray:
        """``A^T y`` from A's rows for a vector or a block of ``r`` rows."""
        cm = compiled_module()
        y = self._operand(y, self.shape[0], "y")
        c = self.shape[1]
        if y.ndim == 1:
            out = np.empty(c)
            if self.threads > 1:
                cm.scatter_parallel(self.indptr, self.indices, self.data, y, out, self._accumulators(c))
            else:
                cm.scatter(self.indptr, self.indices, self.data, y, out)
            return self._scaled(out)
        out = np.empty((c, y.shape[1]))
        return self._scaled(cm.scatter_block(self.indptr, self.indices, self.data, y, out))

    def gram(self, x: np.ndarray) -> np.ndarray:
        """``A^T (A x)`` in one pass over A's rows (a vector; a block takes two passes)."""
        x = self._operand(x, self.shape[1], "x")
        if x.ndim != 1:
            return self.scatter(self.gather(x))
        cm = compiled_module()
        c = self.shape[1]
        out = np.empty(c)
        if self.threads > 1:
            cm.gram_parallel(self.indptr, self.indices, self.data, x, out, self._accumulators(c))
        else:
            cm.gram(self.indptr, self.indices, self.data, x, out)
        return self._scaled(out, 2)

    def operands(self) -> tuple[Any, ...]:
        """``(indptr, indices, data)`` for the compiled loops (e.g. ``gkl_steps``)."""
        return self.indptr, self.indices, self.data


def _kernel_of(A: Any) -> CSRKernel:
    if not sp.issparse(A):
        raise TypeError(f"A must be a scipy sparse matrix; got {type(A).__name__}")
    return CSRKernel(sp.csr_array(A))


def csr_matvec(A: Any, x: np.ndarray) -> np.ndarray:
    """``A @ x`` by the compiled gather kernel (one thread); ``A`` any scipy sparse matrix."""
    return _kernel_of(A).gather(x)


def csr_rmatvec(A: Any, y: np.ndarray) -> np.ndarray:
    """``A.T @ y`` by the compiled scatter over A's rows (one thread)."""
    return _kernel_of(A).scatter(y)


def csr_gram_matvec(A: Any, x: np.ndarray) -> np.ndarray:
    """``A.T @ (A @ x)`` by the fused one-pass kernel (one thread)."""
    return _kernel_of(A).gram(x)
