"""Small layers: the library's default against scipy's exact solvers, interleaved (issue 23, item 6).

Run it as ``OMP_NUM_THREADS=1 python benchmarks/small_cells.py`` from a checkout (a few minutes;
``--repeats`` sets the interleaved rounds, ``--study`` adds every backend of the library, which is
how the ``"auto"`` rule for small cells was measured, ``--out`` writes the table to a file too).

* grid: random 0/1 masks (and ``|N(0,1)|`` weights with ``--weights absw``) of shapes 300x100 to
  3072x768 at densities 1-10 %, cells below 60,000 stored entries;
* per cell, median wall milliseconds over rounds that alternate every method once (so load
  drifts reach all of them alike): ``svds`` with ARPACK (``tol=0``), ``svds`` with PROPACK
  (``tol=0``, ``maxiter`` the smaller side: with its default of ``10 k`` Lanczos steps PROPACK
  stops with "did not converge" on every cell here), dense LAPACK (``scipy.linalg.svdvals`` on
  ``toarray()``, conversion included), the library's ``top_singular_values(B, 2)`` with its
  defaults, and a default ``ramanujan_report``;
* ratios: default over the fastest of the two ``svds`` (the target: at most 1), default over the
  fastest of all three scipy paths, the report over one ``svds`` (the fastest one);
* products: mat-vecs of each ``svds`` call and of the default (counted by a wrapping operator in
  a separate, untimed call), and the largest relative difference of ``t1, t2`` from LAPACK;
* checks: the share of a default call (cProfile, 20 calls) spent validating and copying the
  input, testing whether ``t1`` is simple (Perron-Frobenius: non-negative and connected apart
  from isolated vertices, else a deflation solve follows) and computing the residuals;
* ``svds`` is timed as the issue states it, returning singular vectors (the library computes
  them too: its check needs them); ``default/svds values only`` compares with the faster of the
  two called with ``return_singular_vectors=False``.

Each method's first call is made before the rounds (imports, caches). A method more than 20x
slower than the fastest after the first round (dense LAPACK on the larger cells) is timed in
only 3 rounds.

``--before DIR`` (with ``--large``, also the grid's Lanczos cells of 4e5-1e6 entries) instead compares ``top_singular_values(B, 2)`` of the package in ``DIR`` (e.g. a
``git archive`` of the previous commit) with this checkout's on the eigensolver grid's cells that
the small-cell rule can reach (``benchmarks/eigensolver_grid.py``'s layers, nnz <= 1.1e5), in two
worker processes asked in turns (round by round, so load drifts reach both alike).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from bipartite_expanders import ramanujan_report, top_singular_values
from bipartite_expanders.spectrum import choose_solver

__all__ = ["GRID", "make_layer", "run_cell", "main"]

SHAPES = [(300, 100), (500, 500), (784, 300), (1000, 1000), (2000, 1000), (3072, 768)]
DENSITIES = [0.01, 0.02, 0.03, 0.05, 0.1]
MAX_NNZ = 60_000
GRID = [(m, n, d) for (m, n) in SHAPES for d in DENSITIES if m * n * d <= MAX_NNZ]
STUDY_BACKENDS = ["dense", "gram", "arpack", "propack", "lanczos"]


def make_layer(m: int, n: int, density: float, weights: str = "mask", seed: int = 0) -> sp.csr_array:
    """A uniform random 0/1 mask of the given density, optionally times ``|N(0,1)|``."""
    rng = np.random.default_rng(seed)
    B = sp.random_array((m, n), density=density, rng=rng, format="csr", dtype=np.float64)
    B.data = np.abs(rng.standard_normal(B.nnz)) if weights == "absw" else np.ones(B.nnz)
    return B


def svds_arpack(B: Any, vectors: bool = True) -> Any:
    return spla.svds(B, k=2, solver="arpack", tol=0, return_singular_vectors=vectors, rng=np.random.default_rng(0))


def svds_propack(B: Any, vectors: bool = True) -> Any:
    return spla.svds(B, k=2, solver="propack", tol=0, maxiter=min(B.shape), return_singular_vectors=vectors,
                     rng=np.random.default_rng(0))


def dense_lapack(B: sp.csr_array) -> np.ndarray:
    return sla.svdvals(B.toarray(), check_finite=False)[:2]


class _Counting(spla.LinearOperator):
    def __init__(self, B: sp.csr_array):
        self.B, self.count = B, 0
        super().__init__(dtype=np.float64, shape=B.shape)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.B @ x

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.B.T @ y

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        self.count += X.shape[1]
        return self.B @ X

    def _rmatmat(self, Y: np.ndarray) -> np.ndarray:
        self.count += Y.shape[1]
        return self.B.T @ Y


def svds_products(f: Callable[[Any], Any], B: sp.csr_array) -> int | None:
    op = _Counting(B)
    try:
        f(op)
    except Exception:  # noqa: BLE001 (a failed baseline is reported as such)
        return None
    return op.count


#: the pieces of a default call that check rather than solve: input validation and copy, the
#: Perron-Frobenius test that decides whether a deflation solve is needed, the residuals
CHECK_PIECES = ("_as_matrix", "_top_is_simple", "pair_residuals")


def check_share(B: sp.csr_array, calls: int = 20) -> float:
    """The fraction of a default call spent in :data:`CHECK_PIECES` (cProfile over ``calls``)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        top_singular_values(B, 2)
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = sum(v[3] for k, v in stats.items() if k[2] == "top_singular_values")
    checks = sum(v[3] for k, v in stats.items() if k[2] in CHECK_PIECES)
    return checks / total if total else float("nan")


