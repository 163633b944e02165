"""The thread policy of a solve: how many threads the BLAS and the compiled kernels use.

A solve never inherits the environment's BLAS thread count: on a machine whose cores are
shared, two BLAS threads made every backend slower, the Gram method up to 10x (4608x512 at
1%: 104 ms with one thread, 4.4 s with two), and ``top_singular_values`` on 1024x1024 at 5%
took 268 ms against 6.4 ms (docs/spectrum.md, "Threads"). So:

* BLAS runs one thread during a solve: the BLAS calls of a Krylov solve are small
  (Gram-Schmidt against a few hundred vectors, small SVDs), and even the Gram method's dense
  ``syrk`` and ``eigh`` (order 100-512) were 1.2-1.9x faster with two threads in one
  measurement and 1.3-50x slower in the next on the same idle machine;
* the compiled sparse kernels split a product into ``min(cores, nnz // KERNEL_NNZ_PER_THREAD)``
  parts, at least one, each with its own accumulator (:func:`kernel_parts`: a function of the
  matrix and the machine, so that a product gives the same floats however many threads run
  it, and a resumed run the records an uninterrupted one writes); ``min(parts, idle cores)``
  threads run them: a parallel launch costs more than it saves on a product that sits in
  cache, and a thread on a core another process is using waits for it (the idle cores are
  ``cores - load average + 1``, this process counted as idle; on an idle machine two threads
  made Lanczos 1.3-1.6x faster from 2.4e5 stored entries, docs/benchmarks/eigensolvers.md);
* ``threads=N`` (or the environment variable ``BIPARTITE_EXPANDERS_THREADS=N``; the keyword
  wins) replaces the idle-core count: ``N`` kernel threads (at most the parts), and ``N`` BLAS
  threads for a dense eigenproblem (the Gram method), one in a Krylov solve: two BLAS threads
  beside two kernel threads leave both pools spinning on the cores (measured 1.3-16x slower
  than one thread on Lanczos solves of 1e5-4.5e6 stored entries).

>>> with solve_threads(1) as n:
...     n
1
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .kernels import compiled_loaded, compiled_module

__all__ = ["ENV_THREADS", "KERNEL_NNZ_PER_THREAD", "available_cores", "idle_cores", "kernel_parts", "policy_threads",
           "resolve_threads", "solve_threads"]

#: environment variable overriding the policy (a positive integer)
ENV_THREADS = "BIPARTITE_EXPANDERS_THREADS"
#: the compiled kernels split a product into one more part per this many stored entries
KERNEL_NNZ_PER_THREAD = 100_000

_CONTROLLER: Any = None


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def idle_cores() -> float:
    """Cores not used by other processes: ``cores - load average (1 min) + 1`` (the calling
    process counts as one of the load's runners); all cores where no load average exists."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return float(cores)
    return min(float(cores), cores - load + 1.0)


def kernel_parts(nnz: int) -> int:
    """How many parts (each with its own accumulator) the compiled kernels split a product of
    a matrix with ``nnz`` stored entries into: ``min(cores, nnz // KERNEL_NNZ_PER_THREAD)``,
    at least one. It does not depend on the load or on ``threads=``: the kernels' floats do not
    either (``threads=N`` also sets the BLAS threads, whose reductions may)."""
    return max(1, min(available_cores(), int(nnz) // KERNEL_NNZ_PER_THREAD))


def policy_threads(nnz: int) -> int:
    """The kernels' thread count the policy picks for a matrix with ``nnz`` stored entries:
    its :func:`kernel_parts`, at most the idle cores."""
    parts = kernel_parts(nnz)
    if parts <= 1:
        return 1
    return max(1, min(parts, int(idle_cores() + 0.5)))


def _positive(value: Any, name: str) -> int:
    if isinstance(value, str) and name == ENV_THREADS and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def resolve_threads(threads: int | None, nnz: int, dense: bool = False) -> tuple[int, int]:
    """``(kernel_threads, blas_threads)`` for a solve (``dense``: one whose work is a dense
    eigenproblem, the Gram method): the keyword, else the environment variable
    :data:`ENV_THREADS`, else the policy (:func:`policy_threads`, one BLAS thread)."""
    if threads is not None:
        n = _positive(threads, "threads")
    else:
        env = os.environ.get(ENV_THREADS, "").strip()
        if not env:
            return policy_threads(nnz), 1
        n = _positive(env, ENV_THREADS)
    return n, (n if dense else 1)


def _blas_controller() -> Any:
    """A threadpoolctl controller of the BLAS libraries loaded now (None without threadpoolctl)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # threadpoolctl is a core dependency; a broken install runs unlimited
            return None
        _CONTROLLER = ThreadpoolController().select(user_api="blas")
    return _CONTROLLER


@contextmanager
def solve_threads(kernel_threads: int, blas_threads: int | None = None, parallel: bool = False) -> Iterator[int]:
    """Run the enclosed solve with ``blas_threads`` BLAS threads (default 1) and
    ``kernel_threads`` compiled-kernel threads (numba's count in this thread, when loaded and
    more than one, or whenever ``parallel``: the solve runs the parallel kernels, which must
    then use exactly this many; capped by what its threading layer allows); both are restored
    on exit. Yields the kernel thread count."""
    blas = _blas_controller()
    libs = [] if blas is None else blas.lib_controllers
    before = [lib.num_threads for lib in libs]
    want = 1 if blas_threads is None else blas_threads
    for lib in libs:
        if lib.num_threads != want:
            lib.set_num_threads(want)
    numba_before = None
    kernel_threads = max(1, int(kernel_threads))
    # numba's thread count matters only to the parallel kernels; asking for it starts its
    # threading layer, so a serial solve leaves numba alone
    if (kernel_threads > 1 or parallel) and compiled_loaded():
        cm = compiled_module()
        kernel_threads = min(kernel_threads, cm.max_threads())
        if kernel_threads > 1 or parallel:
            numba_before = cm.get_threads()
            cm.set_threads(kernel_threads)
    try:
        yield kernel_threads
    finally:
        for lib, n in zip(libs, before):
            if lib.num_threads != n:
                lib.set_num_threads(n)
        if numba_before is not None:
            compiled_module().set_threads(numba_before)
