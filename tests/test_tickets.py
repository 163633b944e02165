"""Issue 15: tickets kept and loadable, the run-directory contract, strict grids and flags, the
census of any checkpoint, torch-free reports, scoring modes, the pruner registry."""

import errno
import json
import re
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth import hparams as hparams_mod  # noqa: E402
from bipartite_expanders.adapters.torch.lth import rundir  # noqa: E402
from bipartite_expanders.adapters.torch.lth.data import load_dataset  # noqa: E402
from bipartite_expanders.adapters.torch.lth.grid import GridError, parse_grid  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import Hparams, Pruner, PruningHparams, TrainingHparams, default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import evaluate_round, make_context, run_lottery, stop_reason  # noqa: E402
from bipartite_expanders.adapters.torch.lth.tickets import folded_state_dict, load_ticket, read_masks, unpack_mask, pack_mask  # noqa: E402
from bipartite_expanders.adapters.torch.lth.training import evaluate  # noqa: E402
from bipartite_expanders.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _tiny(bound=False, rounds=2, iterations=30, pruner="imp"):
    h = default_hparams("lenet300", "digits", pruner=pruner, rounds=rounds, bound=bound)
    return h.replace(training={"iterations": iterations}, dataset={"noise": (0.2,)})


def _strip(records):
    return [json.dumps({k: v for k, v in r.to_json().items() if k != "timing"}, sort_keys=True) for r in records]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-round run (every round's masks and weights kept) and its records."""
    out = tmp_path_factory.mktemp("finished")
    res = run_lottery(_tiny(rounds=2), out, progress=False)
    return res


# ------------------------------------------------------------------ 1. tickets
def test_every_round_keeps_its_masks_and_weights(finished):
    d = finished.run_dir
    for r in range(3):
        assert rundir.masks_path(d, r).is_file() and rundir.weights_path(d, r).is_file()
    assert not rundir.masks_path(d, 3).exists()  # the run stopped: no next round
    # the masks file is what round r trained with: its density is the record's
    for rec in finished.records:
        masks = read_masks(rundir.masks_path(d, rec.round))
        for name, m in masks.items():
            assert int(m.sum()) / m.numel() == pytest.approx(rec.density["layers"][name], rel=1e-6)
    # bit-packed: one bit per weight
    n = 64 * 300 + 300 * 100 + 100 * 10
    assert rundir.masks_path(d, 1).stat().st_size < n / 8 + 4000


def test_pack_mask_round_trips_odd_sizes():
    rng = np.random.default_rng(0)
    for shape in [(1,), (3, 5), (7, 3, 3, 3)]:
        m = torch.from_numpy(rng.random(shape) < 0.4)
        assert torch.equal(unpack_mask(pack_mask(m)), m)


def test_trained_ticket_reproduces_the_recorded_accuracy_exactly(finished):
    h = finished.hparams
    ds = load_dataset(h.dataset.name, seed=h.seed)
    ctx = make_context(h, finished.run_dir, ds)
    for rec in finished.records:
        model = load_ticket(finished.run_dir, round=rec.round, weights="trained")
        ev = evaluate_round(model, ctx)
        assert ev["accuracy"] == rec.accuracy  # exactly, clean and noisy
        assert ev["loss"]["clean"] == rec.loss["clean"]
        assert ev["density"] == rec.density
        assert hasattr(model.fc1, "weight_orig") and hasattr(model.fc1, "weight_mask")  # torch.nn.utils.prune
    # the last round by default; the rewind ticket has the same masks, other weights
    last = load_ticket(finished.run_dir)
    trained = load_ticket(finished.run_dir, weights="trained")
    assert torch.equal(last.fc1.weight_mask, trained.fc1.weight_mask)
    assert not torch.equal(last.fc1.weight, trained.fc1.weight)
    # folded into a plain state_dict: loads into a fresh unpruned model, same outputs
    from bipartite_expanders.adapters.torch.lth.models import build_model

    plain = build_model("lenet300", input_shape=(1, 8, 8), num_classes=10)
    sd = folded_state_dict(trained)
    assert not any(k.endswith(("_orig", "_mask")) for k in sd)
    plain.load_state_dict(sd)
    xt = ctx.tests["clean"]
    assert evaluate(plain, xt, ctx.y_test) == evaluate(trained, xt, ctx.y_test)
    assert float((sd["fc1.weight"] != 0).float().mean()) == pytest.approx(finished.records[-1].density["layers"]["fc1"])
    with pytest.raises(ValueError, match="round"):
        load_ticket(finished.run_dir, round=7)
    with pytest.raises(ValueError, match="weights"):
        load_ticket(finished.run_dir, weights="best")


@pytest.mark.parametrize("keep", ["last", "none"])
def test_keep_weights(tmp_path, keep):
    res = run_lottery(_tiny(rounds=2, iterations=20), tmp_path, progress=False, keep_weights=keep)
    kept = sorted(p.name for p in res.run_dir.glob("weights_*.pt"))
    assert kept == (["weights_02.pt"] if keep == "last" else [])
    assert len(list(res.run_dir.glob("masks_*.pt"))) == 3  # masks always
    if keep == "none":
        with pytest.raises(ValueError, match="not kept"):
            load_ticket(res.run_dir, weights="trained")
        assert load_ticket(res.run_dir, round=1) is not None  # the rewind ticket needs no trained weights
    with pytest.raises(ValueError, match="keep_weights"):
        run_lottery(_tiny(), tmp_path, progress=False, keep_weights="some")


# ------------------------------------------------------------------ 2. damaged and foreign records
@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run_lottery(_tiny(rounds=3, iterations=20), tmp_path_factory.mktemp("whole"), progress=False)


def _partial_run(tmp_path, rounds_done):
    h = _tiny(rounds=3, iterations=20)
    res = run_lottery(h, tmp_path, progress=False, stop_after=rounds_done)
    return h, res.run_dir


@pytest.mark.parametrize("damage", ["truncate", "garble", "{}", "[]", "null", "foreign", "wrong-round", "format"])
def test_damaged_last_record_is_moved_aside_and_redone(tmp_path, whole, damage):
    h, d = _partial_run(tmp_path, 2)
    last = rundir.record_path(d, 2)
    text = last.read_text()
    if damage == "truncate":
        last.write_text(text[: len(text) // 2])
    elif damage == "garble":
        last.write_text(text.replace(",", ";", 3))
    elif damage in ("{}", "[]", "null"):
        last.write_text(damage)
    elif damage == "foreign":
        last.write_text(text.replace(h.hash(), "f" * 64))
    elif damage == "wrong-round":
        rundir.record_path(d, 1).replace(last)  # round 1's record under round 2's name
        run_lottery(h, tmp_path, progress=False, stop_after=1)  # redo round 1 first
    else:
        last.write_text(text.replace('"format":2', '"format":99'))
    # the report names the file instead of a bare JSON error
    with pytest.raises(rundir.RecordError, match="round_02.json"):
        rundir.read_records(d)
    with pytest.warns(RuntimeWarning, match="round_02.json"):
        res = run_lottery(h, tmp_path, progress=False)
    assert (d / "round_02.json.damaged").is_file()
    assert _strip(res.records) == _strip(whole.records)


def test_damaged_masks_file_redoes_the_round_before(tmp_path, whole):
    h, d = _partial_run(tmp_path, 1)
    rundir.masks_path(d, 2).write_bytes(b"not a torch file")
    with pytest.warns(RuntimeWarning, match="masks_02.pt"):
        res = run_lottery(h, tmp_path, progress=False)
    assert (d / "round_01.json.damaged").is_file() and (d / "masks_02.pt.damaged").is_file()
    assert _strip(res.records) == _strip(whole.records)


def test_damaged_rewind_point_is_named_and_its_round_redone(tmp_path, whole):
    """Issue 27: round 0's record names rewind.pt with its SHA-256; a damaged one is moved aside
    with a warning naming it and round 0 is redone (deterministic: the same records)."""
    h, d = _partial_run(tmp_path, 0)
    rundir.rewind_path(d).write_bytes(b"\x00" * 10)
    with pytest.warns(RuntimeWarning, match=r"rewind.pt: content differs .* round 0 is redone"):
        res = run_lottery(h, tmp_path, progress=False)
    assert (d / "rewind.pt.damaged").is_file()
    assert _strip(res.records) == _strip(whole.records)


def test_a_second_writer_is_refused_and_a_dead_writers_lock_taken_over(tmp_path):
    h = _tiny(rounds=1, iterations=20)
    d = tmp_path / h.run_name()
    d.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rundir.lock_path(d).write_text(f"{other.pid} {os.uname().nodename}\n")
        with pytest.raises(rundir.RunLockedError, match=f"PID {other.pid}"):
            run_lottery(h, tmp_path, progress=False)
    finally:
        other.kill()
        other.wait()
    res = run_lottery(h, tmp_path, progress=False)  # its holder is gone: taken over
    assert [r.round for r in res.records] == [0, 1] and not rundir.lock_path(d).exists()


def test_disk_full_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    import bipartite_expanders.files as files

    real = files.os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") and "rewind.pt" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", full)
    rc = main(["lth", "--rounds", "1", "--iterations", "20", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert "No space left on device" in err[0] and "rewind.pt" in err[0]


# ------------------------------------------------------------------ 3. flags and start-up
def test_lth_help_works(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lth", "--help"])
    assert exc.value.code == 0 and "--keep-weights" in capsys.readouterr().out


@pytest.mark.parametrize("flags,match", [
    (["--threads", "0"], "--threads"), (["--rounds", "-1"], "--rounds"), (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"), (["--noise", "inf"], "--noise"), (["--target-density", "0"], "--target-density"),
    (["--iterations", "0"], "--iterations"), (["--stop-after", "-2"], "--stop-after"),
    (["--batch-size", "0"], "--batch-size"),
    # issue 27: huge values name their flag before anything runs
    (["--iterations", str(10**20)], "--iterations"), (["--seed", str(2**64)], "--seed"),
    (["--seed", str(10**13)], "--seed"), (["--noise", "1e308"], "--noise"), (["--threads", "1000000"], "--threads"),
    (["--rewind-iter", str(10**20)], "--rewind-iter"),
])
def test_bad_flags_are_errors_naming_the_flag_and_leave_nothing(tmp_path, capsys, flags, match):
    """A validation error exits 2 (as argparse's own errors do), in one line naming the flag."""
    out = tmp_path / "runs"
    assert main(["lth", "--out", str(out), "--no-progress", *flags]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_data_set_leaves_no_run_directory(tmp_path, capsys):
    out = tmp_path / "runs"
    rc = main(["lth", "--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--out", str(out), "--no-progress"])
    assert rc == 1 and "nowhere" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ 4. strict grids and hyperparameters
@pytest.mark.parametrize("base,match", [
    ({"pruning": {"bound": ["false"]}}, "bound must be a bool"),
    ({"training": {"iterations": [20.7]}}, "iterations must be an int"),
    ({"pruning": {"rounds": [True]}}, "rounds must be an int"),
    ({"training": {"lr": [math.inf]}}, "lr must be finite"),
    ({"training": {"lr": ["0.1"]}}, "lr must be a float"),
    ({"seed": [1.0]}, "seed must be an int"),
    ({"dataset": {"noise": [[math.nan]]}}, "noise"),
])
def test_grids_do_not_coerce(base, match):
    with pytest.raises(GridError, match=match):
        parse_grid({"grid": base})


def test_empty_grid_is_an_error():
    for doc in ({}, {"sweep": {"name": "x"}}, {"grid": {}}):
        with pytest.raises(GridError, match="no runs"):
            parse_grid(doc)


def test_hparams_are_strict_and_new_fields_keep_the_hash():
    with pytest.raises(TypeError, match="iterations"):
        TrainingHparams(iterations=20.0)
    with pytest.raises(TypeError, match="bound"):
        PruningHparams(bound=1)
    with pytest.raises(ValueError, match="momentum must be finite"):
        TrainingHparams(momentum=math.nan)
    with pytest.raises(ValueError, match="unknown field training.lrr"):
        Hparams.from_dict({"training": {"lrr": 1}})
    h = default_hparams("lenet300", "digits")
    assert h.hash(algorithm=1) == "9eab3175c51f3b110d8532456d12ef7ca6440586afd7523d52f7aa820cb8dbdd"  # as pinned before
    assert h.replace(pruning={"score_mode": "train"}).hash() != h.hash()
    assert "score_mode" not in h.canonical()["pruning"] and h.to_dict()["pruning"]["score_mode"] == "default"


# ------------------------------------------------------------------ 5. census of any checkpoint
def _dense_reference(b):
    s = np.linalg.svd(b, compute_uv=False)
    return s[0], s[1]


def test_census_of_a_state_dict_with_prune_pairs_and_a_grouped_conv(tmp_path, capsys):
    import torch.nn.utils.prune as prune
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    prune.random_unstructured(model[3], "weight", amount=0.5)  # *_orig / *_mask pair
    path = tmp_path / "sd.pt"
    torch.save(model.state_dict(), path)
    assert main(["census", str(path), "--groups", "2", "--json", "--no-cover", "--scope", "all"]) == 0
    res = json.loads(capsys.readouterr().out)
    conv, fc = res["layers"]
    assert (conv["name"], fc["name"]) == ("0", "3")
    # the grouped conv: block-diagonal unfolded (in*k*k) x out graph, 2 blocks
    w = model[0].weight.detach().double().numpy()
    b = np.zeros((4 * 9, 8))
    for g in range(2):
        blk = w[4 * g:4 * g + 4].reshape(4, -1).T  # (2*9) x 4 of group g
        b[18 * g:18 * g + 18, 4 * g:4 * g + 4] = np.abs(blk)
    t1, t2 = _dense_reference(b)
    assert conv["graph_shape"] == [36, 8] and conv["weight"]["t1"] == pytest.approx(t1, rel=1e-5)
    assert conv["weight"]["t2"] == pytest.approx(t2, rel=1e-5)
    m = model[3].weight_mask.numpy()
    assert fc["density"] == pytest.approx(m.mean()) and fc["n_kept"] == int(m.sum())
    mt1, mt2 = _dense_reference(m.T)
    assert fc["mask"]["t1"] == pytest.approx(mt1, rel=1e-6) and fc["mask"]["t2"] == pytest.approx(mt2, rel=1e-6)
    # a plain (folded) state_dict: the mask is the non-zero pattern
    torch.save({"state_dict": {"3.weight": (model[3].weight_orig * model[3].weight_mask).detach()}}, path)
    assert main(["census", str(path), "--no-cover"]) == 0
    table = capsys.readouterr().out
    assert re.search(r"\| 3 \| (ramanujan|not_ramanujan|undecided|undefined) \| 5x128 \| 128x5 \| 50.00 \|", table)
    # errors name the argument or file
    assert main(["census", str(path), "--groups", "x"]) == 2  # a validation error (issue 27)
    assert "--groups" in capsys.readouterr().err
    path.write_bytes(b"junk")
    assert main(["census", str(path)]) == 1
    assert "sd.pt" in capsys.readouterr().err


def test_census_of_a_run_directory_matches_its_record(finished, capsys):
    assert main(["census", str(finished.run_dir), "--round", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rec = finished.records[1]
    assert res["round"] == 1 and res["weights"] == "trained" and res["regime"] == rec.regime
    for got, want in zip(res["layers"], rec.census):
        assert got["name"] == want.name and got["n_kept"] == want.n_kept
        assert got["mask"]["t2"] == pytest.approx(want.mask["t2"], rel=1e-9)
        assert got["weight"]["t1"] == pytest.approx(want.weight["t1"], rel=1e-9)


# ------------------------------------------------------------------ 6. reports without torch, old records
def test_report_runs_with_torch_unimportable(finished, tmp_path):
    # a finder that refuses torch (sys.modules['torch'] = None would also break scipy's own torch probe)
    code = ("import sys, importlib.abc\n"
            "class NoTorch(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ModuleNotFoundError('torch made unimportable by the test', name=name)\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from bipartite_expanders.cli import main\n"
            f"rc = main(['report', {str(finished.run_dir)!r}, '--out', {str(tmp_path / 'rep')!r}])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.startswith("# Lottery-ticket report\n\nbipartite-expanders ") and "commit `" in md
    assert "## Hyperparameters" in md and "`training.iterations` = 30" in md


def test_committed_format_1_records_still_load_in_the_reports():
    from bipartite_expanders.adapters.torch.lth.report import load_runs, table2

    # the 300-iteration Fashion-MNIST grid: record format 1, algorithm version 1 (digits was
    # regenerated with version 2)
    runs = load_runs([REPO / "docs" / "results" / "fmnist"])
    assert runs and all(r.records[0]["format"] == 1 for r in runs)
    rows = table2(runs)
    bound = [r for r in rows if "-Bound" in r["label"]]
    assert bound and all(r["plain_at_stop"] is None or r["plain_at_stop"]["run"] for r in bound)


def test_a_format_1_run_is_not_resumed(tmp_path):
    import shutil

    src = next((REPO / "docs" / "results" / "fmnist").glob("lenet300_fashion-mnist_imp_*"))
    d = tmp_path / src.name
    shutil.copytree(src, d)
    h = Hparams.from_dict(json.loads((d / "hparams.json").read_text())["hparams"])
    # today's code names its run elsewhere (the algorithm version is hashed) and, pointed at the
    # old directory, refuses it, finished or not
    assert h.run_name() != d.name and h.hash(algorithm=1)[:12] == d.name[-12:]
    with pytest.raises(rundir.RunDirError, match="algorithm version 1"):
        run_lottery(h, tmp_path, progress=False, run_dir=d)
    max(d.glob("round_*.json")).unlink()  # unfinished: would have to resume
    with pytest.raises(rundir.RunDirError, match="algorithm version 1"):
        run_lottery(h, tmp_path, progress=False, run_dir=d)
    assert not (tmp_path / h.run_name()).exists()


def test_table2_interpolates_the_plain_run_at_the_bound_density():
    from bipartite_expanders.adapters.torch.lth.report import RunData, table2

    def rec(rnd, dens, acc, label, stop=None):
        return {"round": rnd, "density": {"total": dens}, "accuracy": {"clean": acc, "noisy": {}}, "label": label,
                "stop": stop, "census": [], "regime": "fully"}

    hp = {"model": {"name": "lenet300"}, "dataset": {"name": "digits"}, "training": {}, "analysis": {}, "seed": 0,
          "pruning": {"pruner": "imp"}}
    plain = RunData(Path("p"), {**hp, "pruning": {"pruner": "imp", "bound": False}},
                    [rec(0, 1.0, 0.9, "IMP"), rec(1, 0.0477, 0.88, "IMP"), rec(2, 0.0254, 0.80, "IMP", "rounds")])
    bound = RunData(Path("b"), {**hp, "pruning": {"pruner": "imp", "bound": True}},
                    [rec(0, 1.0, 0.9, "IMP-Bound"), rec(1, 0.0458, 0.885, "IMP-Bound", "bound_no_change")])
    other_seed = RunData(Path("o"), {**hp, "seed": 1}, plain.records)
    rows = table2([other_seed, plain, bound])
    row = rows[-1]
    t = math.log(0.0477 / 0.0458) / math.log(0.0477 / 0.0254)
    assert row["label"] == "IMP-Bound, seed 0" and row["plain_at_stop"]["run"] == "p"
    assert row["plain_at_stop"]["accuracy"] == pytest.approx(0.88 + t * (0.80 - 0.88))
    assert row["plain_at_stop"]["gain"] == pytest.approx(0.885 - (0.88 + t * (0.80 - 0.88)))
    assert rows[0]["label"] == "IMP, seed 1"


# ------------------------------------------------------------------ 7. steps, registry, scoring modes
def test_stop_reason_is_a_step_of_its_own():
    h = _tiny(rounds=5).replace(pruning={"target_density": 0.3})
    assert stop_reason(h, 5, 0.9, True) == "rounds"
    assert stop_reason(h, 2, 0.3, True) == "target_density"
    assert stop_reason(h, 2, 0.5, False) is None  # plain pruning does not stop on no change
    assert stop_reason(h.replace(pruning={"bound": True}), 2, 0.5, False) == "bound_no_change"


def test_a_new_pruner_is_one_registry_entry(tmp_path, monkeypatch):
    monkeypatch.setitem(hparams_mod.PRUNERS, "imp-coarse", Pruner("IMP-coarse", "magnitude", options=(("levels", 1),)))
    h = _tiny(rounds=1, iterations=20, pruner="imp-coarse", bound=True)
    res = run_lottery(h, tmp_path, progress=False)
    assert res.records[0].label == "IMP-coarse-Bound"
    # levels=1: Algorithm 1 tries the full rate once only, so every decision has k <= 1
    assert all(d["k"] in (None, 0, 1) for d in res.records[0].prune["decisions"].values())


def test_snip_scores_in_eval_mode_and_grasp_in_train_mode_by_default():
    from torch import nn

    from bipartite_expanders.adapters.torch.scores import grasp, snip

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))
    model.train()
    with torch.no_grad():  # running statistics unlike the batch's, so the modes differ
        model[1].running_mean.fill_(3.0)
        model[1].running_var.fill_(9.0)
    batches = [(torch.randn(32, 6), torch.randint(0, 3, (32,)))]
    s_default, s_eval, s_train = snip(model, batches), snip(model, batches, train_mode=False), snip(model, batches, train_mode=True)
    assert all(torch.equal(s_default[k], s_eval[k]) for k in s_eval)
    assert not all(torch.allclose(s_train[k], s_eval[k]) for k in s_eval)
    g_default, g_train = grasp(model, batches), grasp(model, batches, train_mode=True)
    assert all(torch.equal(g_default[k], g_train[k]) for k in g_train)
    assert model.training  # the caller's mode is restored
    assert PruningHparams(pruner="snip").train_mode is False and PruningHparams(pruner="grasp").train_mode is True
    assert PruningHparams(pruner="snip", score_mode="train").train_mode is True


def test_run_record_types_round_trip(finished):
    for rec in finished.records:
        again = rundir.RoundRecord.from_json(json.loads(json.dumps(rec.to_json())))
        assert again == rec
    with pytest.raises(ValueError, match="census\\[0\\].*n_kept"):
        bad = finished.records[0].to_json()
        del bad["census"][0]["n_kept"]
        rundir.RoundRecord.from_json(bad)


def test_the_steps_of_a_round_run_alone(tmp_path):
    from bipartite_expanders.adapters.torch.lth.models import build_model
    from bipartite_expanders.adapters.torch.lth.runner import census_round, make_record, score_and_prune, train_round, write_round
    import copy

    from bipartite_expanders.adapters.torch.masks import ensure_masks, get_masks, total_density

    h = _tiny(rounds=1, iterations=20, pruner="snip")
    ctx = make_context(h, tmp_path, load_dataset("digits", seed=0), keep_weights="all")
    model = ensure_masks(build_model("lenet300", input_shape=ctx.input_shape, seed=0))
    res, rewind_state = train_round(model, ctx, 0, None)
    assert res.iterations == 20 and set(rewind_state) >= {"fc1.weight", "fc1.bias"}
    ev = evaluate_round(model, ctx)
    assert ev["density"]["total"] == 1.0 and 0 < ev["accuracy"]["clean"] <= 1
    trained = copy.deepcopy(model)
    pr = score_and_prune(model, ctx, 0)
    assert pr.changed and total_density(model) < 1 and total_density(trained) == 1
    cen = census_round(trained, ctx, pr)
    assert [lc.name for lc in cen.layers] == ["fc1", "fc2", "fc3"] and cen.layers[0].score is not None
    rec = make_record(h, 0, ev, res.train_loss, cen, pr, None, None, total_density(model), {})
    write_round(ctx, rec, trained, {n: m.bool() for n, m in get_masks(model).items()})
    assert rundir.read_record(rundir.record_path(tmp_path, 0), h.hash()) == rec
    assert rundir.masks_path(tmp_path, 1).is_file() and rundir.weights_path(tmp_path, 0).is_file()
    # a round 1 trains from the rewind point with the new masks
    res1, _ = train_round(model, ctx, 1, rewind_state)
    assert res1.iterations == 20 and evaluate_round(model, ctx)["density"]["total"] < 1
