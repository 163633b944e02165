"""Per-layer sparsity at a fixed total: uniform, OWL, spectral and bounded (docs/llm-pruning.md).

Every allocation keeps the model's total sparsity (weights removed over the layers' weights)
at the target; only how it is spread over the layers differs.

* ``"uniform"``: every layer at the target.
* ``"owl"`` (Yin et al. 2023, the baseline): a layer's outlier ratio ``D_l`` is the fraction of its
  Wanda scores above ``owl_m`` times their mean; the ratios are scaled to ``[0, 2 lam]`` and
  layers with more outliers are pruned less.
* ``"spectral"``: the same rule on the census margin ``max(delta_s, delta_r)`` of each layer's
  mask graph at the target (the score's mask, :func:`~bipartite_expanders.ramanujan_report`):
  layers with more margin are pruned more.
* ``"bounded"``: Algorithm 1's idea at a fixed total. Each layer's *ceiling* is the largest
  sparsity on a grid (0, 0.05, ..., 0.95) up to which the score's mask graph stays Ramanujan
  (``max(delta_s, delta_r) >= 0`` at every grid point, scanned upward); layers get ``min(ceiling, tau)`` with one common ``tau``
  found so the total is met: layers with room are pruned beyond the target, layers at their
  bound less. When the ceilings cannot carry the total, every layer gets ``ceiling + delta``
  (one common shift) and the layers over their ceiling are listed (``over_bound``).

The result, a :class:`SparsityMap`, exports as JSON (:meth:`SparsityMap.to_json`): a flat
``{"layer name": sparsity}`` map under ``"layers"``, and, for llm-compressor, one
``SparseGPTModifier``/``WandaPruningModifier`` entry per sparsity value (:meth:`SparsityMap.to_recipe`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bipartite_expanders import ramanujan_report

from .nm import mask_graph
from .oneshot import unstructured_mask

__all__ = ["SPARSITY_ALLOCATIONS", "SparsityMap", "allocate_sparsity", "outlier_ratios", "mask_margin",
           "ramanujan_ceiling", "load_sparsity_map"]

SPARSITY_ALLOCATIONS = ("uniform", "owl", "spectral", "bounded")


@dataclass
class SparsityMap:
    """``layers``: name -> sparsity; ``sizes``: name -> weight count; ``signal``: the per-layer
    quantity the allocation used (outlier ratio, margin, ceiling); ``over_bound``: layers of a
    bounded allocation pruned past their ceiling."""

    target: float
    allocation: str
    layers: dict[str, float]
    sizes: dict[str, int]
    signal: dict[str, float] = field(default_factory=dict)
    over_bound: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        """The total sparsity this map gives (weighted by layer size)."""
        n = sum(self.sizes.values())
        return sum(self.layers[k] * self.sizes[k] for k in self.layers) / n if n else 0.0

    def to_dict(self) -> dict[str, Any]:
        def safe(x: float) -> Any:
            return x if math.isfinite(x) else str(x)
        return {"format": "bipartite-expanders sparsity map v1", "target": self.target, "total": self.total,
                "allocation": self.allocation, "layers": dict(self.layers), "sizes": dict(self.sizes),
                "signal": {k: safe(v) for k, v in self.signal.items()}, "over_bound": list(self.over_bound)}

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON (the ``"layers"`` entry is the plain name -> sparsity map)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    def to_recipe(self, modifier: str = "SparseGPTModifier", decimals: int = 4) -> dict[str, Any]:
        """An llm-compressor recipe (as a dict; ``yaml.safe_dump`` it): one modifier per distinct
        sparsity, its ``targets`` the exact module names (``re:^name$``)."""
        groups: dict[float, list[str]] = {}
        for name, s in self.layers.items():
            groups.setdefault(round(s, decimals), []).append(name)
        mods = {f"{modifier}_{i}" if len(groups) > 1 else modifier:
                {"sparsity": s, "mask_structure": "0:0", "targets": [f"re:^{n.replace('.', chr(92) + '.')}$" for n in names]}
                for i, (s, names) in enumerate(sorted(groups.items()))}
        return {"sparsity_stage": {"sparsity_modifiers": mods}}


def load_sparsity_map(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read the ``"layers"`` map of a :meth:`SparsityMap.to_json` file (or a plain
    ``{"name": sparsity}`` JSON object), checking every value is a number in [0, 1)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON sparsity map ({exc})") from None
    layers = data.get("layers", data) if isinstance(data, dict) else None
    if not isinstance(layers, dict):
        raise ValueError(f"{path}: expected a JSON object of layer name -> sparsity")
    out = {}
    for k, v in layers.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ValueError(f"{path}: sparsity of {k!r} must be a number in [0, 1); got {v!r}")
        out[str(k)] = float(v)
    return out


def outlier_ratios(scores: Mapping[str, torch.Tensor], owl_m: float = 5.0) -> dict[str, float]:
    """OWL's layer outlier ratio: the fraction of a layer's scores above ``owl_m`` times their mean.

    >>> outlier_ratios({"a": torch.tensor([[1.] * 9 + [30.]])}, owl_m=5.0)
    {'a': 0.1}
    """
    return {k: float((s > owl_m * s.mean()).double().mean()) for k, s in scores.items()}


def mask_margin(keep: torch.Tensor) -> float:
    """``max(delta_s, delta_r)`` of a keep-mask's layer graph (the study's margin; >= 0 is Ramanujan)."""
    rep = ramanujan_report(mask_graph(keep), weighted=False, universal_cover=False)
    return max(rep.delta_s, rep.delta_r) if rep.n_edges else -math.inf


def ramanujan_ceiling(scores: torch.Tensor, groups: str = "row", grid: np.ndarray | None = None) -> float:
    """The sparsity just below the first grid point at which ``unstructured_mask(scores, s, groups)``
    stops being Ramanujan: every grid sparsity up to the ceiling keeps the bound (the grid is
    scanned upward, since the margin need not fall monotonically). The grid defaults to
    0, 0.05, ..., 0.95; the last point when the bound never breaks, 0 when it breaks at once.

    >>> torch.manual_seed(0) and None
    >>> 0.5 <= ramanujan_ceiling(torch.rand(64, 64)) < 1
    True
    """
    grid = np.round(np.arange(0.0, 0.951, 0.05), 4) if grid is None else np.sort(np.asarray(grid, dtype=float))
    ceiling = float(grid[0])
    for s in grid:
        if mask_margin(unstructured_mask(scores, float(s), groups)) < 0:
            break
        ceiling = float(s)
    return ceiling


def _spread(target: float, signal: dict[str, float], sizes: dict[str, int], lam: float, sign: float) -> dict[str, float]:
    """``target + sign * (r_l - mean r)``, ``r`` the signal scaled to ``[0, 2 lam]``, mean weighted by size."""
    vals = np.array([signal[k] for k in sizes], dtype=float)
    finite = np.isfinite(vals)
    if finite.any():
        vals[~finite & (vals > 0)] = vals[finite].max()
        vals[~finite & ~(vals > 0)] = vals[finite].min()
    span = vals.max() - vals.min() if vals.size else 0.0
    r = (vals - vals.min()) / span * 2 * lam if span > 0 else np.zeros_like(vals)
    w = np.array([sizes[k] for k in sizes], dtype=float)
    s = target + sign * (r - (r * w).sum() / w.sum())
    return {k: float(np.clip(v, 0.0, 0.99)) for k, v in zip(sizes, s)}


def _water_fill(target: float, ceilings: dict[str, float], sizes: dict[str, int], s_max: float) -> tuple[dict[str, float], list[str]]:
    w = {k: float(sizes[k]) for k in sizes}
    total = sum(w.values())

    def mean_at(f: Any) -> float:
        return sum(f(k) * w[k] for k in w) / total

    if mean_at(lambda k: min(ceilings[k], s_max)) >= target:
        lo, hi = 0.0, s_max
        for _ in range(60):
            tau = (lo + hi) / 2
            if mean_at(lambda k: min(ceilings[k], tau)) < target:
                lo = tau
            else:
                hi = tau
        return {k: min(ceilings[k], hi) for k in w}, []
    lo, hi = 0.0, 1.0
    for _ in range(60):
        d = (lo + hi) / 2
        if mean_at(lambda k: min(ceilings[k] + d, s_max)) < target:
            lo = d
        else:
            hi = d
    out = {k: min(ceilings[k] + hi, s_max) for k in w}
    return out, [k for k in w if out[k] > ceilings[k] + 1e-12]


def allocate_sparsity(scores: Mapping[str, torch.Tensor], sparsity: float, method: str = "uniform", *,
                      outlier_scores: Mapping[str, torch.Tensor] | None = None, groups: str | Mapping[str, str] = "row",
                      lam: float = 0.08, owl_m: float = 5.0, s_max: float = 0.95) -> SparsityMap:
    """Per-layer sparsities at total ``sparsity`` (module docstring).

    Parameters
    ----------
    scores
        Each layer's pruning scores ``(out, in)`` (the method's own: ``|W|``, Wanda's, SparseGPT's
        ``w^2 / [H^-1]_jj^2``), from the dense model: the masks whose graphs ``spectral`` and
        ``bounded`` read. Their sizes weight the total.
    method
        ``"uniform"``, ``"owl"``, ``"spectral"``, ``"bounded"``.
    outlier_scores
        The Wanda scores OWL counts outliers in (default ``scores``).
    groups
        The comparison group of each layer's mask (``"row"`` or ``"layer"``), one or per name.
    lam, owl_m
        OWL's ``lambda`` (the spread, also used by ``spectral``) and ``M``.

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> sc = {"a": torch.rand(32, 32), "b": torch.rand(32, 96)}
    >>> m = allocate_sparsity(sc, 0.5, "bounded")
    >>> round(m.total, 6), m.allocation
    (0.5, 'bounded')
    """
    if method not in SPARSITY_ALLOCATIONS:
        raise ValueError(f"method must be one of {SPARSITY_ALLOCATIONS}; got {method!r}")
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be a number in [0, 1); got {sparsity!r}")
    if not scores:
        raise ValueError("scores is empty: no layer to allocate")
    if not 0 < s_max < 1 or s_max < sparsity:
        raise ValueError(f"s_max must be in [sparsity, 1); got {s_max!r}")
    sizes = {k: int(v.numel()) for k, v in scores.items()}
    group_of = (lambda k: groups) if isinstance(groups, str) else (lambda k: groups[k])
    if method == "uniform":
        return SparsityMap(sparsity, method, {k: float(sparsity) for k in sizes}, sizes)
    if method == "owl":
        ratios = outlier_ratios(outlier_scores if outlier_scores is not None else scores, owl_m)
        return SparsityMap(sparsity, method, _spread(sparsity, ratios, sizes, lam, -1.0), sizes, ratios)
    if method == "spectral":
        margins = {k: mask_margin(unstructured_mask(v, sparsity, group_of(k))) for k, v in scores.items()}
        return SparsityMap(sparsity, method, _spread(sparsity, margins, sizes, lam, +1.0), sizes, margins)
    ceilings = {k: ramanujan_ceiling(v, group_of(k)) for k, v in scores.items()}
    layers, over = _water_fill(sparsity, ceilings, sizes, s_max)
    return SparsityMap(sparsity, method, layers, sizes, ceilings, over)
