"""One-shot post-training pruning with calibration data: magnitude, Wanda, SparseGPT.

For any ``nn.Module`` whose prunable layers are ``nn.Linear`` (a Hugging Face causal LM
included); docs/llm-pruning.md. Patterns: ``"unstructured"`` at a sparsity, or ``"N:M"`` (``"2:4"``,
``"4:8"``): every output keeps ``N`` of each ``M`` consecutive inputs.

* ``magnitude``: ``|W|``, compared over the whole layer (unstructured) or per group of M.
* ``wanda`` (Sun et al. 2023): ``|W_ij| * ||X_j||_2``, the input feature's norm over all
  calibration tokens, compared per output row (unstructured) or per group of M.
* ``sparsegpt`` (Frantar & Alistarh 2023): the layer Hessian ``H = 2 X^T X / n_tokens``, damped by
  ``percdamp * mean(diag H)``; columns are processed left to right in blocks of ``blocksize``
  with the upper Cholesky factor of ``H^-1``; each block's mask is chosen adaptively by
  ``w^2 / [H^-1]_jj^2`` (unstructured: over the block's columns and every row; N:M: per group of
  M when the loop reaches it), each pruned weight's error is spread over the remaining columns
  (OBS) and the block's accumulated error updates the later columns at once (lazy batch update).

Calibration is sequential: the layers are taken block by block (the decoder layers of an LLM,
found as the largest ``nn.ModuleList``; else each Linear alone), and the statistics of a block's
Linear inputs are collected by running the calibration batches through the model *with every
earlier block already pruned*, stopping at the end of the block. The Linears of one block share
one pass, as in both papers. Weights are overwritten with exact zeros (no parametrisation), so
``save_pretrained`` writes the pruned model as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .layers import prunable_layers
from .nm import nm_mask, parse_pattern

__all__ = ["ONESHOT_METHODS", "OneShotResult", "LayerStats", "unstructured_mask", "wanda_scores", "sparsegpt_scores",
           "sparsegpt_prune", "oneshot_blocks", "collect_stats", "layer_scores", "oneshot_prune"]

ONESHOT_METHODS = ("magnitude", "wanda", "sparsegpt")


@dataclass
class LayerStats:
    """Calibration statistics of one Linear's input ``X`` (tokens x in_features), in float64:
    ``sq_norms[j] = sum_t X_tj^2`` and, when asked, ``gram = X^T X``; ``n_tokens`` rows seen."""

    sq_norms: torch.Tensor
    gram: torch.Tensor | None
    n_tokens: int = 0

    @property
    def input_norms(self) -> torch.Tensor:
        """``||X_j||_2`` per input feature (Wanda's activation norm)."""
        return self.sq_norms.sqrt()

    @property
    def hessian(self) -> torch.Tensor:
        """``H = 2 X^T X / n_tokens`` (SparseGPT's layer Hessian, undamped)."""
        if self.gram is None:
            raise ValueError("these statistics were collected without the Gram matrix (need_gram=False)")
        return 2.0 * self.gram / max(self.n_tokens, 1)


@dataclass
class OneShotResult:
    """What :func:`oneshot_prune` did: the kept masks (bool, like each weight), the per-layer
    sparsity reached, and per layer ``||W X^T - W' X^T||_F^2 / n_tokens`` on the calibration inputs
    the layer saw (``reconstruction_error``)."""

    method: str
    pattern: str
    masks: dict[str, torch.Tensor]
    sparsities: dict[str, float]
    reconstruction_error: dict[str, float] = field(default_factory=dict)

    @property
    def total_sparsity(self) -> float:
        n = sum(m.numel() for m in self.masks.values())
        return 1.0 - sum(int(m.sum()) for m in self.masks.values()) / n if n else 0.0


def _check_sparsity(sparsity: Any, name: str = "sparsity") -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1); got {sparsity!r}")
    return float(sparsity)


