"""The lottery-ticket rounds: train -> evaluate -> score -> prune (plain or bounded) -> rewind -> retrain.

Round 0 trains the dense network (or, born sparse, the masks of ``pruning.init_masks``:
:mod:`bipartite_expanders.adapters.torch.lth.born`, recorded in round 0's record as ``init_masks``); round
``r >= 1`` trains the network pruned ``r`` times, every round restarting from the weights at the
rewind iteration ``k`` (0 = initialisation). After each
round's training the network is evaluated on the clean and every noisy test set, scored, censused
(every layer's Ramanujan report: mask, ``|W|`` and score graphs) and pruned for the next round.

The run is a sequence of named steps, each a plain function testable alone: :func:`resume`
(records, rewind point and masks from the run directory), :func:`train_round`,
:func:`evaluate_round`, :func:`score_and_prune`, :func:`census_round`, :func:`stop_reason` and
:func:`write_round` (the round's trained weights, the next round's masks, then its record,
:class:`~bipartite_expanders.adapters.torch.lth.rundir.RoundRecord`). The files and their names belong to
:mod:`bipartite_expanders.adapters.torch.lth.rundir`; a killed run resumes after its last record and loses at most the
round in flight; the same hyperparameters give the same records (``timing`` aside).

The run stops after ``rounds`` pruning rounds, once the total density is at or below
``target_density``, or (bounded) once a prune step changes no layer: that round is the bound's
stopping point.

>>> from bipartite_expanders.adapters.torch.lth.hparams import preset
>>> import tempfile
>>> h = preset("quickstart")[0].replace(pruning={"rounds": 1}, training={"iterations": 20})
>>> res = run_lottery(h, tempfile.mkdtemp(), progress=False)
>>> [r.round for r in res.records], res.records[1].density["total"] < 1
([0, 1], True)
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bipartite_expanders.files import json_safe

from ..census import Census, census
from ..masks import apply_masks, capture_state, ensure_masks, get_masks, layer_density, rewind, total_density
from ..pruning import PruneRates, PruneResult, prune_step
from .born import born_masks, check_born
from .data import Dataset, add_noise, load_dataset
from .hparams import ALGORITHM_VERSION, Hparams
from .models import build_model
from .rundir import (RECORD_FORMAT, LayerRecord, RecordError, RoundRecord, RunDirError, hparams_path, is_run_dir,
                     lock_path, masks_path, move_aside, read_hparams, read_records, record_path, rewind_path,
                     weights_path, write_hparams, write_record, writer_lock)
from ..serialization import save_torch
from .tickets import KEEP_WEIGHTS, file_digest, load_torch, read_masks, verify_file, write_masks, write_weights
from .training import TrainResult, evaluate, train

__all__ = ["run_lottery", "RunResult", "RunContext", "Resumed", "resume", "train_round", "evaluate_round",
           "score_and_prune", "census_round", "stop_reason", "write_round", "make_record", "load_records"]


@dataclass
class RunResult:
    """A finished (or resumed-to-the-end) run: its directory and its records in round order."""

    run_dir: Path
    hparams: Hparams
    records: list[RoundRecord] = field(default_factory=list)
    resumed_from: int | None = None

    @property
    def stop_reason(self) -> str | None:
        return self.records[-1].stop if self.records else None


def load_records(run_dir: str | os.PathLike) -> list[RoundRecord]:
    """The validated records of a run directory (:func:`bipartite_expanders.adapters.torch.lth.rundir.read_records`)."""
    return read_records(run_dir)


@dataclass
class RunContext:
    """What every step of a run needs: hyperparameters, directory, data as tensors."""

    hp: Hparams
    run_dir: Path
    x: torch.Tensor
    y: torch.Tensor
    tests: dict[str, torch.Tensor]
    y_test: torch.Tensor
    input_shape: tuple[int, ...]
    num_classes: int
    progress: bool = False
    keep_weights: str = "all"


def make_context(hp: Hparams, run_dir: Path, ds: Dataset, *, progress: bool = False,
                 keep_weights: str = "all") -> RunContext:
    x = torch.from_numpy(ds.normalize(ds.x_train))
    y = torch.from_numpy(ds.y_train)
    tests = {"clean": torch.from_numpy(ds.normalize(ds.x_test))}
    for s in hp.dataset.noise:
        # each sigma its own stream, independent of the other sigmas given
        noisy = add_noise(ds.x_test, s, seed=hp.seed * 7919 + int(round(s * 1e6)))
        tests[f"{s:g}"] = torch.from_numpy(ds.normalize(noisy))
    return RunContext(hp, run_dir, x, y, tests, torch.from_numpy(ds.y_test), tuple(ds.input_shape), ds.num_classes,
                      progress, keep_weights)


# ------------------------------------------------------------------ step: resume
@dataclass
class Resumed:
    """Where a run stands: its valid records, and (when there are records) the rewind point and
    the masks of the next round to train."""

    records: list[RoundRecord]
    rewind_state: dict[str, torch.Tensor] | None
    next_masks: dict[str, torch.Tensor] | None

    @property
    def next_round(self) -> int:
        return self.records[-1].round + 1 if self.records else 0


def resume(run_dir: Path) -> Resumed:
    """Read the run directory: the records (a damaged or foreign record, and the ones after it,
    moved aside with a warning naming it), the rewind point, and the masks of the round after
    the last record (if those are damaged or missing, that record is moved aside too and its
    round redone from the one before)."""
    records = read_records(run_dir, repair=True)
    if records and records[-1].format != RECORD_FORMAT:
        raise RunDirError(f"{run_dir}: written by record format {records[-1].format} (an earlier version, which kept no "
                          f"tickets); `report` reads it, but it cannot be resumed: choose another --out")
    records = _verified_prefix(run_dir, records)
    while records and records[-1].stop is None:
        path = masks_path(run_dir, records[-1].round + 1)
        try:
            masks = read_masks(path)
        except RecordError as exc:
            if path.exists():
                move_aside(path)
            moved = move_aside(record_path(run_dir, records[-1].round))
            warnings.warn(f"{exc.path}: {exc.why}; {moved.name} moved aside, round {records[-1].round} is redone",
                          RuntimeWarning, stacklevel=2)
            records.pop()
            continue
        return Resumed(records, load_torch(rewind_path(run_dir), "rewind point"), masks)
    if records:  # finished
        return Resumed(records, None, None)
    return Resumed([], None, None)


def _files_intact(run_dir: Path, records: list[RoundRecord]) -> bool:
    """Whether every file the records name checks out (see :func:`_verified_prefix`)."""
    for rec in records:
        for name in rec.extra.get("files") or {}:
            if name.startswith("weights_") and not (run_dir / name).exists():
                continue
            try:
                verify_file(run_dir / name, records)
            except RecordError:
                return False
    return True


def _verified_prefix(run_dir: Path, records: list[RoundRecord]) -> list[RoundRecord]:
    """The records whose files all check out (:func:`verify_file`): the first record naming a
    file that is damaged, missing or from another run, and every record after it, are moved
    aside with that file, with a warning naming it, so their rounds are redone (training is
    deterministic: the redone files equal the lost ones). A trained-weights file that is
    absent is no damage (``--keep-weights last`` / ``none`` remove or skip them)."""
    for i, rec in enumerate(records):
        files = rec.extra.get("files")
        if not isinstance(files, dict):
            continue
        for name in files:
            path = run_dir / name
            if name.startswith("weights_") and not path.exists():
                continue
            try:
                verify_file(path, records[: i + 1])
            except RecordError as exc:
                if path.exists():
                    move_aside(path)
                moved = [move_aside(record_path(run_dir, r.round)).name for r in records[i:]]
                warnings.warn(f"{exc.path}: {exc.why}; moved aside with {', '.join(moved)}; round {rec.round} is redone",
                              RuntimeWarning, stacklevel=3)
                return records[:i]
    return records


# ------------------------------------------------------------------ steps of a round
def train_round(model: nn.Module, ctx: RunContext, rnd: int,
                rewind_state: dict[str, torch.Tensor] | None) -> tuple[TrainResult, dict[str, torch.Tensor]]:
    """Round 0 trains from initialisation and captures the rewind point at iteration ``k``;
    later rounds rewind to it and train ``k .. iterations - 1``. Returns the result and the
    rewind point."""
    tr = ctx.hp.training
    if rnd == 0:
        res = train(model, ctx.x, ctx.y, tr, seed=ctx.hp.seed, capture_at=tr.rewind_iter, capture=capture_state,
                    progress=ctx.progress, desc="round 0")
        assert res.rewind_state is not None
        return res, res.rewind_state
    if rewind_state is None:
        raise ValueError(f"round {rnd} needs the rewind point")
    rewind(model, rewind_state)
    res = train(model, ctx.x, ctx.y, tr, seed=ctx.hp.seed, start_iter=tr.rewind_iter, progress=ctx.progress,
                desc=f"round {rnd}")
    return res, rewind_state


def evaluate_round(model: nn.Module, ctx: RunContext) -> dict[str, Any]:
    """Accuracy and loss on the clean and every noisy test set, and the densities."""
    acc, loss = {}, {}
    for name, xt in ctx.tests.items():
        acc[name], loss[name] = evaluate(model, xt, ctx.y_test)
    return {"accuracy": {"clean": acc.pop("clean"), "noisy": acc}, "loss": {"clean": loss.pop("clean"), "noisy": loss},
            "density": {"total": float(total_density(model)),
                        "layers": {n: float(d) for n, d in layer_density(model).items()}}}


def _input_batches(ctx: RunContext, rnd: int, n: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A few seeded training batches for data-dependent scores (SNIP, GraSP)."""
    gen = torch.Generator().manual_seed(ctx.hp.seed * 1_000_003 + 7 + rnd)
    idx = torch.randperm(len(ctx.x), generator=gen)[: n * ctx.hp.training.batch_size]
    return [(ctx.x[idx[i::n]], ctx.y[idx[i::n]]) for i in range(n)]


