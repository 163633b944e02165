"""Block Lanczos on a dense (or any ``@``-capable) matrix, with a certified bracket per value.

The iteration works on the smaller Gram matrix (``A A^T`` when ``A`` is wide) with a block of
``b`` vectors, so each step is two matrix-matrix products (BLAS-3: both cores, compute-bound
instead of the bandwidth-bound vector products of single-vector Lanczos), and keeps the whole
basis with full reorthogonalisation (classical Gram-Schmidt twice). The iteration runs in the
matrix's own precision (float32 for a weight layer: half the bytes per product), on the
matrix's own device: the code uses only what numpy arrays and torch tensors share (``@``,
``.T``, slicing) plus a QR, so a CUDA tensor is solved on the GPU.

Every stopping decision is taken on a **certification pass in float64** (the matrix upcast by
row chunks, never as a whole), on the span of the top Ritz vectors ``U`` (orthonormalised in
float64):

* lower bounds: the singular values ``s_i`` of ``A^T U`` satisfy ``s_i <= sigma_i`` (Cauchy
  interlacing: ``U`` has orthonormal columns), up to float64 rounding;
* upper bounds: the eigen-residual ``r_i`` of the pair ``(s_i, u_i, v_i)`` in the symmetric
  adjacency puts an eigenvalue within ``min(r_i, r_i^2 / gap_i)`` of ``s_i`` (Weyl /
  Kato-Temple, :func:`~bipartite_expanders.solvers.error_bounds`), with the gap read off the
  neighbouring certified pairs; as in every Ritz-based check of this package (and the
  ``verified`` contract of :func:`~bipartite_expanders.top_singular_values`), this assumes no
  singular value between the computed ones was missed, and the Frobenius-norm check must
  leave no room for one. For a non-negative matrix the top value also gets the assumption-free
  Collatz-Wielandt bound ``sigma_1^2 <= max_i (A A^T x)_i / x_i`` (any ``x > 0``).

A ``decide(lower, upper)`` callback stops the iteration as soon as the brackets settle what the
caller needs (the signs of the Ramanujan margins, see :func:`~bipartite_expanders.report.ramanujan_report`
with ``accuracy="verdict"``); without one, it runs until the brackets meet the ``tol``
contract of :func:`~bipartite_expanders.solvers.accuracy_threshold`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._common import MatrixOperator, SpectrumResult, accuracy_threshold, error_bounds, finish, register_solver

__all__ = ["BlockBracket", "block_lanczos_bracket", "DEFAULT_BLOCK", "BLOCK_MEMORY_BYTES", "is_torch_tensor", "host_float64", "torch_module",
           "like_operand", "is_column_major"]

#: block size: 8 columns make a product compute-bound on a float32 layer while the basis for
#: the ~100-300 columns a bulk-edge ``t2`` needs stays small
DEFAULT_BLOCK = 8
#: the basis may take this much memory (in the iteration's dtype) before the solve gives up
BLOCK_MEMORY_BYTES = 400_000_000
# rows of the float64 certification pass per chunk: ~2 MB of upcast matrix at a time (stays in cache)
_CHUNK_BYTES = 2_000_000
# slack on certified bounds for float64 rounding in the certification pass itself
_ROUND = 1e-13


@dataclass(frozen=True)
class BlockBracket:
    """Top singular values of a matrix with certified brackets (float64 arrays of length ``k``).

    ``values`` are Rayleigh-Ritz estimates (each a certified lower bound), ``lower`` and
    ``upper`` the bracket of each true value, ``n_products`` the matrix-vector products of the
    iteration (a block of ``b`` columns counts ``b``; the float64 passes are ``n_certify_products``),
    ``decided`` whether ``decide`` accepted the brackets, ``converged`` whether they met the
    ``tol`` contract, ``block`` the block size and ``dtype`` the iteration's precision.
    """

    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_products: int
    n_certify_products: int
    decided: bool
    converged: bool
    block: int
    dtype: str
    residuals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    #: every certified Ritz value (``k + 1`` where the space allows: the extra one gives the gap)
    ritz_values: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    left_vectors: np.ndarray | None = field(default=None, repr=False)
    right_vectors: np.ndarray | None = field(default=None, repr=False)
    #: the shapes of the iteration's products: ``(rows, inner, columns, count)`` per kind, so a
    #: benchmark can time the same GEMMs alone (the compute floor)
    gemm_shapes: tuple[tuple[int, int, int, int], ...] = ()


# ------------------------------------------------------------------ array helpers (numpy / torch)
def is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def host_float64(x: Any) -> np.ndarray:
    """A float64 numpy copy of a small array or tensor."""
    if is_torch_tensor(x):
        return x.detach().to("cpu").double().numpy()
    if sp.issparse(x):
        return x.toarray().astype(np.float64)
    return np.asarray(x, dtype=np.float64)


def is_column_major(x: Any) -> bool:
    """Whether a dense array or tensor is stored column by column (a transposed view of a
    row-major one, as a weight's ``W.T`` is): its row chunks are strided reads, so the passes
    that read it by rows work on ``x.T`` instead (measured on a 4096 x 11008 float32 view:
    13 ns an entry to upcast a row chunk, against about 1 ns on the row-major transpose)."""
    if sp.issparse(x) or getattr(x, "ndim", None) != 2:
        return False
    if is_torch_tensor(x):
        return bool(not x.is_contiguous() and x.T.is_contiguous())
    return bool(isinstance(x, np.ndarray) and x.flags.f_contiguous and not x.flags.c_contiguous)


def torch_module() -> Any:
    """The torch module, imported only when a caller passed a tensor (the core never needs torch)."""
    return importlib.import_module("torch")


def like_operand(x: np.ndarray, ref: Any, dtype: Any = None) -> Any:
    """The host array ``x`` as ``ref`` holds its data: a tensor on ``ref``'s device or a numpy
    array, in ``dtype`` (default: ``ref``'s)."""
    if is_torch_tensor(ref):
        torch = torch_module()
        return torch.from_numpy(np.ascontiguousarray(x)).to(device=ref.device, dtype=dtype or ref.dtype)
    return np.ascontiguousarray(x, dtype=dtype or ref.dtype)


def _qr(x: Any) -> tuple[Any, Any]:
    if is_torch_tensor(x):
        torch = torch_module()
        return torch.linalg.qr(x)
    return np.linalg.qr(x)


def _zeros(rows: int, cols: int, ref: Any) -> Any:
    if is_torch_tensor(ref):
        torch = torch_module()
        return torch.zeros((rows, cols), dtype=ref.dtype, device=ref.device)
    return np.zeros((rows, cols), dtype=ref.dtype)


def _dtype_name(A: Any) -> str:
    return str(A.dtype).replace("torch.", "")


def _iteration_dtype(A: Any) -> Any:
    """The dtype the products run in: the matrix's own when it is float32 or float64;
    half precision is not a product type here (the caller upcasts per layer)."""
    name = _dtype_name(A)
    if name not in ("float32", "float64"):
        raise TypeError(f"A must be float32 or float64 (upcast float16/bfloat16 per layer first); got {name}")
    return A.dtype


def _to64(x: Any) -> Any:
    if is_torch_tensor(x):
        torch = torch_module()
        return x.to(torch.float64)
    if sp.issparse(x):
        return x.astype(np.float64)
    return x.astype(np.float64, copy=False)


def _chunks64(A: Any) -> Any:
    """Row chunks of ``A`` as float64 (numpy: one reused cache-sized buffer, ~8x cheaper than
    a fresh array per chunk; torch: on the tensor's device). Yields ``(start, chunk)``."""
    m, n = A.shape
    rows = max(1, _CHUNK_BYTES // (8 * max(n, 1)))
    if is_torch_tensor(A):
        for i in range(0, m, rows):
            yield i, _to64(A[i:i + rows])
        return
    buf = np.empty((min(rows, m), n))
    for i in range(0, m, rows):
        c = A[i:i + rows]
        out = buf[: c.shape[0]]
        np.copyto(out, c)
        yield i, out


def _host_array(A: Any) -> Any:
    """A CPU torch tensor as the numpy array sharing its memory (float32/float64; no copy), so
    that the float64 passes reuse one chunk buffer; anything else (a CUDA tensor) unchanged."""
    if is_torch_tensor(A) and A.device.type == "cpu" and _dtype_name(A) in ("float32", "float64"):
        return A.detach().numpy()
    return A


def _products64(A: Any, X: np.ndarray, transpose: bool) -> np.ndarray:
    """``A @ X`` (or ``A^T @ X``) in float64 for a host float64 block ``X``, the matrix upcast
    by row chunks (never a whole float64 copy of a float32 layer)."""
    A = _host_array(A)
    m, n = A.shape
    if sp.issparse(A) or _dtype_name(A) == "float64":
        Xd = like_operand(X, A, None)
        return host_float64((A.T @ Xd) if transpose else (A @ Xd))
    Xd = like_operand(X, A, _float64_of(A))
    if transpose:
        out = None
        for i, chunk in _chunks64(A):
            part = chunk.T @ Xd[i:i + chunk.shape[0]]
            out = part if out is None else out + part
        return host_float64(out) if out is not None else np.zeros((n, X.shape[1]))
    parts = [host_float64(chunk @ Xd) for _, chunk in _chunks64(A)]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, X.shape[1]))


def _float64_of(A: Any) -> Any:
    if is_torch_tensor(A):
        torch = torch_module()
        return torch.float64
    return np.float64


def _frobenius2(A: Any) -> float:
    """``||A||_F^2`` accumulated in float64 by row chunks."""
    if sp.issparse(A):
        d = np.asarray(A.data, dtype=np.float64)
        return float(d @ d)
    total = 0.0
    for _, c in _chunks64(_host_array(A)):
        total += float((c * c).sum()) if is_torch_tensor(c) else float(np.einsum("ij,ij->", c, c))
    return total


# ------------------------------------------------------------------ the solver
def _certify(A: Any, U: np.ndarray, wide: bool, k: int, frob2: float, nonnegative: bool
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Float64 Rayleigh-Ritz on span(U) (vectors of the short side) and certified brackets.

    Returns ``(s, lower, upper, residual_bounds, left, right, frobenius_ok)`` for the first ``k``
    values (``U`` carries ``k + 1`` columns or more, the extra one for the gap)."""
    # the Collatz-Wielandt vector rides along in both passes (two float64 passes in all)
    x = np.abs(U[:, 0])
    x = np.maximum(x, 1e-3 * x.max()) if x.size and x.max() > 0 else np.ones(U.shape[0])
    U, _ = np.linalg.qr(U)
    p = U.shape[1]
    # short-side vectors U; the long side's are W = A^T U (wide) or A U (tall)
    Wx = _products64(A, np.column_stack([U, x]), transpose=wide)
    W = Wx[:, :p]
    X, s, Yt = np.linalg.svd(W, full_matrices=False)
    short = U @ Yt.T  # short-side singular vectors, long-side ones X: W = X S Yt
    back_x = _products64(A, np.column_stack([X, Wx[:, p]]), transpose=not wide)  # back on the short side
    back = back_x[:, :p]
    r1 = np.linalg.norm(back - short * s, axis=0)
    res = r1 / math.sqrt(2.0)  # the long side's residual is 0 by construction (W Yt^T = X S)
    err = error_bounds(s, res)
    lower = s * (1.0 - _ROUND)
    upper = (s + err) * (1.0 + _ROUND)
    if nonnegative and s.size and s[0] > 0:
        # Collatz-Wielandt on the non-negative Gram matrix: no assumption about missed values
        cw = math.sqrt(float(np.max(back_x[:, p] / x))) * (1.0 + _ROUND)
        upper[0] = min(upper[0], cw)
    kk = min(k, s.size)
    ok = True
    if kk:
        rank = min(A.shape)
        room = float(s[:kk] @ s[:kk]) + max(rank - kk, 0) * float(s[kk - 1]) ** 2
        ok = frob2 <= room * (1 + 1e-9) + 1e-300
    if wide:
        left, right = short, X
    else:
        left, right = X, short
    return s, lower, upper, err, left, right, ok


def block_lanczos_bracket(
    A: Any,
    k: int = 2,
    *,
    tol: float = 1e-9,
    decide: Callable[[np.ndarray, np.ndarray], bool] | None = None,
    block: int = DEFAULT_BLOCK,
    max_columns: int | None = None,
    nonnegative: bool | None = None,
    seed: int = 0,
    frobenius2: float | None = None,
) -> BlockBracket:
    """The ``k`` largest singular values of ``A`` with certified brackets, by block Lanczos.

    Parameters
    ----------
    A
        A 2-D float32 or float64 numpy array, a torch tensor (any device; the solve stays on
        it), or a scipy sparse matrix (its float64 values; products through scipy).
    k
        How many values (a matrix with fewer is padded with zeros).
    tol
        Without ``decide``: stop when every bracket meets ``max(tol, 1e-8) s_i + 1e-12 s_1``
        (the contract of ``verified`` results). With it: the accuracy to stop at if the
        brackets never decide.
    decide
        ``decide(lower, upper) -> bool`` on the certified brackets (arrays of length ``k``):
        True stops the iteration.
    block
        Columns per block (4-16 is sensible).
    max_columns
        Largest basis (columns); default by :data:`BLOCK_MEMORY_BYTES`.
    nonnegative
        Whether ``A >= 0`` (enables the Collatz-Wielandt bound on ``s_1``); None checks.
    seed
        The start block's seed: a fixed number, so the floats are the same in every process.
    frobenius2
        ``||A||_F^2`` when the caller knows it (float64); else one pass computes it.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([5.0, 3.0, 1.0] + [0.5] * 60).astype(np.float32)
    >>> r = block_lanczos_bracket(A, 2)
    >>> np.round(r.values, 6), bool(np.all(r.lower <= [5, 3])), bool(np.all(r.upper >= [5, 3]))
    (array([5., 3.]), True, True)
    """
    if k < 1:
        raise ValueError(f"k must be a positive integer; got {k}")
    if block < 1:
        raise ValueError(f"block must be a positive integer; got {block}")
    if getattr(A, "ndim", None) != 2:
        raise ValueError(f"A must be a 2-D matrix; got {type(A).__name__}")
    if is_column_major(A):
        # the same singular values from the row-major transpose, whose float64 passes read
        # contiguous rows; the singular vectors swap sides
        r = block_lanczos_bracket(A.T, k, tol=tol, decide=decide, block=block, max_columns=max_columns,
                                  nonnegative=nonnegative, seed=seed, frobenius2=frobenius2)
        return dataclasses.replace(r, left_vectors=r.right_vectors, right_vectors=r.left_vectors)
    m, n = A.shape
    if not sp.issparse(A):
        _iteration_dtype(A)
    elif A.dtype != np.float64:
        A = A.astype(np.float64)
    wide = m <= n
    side = m if wide else n
    if nonnegative is None:
        nonnegative = bool((A.min() >= 0) if not sp.issparse(A) else (A.data.min(initial=0.0) >= 0))
    frob2 = _frobenius2(A) if frobenius2 is None else float(frobenius2)
    empty = np.zeros(k)
    if m == 0 or n == 0 or frob2 == 0.0:
        return BlockBracket(empty, empty, empty, 0, 0, True, True, block, _dtype_name(A), empty)
    item = 4 if _dtype_name(A) == "float32" else 8
    cap = max(k + 1, int(BLOCK_MEMORY_BYTES // (item * side)))
    cols_max = min(side, cap if max_columns is None else max(k + 1, min(cap, max_columns)))
    b = max(1, min(block, cols_max))
    ref = A if not sp.issparse(A) else np.zeros((1, 1))
    At = A.T
    rng = np.random.default_rng(seed)
    Q = _zeros(side, cols_max + b, ref)
    T = np.zeros((cols_max + b, cols_max + b))
    q0, _ = np.linalg.qr(rng.standard_normal((side, b)))
    Q[:, :b] = like_operand(q0, ref)
    J = b
    products = 0
    certify_products = 0
    scale = math.sqrt(frob2)
    next_check = None
    result: tuple[Any, ...] | None = None
    decided = converged = False
    while True:
        Qj = Q[:, J - b:J]
        Y = A @ (At @ Qj) if wide else At @ (A @ Qj)
        products += 2 * b
        basis = Q[:, :J]
        H = basis.T @ Y
        Y = Y - basis @ H
        H2 = basis.T @ Y
        Y = Y - basis @ H2
        H = H + H2
        Hh = host_float64(H)
        T[:J, J - b:J] = Hh
        T[J - b:J, :J] = Hh.T
        T[J - b:J, J - b:J] = (Hh[J - b:J] + Hh[J - b:J].T) / 2
        room = min(b, cols_max - J)
        full_space = J >= side
        if room > 0 and not full_space:
            Qn, R = _qr(Y)
            Rh = host_float64(R)
            weak = np.abs(np.diag(Rh)) <= 1e-7 * scale * scale
            if weak.any():  # an invariant subspace: continue from fresh directions
                fresh = rng.standard_normal((side, b))
                fresh = like_operand(fresh, ref)
                for _ in range(2):
                    fresh = fresh - basis @ (basis.T @ fresh)
                Qf, _ = _qr(fresh)
                Qn = Qn.clone() if is_torch_tensor(Qn) else Qn.copy()
                idx = np.flatnonzero(weak).tolist()
                Qn[:, idx] = Qf[:, idx]
                Qn, _ = _qr(Qn)
                Rh[weak, :] = 0.0
        else:
            Rh = np.zeros((b, b))
        # Ritz estimates of the Gram matrix on the basis so far (float64, small)
        theta2, Wr = np.linalg.eigh(T[:J, :J])
        order = np.argsort(theta2)[::-1]
        theta2, Wr = np.maximum(theta2[order], 0.0), Wr[:, order]
        est_res = np.linalg.norm(Rh @ Wr[J - b:J, :], axis=0)  # Gram residuals of the Ritz vectors
        theta = np.sqrt(theta2)
        p = min(k + 1, J)
        est_err = est_res[:p] / np.maximum(theta[:p] + theta[:p], 1e-300 * scale)
        # the estimates come from the float32 recurrence: certify only once they decide with
        # their error doubled (a failed float64 pass costs as much as a few blocks)
        est_lo, est_hi = theta[:k], theta[:k] + 2.0 * error_bounds(theta[:p], est_err)[:k]
        est_lo = np.pad(est_lo, (0, k - est_lo.size))
        est_hi = np.pad(est_hi, (0, k - est_hi.size))
        thr = accuracy_threshold(est_lo, tol)
        # the float64 pass also proves that no singular value was missed (the Frobenius room of
        # _certify); estimates that fail that test cannot pass it (the first blocks of a matrix
        # with a dominant Perron value: s1 is still far off and its estimated bracket is no bound)
        kk_est = min(k, theta.size)
        room_est = float(theta[:kk_est] @ theta[:kk_est]) + max(min(m, n) - kk_est, 0) * float(theta[kk_est - 1]) ** 2
        room_ok = frob2 <= room_est * (1 + 1e-9) + 1e-300
        hopeful = room_ok and ((decide(est_lo, est_hi) if decide is not None else False)
                               or bool(np.all(est_hi - est_lo <= thr)))
        last = full_space or room <= 0
        if (hopeful and (next_check is None or J >= next_check)) or last:
            U = host_float64(Q[:, :J] @ like_operand(Wr[:, :p], ref))
            certify_products += 2 * (p + 1)
            s, lo, hi, err, left, right, frob_ok = _certify(A, U, wide, k, frob2, nonnegative)
            result = (s, lo, hi, err, left, right)
            kk = min(k, s.size)
            lo_k, hi_k = np.zeros(k), np.zeros(k)
            lo_k[:kk], hi_k[:kk] = lo[:kk], hi[:kk]
            converged = frob_ok and bool(np.all(err[:kk] <= accuracy_threshold(s[:kk], tol)))
            decided = frob_ok and decide is not None and bool(decide(lo_k, hi_k))
            if decided or converged or last:
                break
            next_check = J + max(2 * b, J // 4)  # the estimates were optimistic: look again later
        Q[:, J:J + room] = Qn[:, :room]
        # the next block's coupling to this one is R (Y = Q_new R)
        T[J:J + room, J - b:J] = Rh[:room]
        T[J - b:J, J:J + room] = Rh[:room].T
        J += room
        if room < b:  # a partial last block: iterate on its columns only
            b = room
    s, lo, hi, err, left, right = result
    kk = min(k, s.size)

    def padk(x: np.ndarray) -> np.ndarray:
        out = np.zeros(k)
        out[:kk] = x[:kk]
        return out

    shapes = ((n, m, b, products // (2 * max(b, 1))), (m, n, b, products // (2 * max(b, 1)))) if wide else \
        ((m, n, b, products // (2 * max(b, 1))), (n, m, b, products // (2 * max(b, 1))))
    return BlockBracket(padk(s), padk(lo), padk(hi), products, certify_products, decided, converged, block,
                        _dtype_name(A), padk(err), s[: kk + 1], left[:, : kk + 1], right[:, : kk + 1], shapes)


@register_solver("block")
def solve_block(op: MatrixOperator, k: int, tol: float, start: np.ndarray | None) -> SpectrumResult:
    """Block Lanczos (:func:`block_lanczos_bracket`) on ``B`` in float64, to the ``tol`` contract."""
    r = block_lanczos_bracket(op.B, k, tol=tol)
    op.count += r.n_products + r.n_certify_products
    if r.left_vectors is None:  # a zero matrix
        return SpectrumResult(r.values, "block", op.count, 0.0, residuals=np.zeros(k))
    return finish(op, "block", k, tol, r.ritz_values, r.left_vectors, r.right_vectors)
