"""Pruning steps: allocation (layer-wise by role, global, ERK), plain or Ramanujan-bounded.

One call of :func:`prune_step` scores the model, chooses new masks and applies them (ANDed
into ``weight_mask``, see :mod:`.masks`). Counts are exact: a layer losing ``p`` of its
``n`` remaining weights loses ``round(p * n)`` of them (:func:`bipartite_expanders.removal_count`),
the lowest-scoring ones among the weights still present, ties broken by the weight's flat
index (lower first; across layers in a global ranking, earlier layers first). Already-pruned
entries are never ranked, so no method revives a weight.

``bound=True`` runs Algorithm 1 (docs/bounded-pruning.md) per layer through the framework-free
:func:`bipartite_expanders.bounded_sparsify` on the layer's unfolded mask graph and scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from bipartite_expanders import bounded_sparsify, lowest, removal_count
from bipartite_expanders.sparsify import SPECTRAL_RULES

from .layers import fold, layer_graph, layer_roles, prunable_layers, unfold
from .masks import apply_masks, ensure_masks, get_masks
from .scores import SCORE_METHODS, compute_scores, synflow

__all__ = ["PruneRates", "PruneResult", "ALLOCATIONS", "prune_step", "allocate", "select_masks", "erk_targets"]

ALLOCATIONS = ("layerwise", "global", "erk")


@dataclass(frozen=True)
class PruneRates:
    """Fractions of the *remaining* weights pruned per step, by layer role.

    >>> PruneRates().for_role("output")
    0.1
    """

    p_conv: float = 0.2
    p_fc: float = 0.2
    p_out: float = 0.1

    def __post_init__(self) -> None:
        for name in ("p_conv", "p_fc", "p_out"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= float(v) <= 1.0):
                raise ValueError(f"{name} must be a number in [0, 1]; got {v!r}")

    def for_role(self, role: str) -> float:
        try:
            return float({"conv": self.p_conv, "fc": self.p_fc, "output": self.p_out}[role])
        except KeyError:
            raise ValueError(f"role must be 'conv', 'fc' or 'output'; got {role!r}") from None

    def to_dict(self) -> dict[str, float]:
        return {"p_conv": self.p_conv, "p_fc": self.p_fc, "p_out": self.p_out}


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune_step` did.

    ``masks``: every prunable layer's mask after the step; ``scores``: the scores used (the
    last ones for iterated SynFlow); ``decisions``: per pruned layer, the JSON-safe dict of
    :class:`bipartite_expanders.SparsifyDecision` (``None`` for plain pruning); ``changed``:
    whether any mask changed (the bounded run stops when it is False); ``removed``: weights
    removed per layer; ``states``: solver states to warm-start the next bounded step.
    """

    masks: dict[str, torch.Tensor]
    scores: dict[str, torch.Tensor]
    decisions: dict[str, dict[str, Any]] | None
    changed: bool
    removed: dict[str, int] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _rates(rates: PruneRates | float) -> PruneRates:
    if isinstance(rates, PruneRates):
        return rates
    if isinstance(rates, bool) or not isinstance(rates, (int, float)):
        raise TypeError(f"rates must be a PruneRates or a number in [0, 1]; got {type(rates).__name__}")
    return PruneRates(float(rates), float(rates), float(rates))


def erk_targets(masks: Mapping[str, torch.Tensor], keep_total: int) -> dict[str, int]:
    """Erdos-Renyi-Kernel allocation of ``keep_total`` weights over layers.

    A layer's density is proportional to ``sum(shape) / prod(shape)`` of its weight (RigL's
    ERK), capped at its current density (a weight cannot come back); the factor is solved so
    that the kept counts add up to ``keep_total`` exactly (largest remainders, ties by layer
    order).
    """
    names = list(masks)
    kept = np.array([int((masks[n] != 0).sum()) for n in names], dtype=np.int64)
    size = np.array([masks[n].numel() for n in names], dtype=np.float64)
    raw = np.array([sum(masks[n].shape) / masks[n].numel() for n in names], dtype=np.float64)
    if not 0 <= keep_total <= kept.sum():
        raise ValueError(f"keep_total must be in [0, {int(kept.sum())}]; got {keep_total}")
    capped = np.zeros(len(names), dtype=bool)
    while True:
        free = ~capped
        budget = keep_total - kept[capped].sum()
        denom = (raw * size)[free].sum()
        eps = budget / denom if denom > 0 else 0.0
        want = eps * raw * size
        newly = free & (want >= kept)
        if not newly.any():
            break
        capped |= newly
    target = np.where(capped, kept, np.floor(want)).astype(np.int64)
    short = keep_total - int(target.sum())
    if short > 0:
        frac = np.where(capped, -1.0, want - np.floor(want))
        room = np.where(capped, 0, kept - target)
        for i in np.lexsort((np.arange(len(names)), -frac))[:]:
            if short == 0:
                break
            if room[i] > 0:
                target[i] += 1
                short -= 1
    return {n: int(t) for n, t in zip(names, target)}


