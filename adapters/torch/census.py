"""The network census: every layer's spectral reports and the network's regime.

For each analysed prunable layer: the mask graph (unweighted), the ``|W * mask|`` graph and,
when scores are given, the ``|S * mask|`` graph, each as a
:class:`bipartite_expanders.RamanujanReport`. The network's regime is ``fully`` when every
analysed layer is Ramanujan, ``non`` when none is, else ``partially``: by the unweighted rule
``max(delta_s, delta_r) >= 0`` on the mask (:attr:`Census.regime`), and beside it by the
weighted rule ``delta_s >= 0`` on ``|W|`` (:attr:`Census.regime_weighted`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from bipartite_expanders import RamanujanReport, Verdict, network_regime, ramanujan_report
from bipartite_expanders.dense_layers import DENSE_PATH_FROM_DENSITY, DENSE_PATH_FROM_ENTRIES, DenseLayer
from bipartite_expanders.report import ACCURACIES, COVER_BUDGET_FACTOR

from .layers import effective_weight, layer_dense, layer_graph, layer_mask, layer_roles, prunable_layers, unfolded_shape

__all__ = ["LayerCensus", "Census", "census", "inner_layers"]


@dataclass(frozen=True)
class LayerCensus:
    """One layer's census: its identity, density and reports."""

    name: str
    role: str
    shape: tuple[int, ...]
    graph_shape: tuple[int, int]
    density: float
    n_weights: int
    n_kept: int
    mask: RamanujanReport
    weight: RamanujanReport
    score: RamanujanReport | None = None
    #: where the mask came from: ``"prune-mask"`` (an attached ``weight_mask``) or ``"nonzero"``
    #: (none attached: the weight's non-zero pattern, how Wanda / SparseGPT checkpoints are saved)
    mask_source: str = "prune-mask"

    @property
    def is_ramanujan(self) -> bool:
        """Unweighted rule on the mask: ``max(delta_s, delta_r) >= 0``."""
        return self.mask.is_ramanujan

    @property
    def is_ramanujan_weighted(self) -> bool:
        """Weighted rule on ``|W|``: ``delta_s >= 0`` (defined only for ``t1 >= 1``)."""
        return self.weight.verdict_s == Verdict.RAMANUJAN

    def to_record(self, flat: bool = False) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "name": self.name,
            "role": self.role,
            "shape": list(self.shape),
            "graph_shape": list(self.graph_shape),
            "density": self.density,
            "n_weights": self.n_weights,
            "n_kept": self.n_kept,
            "mask_source": self.mask_source,
            "is_ramanujan": self.is_ramanujan,
            "is_ramanujan_weighted": self.is_ramanujan_weighted,
        }
        for kind in ("mask", "weight", "score"):
            rep = getattr(self, kind)
            d = None if rep is None else rep.to_dict()
            if not flat:
                rec[kind] = d
            elif d is not None:
                rec.update({f"{kind}.{k}": (str(v) if isinstance(v, list) else v) for k, v in d.items()})
        if flat:
            rec["shape"] = "x".join(map(str, self.shape))
            rec["graph_shape"] = "x".join(map(str, self.graph_shape))
        return rec


@dataclass(frozen=True)
class Census:
    """A network census: the analysed layers in model order and the regimes."""

    layers: list[LayerCensus]
    regime: str
    regime_weighted: str
    scope: str = "largest"
    skipped: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> LayerCensus:
        for lc in self.layers:
            if lc.name == name:
                return lc
        raise KeyError(name)

    def to_records(self, flat: bool = False) -> list[dict[str, Any]]:
        """One JSON-safe dict per layer: identity fields, then the reports nested under
        ``"mask"``, ``"weight"``, ``"score"`` (``flat=True``: keys ``"mask.t1"`` etc., for CSV)."""
        return [lc.to_record(flat) for lc in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "regime_weighted": self.regime_weighted,
            "scope": self.scope,
            "skipped": list(self.skipped),
            "layers": self.to_records(),
        }


def inner_layers(model: nn.Module) -> list[str]:
    """Every prunable layer but the first and the last (the seed study's Conv4 selection)."""
    return list(prunable_layers(model))[1:-1]


def _select(model: nn.Module, layers: Any) -> list[str]:
    names = list(prunable_layers(model))
    if layers is None:
        return names
    if layers == "inner":
        return inner_layers(model)
    if callable(layers):
        return [n for n in names if layers(n)]
    chosen = [layers] if isinstance(layers, str) else list(layers)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise ValueError(f"layers: not prunable layers of the model: {unknown[:5]}")
    return [n for n in names if n in set(chosen)]


