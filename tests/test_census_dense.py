"""The census's dense verdict path (issue 23): a large dense-enough layer is analysed from dense
tensors with certified brackets; its verdicts equal full precision's, its brackets contain the
singular values of a dense SVD, and the layers it must not take keep the full path."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from bipartite_expanders.adapters.torch import census  # noqa: E402
from bipartite_expanders.adapters.torch.layers import layer_dense, layer_graph  # noqa: E402


def _pruned_linear(n_in=1024, n_out=1024, keep=0.5, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    lin = nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        w = lin.weight
        w.mul_(w.abs() >= w.abs().flatten().kthvalue(int(w.numel() * (1 - keep))).values)
    return lin.to(dtype)


def _top2(x):
    s = np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False)
    return s[0], s[1]


def _verdicts(r):
    return r.verdict_s, r.verdict_r, r.verdict_uc, r.verdict


def test_verdict_path_matches_full_precision_and_a_dense_svd():
    lin = _pruned_linear()
    fast = census(nn.Sequential(lin)).layers[0]
    full = census(nn.Sequential(lin), accuracy="full").layers[0]
    assert fast.mask.accuracy == "verdict" and fast.weight.accuracy == "verdict"
    assert full.mask.accuracy == "full"
    w = lin.weight.detach().double().numpy()
    for rep_fast, rep_full, matrix in ((fast.mask, full.mask, (w != 0).T), (fast.weight, full.weight, np.abs(w).T)):
        t1, t2 = _top2(matrix)
        assert rep_fast.t1_lower <= t1 * (1 + 1e-9) and t1 <= rep_fast.t1_upper * (1 + 1e-9)
        assert rep_fast.t2_lower <= t2 * (1 + 1e-9) and t2 <= rep_fast.t2_upper * (1 + 1e-9)
        assert math.isclose(rep_full.t2, t2, rel_tol=1e-7)
        assert _verdicts(rep_fast) == _verdicts(rep_full)
        assert (rep_fast.n_edges, rep_fast.n_left, rep_fast.n_right) == (rep_full.n_edges, rep_full.n_left, rep_full.n_right)
    assert (fast.graph_shape, fast.n_kept, fast.density, fast.mask_source) == \
        (full.graph_shape, full.n_kept, full.density, full.mask_source)


def test_half_precision_layers_become_exact_float32_dense_graphs():
    # layer_dense reads bf16 / f16 weights once into float32 (bf16 by a bit shift), |W| * mask
    # exactly, with a torch.nn.utils.prune mask in the weight's own dtype too
    for dtype in (torch.bfloat16, torch.float16):
        lin = nn.Linear(70, 40).to(dtype)
        prune.l1_unstructured(lin, "weight", amount=0.4)
        assert lin.weight_mask.dtype == dtype
        w = layer_dense(lin, "weight")
        ref = (lin.weight_orig.detach().float().abs() * lin.weight_mask.float()).T
        assert w.dtype == torch.float32 and w.shape == (70, 40) and torch.equal(w, ref)
        m = layer_dense(lin, "mask")
        assert m.dtype == torch.float32 and torch.equal(m, (lin.weight_mask != 0).float().T)


def test_bfloat16_layer_verdicts_match_full_precision():
    lin = _pruned_linear(dtype=torch.bfloat16, seed=1)
    fast = census(nn.Sequential(lin)).layers[0]
    full = census(nn.Sequential(lin), accuracy="full").layers[0]
    assert fast.weight.accuracy == "verdict"
    assert _verdicts(fast.weight) == _verdicts(full.weight) and _verdicts(fast.mask) == _verdicts(full.mask)
    t1, t2 = _top2(np.abs(lin.weight.detach().double().numpy()))
    assert fast.weight.t2_lower <= t2 * (1 + 1e-9) <= fast.weight.t2_upper * (1 + 2e-9)


def test_a_prune_mask_that_keeps_zeros_is_the_mask_graph():
    lin = _pruned_linear(seed=2)
    mask = (torch.rand(lin.weight.shape, generator=torch.Generator().manual_seed(0)) < 0.6).float()
    prune.custom_from_mask(lin, "weight", mask)
    with torch.no_grad():
        lin.weight_orig[:, :3] = 0.0  # kept entries that are exactly zero
    fast = census(nn.Sequential(lin)).layers[0]
    assert fast.mask.accuracy == "verdict" and fast.mask_source == "prune-mask"
    assert fast.n_kept == int(mask.sum()) == fast.mask.n_edges
    assert fast.weight.n_edges < fast.mask.n_edges
    assert layer_graph(lin, "mask").n_edges == fast.n_kept


def test_small_sparse_and_grouped_layers_keep_the_full_path():
    small = _pruned_linear(300, 200)  # 6e4 entries: below the dense path
    sparse = _pruned_linear(1024, 1024, keep=0.1)  # 10 % kept: below its density
    grouped = nn.Conv2d(64, 256, 9, groups=4, bias=False)  # 64*9*9*256 / 4 entries, block-diagonal graph
    for mod in (small, sparse, grouped):
        lc = census(nn.Sequential(mod)).layers[0]
        assert lc.mask.accuracy == "full" and lc.weight.accuracy == "full"
    # an explicitly named solver other than the block solver is honoured on a large dense layer
    lc = census(nn.Sequential(_pruned_linear(seed=4)), solver="lanczos").layers[0]
    assert lc.mask.accuracy == "full" and lc.mask.solver == "lanczos"


def test_layer_dense_is_the_layer_graph_densified():
    conv = nn.Conv2d(3, 5, 2, bias=False)
    for kind in ("mask", "weight"):
        dense = layer_dense(conv, kind).double().numpy()
        np.testing.assert_allclose(dense, layer_graph(conv, kind).matrix.toarray(), rtol=1e-6)
    with pytest.raises(ValueError, match="grouped"):
        layer_dense(nn.Conv2d(4, 4, 3, groups=2), "mask")
    with pytest.raises(ValueError, match="accuracy"):
        census(nn.Sequential(conv), accuracy="fast")


def test_census_command_shows_the_verdict_brackets(tmp_path, capsys):
    from safetensors.torch import save_file

    from bipartite_expanders.cli import main

    lin = _pruned_linear(seed=3)
    path = tmp_path / "m.safetensors"
    save_file({"fc.weight": lin.weight.detach().to(torch.bfloat16).contiguous()}, str(path))
    assert main(["census", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| fc |"))
    t1_cell, t2_cell = [c.strip() for c in row.strip("|").split("|")][5:7]
    lo, hi = (float(x) for x in t2_cell.split(".."))
    assert lo <= hi and ".." in t1_cell
    assert "certified brackets of --accuracy verdict" in out
    assert main(["census", str(path), "--no-progress", "--accuracy", "full"]) == 0
    full = capsys.readouterr().out
    t2_full = float([c.strip() for c in next(line for line in full.splitlines()
                                             if line.startswith("| fc |")).strip("|").split("|")][6])
    assert lo * (1 - 1e-3) <= t2_full <= hi * (1 + 1e-3)  # cells print 4 significant digits
    assert "certified brackets" not in full


def test_census_options_reach_the_dense_path():
    # the dense verdict path's reports get the census' cover options too (they take the full
    # path where the brackets do not decide): a bad budget is refused there as everywhere
    model = nn.Sequential(_pruned_linear())
    with pytest.raises(ValueError, match="cover_budget"):
        census(model, cover_budget=0)
    rec = census(model, cover_budget=math.inf).layers[0]
    assert rec.mask.accuracy == "verdict" and rec.weight.accuracy == "verdict"