def score_and_prune(model: nn.Module, ctx: RunContext, rnd: int) -> PruneResult:
    """One prune step as the pruner's registry entry (:data:`bipartite_expanders.adapters.torch.lth.hparams.PRUNERS`) says."""
    pr = ctx.hp.pruning
    spec = pr.spec
    return prune_step(
        model, spec.method, PruneRates(p_conv=pr.p_conv, p_fc=pr.p_fc, p_out=pr.p_out), bound=pr.bound,
        allocation=pr.allocation, batches=_input_batches(ctx, rnd) if spec.batches else None,
        input_shape=(1, *ctx.input_shape), seed=ctx.hp.seed * 1_000_003 + rnd, scope=ctx.hp.analysis.scope,
        train_mode=pr.train_mode if spec.batches else None, **pr.scoring,
    )


def census_round(trained: nn.Module, ctx: RunContext, pr: PruneResult) -> Census:
    """The census of the network this round trained (no warm start: a resumed run must
    reproduce the same floats)."""
    # the study's records keep the 1e-8 contract on every layer (Algorithm 1 compares margins)
    # the records keep full precision and the exact cover radius (no budget: the policy the
    # committed records were made with, so the drift test and resumed runs compare like with like)
    return census(trained, scores=pr.scores, scope=ctx.hp.analysis.scope, accuracy="full", cover_budget=math.inf)