def unstructured_mask(scores: torch.Tensor, sparsity: float, groups: str = "row") -> torch.Tensor:
    """Keep-mask that prunes the lowest-scoring ``floor(sparsity * size)`` entries of each
    comparison group: ``"row"`` (each output, Wanda) or ``"layer"`` (the whole matrix). Ties go to
    the lower index (a stable sort), so the count is exact.

    >>> unstructured_mask(torch.tensor([[3., 1., 2., 4.], [1., 2., 3., 4.]]), 0.5).int().tolist()
    [[1, 0, 0, 1], [0, 0, 1, 1]]
    """
    sparsity = _check_sparsity(sparsity)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-d (out, in); got shape {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    flat = scores.reshape(1, -1) if groups == "layer" else scores if groups == "row" else None
    if flat is None:
        raise ValueError(f"groups must be 'row' or 'layer'; got {groups!r}")
    k = int(flat.shape[1] * sparsity)
    keep = torch.ones_like(flat, dtype=torch.bool)
    if k:
        order = torch.sort(flat, dim=1, stable=True).indices[:, :k]
        keep.scatter_(1, order, False)
    return keep.reshape(scores.shape)


def wanda_scores(weight: torch.Tensor, input_norms: torch.Tensor) -> torch.Tensor:
    """Wanda's score ``|W_ij| * ||X_j||_2`` for a weight ``(out, in)`` and the input norms ``(in,)``.

    >>> wanda_scores(torch.tensor([[1., -2.], [3., 0.5]]), torch.tensor([2., 1.])).tolist()
    [[2.0, 2.0], [6.0, 0.5]]
    """
    if weight.ndim != 2 or input_norms.shape != (weight.shape[1],):
        raise ValueError(f"input_norms must have shape ({weight.shape[1]},) for a weight of shape {tuple(weight.shape)}; "
                         f"got {tuple(input_norms.shape)}")
    return weight.abs() * input_norms.to(weight.dtype).reshape(1, -1)


def _damped(hessian: torch.Tensor, percdamp: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The damped Hessian in float64 (dead inputs' diagonal set to 1) and the dead-input flags."""
    H = hessian.detach().to(torch.float64).clone()
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1.0
    H += percdamp * torch.diagonal(H).mean() * torch.eye(H.shape[0], dtype=torch.float64)
    return H, dead


def sparsegpt_scores(weight: torch.Tensor, hessian: torch.Tensor, percdamp: float = 0.01) -> torch.Tensor:
    """SparseGPT's selection score ``w_ij^2 / [U]_jj^2``, ``U`` the upper Cholesky factor of the damped
    ``H^-1`` (the OBS saliency of the first column of each block), for the unpruned weight.

    >>> sparsegpt_scores(torch.tensor([[1.0, 2.0]]), 2 * torch.eye(2), percdamp=0.5).round(decimals=9).tolist()
    [[3.0, 12.0]]
    """
    H, _ = _damped(hessian, percdamp)
    d = torch.diagonal(torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True))
    return weight.detach().to(torch.float64) ** 2 / d.reshape(1, -1) ** 2


def sparsegpt_prune(weight: torch.Tensor, hessian: torch.Tensor, sparsity: float | None = None, *,
                    pattern: str | tuple[int, int] = "unstructured", mask: torch.Tensor | None = None,
                    blocksize: int = 128, percdamp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT on one layer: returns the updated weight (exact zeros where pruned, in the
    weight's dtype) and the keep-mask.

    ``hessian`` is ``2 X^T X / n`` (in x in); inputs never seen (zero diagonal) are pruned and
    their diagonal set to 1, as the paper's code does. ``mask`` fixes the keep-mask (the weights
    are then only reconstructed); otherwise ``sparsity`` (unstructured) or ``pattern="N:M"``
    chooses it adaptively. Computed in float64.

    >>> w = torch.tensor([[1.0, 0.1, 2.0, 0.2]])
    >>> w2, keep = sparsegpt_prune(w, torch.eye(4), 0.5, blocksize=4)
    >>> keep.int().tolist(), w2.tolist()
    ([[1, 0, 1, 0]], [[1.0, 0.0, 2.0, 0.0]])
    """
    if weight.ndim != 2:
        raise ValueError(f"weight must be 2-d (out, in); got shape {tuple(weight.shape)}")
    rows, cols = weight.shape
    if hessian.shape != (cols, cols):
        raise ValueError(f"hessian must be ({cols}, {cols}) for a weight of shape {tuple(weight.shape)}; got {tuple(hessian.shape)}")
    if not (torch.isfinite(weight).all() and torch.isfinite(hessian).all()):
        raise ValueError("weight or hessian contains NaN or inf")
    if not (isinstance(blocksize, int) and blocksize >= 1):
        raise ValueError(f"blocksize must be a positive integer; got {blocksize!r}")
    if not (isinstance(percdamp, (int, float)) and percdamp > 0):
        raise ValueError(f"percdamp must be > 0; got {percdamp!r}")
    nm = parse_pattern(pattern)
    if mask is not None:
        if mask.shape != weight.shape:
            raise ValueError(f"mask must have the weight's shape {tuple(weight.shape)}; got {tuple(mask.shape)}")
        pruned_given = ~mask.to(torch.bool)
    elif nm is None:
        if sparsity is None:
            raise ValueError("give sparsity (unstructured), pattern='N:M' or mask")
        sparsity = _check_sparsity(sparsity)
    else:
        if cols % nm[1] or blocksize % nm[1]:
            raise ValueError(f"in_features = {cols} and blocksize = {blocksize} must be multiples of M = {nm[1]}")
    W = weight.detach().to(torch.float64).clone()
    H, dead = _damped(hessian, percdamp)
    W[:, dead] = 0.0
    L = torch.linalg.cholesky(H)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(L), upper=True)
    pruned = torch.zeros(rows, cols, dtype=torch.bool)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        d = torch.diagonal(Hinv1)
        if mask is not None:
            mask1 = pruned_given[:, i1:i2].clone()
        elif nm is None:
            tmp = W1 ** 2 / d.reshape(1, -1) ** 2
            k = int(tmp.numel() * sparsity)
            mask1 = torch.zeros_like(W1, dtype=torch.bool).reshape(-1)
            if k:
                mask1[torch.sort(tmp.reshape(-1), stable=True).indices[:k]] = True
            mask1 = mask1.reshape(W1.shape)
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        for i in range(i2 - i1):
            if nm is not None and mask is None and i % nm[1] == 0:
                tmp = W1[:, i:i + nm[1]] ** 2 / d[i:i + nm[1]].reshape(1, -1) ** 2
                mask1[:, i:i + nm[1]] = ~nm_mask(tmp, *nm)
            w = W1[:, i]
            q = w.clone()
            q[mask1[:, i]] = 0.0
            Q1[:, i] = q
            err = (w - q) / d[i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i1:i2] = Q1
        pruned[:, i1:i2] = mask1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    pruned |= dead.reshape(1, -1)
    W[pruned] = 0.0
    return W.to(weight.dtype), ~pruned


def oneshot_blocks(model: nn.Module, layers: Iterable[str] | None = None) -> list[list[str]]:
    """The layers to prune, grouped into calibration blocks, in forward order.

    With ``layers=None``: the Linears inside the model's largest ``nn.ModuleList`` (the decoder
    layers of a transformer: embeddings and the LM head are not pruned, as in both papers), one
    block per list entry; a model without such a list gives every Linear as its own block.
    Given ``layers``: those names, grouped the same way (a name outside the list is its own block).

    >>> from torch import nn
    >>> oneshot_blocks(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    [['0'], ['2']]
    """
    linear = {n: m for n, m in prunable_layers(model).items() if isinstance(m, nn.Linear)}
    lists = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.ModuleList)
             and sum(any(isinstance(x, nn.Linear) for x in child.modules()) for child in m) >= 2]
    best = max(lists, key=lambda nm_: sum(isinstance(x, nn.Linear) for x in nm_[1].modules()), default=None)
    if layers is None:
        chosen = [n for n in linear if best is None or n.startswith(best[0] + ".")]
    else:
        chosen = [layers] if isinstance(layers, str) else list(layers)
        unknown = [n for n in chosen if n not in linear]
        if unknown:
            raise ValueError(f"layers: not nn.Linear layers of the model: {unknown[:5]}")
        chosen = [n for n in linear if n in set(chosen)]
    if not chosen:
        raise ValueError("no nn.Linear layer to prune")
    blocks: dict[str, list[str]] = {}
    for n in chosen:
        if best is not None and n.startswith(best[0] + "."):
            key = best[0] + "." + n[len(best[0]) + 1:].split(".")[0]
        else:
            key = n
        blocks.setdefault(key, []).append(n)
    return list(blocks.values())


class _StopForward(Exception):
    """Raised by a hook at the end of the block being calibrated: the rest of the model is not needed."""


def _run(model: nn.Module, batch: Any) -> None:
    if isinstance(batch, Mapping):
        model(**batch)
    elif isinstance(batch, (tuple, list)):
        model(*batch)
    else:
        model(batch)


def _block_module(model: nn.Module, names: Sequence[str]) -> nn.Module | None:
    """The smallest module containing every named layer (the decoder layer), or None."""
    prefix = names[0].split(".")
    for n in names[1:]:
        parts = n.split(".")
        i = 0
        while i < min(len(prefix), len(parts)) and prefix[i] == parts[i]:
            i += 1
        prefix = prefix[:i]
    return model.get_submodule(".".join(prefix)) if prefix else None


@torch.no_grad()
def collect_stats(model: nn.Module, layers: Sequence[str], batches: Iterable[Any], *, need_gram: bool = True,
                  stop_after: nn.Module | None = None) -> dict[str, LayerStats]:
    """Run ``batches`` through ``model`` and gather each named Linear's input statistics
    (:class:`LayerStats`); ``stop_after`` ends each forward at the end of that module.

    >>> from torch import nn
    >>> lin = nn.Linear(2, 1)
    >>> st = collect_stats(nn.Sequential(lin), ["0"], [torch.tensor([[3.0, 4.0]])])
    >>> st["0"].sq_norms.tolist(), st["0"].n_tokens
    ([9.0, 16.0], 1)
    """
    mods = dict(model.named_modules())
    stats: dict[str, LayerStats] = {}
    hooks = []
    for name in layers:
        mod = mods[name]
        if not isinstance(mod, nn.Linear):
            raise TypeError(f"layer {name!r} is {type(mod).__name__}, not nn.Linear")
        st = LayerStats(torch.zeros(mod.in_features, dtype=torch.float64),
                        torch.zeros(mod.in_features, mod.in_features, dtype=torch.float64) if need_gram else None)
        stats[name] = st

        def hook(_m: nn.Module, inputs: tuple[Any, ...], st: LayerStats = st) -> None:
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).to(torch.float64)
            if not torch.isfinite(x).all():
                raise ValueError("calibration activations contain NaN or inf")
            st.sq_norms += (x * x).sum(0)
            if st.gram is not None:
                st.gram += x.T @ x
            st.n_tokens += x.shape[0]

        hooks.append(mod.register_forward_pre_hook(hook))
    if stop_after is not None:
        def stop(*_: Any) -> None:
            raise _StopForward
        hooks.append(stop_after.register_forward_hook(stop))
    was_training = model.training
    model.eval()
    n_batches = 0
    try:
        for batch in batches:
            n_batches += 1
            try:
                _run(model, batch)
            except _StopForward:
                pass
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if n_batches == 0:
        raise ValueError("batches is empty: calibration needs at least one batch")
    return stats


def layer_scores(model: nn.Module, method: str, batches: Iterable[Any] | None = None, *, layers: Iterable[str] | None = None,
                 percdamp: float = 0.01) -> dict[str, torch.Tensor]:
    """Each prunable Linear's scores under ``method`` on the model as it is (one calibration pass,
    not sequential): ``|W|``, Wanda's ``|W| ||X_j||``, or :func:`sparsegpt_scores` (float64).
    The input of :func:`~bipartite_expanders.adapters.torch.allocation.allocate_sparsity`.

    >>> from torch import nn
    >>> layer_scores(nn.Sequential(nn.Linear(3, 2)), "magnitude")["0"].shape
    torch.Size([2, 3])
    """
    if method not in ONESHOT_METHODS:
        raise ValueError(f"method must be one of {ONESHOT_METHODS}; got {method!r}")
    names = [n for b in oneshot_blocks(model, layers) for n in b]
    mods = dict(model.named_modules())
    if method == "magnitude":
        return {n: mods[n].weight.detach().to(torch.float64).abs() for n in names}
    if batches is None:
        raise ValueError(f"method {method!r} needs calibration batches")
    stats = collect_stats(model, names, list(batches), need_gram=method == "sparsegpt")
    if method == "wanda":
        return {n: _scores("wanda", mods[n].weight, stats[n]) for n in names}
    return {n: sparsegpt_scores(mods[n].weight, stats[n].hessian, percdamp) for n in names}


def _scores(method: str, weight: torch.Tensor, stats: LayerStats | None) -> torch.Tensor:
    w = weight.detach().to(torch.float64)
    if method == "magnitude":
        return w.abs()
    if method == "wanda":
        return wanda_scores(w, stats.input_norms)
    raise ValueError(method)


def oneshot_prune(model: nn.Module, method: str = "auto", sparsity: float = 0.5, *, batches: Iterable[Any] | None = None,
                  pattern: str | tuple[int, int] = "unstructured", sparsities: Mapping[str, float] | None = None,
                  masks: Mapping[str, torch.Tensor] | None = None, layers: Iterable[str] | None = None,
                  select: Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                  blocksize: int = 128, percdamp: float = 0.01, progress: bool = False) -> OneShotResult:
    """Prune ``model`` in place, one shot, layer block by layer block (module docstring).

    Parameters
    ----------
    method
        ``"magnitude"``, ``"wanda"``, ``"sparsegpt"``; ``"auto"``: ``"sparsegpt"`` with ``batches``,
        else ``"magnitude"``.
    sparsity
        Fraction of each layer's weights to remove (unstructured), unless ``sparsities`` gives it
        per layer name (a map from :func:`~bipartite_expanders.adapters.torch.allocation.allocate_sparsity`).
    batches
        Calibration inputs (tensors of token ids, tuples, or dicts of keyword arguments), needed by
        Wanda and SparseGPT; iterated once per block, so pass a list.
    pattern
        ``"unstructured"`` or ``"N:M"`` along the input dimension (``sparsity`` is then N:M's).
    masks
        Fixed keep-masks by layer name (e.g. certified N:M masks): magnitude and Wanda apply
        them, SparseGPT reconstructs the kept weights under them.
    select
        ``select(name, keep, scores) -> keep``: a hook that may change the method's mask before it
        is applied (the bound-respecting N:M selection). For SparseGPT the scores are
        :func:`sparsegpt_scores` of the unpruned layer; a changed mask is then fixed and the weights
        reconstructed under it, an unchanged one leaves the layer to plain (adaptive) SparseGPT.
    progress
        A tqdm bar over the layers.

    Examples
    --------
    >>> from torch import nn
    >>> torch.manual_seed(0) and None
    >>> model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    >>> res = oneshot_prune(model, "wanda", 0.5, batches=[torch.randn(16, 8)])
    >>> res.sparsities, float((model[0].weight == 0).float().mean())
    ({'0': 0.5, '2': 0.5}, 0.5)
    """
    if method == "auto":
        method = "sparsegpt" if batches is not None else "magnitude"
    if method not in ONESHOT_METHODS:
        raise ValueError(f"method must be one of {ONESHOT_METHODS} or 'auto'; got {method!r}")
    nm = parse_pattern(pattern)
    sparsity = _check_sparsity(sparsity)
    if method != "magnitude":
        if batches is None:
            raise ValueError(f"method {method!r} needs calibration batches")
        batches = list(batches)
        if not batches:
            raise ValueError("batches is empty: calibration needs at least one batch")
    blocks = oneshot_blocks(model, layers)
    names = [n for b in blocks for n in b]
    if sparsities is not None:
        unknown = [n for n in sparsities if n not in set(names)]
        if unknown:
            raise ValueError(f"sparsities: not layers being pruned: {unknown[:5]}")
        for n, s in sparsities.items():
            _check_sparsity(s, f"sparsities[{n!r}]")
    mods = dict(model.named_modules())
    result = OneShotResult(method, "unstructured" if nm is None else f"{nm[0]}:{nm[1]}", {}, {})
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc=f"{method} {result.pattern}", unit="layer")
    try:
        for block in blocks:
            stats: dict[str, LayerStats] = {}
            if method != "magnitude":
                stop = _block_module(model, block) if len(block) > 1 else mods[block[0]]
                stats = collect_stats(model, block, batches, need_gram=True, stop_after=stop)
            for name in block:
                mod = mods[name]
                _prune_layer(name, mod, method, nm, sparsities.get(name, sparsity) if sparsities else sparsity,
                             stats.get(name), None if masks is None else masks.get(name), select, blocksize, percdamp,
                             result)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return result


def _prune_layer(name: str, mod: nn.Linear, method: str, nm: tuple[int, int] | None, sparsity: float,
                 stats: LayerStats | None, fixed: torch.Tensor | None, select: Any, blocksize: int, percdamp: float,
                 result: OneShotResult) -> None:
    weight = mod.weight
    if fixed is not None and tuple(fixed.shape) != tuple(weight.shape):
        raise ValueError(f"masks[{name!r}] has shape {tuple(fixed.shape)}, the weight {tuple(weight.shape)}")
    old = weight.detach().to(torch.float64).clone()
    if nm is not None and weight.shape[1] % nm[1]:
        raise ValueError(f"layer {name!r}: in_features = {weight.shape[1]} is not a multiple of M = {nm[1]}")
    if method == "sparsegpt":
        H = stats.hessian
        keep = None if fixed is None else fixed.to(torch.bool)
        if keep is None and select is not None:  # choose the mask first, then reconstruct under it
            scores = sparsegpt_scores(old, H, percdamp)
            own = nm_mask(scores, *nm) if nm is not None else unstructured_mask(scores, sparsity)
            keep = select(name, own, scores)
            if torch.equal(keep, own):  # the score's own choice stands: prune as plain SparseGPT (adaptive mask)
                keep = None
        bs = blocksize if nm is None else max(nm[1], blocksize - blocksize % nm[1])
        new, keep = sparsegpt_prune(old, H, sparsity, pattern="unstructured" if nm is None else nm, mask=keep,
                                    blocksize=bs, percdamp=percdamp)
    else:
        if fixed is not None:
            keep = fixed.to(torch.bool)
        else:
            scores = _scores(method, old, stats)
            if nm is not None:
                keep = nm_mask(scores, *nm)
            else:
                keep = unstructured_mask(scores, sparsity, groups="layer" if method == "magnitude" else "row")
            if select is not None:
                keep = select(name, keep, scores)
        new = old * keep
    with torch.no_grad():
        weight.copy_(new.to(weight.dtype))
        weight[~keep] = 0.0  # exact zeros in the stored dtype
    result.masks[name] = keep
    result.sparsities[name] = 1.0 - float(keep.sum()) / keep.numel()
    if stats is not None and stats.gram is not None and stats.n_tokens:
        delta = old - weight.detach().to(torch.float64)
        result.reconstruction_error[name] = float(torch.einsum("oi,ij,oj->", delta, stats.gram, delta)) / stats.n_tokens
