"""Born sparse (issue 17, item 3): round 0 trains a mask family's masks at a given density,
recorded like any round; typed, strictly validated hyperparameters; resume; grid and CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth.born import born_masks, layer_densities, schedule_densities  # noqa: E402
from bipartite_expanders.adapters.torch.lth.grid import GridError, parse_grid  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import Hparams, PruningHparams, default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.models import build_model  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import run_lottery  # noqa: E402
from bipartite_expanders.adapters.torch.lth.tickets import read_masks  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("ramanujan", "random-biregular", "erdos-renyi")


def _born(family, density=0.1, **pruning):
    return default_hparams("lenet300", "digits", **{"rounds": 0, "init_masks": family, "init_density": density,
                                                    **pruning}).replace(training={"iterations": 30})


def _t2_dense(mask_t):
    """Second singular value of the layer's (in x out) bi-adjacency, by numpy's dense SVD."""
    B = mask_t.detach().numpy().astype(float).T
    return np.linalg.svd(B, compute_uv=False)[1]


# ------------------------------------------------------------------ a tiny run per family
@pytest.mark.parametrize("family", FAMILIES)
def test_born_run_trains_the_family_masks_at_the_density_asked(family, tmp_path):
    h = _born(family)
    res = run_lottery(h, tmp_path, progress=False)
    (rec,) = res.records
    assert rec.stop == "rounds" and rec.round == 0 and rec.label.startswith("Born ")
    born = rec.extra["init_masks"]
    assert born["family"] == family and born["skipped"] == {}
    # the masks round 0 trained with are the family's, and the trained weights respect them
    masks = read_masks(res.run_dir / "masks_00.pt")
    expected, _ = born_masks(build_model("lenet300", input_shape=(1, 8, 8), num_classes=10, seed=h.seed), h)
    sizes = {}
    for name, m in expected.items():
        assert torch.equal(masks[name].bool(), m.bool()), name
        sizes[name] = m.numel()
        assert int(m.sum()) == born["layers"][name]["edges"]
    state = torch.load(res.run_dir / "weights_00.pt", weights_only=False)
    assert state is not None
    # density as asked: every layer within one weight of its schedule density, the total within 0.1 %
    targets = schedule_densities(sizes, {"fc1": 0.2, "fc2": 0.2, "fc3": 0.1}, 0.1)
    for name, m in expected.items():
        assert abs(rec.density["layers"][name] - targets[name]) <= 1 / sizes[name] + 1e-12
    assert abs(rec.density["total"] - 0.1) < 1e-3
    # the census is of these masks: kept counts agree
    assert {c.name: c.n_kept for c in rec.census} == {n: int(m.sum()) for n, m in expected.items()}
    if family == "ramanujan":
        for c in rec.census:
            cert = born["layers"][c.name]["certificates"][0]
            assert c.mask["verdict_uc"] == "ramanujan", c.name
            # the certificate against an independent dense SVD of the trained mask
            t2 = _t2_dense(masks[c.name])
            assert t2 == pytest.approx(cert["t2"], rel=1e-9, abs=1e-9)
            assert t2 <= cert["bound"] * (1 + 1e-12)


def test_families_share_degrees_and_counts():
    model = build_model("lenet300", input_shape=(1, 8, 8), num_classes=10)
    got = {f: born_masks(model, _born(f, 0.05))[0] for f in FAMILIES}
    for name in got["ramanujan"]:
        counts = {f: int(got[f][name].sum()) for f in FAMILIES}
        assert len(set(counts.values())) == 1, counts
        # the uncertified control has the certified masks' degree sequences (sorted)
        for dim in (0, 1):
            a = sorted(got["ramanujan"][name].sum(dim=dim).tolist())
            b = sorted(got["random-biregular"][name].sum(dim=dim).tolist())
            assert a == b


def test_schedule_densities_are_the_imp_schedule():
    sizes = {"fc1": 784 * 300, "fc2": 300 * 100, "fc3": 100 * 10}
    d = schedule_densities(sizes, {"fc1": 0.2, "fc2": 0.2, "fc3": 0.1}, 0.01)
    r = math.log(d["fc1"]) / math.log(0.8)
    assert d["fc2"] == pytest.approx(d["fc1"]) and d["fc3"] == pytest.approx(0.9 ** r)
    assert sum(sizes[k] * d[k] for k in sizes) / sum(sizes.values()) == pytest.approx(0.01, rel=1e-10)
    assert d["fc3"] * 1000 > 109  # fc3 keeps enough edges to connect its 110 vertices
    with pytest.raises(ValueError, match="out of reach"):
        schedule_densities({"a": 10, "b": 10}, {"a": 0.2, "b": 0.0}, 0.4)
    u = layer_densities(build_model("lenet300", input_shape=(1, 8, 8), num_classes=10),
                        _born("erdos-renyi", 0.2, init_allocation="uniform"))
    assert set(u.values()) == {0.2}


def test_a_layer_without_certified_mask_is_recorded_and_stays_dense(tmp_path):
    # uniform 1 %: fc3 (100 x 10) keeps 10 edges, too few to connect its 110 vertices
    h = _born("ramanujan", 0.01, init_allocation="uniform")
    # issue 27: refused before training unless the run is told to leave such layers dense
    from bipartite_expanders.adapters.torch.lth.born import BornDensityError
    with pytest.raises(BornDensityError, match=r"fc3 \(100 x 10 with 10 edges.*smallest feasible density 0.109"):
        run_lottery(h, tmp_path / "refused", progress=False)
    rec = run_lottery(h, tmp_path, progress=False, allow_dense_layers=True).records[0]
    assert "fc3" in rec.extra["init_masks"]["skipped"] and "fc3" not in rec.extra["init_masks"]["layers"]
    assert "fc3" in rec.extra["init_masks"]["dense_layers"]
    assert rec.density["layers"]["fc3"] == 1.0


# ------------------------------------------------------------------ resume and rounds > 0
def test_born_run_resumes_and_prunes_further_when_rounds_positive(tmp_path):
    h = _born("ramanujan", 0.2, rounds=1)
    assert h.pruning.label == "Born Ramanujan + IMP"
    straight = run_lottery(h, tmp_path / "a", progress=False).records
    first = run_lottery(h, tmp_path / "b", progress=False, stop_after=0)
    assert [r.round for r in first.records] == [0]
    resumed = run_lottery(h, tmp_path / "b", progress=False)
    assert resumed.resumed_from == 1
    assert [r.accuracy for r in resumed.records] == [r.accuracy for r in straight]
    m0 = read_masks(first.run_dir / "masks_00.pt")
    m1 = read_masks(first.run_dir / "masks_01.pt")
    for name in m0:  # round 1 prunes inside the born mask
        assert not bool((m1[name].bool() & ~m0[name].bool()).any())
    assert resumed.records[1].density["total"] < resumed.records[0].density["total"]
    assert "init_masks" not in resumed.records[1].extra


# ------------------------------------------------------------------ strict validation
@pytest.mark.parametrize("kw, err, match", [
    ({"init_masks": "xnet", "init_density": 0.1}, ValueError, "init_masks must be one of"),
    ({"init_density": 0.1}, ValueError, "init_density and init_allocation need init_masks"),
    ({"init_allocation": "uniform"}, ValueError, "need init_masks"),
    ({"init_masks": "ramanujan"}, ValueError, "init_density must be in"),
    ({"init_masks": "ramanujan", "init_density": 0.0}, ValueError, "init_density must be in"),
    ({"init_masks": "ramanujan", "init_density": 1.5}, ValueError, "init_density must be in"),
    ({"init_masks": "ramanujan", "init_density": float("nan")}, ValueError, "init_density must be finite"),
    ({"init_masks": "ramanujan", "init_density": True}, TypeError, "init_density must be a float"),
    ({"init_masks": "ramanujan", "init_density": "0.1"}, TypeError, "init_density must be a float"),
    ({"init_masks": 1, "init_density": 0.1}, TypeError, "init_masks must be a str"),
    ({"init_masks": "ramanujan", "init_density": 0.1, "init_allocation": "erk"}, ValueError, "init_allocation must be"),
])
def test_strict_validation(kw, err, match):
    with pytest.raises(err, match=match):
        PruningHparams(**kw)


def test_default_hashes_unchanged_and_born_fields_hashed():
    h = default_hparams("lenet300", "fashion-mnist")
    assert "init_masks" not in h.canonical()["pruning"]
    assert h.hash(algorithm=1) == "de254ea5da465133c54241ce530ec71802814f8f521873393413851b31e5d3b9"
    a, b = _born("ramanujan", 0.1), _born("erdos-renyi", 0.1)
    assert a.hash() != b.hash() and a.hash() != _born("ramanujan", 0.05).hash()
    assert a.run_name().startswith("lenet300_digits_imp_born-ramanujan_")
    assert Hparams.from_dict(a.to_dict()).hash() == a.hash()


def test_grid_field_and_its_errors():
    g = parse_grid({"base": {"pruning": {"rounds": 0}},
                    "grid": {"pruning": {"init_masks": ["ramanujan", "erdos-renyi"], "init_density": [0.1, 0.05]}}})
    runs = g.runs()
    assert len(runs) == 4 and {h.pruning.init_masks for h in runs} == {"ramanujan", "erdos-renyi"}
    with pytest.raises(GridError, match="init_masks"):
        parse_grid({"grid": {"pruning": {"init_masks": ["xnet"], "init_density": [0.1]}}}).runs()
    with pytest.raises(GridError, match="init_mask"):
        parse_grid({"grid": {"pruning": {"init_mask": ["ramanujan"]}}})


def test_shipped_grid_is_the_experiment():
    from bipartite_expanders.adapters.torch.lth.grid import load_grid

    runs = load_grid(REPO / "examples" / "grids" / "born-ramanujan.toml").runs()
    assert len(runs) == 36 and all(h.pruning.rounds == 0 and h.training.iterations == 3000 for h in runs)
    assert {(h.pruning.init_masks, h.pruning.init_density, h.seed) for h in runs} == {
        (f, d, s) for f in FAMILIES for d in (0.1, 0.05, 0.02, 0.01) for s in (0, 1, 2)}


def test_cli_flags(tmp_path):
    cmd = [sys.executable, "-m", "bipartite_expanders.cli", "lth", "--print-hparams", "--rounds", "0"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd + ["--init-masks", "random-biregular", "--init-density", "0.05"], capture_output=True,
                         text=True, cwd=REPO, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["hparams"]["pruning"]["init_masks"] == "random-biregular" and "born-random-biregular" in doc["run"]
    bad = subprocess.run(cmd + ["--init-masks", "ramanujan", "--init-density", "2"], capture_output=True, text=True,
                         cwd=REPO, env=env)
    assert bad.returncode != 0 and "--init-density must be a number in (0, 1]" in bad.stderr


# ------------------------------------------------------------------ the comparison table
def _rec(density, acc, verdicts, **extra):
    census = [{"name": n, "n_kept": 1, "mask": {"verdict_r": r, "verdict_uc": u, "t2": 1.0, "db": 2.0, "rho_uc_lower": 2.0}}
              for n, (r, u) in verdicts.items()]
    return {"density": {"total": density}, "accuracy": {"clean": acc, "noisy": {"0.1": acc - 0.01, "0.3": acc - 0.1}},
            "census": census, **extra}


def test_born_table_pairs_each_seed_with_imp_interpolated_on_log_density(tmp_path):
    from bipartite_expanders.adapters.torch.lth.report.born import born_markdown, born_rows, census_markdown
    from bipartite_expanders.adapters.torch.lth.report.load import RunData

    ok, bad = ("ramanujan", "ramanujan"), ("not_ramanujan", "ramanujan")
    imp = RunData(tmp_path / "imp", {"seed": 0, "pruning": {"pruner": "imp", "bound": False, "p_fc": 0.2, "p_out": 0.1}},
                  [_rec(0.2, 0.90, {"fc1": bad}), _rec(0.05, 0.80, {"fc1": ok})])
    born = RunData(tmp_path / "born", {"seed": 0, "pruning": {"pruner": "imp", "init_masks": "ramanujan", "init_density": 0.1}},
                   [_rec(0.1, 0.86, {"fc1": ok}, init_masks={"skipped": {}})])
    rows = born_rows([imp, born])
    assert [r["family"] for r in rows] == ["ramanujan", "imp"]
    # IMP at 0.1: halfway in log density between 0.2 (90 %) and 0.05 (80 %) = 85 %
    assert rows[1]["clean"]["mean"] == pytest.approx(0.85)
    assert rows[0]["diff_clean"]["mean"] == pytest.approx(0.01)
    assert rows[0]["diff_0.3"]["mean"] == pytest.approx(0.01)
    assert rows[0]["db"] == {"fc1": (1, 1)}
    # IMP's census is of its round nearest 0.1 in log density (0.2 and 0.05 are a factor 2 off; in floats 0.2 is nearer)
    assert rows[1]["db"] == {"fc1": (0, 1)} and rows[1]["uc"] == {"fc1": (1, 1)}
    md = born_markdown(rows)
    # the paired difference: its mean, no interval at n = 1, and the per-seed value
    assert "Ramanujan (certified)" in md and "| +1.00 (n=1: +1.00) |" in md
    assert "IMP round nearest 10 %" in census_markdown([imp, born], [0.1])


def test_born_table_command_names_a_missing_directory(tmp_path, capsys):
    from bipartite_expanders.adapters.torch.lth.report.born import main

    with pytest.raises(SystemExit):
        main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_committed_table_is_what_the_command_writes(tmp_path):
    from bipartite_expanders.adapters.torch.lth.report.born import main

    assert main([str(REPO / "docs" / "results" / "born-ramanujan"), "--out", str(tmp_path)]) == 0
    for name in ("table.md", "census.md"):
        assert (tmp_path / name).read_text() == (REPO / "docs" / "results" / "born-ramanujan" / name).read_text()
