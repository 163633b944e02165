"""Masks through torch.nn.utils.prune: no container pile-up, zeros through training, save/load/deepcopy, rewind."""

import copy

import pytest

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as prune  # noqa: E402
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch import (  # noqa: E402
    apply_masks,
    capture_state,
    ensure_masks,
    get_masks,
    layer_density,
    load_masked,
    prune_step,
    rewind,
    save_masked,
    total_density,
)

torch.set_num_threads(1)


def small_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 3),
    )


def data(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def train(model, steps=5, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-3)
    x, y = data()
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_ensure_masks_idempotent_and_twenty_rounds_never_stack_containers():
    model = small_cnn()
    ensure_masks(ensure_masks(model))
    for _ in range(20):
        prune_step(model, "magnitude", 0.1)
    for mod in (model[0], model[5], model[7]):
        hooks = [h for h in mod._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
        assert len(hooks) == 1 and type(hooks[0]) is prune.Identity  # not a PruningContainer
        assert [n for n, _ in mod.named_parameters()] == ["bias", "weight_orig"]
        assert [n for n, _ in mod.named_buffers()] == ["weight_mask"]
    assert total_density(model) == pytest.approx(0.9**20, abs=0.01)


def test_pruned_weights_stay_exactly_zero_through_adam():
    model = small_cnn()
    prune_step(model, "magnitude", 0.5)
    masks = get_masks(model)
    train(model, steps=10)
    for name, mod in (("0", model[0]), ("5", model[5]), ("7", model[7])):
        assert torch.all(mod.weight[masks[name] == 0] == 0)
        assert torch.equal(mod.weight_mask, masks[name])
    # and the forward really uses zeros there: an equivalent plain layer gives the same output
    x, _ = data(1)
    model.eval()
    plain = nn.Linear(16, 3)
    with torch.no_grad():
        plain.weight.copy_(model[7].weight_orig * masks["7"])
        plain.bias.copy_(model[7].bias)
        h = model[:7](x)
        torch.testing.assert_close(model[7](h), plain(h))


def test_apply_masks_ands_and_never_revives():
    model = small_cnn()
    ensure_masks(model)
    first = {n: (torch.rand(m.shape) > 0.5).float() for n, m in get_masks(model).items()}
    apply_masks(model, first)
    apply_masks(model, {n: torch.ones_like(m) for n, m in first.items()})  # "all on" changes nothing
    assert all(torch.equal(get_masks(model)[n], first[n]) for n in first)
    second = {n: (torch.rand(m.shape) > 0.5).float() for n, m in first.items()}
    apply_masks(model, second)
    assert all(torch.equal(get_masks(model)[n], first[n] * second[n]) for n in first)


def test_apply_masks_errors():
    model = small_cnn()
    with pytest.raises(ValueError, match="shape"):
        apply_masks(model, {"0": torch.ones(3)})
    with pytest.raises(ValueError, match="layers"):
        apply_masks(model, {"nope": torch.ones(3)})
    with pytest.raises(TypeError, match="masks"):
        apply_masks(model, [torch.ones(3)])


def test_save_load_into_fresh_instance(tmp_path):
    model = small_cnn()
    prune_step(model, "magnitude", 0.6)
    train(model)
    model.eval()
    path = save_masked(model, tmp_path / "sub" / "m.pt")
    fresh = load_masked(small_cnn(seed=99), path)
    fresh.eval()
    x, _ = data(2)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)
    assert all(torch.equal(get_masks(fresh)[n], m) for n, m in get_masks(model).items())
    assert layer_density(fresh) == layer_density(model)
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temp file left behind
    bad = tmp_path / "bad.pt"
    torch.save({"x": torch.ones(1)}, bad)
    with pytest.raises(ValueError, match="save_masked"):
        load_masked(small_cnn(), bad)


def test_deepcopy_after_training():
    model = small_cnn()
    prune_step(model, "magnitude", 0.5)
    train(model)
    clone = copy.deepcopy(model)  # torch refuses non-leaf tensors; the masks' hook keeps leaves
    x, y = data(3)
    model.eval(), clone.eval()
    torch.testing.assert_close(clone(x), model(x), rtol=0, atol=0)
    clone.train()
    nn.functional.cross_entropy(clone(x), y).backward()  # the copy trains too
    assert torch.all(clone[0].weight_orig.grad[clone[0].weight_mask == 0] == 0)


def test_rewind_restores_initial_weights_and_keeps_masks():
    model = small_cnn()
    init = capture_state(model)  # taken before any mask: plain keys
    assert "0.weight" in init and not any(k.endswith(("_orig", "_mask")) for k in init)
    train(model)
    prune_step(model, "magnitude", 0.5)
    masks = get_masks(model)
    train(model)
    rewind(model, init)
    assert torch.equal(model[0].weight_orig, init["0.weight"])
    assert torch.equal(model[1].running_mean, init["1.running_mean"])
    assert all(torch.equal(get_masks(model)[n], masks[n]) for n in masks)
    assert torch.equal(model[5].weight, init["5.weight"] * masks["5"])  # refreshed at once
    later = capture_state(model)
    assert set(later) == set(init)
    with pytest.raises(ValueError, match="state"):
        rewind(model, {k: v for k, v in init.items() if k != "0.weight"})


def test_densities():
    model = small_cnn()
    assert total_density(model) == 1.0
    prune_step(model, "random", 0.25, seed=1)
    d = layer_density(model)
    assert set(d) == {"0", "5", "7"} and all(v == pytest.approx(0.75, abs=0.02) for v in d.values())
