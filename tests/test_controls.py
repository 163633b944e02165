"""Issue 16: the controls that isolate Algorithm 1's spectral test, and the statistics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from bipartite_expanders.adapters.torch.lth.hparams import Hparams, default_hparams
from bipartite_expanders.adapters.torch.lth.report.stats import t_interval
from bipartite_expanders.adapters.torch.lth.report.controls import (seed_interval, binned_partial_spearman, bootstrap_ci, decision_counts,
                                                matched_comparisons, rejection_counts, stop_counts)
from bipartite_expanders.adapters.torch.lth.report.load import RunData
from bipartite_expanders import bounded_sparsify, generators

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the core keywords
def _weighted_case():
    """A 3-regular graph whose p/2 candidate fails the unweighted test and passes the |W| one."""
    g = generators.random_biregular(30, 3, 30, 3, seed=7)
    return g, np.random.default_rng(7).random(g.shape)


def _dense_delta_s(mask):
    """Delta_S of a 0/1 matrix from numpy's dense SVD (all of it one component here)."""
    B = mask.matrix.toarray()
    s = np.linalg.svd(B, compute_uv=False)
    return (2 * math.sqrt(s[0] - 1) - s[1]) / s[1]


def test_rules_unweighted_only_drops_the_weighted_fallback():
    g, sc = _weighted_case()
    both = bounded_sparsify(g, sc, 0.4, levels=3)
    assert (both.decision.reason.value, both.decision.k, both.decision.rule) == ("accepted", 1, "weighted")
    only = bounded_sparsify(g, sc, 0.4, levels=3, rules=("unweighted",))
    assert only.decision.reason.value == "no_k_accepted" and only.mask.n_edges == g.n_edges
    assert all(c.weighted is None and c.accepted_by is None for c in only.decision.candidates)
    d = only.decision.to_dict()
    assert d["rules"] == ["unweighted"] and d["first_k"] == 1
    # no test at all: the first candidate is taken (the schedule and the guard alone)
    free = bounded_sparsify(g, sc, 0.4, levels=3, rules=())
    assert (free.decision.k, free.decision.rule, free.mask.n_edges) == (1, "none", g.n_edges - round(0.2 * g.n_edges))


def test_first_k_zero_tries_p_first():
    g = generators.complete_bipartite(6, 6)
    sc = np.arange(36.0).reshape(6, 6)
    res = bounded_sparsify(g, sc, rate=0.5, levels=3, first_k=0)
    assert (res.decision.k, res.decision.applied_rate, res.mask.n_edges) == (0, 0.5, 18)
    kept = res.mask.matrix.toarray() != 0
    assert np.array_equal(kept, sc >= 18)  # the 18 lowest scores removed
    assert _dense_delta_s(res.mask) > 0 or res.decision.rule == "unweighted"
    assert [c.k for c in res.decision.candidates] == [0]
    assert bounded_sparsify(g, sc, rate=0.5, levels=3).decision.k == 1  # the default is unchanged


@pytest.mark.parametrize("kw, err", [({"rules": "unweighted"}, TypeError), ({"rules": ("spectral",)}, ValueError),
                                     ({"rules": ("weighted", "weighted")}, ValueError), ({"first_k": -1}, ValueError),
                                     ({"first_k": 4}, ValueError), ({"first_k": True}, ValueError)])
def test_bad_rules_and_first_k(kw, err):
    with pytest.raises(err, match="rules|first_k"):
        bounded_sparsify(generators.complete_bipartite(4, 4), np.ones((4, 4)), 0.5, levels=3, **kw)


