"""Born sparse: the mask family a run's round 0 trains with (``pruning.init_masks``).

Round 0 of such a run trains the network with a mask built at initialisation, one of the
families of :mod:`bipartite_expanders.adapters.torch.ramanujan` (certified Ramanujan, random near-biregular with the
same degrees, Erdos-Renyi with the same counts; docs/generators.md), at total density
``pruning.init_density``. Per layer the density is, with ``init_allocation``:

* ``schedule`` (default): that of a ticket of that total density under the run's layer-wise
  rates, ``(1 - p_role)^r`` with the real ``r`` that gives the total (:func:`schedule_densities`),
  so a born network and an IMP ticket of the same density match layer by layer;
* ``uniform``: every layer at ``init_density``.

What was built (each layer's edges, the certificates, the layers skipped with their reasons)
is :func:`born_masks`'s second value; the runner records it in round 0's record as
``init_masks`` (docs/pipeline.md, "Born sparse"). A layer the family cannot mask at its density
fails the run before training (:func:`check_born`: :class:`BornDensityError` lists each such
layer with the smallest density at which it can be masked), unless the run is told to leave
such layers dense (``lth --allow-dense-layers``), which the record then states
(``init_masks.dense_layers``).

>>> schedule_densities({"fc1": 900, "out": 100}, {"fc1": 0.2, "out": 0.1}, 0.5)["fc1"] < 0.5
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from scipy.optimize import brentq
from torch import nn

from ..layers import layer_roles, prunable_layers
from ..pruning import PruneRates
from ..ramanujan import mask_family
from .hparams import Hparams

__all__ = ["schedule_densities", "layer_densities", "born_masks", "FAMILY_OF", "smallest_feasible_density",
           "BornDensityError", "check_born"]

#: ``pruning.init_masks`` name -> :data:`bipartite_expanders.adapters.torch.ramanujan.MASK_FAMILIES` name
FAMILY_OF = {"ramanujan": "ramanujan", "random-biregular": "random_biregular", "erdos-renyi": "erdos_renyi"}


def schedule_densities(sizes: Mapping[str, int], rates: Mapping[str, float], total: float) -> dict[str, float]:
    """Per-layer densities ``(1 - rates[n])^r`` of layers of ``sizes`` weights, with the real
    ``r >= 0`` at which their weighted mean is ``total`` (what layer-wise pruning at these
    rates reaches after ``r`` rounds, rounding aside).

    >>> d = schedule_densities({"a": 1000, "b": 1000}, {"a": 0.2, "b": 0.0}, 0.75)
    >>> round(d["a"], 6), d["b"]
    (0.5, 1.0)
    """
    if not sizes or set(sizes) != set(rates):
        raise ValueError("sizes and rates must name the same, non-empty set of layers")
    if not (0 < total <= 1):
        raise ValueError(f"total density must be in (0, 1], got {total!r}")
    n = sum(sizes.values())
    floor = sum(s for k, s in sizes.items() if rates[k] == 0) / n  # layers never pruned
    if total <= floor:
        raise ValueError(f"total density {total:g} is out of reach: the layers with rate 0 alone keep {floor:g}")

    def mean(r: float) -> float:
        return sum(s * (1 - rates[k]) ** r for k, s in sizes.items()) / n - total

    if total == 1:
        return {k: 1.0 for k in sizes}
    hi = 1.0
    while mean(hi) > 0:
        hi *= 2
    r = brentq(mean, 0.0, hi, xtol=1e-12, rtol=1e-12)
    return {k: float((1 - rates[k]) ** r) for k in sizes}


def layer_densities(model: nn.Module, hp: Hparams) -> dict[str, float]:
    """Each prunable layer's born density under ``hp.pruning.init_allocation``."""
    pr = hp.pruning
    if pr.init_density is None:
        raise ValueError("pruning.init_density is not set (pruning.init_masks is 'none')")
    layers = prunable_layers(model)
    if pr.init_allocation == "uniform":
        return {n: float(pr.init_density) for n in layers}
    rates = PruneRates(p_conv=pr.p_conv, p_fc=pr.p_fc, p_out=pr.p_out)
    roles = layer_roles(model)
    sizes = {n: int(mod.weight.numel()) for n, mod in layers.items()}
    return schedule_densities(sizes, {n: rates.for_role(roles[n]) for n in layers}, float(pr.init_density))


