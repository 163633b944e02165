"""RamanujanReport's universal-cover fields: values, verdicts, free bracket, serialisation."""

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, RamanujanReport, Verdict, generators, ramanujan_report


def hub_lift() -> BipartiteGraph:
    base = np.zeros((5, 8))
    base[0] = 1
    for i in range(4):
        base[1 + i, 2 * i: 2 * i + 2] = 1
    return generators.random_lift(BipartiteGraph.from_dense(base), 20, seed=2)


def test_db_says_no_exact_says_yes():
    # the docs' example (docs/universal-cover.md): Hoory's theorem applies (min degree 2) and
    # db < t2 <= rho(T)
    r = ramanujan_report(hub_lift(), universal_cover=True)
    assert r.db_valid and r.n_components == 1
    assert r.verdict_r is Verdict.NOT_RAMANUJAN and r.verdict_s is Verdict.NOT_RAMANUJAN
    assert r.verdict_uc is Verdict.RAMANUJAN
    assert r.db < r.t2 <= r.rho_uc_lower <= r.rho_uc <= r.rho_uc_upper
    assert r.uc_free_lower <= r.rho_uc_lower and r.rho_uc_upper <= r.uc_free_upper
    assert r.delta_uc == pytest.approx((r.rho_uc - r.t2) / r.t2)
    # the default decides the same verdict from a certified bracket within its budget (the free
    # bracket contains t2 here, so sweeps at t2 decide it), without the value
    d = ramanujan_report(hub_lift())
    assert d.verdict_uc is Verdict.RAMANUJAN and d.rho_uc_method == "bisect"
    assert d.t2 <= d.rho_uc_lower <= r.rho_uc <= d.rho_uc_upper and math.isnan(d.rho_uc)
    assert math.isnan(d.delta_uc) and not d.rho_uc_converged


def test_biregular_fields_are_exact():
    r = ramanujan_report(generators.pg2_incidence(3))
    assert r.rho_uc == pytest.approx(2 * math.sqrt(3), rel=1e-12)
    assert r.uc_free_lower == pytest.approx(2 * math.sqrt(3)) and r.uc_free_upper == pytest.approx(2 * math.sqrt(3))
    assert r.verdict_uc is Verdict.RAMANUJAN


def test_not_ramanujan_when_t2_exceeds_rho():
    # two PG(2,3) joined by one edge: t2 is just below t1 = 4, far above rho(T)
    B = sp.block_diag([generators.pg2_incidence(3).matrix] * 2).tolil()
    B[0, 13] = 1
    r = ramanujan_report(BipartiteGraph(sp.csr_array(B)))
    assert r.n_components == 1 and r.t2 > r.rho_uc_upper
    assert r.verdict_uc is Verdict.NOT_RAMANUJAN
    exact = ramanujan_report(BipartiteGraph(sp.csr_array(B)), universal_cover=True)
    assert r.rho_uc_lower <= exact.rho_uc <= r.rho_uc_upper < r.t2


def test_disconnected_scope_is_not_ramanujan():
    g = generators.disjoint_union(generators.pg2_incidence(3), generators.pg2_incidence(2))
    assert ramanujan_report(g).verdict_uc is Verdict.RAMANUJAN  # largest component
    r = ramanujan_report(g, scope="nonisolated", universal_cover=True)
    assert r.verdict_uc is Verdict.NOT_RAMANUJAN  # the definition asks for a connected graph
    assert r.rho_uc == pytest.approx(2 * math.sqrt(3))
    assert ramanujan_report(g, scope="nonisolated").verdict_uc is Verdict.NOT_RAMANUJAN


def test_weighted_report_uses_weights():
    g = BipartiteGraph(generators.pg2_incidence(3).matrix * 0.5)
    r = ramanujan_report(g)
    assert r.weighted and r.rho_uc == pytest.approx(math.sqrt(3))
    assert ramanujan_report(g, weighted=False).rho_uc == pytest.approx(2 * math.sqrt(3))


def test_optional_and_serialisable():
    g = generators.complete_bipartite(3, 4)
    off = ramanujan_report(g, universal_cover=False)
    assert math.isnan(off.rho_uc) and off.verdict_uc is Verdict.UNDEFINED
    assert off.uc_free_lower == pytest.approx(math.sqrt(2) + math.sqrt(3))  # the free bracket is always there
    for r in (off, ramanujan_report(g), ramanujan_report(generators.star(4))):
        d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
        back = RamanujanReport.from_dict(d)
        assert back.verdict_uc is r.verdict_uc
        for k in ("rho_uc", "rho_uc_lower", "rho_uc_upper", "delta_uc", "uc_free_lower", "uc_free_upper"):
            a, b = getattr(back, k), getattr(r, k)
            assert (math.isnan(a) and math.isnan(b)) or a == b
    with pytest.raises(TypeError, match="universal_cover"):
        ramanujan_report(g, universal_cover="yes")


def test_old_dicts_still_load():
    d = ramanujan_report(generators.pg2_incidence(2)).to_dict()
    for k in ("rho_uc", "rho_uc_lower", "rho_uc_upper", "delta_uc", "verdict_uc", "uc_free_lower", "uc_free_upper"):
        del d[k]
    r = RamanujanReport.from_dict(d)
    assert math.isnan(r.rho_uc) and r.verdict_uc is Verdict.UNDEFINED


def test_edgeless_scope():
    r = ramanujan_report(BipartiteGraph(sp.csr_array((3, 3))))
    assert math.isnan(r.rho_uc) and r.verdict_uc is Verdict.UNDEFINED


def test_cover_budget_is_validated_and_scales_the_default():
    g = hub_lift()
    for bad in (0, -1.0, float("nan"), "3", True, None):
        with pytest.raises(ValueError, match="cover_budget"):
            ramanujan_report(g, cover_budget=bad)
    assert ramanujan_report(g, cover_budget=np.int64(3)).verdict_uc is Verdict.RAMANUJAN  # any real number
    exact = ramanujan_report(g, cover_budget=math.inf)  # no budget: the exact fold below 200,000 edges
    assert exact.rho_uc_method == "fold" and exact.rho_uc_converged
    assert ramanujan_report(g, universal_cover=True).rho_uc == exact.rho_uc