def _dense_enough(mod: nn.Module) -> bool:
    """A layer for the dense verdict path: large, not grouped, a fraction of its entries kept."""
    if int(getattr(mod, "groups", 1)) != 1:
        return False
    m, n = unfolded_shape(mod)
    if m * n < DENSE_PATH_FROM_ENTRIES:
        return False
    kept = layer_mask(mod) if hasattr(mod, "weight_mask") else effective_weight(mod)  # the census's mask rule
    return _count_nonzero(kept) >= DENSE_PATH_FROM_DENSITY * m * n


def _count_nonzero(t: torch.Tensor) -> int:
    # numpy's count is ~9x torch's on a float32 CPU tensor (45M entries: 0.03 s against 0.23 s)
    t = t.detach()
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64, torch.bool):
        return int(np.count_nonzero(t.numpy()))
    if t.device.type == "cpu" and t.dtype in (torch.bfloat16, torch.float16):
        # the bit patterns without the sign bit: +0 and -0 are the only zeros (0.02 s against 0.38 s)
        return int(np.count_nonzero(t.view(torch.int16).numpy() << 1))
    return int(torch.count_nonzero(t))


def _dense_layer_census(mod: nn.Module, name: str, role: str, scope: str, universal_cover: bool | str,
                        cover_budget: float) -> LayerCensus:
    """The census of a large dense-enough layer from dense tensors (no CSR): the mask and |W|
    reports with ``accuracy="verdict"`` (each falls back to the full path where it must)."""
    weight_abs = layer_dense(mod, "weight")
    n_weight = _count_nonzero(weight_abs)
    # with a prune mask, the mask graph is the mask (it may keep exact zeros); without one, the
    # weight's non-zero pattern (the census's rule). |W * mask| is non-zero only inside the mask,
    # so equal counts mean equal patterns: the |W| tensor read as a pattern, no second tensor
    n_kept = _count_nonzero(layer_mask(mod)) if hasattr(mod, "weight_mask") else n_weight
    # one DenseLayer: the validating pass over the layer (degrees, sums, connectivity) is shared
    # by both reports when the mask is |W|'s pattern
    weight_layer = DenseLayer(weight_abs)
    mask = weight_layer if n_kept == n_weight else layer_dense(mod, "mask")
    uc = {"universal_cover": universal_cover, "cover_budget": cover_budget}  # also where the full path takes over
    r_mask = ramanujan_report(mask, scope=scope, weighted=False, accuracy="verdict", **uc)
    del mask
    r_weight = ramanujan_report(weight_layer, scope=scope, weighted=True, accuracy="verdict", **uc)
    weight = getattr(mod, "weight_orig", mod.weight)
    n_w = int(weight.numel())
    return LayerCensus(name=name, role=role, shape=tuple(weight.shape), graph_shape=unfolded_shape(mod),
                       density=n_kept / n_w, n_weights=n_w, n_kept=n_kept, mask=r_mask, weight=r_weight, score=None,
                       mask_source="prune-mask" if hasattr(mod, "weight_mask") else "nonzero")


