"""The lottery-ticket pipeline: models, offline data loaders, hparams hash, runs, resume, CLI, report."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth import data as lthdata  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import (ALGORITHM_VERSION, Hparams, TrainingHparams,  # noqa: E402
                                                         default_hparams, preset)
from bipartite_expanders.adapters.torch.lth.models import build_model, model_names  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import load_records, run_lottery  # noqa: E402
from bipartite_expanders.adapters.torch.lth.training import batch_indices  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ models
def _n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_model_sizes_match_the_architectures():
    # LeNet-300-100 on 28x28: weights and biases of 784-300-100-10
    assert _n_params(build_model("lenet300")) == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    # Conv-2 on 32x32x3: two 3x3 convs of 64, pool to 16x16, FC 16*16*64 -> 256 -> 256 -> 10
    conv = (3 * 9 * 64 + 64) + (64 * 9 * 64 + 64)
    fc = (16 * 16 * 64 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10)
    assert _n_params(build_model("conv2", (3, 32, 32))) == conv + fc
    # Conv-6 ends with 256 channels at 4x4
    m = build_model("conv6", (3, 32, 32))
    assert m.classifier[0].in_features == 4 * 4 * 256
    # ResNet-20 has 19 convolutions + 2 shortcut 1x1 convolutions, and the well-known ~0.27M weights
    convs = [mod for mod in build_model("resnet20", (3, 32, 32)).modules() if isinstance(mod, torch.nn.Conv2d)]
    assert len(convs) == 21
    vgg = build_model("vgg19", (3, 32, 32))
    assert sum(isinstance(mod, torch.nn.Conv2d) for mod in vgg.modules()) == 16
    assert 20.0e6 < _n_params(vgg) < 20.1e6


@pytest.mark.parametrize("name", ["lenet300", "conv2", "conv4", "conv6"])
def test_models_run_on_8x8_digits(name):
    m = build_model(name, input_shape=(1, 8, 8), num_classes=10)
    assert m(torch.zeros(3, 1, 8, 8)).shape == (3, 10)


def test_model_init_is_seeded_kaiming_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model("lenet300", seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)  # the caller's RNG stream is untouched
    b = build_model("lenet300", seed=5)
    c = build_model("lenet300", seed=6)
    assert torch.equal(a.fc1.weight, b.fc1.weight) and not torch.equal(a.fc1.weight, c.fc1.weight)
    # Kaiming normal, fan_in: std = sqrt(2 / fan_in)
    w = build_model("lenet300", seed=0).fc1.weight.detach()
    assert abs(float(w.std()) - math.sqrt(2 / 784)) < 0.02 * math.sqrt(2 / 784)
    assert abs(float(w.mean())) < 1e-3


def test_model_bad_input():
    with pytest.raises(ValueError, match="name"):
        build_model("lenet5")
    with pytest.raises(ValueError, match="input_shape"):
        build_model("vgg19", input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        build_model("lenet300", input_shape=(28, 28))
    with pytest.raises(ValueError, match="num_classes"):
        build_model("lenet300", num_classes=0)
    assert set(model_names()) == {"lenet300", "conv2", "conv4", "conv6", "vgg19", "resnet20"}
    from bipartite_expanders.adapters.torch.lth.hparams import DATASET_NAMES, MODEL_NAMES

    assert tuple(model_names()) == MODEL_NAMES and tuple(lthdata.dataset_names()) == DATASET_NAMES


# ------------------------------------------------------------------ data
def _write_idx(path: Path, arr: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    blob = header + arr.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(blob)
    else:
        path.write_bytes(blob)


def _idx_dir(tmp_path: Path, compress: bool) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([0, 1, 2, 3, 9], dtype=np.uint8),
    }
    for stem, arr in arrays.items():
        _write_idx(tmp_path / (stem + (".gz" if compress else "")), arr, compress)
    return tmp_path, arrays


@pytest.mark.parametrize("name,compress", [("fashion-mnist", True), ("mnist", True), ("mnist", False)])
def test_idx_loaders_read_the_real_format(tmp_path, name, compress):
    d, arrays = _idx_dir(tmp_path, compress)
    ds = lthdata.load_dataset(name, data_dir=d)
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0] * 255, arrays["train-images-idx3-ubyte"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test, [0, 1, 2, 3, 9])
    assert ds.y_train.dtype == np.int64 and ds.num_classes == 10
    assert ds.mean[0] == pytest.approx(arrays["train-images-idx3-ubyte"].mean() / 255, rel=1e-6)


def test_read_idx_rejects_garbage(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        lthdata.read_idx(p)
    _write_idx(tmp_path / "short", np.zeros((4, 3), np.uint8), False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated"):
        lthdata.read_idx(tmp_path / "short")


def test_cifar10_loader_reads_python_batches(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    batches = {}
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (3, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, 3)]
        batches[fname] = (data, labels)
        with open(d / fname, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": fname.encode()}, fh)
    ds = lthdata.load_dataset("cifar10", data_dir=tmp_path)  # the parent folder works too
    assert ds.x_train.shape == (15, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    # row layout: 1024 red, 1024 green, 1024 blue values, each row-major 32x32
    np.testing.assert_array_equal(ds.x_train[3, 1, 0, :] * 255, data[0, 1024:1056].astype(np.float32))
    np.testing.assert_array_equal(ds.y_train[3:6], labels)
    assert len(ds.mean) == 3 and ds.input_shape == (3, 32, 32)


def test_missing_directory_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nope"
    for name in ("mnist", "fashion-mnist", "cifar10"):
        with pytest.raises(FileNotFoundError) as info:
            lthdata.load_dataset(name, data_dir=missing)
        msg = str(info.value)
        assert "\n" not in msg and str(missing) in msg and "expected" in msg
    with pytest.raises(FileNotFoundError, match="t10k-images"):  # a present dir lacking a file
        (tmp_path / "half").mkdir()
        _write_idx(tmp_path / "half" / "train-images-idx3-ubyte.gz", np.zeros((1, 2, 2), np.uint8), True)
        _write_idx(tmp_path / "half" / "train-labels-idx1-ubyte.gz", np.zeros(1, np.uint8), True)
        lthdata.load_dataset("mnist", data_dir=tmp_path / "half")
    with pytest.raises(ValueError, match="data-dir"):
        lthdata.load_dataset("mnist")
    with pytest.raises(ValueError, match="name"):
        lthdata.load_dataset("imagenet")


def test_digits_split_is_seeded():
    a, b, c = (lthdata.load_dataset("digits", seed=s) for s in (0, 0, 1))
    assert len(a.x_train) + len(a.x_test) == 1797 and a.input_shape == (1, 8, 8)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1


def test_noise_is_zero_mean_clipped_and_seeded():
    x = np.full((200, 1, 10, 10), 0.5, dtype=np.float32)
    n1 = lthdata.add_noise(x, 0.1, seed=3)
    np.testing.assert_array_equal(n1, lthdata.add_noise(x, 0.1, seed=3))
    assert not np.array_equal(n1, lthdata.add_noise(x, 0.1, seed=4))
    assert abs(float(n1.mean()) - 0.5) < 0.002 and abs(float(n1.std()) - 0.1) < 0.003
    n2 = lthdata.add_noise(np.zeros_like(x), 2.0, seed=0)
    assert n2.min() == 0.0 and n2.max() == 1.0  # clipped to the pixel range
    np.testing.assert_array_equal(lthdata.add_noise(x, 0.0), x)
    with pytest.raises(ValueError, match="sigma"):
        lthdata.add_noise(x, -0.1)


# ------------------------------------------------------------------ hparams
def test_hparams_hash_is_stable():
    # Pinned: changing a default or the hashing silently would orphan every existing run directory;
    # version 1 of the algorithm (runs before the field existed) hashes as it always did.
    assert default_hparams("lenet300", "digits").hash(algorithm=1) == (
        "9eab3175c51f3b110d8532456d12ef7ca6440586afd7523d52f7aa820cb8dbdd")
    h = default_hparams("lenet300", "fashion-mnist")
    assert h.hash(algorithm=1) == "de254ea5da465133c54241ce530ec71802814f8f521873393413851b31e5d3b9"
    # today's algorithm is in the hash: the canonical JSON plus "algorithm": 2, by hand
    blob = json.dumps({**h.canonical(), "algorithm": 2}, sort_keys=True, separators=(",", ":"))
    assert ALGORITHM_VERSION == 2 and h.hash() == hashlib.sha256(blob.encode()).hexdigest()
    assert h.run_name() == f"lenet300_fashion-mnist_imp_{h.hash()[:12]}" and h.hash()[:12] != "de254ea5da46"
    assert h.hash(algorithm=3) not in (h.hash(), h.hash(algorithm=1))
    with pytest.raises(ValueError, match="algorithm"):
        h.hash(algorithm=0)


def test_a_run_of_an_older_algorithm_is_never_resumed(tmp_path):
    from bipartite_expanders.adapters.torch.lth.rundir import RunDirError

    h = preset("quickstart")[0].replace(pruning={"rounds": 2}, training={"iterations": 10})
    res = run_lottery(h, tmp_path, progress=False, stop_after=0)
    saved = json.loads((res.run_dir / "hparams.json").read_text())
    assert saved["algorithm"] == ALGORITHM_VERSION and saved["hash"] == h.hash()
    rec = json.loads((res.run_dir / "round_00.json").read_text())
    assert rec["algorithm"] == ALGORITHM_VERSION
    # the same directory as version 1 wrote it: its hash without the version, no "algorithm" field
    old = tmp_path / "old"
    res.run_dir.rename(old)
    del saved["algorithm"]
    saved["hash"] = h.hash(algorithm=1)
    (old / "hparams.json").write_text(json.dumps(saved))
    rec["hparams_hash"] = saved["hash"]
    del rec["algorithm"]
    (old / "round_00.json").write_text(json.dumps(rec))
    with pytest.raises(RunDirError, match="algorithm version 1, this code is version"):
        run_lottery(h, tmp_path, progress=False, run_dir=old)
    assert sorted(p.name for p in old.iterdir() if p.suffix == ".json") == ["hparams.json", "round_00.json"]
    # by name, today's code goes to another directory (the hash names it) and starts afresh
    assert h.run_name() != old.name and not (tmp_path / h.run_name()).exists()
    # the reports still read the old directory (no version = 1)
    from bipartite_expanders.adapters.torch.lth.report.load import load_run

    assert load_run(old).records[0].get("algorithm", 1) == 1


def test_hparams_roundtrip_coercion_and_validation():
    h = preset("quickstart")[1]
    assert Hparams.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    assert h.pruning.label == "IMP-Bound" and "-bound_" in h.run_name()
    a = h.replace(training={"lr": 1})
    b = h.replace(training={"lr": 1.0})
    assert a.hash() == b.hash() and a.hash() != h.hash()
    with pytest.raises(ValueError, match="rewind_iter"):
        TrainingHparams(iterations=10, rewind_iter=10)
    with pytest.raises(ValueError, match="pruner"):
        h.replace(pruning={"pruner": "obd"})
    with pytest.raises(ValueError, match="preset"):
        preset("nope")


def test_batch_order_depends_only_on_seed_and_iteration():
    full = [batch_indices(100, 30, it, seed=2) for it in range(7)]
    assert torch.equal(batch_indices(100, 30, 5, seed=2), full[5])
    epoch0 = torch.cat(full[:3])
    assert len(set(epoch0.tolist())) == 90  # no repeats within an epoch
    assert not torch.equal(batch_indices(100, 30, 0, seed=3), full[0])


def test_rewind_point_is_the_state_at_iteration_k():
    from bipartite_expanders.adapters.torch.lth.training import train
    from bipartite_expanders.adapters.torch.masks import capture_state, ensure_masks

    ds = lthdata.load_dataset("digits")
    x, y = torch.from_numpy(ds.normalize(ds.x_train)), torch.from_numpy(ds.y_train)
    a = build_model("lenet300", (1, 8, 8), seed=2)
    ensure_masks(a)
    got = train(a, x, y, TrainingHparams(iterations=30, batch_size=60), seed=4, capture_at=10, capture=capture_state,
                progress=False).rewind_state
    b = build_model("lenet300", (1, 8, 8), seed=2)
    ensure_masks(b)
    train(b, x, y, TrainingHparams(iterations=10, batch_size=60), seed=4, progress=False)
    want = capture_state(b)
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    init = build_model("lenet300", (1, 8, 8), seed=2)
    assert not torch.equal(got["fc1.weight"], init.fc1.weight)  # training moved it


def test_rewind_iter_run(tmp_path):
    h = _tiny(rounds=1).replace(training={"rewind_iter": 15})
    recs = run_lottery(h, tmp_path, progress=False).records
    assert len(recs) == 2 and recs[1].density["total"] < 1


# ------------------------------------------------------------------ runs
def _tiny(bound=False, rounds=2, iterations=40, pruner="imp"):
    h = default_hparams("lenet300", "digits", pruner=pruner, rounds=rounds, bound=bound)
    return h.replace(training={"iterations": iterations}, dataset={"noise": (0.2,)})


def _js(records):
    """Typed records as their JSON dicts (what round_NN.json holds)."""
    return [r.to_json() for r in records]


def _strip(records):
    return [json.dumps({k: v for k, v in r.to_json().items() if k != "timing"}, sort_keys=True) for r in records]


def test_end_to_end_run_records(tmp_path):
    h = _tiny()
    res = run_lottery(h, tmp_path, progress=False)
    assert res.run_dir == tmp_path / h.run_name()
    recs = _js(load_records(res.run_dir))
    assert [r["round"] for r in recs] == [0, 1, 2] and recs[-1]["stop"] == "rounds"
    for r in recs:
        assert r["hparams_hash"] == h.hash()
        assert set(r["accuracy"]["noisy"]) == {"0.2"} and 0 <= r["accuracy"]["clean"] <= 1
        assert {c["name"] for c in r["census"]} == {"fc1", "fc2", "fc3"}
        assert r["regime"] in ("fully", "partially", "non")
        assert set(r["timing"]) >= {"train_s", "eval_s", "prune_s", "census_s", "total_s"}
    # exact per-layer rates: fc 20 %, output 10 % of the remaining weights per round
    lay = recs[2]["density"]["layers"]
    assert lay["fc1"] == pytest.approx(0.64, abs=1e-4) and lay["fc3"] == pytest.approx(0.81, abs=1e-3)
    n = {"fc1": 64 * 300, "fc2": 300 * 100, "fc3": 100 * 10}
    assert recs[2]["density"]["total"] == pytest.approx(sum(lay[k] * n[k] for k in n) / sum(n.values()))
    assert recs[1]["census"][0]["density"] == pytest.approx(0.8, abs=1e-4)
    assert recs[1]["decisions"] is None and recs[0]["prune"]["changed"] is True
    # the clean accuracy is a real number: a trained LeNet beats chance on digits by far
    assert recs[0]["accuracy"]["clean"] > 0.5


def test_bounded_run_records_decisions(tmp_path):
    res = run_lottery(_tiny(bound=True, rounds=1), tmp_path, progress=False)
    recs = _js(res.records)
    assert recs[0]["prune"]["bound"] is True
    assert set(recs[0]["prune"]["decisions"]) == {"fc1", "fc2", "fc3"}
    assert recs[1]["decisions"] == recs[0]["prune"]["decisions"]
    # Algorithm 1 removes at most p/2 of a layer per step
    assert recs[1]["density"]["layers"]["fc1"] >= 0.9 - 1e-4


@pytest.mark.parametrize("pruner,bound", [("snip", False), ("grasp", False), ("random", False), ("synflow", True)])
def test_every_pruner_runs_a_round(tmp_path, pruner, bound):
    h = _tiny(pruner=pruner, bound=bound, rounds=1, iterations=20)
    a = run_lottery(h, tmp_path / "a", progress=False).records
    assert a[1].prune["method"] == h.pruning.method and a[1].density["total"] < 1.0
    assert all(c.score is not None for c in a[0].census)  # the census carries the pruner's scores
    b = run_lottery(h, tmp_path / "b", progress=False).records
    assert _strip(a) == _strip(b)  # seeded: data-dependent and random scores repeat


def test_injected_interrupt_then_resume_equals_uninterrupted(tmp_path):
    h = _tiny(rounds=3)
    whole = run_lottery(h, tmp_path / "a", progress=False).records
    part = run_lottery(h, tmp_path / "b", progress=False, stop_after=1)
    assert [r.round for r in part.records] == [0, 1]
    again = run_lottery(h, tmp_path / "b", progress=False)
    assert again.resumed_from == 2
    assert _strip(again.records) == _strip(whole)
    # a finished run is not rerun
    assert run_lottery(h, tmp_path / "b", progress=False).records[-1].timing == again.records[-1].timing


def test_killed_subprocess_resumes_to_the_same_records(tmp_path):
    h = _tiny(rounds=3, iterations=150)
    run_dir = tmp_path / "killed" / h.run_name()
    argv = [sys.executable, "-m", "bipartite_expanders.cli", "lth", "--model", "lenet300", "--dataset", "digits",
            "--rounds", "3", "--iterations", "150", "--noise", "0.2", "--out", str(tmp_path / "killed"),
            "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "round_00.json").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = len(load_records(run_dir))
    assert 1 <= done < 4  # killed mid-run
    resumed = run_lottery(h, tmp_path / "killed", progress=False)
    assert resumed.resumed_from == done
    whole = run_lottery(h, tmp_path / "whole", progress=False)
    assert _strip(resumed.records) == _strip(whole.records)


def test_other_hparams_in_the_same_directory_are_refused(tmp_path):
    run_lottery(_tiny(rounds=0), tmp_path, progress=False, run_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="other hyperparameters"):
        run_lottery(_tiny(rounds=1), tmp_path, progress=False, run_dir=tmp_path / "r")


# ------------------------------------------------------------------ CLI and report
def test_cli_lth_both_then_report(tmp_path, capsys):
    from bipartite_expanders.cli import main

    out = tmp_path / "runs"
    argv = ["lth", "--model", "lenet300", "--dataset", "digits", "--rounds", "2", "--iterations", "30", "--both",
            "--noise", "0.1", "0.3", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "IMP:" in printed and "IMP-Bound:" in printed
    dirs = sorted(p.name for p in out.iterdir())
    assert len(dirs) == 2 and any("-bound_" in d for d in dirs)
    assert main(["report", str(out), "--metric", "t2", "--alpha", "1.5", "2"]) == 0
    rep = out / "report"
    for f in ("figure4.png", "table2.png", "metric_t2.png", "report.md", "table2.json"):
        assert (rep / f).stat().st_size > 0, f
    md = (rep / "report.md").read_text()
    assert "| IMP, seed 0 |" in md and "| IMP-Bound, seed 0 |" in md and "mask.t2" in md
    assert main(["report", str(out), "--metric", "no_such_field"]) == 1
    assert "no_such_field" in capsys.readouterr().err


def test_table2_alpha_points_on_known_records():
    from bipartite_expanders.adapters.torch.lth.report import RunData, table2

    def rec(rnd, dens, acc, stop=None):
        return {"round": rnd, "density": {"total": dens}, "accuracy": {"clean": acc, "noisy": {"0.1": acc - 0.1}},
                "label": "IMP", "stop": stop, "census": [], "regime": "fully"}

    recs = [rec(0, 1.0, 0.90), rec(1, 0.8, 0.91), rec(2, 0.64, 0.887), rec(3, 0.5, 0.883), rec(4, 0.4, 0.87, "rounds")]
    row = table2([RunData(Path("x"), {}, recs)], alphas=(1.5, 2.0))[0]
    assert row["alpha=1.5"]["round"] == 2  # 0.887 >= 0.885 but 0.883 < 0.885
    assert row["alpha=2"]["round"] == 3    # 0.883 >= 0.88
    assert row["stop"]["round"] == 4 and row["stop"]["reason"] == "rounds"
    assert row["dense_accuracy"] == 0.90


@pytest.mark.parametrize("name", ["models", "data", "hparams", "training", "runner", "report"])
def test_lth_docstring_examples(name):
    import doctest
    import importlib

    torch.set_num_threads(1)
    res = doctest.testmod(importlib.import_module(f"bipartite_expanders.adapters.torch.lth.{name}"), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


def test_layer_metric_reads_infinite_margins():
    """The core writes a t2 = 0 margin as the string "inf": the report must read it as +inf
    (drawn as a triangle), not drop it as NaN."""
    from pathlib import Path

    from bipartite_expanders.adapters.torch.lth.report import RunData, layer_metric

    recs = [{"census": [{"name": "fc1", "mask": {"delta_s": "inf"}}]},
            {"census": [{"name": "fc1", "mask": {"delta_s": -0.5}}]},
            {"census": [{"name": "fc1", "mask": {"delta_s": "nan"}}]}]
    vals = layer_metric(RunData(Path("x"), {}, recs), "mask.delta_s")["fc1"]
    assert vals[0] == float("inf") and vals[1] == -0.5 and vals[2] != vals[2]
