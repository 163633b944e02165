"""Scores against independent computations on small networks."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch import apply_masks, ensure_masks, get_masks, grasp, magnitude, random, snip, synflow  # noqa: E402

torch.set_num_threads(1)


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def prune_some(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    ensure_masks(model)
    apply_masks(model, {n: (torch.rand(m.shape, generator=g) > 0.4).float() for n, m in get_masks(model).items()})
    return model


def snapshot(model):
    return {k: (v.detach().clone(), v.dtype) for k, v in model.state_dict().items()}


def assert_unchanged(model, snap, training):
    now = model.state_dict()
    assert set(now) == set(snap)
    for k, (v, dt) in snap.items():
        assert now[k].dtype == dt
        assert torch.equal(now[k], v), k
    assert model.training == training
    assert all(p.grad is None for p in model.parameters())


def test_synflow_closed_form_mlp():
    """R = 1'|W2|(|W1| 1 + |b1|) + sum|b2| for a ReLU MLP with positive weights and input."""
    model = prune_some(mlp())
    snap = snapshot(model)
    s = synflow(model, (1, 6))
    assert_unchanged(model, snap, True)
    m = get_masks(model)
    W1 = (model[0].weight_orig.detach().double() * m["0"]).abs()
    W2 = (model[2].weight_orig.detach().double() * m["2"]).abs()
    b1 = model[0].bias.detach().double().abs()
    h = W1 @ torch.ones(6, dtype=torch.float64) + b1
    expect1 = W2.sum(0)[:, None] * torch.ones(1, 6, dtype=torch.float64) * W1  # dR/dW1_ij = colsum(W2)_i
    expect2 = h[None, :] * W2  # dR/dW2_ki = h_i
    torch.testing.assert_close(s["0"], expect1, rtol=1e-12, atol=0)
    torch.testing.assert_close(s["2"], expect2, rtol=1e-12, atol=0)
    assert s["0"].dtype == torch.float64


def test_synflow_conv_bn_against_autograd_on_a_copy_and_restores_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 4))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    prune_some(model)
    model.train()
    snap = snapshot(model)
    s = synflow(model, (1, 2, 4, 4))
    assert_unchanged(model, snap, True)
    # reference: a plain (unpruned) double copy with the masked absolute weights as leaves
    ref = copy.deepcopy(model)
    masks = get_masks(ref)
    plain = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 4)).double().eval()
    with torch.no_grad():
        plain[0].weight.copy_((ref[0].weight_orig * masks["0"]).abs())
        plain[0].bias.copy_(ref[0].bias.abs())
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(plain[1], name).copy_(getattr(ref[1], name).abs())
        plain[4].weight.copy_((ref[4].weight_orig * masks["4"]).abs())
        plain[4].bias.copy_(ref[4].bias.abs())
    plain(torch.ones(1, 2, 4, 4, dtype=torch.float64)).sum().backward()
    torch.testing.assert_close(s["0"], (plain[0].weight.grad * plain[0].weight).abs(), rtol=1e-12, atol=0)
    torch.testing.assert_close(s["4"], (plain[4].weight.grad * plain[4].weight).abs(), rtol=1e-12, atol=0)


def test_snip_closed_form_softmax_regression():
    """One Linear layer, cross entropy: dL/dW = (softmax(Wx + b) - onehot(y)) x' / N."""
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    prune_some(model)
    g = torch.Generator().manual_seed(2)
    batches = [(torch.randn(4, 5, generator=g), torch.randint(0, 3, (4,), generator=g)) for _ in range(2)]
    snap = snapshot(model)
    s = snip(model, batches)
    assert_unchanged(model, snap, True)
    W = model.weight_orig.detach().double()
    M = model.weight_mask.detach().double()
    b = model.bias.detach().double()
    total = torch.zeros_like(W)
    for x, y in batches:
        x = x.double()
        p = torch.softmax(x @ (W * M).T + b, dim=1)
        onehot = torch.nn.functional.one_hot(y, 3).double()
        total += (p - onehot).T @ x / x.shape[0] * W
    expect = total.abs() / total.abs().sum()
    torch.testing.assert_close(s[""].double(), expect, rtol=1e-5, atol=1e-7)
    assert float(s[""].sum()) == pytest.approx(1.0)
    # pruned entries get the score they would have if restored (gradient w.r.t. the mask)
    assert float(s[""][M == 0].sum()) > 0


def test_snip_mlp_against_plain_autograd():
    model = prune_some(mlp())
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randn(8, 6, generator=g), torch.randint(0, 3, (8,), generator=g))]
    s = snip(model, batches)
    masks = get_masks(model)
    plain = mlp()
    with torch.no_grad():
        plain[0].weight.copy_(model[0].weight_orig * masks["0"])
        plain[2].weight.copy_(model[2].weight_orig * masks["2"])
        plain[0].bias.copy_(model[0].bias)
        plain[2].bias.copy_(model[2].bias)
    nn.functional.cross_entropy(plain(batches[0][0]), batches[0][1]).backward()
    raw = {n: (plain[int(n)].weight.grad * getattr(model, n).weight_orig).abs().detach() for n in ("0", "2")}
    norm = sum(float(v.sum()) for v in raw.values())
    for n in raw:
        torch.testing.assert_close(s[n], raw[n].detach() / norm, rtol=1e-5, atol=1e-8)


def test_snip_works_on_an_unmasked_model_and_restores_bn_stats():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).eval()
    snap = snapshot(model)
    s = snip(model, [(torch.randn(5, 4), torch.tensor([0, 1, 0, 1, 1]))])
    assert_unchanged(model, snap, False)
    assert set(s) == {"0", "3"} and all(torch.isfinite(v).all() for v in s.values())


def test_grasp_against_full_hessian():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    prune_some(model, seed=4)
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(4, 3, generator=g), torch.tensor([0, 1, 1, 0])
    snap = snapshot(model)
    s = grasp(model, [(x, y)], temperature=2.0)
    assert_unchanged(model, snap, True)
    M = model.weight_mask.detach()
    b = model.bias.detach()

    def loss(wflat):
        return nn.functional.cross_entropy((x @ (wflat.reshape(2, 3) * M).T + b) / 2.0, y)

    w = model.weight_orig.detach().reshape(-1)
    H = torch.autograd.functional.hessian(loss, w)
    gr = torch.autograd.functional.jacobian(loss, w)
    expect = (w * M.reshape(-1) * (H @ gr)).reshape(2, 3)
    torch.testing.assert_close(s[""], expect, rtol=1e-4, atol=1e-9)


def test_magnitude_and_random():
    model = prune_some(mlp())
    s = magnitude(model)
    torch.testing.assert_close(s["0"], (model[0].weight_orig * model[0].weight_mask).abs().detach())
    a, b, c = random(model, 3), random(model, 3), random(model, 4)
    assert all(torch.equal(a[n], b[n]) for n in a) and not torch.equal(a["0"], c["0"])
    with pytest.raises(TypeError, match="seed"):
        random(model, 1.5)


def test_bad_inputs():
    model = mlp()
    with pytest.raises(ValueError, match="input_shape"):
        synflow(model, (0, 6))
    with pytest.raises(ValueError, match="batches"):
        snip(model, [])
    with pytest.raises(ValueError, match="batches"):
        snip(model, None)
    with pytest.raises(ValueError, match="temperature"):
        grasp(model, [(torch.randn(2, 6), torch.tensor([0, 1]))], temperature=0)
    with pytest.raises(ValueError, match="prunable"):
        magnitude(nn.ReLU())
