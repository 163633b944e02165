"""Sweeps: grid files, expansion, the local and Ray executors, interruption and resume, the report over a sweep."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth.grid import GridError, load_grid, parse_grid  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import load_records, run_lottery  # noqa: E402
from bipartite_expanders.adapters.torch.lth.sweep import run_sweep, summarise_error  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TINY = """
[sweep]
name = "tiny"
[base]
model.name = "lenet300"
dataset = {name = "digits", noise = [0.2]}
training.iterations = 12
pruning.rounds = 1
[grid]
pruning.pruner = ["imp", "snip"]
seed = [0, 1]
"""


def _write(tmp_path: Path, text: str, name: str = "grid.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _strip(run_dir: Path) -> list[str]:
    return [json.dumps({k: v for k, v in r.to_json().items() if k != "timing"}, sort_keys=True)
            for r in load_records(run_dir)]


# ------------------------------------------------------------------ grid files
def test_grid_expands_to_the_product_with_model_defaults_and_base(tmp_path):
    g = load_grid(_write(tmp_path, TINY))
    runs = g.runs()
    assert [(h.pruning.pruner, h.seed) for h in runs] == [("imp", 0), ("imp", 1), ("snip", 0), ("snip", 1)]
    assert all(h.training.iterations == 12 and h.dataset.noise == (0.2,) and h.pruning.rounds == 1 for h in runs)
    assert len({h.hash() for h in runs}) == 4
    # the same run built by hand has the same hash, hence the same run directory
    ref = default_hparams("lenet300", "digits", pruner="snip", rounds=1).replace(
        training={"iterations": 12}, dataset={"noise": (0.2,)}, seed=1)
    assert runs[3].hash() == ref.hash()
    # per-model defaults (the seed paper's Table 3) apply to each grid point's own model
    g2 = parse_grid({"grid": {"model": {"name": ["lenet300", "conv4"]}}})
    lr = {h.model.name: (h.training.lr, h.pruning.p_conv) for h in g2.runs()}
    assert lr == {"lenet300": (1.2e-3, 0.2), "conv4": (3e-4, 0.1)}


def test_grid_list_of_tables_is_a_union_and_duplicates_collapse():
    g = parse_grid({"base": {"pruning": {"rounds": 2}},
                    "grid": [{"pruning": {"pruner": ["imp", "snip"], "bound": False}},
                             {"pruning": {"pruner": "imp", "bound": True, "rounds": [5]}},
                             {"pruning": {"pruner": ["imp"]}}]})  # = the first table's imp run
    got = [(h.pruning.pruner, h.pruning.bound, h.pruning.rounds) for h in g.runs()]
    assert got == [("imp", False, 2), ("snip", False, 2), ("imp", True, 5)]
    # a list-valued field is swept by a list of lists
    g = parse_grid({"grid": {"dataset": {"noise": [[0.1], [0.1, 0.3]]}}})
    assert [h.dataset.noise for h in g.runs()] == [(0.1,), (0.1, 0.3)]


def test_yaml_grid_equals_toml_grid(tmp_path):
    pytest.importorskip("yaml")
    y = _write(tmp_path, "sweep: {name: tiny}\nbase:\n  model: {name: lenet300}\n  dataset: {name: digits, noise: [0.2]}\n"
                         "  training: {iterations: 12}\n  pruning: {rounds: 1}\ngrid:\n  pruning: {pruner: [imp, snip]}\n"
                         "  seed: [0, 1]\n", "grid.yaml")
    t = _write(tmp_path, TINY)
    assert [h.hash() for h in load_grid(y).runs()] == [h.hash() for h in load_grid(t).runs()]


@pytest.mark.parametrize("text, match", [
    ("[grid]\npruning.prunner = ['imp']\n", r"\[grid\]: unknown field 'pruning.prunner' \(did you mean 'pruning.pruner'\?\)"),
    ("[base]\ntraining.epochs = 3\n", r"\[base\]: unknown field 'training.epochs'"),
    ("[base]\nlr = 0.1\n", r"\[base\]: unknown field 'lr'"),
    ("[[grid]]\nseed = [0]\n[[grid]]\nmodel.nme = ['conv2']\n", r"\[\[grid\]\] #2: unknown field 'model.nme'"),
    ("[resources]\ncpus = 2\n", r"\[resources\]: unknown field 'cpus'"),
    ("[resources]\nnum_cpus = 0\n", r"num_cpus must be positive"),
    ("[sweep]\nworkers = 2\n", r"\[sweep\]: unknown field 'workers'"),
    ("[grids]\nseed = [0]\n", r"grid file: unknown field 'grids' \(did you mean 'grid'\?\)"),
    ("[grid]\npruning.pruner = ['imp', 'obd']\n", r"grid point \{pruning.pruner='obd'\}: pruner must be one of"),
    ("[grid]\ntraining.iterations = [100, 0]\n", r"training.iterations=0\}: iterations must be >= 1"),
    ("[grid]\nseed = ['one']\n", r"seed must be an integer"),
    ("[base]\ndataset.noise = 0.1\n", r"dataset.noise must be a list"),
    ("[grid]\nseed = []\n", r"'seed' has no values"),
    ("[grid\nseed = [0]\n", r"not valid TOML"),
])
def test_invalid_grid_is_a_clear_error_naming_the_key(tmp_path, text, match):
    with pytest.raises(GridError, match=match):
        load_grid(_write(tmp_path, text))


def test_invalid_grid_fails_before_anything_runs(tmp_path, capsys):
    from bipartite_expanders.cli import main

    grid = _write(tmp_path, TINY.replace("training.iterations = 12", "training.iteratons = 12"))
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--no-progress"]) == 2  # a validation error
    err = capsys.readouterr().err
    assert "unknown field 'training.iteratons'" in err and "did you mean 'training.iterations'" in err
    assert not out.exists()  # nothing started, not even the output directory
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    with pytest.raises(ValueError, match="executor"):
        run_sweep(load_grid(_write(tmp_path, TINY)), out, executor="slurm")
    with pytest.raises(ValueError, match="workers"):
        run_sweep(load_grid(_write(tmp_path, TINY)), out, workers=0)
    assert not out.exists()


def test_dry_run_lists_the_runs(tmp_path, capsys):
    from bipartite_expanders.cli import main

    assert main(["sweep", str(_write(tmp_path, TINY)), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [(d["label"], d["seed"], d["started"]) for d in lines] == [("IMP", 0, False), ("IMP", 1, False),
                                                                      ("SNIP", 0, False), ("SNIP", 1, False)]


def test_summarise_error_names_the_original_exception():
    try:
        raise FileNotFoundError("mnist: no train-images-idx3-ubyte in /nowhere")
    except FileNotFoundError as exc:
        s = summarise_error(exc)
    assert s.startswith("FileNotFoundError: mnist: no train-images") and "test_sweep.py" in s


# ------------------------------------------------------------------ executors
# the tiny grid (2 pruners x 2 seeds) plus one run that fails: mnist has no files in --data-dir
# (digits needs none), so every executor also shows that a failed run leaves the rest running
FAILING = """
[[grid]]
model.name = "lenet300"
dataset.name = "mnist"
"""


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The tiny grid and a failing run through the CLI on a local pool of 2 workers."""
    from bipartite_expanders.cli import main

    tmp = tmp_path_factory.mktemp("local")
    text = TINY.replace("[grid]", "[[grid]]") + FAILING
    path = _write(tmp, text)
    rc = main(["sweep", str(path), "--out", str(tmp / "runs"), "--workers", "2", "--data-dir", str(tmp / "nowhere"),
               "--no-progress"])
    return load_grid(path), tmp / "runs", rc


