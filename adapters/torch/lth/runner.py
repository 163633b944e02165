"""The lottery-ticket rounds: train -> evaluate -> score -> prune (plain or bounded) -> rewind -> retrain.

Round 0 trains the dense network; round ``r >= 1`` trains the network pruned ``r`` times, every
round restarting from the weights at the rewind iteration ``k`` (0 = initialisation). After each
round's training the network is evaluated on the clean and every noisy test set, scored, censused
(every layer's Ramanujan report: mask, ``|W|`` and score graphs) and pruned for the next round.
One JSON record per round, ``round_NN.json``, is written atomically into the run directory, which is
named by the hash of the hyperparameters. The masks the round produced (``masks_NN.pt``, only the
latest is kept) and the rewind point (``rewind.pt``) are saved before the record, so a killed run resumes after its last
record and loses at most the round in flight; the same hyperparameters give the same records
(``timing`` aside).

The run stops after ``rounds`` pruning rounds, once the total density is at or below
``target_density``, or (bounded) once a prune step changes no layer: that round is the bound's
stopping point.

>>> from adapters.torch.lth.hparams import preset
>>> import tempfile
>>> h = preset("quickstart")[0].replace(pruning={"rounds": 1}, training={"iterations": 20})
>>> res = run_lottery(h, tempfile.mkdtemp(), progress=False)
>>> [r["round"] for r in res.records], res.records[1]["density"]["total"] < 1
([0, 1], True)
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import Dataset, add_noise, load_dataset
from .hparams import Hparams
from .models import build_model
from .training import evaluate, train

__all__ = ["run_lottery", "RunResult", "load_records", "write_json_atomic", "RECORD_FORMAT", "find_run_dirs"]

RECORD_FORMAT = 1


@dataclass
class RunResult:
    """A finished (or resumed-to-the-end) run: its directory and its records in round order."""

    run_dir: Path
    hparams: Hparams
    records: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int | None = None

    @property
    def stop_reason(self) -> str | None:
        return self.records[-1].get("stop") if self.records else None


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON to a temp file in the same directory, then ``os.replace`` it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, separators=(",", ":"), allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_torch_atomic(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_records(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The contiguous records ``round_00.json, round_01.json, ...`` of a run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run_dir {str(run_dir)!r} is not a directory")
    out = []
    r = 0
    while (p := run_dir / f"round_{r:02d}.json").is_file():
        with open(p) as fh:
            out.append(json.load(fh))
        r += 1
    return out


def find_run_dirs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Run directories among ``paths``: each path that holds ``round_00.json``, or else its
    sub-directories that do (so ``report runs/`` finds every run under ``runs``)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise FileNotFoundError(f"run directory {str(p)!r} not found")
        if (p / "round_00.json").is_file():
            found.append(p)
            continue
        subs = sorted(q for q in p.iterdir() if q.is_dir() and (q / "round_00.json").is_file())
        if not subs:
            raise FileNotFoundError(f"{str(p)!r} holds no round_00.json, neither directly nor in a sub-directory")
        found.extend(subs)
    return found


# ------------------------------------------------------------------ helpers
def _tensors(ds: Dataset, sigmas: Sequence[float], seed: int) -> tuple[Any, ...]:
    x = torch.from_numpy(ds.normalize(ds.x_train))
    y = torch.from_numpy(ds.y_train)
    yt = torch.from_numpy(ds.y_test)
    tests = {"clean": torch.from_numpy(ds.normalize(ds.x_test))}
    for i, s in enumerate(sigmas):
        # each sigma its own stream, independent of the other sigmas given
        tests[f"{s:g}"] = torch.from_numpy(ds.normalize(add_noise(ds.x_test, s, seed=seed * 7919 + int(round(s * 1e6)))))
    return x, y, tests, yt


def _input_batches(x: torch.Tensor, y: torch.Tensor, hp: Hparams, rnd: int, n: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A few seeded training batches for data-dependent scores (SNIP, GraSP)."""
    gen = torch.Generator().manual_seed(hp.seed * 1_000_003 + 7 + rnd)
    idx = torch.randperm(len(x), generator=gen)[: n * hp.training.batch_size]
    return [(x[idx[i::n]], y[idx[i::n]]) for i in range(n)]


