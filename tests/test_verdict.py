"""One headline verdict per report (issue 25, deliverable 6), with its documented rule
(docs/bounds.md, "The verdict"); undefined is shown as undefined, never as "no"."""
import json
import math

import numpy as np
import pytest

from bipartite_expanders import (BipartiteGraph, RamanujanReport, Verdict, generators, headline_verdict,
                                 ramanujan_report, study_verdict)
from bipartite_expanders.cli import main


def _hub_lift():
    """docs/universal-cover.md's graph: db and eb say "not Ramanujan", the exact test says Ramanujan."""
    base = np.zeros((5, 8))
    base[0, :] = 1
    for i in range(4):
        base[1 + i, 2 * i: 2 * i + 2] = 1
    return generators.random_lift(BipartiteGraph.from_dense(base), 20, seed=2)


def test_exact_test_decides_over_disagreeing_bounds():
    r = ramanujan_report(_hub_lift())
    assert r.verdict_r == Verdict.NOT_RAMANUJAN and r.verdict_s == Verdict.NOT_RAMANUJAN
    assert r.t2 <= r.rho_uc_lower  # the independent condition the verdict must follow
    assert (r.verdict, r.verdict_basis) == (Verdict.RAMANUJAN, "exact")


def test_without_the_exact_test_db_proves_only_ramanujan():
    off = ramanujan_report(_hub_lift(), universal_cover=False)
    assert off.delta_r < 0 and (off.verdict, off.verdict_basis) == (Verdict.UNDECIDED, "open")  # never "not"
    pg = ramanujan_report(generators.pg2_incidence(3), universal_cover=False)
    assert pg.db_valid and pg.delta_r >= 0 and (pg.verdict, pg.verdict_basis) == (Verdict.RAMANUJAN, "db")


def test_db_does_not_decide_a_weighted_graph_or_one_of_min_degree_one():
    w = generators.pg2_incidence(3).toarray() * 1.5
    r = ramanujan_report(BipartiteGraph.from_dense(w), universal_cover=False)
    assert r.delta_r >= 0 and r.verdict == Verdict.UNDECIDED  # Hoory's theorem is about 0/1 graphs
    star = ramanujan_report(generators.complete_bipartite(1, 5), universal_cover=False)
    assert not star.db_valid and star.verdict == Verdict.UNDECIDED


def test_disconnected_scope_and_empty_graph():
    two = np.kron(np.eye(2), generators.pg2_incidence(2).toarray())
    r = ramanujan_report(BipartiteGraph.from_dense(two), scope="nonisolated")
    assert (r.verdict, r.verdict_basis) == (Verdict.NOT_RAMANUJAN, "disconnected")
    assert ramanujan_report(BipartiteGraph.from_dense(two)).verdict == Verdict.RAMANUJAN  # largest: one copy
    empty = ramanujan_report(BipartiteGraph.from_dense(np.zeros((3, 4))))
    assert (empty.verdict, empty.verdict_basis) == (Verdict.UNDEFINED, "undefined")


def test_headline_rule_table():
    nan = math.nan
    assert headline_verdict("ramanujan", nan, 1.0, True, False, True)[0] == Verdict.UNDEFINED
    assert headline_verdict("ramanujan", 1.0, 1.0, True, False, False)[0] == Verdict.NOT_RAMANUJAN
    assert headline_verdict("undecided", 1.0, nan, True, False, True)[0] == Verdict.UNDECIDED
    assert headline_verdict("undecided", 1.0, 0.0, False, False, True)[0] == Verdict.UNDECIDED
    assert headline_verdict("undecided", 1.0, 0.0, True, False, True) == (Verdict.RAMANUJAN, "db")


def test_study_verdict_never_says_no_for_want_of_a_number():
    assert study_verdict(nan := float("nan"), nan) == Verdict.UNDEFINED
    assert study_verdict("nan") == Verdict.UNDEFINED
    assert study_verdict(-0.5, nan) == Verdict.NOT_RAMANUJAN
    assert study_verdict(-0.5, 0.0) == Verdict.RAMANUJAN


def test_to_dict_puts_the_verdict_first_and_round_trips():
    r = ramanujan_report(generators.pg2_incidence(2))
    d = r.to_dict()
    assert list(d)[:2] == ["verdict", "verdict_basis"] and d["verdict"] == "ramanujan"
    back = RamanujanReport.from_dict(json.loads(json.dumps(d)))
    assert back.verdict == r.verdict and back.verdict_basis == r.verdict_basis


def test_analyze_shows_the_verdict_first(capsys):
    assert main(["analyze", "--example"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split()[:2] == ["verdict", "ramanujan"] and "exact" in rows[1]
    assert main(["analyze", "--example", "--json", "--no-universal-cover"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d)[:3] == ["path", "verdict", "verdict_basis"] and d["verdict_basis"] == "db"


def test_census_shows_undefined_not_no_for_an_untrained_weight(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(20, 10), torch.nn.ReLU(), torch.nn.Linear(10, 4))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e-3)  # |W| with t1 < 1: eb, and so the weight's Delta_S, is undefined
    path = tmp_path / "sd.pt"
    torch.save(model.state_dict(), path)
    assert main(["census", str(path)]) == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("| layer"))
    assert head.split("|")[2].strip() == "verdict"
    body = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| layer")]
    rule = [c.strip() for c in head.split("|")].index("study rule (mask / weight)")
    assert body and all(line.split("|")[rule].strip().endswith("/ undefined") for line in body)
    assert "undefined when none is defined" in out


def test_rounds_table_lists_undefined_layers_apart_from_failures(tmp_path):
    pytest.importorskip("torch")
    from bipartite_expanders.adapters.torch.lth.report.load import RunData
    from bipartite_expanders.adapters.torch.lth.report.markdown import rounds_markdown

    def layer(name, ds, dr):
        return {"name": name, "is_ramanujan": False, "mask": {"delta_s": ds, "delta_r": dr}}

    record = {"round": 3, "density": {"total": 0.5}, "accuracy": {"clean": 0.9, "noisy": {}},
              "regime": "partially", "regime_weighted": "partially", "timing": {"train_s": 1.0},
              "census": [layer("fc1", -0.2, 0.1), layer("fc2", -0.2, -0.3), layer("fc3", "nan", "nan")]}
    table = rounds_markdown(RunData(tmp_path, {}, [record]))
    row = next(line for line in table.splitlines() if line.startswith("| 3 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-3] == "1/3"  # fc1 passes (Delta_R >= 0); fc2 fails; fc3 is undefined, not a failure
    assert cells[-2] == "fc2, fc3 (undefined)"
    assert "not counted as a failure" in table
