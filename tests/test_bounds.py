import json
import math

import numpy as np
import pytest

from bipartite_expanders import BipartiteGraph, RamanujanReport, Regime, Verdict, generators, hoory_bounds, network_regime, ramanujan_report


def test_seed_paper_table4_layer1():
    b = hoory_bounds(31.84, 14.32, 235.20, 3.07)
    assert round(b.eb, 2) == 11.11
    assert round(b.db, 2) == 16.74
    assert round(b.delta_s, 2) == -0.22
    assert round(b.delta_r, 2) == 0.17
    assert b.verdict_s is Verdict.NOT_RAMANUJAN and b.verdict_r is Verdict.RAMANUJAN


def test_seed_paper_table4_layer3_is_complete_bipartite():
    r = ramanujan_report(generators.complete_bipartite(89, 10))
    assert r.t1 == pytest.approx(math.sqrt(890)) and round(r.t1, 2) == 29.83
    assert r.t2 == 0.0
    assert r.delta_s == math.inf and r.delta_r == math.inf
    assert r.verdict_s == "ramanujan" and r.verdict_r == "ramanujan"


def test_undefined_bounds_are_nan_not_crash():
    b = hoory_bounds(0.5, 0.2, 3.0, 3.0)  # t1 < 1
    assert math.isnan(b.eb) and math.isnan(b.delta_s) and b.verdict_s is Verdict.UNDEFINED
    assert b.verdict_r is Verdict.RAMANUJAN
    b = hoory_bounds(3.0, 0.0, 0.5, 3.0)  # d_left < 1: db undefined even when t2 == 0
    assert math.isnan(b.db) and math.isnan(b.delta_r) and b.verdict_r is Verdict.UNDEFINED
    assert b.delta_s == math.inf
    b = hoory_bounds(1.0, 0.0, 1.0, 1.0)  # boundary: both bounds 0 and t2 = 0
    assert b.eb == 0.0 and b.db == 0.0 and b.delta_s == math.inf
    b = hoory_bounds(float("nan"), 0.0, 2.0, 2.0)
    assert math.isnan(b.delta_s)


def test_bad_bound_arguments():
    with pytest.raises(ValueError, match="t2 must not exceed t1"):
        hoory_bounds(1.0, 2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="d_left"):
        hoory_bounds(3.0, 1.0, -1.0, 2.0)
    with pytest.raises(TypeError, match="t1"):
        hoory_bounds("3", 1.0, 2.0, 2.0)


@pytest.mark.parametrize("q", [2, 3, 5, 7])
def test_pg2_is_ramanujan_with_equality_in_db(q):
    r = ramanujan_report(generators.pg2_incidence(q))
    assert r.db == pytest.approx(2 * math.sqrt(q))
    assert r.delta_r == pytest.approx(1.0)  # db = 2 sqrt(q) = 2 t2
    assert r.db_valid and r.n_components == 1
    assert r.d_left == r.d_right == q + 1


def test_biregular_degree_bound():
    g = generators.random_biregular(60, 3, d_right=4, seed=2)
    r = ramanujan_report(g)
    assert r.d_left == 3 and r.d_right == 4
    assert r.db == pytest.approx(math.sqrt(2) + math.sqrt(3))
    assert r.t1 == pytest.approx(math.sqrt(12))


def test_star_db_not_valid():
    r = ramanujan_report(generators.star(6))
    assert r.min_degree_left == 6 and r.min_degree_right == 1
    assert not r.db_valid
    assert r.t2 == 0.0 and r.delta_r == math.inf  # the number is still reported