def stop_reason(hp: Hparams, rnd: int, density: float, changed: bool) -> str | None:
    """Why the run stops after round ``rnd`` (None: it goes on).

    >>> from bipartite_expanders.adapters.torch.lth.hparams import default_hparams
    >>> h = default_hparams(rounds=3, bound=True)
    >>> stop_reason(h, 3, 0.5, True), stop_reason(h, 1, 0.5, False), stop_reason(h, 1, 0.5, True)
    ('rounds', 'bound_no_change', None)
    """
    if rnd >= hp.pruning.rounds:
        return "rounds"
    if hp.pruning.target_density is not None and density <= hp.pruning.target_density:
        return "target_density"
    if hp.pruning.bound and not changed:
        return "bound_no_change"
    return None


def make_record(hp: Hparams, rnd: int, ev: dict[str, Any], train_loss: float, cen: Census, pr: PruneResult,
                prev_decisions: Any, stop: str | None, next_density: float, timing: dict[str, float]) -> RoundRecord:
    """The typed record of a round."""
    return RoundRecord(
        hparams_hash=hp.hash(), run=hp.run_name(), label=hp.pruning.label, round=rnd, density=ev["density"],
        accuracy=ev["accuracy"], loss={**ev["loss"], "train": train_loss}, regime=cen.regime,
        regime_weighted=cen.regime_weighted,
        census=[LayerRecord.from_json(json_safe(c)) for c in cen.to_records()],
        decisions=prev_decisions,  # of the prune step that made this round's mask
        prune={"method": hp.pruning.method, "bound": hp.pruning.bound, "changed": bool(pr.changed),
               "next_density": next_density if stop is None else None,
               "decisions": json_safe(pr.decisions) if pr.decisions is not None else None},
        stop=stop, timing=timing, extra={"algorithm": ALGORITHM_VERSION})


