"""The run directory: every file name, the typed records, the writer lock (torch-free).

A run directory ``OUT/<model>_<dataset>_<pruner>[-bound]_<hash12>`` holds:

==========================  ================================================================
``hparams.json``            ``{"hash", "hparams", "model_shape": {...}, "algorithm"}`` (no algorithm: version 1)
``round_NN.json``           one :class:`RoundRecord` per finished round (strict JSON)
``masks_NN.pt``             the masks round ``NN`` trained with, bit-packed (every round kept)
``weights_NN.pt``           round ``NN``'s trained weights, kept entries only (``--keep-weights``)
``rewind.pt``               the weights at the rewind iteration (every round restarts there)
``lock``                    while a process writes the run: OS-locked, its PID and host
``*.damaged``               a record or checkpoint that failed to read, moved aside on resume
==========================  ================================================================

Records are read through :meth:`RoundRecord.from_json`, which checks the format number and the
fields the pipeline needs, and :func:`read_records` checks each record's ``hparams_hash``
against the directory's ``hparams.json``. Record format 1 (the committed records under
``docs/results/``) is read as well; only format :data:`RECORD_FORMAT` runs are resumed.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> with writer_lock(d):
...     lock_path(d).is_file()
True
>>> lock_path(d).exists()
False
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bipartite_expanders.files import atomic_write, dumps, write_json

__all__ = [
    "RECORD_FORMAT", "READABLE_FORMATS", "RunDirError", "RecordError", "RunLockedError",
    "LayerRecord", "RoundRecord", "hparams_path", "record_path", "masks_path", "weights_path", "rewind_path",
    "lock_path", "read_hparams", "write_hparams", "read_record", "read_records", "write_record", "move_aside",
    "writer_lock", "find_run_dirs", "is_run_dir", "count_records",
]

#: the format number of the records this version writes (2: every round's masks kept, masks_NN =
#: the masks round NN trained with)
RECORD_FORMAT = 2
#: the formats :meth:`RoundRecord.from_json` reads (1: before the tickets were kept)
READABLE_FORMATS = (1, 2)
STOP_REASONS = (None, "rounds", "target_density", "bound_no_change")


class RunDirError(ValueError):
    """A run directory that cannot be used as asked; the message names the file."""


class RecordError(RunDirError):
    """A record that does not read: damaged, of an unknown format, or of another run."""

    def __init__(self, path: str | os.PathLike, why: str) -> None:
        self.path = Path(path)
        self.why = why
        super().__init__(f"{self.path}: {why}")


class RunLockedError(RunDirError):
    """Another live process is writing this run directory."""


# ------------------------------------------------------------------ file names
def hparams_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "hparams.json"


def record_path(run_dir: str | os.PathLike, rnd: int) -> Path:
    return Path(run_dir) / f"round_{rnd:02d}.json"


def masks_path(run_dir: str | os.PathLike, rnd: int) -> Path:
    return Path(run_dir) / f"masks_{rnd:02d}.pt"


def weights_path(run_dir: str | os.PathLike, rnd: int) -> Path:
    return Path(run_dir) / f"weights_{rnd:02d}.pt"


def rewind_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "rewind.pt"


def lock_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "lock"


def is_run_dir(path: str | os.PathLike) -> bool:
    return record_path(path, 0).is_file()


def count_records(run_dir: str | os.PathLike) -> int:
    """How many ``round_NN.json`` files a directory holds (0 if it does not exist); cheap, unvalidated."""
    try:
        return sum(1 for p in os.scandir(run_dir) if p.name.startswith("round_") and p.name.endswith(".json"))
    except FileNotFoundError:
        return 0


def find_run_dirs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Run directories among ``paths``: each path that holds ``round_00.json``, or else its
    sub-directories that do (so ``report runs/`` finds every run under ``runs``)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise FileNotFoundError(f"run directory {str(p)!r} not found")
        if is_run_dir(p):
            found.append(p)
            continue
        subs = sorted(q for q in p.iterdir() if q.is_dir() and is_run_dir(q))
        if not subs:
            raise FileNotFoundError(f"{str(p)!r} holds no round_00.json, neither directly nor in a sub-directory")
        found.extend(subs)
    return found


# ------------------------------------------------------------------ typed records
def _need(d: Any, key: str, types: Any, where: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise ValueError(f"{where}: field {key!r} missing")
    v = d[key]
    if types is not None and (not isinstance(v, types) or (isinstance(v, bool) and bool not in _as_tuple(types))):
        raise ValueError(f"{where}: field {key!r} must be {_names(types)}, got {type(v).__name__}")
    return v


def _as_tuple(types: Any) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _names(types: Any) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))


_NUMBER = (int, float)


@dataclass
class LayerRecord:
    """One layer's census in a round record: identity, density, and the mask, ``|W|`` and score
    graphs' reports (the JSON of :meth:`bipartite_expanders.RamanujanReport.to_dict`). Fields the
    record carries beyond these (added by later versions) are kept in ``extra``."""

    name: str
    role: str
    shape: list[int]
    graph_shape: list[int]
    density: float
    n_weights: int
    n_kept: int
    is_ramanujan: bool
    is_ramanujan_weighted: bool
    mask: dict[str, Any]
    weight: dict[str, Any] | None = None
    score: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _FIELDS = ("name", "role", "shape", "graph_shape", "density", "n_weights", "n_kept", "is_ramanujan",
               "is_ramanujan_weighted", "mask", "weight", "score")

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._FIELDS}
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, d: Any, where: str = "layer") -> LayerRecord:
        name = _need(d, "name", str, where)
        where = f"{where} {name!r}"
        kw = {"name": name, "role": _need(d, "role", str, where), "shape": list(_need(d, "shape", list, where)),
              "graph_shape": list(_need(d, "graph_shape", list, where)),
              "density": float(_need(d, "density", _NUMBER, where)), "n_weights": _need(d, "n_weights", int, where),
              "n_kept": _need(d, "n_kept", int, where), "is_ramanujan": _need(d, "is_ramanujan", bool, where),
              "is_ramanujan_weighted": bool(d.get("is_ramanujan_weighted", False)),
              "mask": _need(d, "mask", dict, where)}
        for k in ("weight", "score"):
            v = d.get(k)
            if v is not None and not isinstance(v, dict):
                raise ValueError(f"{where}: field {k!r} must be an object or null")
            kw[k] = v
        extra = {k: v for k, v in d.items() if k not in cls._FIELDS}
        return cls(**kw, extra=extra)


@dataclass
class RoundRecord:
    """One round of a run (see docs/pipeline.md, "The record"): what the round trained, how it
    scored, what its census found, what its prune step did, why the run stopped there."""

    hparams_hash: str
    run: str
    label: str
    round: int
    density: dict[str, Any]
    accuracy: dict[str, Any]
    loss: dict[str, Any]
    regime: str | None
    regime_weighted: str | None
    census: list[LayerRecord]
    decisions: dict[str, Any] | None
    prune: dict[str, Any]
    stop: str | None
    timing: dict[str, float] = field(default_factory=dict)
    format: int = RECORD_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    _FIELDS = ("format", "hparams_hash", "run", "label", "round", "density", "accuracy", "loss", "regime",
               "regime_weighted", "census", "decisions", "prune", "stop", "timing")

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._FIELDS}
        out["census"] = [c.to_json() for c in self.census]
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, d: Any, where: str = "record") -> RoundRecord:
        """Validate and type a record; raises ``ValueError`` naming the field (``where`` first)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"{where}: a record must be a JSON object, got {type(d).__name__}")
        fmt = _need(d, "format", int, where)
        if fmt not in READABLE_FORMATS:
            raise ValueError(f"{where}: record format {fmt} is not one this version reads {READABLE_FORMATS}")
        rnd = _need(d, "round", int, where)
        if rnd < 0:
            raise ValueError(f"{where}: field 'round' must be >= 0, got {rnd}")
        density = _need(d, "density", dict, where)
        _need(density, "total", _NUMBER, f"{where} density")
        accuracy = _need(d, "accuracy", dict, where)
        _need(accuracy, "clean", _NUMBER, f"{where} accuracy")
        noisy = _need(accuracy, "noisy", dict, f"{where} accuracy")
        if not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in noisy.values()):
            raise ValueError(f"{where}: accuracy.noisy must map sigmas to numbers")
        stop = d.get("stop")
        if stop not in STOP_REASONS:
            raise ValueError(f"{where}: field 'stop' must be one of {STOP_REASONS}, got {stop!r}")
        census = _need(d, "census", list, where)
        prune = d.get("prune") or {}
        if not isinstance(prune, dict):
            raise ValueError(f"{where}: field 'prune' must be an object")
        return cls(
            format=fmt, hparams_hash=_need(d, "hparams_hash", str, where), run=str(d.get("run", "")),
            label=_need(d, "label", str, where), round=rnd, density=dict(density), accuracy=dict(accuracy),
            loss=dict(d.get("loss") or {}), regime=d.get("regime"), regime_weighted=d.get("regime_weighted"),
            census=[LayerRecord.from_json(c, f"{where} census[{i}]") for i, c in enumerate(census)],
            decisions=d.get("decisions"), prune=prune, stop=stop, timing=dict(d.get("timing") or {}),
            extra={k: v for k, v in d.items() if k not in cls._FIELDS})


