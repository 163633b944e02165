"""N:M masks: the score's choice entry by entry, the bound-respecting selection, certified N:M
Ramanujan graphs and masks (every certificate rechecked by a dense SVD)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import generators
from bipartite_expanders.generators import RamanujanSearchError, nm_pattern, ramanujan_nm

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch.nm import (  # noqa: E402
    bound_respecting_nm, is_nm, mask_graph, nm_mask, parse_pattern, ramanujan_nm_masks,
)

torch.set_num_threads(1)


def dense_top2(B):
    s = np.linalg.svd(np.asarray(B, dtype=float), compute_uv=False)
    return s[0], s[1]


@pytest.mark.parametrize("n,m", [(2, 4), (4, 8), (1, 4), (3, 4)])
def test_nm_mask_entry_by_entry(n, m):
    g = torch.Generator().manual_seed(n * 10 + m)
    s = torch.rand(9, 4 * m, generator=g)
    keep = nm_mask(s, n, m)
    for r in range(9):
        for grp in range(4):
            block = s[r, grp * m:(grp + 1) * m].tolist()
            top = sorted(range(m), key=lambda j: (-block[j], j))[:n]
            for j in range(m):
                assert bool(keep[r, grp * m + j]) == (j in top), (r, grp, j)
    assert is_nm(keep, n, m)


def test_nm_mask_ties_and_errors():
    assert nm_mask(torch.ones(1, 4), 2, 4).tolist() == [[True, True, False, False]]
    with pytest.raises(ValueError, match="multiple of M"):
        nm_mask(torch.ones(2, 6), 2, 4)
    with pytest.raises(ValueError, match="NaN"):
        nm_mask(torch.tensor([[float("nan"), 1.0, 2.0, 3.0]]), 2, 4)
    with pytest.raises(ValueError, match="1 <= N <= M"):
        parse_pattern("5:4")
    with pytest.raises(ValueError, match="pattern"):
        parse_pattern("two of four")
    assert parse_pattern(" 4 : 8 ") == (4, 8)
    assert not is_nm(torch.ones(2, 4, dtype=torch.bool), 2, 4)


def check_certificate(cert, n, m):
    B = cert.graph.matrix.toarray()
    n_left, n_right = B.shape
    # N:M entry by entry: every output keeps exactly n of each group of m inputs
    per_group = B.reshape(n_left // m, m, n_right).sum(axis=1)
    assert (per_group == n).all()
    assert set(np.unique(B)) <= {0.0, 1.0}
    t1, t2 = dense_top2(B)
    assert cert.t1 == pytest.approx(t1, rel=1e-8)
    assert cert.t2 == pytest.approx(t2, rel=1e-7, abs=1e-9)
    assert t2 <= cert.bound * (1 + 1e-9)
    if cert.certificate == "degree_bound":
        dl, dr = B.sum(1), B.sum(0)
        assert dl.min() == dl.max() and dr.min() == dr.max()
        assert cert.bound == pytest.approx(math.sqrt(dl[0] - 1) + math.sqrt(dr[0] - 1))


@pytest.mark.parametrize("shape", [(16, 12, 2, 4), (64, 48, 2, 4), (96, 64, 4, 8), (12, 5, 2, 4), (24, 24, 3, 4),
                                   (8, 8, 4, 4)])
def test_ramanujan_nm_certificates_by_dense_svd(shape):
    cert = ramanujan_nm(*shape, seed=1)
    check_certificate(cert, shape[2], shape[3])


@settings(max_examples=15, deadline=None)
@given(groups=st.integers(2, 6), n_right=st.integers(3, 20), nm=st.sampled_from([(1, 2), (2, 4), (1, 4), (3, 4)]),
       seed=st.integers(0, 1000))
def test_nm_pattern_structure(groups, n_right, nm, seed):
    n, m = nm
    g = nm_pattern(groups * m, n_right, n, m, seed=seed)
    B = g.matrix.toarray()
    assert (B.reshape(groups, m, n_right).sum(axis=1) == n).all()
    dl = B.reshape(groups, m, n_right).sum(axis=2)
    assert (dl.max(axis=1) - dl.min(axis=1) <= 1).all()  # balanced inside each group


def test_ramanujan_nm_errors():
    with pytest.raises(ValueError, match="multiple of m"):
        ramanujan_nm(10, 8, 2, 4)
    with pytest.raises(ValueError, match="1 <= n <= m"):
        ramanujan_nm(8, 8, 5, 4)
    with pytest.raises(ValueError, match="no connected graph"):
        ramanujan_nm(8, 3, 1, 4)
    with pytest.raises(TypeError, match="seed"):
        ramanujan_nm(8, 8, 2, 4, seed="x")
    assert issubclass(RamanujanSearchError, RuntimeError)


def test_ramanujan_nm_masks_for_linear_layers():
    model = nn.Sequential(nn.Linear(32, 24), nn.ReLU(), nn.Linear(24, 12))
    res = ramanujan_nm_masks(model, "2:4", seed=3)
    assert set(res.masks) == {"0", "2"}
    for name, mask in res.masks.items():
        w = model.get_submodule(name).weight
        assert mask.shape == w.shape and mask.dtype == torch.bool
        assert is_nm(mask, 2, 4)
        t1, t2 = dense_top2(mask.numpy().T)
        assert t2 <= res.certificates[name].bound * (1 + 1e-9)
    d = res.to_dict()
    assert d["pattern"] == "2:4" and set(d["layers"]) == {"0", "2"}
    with pytest.raises(ValueError, match="layer '0'"):
        ramanujan_nm_masks(nn.Sequential(nn.Linear(6, 4)), "2:4")
    with pytest.raises(ValueError, match="N:M"):
        ramanujan_nm_masks(model, "unstructured")


def margin_dense(mask):
    B = mask.numpy().T.astype(float)
    B = B[B.sum(1) > 0][:, B.sum(0) > 0]
    t1, t2 = dense_top2(B)
    dl, dr = B.sum(1).mean(), B.sum(0).mean()
    eb, db = 2 * math.sqrt(t1 - 1), math.sqrt(dl - 1) + math.sqrt(dr - 1)
    return max((eb - t2) / t2, (db - t2) / t2)


def test_bound_respecting_selection_repairs_a_split_mask_through_near_ties():
    # outputs 0-7 prefer inputs {0, 1} of every group, outputs 8-15 prefer {2, 3}, by 2 %: the
    # score's 2:4 mask is two blocks joined by one output (far from Ramanujan); near-tied swaps fix it
    rows, cols = 16, 32
    s = torch.full((rows, cols), 0.98, dtype=torch.float64)
    for r in range(rows):
        pref = (0, 1) if r < 8 else (2, 3)
        for g in range(cols // 4):
            for j in pref:
                s[r, 4 * g + j] = 1.0
    s[0, 1], s[0, 2] = 0.98, 1.0  # one output joins the two halves: connected, with t2 close to t1
    s += 1e-4 * torch.rand(rows, cols, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    own = nm_mask(s, 2, 4)
    assert margin_dense(own) < 0
    new, info = bound_respecting_nm(own, s, 2, 4, tol=0.05)
    assert not info.already and info.ramanujan and info.swaps > 0
    assert is_nm(new, 2, 4)
    assert margin_dense(new) >= 0  # rechecked by dense SVD
    assert 0 < info.score_cost <= 0.05
    # with tol = 0 no swap is allowed and the mask stays as it was
    same, info0 = bound_respecting_nm(own, s, 2, 4, tol=0.0)
    assert torch.equal(same, own) and not info0.ramanujan and info0.swaps == 0


def test_bound_respecting_selection_keeps_a_ramanujan_choice():
    s = torch.rand(24, 32, generator=torch.Generator().manual_seed(2))
    own = nm_mask(s, 2, 4)
    new, info = bound_respecting_nm(own, s, 2, 4)
    assert info.already and info.ramanujan and info.swaps == 0 and torch.equal(new, own)
    with pytest.raises(ValueError, match="not an 2:4"):
        bound_respecting_nm(torch.ones(4, 8, dtype=torch.bool), torch.rand(4, 8), 2, 4)


def test_mask_graph_orientation():
    m = torch.tensor([[1, 0, 1], [0, 1, 1]], dtype=torch.bool)  # (out=2, in=3)
    g = mask_graph(m)
    assert g.shape == (3, 2)
    assert g.matrix.toarray().tolist() == [[1, 0], [0, 1], [1, 1]]


def test_generators_exports():
    assert "ramanujan_nm" in generators.__all__ and "nm_pattern" in generators.__all__