def write_round(ctx: RunContext, record: RoundRecord, trained: nn.Module, next_masks: dict[str, torch.Tensor] | None,
                written: tuple[Path, ...] = ()) -> None:
    """The round's trained weights (per ``keep_weights``), the next round's masks, then the
    record (last, so a record on disk means its round is complete), which names every file the
    round wrote (these and ``written``, round 0's masks and rewind point) with its SHA-256."""
    rnd = record.round
    files = list(written)
    if ctx.keep_weights != "none":
        files.append(write_weights(weights_path(ctx.run_dir, rnd), trained))
    if next_masks is not None:
        files.append(write_masks(masks_path(ctx.run_dir, rnd + 1), next_masks))
    record.extra["files"] = {Path(p).name: file_digest(p) for p in files}
    write_record(ctx.run_dir, record)
    if ctx.keep_weights == "last" and rnd > 0:
        weights_path(ctx.run_dir, rnd - 1).unlink(missing_ok=True)


# ------------------------------------------------------------------ the run
@contextlib.contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    old = torch.get_num_threads()
    with contextlib.ExitStack() as stack:
        if threads is not None:
            torch.set_num_threads(threads)
            try:  # the census's LAPACK calls too: same thread count, same floats
                from threadpoolctl import threadpool_limits

                stack.enter_context(threadpool_limits(threads))
            except ImportError:
                pass
        try:
            yield
        finally:
            if threads is not None:
                torch.set_num_threads(old)


def _check_run_dir(run_dir: Path, hp: Hparams) -> None:
    saved = read_hparams(run_dir)
    version = saved.get("algorithm", 1) if saved else None
    if saved and version != ALGORITHM_VERSION and isinstance(version, int) and saved.get("hash") == hp.hash(version):
        raise RunDirError(f"{run_dir} was written by algorithm version {version}, this code is version "
                          f"{ALGORITHM_VERSION}: resuming would mix two trajectories in one run; `report` reads it, "
                          f"but run it again into another --out (today's name: {hp.run_name()})")
    if saved and saved.get("hash") != hp.hash():
        raise RunDirError(f"{run_dir} holds a run with other hyperparameters (hash {str(saved.get('hash'))[:12]}..., "
                          f"not {hp.hash()[:12]}...); choose another --out")


