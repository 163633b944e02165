"""Loading run directories for the reports: records validated through
:mod:`bipartite_expanders.adapters.torch.lth.rundir` (format 1 and 2), hyperparameters, labels, groups over seeds.

Nothing here imports torch.

>>> run = RunData(Path("r"), {"seed": 3, "model": {"name": "lenet300"}, "dataset": {"name": "digits"},
...               "pruning": {"pruner": "imp", "bound": True}}, [{"label": "IMP-Bound"}])
>>> run.label, run.seed_label, run.title
('IMP-Bound', 'IMP-Bound, seed 3', 'IMP-Bound, seed 3: lenet300 / digits')
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hparams import MODEL_DEFAULTS, Hparams
from ..rundir import find_run_dirs, read_hparams, read_records

__all__ = ["RunData", "RunGroup", "load_run", "load_runs", "group_runs", "run_label", "with_defaults"]


@dataclass
class RunData:
    """A run directory's hyperparameters (the dict of ``hparams.json``) and its records (the
    validated JSON of each :class:`~bipartite_expanders.adapters.torch.lth.rundir.RoundRecord`, round order)."""

    path: Path
    hparams: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def label(self) -> str:
        """The pruner's label: ``IMP``, ``IMP-Bound``, ..."""
        if self.records:
            return str(self.records[0].get("label", self.path.name))
        return self.path.name

    @property
    def seed(self) -> Any:
        return self.hparams.get("seed")

    @property
    def config_label(self) -> str:
        """:func:`run_label`: the label, with the rates when they are not the model's defaults."""
        return run_label(self)

    @property
    def seed_label(self) -> str:
        """``IMP-Bound, seed 0``: the configuration and the seed, as tables and panels name a run."""
        return self.config_label + ("" if self.seed is None else f", seed {self.seed}")

    @property
    def title(self) -> str:
        h = self.hparams
        if "model" not in h or "dataset" not in h:
            return self.seed_label
        return f"{self.seed_label}: {h['model']['name']} / {h['dataset']['name']}"

    @property
    def densities(self) -> list[float]:
        return [float(r["density"]["total"]) for r in self.records]

    @property
    def sigmas(self) -> list[str]:
        return list(self.records[0]["accuracy"]["noisy"]) if self.records else []


def load_run(path: str | os.PathLike) -> RunData:
    """Read ``hparams.json`` and the contiguous ``round_NN.json`` records of a run directory;
    a damaged or foreign record raises :class:`~bipartite_expanders.adapters.torch.lth.rundir.RecordError` naming it."""
    path = Path(path)
    records = read_records(path)
    if not records:
        raise FileNotFoundError(f"run directory {str(path)!r} holds no round_00.json")
    return RunData(path, with_defaults(read_hparams(path).get("hparams", {})), [r.to_json() for r in records])


def with_defaults(hparams: dict[str, Any]) -> dict[str, Any]:
    """``hparams`` with every field the current :class:`~bipartite_expanders.adapters.torch.lth.hparams.Hparams`
    knows, at its default where the file predates it, so that a run written before a field was
    added groups with, and is the reference of, a run written after (the 20,000-iteration
    seed 0 runs lacked the ``pruning.init_*`` fields of seed 1's). A dict the current version
    cannot read (a newer one's) is returned as it is."""
    if not hparams:
        return hparams
    try:
        return Hparams.from_dict(hparams).to_dict()
    except (TypeError, ValueError):
        return hparams


def load_runs(paths: Sequence[str | os.PathLike]) -> list[RunData]:
    """Every run under ``paths`` (run directories or directories of them)."""
    return [load_run(p) for p in find_run_dirs(paths)]


def run_label(run: Any) -> str:
    """The run's label, with ``(p/2)`` (or the rates) appended when it prunes at other rates than the
    model's defaults, and ``(scored once)`` for plain SynFlow scored once per round:
    ``IMP``, ``IMP-Bound``, ``IMP (p/2)``, ``SynFlow (scored once) (p/2)``."""
    pr = run.hparams.get("pruning", {})
    model = run.hparams.get("model", {}).get("name")
    label = str(run.records[0].get("label", run.path.name)) if run.records else run.path.name
    if pr.get("synflow_steps") == 1 and not pr.get("bound"):  # plain SynFlow scored as bounded SynFlow is
        label += " (scored once)"
    if not pr or model not in MODEL_DEFAULTS:
        return label
    default = MODEL_DEFAULTS[model][1]
    keys = [k for k in ("p_conv", "p_fc", "p_out") if k in default]
    if all(math.isclose(pr.get(k, default[k]), default[k]) for k in keys):
        return label
    if all(math.isclose(pr.get(k, default[k]), default[k] / 2) for k in keys):
        return f"{label} (p/2)"
    return label + " (" + ", ".join(f"{k}={pr[k]:g}" for k in keys) + ")"


@dataclass
class RunGroup:
    """Runs whose hyperparameters differ only in the seed."""

    key: str
    runs: list[RunData]

    @property
    def label(self) -> str:
        return self.runs[0].config_label

    @property
    def title(self) -> str:
        h = self.runs[0].hparams
        where = f": {h['model']['name']} / {h['dataset']['name']}" if "model" in h and "dataset" in h else ""
        return f"{self.label}{where}"

    @property
    def seeds(self) -> list[Any]:
        return [r.seed for r in self.runs]


def _group_key(run: RunData) -> str:
    if not run.hparams:  # no hparams.json: a group of its own
        return f"path:{run.path}"
    h = {k: v for k, v in run.hparams.items() if k != "seed"}
    return hashlib.sha256(json.dumps(h, sort_keys=True).encode()).hexdigest()[:12]


def group_runs(runs: Sequence[RunData]) -> list[RunGroup]:
    """Runs grouped by their hyperparameters without the seed; groups ordered by model, data set,
    pruner, plain before -Bound; seeds in order."""
    groups: dict[str, RunGroup] = {}
    for run in runs:
        groups.setdefault(_group_key(run), RunGroup(_group_key(run), [])).runs.append(run)
    for g in groups.values():
        g.runs.sort(key=lambda r: (r.seed is None, r.seed if isinstance(r.seed, int) else 0))

    def order(g: RunGroup) -> tuple[str, ...]:  # model, data set, pruner, then plain before -Bound
        h = g.runs[0].hparams
        if not h:
            return ("~", str(g.runs[0].path))
        return (h["model"]["name"], h["dataset"]["name"], h["pruning"]["pruner"], str(h["pruning"]["bound"]), g.key)

    return sorted(groups.values(), key=order)
