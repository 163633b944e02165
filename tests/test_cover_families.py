"""universal_cover_radius over graph families (issue 14): never an exception, certified and
narrow brackets, rho <= t1, Hoory's bound, independent references, permutation / transpose /
scale invariance, honest non-convergence, and the report's bracket-decided verdict."""

import math
import warnings
from contextlib import nullcontext

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import (
    BipartiteGraph,
    CoverToleranceWarning,
    Verdict,
    exact_verdict,
    generators,
    ramanujan_report,
    universal_cover_radius,
)

import cover_families as fam

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the reference SVD then runs on the default threads
    threadpool_limits = None

FAMILIES = fam.families(seed=0)
TOL = 1e-10


def t1_dense(B: np.ndarray) -> float:
    # the independent reference; one BLAS thread (a small SVD is ~10x slower on two busy cores)
    with threadpool_limits(1) if threadpool_limits is not None else nullcontext():
        return float(np.linalg.svd(B, compute_uv=False)[0])


def shuffled(B: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return B[rng.permutation(B.shape[0])][:, rng.permutation(B.shape[1])]


def radius(B: np.ndarray, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning and no CoverToleranceWarning on these graphs
        return universal_cover_radius(BipartiteGraph(sp.csr_array(B)), **kw)


@pytest.mark.parametrize("name, B", FAMILIES, ids=[n for n, _ in FAMILIES])
def test_family_bracket_is_certified_narrow_and_below_t1(name, B):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    Bs = shuffled(B, rng)
    r = radius(Bs)
    t1 = t1_dense(Bs)
    assert r.converged and r.width <= TOL * r.upper
    assert r.lower <= r.value <= r.upper
    assert r.lower <= t1 * (1 + 1e-12)  # rho(T) <= t1 (the cover's radius is at most the base's)
    dl, dr = Bs.sum(1), Bs.sum(0)
    if dl.min() >= 2 and dr.min() >= 2:  # Hoory: rho(T) >= sqrt(dL - 1) + sqrt(dR - 1)
        db = math.sqrt(dl.mean() - 1) + math.sqrt(dr.mean() - 1)
        assert r.upper >= db * (1 - 1e-12)
    # the same graph unshuffled and transposed has the same radius
    for other in (radius(B), radius(Bs.T)):
        assert other.value == pytest.approx(r.value, rel=2 * TOL)


@pytest.mark.parametrize("name, B", [f for f in FAMILIES if f[0].startswith(("random", "heavy", "pendant", "grid", "band"))],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_family_weighted_and_scaled(name, B):
    rng = np.random.default_rng(1)
    W = B * rng.uniform(0.05, 4.0, size=B.shape)
    r = radius(W)
    assert r.converged and r.lower <= r.value <= r.upper
    assert r.lower <= t1_dense(W) * (1 + 1e-12)
    assert r.upper >= W.max() * (1 - 1e-12)  # one edge is a finite subtree of the cover
    for c in (1e-300, 1e-10, 3.7, 1e10, 1e300 / W.max()):
        rc = radius(W * c)
        assert rc.value / c == pytest.approx(r.value, rel=TOL)
        assert rc.converged


# ------------------------------------------------------------- independent references
@pytest.mark.parametrize("n", [2, 5, 12, 41])
def test_path_is_its_own_cover(n):
    r = radius(fam.path(n))
    exact = 2 * math.cos(math.pi / (n + 1))
    assert r.lower <= exact * (1 + 1e-12) and exact <= r.upper * (1 + 1e-12)
    assert r.value == pytest.approx(exact, rel=TOL)


@pytest.mark.parametrize("n", [1, 4, 50])
def test_star(n):
    assert radius(fam.star(n)).value == pytest.approx(math.sqrt(n), rel=TOL)


@pytest.mark.parametrize("n", [9, 60, 250])
def test_finite_tree_radius_is_its_t1(n):
    B = fam.random_tree(n, np.random.default_rng(n))
    r = radius(B)
    assert r.value == pytest.approx(t1_dense(B), rel=TOL)


@pytest.mark.parametrize("c, d, n_left", [(3, 3, 12), (4, 4, 10), (2, 5, 10), (3, 7, 14)])
def test_regular_and_biregular_through_the_fold(c, d, n_left):
    # method="fold" skips the closed form: the solver must find sqrt(c-1) + sqrt(d-1) itself
    # (c = d: the d-regular tree's 2 sqrt(d-1))
    g = generators.random_biregular(n_left, c, d_right=d, seed=1)
    r = universal_cover_radius(g, method="fold")
    exact = math.sqrt(c - 1) + math.sqrt(d - 1)
    assert r.converged and r.lower <= exact * (1 + 1e-13) and exact <= r.upper * (1 + 1e-13)


@pytest.mark.parametrize("k", [2, 7])
def test_even_cycle_cover_is_the_line(k):
    r = universal_cover_radius(BipartiteGraph(sp.csr_array(fam.even_cycle(k))), method="fold")
    assert r.value == pytest.approx(2.0, rel=TOL)


# ---------------------------------------------------------------- the issue's cases
def test_band_graph_of_the_issue():
    # M[i, i:i+5] = 1 for i < 14 on 14 x 18 raised ZeroDivisionError in _fold
    B = fam.band(14, 5)
    assert B.shape == (14, 18)
    rng = np.random.default_rng(0)
    values = [radius(shuffled(B, rng) if k else B).value for k in range(4)]
    assert max(values) - min(values) <= 2 * TOL * max(values)
    rep = ramanujan_report(B, universal_cover=True)
    assert rep.rho_uc_converged and rep.rho_uc_method == "fold"
    assert rep.verdict_uc == exact_verdict(rep.t2, rep.rho_uc_lower, rep.rho_uc_upper)
    default = ramanujan_report(B)  # the budgeted bracket: the same verdict, a bracket around rho
    assert default.verdict_uc == rep.verdict_uc
    assert default.rho_uc_lower <= rep.rho_uc <= default.rho_uc_upper


@pytest.mark.parametrize("s", [1e-3, 1e-6, 1e-8, 1e-10, 1e-300, 1e300])
def test_scale_exact_small_graph(s):
    # relative errors were 1.7e-5 at 1e-6, 5e-3 at 1e-8 and 10 % at 1e-10 (above t1 / s)
    B = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    r1, rs = radius(B), radius(B * s)
    assert rs.value / s == pytest.approx(r1.value, rel=TOL)
    assert rs.upper / s <= t1_dense(B) * (1 + 1e-12)
    assert rs.converged


def test_weights_across_the_whole_float_range():
    rng = np.random.default_rng(3)
    B = fam.random_sparse(60, 40, 0.1, rng)
    W = B * 10.0 ** rng.uniform(-300, 300, size=B.shape)
    r = radius(W)  # no RuntimeWarning, no exception
    assert r.converged and r.lower <= r.value <= r.upper
    assert W.max() * (1 - 1e-12) <= r.upper and r.lower <= t1_dense(W) * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(-290, 290))
def test_scale_invariance_hypothesis(seed, log_c):
    rng = np.random.default_rng(seed)
    B = fam.random_sparse(int(rng.integers(3, 25)), int(rng.integers(3, 25)), 0.3, rng) * rng.uniform(0.2, 2.0, size=1)
    c = 10.0 ** log_c
    r, rc = radius(B), radius(B * c)
    assert rc.value / c == pytest.approx(r.value, rel=TOL)
    assert rc.lower / c <= r.upper * (1 + 1e-12) and r.lower <= rc.upper / c * (1 + 1e-12)


# -------------------------------------------------------------------- honesty
def test_missed_tolerance_is_reported_and_warned():
    g = BipartiteGraph(sp.csr_array(fam.random_sparse(20, 15, 0.3, np.random.default_rng(0))))
    with pytest.warns(CoverToleranceWarning, match="above tol"):
        r = universal_cover_radius(g, method="fold", maxiter=1)
    assert not r.converged and r.width > r.tol * r.upper
    assert r.to_dict()["converged"] is False
    exact = universal_cover_radius(g)
    assert r.lower <= exact.value <= r.upper


def test_exact_verdict_is_decided_by_the_bracket_only():
    assert exact_verdict(1.0, 2.0, 2.1) is Verdict.RAMANUJAN
    assert exact_verdict(2.0, 2.0, 2.1) is Verdict.RAMANUJAN
    assert exact_verdict(2.05, 2.0, 2.1) is Verdict.UNDECIDED
    assert exact_verdict(2.1, 2.0, 2.1) is Verdict.UNDECIDED
    assert exact_verdict(2.2, 2.0, 2.1) is Verdict.NOT_RAMANUJAN
    assert exact_verdict(1.0, 2.0, 2.1, connected=False) is Verdict.NOT_RAMANUJAN
    assert exact_verdict(math.nan, 2.0, 2.1) is Verdict.UNDEFINED


def test_report_fields_round_trip():
    rep = ramanujan_report(fam.heavy_tailed(40, 30, np.random.default_rng(2)), universal_cover=True)
    assert rep.rho_uc_converged and rep.rho_uc_method == "fold"
    back = type(rep).from_dict(rep.to_dict())
    assert back.rho_uc_converged is True and back.rho_uc_method == "fold"
    off = ramanujan_report(fam.heavy_tailed(40, 30, np.random.default_rng(2)), universal_cover=False)
    assert off.rho_uc_method == "" and not off.rho_uc_converged and off.verdict_uc is Verdict.UNDEFINED


def test_auto_default_gives_the_free_bracket_on_large_graphs(monkeypatch):
    from bipartite_expanders import report as report_module

    B = fam.near_complete(60, 40, 0.9, np.random.default_rng(4))
    W = B * np.random.default_rng(5).uniform(0.5, 2.0, size=B.shape)
    monkeypatch.setattr(report_module, "COVER_AUTO_EDGES", 100)  # make this graph "large"
    auto = ramanujan_report(W, cover_budget=math.inf)  # the edge cut belongs to the unbudgeted policy
    assert auto.rho_uc_method == "free" and math.isnan(auto.rho_uc)
    assert (auto.rho_uc_lower, auto.rho_uc_upper) == (auto.uc_free_lower, auto.uc_free_upper)
    assert auto.verdict_uc == exact_verdict(auto.t2, auto.uc_free_lower, auto.uc_free_upper)
    exact = ramanujan_report(W, universal_cover=True)  # opt-in: the exact radius inside the free bracket
    assert exact.rho_uc_method == "fold" and exact.rho_uc_converged
    assert auto.rho_uc_lower <= exact.rho_uc_lower <= exact.rho_uc_upper <= auto.rho_uc_upper * (1 + 1e-12)
    small = fam.random_sparse(60, 40, 0.1, np.random.default_rng(6))
    assert ramanujan_report(small, cover_budget=math.inf).rho_uc_method == "free"  # an edge count, any density
    budgeted = ramanujan_report(W)  # the budgeted default has no edge cut: it decides or says undecided
    assert budgeted.rho_uc_lower <= exact.rho_uc <= budgeted.rho_uc_upper * (1 + 1e-12)
    assert budgeted.verdict_uc in (exact.verdict_uc, Verdict.UNDECIDED)
    monkeypatch.setattr(report_module, "COVER_AUTO_EDGES", 10**6)
    assert ramanujan_report(small, cover_budget=math.inf).rho_uc_method == "fold"  # no budget: exact
    assert ramanujan_report(small).rho_uc_method in ("free", "bisect")  # the budgeted default


def test_census_records_carry_convergence_and_method():
    torch = pytest.importorskip("torch")
    from bipartite_expanders.adapters.torch import census

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(30, 12), torch.nn.ReLU(), torch.nn.Linear(12, 4))
    rec = census(model, cover_budget=math.inf).to_records(flat=True)[0]  # the lottery-ticket records' policy
    assert rec["mask.rho_uc_converged"] is True and rec["weight.rho_uc_converged"] is True
    assert rec["mask.rho_uc_method"] == "closed_form" and rec["weight.rho_uc_method"] == "fold"
    assert rec["weight.verdict_uc"] in ("ramanujan", "not_ramanujan", "undecided")
    default = census(model).to_records(flat=True)[0]
    # the complete mask graph: its free bracket is Hoory's value, exact; the weights: a bracket
    assert default["mask.rho_uc_method"] == "free" and default["mask.rho_uc_converged"] is True
    assert default["mask.rho_uc"] == pytest.approx(rec["mask.rho_uc"], rel=1e-12)
    assert default["weight.verdict_uc"] == rec["weight.verdict_uc"]
    assert default["weight.rho_uc_lower"] <= rec["weight.rho_uc"] <= default["weight.rho_uc_upper"]


def test_analyze_prints_the_radius_of_the_issue_band_graph(tmp_path, capsys):
    from bipartite_expanders.cli import main

    path = tmp_path / "band.npy"
    np.save(path, fam.band(14, 5))
    assert main(["analyze", str(path), "--universal-cover", "exact"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "rho_uc (universal cover rho(T))" in ln)
    assert "certified [" in line and "fold" in line and "NOT converged" not in line
    assert main(["analyze", str(path)]) == 0  # the default: a certified bracket that decides
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "rho_uc (universal cover rho(T))" in ln)
    assert "certified bracket [" in line and "--universal-cover exact" in line
    verdict = next(ln for ln in out.splitlines() if "exact test t2 <= rho(T)" in ln)
    assert verdict.split()[-1] in ("ramanujan", "not_ramanujan")
    assert main(["analyze", str(path), "--universal-cover", "off"]) == 0
    assert "not computed; free bracket" in capsys.readouterr().out
