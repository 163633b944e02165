"""The Table-2 reproduction: suite grids, run claims, and the across-seed aggregate / counter-check."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

pytest.importorskip("torch")

from adapters.torch.lth.aggregate import (  # noqa: E402
    group_runs, round_table, spearman_bands, table2_aggregate, table2_aggregate_markdown, spearman_markdown,
    render_aggregate,
)
from adapters.torch.lth.hparams import preset  # noqa: E402
from adapters.torch.lth.report import RunData  # noqa: E402
from adapters.torch.lth.reproduce import SUITES, claim_run, collect, suite_grid  # noqa: E402
from adapters.torch.lth.runner import write_json_atomic  # noqa: E402


# ------------------------------------------------------------------ grids
def test_fmnist_grid_is_the_study_design():
    grid = suite_grid("fmnist")
    assert len(grid) == 3 * 3 * 2
    assert len({h.hash() for h in grid}) == 18
    labels = [h.pruning.label for h in grid[:6]]
    assert labels == ["IMP", "IMP-Bound", "SNIP", "SNIP-Bound", "SynFlow", "SynFlow-Bound"]
    assert [h.seed for h in grid] == [0] * 6 + [1] * 6 + [2] * 6  # seed-major: partial grids hold whole seeds
    for h in grid:
        assert (h.pruning.p_fc, h.pruning.p_out, h.pruning.allocation) == (0.2, 0.1, "layerwise")
        assert h.pruning.target_density == 0.01
        assert h.dataset.name == "fashion-mnist" and h.training.iterations == SUITES["fmnist"].iterations
        assert (h.training.optimizer, h.training.lr, h.training.batch_size) == ("adam", 1.2e-3, 60)


def test_long_reference_is_the_pipeline_preset():
    # the 20,000-iteration reference shares its run directory with `lth --preset lenet-fmnist`
    (h,) = suite_grid("fmnist-long")
    assert h.hash() == preset("lenet-fmnist")[0].hash()


def test_grid_overrides_and_errors():
    g = suite_grid("digits", seeds=[5], pruners=["imp"], iterations=7)
    assert [(h.seed, h.pruning.label, h.training.iterations) for h in g] == [(5, "IMP", 7), (5, "IMP-Bound", 7)]
    with pytest.raises(ValueError, match="suite"):
        suite_grid("nope")


# ------------------------------------------------------------------ claims
def test_claims_exclusive_and_taken_over_from_dead_process(tmp_path):
    assert claim_run(tmp_path, "run_a")
    assert claim_run(tmp_path, "run_a")  # ours again
    # a live other process holds run_b: not ours
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / ".claims").mkdir(exist_ok=True)
        (tmp_path / ".claims" / "run_b").write_text(str(other.pid))
        assert not claim_run(tmp_path, "run_b")
    finally:
        other.kill()
        other.wait()
    assert claim_run(tmp_path, "run_b")  # its holder is gone
    assert (tmp_path / ".claims" / "run_b").read_text() == str(os.getpid())
    (tmp_path / ".claims" / "run_c").write_text("")  # being written by a claimant right now
    assert not claim_run(tmp_path, "run_c")


# ------------------------------------------------------------------ synthetic records
def _record(rnd, density, acc, ram, ds, dr, label, stop=None):
    census = [{"name": f"fc{i + 1}", "is_ramanujan": bool(r), "mask": {"delta_s": s, "delta_r": q}}
              for i, (r, s, q) in enumerate(zip(ram, ds, dr))]
    return {"round": rnd, "label": label, "density": {"total": density, "layers": {}},
            "accuracy": {"clean": acc, "noisy": {"0.1": acc - 0.01, "0.3": acc - 0.1}},
            "census": census, "regime": "partially", "stop": stop}


def _run(label, seed, accs, densities, stop="rounds"):
    recs = [_record(i, d, a, [1, i % 2, 0], [0.5 - 0.1 * i, 0.1, float("inf")], [0.2, float("nan"), 0.3], label,
                    stop if i == len(accs) - 1 else None)
            for i, (a, d) in enumerate(zip(accs, densities))]
    return RunData(Path(f"/x/{label}_{seed}"), {"seed": seed}, recs)


def test_table2_aggregate_mean_sd_by_hand():
    dens = [1.0, 0.5, 0.1, 0.0316, 0.012, 0.0098]
    a = _run("IMP", 0, [0.90, 0.90, 0.89, 0.88, 0.80, 0.70], dens)
    b = _run("IMP", 1, [0.92, 0.91, 0.90, 0.86, 0.82, 0.74], dens)
    c = _run("IMP-Bound", 0, [0.90, 0.90, 0.895], [1.0, 0.9, 0.81], stop="bound_no_change")
    rows = table2_aggregate([c, b, a])
    assert [r["label"] for r in rows] == ["IMP", "IMP-Bound"]
    imp, bound = rows
    assert imp["seeds"] == [0, 1]
    m, s, n = imp["at_0.0316"]["accuracy"]
    assert n == 2 and m == pytest.approx(0.87) and s == pytest.approx(np.std([0.88, 0.86], ddof=1))
    assert imp["at_0.01"]["density"][0] == pytest.approx(0.0098)  # nearest in log density
    assert imp["at_0.01"]["accuracy"][0] == pytest.approx(0.72)
    # alpha = 2 points below each run's own dense accuracy: 0.88 (run a) and 0.90 (run b) rounds
    assert imp["alpha=2"]["density"][0] == pytest.approx((0.0316 + 0.1) / 2)
    assert "at_0.0316" not in bound and bound["stop"]["density"][:2] == (0.81, 0.0)
    assert bound["stop"]["reasons"] == ["bound_no_change"]
    md = table2_aggregate_markdown(rows)
    assert "87.00 ± 1.41" in md and "| IMP-Bound | 1 |" in md


def test_round_table_layer_stats():
    rows = round_table([_run("SNIP", 3, [0.9, 0.8], [1.0, 0.5])])
    r1 = rows[1]
    assert r1["frac_ramanujan"] == pytest.approx(2 / 3)
    assert r1["mean_delta_s"] == math.inf  # one layer has t2 = 0
    assert r1["mean_delta_r"] == pytest.approx(0.25)  # NaN (undefined bound) left out
    assert r1["seed"] == 3 and r1["noisy"]["0.3"] == pytest.approx(0.7)


def _rank_partial(x, y, z):
    """Partial rank correlation by regression: correlate the residuals of rank(x), rank(y) on rank(z)."""
    rx, ry, rz = (rankdata(v) for v in (x, y, z))
    A = np.column_stack([np.ones_like(rz), rz])
    ex = rx - A @ np.linalg.lstsq(A, rx, rcond=None)[0]
    ey = ry - A @ np.linalg.lstsq(A, ry, rcond=None)[0]
    return float(ex @ ey / np.sqrt((ex @ ex) * (ey @ ey)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.31, 1.0), st.floats(0, 1), st.floats(-1, 5), st.floats(-1, 5)),
                min_size=5, max_size=30, unique_by=lambda t: t[0]))
def test_spearman_bands_match_independent_computation(pts):
    rng = np.random.default_rng(len(pts))
    rows = [{"density": d, "accuracy": a, "frac_ramanujan": f, "mean_delta_s": s, "mean_delta_r": s + rng.normal(),
             "noisy": {"0.3": 2 * a}} for d, a, f, s in [(p[0], p[1], p[2] > 1, p[3]) for p in pts]]
    (b,) = spearman_bands(rows, bands=[(0.3, 1.0)])
    x = np.array([r["mean_delta_s"] for r in rows])
    y = np.array([r["accuracy"] for r in rows])
    z = np.array([r["density"] for r in rows])
    e = b["metrics"]["mean_delta_s"]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert math.isnan(e["rho"])
        return
    ref = np.corrcoef(rankdata(x), rankdata(y))[0, 1]  # Spearman = Pearson of ranks
    assert e["rho"] == pytest.approx(ref, abs=1e-9)
    if abs(np.corrcoef(rankdata(x), rankdata(z))[0, 1]) < 0.999 and abs(np.corrcoef(rankdata(y), rankdata(z))[0, 1]) < 0.999:
        assert e["partial"] == pytest.approx(_rank_partial(x, y, z), abs=1e-7)
    # the noisy target is 2 * accuracy: the same ranks
    (bn,) = spearman_bands(rows, bands=[(0.3, 1.0)], target="0.3")
    assert bn["metrics"]["mean_delta_s"]["rho"] == pytest.approx(e["rho"])


def test_spearman_bands_edges():
    rows = [{"density": d, "accuracy": a, "frac_ramanujan": 1.0, "mean_delta_s": math.inf, "mean_delta_r": math.nan,
             "noisy": {}} for d, a in [(0.5, 0.9), (0.4, 0.8), (0.35, 0.7), (0.05, 0.5)]]
    high, mid, empty = spearman_bands(rows, bands=[(0.3, 1.0), (0.03, 0.1), (0.0, 0.01)])
    assert high["n"] == 3 and high["metrics"]["density"]["rho"] == pytest.approx(1.0)
    assert math.isnan(high["metrics"]["frac_ramanujan"]["rho"])  # constant: no correlation to speak of
    assert high["metrics"]["mean_delta_r"]["n"] == 0
    assert mid["n"] == 1 and empty["n"] == 0
    md = spearman_markdown([high, mid, empty])
    assert "n/a (constant)" in md and "(30, 100]" in md


def test_render_and_collect_from_run_directories(tmp_path):
    src = tmp_path / "runs"
    for run in (_run("IMP", 0, [0.9, 0.85, 0.8], [1.0, 0.2, 0.04]), _run("IMP-Bound", 0, [0.9, 0.88], [1.0, 0.9])):
        d = src / run.path.name
        d.mkdir(parents=True)
        write_json_atomic(d / "hparams.json", {"hash": "h", "hparams": run.hparams})
        for rec in run.records:
            write_json_atomic(d / f"round_{rec['round']:02d}.json", rec)
        (d / "masks_00.pt").write_bytes(b"x")
    names = collect(str(src), str(tmp_path / "results"))
    assert sorted(names) == ["IMP-Bound_0", "IMP_0"]
    assert not list((tmp_path / "results").rglob("*.pt"))
    md = render_aggregate([tmp_path / "results"], tmp_path / "agg", title="T")
    text = md.read_text()
    assert text.startswith("# T") and "| IMP | 1 |" in text
    for f in ("figure4.png", "table2.json", "spearman.json", "rounds.json"):
        assert (tmp_path / "agg" / f).stat().st_size > 0
    assert list(group_runs([]).keys()) == []


def test_bound_row_compares_with_plain_at_its_stop_density():
    dens = [1.0, 0.5, 0.1, 0.0316]
    plain = _run("IMP", 0, [0.90, 0.90, 0.85, 0.80], dens)
    bound = _run("IMP-Bound", 0, [0.90, 0.90, 0.88], [1.0, 0.6, 0.11], stop="bound_no_change")
    _, b = table2_aggregate([plain, bound])
    assert b["plain_at_stop"]["density"][0] == pytest.approx(0.1)
    assert b["plain_at_stop"]["gain"][0] == pytest.approx(0.03)
    assert "| 3.00 |" in table2_aggregate_markdown([b])


def test_compare_lengths_round_by_round():
    from adapters.torch.lth.aggregate import compare_lengths, compare_lengths_markdown

    dens = [1.0, 0.8, 0.64, 0.51]
    short = _run("IMP", 0, [0.80, 0.81, 0.82, 0.83], dens)
    long_ = _run("IMP", 0, [0.90, 0.89, 0.88], dens[:3])
    short.hparams = {"seed": 0, "training": {"iterations": 300}}
    long_.hparams = {"seed": 0, "training": {"iterations": 20000}}
    cmp = compare_lengths([long_, short])
    assert cmp["iterations"] == [300, 20000]
    (pair,) = cmp["pairs"]
    assert pair["rounds"] == 3 and pair["spearman"] == pytest.approx(-1.0)  # opposite orderings
    assert pair["best_round"] == [2, 0] and pair["mean_gap"] == pytest.approx(0.08)
    assert "20000" not in cmp["rounds"][3] and "| 3 | 51.00 | 83.00 |  |" in compare_lengths_markdown(cmp)
    with pytest.raises(ValueError, match="iterations"):
        compare_lengths([short, short])


def test_half_rate_control_is_its_own_group_and_column():
    from adapters.torch.lth.aggregate import run_label

    dens = [1.0, 0.5, 0.1]
    plain = _run("IMP", 0, [0.90, 0.88, 0.80], dens)
    half = _run("IMP", 0, [0.90, 0.89, 0.86], dens)
    bound = _run("IMP-Bound", 0, [0.90, 0.89, 0.87], [1.0, 0.6, 0.1], stop="bound_no_change")
    for r, pfc, pout in ((plain, 0.2, 0.1), (half, 0.1, 0.05), (bound, 0.2, 0.1)):
        r.hparams = {"seed": 0, "model": {"name": "lenet300"}, "pruning": {"p_fc": pfc, "p_out": pout}}
    assert [run_label(r) for r in (plain, half, bound)] == ["IMP", "IMP (p/2)", "IMP-Bound"]
    odd = _run("IMP", 0, [0.9], [1.0])
    odd.hparams = {"seed": 0, "model": {"name": "lenet300"}, "pruning": {"p_fc": 0.3, "p_out": 0.1}}
    assert run_label(odd) == "IMP (p_fc=0.3, p_out=0.1)"
    rows = table2_aggregate([bound, half, plain])
    assert [r["label"] for r in rows] == ["IMP", "IMP (p/2)", "IMP-Bound"]
    b = rows[2]
    assert b["plain_at_stop"]["gain"][0] == pytest.approx(0.07)
    assert b["half_at_stop"]["gain"][0] == pytest.approx(0.01)
