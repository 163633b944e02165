"""Grid files: a sweep of lottery-ticket runs described in TOML (or YAML), expanded to ``Hparams``.

The schema is the pipeline's own hyperparameter dataclasses (:mod:`bipartite_expanders.adapters.torch.lth.hparams`):
a field is named by its dotted path ``section.field`` (``training.iterations``,
``pruning.bound``, ``seed``), and an unknown name is an error that names it, before anything runs.

.. code-block:: toml

    [sweep]                     # optional
    name = "tiny"
    data_dir = "/data/fmnist"   # where the data are on the workers (not hashed); --data-dir wins

    [resources]                 # what each run asks for (Ray); threads per run = num_cpus
    num_cpus = 1
    num_gpus = 0

    [base]                      # fields every run shares; unset fields: the model's defaults
    model.name = "lenet300"
    dataset = {name = "digits", noise = [0.2]}
    training.iterations = 300
    pruning.rounds = 3

    [grid]                      # the runs: the cartesian product of these lists
    pruning.pruner = ["imp", "snip"]
    seed = [0, 1]

``[[grid]]`` (a list of tables) gives the union of several products, as scikit-learn's
``ParameterGrid`` does with a list of dicts; a scalar in a grid table is a single value (so a
list-valued field such as ``dataset.noise`` is swept by a list of lists). Each run starts from
:func:`~bipartite_expanders.adapters.torch.lth.hparams.default_hparams` of its model and data set (the seed paper's
Table 3), then takes ``[base]``, then its grid point. Runs with equal hyperparameters are kept
once (they share a hashed run directory).

>>> g = parse_grid({"base": {"training": {"iterations": 50}},
...                 "grid": {"pruning": {"pruner": ["imp", "snip"]}, "seed": [0, 1]}})
>>> [(h.pruning.pruner, h.seed, h.training.iterations) for h in g.runs()]
[('imp', 0, 50), ('imp', 1, 50), ('snip', 0, 50), ('snip', 1, 50)]
>>> parse_grid({"grid": {"pruning": {"prunr": ["imp"]}}})
Traceback (most recent call last):
...
bipartite_expanders.adapters.torch.lth.grid.GridError: [grid]: unknown field 'pruning.prunr' (did you mean 'pruning.pruner'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Grid", "GridError", "Resources", "load_grid", "parse_grid", "hparams_fields"]

_TABLES = ("sweep", "resources", "base", "grid", "ray")
#: the most grid points a grid may expand to, counted from the lists' lengths before anything is
#: expanded (10**6 points took minutes to validate, 10**8 ran out of memory)
MAX_GRID_POINTS = 10_000
_SWEEP_KEYS = ("name", "data_dir", "retries", "allow_dense_layers")
_RAY_KEYS = ("runtime_env",)


class GridError(ValueError):
    """An invalid grid file: the message names the table and the key."""


def hparams_fields() -> dict[str, Any]:
    """Dotted field name -> default, for every field of :class:`~bipartite_expanders.adapters.torch.lth.hparams.Hparams`.

    >>> f = hparams_fields()
    >>> "pruning.bound" in f and "seed" in f and "pruning" not in f
    True
    """
    from .hparams import Hparams  # torch-free module

    out: dict[str, Any] = {}
    for f in dataclasses.fields(Hparams):
        if dataclasses.is_dataclass(f.type) or f.default_factory is not dataclasses.MISSING:  # a section
            section = f.default_factory()  # type: ignore[misc]
            for sf in dataclasses.fields(section):
                out[f"{f.name}.{sf.name}"] = getattr(section, sf.name)
        else:
            out[f.name] = f.default
    return out


def _flatten(table: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys; TOML's ``pruning.pruner = ...`` arrives nested."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, where, key + "."))
        else:
            out[key] = v
    return out


def _check_keys(keys: Any, allowed: Any, where: str) -> None:
    allowed = list(allowed)
    for k in keys:
        if k not in allowed:
            near = difflib.get_close_matches(k, allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f"; known: {', '.join(allowed)}"
            raise GridError(f"{where}: unknown field {k!r}{hint}")


@dataclass(frozen=True)
class Resources:
    """What one run asks of the executor: CPUs (also its torch/BLAS threads), GPUs, memory.

    ``num_gpus`` and ``memory_gb`` are Ray resource requests; the local executor uses
    ``num_cpus`` to size its pool."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_gb: float | None = None

    def __post_init__(self) -> None:
        for name in ("num_cpus", "num_gpus", "memory_gb"):
            v = getattr(self, name)
            if v is None and name == "memory_gb":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise GridError(f"[resources]: {name} must be a finite number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.num_cpus <= 0:
            raise GridError(f"[resources]: num_cpus must be positive, got {self.num_cpus!r}")
        if self.num_gpus < 0 or (self.memory_gb is not None and self.memory_gb <= 0):
            raise GridError("[resources]: num_gpus must be >= 0 and memory_gb positive")

    @property
    def threads(self) -> int:
        """torch/BLAS threads of one run: its whole CPUs (at least 1)."""
        return max(1, int(self.num_cpus))

    def ray_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory_gb is not None:
            opts["memory"] = int(self.memory_gb * 2**30)
        return opts


@dataclass(frozen=True)
class Grid:
    """A parsed grid: the shared fields, the grid tables (dotted field -> values), and how to run."""

    base: dict[str, Any] = field(default_factory=dict)
    axes: tuple[dict[str, tuple[Any, ...]], ...] = ({},)
    resources: Resources = field(default_factory=Resources)
    name: str = "sweep"
    data_dir: str | None = None
    retries: int = 1
    runtime_env: dict[str, Any] | None = None
    source: str | None = None
    #: born-sparse runs leave a layer their family cannot mask dense (``lth --allow-dense-layers``)
    allow_dense_layers: bool = False

    def points(self) -> list[dict[str, Any]]:
        """Every grid point (dotted field -> value, ``[base]`` not included), in file order."""
        return [dict(zip(axes, combo)) for axes in self.axes for combo in itertools.product(*axes.values())]

    def runs(self) -> list[Any]:
        """The runs as :class:`~bipartite_expanders.adapters.torch.lth.hparams.Hparams`, duplicates (equal hash) dropped.

        Raises :class:`GridError` naming the grid point whose values the dataclasses reject."""
        from .hparams import Hparams, default_hparams

        out: dict[str, Hparams] = {}
        for combo in self.points():
            point = {**self.base, **combo}
            try:
                h = default_hparams(point.get("model.name", "lenet300"), point.get("dataset.name", "digits"))
                d = h.to_dict()
                for key, value in point.items():
                    if key == "seed":
                        d["seed"] = value
                    else:
                        sec, name = key.split(".", 1)
                        d[sec][name] = value
                if isinstance(d["seed"], bool) or not isinstance(d["seed"], int):
                    raise TypeError(f"seed must be an integer, got {d['seed']!r}")
                if not isinstance(d["dataset"]["noise"], (list, tuple)):
                    raise TypeError(f"dataset.noise must be a list of sigmas, got {d['dataset']['noise']!r}")
                h = Hparams.from_dict(d)
            except (TypeError, ValueError) as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in combo.items())
                raise GridError(f"grid point {{{shown}}}: {exc}") from None
            out.setdefault(h.hash(), h)
        return list(out.values())


