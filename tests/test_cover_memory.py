"""The exact universal-cover radius on the shapes that once ran out of memory (issue 23), at small
scale: unicyclic graphs with hanging trees, pendant chains, hubs and trees. References: t1 by
dense eigvalsh where the cover is amenable (cycle rank <= 1), the dense-Schur path of the same
solver (a different factorisation) elsewhere, and memory measured with tracemalloc."""

from __future__ import annotations

import importlib
import math
import tracemalloc
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import ramanujan_report, universal_cover_radius
from bipartite_expanders.bounds import Verdict

from cover_shapes import hubs, pendant_chains, tree, unicyclic

cover_module = importlib.import_module("bipartite_expanders.cover")


def _t1(B: sp.csr_array) -> float:
    return float(np.linalg.svd(B.toarray(), compute_uv=False)[0])


def _graph_bytes(B: sp.csr_array) -> int:
    return B.data.nbytes + B.indices.nbytes + B.indptr.nbytes


@pytest.mark.parametrize("build,edges", [(unicyclic, 1500), (tree, 1500), (unicyclic, 3000)])
def test_cycle_rank_at_most_one_is_t1(build, edges):
    B = build(edges, seed=edges)
    r = universal_cover_radius(B, tol=1e-9)
    t1 = _t1(B)
    assert r.cycle_rank <= 1 and r.method == "perron" and r.converged
    assert r.lower <= t1 * (1 + 1e-12) and t1 <= r.upper * (1 + 1e-12)
    assert r.upper - r.lower <= 1e-9 * r.upper


@pytest.mark.parametrize("build", [pendant_chains, hubs])
def test_sparse_factorisation_matches_the_dense_schur_path(build, monkeypatch):
    B = build(2500, seed=3)
    sparse_lu = universal_cover_radius(B, tol=1e-10)
    monkeypatch.setattr(cover_module, "_SCHUR_DENSE_BYTES", 10**12)  # force the dense complement
    monkeypatch.setattr(cover_module._Edges, "schur_fits", property(lambda self: self.side is not None))
    dense = universal_cover_radius(B, tol=1e-10)
    assert sparse_lu.converged and dense.converged
    assert max(sparse_lu.lower, dense.lower) <= min(sparse_lu.upper, dense.upper) * (1 + 1e-12)  # brackets meet
    assert sparse_lu.value == pytest.approx(dense.value, rel=1e-9)


@pytest.mark.parametrize("build,edges", [(unicyclic, 20_000), (pendant_chains, 20_000), (hubs, 20_000), (tree, 20_000)])
def test_memory_stays_linear_in_the_edges(build, edges):
    """The shapes of the MemoryError reports, at 20,000 edges: the smaller side has ~10,000
    vertices, so one dense vertex-by-vertex array would take ~800 MB."""
    B = build(edges, seed=1)
    universal_cover_radius(build(500, seed=2), tol=1e-9)  # compile the kernels outside the measurement
    tracemalloc.start()
    try:
        r = universal_cover_radius(B, tol=1e-9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert math.isfinite(r.lower) and math.isfinite(r.upper) and r.lower <= r.upper
    assert peak <= 60 * _graph_bytes(B), f"peak {peak / 1e6:.1f} MB for a {_graph_bytes(B) / 1e6:.2f} MB graph"


def test_large_two_core_gets_a_bracket_aimed_at_t2():
    """A random graph whose 2-core is the whole graph, with the dense complement over its
    budget: the bounded bisection tests t2 first, so the report decides (or says undecided)."""
    G = nx.bipartite.gnmk_random_graph(1200, 600, 6000, seed=0)
    top = [v for v, d in G.nodes(data=True) if d["bipartite"] == 0]
    bottom = [v for v, d in G.nodes(data=True) if d["bipartite"] == 1]
    B = sp.csr_array(nx.bipartite.biadjacency_matrix(G, top, bottom))
    exact = ramanujan_report(B)
    assert exact.verdict_uc in (Verdict.RAMANUJAN, Verdict.NOT_RAMANUJAN)
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(cover_module, "_SCHUR_DENSE_BYTES", 1000)
        with warnings.catch_warnings():  # a bracket wider than tol warns: expected here
            warnings.simplefilter("ignore", cover_module.CoverToleranceWarning)
            budgeted = ramanujan_report(B)
    finally:
        mp.undo()
    assert budgeted.rho_uc_method == "bisect"
    assert budgeted.rho_uc_lower <= exact.rho_uc_upper and exact.rho_uc_lower <= budgeted.rho_uc_upper
    assert budgeted.verdict_uc in (exact.verdict_uc, Verdict.UNDECIDED)


def test_report_auto_takes_the_budgeted_bracket_past_the_dense_side(monkeypatch):
    """Without a budget (cover_budget=inf, the policy before budgets), a smaller side past
    COVER_AUTO_DENSE_SIDE (not pendant) gets the bisection aimed at t2, budgeted by the pair's
    products; its verdict never contradicts the exact one."""
    report_module = importlib.import_module("bipartite_expanders.report")
    G = nx.bipartite.gnmk_random_graph(600, 300, 3000, seed=1)
    top = [v for v, d in G.nodes(data=True) if d["bipartite"] == 0]
    bottom = [v for v, d in G.nodes(data=True) if d["bipartite"] == 1]
    B = sp.csr_array(nx.bipartite.biadjacency_matrix(G, top, bottom))
    exact = ramanujan_report(B, universal_cover=True)
    monkeypatch.setattr(report_module, "COVER_AUTO_DENSE_SIDE", 100)  # the 2-core has ~300 x 600
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cover_module.CoverToleranceWarning)
        auto = ramanujan_report(B, cover_budget=math.inf)
    assert auto.rho_uc_method == "bisect"
    assert auto.rho_uc_lower <= exact.rho_uc_upper and exact.rho_uc_lower <= auto.rho_uc_upper
    assert auto.verdict_uc in (exact.verdict_uc, Verdict.UNDECIDED)
    # pendant-heavy graphs keep the exact solver (a sparse LU eliminates the pendant vertices)
    chains = pendant_chains(3000, seed=4)
    assert ramanujan_report(chains, cover_budget=math.inf).rho_uc_method == "fold"


