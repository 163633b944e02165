"""The spectral census of a checkpoint on disk, one layer at a time, here or on Ray.

:func:`census_checkpoint` lists a checkpoint's layers (:mod:`.checkpoints`), then censuses each
with :func:`census_layer`: read its tensor, build the one ``nn.Linear`` / ``nn.ConvNd`` it is
(weight and ``weight_mask`` set, nothing else allocated) and take the project's
:func:`~bipartite_expanders.adapters.torch.census` of it, plus the N:M structure of its mask.
Only one layer per worker is ever in memory. Executors, as for ``sweep``:

- ``local``: in this process (``workers=1``) or a spawn process pool of ``workers`` processes,
  one thread each; results in layer order, identical to the serial census;
- ``ray``: one Ray task per layer, passed the layer's file and tensor name (never the tensor),
  on a local instance or the cluster at ``address`` (which must answer within ``timeout``).

``out=DIR`` writes one record per layer as it completes (atomically) and the whole census at
the end; rerunning the same census resumes from the records whose layer and options match.

This module's top level imports no ray.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bipartite_expanders import network_regime
from bipartite_expanders.files import json_safe, write_json
from bipartite_expanders.report import ACCURACIES

from .census import census
from .checkpoints import CheckpointLayers, LayerRef, checkpoint_layers, nm_pattern, read_layer

__all__ = ["census_layer", "census_checkpoint", "run_directory_layers", "flatten_record", "EXECUTORS",
           "default_workers"]

EXECUTORS = ("local", "ray")
_ROLE = {"conv1d": "conv", "conv2d": "conv", "conv3d": "conv"}


def _module_of(ref: LayerRef, w: torch.Tensor, mask: torch.Tensor) -> nn.Module:
    """The layer as the torch module it is, holding ``w`` and ``mask`` (no other allocation)."""
    shape = tuple(w.shape)
    with torch.device("meta"):
        if ref.kind.startswith("conv"):
            cls = {"conv1d": nn.Conv1d, "conv2d": nn.Conv2d, "conv3d": nn.Conv3d}[ref.kind]
            mod: nn.Module = cls(shape[1] * ref.groups, shape[0], shape[2:], groups=ref.groups, bias=False)
        else:
            mod = nn.Linear(shape[1], shape[0], bias=False)
    mod.weight = nn.Parameter(w, requires_grad=False)
    mod.register_buffer("weight_mask", mask)
    return mod


def census_layer(ref: LayerRef, *, scope: str = "largest", universal_cover: bool | str = "auto",
                 nan_is_pruned: bool | None = None, solver: str = "auto", accuracy: str = "verdict") -> dict[str, Any]:
    """One layer's census record (JSON-safe): the fields of
    :meth:`~bipartite_expanders.adapters.torch.LayerCensus.to_record`, where the layer came from
    (``kind``, ``key``, ``file``, ``storage``, ``dtype``, ``stored_shape``, ``groups``, ``gate``,
    ``assumed``), ``nan_pruned`` and the N:M fields of :func:`.checkpoints.nm_pattern`.

    >>> import torch, tempfile, os
    >>> from safetensors.torch import save_file
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save_file({"fc.weight": torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]])}, path)
    >>> from bipartite_expanders.adapters.torch.checkpoints import checkpoint_layers
    >>> rec = census_layer(checkpoint_layers(path).layers[0])
    >>> rec["name"], rec["graph_shape"], rec["nm"], rec["out_degree"], rec["mask"]["t1"]
    ('fc', [4, 2], '2:4', 2, 1.7320508075688772)
    """
    w, mask, info = read_layer(ref, nan_is_pruned)
    root = nn.Module()
    root.add_module("layer", _module_of(ref, w, mask))
    lc = census(root, scope=scope, solver=solver, universal_cover=universal_cover, accuracy=accuracy).layers[0]
    rec = lc.to_record()
    rec.update(name=ref.name, role=_ROLE.get(ref.kind, "fc"), kind=ref.kind, key=ref.key, file=ref.file,
               storage=ref.storage, dtype=ref.dtype, stored_shape=list(ref.shape), groups=ref.groups,
               gate=None if ref.gate is None else _gate_name(ref), assumed=ref.assumed, **info,
               **nm_pattern(mask))
    return json_safe(rec)


def _gate_name(ref: LayerRef) -> str:
    m = re.search(r"\[(\w+)\]$", ref.name)
    return m.group(1) if m else str(ref.gate[0] if ref.gate else "")


def flatten_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A layer record as one CSV row: reports as ``mask.t1`` ..., lists joined (shapes as ``4x8``)."""
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if isinstance(v, Mapping):
            out.update({f"{k}.{kk}": ("x".join(map(str, vv)) if isinstance(vv, list) else vv) for kk, vv in v.items()})
        elif isinstance(v, list):
            out[k] = "x".join(map(str, v))
        elif v is None and k in ("score",):
            continue
        else:
            out[k] = v
    return out


