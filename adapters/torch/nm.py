"""N:M masks of Linear layers and the Ramanujan lens on them (docs/llm-pruning.md).

An N:M mask along the input dimension keeps ``N`` of every ``M`` consecutive inputs of each
output. Its layer graph (left = inputs, right = outputs, ``B = mask.T``) is right-regular by
construction: every output keeps ``N in / M`` inputs.

* :func:`nm_mask`: the score's N:M choice (top ``N`` of each group).
* :func:`bound_respecting_nm`: among the N:M masks within a near-tie of the score's choice,
  one whose layer graph is Ramanujan (the study's rule ``max(delta_s, delta_r) >= 0``), found by
  swaps inside groups that lower ``t2`` to first order; reports whether the score's own mask
  already was.
* :func:`ramanujan_nm_masks`: certified Ramanujan N:M masks for a model's Linears, from
  :func:`bipartite_expanders.generators.ramanujan_nm`, with their certificates.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from bipartite_expanders import BipartiteGraph, ramanujan_report, top_singular_values
from bipartite_expanders.generators import RamanujanGraph, ramanujan_nm

from .layers import prunable_layers

__all__ = ["parse_pattern", "nm_mask", "is_nm", "mask_graph", "NMSelection", "bound_respecting_nm", "NMMasks",
           "ramanujan_nm_masks"]


def parse_pattern(pattern: str | tuple[int, int]) -> tuple[int, int] | None:
    """``"unstructured"`` -> None; ``"2:4"`` or ``(2, 4)`` -> ``(2, 4)`` (keep N of every M).

    >>> parse_pattern("2:4"), parse_pattern("unstructured")
    ((2, 4), None)
    """
    if isinstance(pattern, str):
        if pattern == "unstructured":
            return None
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", pattern)
        if not match:
            raise ValueError(f"pattern must be 'unstructured' or 'N:M' such as '2:4'; got {pattern!r}")
        n, m = int(match.group(1)), int(match.group(2))
    elif isinstance(pattern, tuple) and len(pattern) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in pattern):
        n, m = pattern
    else:
        raise ValueError(f"pattern must be 'unstructured', 'N:M' or a pair (N, M); got {pattern!r}")
    if not 1 <= n <= m:
        raise ValueError(f"pattern {n}:{m}: need 1 <= N <= M")
    return n, m


def nm_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep-mask with the ``n`` highest scores of every ``m`` consecutive inputs of each row
    (ties to the lower index).

    >>> nm_mask(torch.tensor([[4., 1., 3., 2., 0., 5., 5., 1.]]), 2, 4).int().tolist()
    [[1, 0, 1, 0, 0, 1, 1, 0]]
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-d (out, in); got shape {tuple(scores.shape)}")
    parse_pattern((n, m))
    rows, cols = scores.shape
    if cols % m:
        raise ValueError(f"in_features = {cols} is not a multiple of M = {m}")
    if not torch.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    groups = scores.reshape(rows, cols // m, m)
    order = torch.sort(-groups, dim=2, stable=True).indices[..., :n]
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(2, order, True)
    return keep.reshape(rows, cols)


def is_nm(mask: torch.Tensor, n: int, m: int) -> bool:
    """Whether every row keeps exactly ``n`` of each ``m`` consecutive inputs.

    >>> is_nm(torch.tensor([[1, 0, 0, 1]], dtype=torch.bool), 2, 4)
    True
    """
    rows, cols = mask.shape
    if cols % m:
        return False
    return bool((mask.reshape(rows, cols // m, m).sum(2) == n).all())


def mask_graph(mask: torch.Tensor) -> BipartiteGraph:
    """The layer graph of a Linear keep-mask ``(out, in)``: ``B = mask.T`` (inputs x outputs)."""
    coo = np.nonzero(mask.detach().cpu().numpy().T)
    B = sp.csr_array((np.ones(coo[0].size), coo), shape=(mask.shape[1], mask.shape[0]))
    return BipartiteGraph(B)


@dataclass(frozen=True)
class NMSelection:
    """The outcome of :func:`bound_respecting_nm` for one layer: ``already`` (the score's own
    N:M mask was Ramanujan), ``ramanujan`` (the returned mask is), ``swaps`` made, ``t2_before``,
    ``t2_after``, and ``score_cost``: the kept score given up, relative to the score's choice."""

    already: bool
    ramanujan: bool
    swaps: int
    t2_before: float
    t2_after: float
    score_cost: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def bound_respecting_nm(keep: torch.Tensor, scores: torch.Tensor, n: int, m: int, *, tol: float = 0.05,
                        max_rounds: int = 60) -> tuple[torch.Tensor, NMSelection]:
    """Move an N:M mask to a Ramanujan layer graph through near-tied choices only.

    A *near-tied* swap, inside one group of ``m`` inputs of one output, drops a kept input ``a``
    for a dropped input ``b`` with ``score_b >= (1 - tol) score_a``. While the mask graph is not
    Ramanujan (``max(delta_s, delta_r) < 0``), each round applies, in the groups with an allowed
    swap, the swaps that lower ``t2 ~ u^T B v`` most to first order (``(u_b - u_a) v_out`` with the
    second singular pair ``u, v``), keeps the batch when ``t2`` went down (else halves it), and
    stops when Ramanujan, out of swaps, or after ``max_rounds``. The mask stays N:M throughout.

    >>> torch.manual_seed(0) and None
    >>> s = torch.rand(16, 16)
    >>> k2, info = bound_respecting_nm(nm_mask(s, 2, 4), s, 2, 4)
    >>> is_nm(k2, 2, 4), info.ramanujan
    (True, True)
    """
    if keep.shape != scores.shape:
        raise ValueError(f"keep {tuple(keep.shape)} and scores {tuple(scores.shape)} differ in shape")
    if not is_nm(keep, n, m):
        raise ValueError(f"keep is not an {n}:{m} mask")
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise ValueError(f"tol must be in [0, 1); got {tol!r}")
    rows, cols = keep.shape
    groups = cols // m
    s = scores.detach().to(torch.float64).reshape(rows, groups, m).numpy()
    k = keep.detach().cpu().numpy().reshape(rows, groups, m).copy()
    base_score = float((s * k).sum())
    rep = ramanujan_report(mask_graph(torch.from_numpy(k.reshape(rows, cols))), weighted=False,
                           universal_cover=False)
    t2_before = rep.t2
    already = rep.is_ramanujan
    # pairs (a kept, b dropped) in each group that are near-tied
    a_idx, b_idx = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    a_idx, b_idx = a_idx.ravel(), b_idx.ravel()
    swaps = 0
    batch = max(1, rows * groups // 50)
    state = rep.state
    t2 = rep.t2
    for _ in range(max_rounds):
        if rep.is_ramanujan:
            break
        B = mask_graph(torch.from_numpy(k.reshape(rows, cols))).matrix
        res = top_singular_values(B, 2, full_output=True, v0=state)
        u, v = res.left_vectors[:, 1], res.right_vectors[:, 1]
        uu = u.reshape(groups, m)
        sa, sb = s[:, :, a_idx], s[:, :, b_idx]
        ok = k[:, :, a_idx] & ~k[:, :, b_idx] & (sb >= (1.0 - tol) * sa)
        gain = (uu[None, :, b_idx] - uu[None, :, a_idx]) * v[:, None, None]  # first-order change of t2
        gain = np.where(ok, gain, np.inf)
        best = gain.argmin(axis=2)
        best_gain = np.take_along_axis(gain, best[..., None], axis=2)[..., 0]
        cand = np.flatnonzero(best_gain.ravel() < 0)
        if cand.size == 0:
            break
        cand = cand[np.argsort(best_gain.ravel()[cand], kind="stable")][:batch]
        trial = k.copy()
        r_i, g_i = np.unravel_index(cand, (rows, groups))
        pair = best[r_i, g_i]
        trial[r_i, g_i, a_idx[pair]] = False
        trial[r_i, g_i, b_idx[pair]] = True
        new = ramanujan_report(mask_graph(torch.from_numpy(trial.reshape(rows, cols))), weighted=False,
                               universal_cover=False, v0=res)
        if new.t2 < t2 or new.is_ramanujan:
            k, rep, t2, state, swaps = trial, new, new.t2, new.state, swaps + cand.size
        elif batch == 1:
            break
        else:
            batch = max(1, batch // 2)
    out = torch.from_numpy(k.reshape(rows, cols)).to(keep.device)
    cost = 1.0 - float((s * k).sum()) / base_score if base_score > 0 else 0.0
    return out, NMSelection(already=already, ramanujan=rep.is_ramanujan, swaps=int(swaps), t2_before=float(t2_before),
                            t2_after=float(rep.t2), score_cost=cost)


@dataclass(frozen=True)
class NMMasks:
    """Certified N:M masks by layer name (bool, the weight's shape) with each layer's
    :class:`~bipartite_expanders.generators.RamanujanGraph` certificate."""

    pattern: str
    masks: dict[str, torch.Tensor]
    certificates: dict[str, RamanujanGraph]

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "layers": {n: c.to_dict() for n, c in self.certificates.items()}}


def ramanujan_nm_masks(model: nn.Module, pattern: str | tuple[int, int] = "2:4", *, seed: int = 0,
                       layers: Iterable[str] | None = None, max_tries: int = 10) -> NMMasks:
    """A certified Ramanujan N:M keep-mask for each ``nn.Linear`` (all, or ``layers``), for sparse
    training from initialisation or as fixed one-shot masks; the seed of a layer depends on its
    name. Raises :class:`~bipartite_expanders.generators.RamanujanSearchError` (naming no layer)
    or ``ValueError`` when a layer's ``in_features`` is not a multiple of M.

    >>> from torch import nn
    >>> res = ramanujan_nm_masks(nn.Sequential(nn.Linear(16, 12)), "2:4")
    >>> res.masks["0"].shape, res.certificates["0"].t2 <= res.certificates["0"].bound
    (torch.Size([12, 16]), True)
    """
    nm = parse_pattern(pattern)
    if nm is None:
        raise ValueError("ramanujan_nm_masks needs an N:M pattern, not 'unstructured'")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer; got {seed!r}")
    linear = {k: v for k, v in prunable_layers(model).items() if isinstance(v, nn.Linear)}
    names = list(linear) if layers is None else list(layers)
    unknown = [x for x in names if x not in linear]
    if unknown:
        raise ValueError(f"layers: not nn.Linear layers of the model: {unknown[:5]}")
    masks, certs = {}, {}
    for name in names:
        out_f, in_f = linear[name].weight.shape
        layer_seed = int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])
        try:
            cert = ramanujan_nm(in_f, out_f, nm[0], nm[1], seed=layer_seed, max_tries=max_tries)
        except ValueError as exc:
            raise ValueError(f"layer {name!r}: {exc}") from None
        masks[name] = torch.from_numpy(cert.graph.matrix.toarray().T != 0)
        certs[name] = cert
    return NMMasks(f"{nm[0]}:{nm[1]}", masks, certs)
