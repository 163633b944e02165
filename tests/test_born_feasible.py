"""Born sparse is sparse, or refused (issue 27)."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bipartite_expanders.adapters.torch.lth import rundir  # noqa: E402
from bipartite_expanders.adapters.torch.lth.born import BornDensityError  # noqa: E402
from bipartite_expanders.adapters.torch.lth.hparams import default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import run_lottery  # noqa: E402
from bipartite_expanders.adapters.torch.ramanujan import mask_family  # noqa: E402
from bipartite_expanders.adapters.torch.lth.models import build_model  # noqa: E402
from bipartite_expanders.cli import main  # noqa: E402


def _born(density, family="erdos-renyi"):
    h = default_hparams("lenet300", "digits", rounds=0, init_masks=family, init_density=density)
    return h.replace(training={"iterations": 5}, dataset={"noise": (0.2,)})


def test_infeasible_density_fails_before_training_listing_layers(tmp_path, capsys):
    """Reproducer: lth --init-masks ramanujan --init-density 1e-9 ran and reported density 1.0:
    every layer was skipped as too small and left dense."""
    out = tmp_path / "runs"
    rc = main(["lth", "--init-masks", "erdos-renyi", "--init-density", "1e-9", "--rounds", "0", "--iterations", "5",
               "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    for layer, weights in (("fc1", 64 * 300), ("fc2", 300 * 100), ("fc3", 100 * 10)):
        # one edge is the fewest an Erdos-Renyi mask can keep: density 1 / weights
        assert f"{layer} (density" in err[0] and f"smallest feasible density {1 / weights:.4g}" in err[0], err
    assert not any(out.rglob("round_*.json")) and not any(out.rglob("*.pt"))


def test_the_smallest_feasible_density_reported_is_feasible_and_minimal(tmp_path):
    h = _born(1e-9, "ramanujan")
    with pytest.raises(BornDensityError) as info:
        run_lottery(h, tmp_path, progress=False)
    msg = str(info.value)
    d = float(msg.split("fc3 (")[1].split("smallest feasible density ")[1].split(")")[0])
    model = build_model("lenet300", input_shape=(1, 8, 8), num_classes=10)
    assert "fc3" in mask_family("ramanujan", model, d, layers=["fc3"])
    # 100 x 10: a connected graph needs 109 edges, so nothing below 109 / 1000 can work
    assert d == pytest.approx(109 / 1000, rel=1e-3)


def test_allow_dense_layers_runs_and_the_record_says_so(tmp_path):
    res = run_lottery(_born(1e-9), tmp_path, progress=False, allow_dense_layers=True)
    rec = json.loads(rundir.record_path(res.run_dir, 0).read_text())
    assert rec["init_masks"]["dense_layers"] == ["fc1", "fc2", "fc3"]
    assert rec["density"]["total"] == pytest.approx(1.0)


def test_a_grid_may_allow_dense_layers(tmp_path):
    from bipartite_expanders.adapters.torch.lth.grid import GridError, parse_grid
    doc = {"sweep": {"allow_dense_layers": True}, "base": {"training": {"iterations": 5}, "pruning": {"rounds": 0}}}
    assert parse_grid(doc).allow_dense_layers is True
    with pytest.raises(GridError, match="allow_dense_layers must be true or false"):
        parse_grid({**doc, "sweep": {"allow_dense_layers": "yes"}})
