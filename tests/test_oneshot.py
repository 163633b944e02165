"""One-shot pruners (magnitude, Wanda, SparseGPT) against hand-computed cases and a direct OBS solve."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch.oneshot import (  # noqa: E402
    collect_stats, layer_scores, oneshot_blocks, oneshot_prune, sparsegpt_prune, sparsegpt_scores, unstructured_mask,
    wanda_scores,
)

torch.set_num_threads(1)


def correlated_inputs(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    scale = torch.linspace(0.2, 3.0, d, dtype=torch.float64)
    return (torch.randn(n, d, generator=g, dtype=torch.float64) @ mix) * scale


def test_wanda_hand_case():
    # X (3 tokens x 2 inputs): column norms sqrt(1 + 4 + 4) = 3, sqrt(0 + 9 + 16) = 5
    x = torch.tensor([[1.0, 0.0], [2.0, 3.0], [2.0, 4.0]])
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.5], [-0.2, 0.1]]))
    st = collect_stats(nn.Sequential(lin), ["0"], [x])
    assert st["0"].input_norms.tolist() == pytest.approx([3.0, 5.0])
    assert st["0"].n_tokens == 3
    # scores: row 0: 3, 2.5 -> input 1 pruned; row 1: 0.6, 0.5 -> input 1 pruned (per-output groups)
    s = wanda_scores(lin.weight.detach().double(), st["0"].input_norms)
    assert s.tolist() == [pytest.approx([3.0, 2.5]), pytest.approx([0.6, 0.5])]
    res = oneshot_prune(nn.Sequential(lin), "wanda", 0.5, batches=[x])
    assert lin.weight.tolist() == [[1.0, 0.0], [pytest.approx(-0.2), 0.0]]
    assert res.masks["0"].tolist() == [[True, False], [True, False]]
    # magnitude compares the whole layer: the two smallest |w| (0.1, -0.2) go
    lin2 = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin2.weight.copy_(torch.tensor([[1.0, 0.5], [-0.2, 0.1]]))
    oneshot_prune(nn.Sequential(lin2), "magnitude", 0.5)
    assert lin2.weight.tolist() == [[1.0, 0.5], [0.0, 0.0]]


def test_wanda_differs_from_magnitude_where_norms_matter():
    w = torch.tensor([[1.0, 0.9, 0.8, 0.7]])
    norms = torch.tensor([0.1, 1.0, 1.0, 10.0])
    assert unstructured_mask(wanda_scores(w, norms), 0.5).tolist() == [[False, True, False, True]]  # 0.1, 0.9, 0.8, 7
    assert unstructured_mask(w.abs(), 0.5).tolist() == [[True, True, False, False]]


def test_unstructured_mask_counts_and_errors():
    s = torch.rand(7, 13, generator=torch.Generator().manual_seed(1))
    for sp in (0.0, 0.3, 0.5, 0.9):
        k = unstructured_mask(s, sp)
        assert (k.sum(1) == 13 - int(13 * sp)).all()
        # every pruned score is <= every kept score of its row
        for r in range(7):
            if (~k[r]).any():
                assert s[r][~k[r]].max() <= s[r][k[r]].min()
    assert int((~unstructured_mask(s, 0.5, "layer")).sum()) == int(91 * 0.5)
    with pytest.raises(ValueError, match="NaN"):
        unstructured_mask(torch.tensor([[float("nan"), 1.0]]), 0.5)
    with pytest.raises(ValueError, match="sparsity"):
        unstructured_mask(s, 1.0)
    with pytest.raises(ValueError, match="groups"):
        unstructured_mask(s, 0.5, "column")


def test_sparsegpt_one_pruned_column_is_the_obs_update_by_hand():
    # H = [[2, 1], [1, 2]], w = [1, 3], prune column 0 (fixed mask), percdamp tiny
    # OBS: w' = w - w_0 / [H^-1]_00 * H^-1[:, 0]; H^-1 = [[2, -1], [-1, 2]] / 3
    # -> w'_1 = 3 - 1 / (2/3) * (-1/3) = 3.5
    H = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    w2, keep = sparsegpt_prune(torch.tensor([[1.0, 3.0]], dtype=torch.float64), H,
                               mask=torch.tensor([[False, True]]), percdamp=1e-12)
    assert w2[0, 0].item() == 0.0
    assert w2[0, 1].item() == pytest.approx(3.5, rel=1e-9)


@pytest.mark.parametrize("blocksize", [1, 2, 3, 128])
def test_sparsegpt_matches_a_direct_obs_solve(blocksize):
    # when every pruned column precedes the kept ones, the column-by-column OBS equals the joint
    # optimum  w'_K = w_K + H_KK^-1 H_KP w_P  (minimising (w' - w)^T H (w' - w) with w'_P = 0)
    d, k = 8, 3
    X = correlated_inputs(200, d)
    H = 2 * X.T @ X / 200
    W = torch.randn(5, d, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    mask = torch.ones(5, d, dtype=torch.bool)
    mask[:, :k] = False
    percdamp = 0.01
    w2, keep = sparsegpt_prune(W, H, mask=mask, blocksize=blocksize, percdamp=percdamp)
    Hd = H + percdamp * torch.diagonal(H).mean() * torch.eye(d, dtype=torch.float64)
    Hn = Hd.numpy()
    P, K = np.arange(k), np.arange(k, d)
    for r in range(5):
        w = W[r].numpy()
        expected = w[K] + np.linalg.solve(Hn[np.ix_(K, K)], Hn[np.ix_(K, P)] @ w[P])
        np.testing.assert_allclose(w2[r, K].numpy(), expected, rtol=1e-8, atol=1e-10)
        assert (w2[r, P] == 0).all()
    assert torch.equal(keep, mask)


def test_sparsegpt_lazy_blocks_do_not_change_the_result():
    X = correlated_inputs(300, 16, seed=2)
    H = 2 * X.T @ X / 300
    W = torch.randn(6, 16, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    mask = torch.rand(6, 16, generator=torch.Generator().manual_seed(5)) > 0.5
    a, _ = sparsegpt_prune(W, H, mask=mask, blocksize=1)
    b, _ = sparsegpt_prune(W, H, mask=mask, blocksize=5)
    c, _ = sparsegpt_prune(W, H, mask=mask, blocksize=16)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(a, c, rtol=1e-9, atol=1e-12)


def _error(W, W2, X):
    return float(((W - W2) @ X.T).pow(2).sum())


@pytest.mark.parametrize("pattern", ["unstructured", "2:4", "4:8"])
def test_sparsegpt_reconstructs_no_worse_than_magnitude_or_wanda(pattern):
    X = correlated_inputs(512, 32, seed=7)
    H = 2 * X.T @ X / 512
    W = torch.randn(24, 32, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    w_sgpt, keep = sparsegpt_prune(W, H, 0.5, pattern=pattern)  # the paper's block size, 128
    assert (~keep).sum().item() == W.numel() // 2
    assert torch.equal(w_sgpt != 0, keep)
    norms = X.pow(2).sum(0).sqrt()
    from bipartite_expanders.adapters.torch.nm import nm_mask, parse_pattern
    nm = parse_pattern(pattern)
    if nm is None:
        k_mag, k_wanda = unstructured_mask(W.abs(), 0.5, "layer"), unstructured_mask(wanda_scores(W, norms), 0.5)
    else:
        k_mag, k_wanda = nm_mask(W.abs(), *nm), nm_mask(wanda_scores(W, norms), *nm)
    e = _error(W, w_sgpt, X)
    assert e <= _error(W, W * k_mag, X)
    assert e <= _error(W, W * k_wanda, X)
    # and it is SparseGPT's reconstruction that helps: its own mask without the update is worse
    assert e < _error(W, W * keep, X)


def test_sparsegpt_nm_pattern_entry_by_entry_and_dead_inputs():
    X = correlated_inputs(100, 8, seed=1)
    X[:, 5] = 0.0  # a dead input: pruned, as the paper's code does
    H = 2 * X.T @ X / 100
    W = torch.randn(4, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    w2, keep = sparsegpt_prune(W, H, pattern="2:4", blocksize=4)
    for r in range(4):
        for g in range(2):
            assert int(keep[r, 4 * g:4 * g + 4].sum()) <= 2
    assert not keep[:, 5].any()
    assert (w2[~keep] == 0).all()
    with pytest.raises(ValueError, match="multiples of M"):
        sparsegpt_prune(W, H, pattern="2:4", blocksize=6)
    with pytest.raises(ValueError, match="hessian"):
        sparsegpt_prune(W, H[:4, :4], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        sparsegpt_prune(W, H * float("nan"), 0.5)


def test_sparsegpt_scores_by_hand():
    # H = 2 I, damp 0.5 * mean diag = 1 -> 3 I; H^-1 = I / 3, its Cholesky factor diag 1/sqrt(3)
    s = sparsegpt_scores(torch.tensor([[1.0, 2.0]]), 2 * torch.eye(2), percdamp=0.5)
    assert s.tolist() == [[pytest.approx(3.0), pytest.approx(12.0)]]


def test_sequential_calibration_sees_pruned_previous_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    x = torch.randn(64, 6)
    ref = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    ref.load_state_dict(model.state_dict())
    oneshot_prune(model, "wanda", 0.5, batches=[x])
    # by hand: layer 0 from the input norms, then layer 2 from the PRUNED layer 0's activations
    w0 = ref[0].weight.detach()
    k0 = unstructured_mask(w0.abs() * x.pow(2).sum(0).sqrt(), 0.5)
    h = torch.relu(x @ (w0 * k0).T + ref[0].bias.detach())
    k2 = unstructured_mask(ref[2].weight.detach().abs() * h.pow(2).sum(0).sqrt(), 0.5)
    assert torch.equal(model[0].weight != 0, k0)
    assert torch.equal(model[2].weight != 0, k2)


def test_oneshot_prune_on_a_llama_with_progress_and_maps():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg).eval()
    blocks = oneshot_blocks(model)
    assert len(blocks) == 2 and len(blocks[0]) == 7 and all(n.startswith("model.layers.") for b in blocks for n in b)
    batches = [torch.randint(0, 64, (2, 16)) for _ in range(2)]
    for method in ("magnitude", "wanda", "sparsegpt"):
        m = transformers.LlamaForCausalLM(cfg).eval()
        m.load_state_dict(model.state_dict())
        res = oneshot_prune(m, method, 0.5, batches=batches, progress=True)
        assert set(res.masks) == {n for b in blocks for n in b}
        for name, keep in res.masks.items():
            w = m.get_submodule(name).weight
            assert torch.equal(w != 0, keep) or (w[keep] == 0).sum() == 0  # pruned entries are exact zeros
            assert (w[~keep] == 0).all()
        assert res.total_sparsity == pytest.approx(0.5, abs=0.01)
        assert not torch.equal(m.lm_head.weight, torch.zeros_like(m.lm_head.weight))
    m = transformers.LlamaForCausalLM(cfg).eval()
    names = [n for b in blocks for n in b]
    res = oneshot_prune(m, "sparsegpt", 0.5, batches=batches, pattern="2:4",
                        sparsities={names[0]: 0.9})  # the pattern fixes the sparsity: N:M ignores the map
    from bipartite_expanders.adapters.torch.nm import is_nm
    assert all(is_nm(k, 2, 4) or (k.reshape(k.shape[0], -1, 4).sum(2) <= 2).all() for k in res.masks.values())
    sc = layer_scores(model, "wanda", batches)
    assert set(sc) == set(names)


def test_oneshot_prune_errors():
    model = nn.Sequential(nn.Linear(6, 4))
    with pytest.raises(ValueError, match="needs calibration batches"):
        oneshot_prune(model, "wanda", 0.5)
    with pytest.raises(ValueError, match="method"):
        oneshot_prune(model, "obs", 0.5)
    with pytest.raises(ValueError, match="empty"):
        oneshot_prune(model, "sparsegpt", 0.5, batches=[])
    with pytest.raises(ValueError, match="multiple of M"):
        oneshot_prune(model, "magnitude", pattern="2:4")
    with pytest.raises(ValueError, match="pattern"):
        oneshot_prune(model, "magnitude", pattern="2-4")
    with pytest.raises(ValueError, match="sparsities"):
        oneshot_prune(model, "magnitude", sparsities={"nope": 0.5})
    with pytest.raises(ValueError, match="NaN"):
        oneshot_prune(model, "wanda", 0.5, batches=[torch.full((2, 6), float("nan"))])
    with pytest.raises(ValueError, match="nn.Linear"):
        oneshot_prune(nn.Sequential(nn.Conv2d(1, 1, 3)), "magnitude")


def test_pruned_llama_saved_and_reloaded_with_transformers_keeps_exact_zeros(tmp_path):
    transformers = pytest.importorskip("transformers")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    cfg = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    torch.manual_seed(1)
    model = transformers.LlamaForCausalLM(cfg).eval()
    res = oneshot_prune(model, "sparsegpt", pattern="2:4", batches=[torch.randint(0, 64, (2, 16))])
    model.save_pretrained(tmp_path, safe_serialization=True)
    assert (tmp_path / "model.safetensors").exists()
    back = transformers.LlamaForCausalLM.from_pretrained(tmp_path)
    stored = safetensors_torch.load_file(tmp_path / "model.safetensors")
    for name, keep in res.masks.items():
        w = back.get_submodule(name).weight
        assert torch.equal(w == 0, ~keep | (model.get_submodule(name).weight == 0))
        assert (stored[name + ".weight"][~keep] == 0).all()
        assert torch.equal(w, model.get_submodule(name).weight)
    # the census CLI reads the file (a kept-weight pattern w != 0)
    from bipartite_expanders.adapters.torch.census_cli import census_of_path
    c = census_of_path(tmp_path / "model.safetensors", universal_cover=False)
    dens = {r["name"]: r["density"] for r in c["layers"]}
    for name, keep in res.masks.items():
        assert dens[name] == pytest.approx(float(keep.double().mean()))