# ------------------------------------------------------------------ reading and writing
#: a record or hparams file larger than this is refused unread (the largest written are ~1 MB)
MAX_JSON_BYTES = 64 * 2**20


def _read_json(path: Path) -> Any:
    """A JSON file of the run directory; a damaged one (unreadable, too large, nested too deep
    for the parser, a number too long to convert) is a :class:`RecordError` naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise RecordError(path, f"{size:,} bytes, more than the {MAX_JSON_BYTES:,} a run's JSON file may hold")
        return json.loads(path.read_text())
    except RecursionError:
        raise RecordError(path, "not readable JSON (nested too deep)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, int digit limit
        raise RecordError(path, f"not readable JSON ({str(exc)[:200]})") from None


def read_hparams(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``hparams.json`` of a run directory (``{}`` when absent); damaged is a :class:`RecordError`."""
    path = hparams_path(run_dir)
    if not path.is_file():
        return {}
    d = _read_json(path)
    if not isinstance(d, dict) or not isinstance(d.get("hash"), str) or not isinstance(d.get("hparams"), dict):
        raise RecordError(path, "not a hyperparameter file (needs 'hash' and 'hparams')")
    return d


def write_hparams(run_dir: str | os.PathLike, hash_: str, hparams: Mapping[str, Any],
                  model_shape: Mapping[str, Any] | None = None, algorithm: int | None = None) -> Path:
    """Write ``hparams.json``: the hash, the hyperparameters, the model's input shape and classes,
    and the algorithm version that made the run (absent in runs before the field: version 1)."""
    doc: dict[str, Any] = {"hash": hash_, "hparams": dict(hparams)}
    if algorithm is not None:
        doc["algorithm"] = int(algorithm)
    if model_shape is not None:
        doc["model_shape"] = dict(model_shape)
    return write_json(hparams_path(run_dir), doc, indent=1)


