"""Masks from zeros (issue 27): a model whose pruned weights are simply zeros (no prune masks:
how Wanda and SparseGPT checkpoints are saved) is censused on the non-zero pattern, as the CLI
does, and the census says which mask it used."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from bipartite_expanders import ramanujan_report  # noqa: E402
from bipartite_expanders.adapters.torch import census  # noqa: E402


def _pair(seed=0):
    torch.manual_seed(seed)
    a = nn.Sequential(nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 10))
    b = nn.Sequential(nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 10))
    b.load_state_dict(a.state_dict())
    for mod in (a[0], a[2]):
        prune.l1_unstructured(mod, "weight", amount=0.8)
    with torch.no_grad():  # the same pruning as plain zeros, no masks attached
        for i in (0, 2):
            b[i].weight.mul_(a[i].weight_mask)
    return a, b


def test_zeroed_weights_are_censused_on_their_nonzero_pattern():
    """Reproducer: census(model) reported every zero-pruned layer as fully dense (t2 = 0)."""
    masked, zeroed = _pair()
    cm, cz = census(masked), census(zeroed)
    for lm, lz in zip(cm.layers, cz.layers):
        assert lm.mask_source == "prune-mask" if lm.name in ("0", "2") else True
        assert lz.mask_source == "nonzero"
        assert lz.n_kept == lm.n_kept and lz.density == pytest.approx(lm.density)
        assert lz.mask.t1 == pytest.approx(lm.mask.t1, rel=1e-9)
        assert lz.mask.t2 == pytest.approx(lm.mask.t2, rel=1e-9)
        assert lz.weight.t2 == pytest.approx(lm.weight.t2, rel=1e-9)
    # against an independent reference: the pattern of the zeroed weight (B = W^T), dense SVD
    W = zeroed[0].weight.detach().numpy().T
    s = np.linalg.svd((W != 0).astype(float), compute_uv=False)
    assert cz["0"].mask.t1 == pytest.approx(s[0], rel=1e-9)
    assert cz["0"].density == pytest.approx(0.2, abs=1e-3)
    assert cz["0"].mask.t2 > 0  # not a complete graph


def test_mask_source_in_the_record():
    masked, zeroed = _pair(1)
    assert [r["mask_source"] for r in census(zeroed).to_records()] == ["nonzero"] * 3
    assert [r["mask_source"] for r in census(masked).to_records()] == ["prune-mask", "prune-mask", "nonzero"]
    flat = census(zeroed).to_records(flat=True)
    assert flat[0]["mask_source"] == "nonzero"


def test_scores_follow_the_nonzero_mask():
    _, zeroed = _pair(2)
    scores = {n: torch.ones_like(m.weight) for n, m in (("0", zeroed[0]), ("2", zeroed[2]), ("4", zeroed[4]))}
    c = census(zeroed, scores=scores)
    ref = ramanujan_report((zeroed[0].weight.detach().numpy().T != 0).astype(float), weighted=True)
    assert c["0"].score.t1 == pytest.approx(ref.t1, rel=1e-9)