def allocate(
    masks: Mapping[str, torch.Tensor],
    roles: Mapping[str, str],
    rates: PruneRates | float,
    allocation: str = "layerwise",
) -> dict[str, int] | int:
    """How many weights to remove: per layer (``layerwise``, ``erk``) or in total (``global``).

    With a :class:`PruneRates`, ``global`` and ``erk`` remove in total what the layer-wise
    rates would; with one number ``p`` they remove ``p`` of all remaining weights.
    """
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}; got {allocation!r}")
    r = _rates(rates)
    kept = {n: int((m != 0).sum()) for n, m in masks.items()}
    per_layer = {n: removal_count(kept[n], r.for_role(roles[n])) for n in masks}
    if isinstance(rates, PruneRates):
        total = sum(per_layer.values())
    else:
        total = removal_count(sum(kept.values()), float(rates))
    if allocation == "layerwise":
        return per_layer
    if allocation == "global":
        return total
    targets = erk_targets(masks, sum(kept.values()) - total)
    return {n: kept[n] - targets[n] for n in masks}


def _check_scores(scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]) -> None:
    for n, m in masks.items():
        if n not in scores:
            raise ValueError(f"scores has no entry for layer {n!r}")
        s = scores[n]
        if tuple(s.shape) != tuple(m.shape):
            raise ValueError(f"scores[{n!r}] must have shape {tuple(m.shape)}; got {tuple(s.shape)}")
        if not bool(torch.isfinite(s).all()) and not bool(torch.isfinite(s[m != 0]).all()):
            raise ValueError(f"scores[{n!r}] has non-finite values on unpruned weights")


def select_masks(
    masks: Mapping[str, torch.Tensor],
    scores: Mapping[str, torch.Tensor],
    counts: Mapping[str, int] | int,
) -> dict[str, torch.Tensor]:
    """New masks removing the lowest-scoring unpruned weights: ``counts`` per layer, or an
    ``int`` total ranked globally. Pruned entries are never ranked (so never revived)."""
    _check_scores(scores, masks)
    names = list(masks)
    flat_idx, flat_s = [], []
    for n in names:
        idx = torch.nonzero(masks[n].reshape(-1) != 0).reshape(-1).cpu().numpy()
        flat_idx.append(idx)
        flat_s.append(scores[n].detach().reshape(-1).cpu().to(torch.float64).numpy()[idx])
    out = {n: masks[n].detach().clone() for n in names}
    if isinstance(counts, Mapping):
        for n, idx, s in zip(names, flat_idx, flat_s):
            c = int(counts.get(n, 0))
            if not 0 <= c <= idx.size:
                raise ValueError(f"counts[{n!r}] must be in [0, {idx.size}]; got {c}")
            drop = idx[lowest(s, c)]
            out[n].reshape(-1)[torch.from_numpy(drop).to(out[n].device)] = 0
        return out
    total = int(counts)
    sizes = [i.size for i in flat_idx]
    if not 0 <= total <= sum(sizes):
        raise ValueError(f"counts must be in [0, {sum(sizes)}]; got {total}")
    s_all = np.concatenate(flat_s) if flat_s else np.zeros(0)
    # ties: earlier layer first, then lower flat index, which is the concatenation's order
    dropped = np.zeros(s_all.size, dtype=bool)
    dropped[lowest(s_all, total)] = True
    start = 0
    for n, idx in zip(names, flat_idx):
        d = idx[dropped[start:start + idx.size]]
        start += idx.size
        out[n].reshape(-1)[torch.from_numpy(d).to(out[n].device)] = 0
    return out


def _warm_states(previous: Any) -> dict[str, Any]:
    if previous is None:
        return {}
    if isinstance(previous, PruneResult):
        return dict(previous.states)
    layers = getattr(previous, "layers", None)  # a Census
    if layers is not None:
        return {lc.name: lc.mask.state for lc in layers}
    raise TypeError(f"previous must be a PruneResult or a Census; got {type(previous).__name__}")