def census(
    model: nn.Module,
    scores: Mapping[str, torch.Tensor] | None = None,
    scope: str = "largest",
    solver: str = "auto",
    layers: Iterable[str] | str | Callable[[str], bool] | None = None,
    previous: Census | None = None,
    *,
    universal_cover: bool | str = "auto",
    accuracy: str = "verdict",
    progress: bool = False,
    cover_budget: float = COVER_BUDGET_FACTOR,
) -> Census:
    """Spectral census of a model's prunable layers.

    A layer's mask is its attached ``weight_mask`` (``torch.nn.utils.prune``), or, when none is
    attached, the weight's non-zero pattern (how Wanda and SparseGPT checkpoints store a pruned
    layer, and the rule of the ``census`` command); :attr:`LayerCensus.mask_source` and the
    record's ``"mask_source"`` say which (``"prune-mask"`` / ``"nonzero"``).

    Parameters
    ----------
    scores
        Optional ``{layer name: tensor like the weight}``; adds a report of ``|S * mask|``.
    scope, solver
        Passed to :func:`bipartite_expanders.ramanujan_report`.
    layers
        Which layers to analyse: None (all), a list of names, ``"inner"`` (all but the first
        and last), or a predicate on the name.
    previous
        A former census of the same model: its solver states warm-start this one.
    universal_cover, cover_budget
        Passed to :func:`bipartite_expanders.ramanujan_report`: ``"auto"`` (default) decides each
        report's ``verdict_uc`` by the cheapest certified bracket within ``cover_budget`` times
        the spectral pair's cost (large dense layers: the free bracket); True computes the exact
        radius ``rho_uc`` everywhere, False nowhere; ``cover_budget=math.inf`` computes it
        wherever the graph has at most ``COVER_AUTO_EDGES`` edges (docs/universal-cover.md,
        "Default").
    accuracy
        ``"verdict"`` (default): a large dense-enough layer (at least ``DENSE_PATH_FROM_ENTRIES``
        graph entries, a fraction ``DENSE_PATH_FROM_DENSITY`` of them kept, not a grouped
        convolution: an LLM's projections) is analysed as a dense tensor in its own precision
        with certified brackets that stop once they decide every verdict
        (:func:`bipartite_expanders.ramanujan_report`, ``accuracy="verdict"``: no CSR, a few
        block products); every other layer, and one whose brackets do not decide, gets the full
        1e-8 contract; a ``solver`` other than ``"auto"`` / ``"block"`` keeps the full path.
        ``"full"``: the full contract everywhere. Each report's ``accuracy`` says which was
        computed.
    progress
        Show a tqdm bar.

    Examples
    --------
    >>> from torch import nn
    >>> c = census(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4)))
    >>> c.regime, [lc.role for lc in c.layers], c.layers[0].mask.t2
    ('fully', ['fc', 'output'], 0.0)
    """
    if accuracy not in ACCURACIES:
        raise ValueError(f"accuracy must be one of {ACCURACIES}; got {accuracy!r}")
    names = _select(model, layers)
    if not names:
        raise ValueError("census needs at least one layer to analyse")
    mods = prunable_layers(model)
    roles = layer_roles(model)
    prev: dict[str, LayerCensus] = {lc.name: lc for lc in previous.layers} if previous is not None else {}
    it: Iterable[str] = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="census", unit="layer")
    out = []
    for name in it:
        mod = mods[name]
        if scores is not None and name not in scores:
            raise ValueError(f"scores has no entry for layer {name!r}")
        p = prev.get(name)
        # the verdict path is the block solver's: an explicit other solver keeps the full path
        if accuracy == "verdict" and scores is None and solver in ("auto", "block") and _dense_enough(mod):
            out.append(_dense_layer_census(mod, name, roles[name], scope, universal_cover, cover_budget))
            continue
        g_weight = layer_graph(mod, "weight")
        layer_scores = None if scores is None else scores[name]
        if hasattr(mod, "weight_mask"):
            mask_source = "prune-mask"
            # the mask graph is the weight graph's pattern (sharing its degrees and components)
            # unless a kept weight is exactly zero
            n_mask = int(torch.count_nonzero(layer_mask(mod)))
            g_mask = g_weight.pattern() if g_weight.n_edges == n_mask else layer_graph(mod, "mask")
        else:
            # no prune mask attached: the mask is the weight's non-zero pattern (the CLI's rule;
            # a model pruned by zeroing weights is not a complete graph)
            mask_source = "nonzero"
            g_mask = g_weight.pattern()
            if layer_scores is not None and isinstance(layer_scores, torch.Tensor) \
                    and tuple(layer_scores.shape) == tuple(mod.weight.shape):
                layer_scores = layer_scores * (mod.weight.detach() != 0).to(layer_scores.device)
        uc = {"universal_cover": universal_cover, "cover_budget": cover_budget}
        r_mask = ramanujan_report(g_mask, scope=scope, weighted=False, solver=solver, v0=p.mask.state if p else None, **uc)
        r_weight = ramanujan_report(g_weight, scope=scope, weighted=True, solver=solver,
                                    v0=(p.weight.state if p else None) or r_mask.state, **uc)
        r_score = None
        if scores is not None:
            r_score = ramanujan_report(layer_graph(mod, "score", layer_scores), scope=scope, weighted=True, solver=solver,
                                       v0=(p.score.state if p and p.score else None) or r_mask.state, **uc)
        weight = getattr(mod, "weight_orig", mod.weight)
        n_w = int(weight.numel())  # a grouped conv's graph has zeros outside its blocks: count weights
        out.append(LayerCensus(
            name=name, role=roles[name], shape=tuple(weight.shape),
            graph_shape=g_mask.shape, density=g_mask.n_edges / n_w, n_weights=n_w, n_kept=g_mask.n_edges,
            mask=r_mask, weight=r_weight, score=r_score, mask_source=mask_source,
        ))
    return Census(
        layers=out,
        regime=network_regime([lc.is_ramanujan for lc in out]).value,
        regime_weighted=network_regime([lc.is_ramanujan_weighted for lc in out]).value,
        scope=scope,
        skipped=tuple(n for n in mods if n not in set(names)),
    )