# ------------------------------------------------------------------ run directories
def run_directory_layers(path: str | Path, rnd: int | None = None) -> tuple[CheckpointLayers, dict[str, Any]]:
    """The layers of an ``lth`` run directory's round, tensors in memory (a run's model is small)."""
    from .layers import effective_weight, layer_mask, prunable_layers
    from .lth.rundir import read_records, weights_path
    from .lth.tickets import load_ticket

    path = Path(path)
    records = read_records(path)
    if not records:
        raise FileNotFoundError(f"{path}: no round records (not a run directory?)")
    r = records[-1].round if rnd is None else rnd
    weights = "trained" if weights_path(path, r).is_file() else "rewind"
    model = load_ticket(path, round=r, weights=weights)
    refs = []
    for name, mod in prunable_layers(model).items():
        w = effective_weight(mod)
        kind = "linear" if isinstance(mod, nn.Linear) else f"conv{w.dim() - 2}d"
        refs.append(LayerRef(name=name, kind=kind, file=str(path), key=f"{name}.weight", shape=tuple(w.shape),
                             dtype=str(w.dtype).replace("torch.", ""), storage="memory", loader="memory",
                             groups=int(getattr(mod, "groups", 1)), tensors=(w, layer_mask(mod) != 0)))
    return CheckpointLayers(refs, [], [], "run directory", f"model ({type(model).__name__})"), \
        {"round": r, "weights": weights}


# ------------------------------------------------------------------ executors
def default_workers(refs: list[LayerRef]) -> int:
    """This process for a small census (below 4M weights or 2 layers: starting a worker costs
    seconds), else one process per core, at most 4 and at most one per layer (each worker holds
    one layer in memory)."""
    n_weights = sum(math.prod(r.weight_shape) for r in refs)
    if n_weights < 4 * 2**20 or len(refs) < 2:
        return 1
    return max(1, min(os.cpu_count() or 1, 4, len(refs)))


def _one_thread() -> None:
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with the torch extra
        pass


def _task(ref: LayerRef, options: dict[str, Any]) -> dict[str, Any]:
    return census_layer(ref, **options)


def _check_address(address: str, timeout: float) -> None:
    """A ``host:port`` (or ``ray://host:port``) that does not answer fails in ``timeout`` seconds
    (``ray.init`` would wait far longer)."""
    m = re.fullmatch(r"(?:ray://)?\[?([^\]]+?)\]?:(\d+)", address)
    if not m:
        return  # "auto", "local": Ray's own discovery, which fails at once when there is none
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"--address {address}: no Ray cluster answers within {timeout:g} s ({exc})") from None


