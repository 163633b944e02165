"""Pruning masks through ``torch.nn.utils.prune``.

Every prunable layer gets the identity reparametrisation once (``weight_orig`` parameter,
``weight_mask`` buffer, ``weight = weight_orig * weight_mask`` recomputed before each
forward). New masks are ANDed into ``weight_mask`` in place, so a layer never collects a
``PruningContainer`` of stacked methods round after round, a pruned weight can never come
back, and a masked model saves, loads and trains like any other module.

One addition to torch's machinery: after each forward, ``module.weight`` (a non-leaf tensor
the pre-hook made) is replaced by its detached value, so ``copy.deepcopy`` works on a model
that has been trained (torch refuses to deepcopy non-leaf tensors). Autograd already holds
the graph's own reference, so gradients are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.utils.prune as prune
from torch import nn

from .layers import prunable_layers
from .serialization import load_torch, save_torch

__all__ = [
    "ensure_masks",
    "get_masks",
    "apply_masks",
    "capture_state",
    "rewind",
    "save_masked",
    "load_masked",
    "layer_density",
    "total_density",
    "is_masked",
    "refresh_weights",
]

_FORMAT = "bipartite_expanders.masked/1"


def is_masked(module: nn.Module) -> bool:
    """Whether the layer carries torch's pruning reparametrisation of ``weight``."""
    return "weight_orig" in module._parameters and "weight_mask" in module._buffers


def _detach_weight(module: nn.Module, inputs: Any, output: Any) -> None:
    """Forward hook: keep a leaf tensor in ``module.weight`` between forwards (deepcopy)."""
    if is_masked(module) and not isinstance(module.__dict__.get("weight"), nn.Parameter):
        module.weight = module.weight.detach()


def _has_hook(module: nn.Module) -> bool:
    return any(h is _detach_weight for h in module._forward_hooks.values())


def refresh_weights(model: nn.Module) -> None:
    """Recompute ``weight = weight_orig * weight_mask`` now (as torch's pre-hook would)."""
    with torch.no_grad():
        for mod in prunable_layers(model).values():
            if is_masked(mod):
                mod.weight = mod.weight_orig * mod.weight_mask


def _select(model: nn.Module, layers: Iterable[str] | None) -> dict[str, nn.Module]:
    all_layers = prunable_layers(model)
    if layers is None:
        return dict(all_layers)
    names = list(layers)
    unknown = [n for n in names if n not in all_layers]
    if unknown:
        raise ValueError(f"layers: not prunable layers of the model: {unknown[:5]}")
    return {n: all_layers[n] for n in names}


def ensure_masks(model: nn.Module, layers: Iterable[str] | None = None) -> nn.Module:
    """Apply the identity pruning reparametrisation once per prunable layer (idempotent).

    >>> from torch import nn
    >>> m = ensure_masks(ensure_masks(nn.Linear(3, 2)))
    >>> sorted(n for n, _ in m.named_buffers()), sorted(n for n, _ in m.named_parameters())
    (['weight_mask'], ['bias', 'weight_orig'])
    """
    for mod in _select(model, layers).values():
        if not is_masked(mod):
            prune.identity(mod, "weight")
        if not _has_hook(mod):
            mod.register_forward_hook(_detach_weight)
    return model


def get_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Each prunable layer's mask (a float 0/1 copy shaped like the weight; ones when unpruned)."""
    out = {}
    for name, mod in prunable_layers(model).items():
        out[name] = mod.weight_mask.detach().clone() if is_masked(mod) else torch.ones_like(mod.weight).detach()
    return out


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """AND ``masks`` (name -> tensor shaped like the weight; non-zero keeps) into the layers'
    ``weight_mask`` in place, applying the reparametrisation first where missing.

    The weights themselves (``weight_orig``) are untouched, as torch's own pruning does.
    """
    if not isinstance(masks, Mapping):
        raise TypeError(f"masks must be a mapping name -> tensor; got {type(masks).__name__}")
    layers = _select(model, masks.keys())
    for name, mask in masks.items():
        mod = layers[name]
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"masks[{name!r}] must be a torch.Tensor; got {type(mask).__name__}")
        shape = tuple(getattr(mod, "weight_orig", mod.weight).shape)
        if tuple(mask.shape) != shape:
            raise ValueError(f"masks[{name!r}] must have shape {shape}; got {tuple(mask.shape)}")
    ensure_masks(model, masks.keys())
    with torch.no_grad():
        for name, mask in masks.items():
            buf = layers[name].weight_mask
            buf.mul_((mask.detach() != 0).to(buf.device, buf.dtype))
    refresh_weights(model)
    return model


def _state_items(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors by *plain* name: ``x.weight_orig`` is ``x.weight``; masks left out."""
    out = {}
    masked = {f"{n}.weight" if n else "weight" for n, m in prunable_layers(model).items() if is_masked(m)}
    for key, t in model.state_dict(keep_vars=True).items():
        if key.endswith("weight_mask") and key[: -len("_mask")] in masked:
            continue
        if key.endswith("weight_orig") and key[: -len("_orig")] in masked:
            key = key[: -len("_orig")]
        out[key] = t
    return out


def capture_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A deep copy of the unmasked weights (``weight_orig``, keyed as ``...weight``), every
    other parameter and every buffer except the masks: what :func:`rewind` restores.

    Keys are the plain model's ``state_dict`` keys, so a state captured before the masks were
    applied rewinds a masked model too.
    """
    return {k: t.detach().clone() for k, t in _state_items(model).items()}


def rewind(model: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Copy ``state`` (from :func:`capture_state`) into the model, weights into
    ``weight_orig``, keeping the current masks (pruned weights stay zero)."""
    targets = _state_items(model)
    missing = sorted(set(targets) - set(state))
    unknown = sorted(set(state) - set(targets))
    if missing or unknown:
        raise ValueError(f"state does not fit the model: missing {missing[:5]}, unexpected {unknown[:5]}")
    with torch.no_grad():
        for key, t in targets.items():
            src = state[key]
            if tuple(src.shape) != tuple(t.shape):
                raise ValueError(f"state[{key!r}] has shape {tuple(src.shape)}; the model's is {tuple(t.shape)}")
            t.copy_(src.to(t.device, t.dtype))
    refresh_weights(model)
    return model


def save_masked(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save the masked model's state (weights, masks, buffers) atomically to ``path``."""
    path = Path(path)
    payload = {
        "format": _FORMAT,
        "masked": [n for n, m in prunable_layers(model).items() if is_masked(m)],
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_torch(payload, path)


def load_masked(model: nn.Module, path: str | os.PathLike[str]) -> nn.Module:
    """Load a file written by :func:`save_masked` into ``model`` (a fresh instance of the same
    architecture): reparametrises the layers that were masked, then loads strictly."""
    payload = load_torch(path, "masked model file")
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"path: {path} is not a file written by save_masked")
    ensure_masks(model, payload["masked"])
    model.load_state_dict(payload["state_dict"], strict=True)
    refresh_weights(model)
    return model


def layer_density(model: nn.Module) -> dict[str, float]:
    """Fraction of weights kept per prunable layer."""
    return {n: float((m != 0).sum()) / m.numel() for n, m in get_masks(model).items()}


def total_density(model: nn.Module) -> float:
    """Fraction of weights kept over all prunable layers together."""
    masks = get_masks(model)
    total = sum(m.numel() for m in masks.values())
    if total == 0:
        raise ValueError("model has no prunable layers")
    return sum(float((m != 0).sum()) for m in masks.values()) / total