def born_masks(model: nn.Module, hp: Hparams) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The masks of ``hp.pruning.init_masks`` for ``model`` (seeded by ``hp.seed``) and what was
    built: ``{"family", "density", "allocation", "layers": {name: {"target_density", "edges",
    "density", "certificates"?}}, "skipped": {name: reason}}`` (JSON-safe).

    >>> from bipartite_expanders.adapters.torch.lth.hparams import default_hparams
    >>> from bipartite_expanders.adapters.torch.lth.models import build_model
    >>> h = default_hparams("lenet300", "digits", rounds=0, init_masks="erdos-renyi", init_density=0.1)
    >>> masks, info = born_masks(build_model("lenet300", input_shape=(1, 8, 8), num_classes=10), h)
    >>> sorted(masks), info["skipped"]
    (['fc1', 'fc2', 'fc3'], {})
    """
    pr = hp.pruning
    if pr.init_masks not in FAMILY_OF:
        raise ValueError(f"pruning.init_masks must be one of {list(FAMILY_OF)}, got {pr.init_masks!r}")
    masks: dict[str, torch.Tensor] = {}
    layers: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, d in layer_densities(model, hp).items():
        # one layer at a time: each its own density; a layer's seed depends on its name only
        lm = mask_family(FAMILY_OF[pr.init_masks], model, d, seed=hp.seed, layers=[name])
        built = lm.to_dict()
        skipped.update(built["skipped"])
        if name in lm:
            masks[name] = lm[name]
            layers[name] = {"target_density": d, **built["layers"][name]}
    info = {"family": pr.init_masks, "density": pr.init_density, "allocation": pr.init_allocation,
            "layers": layers, "skipped": skipped}
    sizes = {n: int(mod.weight.numel()) for n, mod in prunable_layers(model).items()}
    kept = sum(int(m.sum()) for m in masks.values()) + sum(s for n, s in sizes.items() if n not in masks)
    info["total_density"] = kept / sum(sizes.values())  # skipped layers count dense
    return masks, info


class BornDensityError(ValueError):
    """A born-sparse run whose requested layers cannot be masked at their densities."""


def smallest_feasible_density(model: nn.Module, hp: Hparams, name: str, max_probes: int = 12) -> float | None:
    """The smallest density at which ``hp.pruning.init_masks``' family masks layer ``name``
    (seeded as the run seeds it): a bisection over the layer's edge count, from one edge (or
    ``rows + cols - 1``, the fewest that connect a block, for the certified family) to every
    weight, assuming feasibility grows with the density. None when even the full density fails."""
    from ..ramanujan import layer_blocks

    groups, rows, cols = layer_blocks(prunable_layers(model)[name])
    family = FAMILY_OF[hp.pruning.init_masks]

    def works(n_edges: int) -> bool:
        lm = mask_family(family, model, n_edges / (rows * cols), seed=hp.seed, layers=[name])
        return name in lm

    lo = (rows + cols - 1) if family == "ramanujan" else 1
    hi = rows * cols
    if not works(hi):
        return None
    if works(lo):
        return lo / (rows * cols)
    for _ in range(max_probes):  # invariant: lo fails, hi works
        if hi - lo <= 1:
            break
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi / (rows * cols)


def check_born(model: nn.Module, hp: Hparams, info: Mapping[str, Any], allow_dense: bool = False) -> None:
    """Refuse a born mask that left requested layers dense (they were skipped), listing each with
    its reason and the smallest feasible density; ``allow_dense`` accepts them (the caller records it)."""
    skipped = dict(info.get("skipped") or {})
    if not skipped or allow_dense:
        return
    lines = []
    for name, why in skipped.items():
        d = smallest_feasible_density(model, hp, name)
        need = "not at any density" if d is None else f"smallest feasible density {d:.4g}"
        lines.append(f"{name} ({why}; {need})")
    raise BornDensityError(
        f"--init-masks {hp.pruning.init_masks} at --init-density {hp.pruning.init_density:g} cannot mask "
        f"{len(skipped)} layer(s): " + "; ".join(lines) + ". Raise --init-density, or pass --allow-dense-layers "
        "to leave them dense (the records state it)")
