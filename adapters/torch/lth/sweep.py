"""Run a grid of lottery-ticket runs on a local process pool or on a Ray cluster.

Each run is the pipeline's own hashed, resumable run directory
(``OUT/<model>_<dataset>_<pruner>[-bound]_<hash>``, :func:`~bipartite_expanders.adapters.torch.lth.runner.run_lottery`),
so a rerun of a sweep skips finished runs, resumes unfinished ones after their last record, and a
crashed worker loses at most the round it had in flight. Executors:

- ``local`` (default, no extra dependency): a ``concurrent.futures`` process pool with the
  ``spawn`` start method; ``workers`` processes (default: cores // ``num_cpus``).
- ``ray``: one Ray task per run with the grid's ``num_cpus`` / ``num_gpus`` / ``memory_gb``
  request; a local Ray instance when no ``address`` is given, else the cluster there
  (``"auto"``, ``"ray://head:10001"``, ...). Needs the ``ray`` extra.

Every run uses ``num_cpus`` torch/BLAS threads (fewer if the local pool would oversubscribe the
cores), set before torch starts in the worker, so runs on different executors give the same
records. A run that raises is reported (its error summarised) and the rest of the grid
continues; a run whose worker died is resubmitted up to ``retries`` times (it resumes after its
last record). ``OUT/sweep.json`` lists every run with its status.

This module's top level imports neither torch nor ray.

>>> from bipartite_expanders.adapters.torch.lth.grid import parse_grid
>>> import tempfile
>>> g = parse_grid({"base": {"training": {"iterations": 10}, "pruning": {"rounds": 0},
...                          "dataset": {"noise": []}}, "grid": {"seed": [0, 1]}})
>>> res = run_sweep(g, tempfile.mkdtemp(), workers=1, progress=False)
>>> [o.status for o in res.outcomes], res.ok
(['done', 'done'], True)
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .grid import Grid, Resources

__all__ = ["run_sweep", "run_one", "probe_address", "SweepResult", "RunOutcome", "EXECUTORS", "summarise_error", "thread_env",
           "format_outcomes"]

EXECUTORS = ("local", "ray")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """The BLAS/OpenMP environment of a worker with ``threads`` threads.

    >>> thread_env(2)["OMP_NUM_THREADS"]
    '2'
    """
    return {v: str(int(threads)) for v in _THREAD_VARS}


def _limit_threads(threads: int) -> None:
    """Before torch/numpy start their pools in a fresh worker; torch's own count is set by the run."""
    os.environ.update(thread_env(threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)  # for pools already loaded (numpy imported by the spawn bootstrap)
    except ImportError:  # pragma: no cover - threadpoolctl is in the `all` extra
        pass


def run_one(hparams: dict[str, Any], out: str, data_dir: str | None = None, threads: int = 1,
            stop_after: int | None = None, allow_dense_layers: bool = False) -> dict[str, Any]:
    """Run (or resume) one run in a worker; returns a small JSON-safe summary.

    This is what a process-pool worker or a Ray task executes; ``hparams`` is
    :meth:`Hparams.to_dict` (plain data travels to any worker)."""
    _limit_threads(threads)
    from .hparams import Hparams
    from .runner import run_lottery

    h = Hparams.from_dict(hparams)
    t = time.perf_counter()
    res = run_lottery(h, out, data_dir=data_dir, progress=False, threads=threads, stop_after=stop_after,
                      allow_dense_layers=allow_dense_layers)
    last = res.records[-1]
    return {"run": h.run_name(), "rounds": len(res.records), "resumed_from": res.resumed_from, "stop": last.stop,
            "density": last.density["total"], "accuracy": last.accuracy["clean"],
            "seconds": time.perf_counter() - t, "host": socket.gethostname(), "pid": os.getpid()}


def summarise_error(exc: BaseException, limit: int = 300) -> str:
    """One line: the original exception's type and message, and where it was raised.

    Ray wraps a task's exception (``RayTaskError.cause``); a process pool chains the worker's
    traceback text as ``__cause__``."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    msg = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {msg[0] if msg else ''}"
    tb = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    remote = str(exc.__cause__) if exc.__cause__ is not None else ""
    where = ""
    if "File " in remote:  # concurrent.futures' _RemoteTraceback: the worker's frames
        frames = [ln.strip() for ln in remote.splitlines() if ln.strip().startswith("File ")]
        where = frames[-1] if frames else ""
    elif tb:
        where = f'File "{tb[-1].filename}", line {tb[-1].lineno}, in {tb[-1].name}'
    if where:
        text += f"  [{where}]"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class RunOutcome:
    """One run of a sweep: ``status`` is ``done`` (reached its stop), ``partial`` (returned at
    ``stop_after``), ``skipped`` (already finished before this sweep) or ``failed``."""

    name: str
    hparams: Any
    status: str = "queued"
    error: str | None = None
    summary: dict[str, Any] | None = None
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.name, "hash": self.hparams.hash(), "label": self.hparams.pruning.label,
                "seed": self.hparams.seed, "status": self.status, "error": self.error, "attempts": self.attempts,
                "summary": self.summary}


@dataclass
class SweepResult:
    """What a sweep did, run by run, in grid order."""

    out: Path
    executor: str
    outcomes: list[RunOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for o in self.outcomes:
            c[o.status] = c.get(o.status, 0) + 1
        return c


# ------------------------------------------------------------------ executors
class _Local:
    """A spawn process pool; a pool broken by a dead worker is replaced."""

    name = "local"

    def __init__(self, workers: int, threads: int) -> None:
        self.workers, self.threads = workers, threads
        self._pool = self._new_pool()

    def _new_pool(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: no forked torch/OpenMP state, and the same start method on every OS
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_limit_threads, initargs=(self.threads,))

    def submit(self, *args: Any) -> Any:
        return self._pool.submit(run_one, *args)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        return list(wait(handles, timeout=timeout, return_when=FIRST_COMPLETED).done)

    def result(self, handle: Any) -> dict[str, Any]:
        return handle.result()

    def worker_died(self, exc: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return True
        return False

    def close(self, abort: bool = False) -> None:
        if abort:  # Ctrl-C: do not wait for the runs in flight (they resume on the next sweep)
            terminate = getattr(self._pool, "terminate_workers", None)  # Python >= 3.14
            procs = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            if terminate is not None:
                terminate()
            else:
                for p in procs:
                    p.terminate()
        else:
            self._pool.shutdown(wait=True)


#: seconds a Ray address gets to answer a TCP connection before the sweep fails (ray.init itself
#: retries an address that does not answer for minutes)
RAY_CONNECT_TIMEOUT_S = 10.0


def probe_address(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail within ``timeout`` seconds, naming the address, when a ``host:port`` (or
    ``ray://host:port``) Ray address does not accept a TCP connection; ``"auto"`` and other
    forms are left to Ray."""
    import socket

    target = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConnectionError(f"Ray address {address!r} does not answer within {timeout:g} s "
                              f"({exc.strerror or exc}); is the cluster up?") from None


class _Ray:
    """One Ray task per run; ``max_retries`` covers dead workers and nodes (not exceptions)."""

    name = "ray"

    def __init__(self, address: str | None, workers: int | None, resources: Resources, retries: int,
                 runtime_env: dict[str, Any] | None) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("the ray executor needs Ray: pip install 'bipartite-expanders[ray]' (or pip install ray)") from None
        self.ray = ray
        self._started = False
        env = dict(runtime_env or {})
        env_vars = {**thread_env(resources.threads), **env.get("env_vars", {})}
        if address is None:
            # a local instance: workers import this very checkout, wherever the driver found it
            root = str(Path(__file__).resolve().parents[3])
            pp = os.environ.get("PYTHONPATH")
            env_vars.setdefault("PYTHONPATH", root + (os.pathsep + pp if pp else ""))
        env["env_vars"] = env_vars
        if not ray.is_initialized():
            if address is not None:
                probe_address(address)
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address is None and workers is not None:
                kw["num_cpus"] = int(workers * resources.num_cpus)
            ray.init(address=address, **kw)
            self._started = True
        have = ray.cluster_resources()
        short = [f"{k} {need:g} per run, the cluster has {have.get(k, 0):g}" for k, need in
                 (("CPU", resources.num_cpus), ("GPU", resources.num_gpus)) if need > have.get(k, 0)]
        if short:  # the tasks would wait for ever on a cluster that cannot grow
            msg = "the grid's [resources] exceed the Ray cluster: " + "; ".join(short)
            if self._started and address is None:
                self.close()
                raise ValueError(msg)
            print(f"warning: {msg} (tasks wait until nodes join)", file=sys.stderr)
        self.task = ray.remote(run_one).options(max_retries=retries, retry_exceptions=False, runtime_env=env,
                                                **resources.ray_options())

    def submit(self, *args: Any) -> Any:
        return self.task.remote(*args)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        done, _ = self.ray.wait(list(handles), num_returns=1, timeout=timeout)
        return done

    def result(self, handle: Any) -> dict[str, Any]:
        return self.ray.get(handle)

    def worker_died(self, exc: BaseException) -> bool:
        return False  # Ray already retried it max_retries times

    def close(self, abort: bool = False) -> None:
        if self._started:
            self.ray.shutdown()


def _default_workers(resources: Resources) -> int:
    return max(1, int((os.cpu_count() or 1) // resources.num_cpus))


def _is_finished(run_dir: Path, stop_after: int | None) -> bool:
    from .rundir import RecordError, is_run_dir, read_records

    if not is_run_dir(run_dir):
        return False
    try:
        recs = read_records(run_dir)
    except RecordError:  # the run repairs it when it resumes
        return False
    return bool(recs) and (recs[-1].stop is not None or (stop_after is not None and recs[-1].round >= stop_after))


def _count_rounds(out: Path, names: Sequence[str]) -> int:
    from .rundir import count_records

    return sum(count_records(out / name) for name in names)


def _write_manifest(out: Path, grid: Grid, res: SweepResult) -> None:
    from bipartite_expanders.files import write_json

    write_json(out / "sweep.json", {
        "name": grid.name, "grid": grid.source, "executor": res.executor, "seconds": res.seconds,
        "counts": res.counts(), "runs": [o.to_dict() for o in res.outcomes]})


# ------------------------------------------------------------------ the sweep
def run_sweep(grid: Grid, out: str | os.PathLike, *, executor: str = "local", workers: int | None = None,
              address: str | None = None, data_dir: str | os.PathLike | None = None, progress: bool = True,
              stop_after: int | None = None, retries: int | None = None) -> SweepResult:
    """Run every run of ``grid`` under ``out`` (one hashed run directory each) and wait for all.

    Parameters
    ----------
    grid : a :class:`~bipartite_expanders.adapters.torch.lth.grid.Grid` (:func:`~bipartite_expanders.adapters.torch.lth.grid.load_grid`).
    out : parent of the run directories; on a cluster, a path every node sees (shared storage).
    executor : ``"local"`` (process pool) or ``"ray"``.
    workers : local: pool size (default cores // ``num_cpus``); ray: runs in flight at once
        (default: all, Ray queues them by resources) and, for a local Ray instance, its CPUs.
    address : ray only: the cluster to join (default: start a local instance).
    data_dir : where the data are on the workers (default: the grid's ``[sweep] data_dir``).
    progress : a tqdm bar of runs with done / running / failed counts and rounds written.
    stop_after : every run returns after this round's record (resume later).
    retries : resubmissions of a run whose worker died (default: the grid's, 1).

    Returns a :class:`SweepResult`; a run that raised is ``failed`` there (not raised here).
    """
    from tqdm.auto import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if address is not None and executor != "ray":
        raise ValueError("address is only for executor='ray'")
    if stop_after is not None and int(stop_after) < 0:
        raise ValueError(f"stop_after must be >= 0, got {stop_after!r}")
    retries = grid.retries if retries is None else int(retries)
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries!r}")
    runs = grid.runs()  # validated before anything starts
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = str(data_dir) if data_dir is not None else grid.data_dir
    t0 = time.perf_counter()
    res = SweepResult(out, executor, [RunOutcome(h.run_name(), h) for h in runs])

    todo = []
    for o in res.outcomes:
        if _is_finished(out / o.name, stop_after):
            o.status = "skipped"
        else:
            todo.append(o)

    cores = os.cpu_count() or 1
    if executor == "local":
        n_workers = min(int(workers) if workers else _default_workers(grid.resources), max(1, len(todo)))
        threads = max(1, min(grid.resources.threads, cores // n_workers))
        limit = n_workers
    else:
        threads = grid.resources.threads
        limit = int(workers) if workers else len(todo)

    bar = tqdm(total=len(res.outcomes), initial=len(res.outcomes) - len(todo), desc=f"sweep {grid.name} ({executor})",
               unit="run", disable=not progress, dynamic_ncols=True)
    in_flight: dict[Any, RunOutcome] = {}
    rounds = {o.name: _count_rounds(out, [o.name]) for o in res.outcomes}

    def show(running: int) -> None:
        for o in in_flight.values():  # only the runs in flight can have new records
            rounds[o.name] = _count_rounds(out, [o.name])
        c = res.counts()
        bar.set_postfix_str(f"done={c.get('done', 0) + c.get('partial', 0)} skipped={c.get('skipped', 0)} "
                            f"running={running} failed={c.get('failed', 0)} rounds={sum(rounds.values())}")

    backend: Any = None
    queue = list(todo)
    aborted = False
    try:
        if todo:
            backend = (_Local(n_workers, threads) if executor == "local"
                       else _Ray(address, workers, grid.resources, retries, grid.runtime_env))

        def submit(o: RunOutcome) -> None:
            o.status, o.attempts = "running", o.attempts + 1
            in_flight[backend.submit(o.hparams.to_dict(), str(out), data_dir, threads, stop_after,
                                     grid.allow_dense_layers)] = o

        while queue or in_flight:
            while queue and len(in_flight) < limit:
                submit(queue.pop(0))
            show(len(in_flight))
            for handle in backend.wait(list(in_flight), timeout=2.0):
                o = in_flight.pop(handle)
                try:
                    o.summary = backend.result(handle)
                    o.status = "done" if o.summary.get("stop") else "partial"
                    o.error = None
                except Exception as exc:  # noqa: BLE001 - a run's failure must not stop the grid
                    o.error = summarise_error(exc)
                    if backend.worker_died(exc):
                        # every run in flight lost its worker; they resume after their last record
                        lost = [o] + [in_flight.pop(h) for h in list(in_flight)]
                        for lo in lost:
                            if lo.attempts <= retries:
                                queue.insert(0, lo)
                                lo.status = "queued"
                            else:
                                lo.status = "failed"
                                lo.error = f"worker died ({lo.attempts} attempts): {summarise_error(exc)}"
                                bar.write(f"FAILED {lo.name}: {lo.error}")
                                bar.update(1)
                        break
                    o.status = "failed"
                    bar.write(f"FAILED {o.name} ({o.hparams.pruning.label}, seed {o.hparams.seed}): {o.error}")
                bar.update(1)
                rounds[o.name] = _count_rounds(out, [o.name])
                show(len(in_flight))
                res.seconds = time.perf_counter() - t0
                _write_manifest(out, grid, res)  # the status so far, should the driver die
    except KeyboardInterrupt:
        aborted = True
        for o in in_flight.values():
            o.status, o.error = "failed", "interrupted"
        raise
    finally:
        if backend is not None:
            backend.close(abort=aborted)
        show(0)
        bar.close()
        res.seconds = time.perf_counter() - t0
        _write_manifest(out, grid, res)
    return res


def format_outcomes(res: SweepResult) -> str:
    """A plain-text table of a sweep's runs (for the CLI)."""
    lines = []
    for o in res.outcomes:
        s = o.summary or {}
        if o.status in ("done", "partial"):
            what = (f"round {s['rounds'] - 1}, density {s['density']:.4f}, accuracy {s['accuracy']:.4f}, "
                    f"{s['seconds']:.1f} s" + (f", resumed after round {s['resumed_from'] - 1}" if s.get("resumed_from") else ""))
        elif o.status == "failed":
            what = o.error or "failed"
        else:
            what = "already finished"
        lines.append(f"{o.status:>8}  {o.name}  seed {o.hparams.seed}  {what}")
    c = res.counts()
    lines.append(f"{len(res.outcomes)} runs in {res.seconds:.1f} s ({res.executor}): "
                 + ", ".join(f"{v} {k}" for k, v in sorted(c.items())))
    return "\n".join(lines)