def test_decision_counts_reconstruct_the_candidates():
    """The counts read from old records (no candidates) equal those counted from the candidates."""
    g, sc = _weighted_case()
    for kw in ({}, {"rules": ("unweighted",)}, {"first_k": 0}, {"levels": 1}):
        d = bounded_sparsify(g, sc, 0.4, **{"levels": 3, **kw}).decision.to_dict()
        bare = {k: v for k, v in d.items() if k != "candidates"}
        assert decision_counts(bare) == decision_counts(d), kw
    c = decision_counts(bounded_sparsify(g, sc, 0.4, levels=3, rules=("unweighted",)).decision.to_dict())
    assert (c["refused_no_k"], c["failed_unweighted"], c["failed_weighted"]) == (1, 3, 0)


# ------------------------------------------------------------------ the adapter
torch = pytest.importorskip("torch")


def _net(seed=0):
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 4))


def test_random_rejection_control():
    import copy

    from bipartite_expanders.adapters.torch.pruning import PruneRates, prune_step

    rates = PruneRates(p_fc=0.2, p_out=0.2)
    m0 = _net()
    none = prune_step(copy.deepcopy(m0), "magnitude", rates, bound=True, reject_rate=1.0, seed=3)
    assert not none.changed and {d["reason"] for d in none.decisions.values()} == {"random_rejection"}
    every = prune_step(copy.deepcopy(m0), "magnitude", rates, bound=True, reject_rate=0.0, seed=3)
    half = prune_step(copy.deepcopy(m0), "magnitude", PruneRates(p_fc=0.1, p_out=0.1), seed=3)
    # never refused: the bound's first candidate (p/2) without a spectral test = plain pruning at p/2
    assert all(d["rule"] == "none" and d["k"] == 1 for d in every.decisions.values())
    assert every.removed == half.removed
    assert all(torch.equal(every.masks[n], half.masks[n]) for n in half.masks)
    # seeded per (seed, layer): the same seed refuses the same layers, other seeds others
    pattern = {s: tuple(d["reason"] for d in prune_step(copy.deepcopy(m0), "magnitude", rates, bound=True,
                                                         reject_rate=0.5, seed=s).decisions.values())
               for s in range(12)}
    again = prune_step(copy.deepcopy(m0), "magnitude", rates, bound=True, reject_rate=0.5, seed=5)
    assert tuple(d["reason"] for d in again.decisions.values()) == pattern[5]
    assert len(set(pattern.values())) > 1
    refused = sum(r == "random_rejection" for p in pattern.values() for r in p)
    assert 0 < refused < 36
    with pytest.raises(ValueError, match="bound=True"):
        prune_step(copy.deepcopy(m0), "magnitude", rates, reject_rate=0.5)
    with pytest.raises(ValueError, match="reject_rate"):
        prune_step(copy.deepcopy(m0), "magnitude", rates, bound=True, reject_rate=1.5)


def test_plain_synflow_once_per_round_is_single_shot():
    import copy

    from bipartite_expanders.adapters.torch.pruning import PruneRates, prune_step, select_masks
    from bipartite_expanders.adapters.torch.scores import synflow

    m0 = _net(1)
    rates = PruneRates(p_fc=0.2, p_out=0.2)
    once = prune_step(copy.deepcopy(m0), "synflow", rates, input_shape=(1, 30), synflow_steps=1)
    m = copy.deepcopy(m0)
    from bipartite_expanders.adapters.torch.masks import ensure_masks, get_masks

    ensure_masks(m)
    want = select_masks(get_masks(m), synflow(m, (1, 30)), {n: int(round(0.2 * get_masks(m)[n].numel()))
                                                         for n in get_masks(m)})
    assert all(torch.equal(once.masks[n], want[n]) for n in want)


