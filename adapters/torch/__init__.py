"""The torch adapter: layers as bipartite graphs, census, scores, masks, pruning.

Needs the ``torch`` extra. Imported as ``bipartite_expanders.adapters.torch``; nothing in
:mod:`bipartite_expanders` imports it.

>>> from torch import nn
>>> from bipartite_expanders.adapters.torch import census, prune_step
>>> model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
>>> prune_step(model, "magnitude", 0.5).changed
True
>>> census(model).layers[0].density
0.5
"""

import importlib
import sys
import types
from typing import Any

# Public name -> submodule. Imported lazily so that ``import bipartite_expanders.adapters.torch.lth.cli`` (which the
# console script loads to build its parser) does not pull torch in before a torch command runs.
_SUBMODULE = {
    **dict.fromkeys(["Census", "LayerCensus", "census", "inner_layers"], "census"),
    **dict.fromkeys(["effective_weight", "fold", "layer_graph", "layer_mask", "layer_roles", "prunable_layers",
                     "unfold", "unfolded_shape"], "layers"),
    **dict.fromkeys(["apply_masks", "capture_state", "ensure_masks", "get_masks", "is_masked", "layer_density",
                     "load_masked", "refresh_weights", "rewind", "save_masked", "total_density"], "masks"),
    **dict.fromkeys(["ALLOCATIONS", "PruneRates", "PruneResult", "allocate", "erk_targets", "prune_step",
                     "select_masks"], "pruning"),
    **dict.fromkeys(["LayerMasks", "MASK_FAMILIES", "erdos_renyi_masks", "mask_family", "ramanujan_masks", "random_biregular_masks"], "ramanujan"),
    **dict.fromkeys(["SCORE_METHODS", "compute_scores", "grasp", "magnitude", "random", "snip", "synflow"], "scores"),
    **dict.fromkeys(["ONESHOT_METHODS", "OneShotResult", "LayerStats", "unstructured_mask", "wanda_scores", "sparsegpt_scores",
                     "sparsegpt_prune", "oneshot_blocks", "collect_stats", "layer_scores", "oneshot_prune"], "oneshot"),
    **dict.fromkeys(["parse_pattern", "nm_mask", "is_nm", "mask_graph", "NMSelection", "bound_respecting_nm", "NMMasks",
                     "ramanujan_nm_masks"], "nm"),
    **dict.fromkeys(["SPARSITY_ALLOCATIONS", "SparsityMap", "allocate_sparsity", "outlier_ratios", "mask_margin",
                     "ramanujan_ceiling", "load_sparsity_map"], "allocation"),
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULE:
        value = getattr(importlib.import_module(f"{__name__}.{_SUBMODULE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULE))


class _Package(types.ModuleType):
    """Importing the submodule ``census`` makes Python set the package attribute ``census`` to
    that module, hiding the function of the same name; keep the function (the module stays
    importable as ``bipartite_expanders.adapters.torch.census`` through ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _SUBMODULE:
            self.__dict__.pop(name, None)  # left to __getattr__, which gives the function
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "prunable_layers", "layer_roles", "layer_graph", "layer_mask", "effective_weight", "unfold", "fold", "unfolded_shape",
    "Census", "LayerCensus", "census", "inner_layers",
    "ensure_masks", "get_masks", "apply_masks", "capture_state", "rewind", "save_masked", "load_masked",
    "layer_density", "total_density", "is_masked", "refresh_weights",
    "PruneRates", "PruneResult", "ALLOCATIONS", "prune_step", "allocate", "select_masks", "erk_targets",
    "SCORE_METHODS", "magnitude", "random", "snip", "grasp", "synflow", "compute_scores",
    "LayerMasks", "MASK_FAMILIES", "ramanujan_masks", "random_biregular_masks", "erdos_renyi_masks", "mask_family",
    "ONESHOT_METHODS", "OneShotResult", "LayerStats", "oneshot_prune", "oneshot_blocks", "collect_stats", "layer_scores",
    "unstructured_mask", "wanda_scores", "sparsegpt_scores", "sparsegpt_prune",
    "parse_pattern", "nm_mask", "is_nm", "mask_graph", "NMSelection", "bound_respecting_nm", "NMMasks", "ramanujan_nm_masks",
    "SPARSITY_ALLOCATIONS", "SparsityMap", "allocate_sparsity", "outlier_ratios", "mask_margin", "ramanujan_ceiling",
    "load_sparsity_map",
]