def _as_values(key: str, v: Any, where: str) -> tuple[Any, ...]:
    vals = tuple(v) if isinstance(v, (list, tuple)) else (v,)
    if not vals:
        raise GridError(f"{where}: {key!r} has no values (an empty list)")
    return vals


def parse_grid(doc: Mapping[str, Any], source: str | None = None) -> Grid:
    """A :class:`Grid` from a parsed TOML/YAML document; every key is checked against the schema."""
    if not isinstance(doc, Mapping):
        raise GridError(f"a grid must be a table (mapping), got {type(doc).__name__}")
    _check_keys(doc, _TABLES, "grid file")
    schema = hparams_fields()

    sweep = doc.get("sweep", {}) or {}
    if not isinstance(sweep, Mapping):
        raise GridError("[sweep] must be a table")
    _check_keys(sweep, _SWEEP_KEYS, "[sweep]")
    retries = sweep.get("retries", 1)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise GridError(f"[sweep]: retries must be a non-negative integer, got {retries!r}")
    allow_dense = sweep.get("allow_dense_layers", False)
    if not isinstance(allow_dense, bool):
        raise GridError(f"[sweep]: allow_dense_layers must be true or false, got {allow_dense!r}")
    data_dir = sweep.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise GridError(f"[sweep]: data_dir must be a string, got {data_dir!r}")

    res = doc.get("resources", {}) or {}
    if not isinstance(res, Mapping):
        raise GridError("[resources] must be a table")
    _check_keys(res, [f.name for f in dataclasses.fields(Resources)], "[resources]")
    resources = Resources(**res)

    ray = doc.get("ray", {}) or {}
    if not isinstance(ray, Mapping):
        raise GridError("[ray] must be a table")
    _check_keys(ray, _RAY_KEYS, "[ray]")
    runtime_env = ray.get("runtime_env")
    if runtime_env is not None and not isinstance(runtime_env, Mapping):
        raise GridError("[ray]: runtime_env must be a table")

    grid_tables = doc.get("grid")
    if isinstance(grid_tables, list) and grid_tables and all(isinstance(t, Mapping) and not t for t in grid_tables):
        raise GridError("[[grid]]: every table is empty; give each a field to sweep, or use [base] for one run")
    if not any(doc.get(t) for t in ("base", "grid")):
        raise GridError("grid file defines no runs: give a [base] table and/or a [grid] table (an empty file would "
                        "otherwise start a default run)")
    base_doc = doc.get("base", {}) or {}
    if not isinstance(base_doc, Mapping):
        raise GridError("[base] must be a table")
    base = _flatten(base_doc, "[base]")
    _check_keys(base, schema, "[base]")

    grid_doc = doc.get("grid", {})
    tables = [grid_doc] if isinstance(grid_doc, Mapping) else grid_doc
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise GridError("[grid] must be a table or a list of tables ([[grid]])")
    axes = []
    for i, t in enumerate(tables or [{}]):
        where = "[grid]" if isinstance(grid_doc, Mapping) else f"[[grid]] #{i + 1}"
        if not isinstance(grid_doc, Mapping) and not t:
            raise GridError(f"{where} is empty (it would add one run of [base] alone); remove it or give it a field")
        flat = _flatten(t, where)
        _check_keys(flat, schema, where)
        axes.append({k: _as_values(k, v, where) for k, v in flat.items()})
    count = sum(math.prod(len(v) for v in ax.values()) for ax in axes)
    if count > MAX_GRID_POINTS:
        raise GridError(f"the grid expands to {count:,} points, more than {MAX_GRID_POINTS:,}; split it into smaller grids")
    g = Grid(base=base, axes=tuple(axes), resources=resources, name=str(sweep.get("name", Path(source).stem if source else "sweep")),
             data_dir=data_dir, retries=retries, runtime_env=dict(runtime_env) if runtime_env else None,
             source=source, allow_dense_layers=allow_dense)
    g.runs()  # every point validated now, before anything runs
    return g


def load_grid(path: str | os.PathLike) -> Grid:
    """Read and validate a grid file: ``.toml`` (stdlib ``tomllib``) or ``.yaml``/``.yml`` (PyYAML).

    Raises :class:`GridError` (a ``ValueError``) for a malformed file or an unknown/invalid field,
    ``FileNotFoundError`` for a missing one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"grid file {str(path)!r} not found")
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise GridError(f"{path}: not valid TOML: {exc}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML is everywhere ray is
            raise ImportError("YAML grids need PyYAML (pip install pyyaml); or write the grid in TOML") from None
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise GridError(f"{path}: not valid YAML: {exc}") from None
    else:
        raise GridError(f"grid file {str(path)!r}: expected a .toml, .yaml or .yml file")
    try:
        return parse_grid(doc, source=str(path))
    except GridError as exc:
        raise GridError(f"{path}: {exc}") from None
