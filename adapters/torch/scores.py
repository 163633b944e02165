"""Pruning scores: pure functions ``model (+ data) -> {layer name: tensor like the weight}``.

Higher is more important; pruning removes the lowest scores among the weights still present
(entries already pruned are excluded from every ranking by the pruners, whatever their score:
iterated SNIP in the Synaptic-Flow code revives weights because it ranks them).

* :func:`magnitude`: ``|W * mask|``.
* :func:`random`: i.i.d. uniform [0, 1) from a seeded generator.
* :func:`snip`: ``|dL/d(w*m) * w|`` summed over the given batches (the gradient with respect
  to the mask), divided by the sum over all layers' entries.
* :func:`grasp`: ``theta * (H g)`` with the loss at temperature 200; lowest pruned (this
  removes the weights GraSP's paper removes, the highest ``-theta * H g``).
* :func:`synflow`: ``|dR/dtheta * theta|`` with every parameter and buffer made absolute,
  an all-ones input, ``R`` the sum of the outputs, eval mode, float64; the model's values,
  dtypes, gradients and mode are restored afterwards.

Each function leaves the model as it found it: values, masks, gradients, buffers, mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .layers import prunable_layers
from .masks import is_masked, refresh_weights

__all__ = ["SCORE_METHODS", "magnitude", "random", "snip", "grasp", "synflow", "compute_scores"]

SCORE_METHODS = ("magnitude", "random", "snip", "grasp", "synflow")


def _weight_param(mod: nn.Module) -> torch.Tensor:
    return mod.weight_orig if is_masked(mod) else mod.weight


def _mask(mod: nn.Module) -> torch.Tensor:
    return mod.weight_mask if is_masked(mod) else torch.ones_like(mod.weight)


def _layers(model: nn.Module) -> dict[str, nn.Module]:
    layers = prunable_layers(model)
    if not layers:
        raise ValueError("model has no prunable layers (nn.Linear / nn.Conv1d/2d/3d)")
    return dict(layers)


@contextlib.contextmanager
def _preserved(model: nn.Module, mode: bool | None) -> Iterator[None]:
    """Restore every parameter's and buffer's value, dtype and gradient, and the training
    mode, on exit. ``mode``: True/False sets train/eval inside, None keeps it."""
    was_training = model.training
    params = list(model.named_parameters())
    saved_p = [(p, p.data, p.grad, p.requires_grad) for _, p in params]
    saved_b = [(mod, name, buf) for mod in model.modules() for name, buf in mod._buffers.items() if buf is not None]
    saved_b_values = [buf.detach().clone() for _, _, buf in saved_b]
    try:
        if mode is not None:
            model.train(mode)
        for p, *_ in saved_p:
            p.grad = None
        yield
    finally:
        for p, data, grad, req in saved_p:
            p.data = data
            p.grad = grad
            p.requires_grad_(req)
        with torch.no_grad():
            for (mod, name, buf), value in zip(saved_b, saved_b_values):
                mod._buffers[name] = buf
                buf.copy_(value)
        model.train(was_training)
        refresh_weights(model)


def magnitude(model: nn.Module) -> dict[str, torch.Tensor]:
    """``|W * mask|`` per prunable layer.

    >>> from torch import nn
    >>> s = magnitude(nn.Linear(3, 2)); list(s), s[""].shape
    ([''], torch.Size([2, 3]))
    """
    return {n: (_weight_param(m) * _mask(m)).detach().abs().clone() for n, m in _layers(model).items()}


def random(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Uniform [0, 1) scores from ``torch.Generator().manual_seed(seed)``, layer by layer in
    :func:`prunable_layers` order (the same seed gives the same scores)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    gen = torch.Generator().manual_seed(seed)
    return {
        n: torch.rand(tuple(_weight_param(m).shape), generator=gen, dtype=torch.float64).to(_weight_param(m).device)
        for n, m in _layers(model).items()
    }


def _batch_list(batches: Any, name: str = "batches") -> Sequence[Any]:
    if batches is None:
        raise ValueError(f"{name} must be an iterable of (inputs, targets) batches; got None")
    if isinstance(batches, tuple) and len(batches) == 2 and isinstance(batches[0], torch.Tensor):
        return [batches]  # a single (x, y) pair
    if iter(batches) is batches:  # a one-shot iterator: keep it for several passes
        batches = list(batches)
    return batches


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def snip(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    train_mode: bool = False,
) -> dict[str, torch.Tensor]:
    """SNIP: ``|dL/d(w*m) * w|`` summed over ``batches``, normalised by its sum over all layers.

    The gradient is taken with respect to the mask ``m`` at its current value
    (``dL/dm = dL/d(w*m) * w``), so an already-pruned entry gets the score it would have if
    restored; the pruners exclude such entries from ranking. ``train_mode`` (default False)
    runs the forward in eval mode, as SNIP's reference code does (namhoonlee/snip-public,
    ``snip/prune.py``, feeds ``is_train: False`` when it computes the sensitivities); True scores in train mode (BatchNorm on batch
    statistics, dropout on). Buffers (BatchNorm statistics) are restored afterwards.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    layers = _layers(model)
    batches = _batch_list(batches)
    dev = _device(model)
    with _preserved(model, train_mode):
        gates: dict[str, torch.Tensor] = {}
        override: dict[str, torch.Tensor] = {}
        for n, mod in layers.items():
            if is_masked(mod):
                # torch's pre-hook computes weight = weight_orig * weight_mask from the swapped mask
                gates[n] = mod.weight_mask.detach().clone().requires_grad_(True)
                override[_key(n, "weight_mask")] = gates[n]
            else:
                gates[n] = torch.ones_like(mod.weight).requires_grad_(True)
        totals = {n: torch.zeros_like(g) for n, g in gates.items()}
        n_batches = 0
        for x, y in batches:
            for n, mod in layers.items():
                if not is_masked(mod):  # rebuilt per batch: the product is a fresh graph node
                    override[_key(n, "weight")] = mod.weight.detach() * gates[n]
            out = torch.func.functional_call(model, override, (x.to(dev),))
            grads = torch.autograd.grad(loss_fn(out, y.to(dev)), list(gates.values()))
            for n, g in zip(gates, grads):
                totals[n] += g
            n_batches += 1
        if n_batches == 0:
            raise ValueError("batches must hold at least one (inputs, targets) batch")
    scores = {n: t.abs() for n, t in totals.items()}
    norm = sum(float(s.sum()) for s in scores.values())
    if norm > 0:
        scores = {n: s / norm for n, s in scores.items()}
    return scores