# ------------------------------------------------------------------ hyperparameters
def test_control_registry_and_validation():
    h = default_hparams("lenet300", "fashion-mnist", pruner="imp-random", bound=True, reject_rate=0.05)
    assert h.pruning.label == "IMP-Bound (random rejection)" and h.pruning.scoring == {"reject_rate": 0.05}
    assert default_hparams(pruner="synflow-pfirst", bound=True).pruning.scoring == {"first_k": 0, "synflow_steps": 1}
    assert default_hparams(pruner="imp-unweighted", bound=True).pruning.scoring == {"rules": ("unweighted",)}
    assert default_hparams(pruner="synflow").pruning.scoring == {"synflow_steps": 100}
    for kw, msg in [({"pruner": "imp-pfirst"}, "needs bound"), ({"pruner": "imp-random", "bound": True}, "reject_rate"),
                    ({"pruner": "imp", "reject_rate": 0.1}, "reject_rate"),
                    ({"pruner": "imp-random", "bound": True, "reject_rate": 1.5}, "reject_rate"),
                    ({"pruner": "imp", "synflow_steps": 1}, "SynFlow only"),
                    ({"pruner": "synflow", "bound": True, "synflow_steps": 100}, "once per round"),
                    ({"pruner": "synflow", "synflow_steps": 0}, ">= 1")]:
        with pytest.raises(ValueError, match=msg):
            default_hparams(**kw)
    with pytest.raises(TypeError, match="reject_rate"):
        default_hparams(pruner="imp-random", bound=True, reject_rate="0.1")
    with pytest.raises(TypeError, match="synflow_steps"):
        default_hparams(pruner="synflow", synflow_steps=1.0)


def test_existing_run_directories_keep_their_hashes():
    dirs = sorted((ROOT / "docs" / "results" / "fmnist").glob("*/hparams.json"))
    assert dirs
    for p in dirs:
        saved = json.loads(p.read_text())
        assert Hparams.from_dict(saved["hparams"]).hash(saved.get("algorithm", 1)) == saved["hash"], p.parent.name
    h = default_hparams("lenet300", "fashion-mnist", pruner="synflow")
    assert h.hash() != h.replace(pruning={"synflow_steps": 1}).hash()


# ------------------------------------------------------------------ statistics
def test_bootstrap_on_three_runs_is_hand_computable():
    # resampling 3 runs: 27 equally likely draws; the mean is 0 in 1/27 = 3.7 % of them and 5 in
    # 1/27, so the 95 % percentile interval is [0, 5]; P(sum <= 1) = 4/27 = 14.8 % and P(sum >= 11)
    # = 4/27, so the 80 % interval is [1/3, 11/3]
    ci = bootstrap_ci([0.0, 1.0, 5.0], seed=1)
    assert ci["mean"] == 2.0 and ci["n"] == 3 and (ci["low"], ci["high"]) == (0.0, 5.0)
    ci80 = bootstrap_ci([0.0, 1.0, 5.0], level=0.8, seed=1)
    assert ci80["low"] == pytest.approx(1 / 3) and ci80["high"] == pytest.approx(11 / 3)
    assert bootstrap_ci([0.0, 1.0, 5.0], seed=2, level=0.5) == bootstrap_ci([0.0, 1.0, 5.0], seed=2, level=0.5)
    one = bootstrap_ci([0.3, None, float("nan")])
    assert one["n"] == 1 and math.isnan(one["low"])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0, 2.0], level=95)


