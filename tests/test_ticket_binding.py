"""Tickets bound to their run (issue 27): every file a round writes is named in its record with
its SHA-256; load_ticket, `census RUN_DIR` and resume refuse a file that is damaged, from another
run or round, or non-finite, naming it; resume redoes the rounds whose files it cannot trust."""
from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth import rundir  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import run_lottery  # noqa: E402
from bipartite_expanders.adapters.torch.lth.tickets import (  # noqa: E402
    file_digest, load_ticket, pack_mask, read_masks, write_masks)
from bipartite_expanders.cli import main  # noqa: E402
from bipartite_expanders.adapters.torch.serialization import save_torch  # noqa: E402


def _tiny(seed=0, rounds=2):
    h = default_hparams("lenet300", "digits", rounds=rounds)
    return h.replace(training={"iterations": 20}, dataset={"noise": (0.2,)}, seed=seed)


def _strip(records):
    return [json.dumps({k: v for k, v in r.to_json().items() if k != "timing"}, sort_keys=True) for r in records]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run_lottery(_tiny(0), out, progress=False), run_lottery(_tiny(1), out, progress=False)


def _copy_run(res, tmp_path):
    d = tmp_path / res.run_dir.name
    shutil.copytree(res.run_dir, d)
    return d


def _rehash(d, name):
    """Make the record that names ``name`` agree with its current bytes (a file written
    consistently, but bad in content: the checks beyond the hash must catch it)."""
    for p in sorted(d.glob("round_*.json")):
        doc = json.loads(p.read_text())
        if name in doc.get("files", {}):
            doc["files"][name] = file_digest(d / name)
            p.write_text(json.dumps(doc))


def test_every_record_names_its_files_with_their_hashes(two_runs):
    res = two_runs[0]
    d = res.run_dir
    r0 = json.loads(rundir.record_path(d, 0).read_text())
    assert set(r0["files"]) == {"masks_00.pt", "rewind.pt", "weights_00.pt", "masks_01.pt"}
    last = json.loads(rundir.record_path(d, res.records[-1].round).read_text())
    assert set(last["files"]) == {f"weights_{last['round']:02d}.pt"}  # a finished run: no next masks
    for p in sorted(d.glob("round_*.json")):
        for name, digest in json.loads(p.read_text())["files"].items():
            assert file_digest(d / name) == digest  # independent: hashlib over the bytes on disk


@pytest.mark.parametrize("name", ["masks_01.pt", "weights_02.pt", "rewind.pt"])
def test_a_file_from_another_run_is_refused_naming_it(two_runs, tmp_path, capsys, name):
    """Reproducer: masks/weights/rewind files copied in from another run of the same
    architecture were loaded and censused without a word."""
    a, b = two_runs
    d = _copy_run(a, tmp_path)
    shutil.copy(b.run_dir / name, d / name)
    rnd = 2 if name == "weights_02.pt" else 1
    weights = "trained" if name.startswith("weights") else "rewind"
    with pytest.raises(rundir.RecordError, match=rf"{name}: content differs from what round \d+'s record names"):
        load_ticket(d, round=rnd, weights=weights)
    # `census RUN_DIR` reads the round's masks and trained weights (not the rewind point)
    rc = main(["census", str(d), "--round", str(rnd), "--no-cover"])
    if name == "rewind.pt":
        assert rc == 0
    else:
        assert rc == 1 and name in capsys.readouterr().err


def test_trained_weights_holding_nan_are_refused(two_runs, tmp_path):
    d = _copy_run(two_runs[0], tmp_path)
    doc = torch.load(rundir.weights_path(d, 1), weights_only=True)
    doc["kept"]["fc1"][0] = float("nan")
    save_torch(doc, rundir.weights_path(d, 1))
    _rehash(d, "weights_01.pt")
    with pytest.raises(rundir.RecordError, match=r"weights_01.pt: fc1.weight holds 1 non-finite"):
        load_ticket(d, round=1, weights="trained")


@pytest.mark.parametrize("damage", ["layer-missing", "all-zero", "float-bits"])
def test_damaged_masks_are_refused_not_loaded_dense_or_empty(two_runs, tmp_path, damage):
    """Reproducer: a masks file with a layer missing, all masks zero, or float bits loaded a
    model with that layer dense or empty."""
    d = _copy_run(two_runs[0], tmp_path)
    path = rundir.masks_path(d, 1)
    masks = read_masks(path)
    if damage == "layer-missing":
        masks.pop("fc2")
        write_masks(path, masks)
        match = r"no mask for layer\(s\) \['fc2'\]"
    elif damage == "all-zero":
        write_masks(path, {n: torch.zeros_like(m) for n, m in masks.items()})
        match = "keeps no weight"
    else:
        doc = {"format": "bipartite_expanders.masks/1",
               "layers": {n: {**pack_mask(m), "bits": pack_mask(m)["bits"].float()} for n, m in masks.items()}}
        save_torch(doc, path)
        match = "uint8 tensor"
    _rehash(d, "masks_01.pt")
    with pytest.raises(rundir.RecordError, match=match):
        load_ticket(d, round=1)


@pytest.mark.parametrize("name", ["masks_01.pt", "rewind.pt", "weights_01.pt"])
def test_resume_redoes_the_rounds_of_a_damaged_file(two_runs, tmp_path, name):
    """Reproducer: a damaged masks_01.pt, rewind.pt or weights file in a finished run: the rerun
    exited 0 and the damage stayed. Now the record naming it and those after it are moved aside
    with a warning naming the file, the rounds redone, and the files equal the originals."""
    a = two_runs[0]
    out = tmp_path / "out"
    out.mkdir()
    d = _copy_run(a, out)
    original = file_digest(d / name)
    (d / name).write_bytes(b"\0" * 100)
    with pytest.warns(RuntimeWarning, match=rf"{name}: content differs .* is redone"):
        res = run_lottery(_tiny(0), out, progress=False)
    assert _strip(res.records) == _strip(a.records)
    assert file_digest(d / name) == original
    assert (d / f"{name}.damaged").is_file()
    assert load_ticket(d, round=1, weights="trained") is not None


def test_a_deleted_masks_file_of_a_finished_run_is_recomputed(two_runs, tmp_path):
    a = two_runs[0]
    out = tmp_path / "out"
    out.mkdir()
    d = _copy_run(a, out)
    (d / "masks_02.pt").unlink()
    with pytest.warns(RuntimeWarning, match="masks_02.pt: missing"):
        res = run_lottery(_tiny(0), out, progress=False)
    assert _strip(res.records) == _strip(a.records)
    assert (d / "masks_02.pt").is_file()


def test_a_deleted_hparams_json_is_recreated(two_runs, tmp_path):
    """Reproducer: with hparams.json deleted the rerun exited 0 and left it missing."""
    a = two_runs[0]
    out = tmp_path / "out"
    out.mkdir()
    d = _copy_run(a, out)
    original = rundir.hparams_path(d).read_bytes()
    rundir.hparams_path(d).unlink()
    res = run_lottery(_tiny(0), out, progress=False)
    assert rundir.hparams_path(d).read_bytes() == original
    assert _strip(res.records) == _strip(a.records)


def test_a_damaged_hparams_json_is_refused_naming_it(two_runs, tmp_path):
    a = two_runs[0]
    out = tmp_path / "out"
    out.mkdir()
    d = _copy_run(a, out)
    rundir.hparams_path(d).write_text("{garbage")
    with pytest.raises(rundir.RecordError, match="hparams.json: not readable JSON"):
        run_lottery(_tiny(0), out, progress=False)