def _key(layer: str, attr: str) -> str:
    return f"{layer}.{attr}" if layer else attr


def grasp(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    temperature: float = 200.0,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    train_mode: bool = True,
) -> dict[str, torch.Tensor]:
    """GraSP: ``theta * (H g)`` per weight, ``theta = w * m``; the lowest are pruned.

    ``g`` is the gradient of the loss at ``temperature`` (logits / T) summed over ``batches``
    and held fixed; ``H g`` is the gradient of ``g . grad L`` (a Hessian-gradient product).
    ``train_mode`` (default True) scores in train mode, as GraSP's reference code does
    (alecwangcq/GraSP, ``pruner/GraSP.py``, scores a fresh network, which is in train mode; the
    ``.eval()`` on its copy is commented out); False scores in eval mode.
    """
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number; got {temperature!r}")
    loss_fn = loss_fn or nn.functional.cross_entropy
    layers = _layers(model)
    batches = _batch_list(batches)
    dev = _device(model)
    with _preserved(model, train_mode):
        weights = [_weight_param(m).requires_grad_(True) for m in layers.values()]
        g = [torch.zeros_like(w) for w in weights]
        n_batches = 0
        for x, y in batches:
            loss = loss_fn(model(x.to(dev)) / temperature, y.to(dev))
            for acc, gi in zip(g, torch.autograd.grad(loss, weights)):
                acc += gi
            n_batches += 1
        if n_batches == 0:
            raise ValueError("batches must hold at least one (inputs, targets) batch")
        hg = [torch.zeros_like(w) for w in weights]
        for x, y in batches:
            loss = loss_fn(model(x.to(dev)) / temperature, y.to(dev))
            grads = torch.autograd.grad(loss, weights, create_graph=True)
            z = sum((gi * gfix).sum() for gi, gfix in zip(grads, g))
            for acc, h in zip(hg, torch.autograd.grad(z, weights)):
                acc += h
        out = {}
        for (n, mod), w, h in zip(layers.items(), weights, hg):
            out[n] = (w.detach() * _mask(mod) * h).detach().clone()
    return out


def synflow(model: nn.Module, input_shape: Sequence[int]) -> dict[str, torch.Tensor]:
    """SynFlow: ``|dR/dtheta * theta|`` with ``theta = |w * m|``.

    Every parameter and buffer is made absolute and float64, the model is put in eval mode,
    ``R = sum(model(ones(input_shape)))``; everything is restored afterwards.
    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 32, 32)`` or ``(1, 784)``.
    """
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be positive sizes, batch first; got {tuple(input_shape)!r}")
    layers = _layers(model)
    dev = _device(model)
    with _preserved(model, False):
        with torch.no_grad():
            for p in model.parameters():
                p.data = p.data.abs().double()
            for mod in model.modules():
                for name, buf in mod._buffers.items():
                    if buf is not None and buf.is_floating_point():
                        mod._buffers[name] = buf.abs().double()
        weights = [_weight_param(m) for m in layers.values()]
        flags = [w.requires_grad for w in weights]
        for w in weights:
            w.requires_grad_(True)
        R = model(torch.ones(shape, dtype=torch.float64, device=dev)).sum()
        grads = torch.autograd.grad(R, weights)
        for w, f in zip(weights, flags):
            w.requires_grad_(f)
        out = {}
        for (n, mod), w, g in zip(layers.items(), weights, grads):
            theta = (w.detach() * _mask(mod)).abs()
            out[n] = (g * theta).abs().detach().clone()
    return out


def compute_scores(model: nn.Module, method: str, *, batches: Any = None, input_shape: Any = None, seed: int = 0,
                   loss_fn: Any = None, train_mode: bool | None = None) -> dict[str, torch.Tensor]:
    """Dispatch by name: ``method`` in :data:`SCORE_METHODS`. ``train_mode`` (SNIP, GraSP; None =
    each method's default: SNIP eval, GraSP train, as their reference implementations)."""
    mode = {} if train_mode is None else {"train_mode": bool(train_mode)}
    if method == "magnitude":
        return magnitude(model)
    if method == "random":
        return random(model, seed)
    if method == "snip":
        return snip(model, batches, loss_fn, **mode)
    if method == "grasp":
        return grasp(model, batches, loss_fn=loss_fn, **mode)
    if method == "synflow":
        if input_shape is None:
            raise ValueError("input_shape must be given for method='synflow', e.g. (1, 3, 32, 32)")
        return synflow(model, input_shape)
    raise ValueError(f"method must be one of {SCORE_METHODS}; got {method!r}")