@pytest.mark.parametrize("build", [pendant_chains, hubs, unicyclic, tree])
def test_default_report_decides_like_the_exact_radius(build):
    """The budgeted default (free bracket, then sweeps at t2) on the shapes whose exact fold
    costs 30-80x the pair: its bracket contains the exact radius and its verdict is the exact
    one or, honestly, undecided."""
    B = build(3000)
    exact = ramanujan_report(B, universal_cover=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cover_module.CoverToleranceWarning)
        auto = ramanujan_report(B)
    assert auto.rho_uc_lower <= exact.rho_uc * (1 + 1e-12) and exact.rho_uc <= auto.rho_uc_upper * (1 + 1e-12)
    assert auto.verdict_uc in (exact.verdict_uc, Verdict.UNDECIDED)
    assert auto.verdict_uc is not Verdict.UNDECIDED  # these shapes are decided within the budget
    if not auto.rho_uc_converged:
        assert math.isnan(auto.rho_uc) and math.isnan(auto.delta_uc)


def test_bracket_method_is_exact_where_cheap_and_a_certified_bisection_elsewhere():
    from bipartite_expanders import generators

    closed = universal_cover_radius(generators.pg2_incidence(3), method="bracket")
    assert closed.method == "closed_form" and closed.value == pytest.approx(2 * math.sqrt(3), rel=1e-12)
    t = tree(2000)
    amenable = universal_cover_radius(t, method="bracket")
    assert amenable.method == "perron" and amenable.converged
    chains = pendant_chains(3000, seed=2)
    exact = universal_cover_radius(chains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cover_module.CoverToleranceWarning)
        for near in (0.9 * exact.value, 1.1 * exact.value):
            r = universal_cover_radius(chains, method="bracket", near=near, sweep_budget=64)
            assert r.method == "bisect" and r.lower <= exact.value <= r.upper * (1 + 1e-12)
            # the sweeps aimed at `near` settle which side of it rho lies on
            assert (r.lower >= near) if near < exact.value else (r.upper < near)


def test_bracket_method_stops_once_it_decides():
    """The bracket method answers "which side of ``near`` is rho on?" and stops there (the
    report's budget buys a verdict, not a radius): aimed far from rho it decides in a fraction
    of the sweeps a budget-long bisection spends, and its bracket still holds the exact radius.
    Without ``near`` nothing is decided early: the bisection tightens the bracket until the budget."""
    chains = pendant_chains(3000, seed=2)
    exact = universal_cover_radius(chains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cover_module.CoverToleranceWarning)
        long = universal_cover_radius(chains, method="bracket", sweep_budget=400)
        for near in (0.5 * exact.value, 2.0 * exact.value):
            r = universal_cover_radius(chains, method="bracket", near=near, sweep_budget=400)
            assert r.lower <= exact.value <= r.upper * (1 + 1e-12)
            assert (r.lower >= near) if near < exact.value else (r.upper < near)
            assert not r.converged and r.iterations < long.iterations / 2
    assert long.upper - long.lower < r.upper - r.lower  # the long run tightened further
