"""Hyperparameters of a lottery-ticket run, OpenLTH style.

Four frozen dataclasses (model, dataset, training, pruning) make one :class:`Hparams`. Its
:meth:`~Hparams.hash` is a stable digest of every field that changes the numbers (not of where the
data lie on disk) and of :data:`ALGORITHM_VERSION` (the code that turns them into records), and
names the run directory, so the same hyperparameters under the same algorithm always land in the
same directory and a rerun resumes there, while newer code never resumes an older run.

Defaults per model follow the seed paper's Table 3 (after Frankle & Carbin 2019): LeNet-300-100
Adam 1.2e-3, batch 60; Conv-2 Adam 2e-4; Conv-4 and Conv-6 Adam 3e-4, batch 60; VGG-19 and
ResNet-20 SGD 0.1 with momentum 0.9. Pruning rates are fractions of the *remaining* weights per
round: fully connected 20 %, output 10 %, convolutions 10 % (Conv-2/4), 15 % (Conv-6), 20 % (VGG-19,
ResNet-20, pruned globally as in Frankle & Carbin).

>>> h = default_hparams("lenet300", "fashion-mnist")
>>> h.training.optimizer, h.training.lr, h.training.batch_size
('adam', 0.0012, 60)
>>> len(h.hash())
64
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALGORITHM_VERSION", 
    "MODEL_NAMES", "DATASET_NAMES", "ModelHparams", "DatasetHparams", "TrainingHparams", "PruningHparams", "AnalysisHparams", "Hparams",
    "Pruner", "PRUNERS", "CONTROLS", "pruner_names", "SCORE_MODES", "INIT_MASKS", "INIT_ALLOCATIONS", "PRESETS", "preset",
    "default_hparams", "MODEL_DEFAULTS",
]

#: the names of :data:`bipartite_expanders.adapters.torch.lth.models.MODELS` (kept here so hparams need no torch)
MODEL_NAMES = ("lenet300", "conv2", "conv4", "conv6", "vgg19", "resnet20")
DATASET_NAMES = ("digits", "fashion-mnist", "mnist", "cifar10")

@dataclass(frozen=True)
class Pruner:
    """One entry of the pruner registry: how the runner calls
    :func:`bipartite_expanders.adapters.torch.pruning.prune_step` for this ``pruning.pruner`` name.

    ``method``: the score (:data:`bipartite_expanders.adapters.torch.scores.SCORE_METHODS`); ``batches``: the score
    needs training batches; ``score_mode``: ``"train"`` or ``"eval"`` mode while scoring (the
    original implementation's choice, see docs/torch-adapter.md); ``options``: further keyword
    arguments of ``prune_step`` (e.g. ``levels`` of the bound); ``alias``: an alternative name
    not offered on the command line; ``variant``: appended to the label (``IMP-Bound (p first)``);
    ``needs_bound``: a control of the bound, valid with ``bound = true`` only;
    ``random_rejection``: the random-rejection control (reads ``pruning.reject_rate``). A new
    pruner (or a variant such as a bound with other levels) is one entry here.
    """

    label: str
    method: str
    batches: bool = False
    score_mode: str = "eval"
    options: tuple[tuple[str, Any], ...] = ()
    alias: bool = False
    variant: str = ""
    needs_bound: bool = False
    random_rejection: bool = False


#: ``pruning.pruner`` name -> :class:`Pruner`
PRUNERS: dict[str, Pruner] = {
    "imp": Pruner("IMP", "magnitude"),
    "magnitude": Pruner("IMP", "magnitude", alias=True),
    # SNIP's reference code (namhoonlee/snip-public, snip/prune.py: is_train False) scores in eval
    # mode; GraSP's (alecwangcq/GraSP, pruner/GraSP.py: a fresh network, .eval() commented out) in train mode
    "snip": Pruner("SNIP", "snip", batches=True, score_mode="eval"),
    "grasp": Pruner("GraSP", "grasp", batches=True, score_mode="train"),
    "synflow": Pruner("SynFlow", "synflow"),
    "random": Pruner("Random", "random"),
}

#: the controls that isolate Algorithm 1's spectral test (docs/bounded-pruning.md), per pruner:
#: ``-unweighted``: the bound without the ``|W|`` fallback; ``-random``: layer steps refused at
#: random at ``pruning.reject_rate``, else the first candidate (``p/2``) under the degree guard;
#: ``-pfirst``: the candidates ``p, p/2, p/4, ...`` (``first_k=0``). Each needs ``bound = true``.
CONTROLS: dict[str, tuple[str, tuple[tuple[str, Any], ...], bool]] = {
    "unweighted": (" (unweighted test only)", (("rules", ("unweighted",)),), False),
    "random": (" (random rejection)", (), True),
    "pfirst": (" (p first)", (("first_k", 0),), False),
}
for _name in ("imp", "snip", "synflow"):
    for _control, (_suffix, _options, _random) in CONTROLS.items():
        _spec = PRUNERS[_name]
        PRUNERS[f"{_name}-{_control}"] = dataclasses.replace(_spec, options=_spec.options + _options, variant=_suffix,
                                                              needs_bound=True, random_rejection=_random)

#: ``pruning.score_mode``: ``default`` = the pruner's own (:attr:`Pruner.score_mode`)
SCORE_MODES = ("default", "train", "eval")

#: ``pruning.init_masks``: the mask family round 0 trains with (docs/generators.md), ``none`` =
#: dense; name -> label
INIT_MASKS: dict[str, str] = {"none": "", "ramanujan": "Ramanujan", "random-biregular": "Random-biregular",
                              "erdos-renyi": "Erdos-Renyi"}
#: ``pruning.init_allocation``: per-layer densities of the born mask; ``schedule`` = those of a
#: ticket of that total density under the layer-wise rates (``(1 - p_layer)^r``, real ``r``),
#: ``uniform`` = every layer at ``init_density``
INIT_ALLOCATIONS = ("schedule", "uniform")


def pruner_names() -> list[str]:
    """The pruner names offered to users (aliases left out), sorted."""
    return sorted(k for k, v in PRUNERS.items() if not v.alias)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _strict(obj: Any, typ: type, *names: str, optional: bool = False) -> None:
    """Exact types, no coercion: a bool is not an int, a float is not an int, a string is not a
    bool; an int is accepted for a float (and stored as float, so ``lr=1`` and ``lr=1.0`` hash
    alike); floats must be finite."""
    for n in names:
        v = getattr(obj, n)
        if v is None and optional:
            continue
        if typ is bool:
            ok = isinstance(v, bool)
        elif typ is int:
            ok = isinstance(v, int) and not isinstance(v, bool)
        elif typ is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        else:
            ok = isinstance(v, typ)
        if not ok:
            raise TypeError(f"{n} must be {'an' if typ is int else 'a'} {typ.__name__}, got {v!r} ({type(v).__name__})")
        if typ is float:
            if not math.isfinite(v):
                raise ValueError(f"{n} must be finite, got {v!r}")
            object.__setattr__(obj, n, float(v))


@dataclass(frozen=True)
class ModelHparams:
    """Which architecture (a name of :func:`bipartite_expanders.adapters.torch.lth.models.build_model`)."""

    name: str = "lenet300"

    def __post_init__(self) -> None:
        _strict(self, str, "name")
        _check(self.name in MODEL_NAMES, f"model must be one of {list(MODEL_NAMES)}, got {self.name!r}")


@dataclass(frozen=True)
class DatasetHparams:
    """Which data set, and the noisy test sets: Gaussian sigmas in pixel units of ``[0, 1]``."""

    name: str = "digits"
    noise: tuple[float, ...] = (0.1, 0.3)

    def __post_init__(self) -> None:
        _strict(self, str, "name")
        _check(self.name in DATASET_NAMES, f"dataset must be one of {list(DATASET_NAMES)}, got {self.name!r}")
        if not isinstance(self.noise, (list, tuple)) or any(isinstance(s, bool) or not isinstance(s, (int, float))
                                                           for s in self.noise):
            raise TypeError(f"noise must be a list of numbers (sigmas), got {self.noise!r}")
        noise = tuple(float(s) for s in self.noise)
        _check(all(s > 0 and s < float("inf") for s in noise), f"noise sigmas must be positive and finite, got {self.noise!r}")
        object.__setattr__(self, "noise", noise)


@dataclass(frozen=True)
class TrainingHparams:
    """Optimiser and schedule of every round; ``rewind_iter`` = the iteration whose weights
    every round restarts from (0 = initialisation)."""

    optimizer: str = "adam"
    lr: float = 1.2e-3
    batch_size: int = 60
    iterations: int = 20000
    momentum: float = 0.0
    weight_decay: float = 0.0
    rewind_iter: int = 0

    def __post_init__(self) -> None:
        _strict(self, str, "optimizer")
        _strict(self, float, "lr", "momentum", "weight_decay")
        _strict(self, int, "batch_size", "iterations", "rewind_iter")
        _check(self.optimizer in ("adam", "sgd"), f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        _check(self.lr > 0, f"lr must be positive, got {self.lr!r}")
        _check(int(self.batch_size) >= 1, f"batch_size must be >= 1, got {self.batch_size!r}")
        _check(int(self.iterations) >= 1, f"iterations must be >= 1, got {self.iterations!r}")
        _check(0 <= int(self.rewind_iter) < int(self.iterations),
               f"rewind_iter must be in [0, iterations), got {self.rewind_iter!r} with iterations={self.iterations!r}")
        _check(self.momentum >= 0 and self.weight_decay >= 0, "momentum and weight_decay must be non-negative")


@dataclass(frozen=True)
class PruningHparams:
    """How each round prunes and when the run stops.

    ``pruner``: ``imp`` (magnitude), ``snip``, ``synflow``, ``random``, ``grasp``; ``bound``: prune
    by the seed paper's Algorithm 1 (a layer is only pruned while it stays Ramanujan); ``rounds``:
    pruning rounds after the dense round 0; ``target_density``: stop once the total density is at
    or below it.

    ``init_masks``: round 0 trains sparse from initialisation with a mask family (``ramanujan``
    certified, ``random-biregular``, ``erdos-renyi``; docs/pipeline.md, "Born sparse") of total
    density ``init_density``, per layer as ``init_allocation`` says; such a run normally has
    ``rounds = 0``; with ``rounds > 0`` the pruner prunes further from the born mask."""

    pruner: str = "imp"
    bound: bool = False
    rounds: int = 20
    target_density: float | None = None
    p_conv: float = 0.2
    p_fc: float = 0.2
    p_out: float = 0.1
    allocation: str = "layerwise"
    score_mode: str = "default"
    reject_rate: float | None = None
    synflow_steps: int | None = None
    init_masks: str = "none"
    init_density: float | None = None
    init_allocation: str = "schedule"

    def __post_init__(self) -> None:
        _strict(self, str, "pruner", "allocation", "score_mode", "init_masks", "init_allocation")
        _strict(self, float, "init_density", optional=True)
        _check(self.init_masks in INIT_MASKS, f"init_masks must be one of {list(INIT_MASKS)}, got {self.init_masks!r}")
        _check(self.init_allocation in INIT_ALLOCATIONS,
               f"init_allocation must be one of {list(INIT_ALLOCATIONS)}, got {self.init_allocation!r}")
        if self.init_masks == "none":
            _check(self.init_density is None and self.init_allocation == "schedule",
                   f"init_density and init_allocation need init_masks (one of {list(INIT_MASKS)[1:]}), "
                   f"got init_masks 'none' with init_density={self.init_density!r}")
        else:
            _check(self.init_density is not None and 0 < self.init_density <= 1,
                   f"init_density must be in (0, 1] with init_masks {self.init_masks!r}, got {self.init_density!r}")
        _strict(self, float, "p_conv", "p_fc", "p_out")
        _strict(self, int, "rounds")
        _strict(self, bool, "bound")
        _strict(self, float, "target_density", "reject_rate", optional=True)
        _strict(self, int, "synflow_steps", optional=True)
        _check(self.pruner in PRUNERS, f"pruner must be one of {pruner_names()}, got {self.pruner!r}")
        _check(self.score_mode in SCORE_MODES, f"score_mode must be one of {list(SCORE_MODES)}, got {self.score_mode!r}")
        _check(int(self.rounds) >= 0, f"rounds must be >= 0, got {self.rounds!r}")
        _check(self.target_density is None or 0 < self.target_density <= 1,
               f"target_density must be in (0, 1], got {self.target_density!r}")
        for k in ("p_conv", "p_fc", "p_out"):
            _check(0 <= getattr(self, k) < 1, f"{k} must be in [0, 1), got {getattr(self, k)!r}")
        _check(self.allocation in ("layerwise", "global", "erk"),
               f"allocation must be 'layerwise', 'global' or 'erk', got {self.allocation!r}")
        spec = PRUNERS[self.pruner]
        _check(self.bound or not spec.needs_bound, f"pruner {self.pruner!r} is a control of the bound: it needs bound = true")
        if spec.random_rejection:
            _check(self.reject_rate is not None and 0 <= self.reject_rate <= 1,
                   f"pruner {self.pruner!r} needs reject_rate in [0, 1] (the rate the bound refused layer steps), "
                   f"got {self.reject_rate!r}")
        else:
            _check(self.reject_rate is None, f"reject_rate applies to the random-rejection controls only "
                   f"(pruner '<name>-random'), not to {self.pruner!r}")
        if self.synflow_steps is not None:
            _check(spec.method == "synflow", f"synflow_steps applies to SynFlow only, not to {self.pruner!r}")
            _check(self.synflow_steps >= 1, f"synflow_steps must be >= 1, got {self.synflow_steps!r}")
            _check(not self.bound or self.synflow_steps == 1,
                   f"bounded SynFlow scores once per round (Algorithm 1 needs one ranking): synflow_steps must be 1 "
                   f"with bound = true, got {self.synflow_steps!r}")

    @property
    def spec(self) -> Pruner:
        """The registry entry of :attr:`pruner`."""
        return PRUNERS[self.pruner]

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def train_mode(self) -> bool:
        """Whether the scores are computed in train mode (``score_mode``, else the pruner's own)."""
        return (self.spec.score_mode if self.score_mode == "default" else self.score_mode) == "train"

    @property
    def label(self) -> str:
        """``IMP``, ``IMP-Bound``, ``SynFlow-Bound``, ... as in the seed paper; a born-sparse run
        ``Born Ramanujan`` (``Born Ramanujan + IMP`` when it prunes further)."""
        pruned = self.spec.label + ("-Bound" if self.bound else "") + self.spec.variant
        if self.init_masks == "none":
            return pruned
        return f"Born {INIT_MASKS[self.init_masks]}" + (f" + {pruned}" if self.rounds > 0 else "")

    @property
    def scoring(self) -> dict[str, Any]:
        """The keyword arguments of ``prune_step`` these fields set (the registry's options, the
        random-rejection rate, SynFlow's steps: ``None`` = 100 plain, once bounded)."""
        kw = dict(self.spec.options)
        if self.spec.random_rejection:
            kw["reject_rate"] = self.reject_rate
        if self.spec.method == "synflow":
            kw["synflow_steps"] = 1 if self.bound else (100 if self.synflow_steps is None else self.synflow_steps)
        return kw


@dataclass(frozen=True)
class AnalysisHparams:
    """How each round's census analyses the layers (changes the records, so it is hashed)."""

    scope: str = "largest"

    def __post_init__(self) -> None:
        _strict(self, str, "scope")
        _check(self.scope in ("largest", "nonisolated", "all"), f"scope must be largest, nonisolated or all, got {self.scope!r}")


@dataclass(frozen=True)
class Hparams:
    """Everything that determines a run's records; ``seed`` seeds initialisation, data order,
    the digits split, the noise and the random scores."""

    model: ModelHparams = field(default_factory=ModelHparams)
    dataset: DatasetHparams = field(default_factory=DatasetHparams)
    training: TrainingHparams = field(default_factory=TrainingHparams)
    pruning: PruningHparams = field(default_factory=PruningHparams)
    analysis: AnalysisHparams = field(default_factory=AnalysisHparams)
    seed: int = 0

    def __post_init__(self) -> None:
        _strict(self, int, "seed")
        for name, typ in (("model", ModelHparams), ("dataset", DatasetHparams), ("training", TrainingHparams),
                          ("pruning", PruningHparams), ("analysis", AnalysisHparams)):
            if not isinstance(getattr(self, name), typ):
                raise TypeError(f"{name} must be {typ.__name__}, got {type(getattr(self, name)).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hparams:
        """The inverse of :meth:`to_dict`; unknown sections or fields raise ``ValueError`` naming them."""
        if not isinstance(d, dict):
            raise TypeError(f"hparams must be a dict, got {type(d).__name__}")
        sections = {"model": ModelHparams, "dataset": DatasetHparams, "training": TrainingHparams,
                    "pruning": PruningHparams, "analysis": AnalysisHparams}
        unknown = sorted(set(d) - set(sections) - {"seed"})
        if unknown:
            raise ValueError(f"unknown hparams section {unknown[0]!r}")
        kw: dict[str, Any] = {}
        for name, typ in sections.items():
            sec = d.get(name, {})
            if not isinstance(sec, dict):
                raise TypeError(f"hparams section {name!r} must be a dict, got {type(sec).__name__}")
            known = {f.name for f in dataclasses.fields(typ)}
            bad = sorted(set(sec) - known)
            if bad:
                raise ValueError(f"unknown field {name}.{bad[0]}")
            sec = dict(sec)
            if name == "dataset" and isinstance(sec.get("noise"), list):
                sec["noise"] = tuple(sec["noise"])
            kw[name] = typ(**sec)
        return cls(**kw, seed=d.get("seed", 0))

    def canonical(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields added after the hash was pinned while they hold
        their defaults (so those fields do not rename existing run directories)."""
        d = self.to_dict()
        for section, name, default in _HASH_OMITTED_AT_DEFAULT:
            if d[section].get(name) == default:
                del d[section][name]
        return d

    def hash(self, algorithm: int = None) -> str:  # type: ignore[assignment]
        """SHA-256 of the canonical JSON (sorted keys, no whitespace) of :meth:`canonical` plus
        ``"algorithm": algorithm`` (default :data:`ALGORITHM_VERSION`); version 1, the code before
        the version existed, hashes :meth:`canonical` alone, so ``hash(algorithm=1)`` is the hash
        that names the run directories of that code."""
        algorithm = ALGORITHM_VERSION if algorithm is None else algorithm
        if isinstance(algorithm, bool) or not isinstance(algorithm, int) or algorithm < 1:
            raise ValueError(f"algorithm must be a positive integer, got {algorithm!r}")
        d = self.canonical()
        if algorithm > 1:
            d["algorithm"] = algorithm
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def run_name(self) -> str:
        """The run directory's name: readable prefix plus the first 12 hex digits of :meth:`hash`."""
        bound = "-bound" if self.pruning.bound else ""
        born = f"_born-{self.pruning.init_masks}" if self.pruning.init_masks != "none" else ""
        return f"{self.model.name}_{self.dataset.name}_{self.pruning.pruner}{bound}{born}_{self.hash()[:12]}"

    def replace(self, **sections: Any) -> Hparams:
        """Copy with fields changed, by section: ``h.replace(training={"iterations": 100})``."""
        kw: dict[str, Any] = {}
        for name, changes in sections.items():
            if name == "seed":
                kw["seed"] = changes
                continue
            if not hasattr(self, name):
                raise ValueError(f"unknown hparams section {name!r}")
            kw[name] = dataclasses.replace(getattr(self, name), **changes)
        return dataclasses.replace(self, **kw)


#: The version of the algorithm that turns hyperparameters into records: data, model
#: initialisation, training, evaluation (noise), scoring, pruning, the census and the stopping
#: rule. Bump it with any change that alters a record's numbers; it is part of
#: :meth:`Hparams.hash` (hence of the run directory's name), written into ``hparams.json`` and
#: every round record (``"algorithm"``), so a run directory of older code is never resumed by
#: newer code. 1: every run made before the field existed (records without it; e.g. the committed
#: quick start diverged from today's code at IMP's round 5). 2: the code of issue 26. Kept honest by
#: ``tests/test_drift.py``, which re-runs the first rounds of the committed quick-start runs
#: (``docs/results/quickstart``) and compares them record by record: a change that alters results
#: without a bump fails there; a bump must regenerate those records (the test says how).
ALGORITHM_VERSION = 2

#: (section, field, default) of fields added after the hash was pinned: left out of the hash at
#: their default, so the run directories of earlier versions keep their names
_HASH_OMITTED_AT_DEFAULT: tuple[tuple[str, str, Any], ...] = (
    ("pruning", "score_mode", "default"), ("pruning", "reject_rate", None), ("pruning", "synflow_steps", None),
    ("pruning", "init_masks", "none"), ("pruning", "init_density", None), ("pruning", "init_allocation", "schedule"))

#: model -> (training defaults, pruning defaults)
MODEL_DEFAULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "lenet300": ({"optimizer": "adam", "lr": 1.2e-3, "batch_size": 60, "iterations": 20000},
                 {"p_fc": 0.2, "p_out": 0.1}),
    "conv2": ({"optimizer": "adam", "lr": 2e-4, "batch_size": 60, "iterations": 20000},
              {"p_conv": 0.1, "p_fc": 0.2, "p_out": 0.1}),
    "conv4": ({"optimizer": "adam", "lr": 3e-4, "batch_size": 60, "iterations": 25000},
              {"p_conv": 0.1, "p_fc": 0.2, "p_out": 0.1}),
    "conv6": ({"optimizer": "adam", "lr": 3e-4, "batch_size": 60, "iterations": 30000},
              {"p_conv": 0.15, "p_fc": 0.2, "p_out": 0.1}),
    "vgg19": ({"optimizer": "sgd", "lr": 0.1, "batch_size": 64, "iterations": 112000, "momentum": 0.9,
               "weight_decay": 1e-4}, {"p_conv": 0.2, "p_fc": 0.2, "p_out": 0.2, "allocation": "global"}),
    "resnet20": ({"optimizer": "sgd", "lr": 0.1, "batch_size": 128, "iterations": 30000, "momentum": 0.9,
                  "weight_decay": 1e-4}, {"p_conv": 0.2, "p_fc": 0.2, "p_out": 0.2, "allocation": "global"}),
}


def default_hparams(model: str = "lenet300", dataset: str = "digits", **pruning: Any) -> Hparams:
    """Hyperparameters with the per-model defaults; ``pruning`` overrides :class:`PruningHparams` fields."""
    if model not in MODEL_DEFAULTS:
        raise ValueError(f"model must be one of {list(MODEL_DEFAULTS)}, got {model!r}")
    train, prune = MODEL_DEFAULTS[model]
    return Hparams(ModelHparams(model), DatasetHparams(dataset), TrainingHparams(**train),
                   PruningHparams(**{**prune, **pruning}))


def _quickstart() -> list[Hparams]:
    base = default_hparams("lenet300", "digits", pruner="imp", rounds=20).replace(training={"iterations": 300})
    # the bounded run prunes at most p/2 per round, so it gets more rounds to go as deep
    return [base, base.replace(pruning={"bound": True, "rounds": 30})]


def _fmnist() -> list[Hparams]:
    return [default_hparams("lenet300", "fashion-mnist", pruner="imp", rounds=20)]


#: preset name -> (description, list of runs); ``lth --preset NAME`` runs them in order
PRESETS: dict[str, tuple[str, Any]] = {
    "quickstart": ("LeNet-300-100 on digits, IMP (20 rounds) and IMP-Bound (up to 30 rounds), 300 iterations per round", _quickstart),
    "lenet-fmnist": ("LeNet-300-100 on Fashion-MNIST, IMP, 20 rounds (0.8^20 = 1.2 % density), 20,000 iterations", _fmnist),
}


def preset(name: str) -> list[Hparams]:
    """The runs of a preset.

    >>> [h.pruning.label for h in preset("quickstart")]
    ['IMP', 'IMP-Bound']
    """
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {name!r}")
    return list(PRESETS[name][1]())
