"""Fixed cost of a small solve: Golub-Kahan-Lanczos with its steps in Python (scipy's kernels)
against its steps compiled (numba), on the benchmark's small shapes.

    python benchmarks/lanczos_loop.py [--budget 0.5]

Prints a Markdown table of CPU time per solve (``time.process_time``, median of batches over
about ``--budget`` seconds per entry; the machine may be shared), the mat-vec counts, and the
load average before and after.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from threadpoolctl import threadpool_limits  # noqa: E402

from bipartite_expanders import top_singular_values  # noqa: E402
from eigensolver_grid import DENSITIES, QUICK_SHAPES, WEIGHTS, make_layer  # noqa: E402
from bipartite_expanders.solvers.kernels import compiled_module  # noqa: E402


def cpu_per_call(f, budget: float) -> float:
    """Median CPU seconds per call over batches of about ``budget / 5`` seconds each."""
    f()
    batches = []
    for _ in range(5):
        t0, n = time.process_time(), 0
        while time.process_time() - t0 < budget / 5 or n == 0:
            f()
            n += 1
        batches.append((time.process_time() - t0) / n)
    return statistics.median(batches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.5, help="CPU seconds per entry (default 0.5)")
    args = parser.parse_args()
    compiled_module()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| cell | products | Python steps (scipy kernels), ms | compiled steps (numba), ms | ratio |")
    print("|---|---|---|---|---|")
    ratios = []
    with threadpool_limits(1):
        for m, n in QUICK_SHAPES:
            for d in DENSITIES:
                if d >= 1.0:
                    continue  # a constant mask is solved in closed form; |W| at density 1 is dense BLAS
                for w in WEIGHTS:
                    B = make_layer(m, n, d, w)
                    res = top_singular_values(B, 2, solver="lanczos", kernel="numba", threads=1, full_output=True)
                    ref = top_singular_values(B, 2, solver="lanczos", kernel="scipy", threads=1, full_output=True)
                    py = cpu_per_call(lambda: top_singular_values(B, 2, solver="lanczos", kernel="scipy", threads=1),
                                      args.budget)
                    nb = cpu_per_call(lambda: top_singular_values(B, 2, solver="lanczos", kernel="numba", threads=1),
                                      args.budget)
                    ratios.append(py / nb)
                    print(f"| {m}x{n}, {d:g}, {w} | {ref.n_matvec} / {res.n_matvec} | {py * 1e3:.2f} | "
                          f"{nb * 1e3:.2f} | {py / nb:.2f}x |", flush=True)
    print(f"\nmedian ratio {statistics.median(ratios):.2f}x; load average after: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