def _check_failed(manifest, nowhere_hint="nowhere"):
    by_data = {}
    for r in manifest["runs"]:
        by_data.setdefault(r["run"].split("_")[1], []).append(r)
    assert [r["status"] for r in by_data["digits"]] == ["done"] * 4
    (bad,) = by_data["mnist"]
    assert bad["status"] == "failed" and bad["error"].startswith("FileNotFoundError") and nowhere_hint in bad["error"]


def test_local_sweep_writes_each_runs_directory_and_reports_the_failed_run(local_sweep):
    grid, out, rc = local_sweep
    assert rc == 1  # one run failed, the rest of the grid ran
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["counts"] == {"done": 4, "failed": 1} and manifest["executor"] == "local"
    _check_failed(manifest)
    for r, h in zip(manifest["runs"], grid.runs()[:4]):
        recs = load_records(out / h.run_name())
        assert [x.round for x in recs] == [0, 1] and recs[-1].stop == "rounds"
        assert all(x.hparams_hash == h.hash() for x in recs)
        assert r["summary"]["rounds"] == 2 and r["summary"]["accuracy"] == recs[-1].accuracy["clean"]
    # a sweep's run equals the same run made in-process (one thread each)
    h = grid.runs()[2]
    alone = run_lottery(h, out.parent / "alone", progress=False, threads=1)
    assert _strip(alone.run_dir) == _strip(out / h.run_name())
    # a rerun does only what is missing: here nothing (no pool is even started)
    digits = dataclasses.replace(grid, axes=grid.axes[:1])
    again = run_sweep(digits, out, workers=1, progress=False)
    assert [o.status for o in again.outcomes] == ["skipped"] * 4 and all(o.attempts == 0 for o in again.outcomes)


