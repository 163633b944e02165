"""nm_pattern's block counts (a byte-sum trick for M = 4 and 8) against a plain per-block sum."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from bipartite_expanders.adapters.torch.checkpoints import nm_pattern  # noqa: E402


def _reference(m):
    cols = m.shape[1]
    for n, mm in ((2, 4), (4, 8)):
        if cols == 0 or cols % mm:
            continue
        per_block = m.reshape(m.shape[0], cols // mm, mm).sum(axis=2)
        if per_block.max(initial=0) <= n:
            return f"{n}:{mm}", bool((per_block == n).all())
    return "none", False


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 6), blocks=st.integers(1, 5), width=st.sampled_from([4, 8, 12, 6]),
       p=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_nm_pattern_matches_a_plain_block_sum(rows, blocks, width, p, seed):
    m = np.random.default_rng(seed).random((rows, blocks * width)) < p
    got = nm_pattern(torch.from_numpy(m))
    assert (got["nm"], got["nm_exact"]) == _reference(m)
    assert got["out_degree_max"] == int(m.sum(axis=1).max())


def test_nm_pattern_of_exact_2_4_and_float_masks():
    m = np.zeros((3, 8), dtype=bool)
    m[:, [0, 2, 5, 6]] = True
    assert nm_pattern(torch.from_numpy(m))["nm"] == "2:4"
    assert nm_pattern(m.astype(np.float32)) == nm_pattern(m)  # non-bool masks are read as != 0
    m[0, 1] = True  # three kept in one block of four, five in one block of eight: neither 2:4 nor 4:8
    assert nm_pattern(m)["nm"] == "none"
