"""One product at a time: the compiled kernels against scipy's and against the byte floor.

    python benchmarks/kernel_products.py [--min-nnz 1e6] [--budget 1.0]

On the eigensolver grid's cells with at least ``--min-nnz`` stored entries (0/1 masks and
|N(0,1)| weights), the time of ``B x``, ``B^T y`` and the fused smaller-Gram product with
scipy's CSR kernels (``MatrixOperator(kernel="scipy")``) and the compiled ones
(``kernel="numba"``, one and two threads), each as a multiple of the byte floor: the bytes
the compiled kernel reads (index 2 or 4 bytes, value 8 bytes unless the matrix is a pattern,
row pointers, vectors) over the machine's copy bandwidth. CPU time per product
(``time.process_time``, so a shared machine's other processes count less) and wall time for
the two-thread rows (CPU time sums the threads). Prints a Markdown table with the load average.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from eigensolver_grid import (  # noqa: E402
    DEFAULT_SHAPES, DENSITIES, WEIGHTS, kernel_bytes, make_layer, memory_bandwidth,
)
from bipartite_expanders.solvers import MatrixOperator  # noqa: E402
from bipartite_expanders.solvers.threads import solve_threads  # noqa: E402


def per_call(f, budget: float, clock) -> float:
    f()
    batches = []
    for _ in range(5):
        t0, n = clock(), 0
        while clock() - t0 < budget / 5 or n == 0:
            f()
            n += 1
        batches.append((clock() - t0) / n)
    return statistics.median(batches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-nnz", type=float, default=1e6)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per entry (default 1)")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with threadpool_limits(1):
        bw = memory_bandwidth()
    print(f"copy bandwidth {bw / 1e9:.1f} GB/s\n")
    print("| cell | floor ms | scipy Bx / Bᵀy / gram ÷ floor | numba 1 thread Bx / Bᵀy / gram ÷ floor | "
          "numba 2 threads (wall) Bx / Bᵀy / gram ÷ floor |")
    print("|---|---|---|---|---|")
    for m, n in DEFAULT_SHAPES:
        for d in DENSITIES:
            for w in WEIGHTS:
                if m * n * d < args.min_nnz or d >= 0.3:  # density >= 0.3 is multiplied as a dense array
                    continue
                B = make_layer(m, n, d, w)
                floor = kernel_bytes(B, dense=False) / bw
                x, y = np.random.default_rng(0).standard_normal(n), np.random.default_rng(1).standard_normal(m)
                left = m <= n
                z = y if left else x
                row = [f"{m}x{n}, {d:g}, {w}", f"{floor * 1e3:.2f}"]
                for kernel, threads, clock in (("scipy", 1, time.process_time), ("numba", 1, time.process_time),
                                               ("numba", 2, time.perf_counter)):
                    op = MatrixOperator(B, kernel=kernel, threads=threads)
                    with solve_threads(op.threads, 1):
                        # the fused product is one pass for the compiled kernels, two for scipy
                        ts = [per_call(f, args.budget, clock) for f in
                              (lambda: op.mv(x), lambda: op.rmv(y), lambda: op.gram(z, left))]
                    # the Gram product reads the matrix once when fused, twice otherwise
                    reads = [1, 1, 1 if op.compiled is not None else 2]
                    row.append(" / ".join(f"{t / (r * floor):.1f}" for t, r in zip(ts, reads)))
                print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
