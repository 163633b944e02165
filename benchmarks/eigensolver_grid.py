"""The eigensolver benchmark: every backend, ``"auto"`` and two baselines on a grid of layers.

Run it as ``python benchmarks/eigensolver_grid.py`` from a checkout (``--quick``: about a minute):

* grid: shapes 300x100, 784x300, 4608x512, 4096x11008, 25088x4096 (``--shape`` replaces
  them), densities 1, 0.1, 0.01, 0.001, 0/1 masks and ``|N(0,1)|`` weights, one seed;
* methods: every registered backend, ``auto``, ``auto`` on scipy's kernels (``auto-scipy``,
  the path before the compiled kernels), ``auto`` with one and two fixed threads
  (``auto-t1``, ``auto-t2``; ``auto`` itself follows the thread policy), the study's method
  (ARPACK ``eigsh`` on ``B^T B`` as an operator, then ``sqrt``) and ``eigsh(k=3)`` on the
  ``(m + n)`` adjacency;
* per cell and method: median wall time, mat-vecs, relative errors of ``t1`` and ``t2`` (the
  two largest singular values) against a reference, peak traced memory; the machine's
  memory bandwidth (a large copy) and each method's time per mat-vec as a multiple of the
  bandwidth floor (the bytes one product must read);
* summary: ratios auto/study, auto/adjacency, auto/best backend, auto-scipy/auto, the
  policy's threads against the best fixed setting, auto's time per product against the
  bytes the compiled kernel reads (cells with ``nnz >= 1e6``), the compiled kernels'
  first-ever compile and cached first-use times (fresh processes), and a warm-start row
  (re-analysis of a layer after pruning 20% of it, cold against warm).

The reference is LAPACK ``gesdd`` up to :data:`REFERENCE_SVD_MAX` entries, else LAPACK
``syevr`` on the float64 Gram matrix of the smaller side: its absolute error in ``sigma^2``
is about ``n eps t1^2``, so its relative error in ``t2`` is about ``n eps (t1 / t2)^2 / 2``,
printed per cell (far below the 1e-8 contract on this grid).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from bipartite_expanders.files import atomic_write, from_json_float, write_json

__all__ = ["configure", "run", "make_layer", "run_cell", "memory_bandwidth", "DEFAULT_SHAPES", "DENSITIES"]

DEFAULT_SHAPES = [(300, 100), (784, 300), (4608, 512), (4096, 11008), (25088, 4096)]
QUICK_SHAPES = [(300, 100), (784, 300), (4608, 512)]
DENSITIES = [1.0, 0.1, 0.01, 0.001]
QUICK_DENSITIES = [1.0, 0.1, 0.01]
WEIGHTS = ["mask", "absw"]
REFERENCE_SVD_MAX = 3_000_000
BASELINES = ["study", "adjacency"]
#: ``auto`` variants: the scipy kernels (the old path) and fixed thread counts
AUTO_VARIANTS = {"auto-scipy": {"kernel": "scipy"}, "auto-t1": {"threads": 1}, "auto-t2": {"threads": 2}}


# ------------------------------------------------------------------ inputs
def make_layer(m: int, n: int, density: float, weights: str, seed: int = 0) -> sp.csr_array:
    """A random layer: a uniform random 0/1 mask of the given density, optionally times |N(0,1)|."""
    rng = np.random.default_rng(seed)
    if density >= 1.0:
        data = np.abs(rng.standard_normal(m * n)) if weights == "absw" else np.ones(m * n)
        indptr = np.arange(0, m * n + 1, n, dtype=np.int64)
        indices = np.tile(np.arange(n, dtype=np.int32), m)
        return sp.csr_array((data, indices, indptr), shape=(m, n))
    B = sp.random_array((m, n), density=density, rng=rng, format="csr", dtype=np.float64)
    B.data = np.abs(rng.standard_normal(B.nnz)) if weights == "absw" else np.ones(B.nnz)
    return B


def memory_bandwidth(nbytes: int = 400_000_000, repeats: int = 5) -> float:
    """Copy bandwidth in bytes per second (read + write counted), median of ``repeats``."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return 2 * nbytes / statistics.median(times)


def operator_bytes(B: sp.csr_array, dense: bool) -> int:
    """Bytes one product with B must move in scipy's CSR format: the matrix once (8-byte
    value and 4-byte index per stored entry), plus the input and output vectors."""
    m, n = B.shape
    matrix = 8 * m * n if dense else 12 * B.nnz + 4 * (m + 1)
    return matrix + 8 * (m + n)


