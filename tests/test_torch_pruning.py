"""Pruning steps: exact counts, allocations, tie-breaks, no revival, SynFlow schedule, bounded steps; census."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch import (  # noqa: E402
    PruneRates,
    allocate,
    census,
    erk_targets,
    get_masks,
    layer_graph,
    prune_step,
    select_masks,
)
from bipartite_expanders import BipartiteGraph, ramanujan_report, removal_count  # noqa: E402

torch.set_num_threads(1)


def lenet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 4))


def convnet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * 36, 12), nn.ReLU(), nn.Linear(12, 3))


def batches(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(n)]


def kept(masks):
    return {n: int((m != 0).sum()) for n, m in masks.items()}


@pytest.mark.parametrize("method", ["magnitude", "random", "snip", "grasp", "synflow"])
def test_iterated_pruning_never_revives_and_counts_are_exact(method):
    model = convnet()
    rates = PruneRates(p_conv=0.3, p_fc=0.25, p_out=0.1)
    roles = {"0": "conv", "2": "conv", "5": "fc", "7": "output"}
    prev = get_masks(model)
    for _ in range(4):
        res = prune_step(model, method, rates, batches=batches(), input_shape=(1, 1, 6, 6), seed=3, synflow_steps=3)
        now = get_masks(model)
        for n in now:
            assert torch.all(now[n] <= prev[n])  # a pruned weight never comes back
            assert kept(prev)[n] - kept(now)[n] == removal_count(kept(prev)[n], rates.for_role(roles[n]))
            assert torch.equal(res.masks[n], now[n])
        prev = now


def test_layerwise_removes_lowest_scores_with_flat_index_tiebreak():
    masks = {"a": torch.ones(2, 3), "b": torch.tensor([[1.0, 0.0], [1.0, 1.0]])}
    scores = {"a": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), "b": torch.tensor([[5.0, -9.0], [5.0, 5.0]])}
    out = select_masks(masks, scores, {"a": 3, "b": 1})
    # a: the two zeros, then the first 1.0 by flat index; b: the pruned -9 is never ranked
    assert out["a"].tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    assert out["b"].tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_global_ranking_and_ties_across_layers():
    masks = {"a": torch.ones(2, 2), "b": torch.ones(2, 2)}
    scores = {"a": torch.tensor([[3.0, 1.0], [2.0, 2.0]]), "b": torch.tensor([[2.0, 0.5], [4.0, 2.0]])}
    out = select_masks(masks, scores, 4)
    # 0.5 (b), 1.0 (a), then the 2.0s: a[1,0], a[1,1] (earlier layer first)
    assert out["a"].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert out["b"].tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_global_step_exact_total():
    model = lenet()
    before = kept(get_masks(model))
    res = prune_step(model, "magnitude", 0.4, allocation="global")
    assert sum(before.values()) - sum(kept(res.masks).values()) == removal_count(sum(before.values()), 0.4)
    # every kept magnitude >= every removed one
    w = {n: res.scores[n] for n in res.masks}
    kept_min = min(float(w[n][res.masks[n] != 0].min()) for n in w)
    removed_max = max(float(w[n][res.masks[n] == 0].max()) for n in w if (res.masks[n] == 0).any())
    assert kept_min >= removed_max
    # PruneRates with global: the same total the layer-wise rates remove
    r = PruneRates(0.2, 0.2, 0.1)
    roles = {"1": "fc", "3": "fc", "5": "output"}
    assert allocate(get_masks(model), roles, r, "global") == sum(allocate(get_masks(model), roles, r, "layerwise").values())


def test_erk_allocation():
    masks = {"big": torch.ones(64, 64), "small": torch.ones(4, 8), "mid": torch.ones(16, 32)}
    t = erk_targets(masks, 1500)
    assert sum(t.values()) == 1500
    assert t["small"] == 32  # capped: ERK would give it more than it has
    # uncapped layers keep densities proportional to sum(shape)/prod(shape)
    d_big, d_mid = t["big"] / 4096, t["mid"] / 512
    assert d_big / d_mid == pytest.approx((128 / 4096) / (48 / 512), rel=0.01)
    model = lenet()
    before = sum(kept(get_masks(model)).values())
    prune_step(model, "magnitude", 0.5, allocation="erk")
    assert before - sum(kept(get_masks(model)).values()) == removal_count(before, 0.5)
    with pytest.raises(ValueError, match="keep_total"):
        erk_targets(masks, 10**6)


def test_synflow_iterates_over_schedule():
    model = convnet()
    res = prune_step(model, "synflow", 0.9, input_shape=(1, 1, 6, 6), synflow_steps=5, allocation="global")
    total = sum(m.numel() for m in res.masks.values())
    assert sum(kept(res.masks).values()) == total - removal_count(total, 0.9)
    assert res.changed and res.decisions is None


def test_exclude_and_errors():
    model = lenet()
    res = prune_step(model, "magnitude", 0.5, exclude=["1", "5"])
    assert res.removed["1"] == 0 and res.removed["5"] == 0 and res.removed["3"] > 0
    with pytest.raises(ValueError, match="exclude"):
        prune_step(model, "magnitude", 0.5, exclude=["nope"])
    with pytest.raises(ValueError, match="method"):
        prune_step(model, "taylor", 0.5)
    with pytest.raises(ValueError, match="allocation"):
        prune_step(model, "magnitude", 0.5, allocation="uniform")
    with pytest.raises(ValueError, match="input_shape"):
        prune_step(model, "synflow", 0.5)
    with pytest.raises(ValueError, match="p_conv"):
        PruneRates(p_conv=1.5)


def _verify_decision(mod_graph_before, mask_after, scores_unfolded, dec):
    """The accepted mask satisfies the rule the decision names, recomputed from scratch."""
    if not dec["accepted"]:
        assert mask_after == mod_graph_before
        return
    assert dec["n_removed"] == mod_graph_before.n_edges - mask_after.n_edges > 0
    r = ramanujan_report(mask_after, scope=dec["scope"], weighted=False)
    unweighted_ok = any(d > 0 for d in (r.delta_s, r.delta_r) if not math.isnan(d))
    if dec["rule"] == "unweighted":
        assert unweighted_ok
    else:
        assert not unweighted_ok
        W = np.abs(scores_unfolded) * mask_after.toarray()
        rw = ramanujan_report(BipartiteGraph.from_dense(W), scope=dec["scope"], weighted=True)
        assert rw.delta_s >= 0 and rw.t1 >= 1
    assert r.d_left >= 2 and r.d_right >= 2


@pytest.mark.parametrize("method, allocation", [("magnitude", "layerwise"), ("synflow", "layerwise"), ("snip", "global")])
def test_bounded_steps_accept_only_what_their_rule_allows(method, allocation):
    from bipartite_expanders.adapters.torch import prunable_layers, unfold

    model = convnet()
    seen = set()
    prev = None
    for _ in range(6):
        before = {n: layer_graph(m, "mask") for n, m in prunable_layers(model).items()}
        res = prune_step(model, method, PruneRates(0.5, 0.5, 0.3), bound=True, allocation=allocation,
                         batches=batches(), input_shape=(1, 1, 6, 6), levels=3, previous=prev)
        json.dumps(res.decisions, allow_nan=False)
        for n, mod in prunable_layers(model).items():
            dec = res.decisions[n]
            seen.add(dec["reason"])
            _verify_decision(before[n], layer_graph(mod, "mask"), unfold(mod, res.scores[n]), dec)
        assert res.changed == any(d["accepted"] for d in res.decisions.values())
        prev = res
    assert "accepted" in seen


def test_bounded_collapse_guard_on_a_thin_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    # layer 0 as a union of two 4-cycles (every degree 2): any removal collapses it
    ring = torch.tensor([[1.0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]])
    from bipartite_expanders.adapters.torch import apply_masks

    apply_masks(model, {"0": ring})
    for collapse in ("average", "minimum"):
        res = prune_step(model, "magnitude", 0.5, bound=True, collapse=collapse)
        assert res.decisions["0"]["reason"] == "collapse"
        assert torch.equal(res.masks["0"], ring)


def test_census_regimes_records_and_warm_start():
    model = convnet()
    c0 = census(model)
    assert c0.regime == "fully" and [lc.role for lc in c0.layers] == ["conv", "conv", "fc", "output"]
    assert c0.layers[0].graph_shape == (9, 6) and c0.layers[0].density == 1.0
    prune_step(model, "magnitude", 0.9)
    scores = {n: torch.rand(m.shape, generator=torch.Generator().manual_seed(1)) for n, m in get_masks(model).items()}
    c1 = census(model, scores=scores, previous=c0)
    cold = census(model, scores=scores)
    for a, b in zip(c1.layers, cold.layers):
        assert a.mask.t2 == pytest.approx(b.mask.t2, rel=1e-8, abs=1e-12)
        assert a.score is not None and a.score.weighted
    flags = [lc.is_ramanujan for lc in c1.layers]
    assert c1.regime == ("fully" if all(flags) else "non" if not any(flags) else "partially")
    recs = c1.to_records()
    json.dumps(recs, allow_nan=False)
    assert recs[0]["mask"]["t1"] == c1.layers[0].mask.t1 and recs[0]["name"] == "0"
    flat = c1.to_records(flat=True)
    assert "mask.delta_s" in flat[0] and "weight.t2" in flat[0] and isinstance(flat[0]["shape"], str)
    inner = census(model, layers="inner")
    assert [lc.name for lc in inner.layers] == ["2", "5"] and inner.skipped == ("0", "7")
    with pytest.raises(ValueError, match="layers"):
        census(model, layers=["zz"])
    with pytest.raises(ValueError, match="scores"):
        census(model, scores={"0": scores["0"]})


def test_census_mask_report_matches_the_mask_graph_even_with_a_kept_zero_weight():
    # the census reuses the |W| graph's pattern as the mask graph; a kept weight that is
    # exactly zero makes the two edge sets differ, and the mask graph must then be built apart
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4))
    prune_step(model, "magnitude", 0.3)
    layer = model[0]
    with torch.no_grad():
        kept = layer.weight_mask.nonzero()[0]
        layer.weight_orig[tuple(kept)] = 0.0
    c = census(model, universal_cover=False)
    for name, mod in (("0", model[0]), ("2", model[2])):
        mask_graph = layer_graph(mod, "mask")
        ref = ramanujan_report(mask_graph, weighted=False, universal_cover=False)
        got = c[name].mask
        assert got.n_edges == mask_graph.n_edges == int(mod.weight_mask.sum())
        assert (got.t1, got.d_left, got.d_right, got.min_degree_left) == pytest.approx(
            (ref.t1, ref.d_left, ref.d_right, ref.min_degree_left), rel=1e-12)
        assert got.t2 == pytest.approx(ref.t2, rel=1e-9, abs=1e-12)
    assert c["0"].weight.n_edges == c["0"].mask.n_edges - 1


def test_fully_pruned_layer_edges():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    assert prune_step(model, "magnitude", 1.0, exclude=["2"]).removed == {"0": 30, "2": 0}
    c = census(model)
    lc = c["0"]
    assert lc.density == 0.0 and lc.mask.verdict_s.value == "undefined" and not lc.is_ramanujan
    assert c.regime == "partially"
    json.dumps(c.to_records(), allow_nan=False)
    res = prune_step(model, "magnitude", 0.5, bound=True)
    assert res.decisions["0"]["reason"] == "nothing_to_prune"
    assert not prune_step(model, "magnitude", 0.5, exclude=["0", "2"]).changed