def run_cell(B: sp.csr_array, repeats: int, study: bool = False) -> dict[str, Any]:
    """Median milliseconds of every method on ``B``, in interleaved rounds, and the ratios."""
    methods: dict[str, Callable[[], Any]] = {
        "svds-arpack": lambda: svds_arpack(B),
        "svds-propack": lambda: svds_propack(B),
        "dense": lambda: dense_lapack(B),
        "default": lambda: top_singular_values(B, 2),
        "arpack-values": lambda: svds_arpack(B, False),
        "propack-values": lambda: svds_propack(B, False),
        "report": lambda: ramanujan_report(B),
    }
    if study:
        for name in STUDY_BACKENDS:
            methods[f"lib-{name}"] = (lambda s: lambda: top_singular_values(B, 2, solver=s))(name)
    failed: dict[str, str] = {}
    for name, f in list(methods.items()):
        try:
            f()
        except Exception as exc:  # noqa: BLE001
            failed[name] = f"{type(exc).__name__}: {exc}"[:80]
            del methods[name]
    times: dict[str, list[float]] = {name: [] for name in methods}
    slow: set[str] = set()
    for r in range(repeats):
        for name, f in methods.items():
            if name in slow and r >= 3:
                continue
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
        if r == 0:
            best = min(v[0] for v in times.values())
            slow = {name for name, v in times.items() if v[0] > 20 * best}
    ms = {name: 1e3 * statistics.median(v) for name, v in times.items()}
    ref = sla.svdvals(B.toarray())[:2]
    res = top_singular_values(B, 2, full_output=True)
    err = float(np.max(np.abs(res.values - ref) / np.maximum(ref, 1e-300 + ref[0] * 1e-12)))
    fastest_svds = min(ms.get("svds-arpack", np.inf), ms.get("svds-propack", np.inf))
    fastest_scipy = min(fastest_svds, ms.get("dense", np.inf))
    return {
        "ms": ms, "failed": failed, "solver": res.solver, "verified": res.verified, "err": err,
        "products": {"svds-arpack": svds_products(svds_arpack, B), "svds-propack": svds_products(svds_propack, B),
                     "default": int(res.n_matvec)},
        "default_over_svds": ms["default"] / fastest_svds,
        "default_over_values": ms["default"] / min(ms.get("arpack-values", np.inf), ms.get("propack-values", np.inf)),
        "default_over_scipy": ms["default"] / fastest_scipy,
        "report_over_svds": ms["report"] / fastest_svds if "report" in ms else float("nan"),
        "check_share": check_share(B),
    }


