"""The Table-2 reproduction: suite grids, run claims, and the across-seed aggregate / counter-check."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

pytest.importorskip("torch")

from bipartite_expanders.adapters.torch.lth.hparams import preset  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report import RunData, run_label  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report.markdown import compare_lengths_markdown, study_markdown  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report.markdown import spearman_markdown as partial_spearman_markdown  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report.stats import banded_spearman as partial_spearman  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report.stats import compare_lengths, study_table  # noqa: E402
from bipartite_expanders.adapters.torch.lth.report.study import render_study  # noqa: E402
from bipartite_expanders.adapters.torch.lth.reproduce import SUITES, claim_run, collect, suite_grid  # noqa: E402
from bipartite_expanders.files import write_json as write_json_atomic  # noqa: E402


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
    # the 5,000-iteration reference shares its run directory with `lth --preset lenet-fmnist --iterations 5000`
    (h,) = suite_grid("fmnist-long")
    assert h.hash() == preset("lenet-fmnist")[0].replace(training={"iterations": 5000}).hash()
    assert suite_grid("fmnist-long", iterations=20000)[0].hash() == preset("lenet-fmnist")[0].hash()


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
    # a live process holding the OS lock (whatever the file says) keeps its claim
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from bipartite_expanders.adapters.torch.lth.reproduce "
                               f"import claim_run; print(claim_run({str(tmp_path)!r}, 'run_c'), flush=True); "
                               "sys.stdin.readline()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        (tmp_path / ".claims" / "run_c").write_text("")
        assert not claim_run(tmp_path, "run_c")
    finally:
        holder.communicate("\n", timeout=60)
    assert claim_run(tmp_path, "run_c")  # released when its holder exited


# ------------------------------------------------------------------ synthetic records
def _record(rnd, density, acc, ram, ds, dr, label, stop=None):
    census = [{"name": f"fc{i + 1}", "role": "fc", "shape": [4, 4], "graph_shape": [4, 4], "density": density,
               "n_weights": 16, "n_kept": 8, "is_ramanujan": bool(r), "is_ramanujan_weighted": False,
               "mask": {"delta_s": s, "delta_r": q}, "weight": None, "score": None}
              for i, (r, s, q) in enumerate(zip(ram, ds, dr))]
    return {"format": 2, "hparams_hash": "h", "run": "r", "round": rnd, "label": label,
            "density": {"total": density, "layers": {}}, "timing": {"total_s": 1.0}, "loss": {},
            "accuracy": {"clean": acc, "noisy": {"0.1": acc - 0.01, "0.3": acc - 0.1}}, "decisions": None,
            "prune": {}, "census": census, "regime": "partially", "regime_weighted": "non", "stop": stop}


def _run(label, seed, accs, densities, stop="rounds", p_fc=0.2, p_out=0.1, iterations=300):
    recs = [_record(i, d, a, [1, i % 2, 0], [0.5 - 0.1 * i, 0.1, "inf"], [0.2, "nan", 0.3], label,
                    stop if i == len(accs) - 1 else None)
            for i, (a, d) in enumerate(zip(accs, densities))]
    hp = {"seed": seed, "model": {"name": "lenet300"}, "dataset": {"name": "digits"},
          "training": {"iterations": iterations},
          "pruning": {"pruner": label.split("-")[0].lower(), "bound": "-Bound" in label, "p_fc": p_fc, "p_out": p_out}}
    return RunData(Path(f"/x/{label}_{seed}_{p_fc}_{iterations}"), hp, recs)


def test_run_label_marks_the_half_rate_control():
    dens = [1.0]
    assert run_label(_run("IMP", 0, [0.9], dens)) == "IMP"
    assert run_label(_run("IMP", 0, [0.9], dens, p_fc=0.1, p_out=0.05)) == "IMP (p/2)"
    assert run_label(_run("IMP-Bound", 0, [0.9], dens)) == "IMP-Bound"
    assert run_label(_run("IMP", 0, [0.9], dens, p_fc=0.3)) == "IMP (p_fc=0.3, p_out=0.1)"


def test_study_table_by_hand():
    dens = [1.0, 0.5, 0.1, 0.0316, 0.012, 0.0098]
    a = _run("IMP", 0, [0.90, 0.90, 0.89, 0.88, 0.80, 0.70], dens)
    b = _run("IMP", 1, [0.92, 0.91, 0.90, 0.86, 0.82, 0.74], dens)
    h = _run("IMP", 0, [0.90, 0.90, 0.90, 0.89, 0.85, 0.80], dens, p_fc=0.1, p_out=0.05)
    c = _run("IMP-Bound", 0, [0.90, 0.90, 0.895], [1.0, 0.9, 0.11], stop="bound_no_change")
    c.records[0]["prune"] = {"decisions": {"fc1": {"accepted": True, "k": 1, "rule": "unweighted"},
                                           "fc2": {"accepted": True, "k": 2, "rule": "weighted"}}}
    c.records[1]["prune"] = {"decisions": {"fc1": {"accepted": True, "k": 1, "rule": "weighted"},
                                           "fc2": {"accepted": False, "k": None, "rule": None}}}
    rows = study_table([c, b, h, a])
    assert [r["label"] for r in rows] == ["IMP", "IMP (p/2)", "IMP-Bound"]
    imp, half, bound = rows
    assert imp["seeds"] == [0, 1] and imp["finished"] == [True, True]
    m = imp["at_0.0316"]["accuracy"]
    assert m["n"] == 2 and m["mean"] == pytest.approx(0.87) and m["sd"] == pytest.approx(np.std([0.88, 0.86], ddof=1))
    # 1 % lies between the rounds at 1.2 % and 0.98 %: interpolated on log density within each seed
    u = math.log(0.012 / 0.01) / math.log(0.012 / 0.0098)
    at1 = imp["at_0.01"]["accuracy"]
    assert imp["at_0.01"]["density"] == 0.01 and at1["values"] == pytest.approx([0.80 - 0.10 * u, 0.82 - 0.08 * u])
    assert at1["mean"] == pytest.approx(0.81 - 0.09 * u)
    assert "at_0.0316" not in bound and bound["stop"]["density"]["mean"] == pytest.approx(0.11)
    assert bound["stop"]["reasons"] == ["bound_no_change"]
    # only seed 0 has a bound run; it stops at 11 %, between plain IMP seed 0's rounds at 50 % (0.90) and
    # 10 % (0.89): interpolated on log density, the plain accuracy there is 0.90 - 0.01 * t
    t = math.log(0.5 / 0.11) / math.log(0.5 / 0.1)
    assert bound["plain_at_stop"]["n"] == 1
    assert bound["plain_at_stop"]["accuracy"]["mean"] == pytest.approx(0.90 - 0.01 * t)
    assert bound["plain_at_stop"]["gain"]["mean"] == pytest.approx(0.895 - (0.90 - 0.01 * t))
    assert bound["half_at_stop"]["gain"]["mean"] == pytest.approx(-0.005)  # p/2 control: 0.90 at 50 % and 10 %
    assert bound["decisions"] == {"accepted": 3, "k1": pytest.approx(2 / 3), "weighted": pytest.approx(2 / 3)}
    md = study_markdown(rows)
    assert "| 67 / 67 (of 3) |" in md
    lo, hi = scipy.stats.t.interval(0.95, 1, loc=0.87, scale=0.01)
    assert "| IMP | 2 (2) | 6 ± 0 | 91.00 ± 1.41 |" in md and f"87.00 [{100 * lo:.2f}, {100 * hi:.2f}] (n=2: 88.00 86.00)" in md
    assert "| -0.50 (n=1: -0.50) |" in md  # Bound − plain p/2, one seed: no interval
    assert "| +0.44 (n=1: +0.44) |" in md  # Bound − plain at matched density, in points


def _rank_partial(x, y, z):
    """Partial rank correlation by regression: correlate the residuals of rank(x), rank(y) on rank(z)."""
    rx, ry, rz = (rankdata(v) for v in (x, y, z))
    A = np.column_stack([np.ones_like(rz), rz])
    ex = rx - A @ np.linalg.lstsq(A, rx, rcond=None)[0]
    ey = ry - A @ np.linalg.lstsq(A, ry, rcond=None)[0]
    return float(ex @ ey / np.sqrt((ex @ ex) * (ey @ ey)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.21, 0.5), st.floats(0, 1), st.floats(-1, 5)),
                min_size=5, max_size=25, unique_by=lambda t: t[0]))
def test_partial_spearman_matches_independent_computation(pts):
    recs = [{"round": i, "density": {"total": d}, "accuracy": {"clean": a, "noisy": {"0.3": 2 * a}},
             "census": [{"is_ramanujan": s > 0, "mask": {"delta_s": s, "delta_r": "nan"}}]}
            for i, (d, a, s) in enumerate(pts)]
    run = RunData(Path("r"), {}, recs)
    res = partial_spearman([run], bands=(0.5, 0.2))
    assert [r["band"] for r in res] == ["all", "(0.2, 0.5]"] and res[0]["n"] == res[1]["n"] == len(pts)
    x = np.array([p[2] for p in pts])
    y = np.array([p[1] for p in pts])
    z = np.array([p[0] for p in pts])
    e = res[1]["metrics"]["mean_delta_s"]
    assert res[1]["metrics"]["mean_delta_r"]["n"] == 0 and math.isnan(res[1]["metrics"]["mean_delta_r"]["rho"])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert math.isnan(e["rho"])
        return
    assert e["rho"] == pytest.approx(np.corrcoef(rankdata(x), rankdata(y))[0, 1], abs=1e-9)  # Pearson of ranks
    r_xz = abs(np.corrcoef(rankdata(x), rankdata(z))[0, 1])
    r_yz = abs(np.corrcoef(rankdata(y), rankdata(z))[0, 1])
    if max(r_xz, r_yz) < 0.999:
        assert e["partial"] == pytest.approx(_rank_partial(x, y, z), abs=1e-7)
    noisy = partial_spearman([run], bands=(0.5, 0.2), accuracy="0.3")  # 2 * accuracy: the same ranks
    assert noisy[1]["metrics"]["mean_delta_s"]["rho"] == pytest.approx(e["rho"])


def test_partial_spearman_edges_and_markdown():
    runs = [_run("IMP", 0, [0.9, 0.8, 0.7, 0.5], [0.5, 0.4, 0.35, 0.05])]
    allb, high, low = partial_spearman(runs, bands=(1.0, 0.3, 0.0))
    assert (allb["n"], high["n"], low["n"]) == (4, 3, 1)
    assert high["metrics"]["density"]["rho"] == pytest.approx(1.0)
    assert math.isnan(high["metrics"]["density"]["partial"])
    assert math.isnan(high["metrics"]["mean_delta_s"]["rho"])  # +inf in every round: constant
    md = partial_spearman_markdown([allb, high, low])
    assert "n/a (constant)" in md and "| (0.3, 1] | 3 |" in md and "| (0, 0.3] | 1 | - |" in md


def test_compare_lengths_round_by_round():
    dens = [1.0, 0.8, 0.64, 0.51]
    short = _run("IMP", 0, [0.80, 0.81, 0.82, 0.83], dens, iterations=300)
    long_ = _run("IMP", 0, [0.90, 0.89, 0.88], dens[:3], iterations=20000)
    cmp = compare_lengths([long_, short])
    assert cmp["iterations"] == [300, 20000]
    (pair,) = cmp["pairs"]
    assert pair["rounds"] == 3 and pair["spearman"] == pytest.approx(-1.0)  # opposite orderings
    assert pair["best_round"] == [2, 0] and pair["mean_gap"] == pytest.approx(0.08)
    assert "20000" not in cmp["rounds"][3] and "| 3 | 51.00 | 83.00 |  |" in compare_lengths_markdown(cmp)
    with pytest.raises(ValueError, match="iterations"):
        compare_lengths([short, short])


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
    assert len(names) == 2
    assert not list((tmp_path / "results").rglob("*.pt"))
    md = render_study([tmp_path / "results"], tmp_path / "study", title="T")
    text = md.read_text()
    assert text.startswith("# T") and "| IMP | 1 (1) | 3 |" in text and "| IMP-Bound | 1 (1) | 2 |" in text
    for f in ("overlay.png", "study.json", "spearman_partial.json"):
        assert (tmp_path / "study" / f).stat().st_size > 0


def test_collect_slims_floats_and_candidates(tmp_path):
    import json

    rec = _record(0, 1.0, 0.123456789123, [1], [0.5], [0.25], "IMP-Bound")
    rec["prune"] = {"decisions": {"fc1": {"k": 1, "accepted": True, "candidates": [{"k": 1, "t2": 3.0}]}}}
    rec["census"][0]["mask"]["delta_s"] = "inf"
    d = tmp_path / "runs" / "r1"
    d.mkdir(parents=True)
    write_json_atomic(d / "hparams.json", {"hash": "h", "hparams": {"seed": 0}})
    write_json_atomic(d / "round_00.json", rec)
    collect(str(tmp_path / "runs"), str(tmp_path / "out"))
    got = json.loads((tmp_path / "out" / "r1" / "round_00.json").read_text())
    assert got["accuracy"]["clean"] == 0.1234568
    assert got["prune"]["decisions"]["fc1"] == {"k": 1, "accepted": True}
    assert got["census"][0]["mask"] == {"delta_s": "inf", "delta_r": 0.25}
    collect(str(tmp_path / "runs"), str(tmp_path / "full"), slim=False)
    assert json.loads((tmp_path / "full" / "r1" / "round_00.json").read_text()) == json.loads(json.dumps(rec))


def test_overlay_styles_tell_every_configuration_apart():
    from bipartite_expanders.adapters.torch.lth.report.figures import overlay_styles

    labels = ["IMP", "IMP (p/2)", "IMP-Bound", "IMP-Bound (p first)", "IMP-Bound (random rejection)",
              "IMP-Bound (unweighted test only)", "SynFlow", "SynFlow (scored once)", "SynFlow (scored once) (p/2)",
              "SynFlow-Bound", "SynFlow-Bound (p first)"]
    palette = ["Blues", "Oranges"]
    s = overlay_styles(labels, palette)
    assert len(set(s.values())) == len(labels)  # no two configurations drawn alike
    # nor in one colour: every configuration of a family its own shade
    assert len({v[2] for v in s.values()}) == len(labels)
    assert s["IMP"][:2] == ("-", ".") and s["IMP (p/2)"][:2] == (":", "+") and s["IMP-Bound"][:2] == ("--", "x")
    imp = [v[2] for k, v in s.items() if k.startswith("IMP")]
    syn = [v[2] for k, v in s.items() if k.startswith("SynFlow")]
    assert all(b > r for r, _, b in imp) and all(r > b for r, _, b in syn)  # blue family, orange family
    assert sum(s["IMP"][2]) < sum(s["IMP-Bound (unweighted test only)"][2])  # plain darkest, the rest lighter
    # the same control of two pruners: the same style, each in its own pruner's shade
    assert s["IMP-Bound (p first)"][:2] == s["SynFlow-Bound (p first)"][:2]
    assert s["IMP-Bound (p first)"][2] != s["SynFlow-Bound (p first)"][2]
    assert all(0.0 <= c <= 1.0 for v in s.values() for c in v[2])
    assert overlay_styles([], palette) == {}


def test_density_ticks_label_narrow_ranges():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bipartite_expanders.adapters.torch.lth.report.figures import density_ticks, noise_styles

    @settings(max_examples=300, deadline=None)
    @given(st.floats(0.001, 80.0), st.floats(1.3, 1e4))
    def check(lo, ratio):
        ticks = density_ticks(lo, lo * ratio)
        assert len(ticks) >= 3 and all(lo <= t <= lo * ratio for t in ticks)
        assert ticks == sorted(ticks, reverse=True) and len(set(ticks)) == len(ticks)

    check()
    assert density_ticks(0.5, 120) == [100, 50, 20, 10, 5, 2, 1, 0.5]  # the 1-2-5 labels when they suffice
    # two noise levels never share a colour, also across runs evaluated at different levels
    s = noise_styles(["0.3", "0.1", "0.2", "0.3"])
    assert len({c for c, _ in s.values()}) == 3 and len({m for _, m in s.values()}) == 3
    with pytest.raises(ValueError, match="noise levels"):
        noise_styles([str(i) for i in range(1, 7)])
