"""Masks at initialisation: certified Ramanujan layers and their two controls.

Every prunable layer is read as its unfolded ``(in * prod(kernel)) x out`` bi-adjacency graph
(:mod:`bipartite_expanders.adapters.torch.layers`); a grouped convolution is ``groups`` disjoint blocks of shape
``(in / groups * prod(kernel)) x (out / groups)``, and each block gets its own graph with
``round(density * block size)`` edges. Three families share that edge count
(docs/generators.md):

* :func:`ramanujan_masks`: each block is
  :func:`~bipartite_expanders.generators.ramanujan_bipartite` (near-biregular, connected,
  ``t2 <= rho(T)`` certified); a layer that admits no certified graph at that density (too few
  edges to connect it, or the search gave up) is listed in ``skipped`` with the reason and has
  no mask (it stays dense when applied): nothing is silently filled;
* :func:`random_biregular_masks`: the same degree sequences, random and uncertified
  (:func:`~bipartite_expanders.generators.random_near_biregular`);
* :func:`erdos_renyi_masks`: the same number of weights per block, uniformly at random.

The result is a :class:`LayerMasks`, a mapping ``name -> bool tensor`` shaped like the weight,
so ``apply_masks(model, ramanujan_masks(model, 0.05))`` prunes the model through
:mod:`bipartite_expanders.adapters.torch.masks`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from bipartite_expanders.files import json_safe
from bipartite_expanders.generators import RamanujanGraph, RamanujanSearchError, ramanujan_bipartite, random_near_biregular

from .layers import fold, prunable_layers, unfolded_shape

__all__ = ["LayerMasks", "MASK_FAMILIES", "layer_blocks", "ramanujan_masks", "random_biregular_masks", "erdos_renyi_masks", "mask_family"]

MASK_FAMILIES = ("ramanujan", "random_biregular", "erdos_renyi")


@dataclass(frozen=True, eq=False)
class LayerMasks(Mapping):
    """Masks of one family at one density: a mapping ``name -> bool tensor`` (the weight's shape).

    ``skipped`` maps each requested layer that got no mask to the reason; ``edges`` gives each
    masked layer's kept-weight count; ``certificates`` (``ramanujan`` family only) the
    :class:`~bipartite_expanders.generators.RamanujanGraph` of each group block, in group order.
    """

    family: str
    density: float
    masks: dict[str, torch.Tensor] = field(repr=False)
    skipped: dict[str, str]
    edges: dict[str, int] = field(repr=False)
    certificates: dict[str, tuple[RamanujanGraph, ...]] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    def to_dict(self) -> dict[str, Any]:
        """What was built, without the tensors, JSON-safe: per layer its edge count and (for the
        certified family) each block's certificate; the skipped layers with their reasons."""
        layers = {}
        for name in self.masks:
            entry: dict[str, Any] = {"edges": self.edges[name], "density": self.edges[name] / self.masks[name].numel()}
            if name in self.certificates:
                entry["certificates"] = [c.to_dict() for c in self.certificates[name]]
            layers[name] = entry
        return json_safe({"family": self.family, "density": self.density, "layers": layers, "skipped": dict(self.skipped)})


def _check_density(density: Any) -> float:
    if isinstance(density, bool) or not isinstance(density, (int, float, np.floating, np.integer)):
        raise TypeError(f"density must be a number in (0, 1]; got {type(density).__name__}")
    density = float(density)
    if not (0.0 < density <= 1.0):  # NaN fails too
        raise ValueError(f"density must be in (0, 1]; got {density}")
    return density


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _selected(model: nn.Module, layers: Iterable[str] | None) -> dict[str, nn.Module]:
    all_layers = prunable_layers(model)
    if layers is None:
        return dict(all_layers)
    if isinstance(layers, str):
        raise TypeError("layers must be an iterable of layer names, not a single string")
    names = list(layers)
    unknown = [n for n in names if n not in all_layers]
    if unknown:
        raise ValueError(f"layers: not prunable layers of the model: {unknown[:5]}")
    return {n: all_layers[n] for n in names}


def _block_seed(seed: int, name: str, group: int) -> int:
    """A layer's seed depends on its name, not its position, so choosing ``layers`` changes nothing else."""
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode()), group]).generate_state(1)[0])


def layer_blocks(module: nn.Module) -> tuple[int, int, int]:
    """(groups, rows per block, columns per block) of the layer's unfolded graph."""
    rows, out = unfolded_shape(module)
    groups = int(getattr(module, "groups", 1))
    return groups, rows // groups, out // groups


def _weight(module: nn.Module) -> torch.Tensor:
    w = getattr(module, "weight_orig", None)
    return w if isinstance(w, torch.Tensor) else module.weight