def test_t_interval_against_hand_values_and_scipy():
    # t(0.975, 2) = 4.302653; mean 2, sd 1, half-width 4.302653 / sqrt(3) = 2.484138
    ci = t_interval([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["sd"] == 1.0 and ci["n"] == 3
    assert ci["low"] == pytest.approx(2 - 2.484138, abs=1e-6) and ci["high"] == pytest.approx(2 + 2.484138, abs=1e-6)
    x = [0.3, -1.2, 0.7, 2.5, 0.1]
    lo, hi = scipy.stats.t.interval(0.9, 4, loc=np.mean(x), scale=scipy.stats.sem(x))
    ci = t_interval(x, level=0.9)
    assert (ci["low"], ci["high"]) == pytest.approx((lo, hi))
    # missing values stay in place (they line up with the seeds) and are not counted
    ci = t_interval([0.1, None, float("nan"), 0.3])
    assert ci["n"] == 2 and ci["values"] == [0.1, None, None, 0.3]
    one = t_interval([0.4])
    assert one["mean"] == 0.4 and math.isnan(one["low"]) and t_interval([])["n"] == 0
    with pytest.raises(ValueError, match="level"):
        t_interval([1.0, 2.0], level=1.5)


def test_seed_interval_refuses_a_bootstrap_on_few_runs():
    assert seed_interval([0.0, 1.0, 5.0])["method"] == "t"
    with pytest.raises(ValueError, match="at least 10 runs"):
        seed_interval([0.0, 1.0, 5.0], method="bootstrap")
    x = list(np.linspace(-1, 2, 12))
    ci = seed_interval(x, method="bootstrap", n_resamples=2000)
    assert ci["method"] == "bootstrap" and min(x) < ci["low"] < np.mean(x) < ci["high"] < max(x)
    with pytest.raises(ValueError, match="method"):
        seed_interval(x, method="normal")


def _two_bins(y_within):
    """Two log-density bins of four rounds; x is 1..4 inside each bin, bin 2 above bin 1."""
    d = [1.0, 0.95, 0.9, 0.85, 0.1, 0.095, 0.09, 0.085]
    x = [1, 2, 3, 4, 11, 12, 13, 14]
    y = list(y_within) + [10 + v for v in y_within]
    return x, y, d


def test_binned_partial_where_density_explains_everything():
    # inside each bin x's order (1,2,3,4) and y's (2,4,1,3) are uncorrelated: centred ranks
    # (-1.5,-.5,.5,1.5) . (-.5,1.5,-1.5,.5) = 0, so all of the raw correlation is the bins'
    from scipy.stats import spearmanr

    x, y, d = _two_bins([2, 4, 1, 3])
    assert spearmanr(x, y)[0] > 0.6
    assert binned_partial_spearman(x, y, d, bins=2)["rho"] == pytest.approx(0.0, abs=1e-12)


def test_binned_partial_where_density_does_not():
    x, y, d = _two_bins([1, 2, 3, 4])
    assert binned_partial_spearman(x, y, d, bins=2)["rho"] == pytest.approx(1.0)
    x, y, d = _two_bins([4, 3, 2, 1])
    assert binned_partial_spearman(x, y, d, bins=2)["rho"] == pytest.approx(-1.0)


def test_binned_partial_configuration_fixed_effects():
    # one density bin; configuration B is higher in x and y (a between-configuration effect),
    # inside each configuration x and y are opposite: the fixed effects leave -1
    d = [0.5] * 6
    x = [1, 2, 3, 11, 12, 13]
    y = [3, 2, 1, 13, 12, 11]
    cfg = ["A"] * 3 + ["B"] * 3
    assert binned_partial_spearman(x, y, d, bins=4)["rho"] > 0.3
    assert binned_partial_spearman(x, y, d, cfg, bins=4)["rho"] == pytest.approx(-1.0)
    # against an independent computation: residuals of ranks on the dummies by numpy
    rng = np.random.default_rng(0)
    x, y = rng.random(40), rng.random(40)
    d = np.exp(-rng.random(40) * 4)
    cfg = rng.integers(0, 3, 40)
    from scipy.stats import rankdata

    edges = np.linspace(np.log(d).min(), np.log(d).max(), 6)
    b = np.clip(np.searchsorted(edges, np.log(d), side="right") - 1, 0, 4)
    D = np.column_stack([(b == i) for i in range(5)] + [(cfg == c) for c in (1, 2)]).astype(float)
    ex = rankdata(x) - D @ np.linalg.pinv(D) @ rankdata(x)
    ey = rankdata(y) - D @ np.linalg.pinv(D) @ rankdata(y)
    want = ex @ ey / np.sqrt((ex @ ex) * (ey @ ey))
    assert binned_partial_spearman(x, y, d, cfg, bins=5)["rho"] == pytest.approx(want, abs=1e-10)
    with pytest.raises(ValueError, match="density"):
        binned_partial_spearman([1, 2, 3], [1, 2, 3], [1, 0, 0.5])
    with pytest.raises(ValueError, match="bins"):
        binned_partial_spearman([1, 2, 3], [1, 2, 3], [1, 0.2, 0.5], bins=0)


def _rec(rnd, density, clean, noisy, decisions=None, stop=None):
    return {"round": rnd, "label": "x", "density": {"total": density}, "accuracy": {"clean": clean, "noisy": {"0.3": noisy}},
            "census": [], "prune": {"decisions": decisions}, "stop": stop}


def _run(name, seed, bound, records, p_fc=0.2, pruner="imp"):
    hp = default_hparams("lenet300", "fashion-mnist", pruner=pruner, bound=bound, p_fc=p_fc, p_out=p_fc / 2,
                         **({"reject_rate": 0.1} if pruner.endswith("random") else {})).replace(seed=seed)
    label = hp.pruning.label
    for r in records:
        r["label"] = label
    return RunData(Path(name), hp.to_dict(), records)


def test_matched_comparisons_interpolate_within_the_seed():
    runs = []
    for seed, acc in ((0, 0.75), (1, 0.72), (2, 0.70)):
        # plain: 0.8 at density 0.5, 0.6 at 0.25; log-midpoint sqrt(0.125) -> 0.7
        runs.append(_run(f"plain{seed}", seed, False, [_rec(0, 1.0, 0.9, 0.5), _rec(1, 0.5, 0.8, 0.4),
                                                       _rec(2, 0.25, 0.6, 0.2)]))
        runs.append(_run(f"bound{seed}", seed, True, [_rec(0, 1.0, 0.9, 0.5), _rec(1, math.sqrt(0.125), acc, 0.35,
                                                                                     stop="bound_no_change")]))
    rows = matched_comparisons(runs, n_resamples=1000, seed=0)
    (plain,) = [r for r in rows if r["vs"] == "plain"]
    assert plain["label"] == "IMP-Bound" and plain["seeds"] == [0, 1, 2]
    assert [x["clean"] for x in plain["per_seed"]] == pytest.approx([0.05, 0.02, 0.0])
    assert plain["clean"]["mean"] == pytest.approx(0.07 / 3)
    # the Student-t interval over the three seeds, from scipy's t distribution (not the code's formula)
    lo, hi = scipy.stats.t.interval(0.95, 2, loc=0.07 / 3, scale=scipy.stats.sem([0.05, 0.02, 0.0]))
    assert plain["clean"]["method"] == "t" and plain["clean"]["values"] == pytest.approx([0.05, 0.02, 0.0])
    assert plain["clean"]["low"] == pytest.approx(lo) and plain["clean"]["high"] == pytest.approx(hi)
    assert plain["clean"]["low"] < 0 < plain["clean"]["high"]  # the [min, max] of a 3-run bootstrap would exclude 0
    assert plain["noisy"]["0.3"]["mean"] == pytest.approx(0.05)  # 0.35 against the interpolated 0.30
    (half,) = [r for r in rows if r["vs"] == "p/2"]
    assert half["seeds"] == [] and [m["why"] for m in half["missing"]] == ["no reference run"] * 3
    # a p/2 run deeper (0.2) than its plain run (0.25): both interpolated at 0.25
    runs.append(_run("half0", 0, False, [_rec(0, 1.0, 0.9, 0.5), _rec(1, 0.5, 0.85, 0.4), _rec(2, 0.2, 0.65, 0.3)],
                     p_fc=0.1))
    (p2,) = [r for r in matched_comparisons(runs, n_resamples=1000) if r["label"] == "IMP (p/2)"]
    t = math.log(0.5 / 0.25) / math.log(0.5 / 0.2)
    assert p2["at"] == ["deepest common"] and p2["density"]["mean"] == 0.25
    assert p2["per_seed"][0]["clean"] == pytest.approx(0.85 - 0.2 * t - 0.6)
    (b_half,) = [r for r in matched_comparisons(runs, n_resamples=1000) if r["vs"] == "p/2"]
    assert b_half["seeds"] == [0] and b_half["at"] == ["stop"]


def test_rejection_and_stop_counts():
    dec = {"fc1": {"reason": "accepted", "k": 1, "rule": "unweighted", "rate": 0.2, "levels": 5, "n_edges_before": 1000},
           "fc2": {"reason": "accepted", "k": 3, "rule": "weighted", "rate": 0.2, "levels": 5, "n_edges_before": 1000},
           "fc3": {"reason": "collapse", "k": 2, "rule": None, "rate": 0.1, "levels": 5, "n_edges_before": 50}}
    dec2 = {"fc1": {"reason": "no_k_accepted", "k": None, "rule": None, "rate": 0.2, "levels": 5, "n_edges_before": 100},
            "fc2": {"reason": "random_rejection", "k": None, "rule": None, "rate": 0.2, "levels": 1, "n_edges_before": 10,
                    "rules": []},
            "fc3": {"reason": "nothing_to_prune", "k": None, "rule": None, "rate": 0.1, "levels": 5, "n_edges_before": 0}}
    run = _run("b", 0, True, [_rec(0, 1.0, 0.9, 0.5, dec), _rec(1, 0.9, 0.9, 0.5, dec2, stop="rounds")])
    (r,) = rejection_counts([run, _run("p", 0, False, [_rec(0, 1.0, 0.9, 0.5)])])
    L = r["layers"]
    # fc1 round 1: p = 0.2 of 100 edges removes 10, 5, 3, 1, 1 edges at k = 1..5: five candidates failed both tests
    assert (L["fc1"]["accepted_first"], L["fc1"]["refused_no_k"], L["fc1"]["failed_unweighted"],
            L["fc1"]["failed_weighted"]) == (1, 1, 5, 5)
    assert (L["fc2"]["accepted_weighted"], L["fc2"]["failed_unweighted"], L["fc2"]["failed_weighted"]) == (1, 3, 2)
    assert (L["fc2"]["refused_random"], L["fc3"]["refused_collapse"], L["fc3"]["nothing_to_prune"]) == (1, 1, 1)
    assert L["fc3"]["failed_unweighted"] == 1 and r["total"]["steps"] == 6
    # fc3's collapse at k = 2 came after the spectral tests refused k = 1: the bound bound there too
    assert r["binds"] == {"fc1": 1, "fc2": 1, "fc3": 1}
    (s,) = stop_counts([run])
    assert (s["by_itself"], s["at_cap"], s["unfinished"], s["rounds"]) == (0, 1, 0, [1])


def test_statistics_command_on_the_committed_grid(tmp_path):
    from bipartite_expanders.adapters.torch.lth.report.study import render_statistics

    md = render_statistics([ROOT / "docs" / "results" / "fmnist"], tmp_path, n_resamples=200)
    stats = json.loads((tmp_path / "statistics.json").read_text())
    assert stats["runs"] == 20 and stats["rounds"] == 659
    assert all(s["at_cap"] == 3 and s["by_itself"] == 0 for s in stats["stops"])
    imp = [r for r in stats["comparisons"] if r["label"] == "IMP-Bound" and r["vs"] == "plain"][0]
    assert imp["clean"]["n"] == 3 and imp["clean"]["low"] <= imp["clean"]["mean"] <= imp["clean"]["high"]
    text = md.read_text()
    assert "## Gains at matched density" in text and "no_k_accepted" in text and "partial (bins + configuration)" in text


def test_controls_run_through_the_runner_and_the_statistics_read_them(tmp_path):
    from bipartite_expanders.adapters.torch.lth.report.study import render_statistics
    from bipartite_expanders.adapters.torch.lth.runner import run_lottery

    base = default_hparams("lenet300", "digits", pruner="imp", rounds=2).replace(training={"iterations": 20},
                                                                               dataset={"noise": (0.2,)})
    runs = {"plain": base, "half": base.replace(pruning={"p_fc": 0.1, "p_out": 0.05, "rounds": 4}),
            "random": base.replace(pruning={"pruner": "imp-random", "bound": True, "reject_rate": 0.5}),
            "pfirst": base.replace(pruning={"pruner": "imp-pfirst", "bound": True}),
            "unweighted": base.replace(pruning={"pruner": "imp-unweighted", "bound": True})}
    recs = {k: run_lottery(h, tmp_path, progress=False).records for k, h in runs.items()}
    first = recs["pfirst"][0].prune["decisions"]
    assert all(d["first_k"] == 0 for d in first.values())
    assert any(d["k"] == 0 and d["applied_rate"] == d["rate"] for d in first.values())  # p itself accepted
    assert all(d["rules"] == ["unweighted"] and d["rule"] in (None, "unweighted")
               for r in recs["unweighted"] for d in (r.prune["decisions"] or {}).values())
    reasons = {d["reason"] for r in recs["random"] for d in (r.prune["decisions"] or {}).values()}
    assert reasons <= {"random_rejection", "accepted", "collapse"} and "random_rejection" in reasons
    assert recs["random"][0].label == "IMP-Bound (random rejection)"
    md = render_statistics([tmp_path], tmp_path / "stats", n_resamples=200)
    stats = json.loads((tmp_path / "stats" / "statistics.json").read_text())
    labels = {(r["label"], r["vs"]) for r in stats["comparisons"]}
    assert ("IMP-Bound (p first)", "plain") in labels and ("IMP-Bound (random rejection)", "p/2") in labels
    rand = [r for r in stats["rejections"] if r["config"] == "IMP-Bound (random rejection)"][0]
    assert rand["total"]["refused_random"] == sum(d["reason"] == "random_rejection" for r in recs["random"]
                                                  for d in (r.prune["decisions"] or {}).values())
    assert "random" in md.read_text()


def test_table2_matches_a_control_with_its_plain_run():
    from bipartite_expanders.adapters.torch.lth.report.stats import matched_plain

    plain = _run("plain", 0, False, [_rec(0, 1.0, 0.9, 0.5)])
    for pruner in ("imp-pfirst", "imp-unweighted", "imp-random"):
        ctl = _run(pruner, 0, True, [_rec(0, 1.0, 0.9, 0.5)], pruner=pruner)
        assert matched_plain(ctl, [plain, ctl]) is plain


def test_runs_written_before_a_field_existed_group_with_later_ones():
    # the 20,000-iteration seed 0 runs predate the pruning.init_* fields; seed 1's have them at
    # their defaults: the same configuration, so one group, each the other's seed
    from bipartite_expanders.adapters.torch.lth.report.load import group_runs, with_defaults

    new = default_hparams("lenet300", "fashion-mnist", pruner="imp").to_dict()
    old = json.loads(json.dumps(new))
    for name in ("init_masks", "init_density", "init_allocation", "score_mode", "reject_rate", "synflow_steps"):
        old["pruning"].pop(name, None)
    new["seed"] = 1
    assert with_defaults(old)["pruning"]["init_masks"] == "none"
    rec = [{"round": 0, "label": "IMP", "density": {"total": 1.0}}]
    runs = [RunData(Path("old"), with_defaults(old), rec), RunData(Path("new"), with_defaults(new), rec)]
    groups = group_runs(runs)
    assert len(groups) == 1 and groups[0].seeds == [0, 1]
    # a dict the current version cannot read stays as it is
    assert with_defaults({"pruning": {"from_the_future": 1}}) == {"pruning": {"from_the_future": 1}}
