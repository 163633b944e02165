"""bounded_sparsify (Algorithm 1) on plain core graphs: no torch here."""

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bipartite_expanders import (
    BipartiteGraph,
    bounded_sparsify,
    generators,
    ramanujan_report,
    removal_count,
)
from bipartite_expanders.sparsify import DEFAULT_LEVELS, SparsifyReason

from conftest import random_sparse


def _edges(g):
    return set(zip(*g.matrix.nonzero()))


def _check_rule_independently(graph, scores, res):
    """Recompute every candidate's verdict from scratch and check the decision follows Algorithm 1."""
    dec = res.decision
    base = _edges(graph)
    kept = _edges(res.mask)
    assert kept <= base
    S = np.asarray(scores, dtype=float)
    order = sorted(base, key=lambda e: (S[e], e[0] * graph.n_right + e[1]))
    for cand in dec.candidates:
        n_rm = removal_count(len(base), dec.rate / 2**cand.k)
        cand_edges = set(order[n_rm:])
        M = np.zeros(graph.shape)
        for i, j in cand_edges:
            M[i, j] = 1.0
        r = ramanujan_report(BipartiteGraph.from_dense(M), scope=dec.scope, weighted=False)
        unweighted_ok = any(d > 0 for d in (r.delta_s, r.delta_r) if not math.isnan(d))
        if cand.collapsed:
            assert dec.collapse == "average" and not (r.d_left >= 2 and r.d_right >= 2) or (
                dec.collapse == "minimum" and min(r.min_degree_left, r.min_degree_right) < 2)
            continue
        if cand.accepted_by == "unweighted":
            assert unweighted_ok
        else:
            assert not unweighted_ok
            W = np.abs(S) * M
            rw = ramanujan_report(BipartiteGraph.from_dense(W), scope=dec.scope, weighted=True)
            weighted_ok = (not math.isnan(rw.delta_s)) and rw.delta_s >= 0 and rw.t1 >= 1
            assert weighted_ok == (cand.accepted_by == "weighted")
    if dec.accepted:
        last = dec.candidates[-1]
        assert last.accepted_by == dec.rule and last.k == dec.k
        n_rm = removal_count(len(base), dec.rate / 2**dec.k)
        assert kept == set(order[n_rm:])
        assert all(c.accepted_by is None and not c.collapsed for c in dec.candidates[:-1])
    else:
        assert kept == base


def test_complete_graph_accepted_at_first_level():
    g = generators.complete_bipartite(8, 8)
    S = np.arange(64.0).reshape(8, 8)
    res = bounded_sparsify(g, S, rate=0.5)
    assert res.decision.reason == SparsifyReason.ACCEPTED and res.decision.k == 1 and res.decision.rule == "unweighted"
    assert res.mask.n_edges == 64 - 16
    # the 16 lowest scores are the first two rows
    assert res.mask.toarray()[:2].sum() == 0 and res.mask.toarray()[2:].min() == 1
    _check_rule_independently(g, S, res)


def test_collapse_average_keeps_graph():
    # a 10-cycle (every degree 2): any removal drops an average degree below 2
    g = generators.even_cycle(10)
    S = np.random.default_rng(0).random(g.shape)
    res = bounded_sparsify(g, S, rate=0.4)
    assert res.decision.reason == SparsifyReason.COLLAPSE and res.decision.k == 1
    assert res.mask == g.pattern() and res.decision.n_removed == 0
    assert res.decision.candidates[0].collapsed


def test_collapse_minimum_reading_is_stricter():
    # K_{6,6} minus nothing, scores make the removed edges all touch left vertex 0
    g = generators.complete_bipartite(6, 6)
    S = np.ones((6, 6))
    S[0, :5] = 0.0  # removing 5 of vertex 0's 6 edges leaves it degree 1
    avg = bounded_sparsify(g, S, rate=5 / 18, levels=1)  # p/2 of 36 = 5 edges
    mini = bounded_sparsify(g, S, rate=5 / 18, levels=1, collapse="minimum")
    assert avg.decision.candidates[0].n_removed == 5
    assert avg.decision.reason != SparsifyReason.COLLAPSE
    assert mini.decision.reason == SparsifyReason.COLLAPSE and mini.mask == g
    _check_rule_independently(g, S, avg)


def _barbell(n):
    """Two K_{n,n} joined by one edge: t2 ~ t1 ~ n, far above both Hoory bounds."""
    A = np.zeros((2 * n, 2 * n))
    A[:n, :n] = 1
    A[n:, n:] = 1
    A[0, n] = 1
    return BipartiteGraph.from_dense(A)


