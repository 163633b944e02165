"""Exit codes and clear errors (issue 27): usage and validation errors of every command exit 2
in one line naming the flag, key or file; a failed run exits 1; inputs that used to give an
AssertionError, a misleading message, a hang or a traceback give a clear error."""
from __future__ import annotations

import numpy as np
import pytest

from bipartite_expanders import ramanujan_report
from bipartite_expanders.cli import main
from bipartite_expanders.generators import ramanujan_biregular, ramanujan_bipartite


@pytest.mark.parametrize("argv,match", [
    (["analyze", "--example", "--max-vertices", "1"], "--max-vertices"),
    (["census", "nowhere.pt", "--round", "-1"], "--round"),
    (["census", "nowhere.pt", "--groups", "x=0"], "--groups"),
    (["sweep", "missing.toml", "--out", "OUT"], "missing.toml"),
    (["sweep", "missing.toml", "--out", "OUT", "--address", "h:1"], ""),
])
def test_validation_errors_exit_2_in_one_line(tmp_path, monkeypatch, capsys, argv, match):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err


def _grid(tmp_path, text):
    p = tmp_path / "g.toml"
    p.write_text(text)
    return p


def test_two_empty_grid_tables_are_refused_not_a_default_run(tmp_path, capsys):
    """Reproducer: a grid of two empty [[grid]] tables started a default 20,000-iteration run."""
    p = _grid(tmp_path, "[[grid]]\n[[grid]]\n")
    assert main(["sweep", str(p), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert "every table is empty" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    p = _grid(tmp_path, '[base]\ntraining.iterations = 5\n[[grid]]\nseed = [0, 1]\n[[grid]]\n')
    assert main(["sweep", str(p), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert "[[grid]] #2 is empty" in capsys.readouterr().err


def test_grid_point_count_is_checked_before_expansion(tmp_path, capsys):
    """Reproducer: a 10 KB grid of 10**6 points was still expanding after 120 s; 10**8 ran out of
    memory. The count (a product of list lengths) is checked first."""
    axis = "[" + ", ".join(str(i) for i in range(100)) + "]"
    p = _grid(tmp_path, f"[grid]\nseed = {axis}\ntraining.iterations = {axis}\ntraining.batch_size = {axis}\n"
                        f"training.rewind_iter = {axis}\n")
    assert main(["sweep", str(p), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert "expands to 100,000,000 points" in capsys.readouterr().err


def test_ray_address_that_does_not_answer_fails_within_a_timeout():
    """Reproducer: sweep --executor ray --address nowhere:1 hung."""
    from bipartite_expanders.adapters.torch.lth.sweep import probe_address
    with pytest.raises(ConnectionError, match="'127.0.0.1:1' does not answer"):
        probe_address("127.0.0.1:1", timeout=2)
    with pytest.raises(ConnectionError, match="nowhere.invalid"):
        probe_address("ray://nowhere.invalid:10001", timeout=2)
    probe_address("auto")  # left to Ray


def test_degree_one_ramanujan_graphs_are_built_not_assertion_errors():
    """Reproducer: ramanujan_biregular(1, 1, 1) raised AssertionError (t2 = 0 against bound 0
    failed a test with a 1e-12 t1 margin)."""
    for r in (ramanujan_biregular(1, 1, 1), ramanujan_bipartite(1, 1, 1)):
        np.testing.assert_array_equal(r.graph.toarray(), [[1.0]])
        assert r.t1 == 1.0 and r.t2 == 0.0 and r.t2 <= r.bound


def test_weights_whose_t1_overflows_name_the_argument():
    """Reproducer: ramanujan_report(np.full((2, 2), 1e308)) said 't1 must be finite'."""
    with pytest.raises(ValueError, match=r"graph: weights up to 1e\+308 give t1 = inf .* past the float64 range"):
        ramanujan_report(np.full((2, 2), 1e308))
    assert ramanujan_report(np.full((2, 2), 1e307)).t1 == pytest.approx(2e307)


def test_stale_tmp_files_are_removed_on_resume(tmp_path):
    """Reproducer: a kill between a write and its rename left full-size .tmp files that resume
    never removed."""
    pytest.importorskip("torch")
    from bipartite_expanders.adapters.torch.lth import rundir
    from bipartite_expanders.adapters.torch.lth.hparams import default_hparams
    from bipartite_expanders.adapters.torch.lth.runner import run_lottery
    h = default_hparams("lenet300", "digits").replace(training={"iterations": 10}, pruning={"rounds": 1})
    res = run_lottery(h, tmp_path, progress=False, stop_after=0)
    stale = [res.run_dir / ".masks_01.pt.abc123.tmp", res.run_dir / ".round_01.json.x.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 1000)
    res = run_lottery(h, tmp_path, progress=False)
    assert [r.round for r in res.records] == [0, 1]
    assert not any(p.exists() for p in stale)
    assert not list(res.run_dir.glob(".*.tmp")) and not rundir.lock_path(res.run_dir).exists()