def _build(model: nn.Module, density: Any, seed: Any, layers: Iterable[str] | None, family: str,
           block: Callable[[int, int, int, int], tuple[sp.csr_array, RamanujanGraph | None]]) -> LayerMasks:
    density, seed = _check_density(density), _check_seed(seed)
    masks: dict[str, torch.Tensor] = {}
    skipped: dict[str, str] = {}
    edges: dict[str, int] = {}
    certificates: dict[str, tuple[RamanujanGraph, ...]] = {}
    for name, module in _selected(model, layers).items():
        groups, rows, cols = layer_blocks(module)
        n_edges = round(density * rows * cols)
        if n_edges == 0:
            skipped[name] = f"density {density:g} keeps 0 of the {rows * cols} weights of a {rows} x {cols} block"
            continue
        parts, certs = [], []
        try:
            for gi in range(groups):
                matrix, cert = block(rows, cols, n_edges, _block_seed(seed, name, gi))
                parts.append(matrix)
                if cert is not None:
                    certs.append(cert)
        except (ValueError, RamanujanSearchError) as exc:
            skipped[name] = f"{rows} x {cols}{f' (x {groups} groups)' if groups > 1 else ''} with {n_edges} edges: {exc}"
            continue
        B = parts[0] if groups == 1 else sp.block_diag(parts, format="csr")
        w = _weight(module)
        masks[name] = (fold(module, B) != 0).to(w.device)
        edges[name] = groups * n_edges
        if certs:
            certificates[name] = tuple(certs)
    return LayerMasks(family, density, masks, skipped, edges, certificates)


def _ramanujan_block(rows: int, cols: int, n_edges: int, seed: int) -> tuple[sp.csr_array, RamanujanGraph]:
    cert = ramanujan_bipartite(rows, cols, n_edges, seed=seed)
    return cert.graph.matrix, cert


def _random_biregular_block(rows: int, cols: int, n_edges: int, seed: int) -> tuple[sp.csr_array, None]:
    return random_near_biregular(rows, cols, n_edges, seed=seed).matrix, None


def _erdos_renyi_block(rows: int, cols: int, n_edges: int, seed: int) -> tuple[sp.csr_array, None]:
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(rows * cols, size=n_edges, replace=False))
    return sp.csr_array((np.ones(n_edges), (flat // cols, flat % cols)), shape=(rows, cols)), None


def ramanujan_masks(model: nn.Module, density: float, *, seed: int = 0, layers: Iterable[str] | None = None) -> LayerMasks:
    """A certified Ramanujan mask of ``density`` for each prunable layer (or each of ``layers``).

    Each group block is a connected near-biregular graph with ``t2 <= rho(T)`` (the exact test,
    against the lower end of the universal cover's bracket; ``db`` for exactly biregular
    blocks). Layers with no certified graph are in ``result.skipped`` with the reason.

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))
    >>> r = ramanujan_masks(model, 0.1, seed=0)
    >>> list(r), r.edges["0"], r.certificates["0"][0].t2 <= r.certificates["0"][0].bound
    (['0'], 205, True)
    >>> r.skipped["2"].split(":")[0]    # 13 edges cannot connect 36 vertices
    '32 x 4 with 13 edges'
    """
    return _build(model, density, seed, layers, "ramanujan", _ramanujan_block)


def random_biregular_masks(model: nn.Module, density: float, *, seed: int = 0, layers: Iterable[str] | None = None) -> LayerMasks:
    """The control: per block a random simple graph with the degree sequences
    :func:`ramanujan_masks` uses at the same ``seed`` (near-biregular), uncertified.

    >>> from torch import nn
    >>> r = random_biregular_masks(nn.Linear(64, 32), 0.1)
    >>> r[""].shape, int(r[""].sum()), sorted(set(r[""].sum(dim=0).tolist()))   # in-degrees 3 or 4
    (torch.Size([32, 64]), 205, [3, 4])
    """
    return _build(model, density, seed, layers, "random_biregular", _random_biregular_block)


def erdos_renyi_masks(model: nn.Module, density: float, *, seed: int = 0, layers: Iterable[str] | None = None) -> LayerMasks:
    """The control: per block ``round(density * block size)`` weights kept uniformly at random
    (the Erdos-Renyi G(n, m) model), the same counts as :func:`ramanujan_masks`.

    >>> from torch import nn
    >>> m = erdos_renyi_masks(nn.Conv2d(4, 8, 3, groups=2), 0.25)   # two 18 x 4 blocks, 18 weights each
    >>> m[""].shape, int(m[""].sum())
    (torch.Size([8, 2, 3, 3]), 36)
    """
    return _build(model, density, seed, layers, "erdos_renyi", _erdos_renyi_block)


_FAMILY_FUNCTIONS = {"ramanujan": ramanujan_masks, "random_biregular": random_biregular_masks, "erdos_renyi": erdos_renyi_masks}


def mask_family(family: str, model: nn.Module, density: float, *, seed: int = 0, layers: Iterable[str] | None = None) -> LayerMasks:
    """The masks of a family named in :data:`MASK_FAMILIES` (one entry point for a pipeline).

    >>> from torch import nn
    >>> mask_family("erdos_renyi", nn.Linear(10, 10), 0.5).edges
    {'': 50}
    """
    if family not in _FAMILY_FUNCTIONS:
        raise ValueError(f"family must be one of {MASK_FAMILIES}; got {family!r}")
    return _FAMILY_FUNCTIONS[family](model, density, seed=seed, layers=layers)