def test_ray_sweep_gives_the_same_records_as_local(local_sweep, tmp_path):
    ray = pytest.importorskip("ray", reason="the ray executor needs the `ray` extra")
    grid, local, _ = local_sweep
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        res = run_sweep(grid, tmp_path / "runs", executor="ray", progress=False, data_dir=tmp_path / "nowhere")
    finally:
        ray.shutdown()
    assert [o.status for o in res.outcomes] == ["done"] * 4 + ["failed"]
    _check_failed(json.loads((tmp_path / "runs" / "sweep.json").read_text()))
    for h in grid.runs()[:4]:
        assert _strip(tmp_path / "runs" / h.run_name()) == _strip(local / h.run_name())


def test_interrupted_sweep_resumes_without_redoing_finished_rounds(tmp_path):
    grid_path = _write(tmp_path, TINY.replace("pruning.rounds = 1", "pruning.rounds = 3")
                       .replace('pruning.pruner = ["imp", "snip"]\nseed = [0, 1]', 'seed = [0, 1]'))
    grid = load_grid(grid_path)
    first, second = (tmp_path / "runs" / h.run_name() for h in grid.runs())
    argv = [sys.executable, "-m", "bipartite_expanders.cli", "sweep", str(grid_path), "--out", str(tmp_path / "runs"),
            "--workers", "1", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own process group: the pool's workers die with it
    try:
        deadline = time.monotonic() + 240
        while not (first / "round_01.json").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep wrote no record in time"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep dies, as on a lost node
        proc.wait()
    done = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(first.glob("round_*.json"))}
    assert 2 <= len(done) < 4 and not (second / "round_00.json").exists()
    res = run_sweep(grid, tmp_path / "runs", workers=1, progress=False)
    assert [o.status for o in res.outcomes] == ["done", "done"]
    assert res.outcomes[0].summary["resumed_from"] == len(done) and res.outcomes[1].summary["resumed_from"] is None
    for p, (data, mtime) in done.items():  # finished rounds were not redone
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime
    for h, d in zip(grid.runs(), (first, second)):
        assert len(load_records(d)) == 4
        whole = run_lottery(h, tmp_path / "whole", progress=False, threads=1)
        assert _strip(d) == _strip(whole.run_dir)