def test_scope_flips_verdict():
    # C_8 (t2 = sqrt 2, degree 2) plus many isolated right vertices. Scope 'all' drags the right
    # average degree below 1 (db undefined), 'nonisolated' keeps the cycle's own d = 2.
    cyc = generators.even_cycle(4)
    g = BipartiteGraph(np.hstack([cyc.toarray(), np.zeros((4, 20))]))
    r_all = ramanujan_report(g, scope="all")
    r_non = ramanujan_report(g, scope="nonisolated")
    assert r_all.d_right == pytest.approx(8 / 24)
    assert r_all.verdict_r == "undefined"
    assert r_non.d_right == 2 and r_non.verdict_r == "ramanujan"
    assert r_all.isolated_right == r_non.isolated_right == 20
    # Largest vs nonisolated: K_{5,5} is the largest component (t2 = 0: Ramanujan). Beside it,
    # K_{4,4} minus a perfect matching (3-regular, t1 = 3) and 30 single edges, which drag the
    # nonisolated average degree down to 67/39 so that db = 2 sqrt(28/39) < t2 = 3.
    k44m = BipartiteGraph(np.ones((4, 4)) - np.eye(4))
    h = generators.disjoint_union(generators.complete_bipartite(5, 5), k44m, BipartiteGraph(np.eye(30)))
    r_big = ramanujan_report(h, scope="largest")
    r_non2 = ramanujan_report(h, scope="nonisolated")
    assert r_big.n_left == 5 and r_big.t2 == 0.0 and r_big.verdict_r == "ramanujan"
    assert r_non2.t1 == pytest.approx(5.0) and r_non2.t2 == pytest.approx(3.0)
    assert r_non2.d_left == pytest.approx(67 / 39)
    assert r_non2.db == pytest.approx(2 * math.sqrt(28 / 39))
    assert r_non2.verdict_r == "not_ramanujan" and r_non2.verdict_s == "ramanujan"  # eb = 4 > 3
    assert r_non2.n_components == 32 and not r_non2.db_valid


def test_weighted_vs_unweighted_and_scaling():
    g = generators.pg2_incidence(3).with_weights(np.full((13, 13), 2.5))
    rw = ramanujan_report(g)  # as the graph is: weighted
    ru = ramanujan_report(g, weighted=False)
    assert rw.weighted and not ru.weighted
    assert rw.t1 == pytest.approx(2.5 * ru.t1) and rw.t2 == pytest.approx(2.5 * ru.t2)
    assert rw.d_left == pytest.approx(2.5 * ru.d_left)


def test_edgeless_graph_report():
    r = ramanujan_report(BipartiteGraph.from_edges([], (3, 4)))
    assert r.t1 == 0.0 and r.n_edges == 0 and r.n_left == 0
    assert r.verdict_s == r.verdict_r == "undefined"
    r_all = ramanujan_report(BipartiteGraph.from_edges([], (3, 4)), scope="all")
    assert r_all.d_left == 0.0 and r_all.verdict_r == "undefined" and r_all.isolated_left == 3


def test_to_dict_is_json_safe_and_round_trips():
    r = ramanujan_report(generators.complete_bipartite(2, 5))
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)  # strict JSON: no bare Infinity/NaN
    back = RamanujanReport.from_dict(json.loads(text))
    assert back == r
    r2 = ramanujan_report(BipartiteGraph.from_edges([], (2, 2)))
    back2 = RamanujanReport.from_dict(json.loads(json.dumps(r2.to_dict(), allow_nan=False)))
    assert math.isnan(back2.delta_s) and back2.verdict_s == "undefined"
    for name in ["t1", "t2", "d_left", "d_right", "eb", "db", "delta_s", "delta_r", "verdict_s", "verdict_r", "db_valid",
                 "n_components", "isolated_left", "isolated_right", "min_degree_left", "min_degree_right", "n_edges",
                 "n_left", "n_right", "scope", "weighted", "solver"]:
        assert name in d


def test_bad_report_arguments():
    g = generators.even_cycle(3)
    with pytest.raises(ValueError, match="scope"):
        ramanujan_report(g, scope="component")
    with pytest.raises(TypeError, match="weighted"):
        ramanujan_report(g, weighted="yes")
    with pytest.raises(ValueError, match="graph: .*absolute values"):
        ramanujan_report(-np.ones((3, 3)))


def test_network_regime():
    full = ramanujan_report(generators.pg2_incidence(2))
    bad = ramanujan_report(BipartiteGraph.from_dense([[1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1.0]]))
    assert network_regime([full, full]) is Regime.FULLY
    assert network_regime([full, False]) is Regime.PARTIALLY
    assert network_regime([False]) is Regime.NON
    with pytest.raises(ValueError):
        network_regime([])