def prune_step(
    model: nn.Module,
    method: str,
    rates: PruneRates | float = PruneRates(),
    *,
    bound: bool = False,
    allocation: str = "layerwise",
    batches: Any = None,
    input_shape: Any = None,
    seed: int = 0,
    levels: int | None = None,
    collapse: str = "average",
    scope: str = "largest",
    solver: str = "auto",
    exclude: Iterable[str] = (),
    synflow_steps: int = 100,
    previous: Any = None,
    loss_fn: Any = None,
    train_mode: bool | None = None,
    rules: tuple[str, ...] = SPECTRAL_RULES,
    first_k: int = 1,
    reject_rate: float | None = None,
) -> PruneResult:
    """Score the model, choose new masks and apply them.

    Parameters
    ----------
    method
        ``"magnitude"``, ``"random"`` (``seed``), ``"snip"``, ``"grasp"`` (``batches``: an
        iterable of ``(x, y)``), ``"synflow"`` (``input_shape`` with the batch dimension).
    rates
        :class:`PruneRates` by role, or one fraction for every layer.
    bound
        Run Algorithm 1 per layer (``levels``, ``collapse``, ``scope``, ``solver``) at the
        layer's rate; with ``global``/``erk`` a layer's rate is its share of the plain
        allocation. Plain SynFlow iterates its score over ``synflow_steps`` steps of an
        exponential schedule; bounded SynFlow scores once (Algorithm 1 makes its own steps).
        ``synflow_steps=1`` scores plain SynFlow once per step too (docs/bounded-pruning.md).
    rules, first_k
        With ``bound``: the spectral tests and the first level of
        :func:`bipartite_expanders.bounded_sparsify` (defaults: Algorithm 1, ``p/2`` first).
    reject_rate
        With ``bound``: the random-rejection control instead of the spectral test. Each layer
        step is refused with probability ``reject_rate`` (a generator seeded by ``seed`` and the
        layer's position); otherwise the layer gets the bound's first candidate (``p / 2**first_k``)
        unless it collapses (the same degree guard), without any spectral test. Its decisions
        say ``reason="random_rejection"`` for a refusal.
    exclude
        Layer names left untouched (e.g. the first and the last layer).
    previous
        The previous step's :class:`PruneResult` (or a census) to warm-start the solvers.
    train_mode
        Train or eval mode while SNIP / GraSP score (None: SNIP eval, GraSP train, as the
        methods' reference implementations do).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> torch.manual_seed(0) and None
    >>> m = nn.Sequential(nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 4))
    >>> r = prune_step(m, "magnitude", PruneRates(p_fc=0.5, p_out=0.25))
    >>> r.removed, r.changed
    ({'0': 100, '2': 10}, True)
    """
    if method not in SCORE_METHODS:
        raise ValueError(f"method must be one of {SCORE_METHODS}; got {method!r}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}; got {allocation!r}")
    if isinstance(synflow_steps, bool) or not isinstance(synflow_steps, int) or synflow_steps < 1:
        raise ValueError(f"synflow_steps must be a positive int; got {synflow_steps!r}")
    if reject_rate is not None and (isinstance(reject_rate, bool) or not isinstance(reject_rate, (int, float))
                                    or not 0.0 <= float(reject_rate) <= 1.0):
        raise ValueError(f"reject_rate must be None or a number in [0, 1]; got {reject_rate!r}")
    if not bound and (reject_rate is not None or tuple(rules) != SPECTRAL_RULES or first_k != 1):
        raise ValueError("rules, first_k and reject_rate apply to bounded pruning only (bound=True)")
    layers = prunable_layers(model)
    if not layers:
        raise ValueError("model has no prunable layers")
    excluded = set(exclude)
    unknown = sorted(excluded - set(layers))
    if unknown:
        raise ValueError(f"exclude names layers the model does not have: {unknown[:5]}")
    ensure_masks(model)
    roles = layer_roles(model)
    active = [n for n in layers if n not in excluded]
    before = get_masks(model)
    masks = {n: before[n] for n in active}
    plan = allocate(masks, roles, rates, allocation)
    decisions: dict[str, dict[str, Any]] | None = None
    states: dict[str, Any] = {}

    if method == "synflow" and not bound and synflow_steps > 1:
        if input_shape is None:
            raise ValueError("input_shape must be given for method='synflow', e.g. (1, 3, 32, 32)")
        scores = _iterated_synflow(model, masks, plan, input_shape, synflow_steps)
    else:
        scores = compute_scores(model, method, batches=batches, input_shape=input_shape, seed=seed, loss_fn=loss_fn,
                                train_mode=train_mode)
        if not bound:
            apply_masks(model, select_masks(masks, scores, plan))
        else:
            _check_scores(scores, masks)
            kept = {n: int((m != 0).sum()) for n, m in masks.items()}
            if isinstance(plan, int):  # global: each layer's share of the global choice
                chosen = select_masks(masks, scores, plan)
                plan = {n: kept[n] - int((chosen[n] != 0).sum()) for n in active}
            warm = _warm_states(previous)
            decisions, new = {}, {}
            for i, n in enumerate(active):
                rate = roles_rate(rates, roles[n]) if allocation == "layerwise" else (plan[n] / kept[n] if kept[n] else 0.0)
                mod = layers[n]
                if reject_rate is not None and _refused(seed, i, float(reject_rate)):
                    decisions[n] = _random_rejection(rate, kept[n], first_k, float(reject_rate), scope, collapse)
                    new[n] = masks[n]
                    continue
                flat = torch.arange(mod.weight_orig.numel(), dtype=torch.float64).reshape(mod.weight_orig.shape)
                control = reject_rate is not None  # the first candidate under the guard, no spectral test
                res = bounded_sparsify(
                    layer_graph(mod, "mask"), unfold(mod, scores[n]), rate,
                    levels=max(first_k, 1) if control else levels, collapse=collapse, scope=scope, solver=solver,
                    tiebreak=unfold(mod, flat), v0=warm.get(n), rules=() if control else tuple(rules), first_k=first_k,
                )
                decisions[n] = res.decision.to_dict()
                if control:
                    decisions[n]["reject_rate"] = float(reject_rate)
                states[n] = res.state
                new[n] = fold(mod, res.mask)
            apply_masks(model, new)
    after = get_masks(model)
    removed = {n: int((before[n] != 0).sum() - (after[n] != 0).sum()) for n in layers}
    return PruneResult(after, scores, decisions, any(v > 0 for v in removed.values()), removed, states)


