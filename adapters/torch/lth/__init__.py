"""The lottery-ticket pipeline: models, offline data, hyperparameters, training, rounds, reports.

Submodules are imported lazily so that ``bipartite_expanders.adapters.torch.lth.cli`` can be configured without
importing torch. ``from bipartite_expanders.adapters.torch.lth import build_model`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_model": "models",
    "MODELS": "models",
    "model_names": "models",
    "load_dataset": "data",
    "DATASETS": "data",
    "Dataset": "data",
    "add_noise": "data",
    "Hparams": "hparams",
    "ModelHparams": "hparams",
    "DatasetHparams": "hparams",
    "TrainingHparams": "hparams",
    "PruningHparams": "hparams",
    "PRESETS": "hparams",
    "preset": "hparams",
    "default_hparams": "hparams",
    "train": "training",
    "evaluate": "training",
    "TrainResult": "training",
    "run_lottery": "runner",
    "RunResult": "runner",
    "load_records": "runner",
    "load_ticket": "tickets",
    "folded_state_dict": "tickets",
    "RoundRecord": "rundir",
    "LayerRecord": "rundir",
    "read_records": "rundir",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        mod = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