def _prune_rates(hp: Hparams) -> Any:
    from ..pruning import PruneRates

    return PruneRates(p_conv=hp.pruning.p_conv, p_fc=hp.pruning.p_fc, p_out=hp.pruning.p_out)


def _jsonable(obj: Any) -> Any:
    """numpy / torch scalars and arrays to plain JSON types (NaN and inf kept, as json allows)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _check_hparams_file(run_dir: Path, hp: Hparams) -> None:
    path = run_dir / "hparams.json"
    if path.is_file():
        with open(path) as fh:
            saved = json.load(fh)
        if saved.get("hash") != hp.hash():
            raise ValueError(f"{str(run_dir)!r} holds a run with other hyperparameters (hash {saved.get('hash')!r}, "
                             f"not {hp.hash()!r}); choose another --out")
    else:
        write_json_atomic(path, {"hash": hp.hash(), "hparams": hp.to_dict()})


# ------------------------------------------------------------------ the run
def run_lottery(hparams: Hparams, out: str | os.PathLike = "runs", *, data_dir: str | os.PathLike | None = None,
                progress: bool = True, threads: int | None = 1, run_dir: str | os.PathLike | None = None,
                stop_after: int | None = None) -> RunResult:
    """Run (or resume) the lottery-ticket rounds of ``hparams`` in ``out/<hparams.run_name()>``.

    Parameters
    ----------
    hparams : the run's :class:`~adapters.torch.lth.hparams.Hparams`.
    out : parent directory of run directories.
    data_dir : where the data set's files are (not part of the hash).
    progress : tqdm bars for rounds and iterations.
    threads : ``torch.set_num_threads`` during the run (1 = deterministic and polite); None leaves it.
    run_dir : use this directory instead of ``out/<run_name>``.
    stop_after : return after writing this round's record (for tests and time-boxed sessions); a
        rerun continues.

    Returns the :class:`RunResult` with every record written so far.
    """
    from tqdm.auto import tqdm

    from ..census import census
    from ..masks import apply_masks, capture_state, ensure_masks, get_masks, layer_density, rewind, total_density
    from ..pruning import prune_step

    if not isinstance(hparams, Hparams):
        raise TypeError(f"hparams must be Hparams, got {type(hparams).__name__}")
    hp = hparams
    run_dir = Path(run_dir) if run_dir is not None else Path(out) / hp.run_name()
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_hparams_file(run_dir, hp)

    old_threads = torch.get_num_threads()
    limits = contextlib.ExitStack()
    if threads is not None:
        torch.set_num_threads(int(threads))
        try:  # the census's LAPACK calls too: same thread count, same floats
            from threadpoolctl import threadpool_limits

            limits.enter_context(threadpool_limits(int(threads)))
        except ImportError:
            pass
    try:
        records = load_records(run_dir)
        result = RunResult(run_dir, hp, records, resumed_from=len(records) if records else None)
        if records and records[-1].get("stop"):
            return result
        if stop_after is not None and records and records[-1]["round"] >= stop_after:
            return result

        ds = load_dataset(hp.dataset.name, data_dir=data_dir, seed=hp.seed)
        x, y, tests, yt = _tensors(ds, hp.dataset.noise, hp.seed)
        input_shape = ds.input_shape
        model = build_model(hp.model.name, input_shape=input_shape, num_classes=ds.num_classes, seed=hp.seed)
        ensure_masks(model)
        tr = hp.training
        k = tr.rewind_iter
        if records:  # resume: the rewind point and the masks the last finished round produced
            last = records[-1]["round"]
            rewind_state = torch.load(run_dir / "rewind.pt", weights_only=True)
            masks = torch.load(run_dir / f"masks_{last:02d}.pt", weights_only=True)
            rewind(model, rewind_state)
            apply_masks(model, {n: m.float() for n, m in masks.items()})
            start = last + 1
        else:
            rewind_state = None
            start = 0

        rounds_bar = tqdm(range(start, hp.pruning.rounds + 1), desc=f"{hp.pruning.label} rounds", disable=not progress,
                          initial=start, total=hp.pruning.rounds + 1, unit="round")
        prev_decisions = None
        if records:
            prev_decisions = records[-1].get("prune", {}).get("decisions")
        for rnd in rounds_bar:
            t_round = time.perf_counter()
            timing: dict[str, float] = {}
            # --- train (round 0 captures the rewind point; later rounds restart there)
            if rnd == 0:
                res = train(model, x, y, tr, seed=hp.seed, capture_at=k, capture=capture_state,
                            progress=progress, desc="round 0")
                rewind_state = res.rewind_state
                _save_torch_atomic(rewind_state, run_dir / "rewind.pt")
            else:
                rewind(model, rewind_state)
                res = train(model, x, y, tr, seed=hp.seed, start_iter=k, progress=progress, desc=f"round {rnd}")
            timing["train_s"] = res.seconds

            # --- evaluate on the clean and every noisy test set
            t = time.perf_counter()
            acc, loss = {}, {}
            for name, xt in tests.items():
                acc[name], loss[name] = evaluate(model, xt, yt)
            timing["eval_s"] = time.perf_counter() - t
            density = {"total": float(total_density(model)), "layers": {n: float(d) for n, d in layer_density(model).items()}}

            # --- score and prune for the next round (unless this is the last)
            last_round = rnd >= hp.pruning.rounds or (
                hp.pruning.target_density is not None and density["total"] <= hp.pruning.target_density)
            trained = copy.deepcopy(model)  # the census describes the network this round trained
            t = time.perf_counter()
            pr = prune_step(
                model, hp.pruning.method, _prune_rates(hp), bound=hp.pruning.bound, allocation=hp.pruning.allocation,
                batches=_input_batches(x, y, hp, rnd) if hp.pruning.method in ("snip", "grasp") else None,
                input_shape=(1, *input_shape), seed=hp.seed * 1_000_003 + rnd, scope=hp.analysis.scope,
            )
            timing["prune_s"] = time.perf_counter() - t
            t = time.perf_counter()
            # no warm start from the previous round: a resumed run must reproduce the same floats
            cen = census(trained, scores=pr.scores, scope=hp.analysis.scope)
            timing["census_s"] = time.perf_counter() - t
            stop = None
            if rnd >= hp.pruning.rounds:
                stop = "rounds"
            elif hp.pruning.target_density is not None and density["total"] <= hp.pruning.target_density:
                stop = "target_density"
            elif hp.pruning.bound and not pr.changed:
                stop = "bound_no_change"
            next_density = float(total_density(model))
            if not last_round:
                _save_torch_atomic({n: m.bool() for n, m in get_masks(model).items()}, run_dir / f"masks_{rnd:02d}.pt")
            timing["total_s"] = time.perf_counter() - t_round
            record = {
                "format": RECORD_FORMAT,
                "hparams_hash": hp.hash(),
                "run": hp.run_name(),
                "label": hp.pruning.label,
                "round": rnd,
                "density": density,
                "accuracy": {"clean": acc.pop("clean"), "noisy": acc},
                "loss": {"clean": loss.pop("clean"), "noisy": loss, "train": res.train_loss},
                "regime": cen.regime,
                "regime_weighted": cen.regime_weighted,
                "census": _jsonable(cen.to_records()),
                "decisions": prev_decisions,  # of the prune step that made this round's mask
                "prune": {
                    "method": hp.pruning.method, "bound": hp.pruning.bound, "changed": bool(pr.changed),
                    "next_density": next_density if stop is None else None,
                    "decisions": _jsonable(pr.decisions) if pr.decisions is not None else None,
                },
                "stop": stop,
                "timing": timing,
            }
            write_json_atomic(run_dir / f"round_{rnd:02d}.json", record)
            if rnd > 0:  # resuming needs only the last finished round's masks
                (run_dir / f"masks_{rnd - 1:02d}.pt").unlink(missing_ok=True)
            records.append(record)
            prev_decisions = record["prune"]["decisions"]
            rounds_bar.set_postfix(density=f"{density['total']:.4f}", acc=f"{record['accuracy']['clean']:.4f}")
            if stop is not None or (stop_after is not None and rnd >= stop_after):
                break
        rounds_bar.close()
        return result
    finally:
        limits.close()
        if threads is not None:
            torch.set_num_threads(old_threads)