def run_lottery(hparams: Hparams, out: str | os.PathLike = "runs", *, data_dir: str | os.PathLike | None = None,
                progress: bool = True, threads: int | None = 1, run_dir: str | os.PathLike | None = None,
                stop_after: int | None = None, keep_weights: str = "all", allow_dense_layers: bool = False) -> RunResult:
    """Run (or resume) the lottery-ticket rounds of ``hparams`` in ``out/<hparams.run_name()>``.

    Parameters
    ----------
    hparams : the run's :class:`~bipartite_expanders.adapters.torch.lth.hparams.Hparams`.
    out : parent directory of run directories.
    data_dir : where the data set's files are (not part of the hash).
    progress : tqdm bars for rounds and iterations.
    threads : torch and BLAS threads during the run (1 = deterministic and polite); None leaves them.
    run_dir : use this directory instead of ``out/<run_name>``.
    stop_after : return after writing this round's record (for tests and time-boxed sessions); a
        rerun continues.
    keep_weights : ``"all"`` (default) keeps every round's trained weights (``weights_NN.pt``,
        sparse), ``"last"`` only the last round's, ``"none"`` none; masks are always kept.
    allow_dense_layers : a born-sparse run (``pruning.init_masks``) whose family cannot mask a
        layer at its density leaves that layer dense (stated in round 0's record as
        ``init_masks.dense_layers``) instead of failing before training (the default).

    The data set is loaded before anything is written, so a run that cannot start leaves no
    directory behind. Returns the :class:`RunResult` with every record written so far.
    """
    from tqdm.auto import tqdm

    if not isinstance(hparams, Hparams):
        raise TypeError(f"hparams must be Hparams, got {type(hparams).__name__}")
    if keep_weights not in KEEP_WEIGHTS:
        raise ValueError(f"keep_weights must be one of {KEEP_WEIGHTS}, got {keep_weights!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    if stop_after is not None and (isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 0):
        raise ValueError(f"stop_after must be a non-negative integer or None, got {stop_after!r}")
    hp = hparams
    run_dir = Path(run_dir) if run_dir is not None else Path(out) / hp.run_name()
    if run_dir.is_dir():
        _check_run_dir(run_dir, hp)
        try:  # a finished run returns at once (a damaged record is repaired below, under the lock)
            done = read_records(run_dir)
        except RecordError:
            done = []
        finished = done and (done[-1].stop or (stop_after is not None and done[-1].round >= stop_after))
        if finished and hparams_path(run_dir).is_file() and _files_intact(run_dir, done):  # else repaired below
            return RunResult(run_dir, hp, done, resumed_from=len(done))
    ds = load_dataset(hp.dataset.name, data_dir=data_dir, seed=hp.seed)  # before any file is written
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(run_dir)) from None
    try:
        with writer_lock(run_dir), _threads(threads):
            # the temporary files of a write killed before its rename (full-size checkpoints):
            # only the lock holder writes here, so none of them is being written now
            for stale in run_dir.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            _check_run_dir(run_dir, hp)
            state = resume(run_dir)  # again, under the lock
            foreign = [r.round for r in state.records if r.hparams_hash != hp.hash()]
            if foreign:  # hparams.json was missing, so read_records had no hash to check them against
                raise RunDirError(f"{run_dir}: round(s) {foreign} belong to another run (hparams_hash differs from "
                                  f"{hp.hash()[:12]}...); choose another --out")
            write_hparams(run_dir, hp.hash(), hp.to_dict(),
                          {"input_shape": list(ds.input_shape), "num_classes": ds.num_classes},
                          algorithm=ALGORITHM_VERSION)
            ctx = make_context(hp, run_dir, ds, progress=progress, keep_weights=keep_weights)
            return _rounds(ctx, state, stop_after, tqdm, allow_dense_layers)
    except BaseException:
        if created and not any(run_dir.iterdir() if run_dir.is_dir() else ()):
            run_dir.rmdir()
        elif created and not is_run_dir(run_dir):
            # a run that never finished its first round leaves nothing a rerun would need
            for p in (hparams_path(run_dir), lock_path(run_dir), masks_path(run_dir, 0), weights_path(run_dir, 0),
                      rewind_path(run_dir)):
                p.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                run_dir.rmdir()
        raise


