"""The torch adapter: layers as bipartite graphs, census, scores, masks, pruning.

Needs the ``torch`` extra. Imported as ``adapters.torch``; nothing in
:mod:`bipartite_expanders` imports it.

>>> from torch import nn
>>> from adapters.torch import census, prune_step
>>> model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
>>> prune_step(model, "magnitude", 0.5).changed
True
>>> census(model).layers[0].density
0.5
"""

from .census import Census, LayerCensus, census, inner_layers
from .layers import effective_weight, fold, layer_graph, layer_mask, layer_roles, prunable_layers, unfold, unfolded_shape
from .masks import (
    apply_masks,
    capture_state,
    ensure_masks,
    get_masks,
    is_masked,
    layer_density,
    load_masked,
    refresh_weights,
    rewind,
    save_masked,
    total_density,
)
from .pruning import ALLOCATIONS, PruneRates, PruneResult, allocate, erk_targets, prune_step, select_masks
from .scores import SCORE_METHODS, compute_scores, grasp, magnitude, random, snip, synflow

__all__ = [
    "prunable_layers", "layer_roles", "layer_graph", "layer_mask", "effective_weight", "unfold", "fold", "unfolded_shape",
    "Census", "LayerCensus", "census", "inner_layers",
    "ensure_masks", "get_masks", "apply_masks", "capture_state", "rewind", "save_masked", "load_masked",
    "layer_density", "total_density", "is_masked", "refresh_weights",
    "PruneRates", "PruneResult", "ALLOCATIONS", "prune_step", "allocate", "select_masks", "erk_targets",
    "SCORE_METHODS", "magnitude", "random", "snip", "grasp", "synflow", "compute_scores",
]