def read_record(path: str | os.PathLike, hparams_hash: str | None = None) -> RoundRecord:
    """One record file, validated; any fault is a :class:`RecordError` naming the file."""
    path = Path(path)
    d = _read_json(path)
    try:
        rec = RoundRecord.from_json(d, where="record")
    except ValueError as exc:
        raise RecordError(path, str(exc)) from None
    if hparams_hash is not None and rec.hparams_hash != hparams_hash:
        raise RecordError(path, f"belongs to another run (hparams_hash {rec.hparams_hash[:12]}..., the directory's is "
                                f"{hparams_hash[:12]}...)")
    expected = int(path.stem.split("_")[-1]) if path.stem.split("_")[-1].isdigit() else rec.round
    if rec.round != expected:
        raise RecordError(path, f"holds round {rec.round}, its name says round {expected}")
    return rec


def move_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged file to ``<name>.damaged`` (``.damaged.1``, ... if taken); returns the new path."""
    path = Path(path)
    target = path.with_name(path.name + ".damaged")
    i = 0
    while target.exists():
        i += 1
        target = path.with_name(f"{path.name}.damaged.{i}")
    os.replace(path, target)
    return target


def read_records(run_dir: str | os.PathLike, *, repair: bool = False) -> list[RoundRecord]:
    """The contiguous records ``round_00.json, round_01.json, ...`` of a run directory.

    Each is checked by :func:`read_record` against the directory's ``hparams.json`` hash. A
    record that fails raises :class:`RecordError` naming it; with ``repair=True`` (resuming) it
    and every later record are moved aside (:func:`move_aside`) with a warning naming them, and
    the records before it are returned, so the run redoes that round.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run_dir {str(run_dir)!r} is not a directory")
    h = read_hparams(run_dir).get("hash")
    out: list[RoundRecord] = []
    r = 0
    while (p := record_path(run_dir, r)).is_file():
        try:
            out.append(read_record(p, h))
        except RecordError as exc:
            if not repair:
                raise
            moved = [move_aside(p)]
            q = r + 1
            while (nxt := record_path(run_dir, q)).is_file():
                moved.append(move_aside(nxt))
                q += 1
            warnings.warn(f"{exc.path}: {exc.why}; moved aside to {', '.join(m.name for m in moved)}; "
                          f"round {r} is redone", RuntimeWarning, stacklevel=2)
            break
        r += 1
    return out