def _rounds(ctx: RunContext, state: Resumed, stop_after: int | None, tqdm: Any,
            allow_dense_layers: bool = False) -> RunResult:
    hp = ctx.hp
    records = state.records
    result = RunResult(ctx.run_dir, hp, records, resumed_from=len(records) if records else None)
    if records and (records[-1].stop or (stop_after is not None and records[-1].round >= stop_after)):
        return result
    model = build_model(hp.model.name, input_shape=ctx.input_shape, num_classes=ctx.num_classes, seed=hp.seed)
    ensure_masks(model)
    rewind_state = state.rewind_state
    start = state.next_round
    born: dict[str, Any] | None = None
    if records:
        assert rewind_state is not None and state.next_masks is not None
        rewind(model, rewind_state)
        apply_masks(model, {n: m.float() for n, m in state.next_masks.items()})
    else:
        if hp.pruning.init_masks != "none":  # born sparse: round 0 trains with a mask family's masks
            masks, born = born_masks(model, hp)
            check_born(model, hp, born, allow_dense_layers)  # before any training
            if born["skipped"]:
                born["dense_layers"] = sorted(born["skipped"])  # left dense, as asked
            apply_masks(model, {n: m.float() for n, m in masks.items()})
        write_masks(masks_path(ctx.run_dir, 0), get_masks(model))
    prev_decisions = records[-1].prune.get("decisions") if records else None
    # counted by hand, not by iterating the bar: a break out of tqdm's iterator resets its count to
    # the last one it displayed when the generator closes (the "95 % 20/21" and "0/1" of issue 25)
    bar = tqdm(desc=f"{hp.pruning.label} rounds", disable=not ctx.progress, initial=start, total=hp.pruning.rounds + 1,
               unit="round")
    try:
        for rnd in range(start, hp.pruning.rounds + 1):
            t_round = time.perf_counter()
            res, rewind_state = train_round(model, ctx, rnd, rewind_state)
            written: tuple[Path, ...] = ()
            if rnd == 0:
                written = (masks_path(ctx.run_dir, 0), save_torch(rewind_state, rewind_path(ctx.run_dir)))
            timing = {"train_s": res.seconds}
            t = time.perf_counter()
            ev = evaluate_round(model, ctx)
            timing["eval_s"] = time.perf_counter() - t
            trained = copy.deepcopy(model)  # the census and the kept weights describe the network this round trained
            t = time.perf_counter()
            pr = score_and_prune(model, ctx, rnd)
            timing["prune_s"] = time.perf_counter() - t
            t = time.perf_counter()
            cen = census_round(trained, ctx, pr)
            timing["census_s"] = time.perf_counter() - t
            # a round the random-rejection control refused by chance is no fixed point: it goes on
            chance = any(d.get("reason") == "random_rejection" for d in (pr.decisions or {}).values())
            stop = stop_reason(hp, rnd, ev["density"]["total"], pr.changed or chance)
            next_density = float(total_density(model))
            timing["total_s"] = time.perf_counter() - t_round
            record = make_record(hp, rnd, ev, res.train_loss, cen, pr, prev_decisions, stop, next_density, timing)
            if born is not None and rnd == 0:
                record.extra["init_masks"] = born
            write_round(ctx, record, trained, None if stop is not None else {n: m.bool() for n, m in get_masks(model).items()},
                        written)
            records.append(record)
            prev_decisions = record.prune["decisions"]
            bar.set_postfix(density=f"{record.density['total']:.4f}", acc=f"{record.accuracy['clean']:.4f}", refresh=False)
            if stop is not None and bar.total is not None:
                bar.total = bar.n + 1  # the run ends here (a stop rule before the last round): 100 %
            bar.update(1)
            if stop is not None or (stop_after is not None and rnd >= stop_after):
                break
    finally:
        bar.close()
    return result