def kernel_bytes(B: sp.csr_array, dense: bool) -> int:
    """Bytes one product with B reads in the compiled kernel's format (``MatrixOperator``
    with ``kernel="numba"``): per stored entry the index (2 bytes below 65,536 on the short
    side, else 4) plus 8 for a float64 value (none for a constant matrix such as a mask),
    the long side's row pointers, and the two vectors."""
    from bipartite_expanders.solvers.kernels import index_dtype

    m, n = B.shape
    if dense:
        return 8 * m * n + 8 * (m + n)
    constant = B.nnz == 0 or float(B.data.min()) == float(B.data.max())
    per_entry = np.dtype(index_dtype(min(m, n))).itemsize + (0 if constant else 8)
    return per_entry * B.nnz + 4 * (max(m, n) + 1) + 8 * (m + n)


# ------------------------------------------------------------------ methods
def _study(B: sp.csr_array) -> tuple[np.ndarray, int]:
    """The study's method: ARPACK eigsh on B^T B as an operator (default tol), then sqrt."""
    m, n = B.shape
    calls = [0]

    def mv(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return B.T @ (B @ x)

    op = spla.LinearOperator((n, n), matvec=mv, dtype=np.float64)
    w = spla.eigsh(op, k=2, which="LM", return_eigenvectors=False)
    return np.sqrt(np.clip(np.sort(w)[::-1], 0, None)), 2 * calls[0]


def _adjacency(B: sp.csr_array) -> tuple[np.ndarray, int]:
    """eigsh(k=3) on the (m + n) symmetric adjacency; t1, t2 from the sorted |eigenvalues|
    (they come in pairs +-sigma, so the third largest |lambda| is sigma_2)."""
    A = sp.block_array([[None, B], [B.T, None]], format="csr")
    calls = [0]

    def mv(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return A @ x

    op = spla.LinearOperator(A.shape, matvec=mv, dtype=np.float64)
    w = np.sort(np.abs(spla.eigsh(op, k=3, which="LM", return_eigenvectors=False)))[::-1]
    return np.array([w[0], w[2]]), 2 * calls[0]  # one adjacency product touches B twice


def _backend(name: str) -> Callable[[sp.csr_array], tuple[np.ndarray, int, str]]:
    from bipartite_expanders.spectrum import top_singular_values

    options = AUTO_VARIANTS.get(name, {})
    solver = "auto" if name in AUTO_VARIANTS else name

    def f(B: sp.csr_array) -> tuple[np.ndarray, int, str]:
        r = top_singular_values(B, 2, solver=solver, full_output=True, **options)
        used = r.solver if r.fallback_from is None else f"{r.fallback_from}>{r.solver}"
        return r.values, r.n_matvec, used

    return f


def available_methods() -> list[str]:
    from bipartite_expanders.solvers import SOLVERS, primme_available

    names = [n for n in SOLVERS if n != "primme" or primme_available()]
    return names + ["auto", *AUTO_VARIANTS] + BASELINES


def _reference(B: sp.csr_array) -> tuple[np.ndarray, str, float] | None:
    """(t1, t2) reference, its method, and its estimated relative error in t2; None when the
    matrix is too large for LAPACK here (the caller then uses the study's ARPACK run)."""
    m, n = B.shape
    if B.nnz == m * n and np.all(B.data == B.data[0]):  # a constant matrix: c K_{m,n}, exact
        return np.array([B.data[0] * math.sqrt(m * n), 0.0]), "exact (c·K_m,n)", 0.0
    if m * n <= REFERENCE_SVD_MAX:
        s = sla.svdvals(B.toarray(), check_finite=False)
        return np.pad(s, (0, 2))[:2], "gesdd", 0.0
    return None


def _gram_error(s: np.ndarray, size: int) -> float:
    """Relative error in t2 of a method that squares (eigenvalues of B^T B): ~ size eps (t1/t2)^2 / 2."""
    return float(size * np.finfo(float).eps * (s[0] / s[1]) ** 2 / 2) if s[1] > 0 else math.inf


# ------------------------------------------------------------------ one cell
@dataclass
class MethodResult:
    method: str
    time_s: float | None = None
    times_s: list[float] = field(default_factory=list)
    n_matvec: int | None = None
    err_t1: float | None = None
    err_t2: float | None = None
    peak_mb: float | None = None
    per_matvec_vs_floor: float | None = None
    per_matvec_vs_kernel_floor: float | None = None
    used: str | None = None
    skipped: str | None = None


def _skip_reason(method: str, m: int, n: int, nnz: int, quick: bool) -> str | None:
    from bipartite_expanders.solvers.direct import DENSE_HARD_MAX_ENTRIES

    if method == "dense" and m * n > DENSE_HARD_MAX_ENTRIES:
        return "refused (m n > 4e7)"
    if method == "dense" and m * n > 5_000_000:
        return "slow (minutes of gesdd)"
    if method == "lobpcg" and nnz > 20_000_000:
        return "slow (> 60 s)"
    if method == "adjacency" and nnz > 20_000_000:
        return "slow (> 100 s, 2.4 GB)"
    if method == "gram" and min(m, n) > 2048:
        return "slow (Gram of a 4096 side: 30-110 s measured)"
    return None


#: fast runs are repeated until about this much time is spent (at most FAST_MAX_RUNS), since
#: a 10 ms solve varies by +-30% between runs even on an idle machine
FAST_BUDGET_S = 0.5
FAST_MAX_RUNS = 25


def _n_runs(first_s: float, repeats: int, slow_s: float) -> int:
    """How many timed runs a method gets: 1 when slow, ``repeats`` at least, more when fast."""
    if first_s > slow_s:
        return 1
    return max(repeats, min(FAST_MAX_RUNS, int(FAST_BUDGET_S / max(first_s, 1e-4))))


#: settings the thread-policy target compares whose repeats run in turns (one run of each,
#: then again), so that a change of machine load affects them alike. Not auto-t2: two BLAS
#: threads beside two kernel threads leave both pools' idle threads spinning on the cores for
#: a while after a call, which made the next policy run up to 10x slower when interleaved
#: (4608x512 at 10 %: 116 ms against 12 ms); it is timed in a block and followed by a pause.
INTERLEAVED = ("auto", "auto-t1")
#: seconds of rest after auto-t2, for the spinning threads to go to sleep
SPIN_REST_S = 0.5


def _time_in_turns(B: sp.csr_array, group: list[tuple[str, Callable[..., Any], int, list[float]]]) -> None:
    """Append timed runs to each member's list, one run per member per turn, until each has
    its count."""
    while any(len(times) < count for _, _, count, times in group):
        for _, f, count, times in group:
            if len(times) < count:
                t0 = time.perf_counter()
                f(B)
                times.append(time.perf_counter() - t0)


def _record(out: dict[str, Any], B: sp.csr_array, ref: np.ndarray | None, res: MethodResult, out_f: Any, peak: int,
            times: list[float], *, bandwidth: float, dense_op: bool, log: Callable[[str], None]) -> np.ndarray:
    """Fill ``res`` from a method's runs (values, errors against ``ref``, floors) into
    ``out["methods"]``; returns the reference (the first method's values when none was known)."""
    m, n = B.shape
    method = res.method
    vals, nmv = out_f[0], out_f[1]
    if ref is None:  # the first method run is the study: its values are the reference
        ref = np.asarray(vals, dtype=float)
        out["reference"], out["reference_method"] = ref.tolist(), "study ARPACK (tol = eps)"
        out["reference_rel_err_t2"] = _gram_error(ref, min(m, n)) if method == "study" else math.nan
    res.used = out_f[2] if len(out_f) > 2 else method
    res.times_s = times
    res.time_s = statistics.median(times)
    res.n_matvec = int(nmv)
    vals = np.asarray(vals, dtype=float)
    res.err_t1 = float(abs(vals[0] - ref[0]) / ref[0]) if ref[0] > 0 else float(abs(vals[0]))
    res.err_t2 = float(abs(vals[1] - ref[1]) / ref[1]) if ref[1] > 1e-10 * ref[0] else float(abs(vals[1]) / ref[0])
    res.peak_mb = peak / 1e6
    if nmv:
        uses_dense = dense_op and method not in BASELINES
        floor = operator_bytes(B, uses_dense) / bandwidth
        res.per_matvec_vs_floor = res.time_s / nmv / floor
        res.per_matvec_vs_kernel_floor = res.time_s / nmv / (kernel_bytes(B, uses_dense) / bandwidth)
    out["methods"][method] = asdict(res)
    log(f"  {method:9s} {res.time_s * 1e3:10.1f} ms  mv={nmv:6d}  err t1={res.err_t1:.1e} t2={res.err_t2:.1e}  "
        f"peak={res.peak_mb:8.1f} MB  {res.used}")
    return ref


def run_cell(B: sp.csr_array, methods: list[str], repeats: int, bandwidth: float,
             slow_s: float = 3.0, quick: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Time every method on one matrix; returns a JSON-safe dict."""
    m, n = B.shape
    found = _reference(B)
    if found is None:
        # Too large for LAPACK on this machine (gesdd: hours; syevr on a 4096 Gram: minutes):
        # the study's own ARPACK run at machine-precision tolerance is the reference, an
        # implementation independent of this package's; it squares, hence the error estimate.
        methods = ["study"] + [x for x in methods if x != "study"]
    out: dict[str, Any] = {"shape": [m, n], "nnz": int(B.nnz), "density": B.nnz / (m * n), "methods": {}}
    ref = None
    if found is not None:
        ref, out["reference_method"], out["reference_rel_err_t2"] = found
        out["reference"] = ref.tolist()
    from bipartite_expanders.spectrum import DENSE_OPERATOR_FROM

    dense_op = B.nnz >= DENSE_OPERATOR_FROM * m * n
    interleaved: list[tuple[str, Callable[..., Any], int, list[float]]] = []
    pending: list[tuple[MethodResult, Any, int, list[float]]] = []
    in_group = [x for x in methods if x in INTERLEAVED and not _skip_reason(x, m, n, B.nnz, quick)]
    for method in methods:
        res = MethodResult(method)
        reason = _skip_reason(method, m, n, B.nnz, quick)
        if reason:
            res.skipped = reason
            out["methods"][method] = asdict(res)
            continue
        f: Callable[..., Any]
        if method == "study":
            f = _study
        elif method == "adjacency":
            f = _adjacency
        else:
            f = _backend(method)
        # first run traced for peak memory (tracemalloc sees numpy's allocations)
        tracemalloc.start()
        t0 = time.perf_counter()
        out_f = f(B)
        first = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        times = [first] if first > slow_s else []
        if method in INTERLEAVED:
            # the thread settings are timed in turns once the last of them has run once
            interleaved.append((method, f, _n_runs(first, repeats, slow_s), times))
            pending.append((res, out_f, peak, times))
            if method == in_group[-1]:
                _time_in_turns(B, interleaved)
                for args in pending:
                    ref = _record(out, B, ref, *args, bandwidth=bandwidth, dense_op=dense_op, log=log)
            continue
        while len(times) < _n_runs(first, repeats, slow_s):
            t0 = time.perf_counter()
            out_f = f(B)
            times.append(time.perf_counter() - t0)
        if method == "auto-t2":
            time.sleep(SPIN_REST_S)
        ref = _record(out, B, ref, res, out_f, peak, times, bandwidth=bandwidth, dense_op=dense_op, log=log)
    return out


# ------------------------------------------------------------------ warm start row
def warm_start_row(shape: tuple[int, int], density: float, weights: str, prune: float, repeats: int,
                   seed: int = 0) -> dict[str, Any]:
    """Cold against warm re-analysis (``ramanujan_report``) of a layer after pruning a fraction
    ``prune`` of its edges: by magnitude for weighted layers, at random for masks."""
    from bipartite_expanders.report import ramanujan_report
    from bipartite_expanders.graph import BipartiteGraph

    m, n = shape
    B = make_layer(m, n, density, weights, seed)
    rng = np.random.default_rng(seed + 1)
    if weights == "absw":
        drop = np.argsort(B.data, kind="stable")[: int(prune * B.nnz)]
    else:
        drop = rng.choice(B.nnz, int(prune * B.nnz), replace=False)
    data = B.data.copy()
    data[drop] = 0.0
    B2 = sp.csr_array((data, B.indices.copy(), B.indptr.copy()), shape=B.shape)
    B2.eliminate_zeros()
    g1 = BipartiteGraph.from_sparse(B)
    g2 = BipartiteGraph.from_sparse(B2)
    before = ramanujan_report(g1, universal_cover=False)  # the spectrum is what is timed
    cold_t, warm_t = [], []
    t0 = time.perf_counter()
    ramanujan_report(g2, universal_cover=False)
    runs = _n_runs(time.perf_counter() - t0, repeats, math.inf)
    for _ in range(runs):
        t0 = time.perf_counter()
        cold = ramanujan_report(g2, universal_cover=False)
        cold_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        warm = ramanujan_report(g2, v0=before.state, universal_cover=False)
        warm_t.append(time.perf_counter() - t0)
    return {
        "shape": [m, n], "density": density, "weights": weights, "prune": prune,
        "cold_s": statistics.median(cold_t), "warm_s": statistics.median(warm_t),
        "cold_matvec": cold.state.n_matvec if cold.state else 0,
        "warm_matvec": warm.state.n_matvec if warm.state else 0,
        "solver": cold.solver, "t2_cold": cold.t2, "t2_warm": warm.t2,
        "speedup": statistics.median(cold_t) / statistics.median(warm_t),
    }


# ------------------------------------------------------------------ report
def _fmt_ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1e3:.3g}" if x < 10 else f"{x:.3g} s"


def _table(cells: list[dict[str, Any]], methods: list[str], lead_head: list[str], lead: Callable[[dict[str, Any]], list[str]],
           fmt: Callable[[dict[str, Any]], str], tail_head: list[str], tail: Callable[[dict[str, Any]], list[str]]) -> list[str]:
    """Markdown rows: leading columns, one column per method, trailing columns."""
    out = ["| " + " | ".join(lead_head + methods + tail_head) + " |",
           "|" + "---|" * (len(lead_head) + len(methods) + len(tail_head))]
    for c in cells:
        row = lead(c) + [fmt(c["methods"].get(m, {})) for m in methods] + tail(c)
        out.append("| " + " | ".join(row) + " |")
    return out


def markdown(results: dict[str, Any]) -> str:
    """The benchmark's tables and ratios as Markdown."""
    methods = results["methods"]
    lines = []
    meta = results["meta"]
    if meta.get("load_average"):
        la = meta["load_average"]
        lines.append(f"Load average (1, 5, 15 min) at the start: {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}; "
                     f"at the end: {', '.join(f'{x:.2f}' for x in meta.get('load_average_end', []))}.")
        lines.append("")
    lines.append(f"Machine: {meta['machine']}; BLAS threads: {meta['threads']}; copy bandwidth "
                 f"{meta['bandwidth_gbs']:.1f} GB/s; repeats: median of {meta['repeats']} (1 when a run takes > "
                 f"{meta['slow_s']} s; runs under {FAST_BUDGET_S / meta['repeats']:.2g} s repeated for about {FAST_BUDGET_S} s, "
                 f"at most {FAST_MAX_RUNS} times); seed {meta['seed']}.")
    lines.append("")
    lines.append("Time in ms (s where marked) / mat-vecs (products with B or B^T). `—`: skipped (reason in the JSON).")
    lines.append("")
    def timing(r: dict[str, Any]) -> str:
        return "—" if r.get("time_s") is None else f"{_fmt_ms(r['time_s'])} / {r['n_matvec']}"

    def error(r: dict[str, Any]) -> str:
        return "—" if r.get("err_t1") is None else f"{max(r['err_t1'], r['err_t2']):.0e}"

    def auto_tail(c: dict[str, Any]) -> list[str]:
        a = c["methods"].get("auto", {})
        return [f"{a['peak_mb']:.1f}" if a.get("peak_mb") is not None else "—",
                f"{a['per_matvec_vs_floor']:.1f}" if a.get("per_matvec_vs_floor") is not None else "—",
                f"{a['per_matvec_vs_kernel_floor']:.1f}" if a.get("per_matvec_vs_kernel_floor") is not None else "—"]

    cells = results["cells"]
    lines += _table(cells, methods, ["cell", "nnz"], lambda c: [c["label"], f"{c['nnz']:.3g}"], timing,
                    ["auto picked"], lambda c: [str(c["methods"].get("auto", {}).get("used", "—"))])
    lines.append("")
    lines.append("Largest relative error of t1, t2 against the reference (t2 = 0 cells: absolute error / t1); "
                 "peak traced memory of auto; auto's time per mat-vec as a multiple of the bandwidth floor.")
    lines.append("")
    lines += _table(cells, methods, ["cell", "reference (est. rel. err.)"],
                    lambda c: [c["label"], f"{c['reference_method']} ({from_json_float(c['reference_rel_err_t2']):.0e})"], error,
                    ["auto peak MB", "auto time/mv ÷ floor", "÷ kernel floor"], auto_tail)
    s = results["summary"]
    lines.append("")
    lines.append("Ratios (time of the baseline ÷ time of auto; > 1 means auto is faster):")
    lines.append("")
    for key, label in [("study_over_auto", "study (ARPACK on BᵀB) ÷ auto"),
                       ("adjacency_over_auto", "adjacency eigsh(k=3) ÷ auto")]:
        d = s.get(key)
        if d:
            big = (f"min {d['min_big']:.2f}x over {d['cells_big']} cells" if d["cells_big"] else "none in this grid")
            lines.append(f"- {label}: median {d['median']:.2f}x, min {d['min']:.2f}x over {d['cells']} cells; "
                         f"on cells with nnz >= 1e5: {big}")
    d = s.get("auto_over_best")
    if d:
        lines.append(f"- auto ÷ best backend of the cell: median {d['median']:.2f}, worst {d['max']:.2f} ({d['worst_cell']})")
    d = s.get("scipy_over_auto")
    if d:
        lines.append(f"- auto-scipy (scipy's kernels) ÷ auto: median {d['median']:.2f}x, min {d['min']:.2f}x "
                     f"({d['min_cell']}), max {d['max']:.2f}x")
    d = s.get("policy_over_best_threads")
    if d:
        over = ", ".join(d["over_1.1"]) or "none"
        lines.append(f"- auto (thread policy) ÷ best of auto-t1, auto-t2: median {d['median']:.2f}, worst {d['max']:.2f} "
                     f"({d['worst_cell']}) over {d['cells']} cells; cells above 1.1: {over}")
    d = s.get("auto_per_product_vs_kernel_floor")
    if d:
        lines.append(f"- auto's time per product ÷ the compiled kernel's byte floor, cells with nnz >= 1e6: median "
                     f"{d['median']:.2f}, worst {d['max']:.2f} ({d['worst_cell']}); within 2x on {d['within_2x']} of "
                     f"{d['cells']}")
    ct = results.get("compile")
    if ct:
        lines.append("")
        lines.append("numba's first use in a fresh process (Lanczos and ARPACK on a pattern and a weighted matrix; "
                     "seconds):")
        lines.append("")
        lines.append("| cache | import package | import numba + compiled module | first solves | process wall |")
        lines.append("|---|---|---|---|---|")
        for label in ("cold_cache", "warm_cache"):
            r = ct.get(label, {})
            if "error" in r or not r:
                lines.append(f"| {label} | failed: {r.get('error', 'not run')[:80]} | | | |")
                continue
            lines.append(f"| {label.replace('_', ' ')} | {r['import_package_s']:.2f} | {r['import_numba_s']:.2f} | "
                         f"{r['first_solves_s']:.2f} | {r['process_wall_s']:.2f} |")
    if results.get("warm"):
        lines.append("")
        lines.append("Warm start: `ramanujan_report` of a layer after pruning 20% of its edges, cold vs `v0=previous.state`.")
        lines.append("")
        lines.append("| layer | prune | solver | cold | warm | mat-vecs cold / warm | speedup |")
        lines.append("|---|---|---|---|---|---|---|")
        for w in results["warm"]:
            lines.append(f"| {w['shape'][0]}x{w['shape'][1]}, {w['density']:g}, {w['weights']} | {w['prune']:.0%} "
                         f"({'magnitude' if w['weights'] == 'absw' else 'random'}) | {w['solver']} | {_fmt_ms(w['cold_s'])} | "
                         f"{_fmt_ms(w['warm_s'])} | {w['cold_matvec']} / {w['warm_matvec']} | {w['speedup']:.2f}x |")
        sp_ = [w["speedup"] for w in results["warm"]]
        lines.append("")
        lines.append(f"- warm ÷ cold speedup: median {statistics.median(sp_):.2f}x")
    return "\n".join(lines) + "\n"


def summarise(cells: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for base in BASELINES:
        ratios, big = [], []
        for c in cells:
            a, b = c["methods"].get("auto", {}), c["methods"].get(base, {})
            if a.get("time_s") and b.get("time_s"):
                r = b["time_s"] / a["time_s"]
                ratios.append(r)
                if c["nnz"] >= 1e5:
                    big.append(r)
        if ratios:
            out[f"{base}_over_auto"] = {"median": statistics.median(ratios), "min": min(ratios), "cells": len(ratios),
                                        "min_big": min(big) if big else math.nan, "cells_big": len(big)}
    worst, label, rs = 0.0, "", []
    for c in cells:
        a = c["methods"].get("auto", {})
        best = [r["time_s"] for k, r in c["methods"].items()
                if k not in BASELINES + ["auto", *AUTO_VARIANTS] and r.get("time_s")]
        if a.get("time_s") and best:
            r = a["time_s"] / min(best)
            rs.append(r)
            if r > worst:
                worst, label = r, c["label"]
    if rs:
        out["auto_over_best"] = {"median": statistics.median(rs), "max": worst, "worst_cell": label}
    # the old path (scipy kernels) against auto
    old = [(c["methods"]["auto-scipy"]["time_s"] / c["methods"]["auto"]["time_s"], c["label"]) for c in cells
           if c["methods"].get("auto", {}).get("time_s") and c["methods"].get("auto-scipy", {}).get("time_s")]
    if old:
        out["scipy_over_auto"] = {"median": statistics.median(r for r, _ in old), "min": min(old)[0],
                                  "min_cell": min(old)[1], "max": max(old)[0]}
    # the thread policy against the best fixed setting of each cell
    th = []
    for c in cells:
        a = c["methods"].get("auto", {}).get("time_s")
        fixed = [c["methods"].get(k, {}).get("time_s") for k in ("auto-t1", "auto-t2")]
        fixed = [f for f in fixed if f]
        if a and fixed:
            th.append((a / min(fixed), c["label"]))
    if th:
        out["policy_over_best_threads"] = {"median": statistics.median(r for r, _ in th), "max": max(th)[0],
                                           "worst_cell": max(th)[1], "cells": len(th),
                                           "over_1.1": [lbl for r, lbl in th if r > 1.1]}
    # time per product against the compiled kernel's byte floor, cells with nnz >= 1e6
    fl = [(c["methods"]["auto"]["per_matvec_vs_kernel_floor"], c["label"]) for c in cells
          if c["nnz"] >= 1e6 and c["methods"].get("auto", {}).get("per_matvec_vs_kernel_floor")]
    if fl:
        out["auto_per_product_vs_kernel_floor"] = {"median": statistics.median(r for r, _ in fl),
                                                   "max": max(fl)[0], "worst_cell": max(fl)[1],
                                                   "cells": len(fl), "within_2x": sum(r <= 2 for r, _ in fl)}
    return out


_COMPILE_PROBE = r"""
import json, time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
from bipartite_expanders import top_singular_values
from bipartite_expanders.solvers import kernels
t1 = time.perf_counter()
kernels.compiled_module()
t2 = time.perf_counter()
rng = np.random.default_rng(0)
for data in ("pattern", "values"):
    B = sp.random_array((600, 200), density=0.05, rng=rng, format="csr")
    if data == "pattern":
        B.data[:] = 1.0
    for solver in ("lanczos", "arpack"):
        top_singular_values(B, 2, solver=solver, kernel="numba", threads=1)
t3 = time.perf_counter()
print(json.dumps({"import_package_s": t1 - t0, "import_numba_s": t2 - t1, "first_solves_s": t3 - t2}))
"""


def compile_times() -> dict[str, Any]:
    """numba's costs in fresh processes: the first-ever compile (an empty cache directory)
    and the first use with the cache warm, for the kernels a pattern and a weighted matrix
    need through Lanczos and ARPACK (serial kernels; ``auto`` loads numba only for a matrix
    of ``MatrixOperator.NUMBA_FROM_NNZ`` entries or more)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        for label in ("cold_cache", "warm_cache"):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _COMPILE_PROBE], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                out[label] = {"error": done.stderr[-500:]}
                continue
            out[label] = {**json.loads(done.stdout), "process_wall_s": wall}
    return out


# ------------------------------------------------------------------ CLI
def _shape(text: str) -> tuple[int, int]:
    try:
        a, b = text.lower().split("x")
        m, n = int(a), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must look like 784x300; got {text!r}") from None
    if m < 1 or n < 1:
        raise argparse.ArgumentTypeError(f"--shape sides must be positive; got {text!r}")
    return m, n


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``bench eigensolvers`` (cheap: imports nothing heavy)."""
    parser.add_argument("--quick", action="store_true", help="small grid, about a minute")
    parser.add_argument("--shape", type=_shape, action="append", help="MxN (repeatable); replaces the grid's shapes")
    parser.add_argument("--density", type=float, action="append", help="density (repeatable); replaces the grid's")
    parser.add_argument("--weights", choices=WEIGHTS, action="append", help="mask or absw (repeatable)")
    parser.add_argument("--methods", help="comma-separated subset of backends, auto, auto-scipy, auto-t1, auto-t2, study, adjacency")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (median); default 3")
    parser.add_argument("--slow", type=float, default=3.0, help="a method whose first run takes longer is run once")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of the baselines (threadpoolctl; the backends follow the thread policy or auto-t1/auto-t2); default 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-warm", action="store_true", help="skip the warm-start rows")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip measuring numba's first-ever compile time (two fresh processes)")
    parser.add_argument("--json", metavar="FILE", help="write all measurements as JSON (after every cell)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the cells already in --json FILE (also those outside this run's grid)")
    parser.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")


def run(args: argparse.Namespace) -> int:
    """Run the grid and print the Markdown tables."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional dependency (the "all" extra): run with the BLAS defaults
        import contextlib

        def threadpool_limits(_: int) -> Any:
            print("threadpoolctl is not installed: --threads is ignored", file=sys.stderr)
            return contextlib.nullcontext()

    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1; got {args.repeats}")
    shapes = args.shape or (QUICK_SHAPES if args.quick else DEFAULT_SHAPES)
    densities = args.density or (QUICK_DENSITIES if args.quick else DENSITIES)
    for d in densities:
        if not 0 < d <= 1:
            raise ValueError(f"--density must be in (0, 1]; got {d}")
    weights = args.weights or WEIGHTS
    methods = available_methods()
    if args.methods:
        asked = [x.strip() for x in args.methods.split(",") if x.strip()]
        bad = [x for x in asked if x not in methods]
        if bad:
            raise ValueError(f"--methods: unknown {bad}; valid: {methods}")
        methods = asked
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    import platform

    done: dict[str, dict[str, Any]] = {}
    old_warm: list[dict[str, Any]] = []
    if args.resume and args.json and os.path.exists(args.json):
        with open(args.json) as fh:
            previous = json.load(fh)
        done = {c["label"]: c for c in previous.get("cells", [])}
        old_warm = previous.get("warm", [])
        log(f"resuming: {len(done)} cells already in {args.json}")

    load_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else []
    compile_info: dict[str, Any] = {}
    if args.resume and args.json and os.path.exists(args.json):
        compile_info = previous.get("compile", {})
    if not args.no_compile and not compile_info:
        compile_info = compile_times()
        log(f"numba first use: {json.dumps(compile_info)}")
    # a warm process: numba loaded, so "auto" uses the compiled kernels on every sparse matrix
    from bipartite_expanders.solvers.kernels import compiled_module, numba_available

    if numba_available():
        compiled_module()

    def results_of(cells: list[dict[str, Any]], warm: list[dict[str, Any]], bw: float) -> dict[str, Any]:
        return {
            "meta": {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
                     "threads": args.threads, "bandwidth_gbs": bw / 1e9, "repeats": args.repeats,
                     "slow_s": args.slow, "seed": args.seed, "argv": sys.argv[1:], "load_average": load_start,
                     "load_average_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else []},
            # columns: every method measured in some cell (a resumed run may have used fewer)
            "methods": [x for x in available_methods() if x in methods or any(x in c["methods"] for c in cells)],
            "cells": cells,
            "summary": summarise(cells),
            "warm": warm,
            "compile": compile_info,
        }

    with threadpool_limits(args.threads):
        bw = memory_bandwidth()
        log(f"copy bandwidth {bw / 1e9:.1f} GB/s")
        grid = {f"{m}x{n}, {d:g}, {w}" for (m, n) in shapes for d in densities for w in weights}
        cells = [c for label, c in done.items() if label not in grid]  # kept from earlier runs
        for (m, n) in shapes:
            for d in densities:
                for w in weights:
                    label = f"{m}x{n}, {d:g}, {w}"
                    if label in done:
                        cells.append(done[label])
                        continue
                    B = make_layer(m, n, d, w, args.seed)
                    log(f"{label} (nnz {B.nnz})")
                    c = run_cell(B, methods, args.repeats, bw, args.slow, args.quick, log)
                    c["label"] = label
                    c["weights"] = w
                    cells.append(c)
                    del B
                    if args.json:  # one record per finished cell: an interrupted run resumes
                        write_json(args.json, results_of(cells, old_warm, bw), indent=1)
        warm = old_warm
        if not args.no_warm:
            warm = []
            rows = [((784, 300), 0.1, "absw"), ((3000, 2000), 0.01, "mask")] if args.quick else \
                [((784, 300), 0.1, "absw"), ((3000, 2000), 0.01, "mask"), ((3000, 2000), 0.01, "absw"),
                 ((4096, 11008), 0.01, "absw"), ((4608, 512), 0.1, "absw")]
            for shape, d, w in rows:
                r = warm_start_row(shape, d, w, 0.2, args.repeats, args.seed)
                log(f"warm start {shape} {d} {w}: cold {r['cold_s'] * 1e3:.1f} ms warm {r['warm_s'] * 1e3:.1f} ms "
                    f"({r['cold_matvec']} / {r['warm_matvec']} mat-vecs)")
                warm.append(r)
    results = results_of(cells, warm, bw)
    text = markdown(results)
    print(text)
    if args.json:
        write_json(args.json, results, indent=1)
    if args.markdown:
        atomic_write(args.markdown, text)
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="benchmarks/eigensolver_grid.py", description=(__doc__ or "").splitlines()[0])
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
