"""Per-layer sparsity allocation at a fixed total (uniform, OWL, spectral, bounded) and its JSON export."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bipartite_expanders.adapters.torch.allocation import (  # noqa: E402
    SparsityMap, allocate_sparsity, load_sparsity_map, mask_margin, outlier_ratios, ramanujan_ceiling,
)
from bipartite_expanders.adapters.torch.oneshot import unstructured_mask  # noqa: E402

torch.set_num_threads(1)


def dense_margin(keep):
    B = keep.numpy().T.astype(float)
    B = B[B.sum(1) > 0][:, B.sum(0) > 0]
    s = np.linalg.svd(B, compute_uv=False)
    t1, t2 = s[0], s[1]
    dl, dr = B.sum(1).mean(), B.sum(0).mean()
    return max((2 * math.sqrt(t1 - 1) - t2) / t2, (math.sqrt(dl - 1) + math.sqrt(dr - 1) - t2) / t2)


def scores(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.rand(32, 32, generator=g, dtype=torch.float64),
            "b": torch.rand(48, 32, generator=g, dtype=torch.float64),
            "c": torch.rand(32, 64, generator=g, dtype=torch.float64)}


@pytest.mark.parametrize("method", ["uniform", "owl", "spectral", "bounded"])
@pytest.mark.parametrize("target", [0.5, 0.6])
def test_total_is_kept(method, target):
    m = allocate_sparsity(scores(), target, method)
    n = {"a": 1024, "b": 1536, "c": 2048}
    total = sum(m.layers[k] * n[k] for k in n) / sum(n.values())
    assert total == pytest.approx(target, abs=1e-9)
    assert m.sizes == n
    assert all(0 <= s < 1 for s in m.layers.values())


def test_owl_prunes_layers_with_more_outliers_less():
    few = torch.ones(16, 16)
    many = torch.ones(16, 16)
    many[:, :3] = 100.0  # mean (13 + 300) / 16 = 19.6: 3 of 16 entries per row above 5 x mean
    sc = {"few": few, "many": many}
    ratios = outlier_ratios(sc, 5.0)
    assert ratios["few"] == 0.0 and ratios["many"] == pytest.approx(3 / 16)
    m = allocate_sparsity(sc, 0.5, "owl", lam=0.08)
    # scaled to [0, 0.16], centred: the outlier-rich layer at 0.5 - 0.08, the other at 0.5 + 0.08
    assert m.layers["many"] == pytest.approx(0.42) and m.layers["few"] == pytest.approx(0.58)


def test_spectral_prunes_layers_with_more_margin_more():
    m = allocate_sparsity(scores(2), 0.5, "spectral")
    margins = {k: dense_margin(unstructured_mask(v, 0.5)) for k, v in scores(2).items()}
    for k in margins:  # the signal is the census margin, rechecked by dense SVD
        assert m.signal[k] == pytest.approx(margins[k], rel=1e-6)
    order = sorted(margins, key=margins.get)
    assert m.layers[order[0]] < m.layers[order[-1]]


def test_ramanujan_ceiling_is_the_last_grid_point_before_the_bound_breaks():
    g = torch.Generator().manual_seed(3)
    s = torch.rand(32, 32, generator=g, dtype=torch.float64)
    s[:16, :16] += 0.6  # two communities: the bound breaks on the way up (and may come back later)
    s[16:, 16:] += 0.6
    grid = np.round(np.arange(0.0, 0.951, 0.05), 4)
    c = ramanujan_ceiling(s, "row", grid)
    for x in grid[grid <= c]:
        assert dense_margin(unstructured_mask(s, float(x))) >= 0  # rechecked by dense SVD
    nxt = grid[grid > c]
    assert nxt.size and dense_margin(unstructured_mask(s, float(nxt[0]))) < 0


def test_bounded_respects_ceilings_when_it_can_and_says_when_not():
    m = allocate_sparsity(scores(4), 0.5, "bounded")
    assert not m.over_bound
    for k, s in m.layers.items():
        assert s <= m.signal[k] + 1e-12
    # an impossible target (beyond every ceiling): a common shift, and the layers over their bound listed
    sc = scores(5)
    ceil = {k: ramanujan_ceiling(v) for k, v in sc.items()}
    target = min(0.95, max(ceil.values()) + 0.02)
    if target < 0.95:
        m2 = allocate_sparsity(sc, target, "bounded")
        assert m2.over_bound and m2.total == pytest.approx(target, abs=1e-9)
        for k in m2.over_bound:
            assert m2.layers[k] > ceil[k]


def test_bounded_prunes_layers_with_room_more():
    # a layer whose mask loses the bound early keeps more weights; the others take its share
    g = torch.Generator().manual_seed(6)
    good = torch.rand(32, 32, generator=g, dtype=torch.float64)
    bad = torch.rand(32, 32, generator=g, dtype=torch.float64)
    bad[:16, :16] += 0.6  # two communities of outputs and inputs: t2 grows as the mask thins
    bad[16:, 16:] += 0.6
    m = allocate_sparsity({"good": good, "bad": bad}, 0.45, "bounded", groups="row")
    assert m.signal["bad"] < 0.45 < m.signal["good"]
    assert m.layers["bad"] == pytest.approx(m.signal["bad"])
    assert m.layers["good"] > 0.45


def test_json_export_round_trip_and_recipe(tmp_path):
    m = allocate_sparsity(scores(), 0.5, "owl")
    p = m.to_json(tmp_path / "map.json")
    data = json.loads(p.read_text())
    assert data["layers"] == m.layers and data["allocation"] == "owl"
    assert load_sparsity_map(p) == m.layers
    (tmp_path / "plain.json").write_text(json.dumps({"model.layers.0.mlp.up_proj": 0.6}))
    assert load_sparsity_map(tmp_path / "plain.json") == {"model.layers.0.mlp.up_proj": 0.6}
    recipe = m.to_recipe()
    mods = recipe["sparsity_stage"]["sparsity_modifiers"]
    targets = [t for mod in mods.values() for t in mod["targets"]]
    assert sorted(targets) == sorted(f"re:^{k}$" for k in m.layers)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"a": 1.5}', '{"a": "x"}', '{"a": true}'])
def test_malformed_maps_are_refused(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ValueError, match="bad.json"):
        load_sparsity_map(p)


def test_allocation_errors():
    with pytest.raises(ValueError, match="method"):
        allocate_sparsity(scores(), 0.5, "alpha")
    with pytest.raises(ValueError, match="sparsity"):
        allocate_sparsity(scores(), 1.2)
    with pytest.raises(ValueError, match="empty"):
        allocate_sparsity({}, 0.5)
    assert isinstance(allocate_sparsity(scores(), 0.0), SparsityMap)