def _refused(seed: int, layer: int, reject_rate: float) -> bool:
    """The random-rejection control's coin for one layer step: a generator seeded by the step's
    ``seed`` (the runner passes one per run seed and round) and the layer's position."""
    return bool(np.random.default_rng([abs(int(seed)), int(layer), 0x5EED]).random() < reject_rate)


def _random_rejection(rate: float, n_edges: int, first_k: int, reject_rate: float, scope: str,
                      collapse: str) -> dict[str, Any]:
    """The decision record of a layer step the random-rejection control refused (the keys of
    :meth:`bipartite_expanders.SparsifyDecision.to_dict`)."""
    return {"reason": "random_rejection", "accepted": False, "k": None, "rule": None, "rate": rate,
            "applied_rate": 0.0, "levels": max(first_k, 1), "collapse": collapse, "scope": scope, "n_edges_before": n_edges,
            "n_edges_after": n_edges, "n_removed": 0, "first_k": first_k, "rules": [], "candidates": [],
            "reject_rate": reject_rate}


def roles_rate(rates: PruneRates | float, role: str) -> float:
    """The rate a role gets from ``rates`` (a :class:`PruneRates` or one number)."""
    return _rates(rates).for_role(role)


def _iterated_synflow(
    model: nn.Module,
    masks: dict[str, torch.Tensor],
    plan: dict[str, int] | int,
    input_shape: Any,
    steps: int,
) -> dict[str, torch.Tensor]:
    """SynFlow over an exponential schedule: after step ``s`` of ``S`` a layer (or, globally,
    the network) keeps ``kept0 * (final / kept0) ** (s / S)`` weights, rescoring each step."""
    kept0 = {n: int((m != 0).sum()) for n, m in masks.items()}
    names = list(masks)
    scores: dict[str, torch.Tensor] = {}
    for s in range(1, steps + 1):
        frac = s / steps
        scores = synflow(model, input_shape)
        current = {n: m for n, m in get_masks(model).items() if n in masks}
        now = {n: int((current[n] != 0).sum()) for n in names}
        if isinstance(plan, int):
            total0 = sum(kept0.values())
            target = _schedule(total0, total0 - plan, frac)
            counts: dict[str, int] | int = max(0, sum(now.values()) - target)
        else:
            counts = {n: max(0, now[n] - _schedule(kept0[n], kept0[n] - plan[n], frac)) for n in names}
        apply_masks(model, select_masks(current, scores, counts))
    return scores


def _schedule(start: int, final: int, frac: float) -> int:
    if frac >= 1 or start == 0:
        return final
    return int(round(start * (final / start) ** frac))
