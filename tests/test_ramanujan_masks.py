"""Masks at initialisation: certified Ramanujan layers, controls, groups, the skipped path."""

import doctest
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import bipartite_expanders.adapters.torch.ramanujan as ramanujan_module  # noqa: E402
from bipartite_expanders.adapters.torch import (  # noqa: E402
    MASK_FAMILIES,
    apply_masks,
    erdos_renyi_masks,
    layer_density,
    mask_family,
    prunable_layers,
    ramanujan_masks,
    random_biregular_masks,
    unfold,
)
from bipartite_expanders.files import dumps  # noqa: E402


def model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(8, 32, 3),             # 72 x 32
        nn.Conv2d(32, 64, 3, groups=4),  # 4 blocks of 72 x 16
        nn.Flatten(),
        nn.Linear(64, 200),              # 64 x 200
        nn.Linear(200, 3),               # 200 x 3: too few edges at 10 %
    )


def blocks(module, mask):
    """The unfolded 0/1 matrix of each group block (independent of the adapter's code path)."""
    B = unfold(module, mask.to(torch.float64))
    g = getattr(module, "groups", 1)
    r, c = B.shape[0] // g, B.shape[1] // g
    for gi in range(g):  # nothing outside the diagonal blocks
        off = B[gi * r:(gi + 1) * r].copy()
        off[:, gi * c:(gi + 1) * c] = 0
        assert not off.any()
    return [B[gi * r:(gi + 1) * r, gi * c:(gi + 1) * c] for gi in range(g)]


def test_ramanujan_masks_shapes_densities_groups_and_certificates():
    m = model()
    r = ramanujan_masks(m, 0.1, seed=0)
    layers = prunable_layers(m)
    assert list(r) == ["0", "1", "3"] and set(r.skipped) == {"4"}
    for name, mask in r.items():
        mod = layers[name]
        assert mask.dtype == torch.bool and mask.shape == mod.weight.shape
        parts = blocks(mod, mask)
        assert len(parts) == getattr(mod, "groups", 1) == len(r.certificates[name])
        for A, cert in zip(parts, r.certificates[name]):
            n_edges = round(0.1 * A.size)
            assert A.sum() == n_edges
            dl, dr = A.sum(1), A.sum(0)
            assert dl.max() - dl.min() <= 1 and dr.max() - dr.min() <= 1
            s = np.linalg.svd(A, compute_uv=False)  # independent check of the certificate
            assert abs(s[1] - cert.t2) < 1e-8 and s[1] <= cert.bound
            assert np.array_equal(A, cert.graph.toarray())
        assert r.edges[name] == int(mask.sum())
    assert r.edges["1"] == 4 * round(0.1 * 72 * 16)


def test_skipped_layers_are_reported_not_filled():
    m = model()
    r = ramanujan_masks(m, 0.1)
    reason = r.skipped["4"]
    assert "200 x 3 with 60 edges" in reason and "no connected graph" in reason
    assert "4" not in r and "4" not in r.certificates
    apply_masks(m, r)
    dens = layer_density(m)
    assert dens["4"] == 1.0  # untouched: dense, not silently filled with an uncertified mask
    assert dens["3"] == pytest.approx(round(0.1 * 64 * 200) / (64 * 200))
    tiny = ramanujan_masks(nn.Linear(4, 3), 0.01)
    assert len(tiny) == 0 and "keeps 0 of the 12 weights" in tiny.skipped[""]


def test_apply_masks_and_json_record():
    m = model()
    r = ramanujan_masks(m, 0.2, seed=1)
    apply_masks(m, r)
    for name, mask in r.items():
        assert torch.equal(prunable_layers(m)[name].weight_mask != 0, mask)
    out = m(torch.randn(2, 8, 5, 5))
    assert out.shape == (2, 3)
    record = json.loads(dumps(r.to_dict()))
    assert record["family"] == "ramanujan" and set(record["skipped"]) == set(r.skipped)
    cert = record["layers"]["0"]["certificates"][0]
    assert cert["t2"] <= cert["bound"] and cert["shape"] == [72, 32]


def test_controls_match_the_certified_family():
    m = model()
    cert = ramanujan_masks(m, 0.1, seed=2)
    rb = random_biregular_masks(m, 0.1, seed=2)
    er = erdos_renyi_masks(m, 0.1, seed=2)
    layers = prunable_layers(m)
    for name in cert:
        assert rb.edges[name] == er.edges[name] == cert.edges[name]
        for A, R, E in zip(blocks(layers[name], cert[name]), blocks(layers[name], rb[name]), blocks(layers[name], er[name])):
            # same degree sequences, different graph; Erdos-Renyi only the same count
            assert np.array_equal(A.sum(1), R.sum(1)) and np.array_equal(A.sum(0), R.sum(0))
            assert not np.array_equal(A, R)
            assert E.sum() == A.sum()
    assert rb.certificates == {} and er.certificates == {}
    # controls fill the layer the certified family had to skip
    assert "4" in rb and "4" in er and int(rb["4"].sum()) == int(er["4"].sum()) == 60


def test_determinism_and_layer_selection():
    m = model()
    for family in MASK_FAMILIES:
        a = mask_family(family, m, 0.1, seed=3)
        b = mask_family(family, m, 0.1, seed=3)
        c = mask_family(family, m, 0.1, seed=4)
        assert all(torch.equal(a[n], b[n]) for n in a)
        assert any(not torch.equal(a[n], c[n]) for n in a)
        only = mask_family(family, m, 0.1, seed=3, layers=["3"])
        assert list(only) == ["3"] and torch.equal(only["3"], a["3"])  # a layer's mask does not depend on the others


def test_bad_arguments():
    m = model()
    for bad in (0, 0.0, 1.5, -0.1, math.nan):
        with pytest.raises(ValueError, match="density"):
            ramanujan_masks(m, bad)
    for bad in ("0.1", True, None):
        with pytest.raises(TypeError, match="density"):
            ramanujan_masks(m, bad)
    with pytest.raises(TypeError, match="seed"):
        ramanujan_masks(m, 0.1, seed=-1)
    with pytest.raises(ValueError, match="layers"):
        ramanujan_masks(m, 0.1, layers=["nope"])
    with pytest.raises(TypeError, match="layers"):
        ramanujan_masks(m, 0.1, layers="3")
    with pytest.raises(ValueError, match="family"):
        mask_family("imp", m, 0.1)
    with pytest.raises(TypeError):
        ramanujan_masks("model", 0.1)


def test_full_density_is_complete():
    r = ramanujan_masks(nn.Linear(6, 5), 1.0)
    assert bool(r[""].all()) and r.certificates[""][0].method == "complete"


def test_docstring_examples():
    torch.set_num_threads(1)
    res = doctest.testmod(ramanujan_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