def test_no_k_accepted_keeps_graph():
    g = _barbell(8)
    S = 0.01 * np.random.default_rng(2).random(g.shape)  # tiny: weighted t1 < 1 fails that rule too
    S[0, 8] = 0.5  # the bridge stays: the two blocks give t2 close to t1
    res = bounded_sparsify(g, S, rate=0.2, levels=3)
    dec = res.decision
    assert dec.reason == SparsifyReason.NO_K_ACCEPTED and dec.k is None and dec.rule is None
    assert [c.k for c in dec.candidates] == [1, 2, 3]
    assert all(c.weighted is not None and c.weighted.t1 < 1 for c in dec.candidates)
    assert res.mask == g.pattern()
    _check_rule_independently(g, S, res)


def test_weighted_rule_can_accept():
    g = _barbell(8)
    rng = np.random.default_rng(3)
    S = 0.5 + 0.1 * rng.random(g.shape)  # a light block (t2 ~ 8 * 0.5) ...
    S[:8, :8] = 10 + rng.random((8, 8))  # ... and a heavy one (t1 ~ 80): 2 sqrt(t1 - 1) > t2
    S[0, 8] = 5.0  # the bridge outlives the light block's edges
    res = bounded_sparsify(g, S, rate=0.2, levels=3)
    assert res.decision.rule == "weighted"
    _check_rule_independently(g, S, res)


def test_nothing_to_prune_and_default_levels():
    g = generators.complete_bipartite(3, 3)
    for rate in (0.0, 0.05):  # 0.05/2 * 9 rounds to 0
        res = bounded_sparsify(g, np.ones((3, 3)), rate=rate)
        assert res.decision.reason == SparsifyReason.NOTHING_TO_PRUNE and res.mask == g
    assert bounded_sparsify(g, np.ones((3, 3)), rate=0.5).decision.levels == DEFAULT_LEVELS


def test_tiebreak_and_sparse_scores():
    g = generators.complete_bipartite(4, 4)
    flat = np.ones((4, 4))
    res = bounded_sparsify(g, flat, rate=0.5, levels=1)  # 4 edges, ties: first row goes
    assert res.mask.toarray()[0].sum() == 0
    tb = np.arange(16)[::-1].reshape(4, 4)
    res2 = bounded_sparsify(g, sp.csr_array(flat), rate=0.5, levels=1, tiebreak=tb)
    assert res2.mask.toarray()[3].sum() == 0


def test_to_dict_is_json_safe_and_warm_start_agrees():
    rng = np.random.default_rng(1)
    g = BipartiteGraph(random_sparse(rng, 120, 80, 0.1, False))
    S = rng.random(g.shape)
    res = bounded_sparsify(g, S, rate=0.3)
    text = json.dumps(res.decision.to_dict(), allow_nan=False)
    assert json.loads(text)["reason"] == res.decision.reason.value
    warm = bounded_sparsify(g, S, rate=0.3, v0=res.state)
    assert warm.decision.reason == res.decision.reason and warm.mask == res.mask


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"rate": 1.5}, ValueError),
        ({"rate": "0.2"}, TypeError),
        ({"rate": 0.2, "levels": 0}, ValueError),
        ({"rate": 0.2, "collapse": "median"}, ValueError),
        ({"rate": 0.2, "scope": "biggest"}, ValueError),
    ],
)
def test_bad_arguments(kwargs, exc):
    g = generators.complete_bipartite(3, 3)
    with pytest.raises(exc):
        bounded_sparsify(g, np.ones((3, 3)), **kwargs)


def test_bad_scores():
    g = generators.complete_bipartite(3, 3)
    with pytest.raises(ValueError, match="scores"):
        bounded_sparsify(g, np.ones((3, 4)), 0.5)
    bad = np.ones((3, 3))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="scores"):
        bounded_sparsify(g, bad, 0.5)
    with pytest.raises(TypeError, match="scores"):
        bounded_sparsify(g, np.full((3, 3), "a"), 0.5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=st.integers(3, 14), n=st.integers(3, 14), density=st.floats(0.15, 1.0),
    rate=st.floats(0.05, 1.0), scale=st.sampled_from([0.01, 1.0, 30.0]),
    collapse=st.sampled_from(["average", "minimum"]), scope=st.sampled_from(["largest", "nonisolated"]),
    seed=st.integers(0, 10_000),
)
def test_never_accepts_a_candidate_breaking_its_rule(m, n, density, rate, scale, collapse, scope, seed):
    rng = np.random.default_rng(seed)
    A = (rng.random((m, n)) < density).astype(float)
    if A.sum() == 0:
        A[0, 0] = 1
    g = BipartiteGraph.from_dense(A)
    S = scale * rng.standard_normal((m, n))
    res = bounded_sparsify(g, S, rate, levels=3, collapse=collapse, scope=scope, solver="dense")
    _check_rule_independently(g, S, res)