def write_record(run_dir: str | os.PathLike, record: RoundRecord) -> Path:
    """Write a record atomically as strict JSON (non-finite floats as strings, docs/bounds.md)."""
    return atomic_write(record_path(run_dir, record.round), dumps(record.to_json()) + "\n")


# ------------------------------------------------------------------ one writer per run directory
def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (killed, not yet reaped by its parent) holds no lock."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    try:  # Linux: the state field of /proc/PID/stat ("Z" = zombie, "X" = dead)
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _holder(text: str) -> tuple[int | None, str]:
    """The PID and host a lock file names (``"PID HOST"``), ``(None, host)`` when it names none."""
    fields = text.split()
    pid = int(fields[0]) if fields and fields[0].isdigit() and len(fields[0]) < 12 else None
    return pid, fields[1] if len(fields) > 1 else socket.gethostname()


def _locked_error(path: Path, pid: int | None, host: str) -> RunLockedError:
    who = "another process" if pid is None else f"another process (PID {pid}" + (
        "" if host == socket.gethostname() else f" on {host}") + ")"
    return RunLockedError(f"{path.parent}: {who} is writing this run directory; wait for it, "
                          f"or remove {path} if it is gone")


@contextmanager
def writer_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run directory's ``lock`` for the block: an exclusive OS file lock
    (``fcntl.flock``) on the file, which then names this PID and host.

    The OS lock is what excludes a second writer: taking it is one atomic step, and the kernel
    drops it when its holder dies, however it dies, so a dead writer's lock is taken over
    without reading anything. The PID and host inside are for the message a competitor gets,
    and for a lock file left by a writer that did not hold an OS lock (an older version of this
    package, or another host, where ``flock`` may not reach): a live PID on this host, or any
    PID on another, is still refused.
    """
    import fcntl

    path = lock_path(run_dir)
    me = f"{os.getpid()} {socket.gethostname()}\n".encode()
    for _ in range(100):
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 200, 0).decode("ascii", "replace")
                raise _locked_error(path, *_holder(text)) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # its holder released it (unlinked the file) while we opened it: again
                continue
            pid, host = _holder(os.pread(fd, 200, 0).decode("ascii", "replace"))
            if pid is not None and pid != os.getpid() and (host != socket.gethostname() or _alive(pid)):
                raise _locked_error(path, pid, host)
            os.ftruncate(fd, 0)
            os.pwrite(fd, me, 0)
            try:
                yield path
            finally:
                path.unlink(missing_ok=True)  # before the OS lock goes: a waiter then retries
            return
        finally:
            os.close(fd)
    raise RunLockedError(f"{path}: could not take the lock")
