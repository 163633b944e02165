"""The drift test (issue 26): today's code re-runs the first rounds of the committed quick-start
runs (``docs/results/quickstart``, ``lth --preset quickstart``) and must reproduce their records,
field by field (timing aside; floats to the 7 significant digits of the committed slim copies).

This is what keeps :data:`~bipartite_expanders.adapters.torch.lth.hparams.ALGORITHM_VERSION`
honest: a change that alters a trajectory (training, evaluation, scoring, pruning, the census)
fails here unless it bumps the version, and a bump fails here until the quick-start records are
regenerated with the new code (the commands are in the failure message and docs/results.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from bipartite_expanders.adapters.torch.lth.hparams import ALGORITHM_VERSION, Hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import run_lottery  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[1] / "docs" / "results" / "quickstart"
ROUNDS = 3  # rounds 0..3: the dense round and three prune steps of each run
REGENERATE = ("bipartite-expanders lth --preset quickstart --out runs/quickstart && "
              "bipartite-expanders reproduce collect runs/quickstart docs/results/quickstart && "
              "bipartite-expanders report docs/results/quickstart --out docs/results/quickstart")


def _runs() -> list[Path]:
    return sorted(p.parent for p in QUICKSTART.glob("*/hparams.json"))


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Where two records differ: floats beyond the 7 significant digits of a slim copy, any other
    value exactly; the per-candidate reports a slim copy drops are not compared, and neither are
    fields the committed record lacks (a field newer code adds, such as a verdict or a file hash,
    changes no result; a field it drops or a value it changes does)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = set(old) - {"timing", "candidates"}
        return [d for k in sorted(keys) for d in _differences(old.get(k), new.get(k), f"{where}.{k}")]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} entries, now {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, f"{where}[{i}]")]
    if isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        same = math.isclose(old, float(f"{new:.7g}"), rel_tol=1e-9, abs_tol=1e-12)
        return [] if same else [f"{where}: {old!r}, now {new!r}"]
    return [] if old == new else [f"{where}: {old!r}, now {new!r}"]


def test_the_committed_quickstart_is_todays_algorithm():
    runs = _runs()
    assert len(runs) == 2, f"expected the two quick-start runs under {QUICKSTART}"
    for d in runs:
        saved = json.loads((d / "hparams.json").read_text())
        assert saved.get("algorithm", 1) == ALGORITHM_VERSION, (
            f"{d.name} was made by algorithm version {saved.get('algorithm', 1)}, the code is version "
            f"{ALGORITHM_VERSION}: regenerate the quick start with today's code: {REGENERATE}")
        h = Hparams.from_dict(saved["hparams"])
        assert h.run_name() == d.name and h.hash() == saved["hash"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in _runs()] or ["missing"])
def test_todays_code_reproduces_the_committed_quickstart_records(name, tmp_path):
    d = QUICKSTART / name
    saved = json.loads((d / "hparams.json").read_text())
    if saved.get("algorithm", 1) != ALGORITHM_VERSION:
        pytest.fail(f"{name}: algorithm version {saved.get('algorithm', 1)} != {ALGORITHM_VERSION}; {REGENERATE}")
    h = Hparams.from_dict(saved["hparams"])
    res = run_lottery(h, tmp_path, progress=False, stop_after=ROUNDS, keep_weights="none")
    assert [r.round for r in res.records] == list(range(ROUNDS + 1))
    for rec in res.records:
        old = json.loads((d / f"round_{rec.round:02d}.json").read_text())
        new = json.loads(json.dumps(rec.to_json()))
        diff = _differences(old, new)
        assert not diff, (f"{name} round {rec.round} differs from the committed record ({len(diff)} fields, first: "
                          f"{diff[:5]}): a change altered the results. Bump ALGORITHM_VERSION in "
                          f"adapters/torch/lth/hparams.py and regenerate: {REGENERATE}")


def test_the_comparison_sees_a_change():
    rec = {"accuracy": {"clean": 0.9688196, "noisy": {"0.1": 0.9532294}}, "timing": {"total_s": 1.0},
           "census": [{"name": "fc1", "mask": {"t2": 12.34567}}]}
    same = {"accuracy": {"clean": 0.96881959910913, "noisy": {"0.1": 0.95322939866}}, "timing": {"total_s": 9.0},
            "census": [{"name": "fc1", "mask": {"t2": 12.345671}, "candidates": [1]}]}
    assert _differences(rec, same) == []
    moved = json.loads(json.dumps(same))
    moved["accuracy"]["noisy"]["0.1"] = 0.9510022
    moved["census"][0]["mask"]["t2"] = 12.3457
    assert _differences(rec, moved) == [".accuracy.noisy.0.1: 0.9532294, now 0.9510022",
                                        ".census[0].mask.t2: 12.34567, now 12.3457"]
    assert _differences({"round": 1}, {"round": 2}) == [".round: 1, now 2"]
