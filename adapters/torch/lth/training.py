"""Training and evaluation of one round: a seeded, deterministic loop over iterations.

The data order is a function of the seed and the iteration index alone (epoch ``e`` is a
permutation drawn from a generator seeded by ``(seed, e)``; the last incomplete batch is dropped), so
a round that restarts at the rewind iteration ``k`` sees exactly the batches ``k, k+1, ...`` that an
uninterrupted run would, and a resumed run gives the same numbers as an uninterrupted one.

>>> import torch
>>> from bipartite_expanders.adapters.torch.lth.models import build_model
>>> from bipartite_expanders.adapters.torch.lth.hparams import TrainingHparams
>>> x, y = torch.randn(120, 1, 8, 8), torch.arange(120) % 10
>>> m = build_model("lenet300", input_shape=(1, 8, 8))
>>> r = train(m, x, y, TrainingHparams(iterations=5, batch_size=30), seed=0, progress=False)
>>> r.iterations, 0.0 <= evaluate(m, x, y)[0] <= 1.0
(5, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .hparams import TrainingHparams

__all__ = ["TrainResult", "train", "evaluate", "make_optimizer", "batch_indices"]


@dataclass
class TrainResult:
    """What one call of :func:`train` did; ``rewind_state`` is the state captured at ``capture_at``."""

    iterations: int
    train_loss: float
    seconds: float
    rewind_state: dict[str, torch.Tensor] | None = None


def make_optimizer(model: nn.Module, hp: TrainingHparams) -> torch.optim.Optimizer:
    """Adam or SGD per ``hp``; the fused kernels where torch has them (about twice as fast on CPU)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if hp.optimizer == "adam":
        cls, kw = torch.optim.Adam, {"lr": hp.lr, "weight_decay": hp.weight_decay}
    else:
        cls, kw = torch.optim.SGD, {"lr": hp.lr, "momentum": hp.momentum, "weight_decay": hp.weight_decay}
    try:
        return cls(params, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device / dtype / version
        return cls(params, **kw)


def _epoch_order(n: int, epoch: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def batch_indices(n: int, batch_size: int, iteration: int, seed: int,
                  _cache: dict[tuple[int, int, int], torch.Tensor] | None = None) -> torch.Tensor:
    """The training-set indices of batch ``iteration`` (deterministic in ``seed`` and ``iteration``)."""
    per_epoch = n // batch_size
    if per_epoch < 1:
        raise ValueError(f"batch_size ({batch_size}) must not exceed the training set size ({n})")
    epoch, j = divmod(int(iteration), per_epoch)
    key = (n, epoch, int(seed))
    if _cache is None:
        order = _epoch_order(n, epoch, seed)
    else:
        if key not in _cache:
            _cache.clear()  # one epoch at a time
            _cache[key] = _epoch_order(n, epoch, seed)
        order = _cache[key]
    return order[j * batch_size:(j + 1) * batch_size]


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, hp: TrainingHparams, *, seed: int = 0,
          start_iter: int = 0, capture_at: int | None = None,
          capture: Callable[[nn.Module], dict[str, torch.Tensor]] | None = None,
          progress: bool = True, desc: str = "train") -> TrainResult:
    """Train ``model`` in place on ``(x, y)`` for iterations ``start_iter .. hp.iterations - 1``.

    ``capture(model)`` is called before iteration ``capture_at`` (or after the last one when
    ``capture_at == hp.iterations``), e.g. to save the rewind point. A fresh optimiser is built at
    ``start_iter``: every round restarts from the rewound weights with a fresh optimiser, as in
    OpenLTH.
    """
    from tqdm.auto import tqdm

    if not (0 <= start_iter <= hp.iterations):
        raise ValueError(f"start_iter must be in [0, {hp.iterations}], got {start_iter!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    t0 = time.perf_counter()
    opt = make_optimizer(model, hp)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    state = None
    loss_sum, loss_n = 0.0, 0
    cache: dict[tuple[int, int, int], torch.Tensor] = {}
    bar = tqdm(range(start_iter, hp.iterations), desc=desc, leave=False, disable=not progress,
               mininterval=2.0, unit="it")
    for it in bar:
        if capture is not None and it == capture_at:
            state = capture(model)
        idx = batch_indices(len(x), hp.batch_size, it, seed, cache)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        if it >= hp.iterations - 100:  # the mean over the last 100 iterations
            loss_sum += float(loss.detach())
            loss_n += 1
    if capture is not None and capture_at == hp.iterations:
        state = capture(model)
    bar.close()
    return TrainResult(hp.iterations - start_iter, loss_sum / max(loss_n, 1), time.perf_counter() - t0, state)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy)`` of ``model`` on ``(x, y)`` in eval mode."""
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(x), batch_size):
        out = model(x[i:i + batch_size])
        yy = y[i:i + batch_size]
        correct += int((out.argmax(1) == yy).sum())
        loss += float(nn.functional.cross_entropy(out, yy, reduction="sum"))
    model.train(was_training)
    n = max(len(x), 1)
    return correct / n, loss / n