# ------------------------------------------------------------------ the report over a sweep
def test_report_over_a_sweep_aggregates_seeds_and_runs_the_counter_check(local_sweep):
    from scipy.stats import spearmanr

    from bipartite_expanders.cli import main

    grid, out, _ = local_sweep
    assert main(["report", str(out), "--out", str(out.parent / "report"), "--bands", "1", "0.9", "0"]) == 0
    rep = out.parent / "report"
    for f in ("figure4_mean.png", "table2_mean.json", "spearman.json", "report.md"):
        assert (rep / f).stat().st_size > 0, f
    rows = json.loads((rep / "table2_mean.json").read_text())
    assert [(r["label"], r["seeds"]) for r in rows] == [("IMP", [0, 1]), ("SNIP", [0, 1])]
    for r, pruner in zip(rows, ("imp", "snip")):
        dirs = [out / h.run_name() for h in grid.runs()[:4] if h.pruning.pruner == pruner]
        dense = [load_records(d)[0].accuracy["clean"] for d in dirs]
        last = [load_records(d)[-1].accuracy["clean"] for d in dirs]
        assert r["dense_accuracy"]["mean"] == pytest.approx(statistics.mean(dense))
        assert r["dense_accuracy"]["sd"] == pytest.approx(statistics.stdev(dense))
        assert r["stop"]["accuracy"]["mean"] == pytest.approx(statistics.mean(last))
    sp = json.loads((rep / "spearman.json").read_text())
    assert [b["band"] for b in sp["rows"]] == ["all", "(0.9, 1]", "(0, 0.9]"]
    recs = [r for h in grid.runs()[:4] for r in load_records(out / h.run_name())]
    rho = spearmanr([r.density["total"] for r in recs], [r.accuracy["clean"] for r in recs]).statistic
    assert sp["rows"][0]["n"] == 8 and sp["rows"][0]["metrics"]["density"]["rho"] == pytest.approx(rho)
    assert sp["rows"][1]["n"] == 4 and sp["rows"][2]["n"] == 4  # dense rounds vs pruned rounds
    md = (rep / "report.md").read_text()
    assert "mean ± sd" in md and "(a) fraction of Ramanujan layers" in md


def test_spearman_check_on_known_ranks():
    from bipartite_expanders.adapters.torch.lth.report import RunData
    from bipartite_expanders.adapters.torch.lth.report import banded_spearman as spearman_check

    def rec(d, acc, ram, ds):
        return {"round": 0, "density": {"total": d}, "accuracy": {"clean": acc, "noisy": {}},
                "census": [{"is_ramanujan": x, "mask": {"delta_s": s, "delta_r": "inf" if s > 0.5 else s}}
                           for x, s in zip(ram, ds)]}

    # band (0.5, 1]: accuracy rises with the fraction of Ramanujan layers and with Delta_S, falls with density
    recs = [rec(0.9, 0.80, [False, False], [-1, -2]), rec(0.8, 0.85, [True, False], [0.1, -1]),
            rec(0.7, 0.90, [True, True], [0.3, 0.2]), rec(0.6, 0.95, [True, True], [2.0, 3.0]),
            # band (0, 0.5]: two rounds only
            rec(0.2, 0.5, [False, False], [-1, -1]), rec(0.1, 0.4, [False, False], [-2, -2])]
    rows = spearman_check([RunData(Path("r"), {}, recs)], bands=(1.0, 0.5, 0.0))
    hi = rows[1]
    assert hi["band"] == "(0.5, 1]" and hi["n"] == 4
    assert hi["metrics"]["frac_ramanujan"]["rho"] == pytest.approx(math.sqrt(0.9))  # ties
    assert hi["metrics"]["mean_delta_s"]["rho"] == pytest.approx(1.0)
    assert hi["metrics"]["mean_delta_r"]["rho"] == pytest.approx(1.0)  # +inf margins rank highest
    assert hi["metrics"]["density"]["rho"] == pytest.approx(-1.0)
    assert rows[2]["n"] == 2 and math.isnan(rows[2]["metrics"]["density"]["rho"])  # too few rounds
    with pytest.raises(ValueError, match="bands"):
        spearman_check([], bands=(0.5, 1.0))