class _Progress:
    def __init__(self, total: int, done: int, enabled: bool, desc: str) -> None:
        self.bar = None
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, desc=desc, unit="layer", file=sys.stderr)

    def started(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=True)

    def finished(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _record_path(out: Path, i: int, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
    return out / "layers" / f"{i:05d}-{safe}.json"


def _file_stamp(ref: LayerRef) -> list[Any]:
    try:
        st = os.stat(ref.file)
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return []


def _resume_key(ref: LayerRef, options: Mapping[str, Any]) -> dict[str, Any]:
    return json_safe({"layer": ref.fingerprint, "file": _file_stamp(ref), "options": dict(options)})


def _load_done(out: Path, refs: list[LayerRef], options: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    done = {}
    for i, ref in enumerate(refs):
        p = _record_path(out, i, ref.name)
        if not p.is_file():
            continue
        try:
            saved = json.loads(p.read_text())
        except (OSError, ValueError):
            continue  # damaged: computed again
        if isinstance(saved, dict) and saved.get("resume") == _resume_key(ref, options) and "record" in saved:
            done[i] = saved["record"]
    return done


def census_checkpoint(path: str | Path, *, rnd: int | None = None, targets: str | None = None,
                      ignore: str | None = None, groups: tuple[int, Mapping[str, int]] = (1, {}),
                      scope: str = "largest", universal_cover: bool | str = "auto", accuracy: str = "verdict",
                      nan_is_pruned: bool | None = None,
                      executor: str = "local", workers: int | str | None = None, address: str | None = None,
                      out: str | Path | None = None, progress: bool = False, timeout: float = 30.0,
                      structure: str = "auto") -> dict[str, Any]:
    """The census of a checkpoint as a JSON-safe dict: ``path``, ``format``, ``structure``,
    ``regime`` (mask rule), ``regime_weighted`` (``|W|`` rule), ``layers`` (one record per layer
    in model order, :func:`census_layer`), ``skipped`` (``[name, why]``), ``warnings``,
    ``assumed`` (how many layers' kind was inferred), ``nan_pruned``, ``executor``.

    Parameters
    ----------
    path
        A Hugging Face model directory, a ``.safetensors`` file, a torch ``state_dict`` file or an
        ``lth`` run directory (``rnd``: its round, default the last).
    targets, ignore, groups, structure
        Passed to :func:`.checkpoints.checkpoint_layers`.
    scope, universal_cover, accuracy
        Passed to :func:`~bipartite_expanders.adapters.torch.census`: ``accuracy="verdict"``
        (default) analyses a large dense-enough layer (an LLM's projections) as a dense tensor
        with certified brackets stopped once they decide every verdict; ``"full"``: t1 and t2 to
        the 1e-8 contract everywhere.
    nan_is_pruned
        None (default): NaN weights are pruned and counted; False: a NaN is an error.
    executor, workers, address, timeout
        ``"local"`` (``workers`` processes, default 1: this process; ``"auto"``, the CLI's
        default, is :func:`default_workers`; a script using more must guard its entry with
        ``if __name__ == "__main__"``, as spawned processes import it) or ``"ray"``
        (``workers``: CPUs of a local instance; ``address``: a running cluster, which must answer
        within ``timeout`` seconds).
    out
        A directory for one record per layer as it completes; a rerun resumes from it.
    progress
        A tqdm bar over layers naming the current one.

    Examples
    --------
    >>> import torch, tempfile, os
    >>> from safetensors.torch import save_file
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save_file({"a.weight": torch.eye(4), "b.weight": torch.ones(3, 4)}, path)
    >>> res = census_checkpoint(path, universal_cover=False)
    >>> res["regime"], [(r["name"], r["mask"]["t1"]) for r in res["layers"]]
    ('fully', [('a', 1.0), ('b', 3.4641016151377544)])
    """
    if executor not in EXECUTORS:
        raise ValueError(f"--executor must be one of {EXECUTORS}, got {executor!r}")
    if workers is not None and workers != "auto" and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"--workers must be a positive integer, got {workers}")
    if address is not None and executor != "ray":
        raise ValueError("--address is only for --executor ray")
    t0 = time.perf_counter()
    p = Path(path)
    info: dict[str, Any] = {"path": str(p)}
    if p.is_dir() and not (p / "config.json").is_file():
        if groups != (1, {}):
            raise ValueError("--groups is for state_dict files; a run directory knows its model")
        found, extra = run_directory_layers(p, rnd)
        info.update(extra)
        found.layers = _filter(found, targets, ignore)
    else:
        if rnd is not None:
            raise ValueError("--round is for run directories")
        found = checkpoint_layers(p, targets=targets, ignore=ignore, groups=groups, structure=structure)
        info["weights"] = "file"
    refs = found.layers
    if not refs:
        raise ValueError(f"{p}: no layer to census" + (" (--targets/--ignore chose none)" if targets or ignore else ""))
    if accuracy not in ACCURACIES:
        raise ValueError(f"--accuracy must be one of {ACCURACIES}, got {accuracy!r}")
    options = {"scope": scope, "universal_cover": universal_cover, "nan_is_pruned": nan_is_pruned, "accuracy": accuracy}
    out_dir = Path(out) if out is not None else None
    results: dict[int, dict[str, Any]] = {}
    if out_dir is not None:
        (out_dir / "layers").mkdir(parents=True, exist_ok=True)
        results = _load_done(out_dir, refs, options)
    todo = [i for i in range(len(refs)) if i not in results]
    bar = _Progress(len(refs), len(results), progress, f"census ({executor})")

    def keep(i: int, rec: dict[str, Any]) -> None:
        results[i] = rec
        if out_dir is not None:
            write_json(_record_path(out_dir, i, refs[i].name), {"resume": _resume_key(refs[i], options), "record": rec})
        bar.finished(refs[i].name)

    n_workers = default_workers([refs[i] for i in todo]) if workers == "auto" else (
        workers if workers is not None or executor == "ray" else 1)
    try:
        if executor == "local" and (n_workers or 1) <= 1:
            for i in todo:
                bar.started(refs[i].name)
                keep(i, census_layer(refs[i], **options))
        elif executor == "local":
            _run_pool(refs, todo, options, n_workers or 1, keep, bar)
        else:
            _run_ray(refs, todo, options, n_workers, address, timeout, keep, bar)
    finally:
        bar.close()
    layers = [results[i] for i in range(len(refs))]
    if layers:
        layers[-1] = {**layers[-1], "role": "output"}
    res = json_safe({
        **info, "format": found.format, "structure": found.structure,
        "regime": network_regime([lay["is_ramanujan"] for lay in layers]).value,
        "regime_weighted": network_regime([lay["is_ramanujan_weighted"] for lay in layers]).value,
        "scope": scope, "executor": executor, "layers": layers,
        "skipped": [list(s) for s in found.skipped], "warnings": list(found.warnings),
        "assumed": sum(1 for lay in layers if lay["assumed"]),
        "nan_pruned": sum(int(lay["nan_pruned"]) for lay in layers),
        "seconds": time.perf_counter() - t0, "resumed": len(refs) - len(todo),
    })
    if out_dir is not None:
        write_json(out_dir / "census.json", res, indent=1)
    return res


def _filter(found: CheckpointLayers, targets: str | None, ignore: str | None) -> list[LayerRef]:
    t = re.compile(targets[3:] if targets and targets.startswith("re:") else targets) if targets else None
    ig = re.compile(ignore[3:] if ignore and ignore.startswith("re:") else ignore) if ignore else None
    keep = []
    for r in found.layers:
        if (t is not None and not t.search(r.name)) or (ig is not None and ig.search(r.name)):
            found.skipped.append((r.name, "not chosen by --targets/--ignore"))
        else:
            keep.append(r)
    return keep


def _run_pool(refs: list[LayerRef], todo: list[int], options: dict[str, Any], workers: int, keep: Any,
              bar: _Progress) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn: no forked torch/OpenMP state; one thread per worker, so results match the serial run's
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread)
    try:
        pending = {pool.submit(_task, refs[i], options): i for i in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                keep(i, fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_ray(refs: list[LayerRef], todo: list[int], options: dict[str, Any], workers: int | None,
             address: str | None, timeout: float, keep: Any, bar: _Progress) -> None:
    try:
        import ray
    except ImportError:
        raise ImportError("--executor ray needs Ray: pip install 'bipartite-expanders[ray]' (or pip install ray)") \
            from None
    started = False
    if not ray.is_initialized():
        if address is not None:
            _check_address(address, timeout)
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address is None:
            # a local instance: workers import this very checkout, wherever the driver found it
            root = str(Path(__file__).resolve().parents[2])
            pp = os.environ.get("PYTHONPATH")
            kw["runtime_env"] = {"env_vars": {"PYTHONPATH": root + (os.pathsep + pp if pp else ""),
                                              "OMP_NUM_THREADS": "1"}}
            if workers is not None:
                kw["num_cpus"] = workers
        ray.init(address=address, **kw)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=2, retry_exceptions=False)(_task)
        # a LayerRef holds a file and a tensor name; run directories' small tensors travel with it
        pending = {task.remote(refs[i], options): i for i in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for h in done:
                i = pending.pop(h)
                keep(i, ray.get(h))
    finally:
        if started:
            ray.shutdown()