def _fmt(x: float | None) -> str:
    return "fails" if x is None or not np.isfinite(x) else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def table(rows: list[tuple[str, int, dict[str, Any]]], study: bool) -> list[str]:
    head = ["cell", "nnz", "svds-arpack", "svds-propack", "dense", "default", "solver", "default/svds",
            "default/scipy", "default/svds values only", "report", "report/svds", "checks",
            "products arpack/propack/default", "max rel err"]
    if study:
        head[6:6] = [f"lib-{s}" for s in STUDY_BACKENDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, nnz, c in rows:
        ms = c["ms"]
        p = c["products"]
        cells = [label, str(nnz), _fmt(ms.get("svds-arpack")), _fmt(ms.get("svds-propack")), _fmt(ms.get("dense")),
                 _fmt(ms["default"]), c["solver"] + ("" if c["verified"] else " (unverified)"),
                 f"{c['default_over_svds']:.2f}", f"{c['default_over_scipy']:.2f}", f"{c['default_over_values']:.2f}",
                 _fmt(ms.get("report")),
                 f"{c['report_over_svds']:.1f}", f"{100 * c['check_share']:.0f} %",
                 "/".join("-" if p[k] is None else str(p[k]) for k in ("svds-arpack", "svds-propack", "default")),
                 f"{c['err']:.1e}"]
        if study:
            cells[6:6] = [_fmt(ms.get(f"lib-{s}")) for s in STUDY_BACKENDS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: eigensolver-grid cells (benchmarks/eigensolver_grid.py) the small-cell changes can reach
_BEFORE_AFTER_SHAPES = [(300, 100, 0.1), (300, 100, 0.01), (784, 300, 0.1), (784, 300, 0.01), (784, 300, 0.001),
                        (4608, 512, 0.01), (4608, 512, 0.001), (4096, 11008, 0.001), (25088, 4096, 0.001)]
BEFORE_AFTER_CELLS = [(m, n, d, w) for (m, n, d) in _BEFORE_AFTER_SHAPES for w in ("mask", "absw")]
#: ``--large``: the eigensolver grid's Lanczos cells past the small-cell reach (the convergence
#: check's schedule and compiled form change every Lanczos solve)
LARGE_CELLS = [(m, n, d, w) for (m, n, d) in [(4096, 11008, 0.01), (25088, 4096, 0.01)] for w in ("mask", "absw")]

_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from eigensolver_grid import make_layer
import bipartite_expanders
from bipartite_expanders import top_singular_values
print(json.dumps(bipartite_expanders.__file__), flush=True)
layers = {}
for line in sys.stdin:
    m, n, d, w, reps = line.split()
    key = (int(m), int(n), float(d), w)
    if key not in layers:
        layers[key] = make_layer(*key)
        top_singular_values(layers[key], 2)  # first call: imports, compiled caches
    B = layers[key]
    out = []
    for _ in range(int(reps)):
        t0 = time.perf_counter()
        res = top_singular_values(B, 2, full_output=True)
        out.append(time.perf_counter() - t0)
    print(json.dumps({"times": out, "solver": res.solver, "values": [float(v) for v in res.values]}), flush=True)
"""


def before_after(before_dir: str, rounds: int, reps: int = 3, large: bool = False) -> list[str]:
    """Median ms of ``top_singular_values(B, 2)``: the package in ``before_dir`` against this checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    workers = {}
    for label, path in (("before", before_dir), ("after", root)):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
        proc = subprocess.Popen([sys.executable, "-c", _WORKER, here], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=env, cwd=tempfile.gettempdir())
        workers[label] = (proc, json.loads(proc.stdout.readline()))
    lines = [f"before: `{workers['before'][1]}`, after: `{workers['after'][1]}`", "",
             "| cell | nnz | before ms | solver | after ms | solver | after/before | values equal to 1e-9 |",
             "|---|---|---|---|---|---|---|---|"]
    try:
        for m, n, d, w in BEFORE_AFTER_CELLS + (LARGE_CELLS if large else []):
            times: dict[str, list[float]] = {"before": [], "after": []}
            info: dict[str, Any] = {}
            for _ in range(rounds):
                for label, (proc, _) in workers.items():
                    proc.stdin.write(f"{m} {n} {d} {w} {reps}\n")
                    proc.stdin.flush()
                    info[label] = json.loads(proc.stdout.readline())
                    times[label] += info[label]["times"]
            b, a = (1e3 * statistics.median(times[k]) for k in ("before", "after"))
            vb, va = np.array(info["before"]["values"]), np.array(info["after"]["values"])
            same = bool(np.all(np.abs(va - vb) <= 1e-9 * vb[0]))
            nnz = int(make_layer_grid(m, n, d, w).nnz)
            lines.append(f"| {m}x{n} @ {d:g} {w} | {nnz} | {_fmt(b)} | {info['before']['solver']} | {_fmt(a)} | "
                         f"{info['after']['solver']} | {a / b:.2f} | {same} |")
            print(lines[-1], file=sys.stderr, flush=True)
    finally:
        for proc, _ in workers.values():
            proc.stdin.close()
            proc.wait()
    return lines


def make_layer_grid(m: int, n: int, density: float, weights: str) -> sp.csr_array:
    """The eigensolver grid's layer (``benchmarks/eigensolver_grid.py``, seed 0)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from eigensolver_grid import make_layer as grid_layer

    return grid_layer(m, n, density, weights)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15, help="interleaved rounds per cell (default 15)")
    ap.add_argument("--study", action="store_true", help="also time every backend of the library")
    ap.add_argument("--weights", choices=["mask", "absw"], default="mask")
    ap.add_argument("--cells", default=None, help="only cells whose label contains this text, e.g. 3072x768")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    ap.add_argument("--before", default=None, metavar="DIR",
                    help="compare the package in DIR with this checkout on eigensolver-grid cells instead")
    ap.add_argument("--large", action="store_true",
                    help="with --before: also the grid's Lanczos cells of 4e5-1e6 entries (a few minutes more)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip() if os.name == "posix" else "?"
    if args.before:
        if not os.path.isdir(os.path.join(args.before, "bipartite_expanders")):
            ap.error(f"--before: {args.before} has no bipartite_expanders package")
        lines = [f"# Eigensolver-grid cells, before and after ({args.repeats} rounds of 3 calls per side)", "",
                 f"load before: `{load}`", ""] + before_after(args.before, args.repeats, large=args.large)
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        lines += ["", f"load after: `{load}`"]
        print("\n".join(lines), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                f.write("\n".join(lines) + "\n")
        return 0
    out = [f"# Small cells ({args.weights}), {args.repeats} interleaved rounds, OMP_NUM_THREADS="
           f"{os.environ.get('OMP_NUM_THREADS', 'unset')}", "", f"load before: `{load}`", ""]
    print("\n".join(out), flush=True)
    rows = []
    for m, n, d in GRID:
        label = f"{m}x{n} @ {d:g}"
        if args.cells and args.cells not in label:
            continue
        B = make_layer(m, n, d, args.weights)
        c = run_cell(B, args.repeats, args.study)
        rows.append((label, int(B.nnz), c))
        print(f"{label}: nnz {B.nnz}, auto rule {choose_solver(B.shape, B.nnz)}, "
              + ", ".join(f"{k} {_fmt(v)} ms" for k, v in c["ms"].items())
              + (f"; failed: {c['failed']}" if c["failed"] else ""), file=sys.stderr, flush=True)
    lines = table(rows, args.study)
    ratios = [c["default_over_svds"] for _, _, c in rows]
    reports = [c["report_over_svds"] for _, _, c in rows]
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip() if os.name == "posix" else "?"
    lines += ["", f"default / fastest svds: median {statistics.median(ratios):.2f}, max {max(ratios):.2f} "
              f"over {len(ratios)} cells; report / fastest svds: median {statistics.median(reports):.1f}, "
              f"max {max(reports):.1f}", "", f"load after: `{load}`"]
    print("\n".join(lines), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(out + lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
