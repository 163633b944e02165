"""The command line behaves like the tools people know (issue 12, item 7)."""

import argparse
import json
import subprocess
import sys

import pytest

from bipartite_expanders import __version__, generators, save_graph
from bipartite_expanders.cli import build_parser, main


def _parsers(parser, path=()):
    """Every parser and sub-parser reachable from ``parser``, with its argv prefix."""
    yield path, parser
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_help_for_every_command_and_sub_command(capsys):
    seen = []
    for path, _ in _parsers(build_parser()):
        with pytest.raises(SystemExit) as exc:
            main([*path, "--help"])
        assert exc.value.code == 0, path
        out = capsys.readouterr().out
        assert out.startswith("usage: bipartite-expanders" + "".join(f" {p}" for p in path)), path
        seen.append(path)
    assert ("analyze",) in seen and len(seen) >= 2


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"bipartite-expanders {__version__}"


def test_python_dash_m_runs_the_same_cli():
    r = subprocess.run([sys.executable, "-m", "bipartite_expanders", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"bipartite-expanders {__version__}"


def test_closed_pipe_ends_quietly(tmp_path):
    p = save_graph(generators.pg2_incidence(3), tmp_path / "pg.npz")
    cmd = f"{sys.executable} -m bipartite_expanders analyze {p} --json | head -1; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.stdout == "{\n"
    assert r.returncode == 0 and "Broken pipe" not in r.stderr and "Traceback" not in r.stderr


def test_usage_error_prints_the_sub_commands_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: bipartite-expanders analyze") and "give exactly one of PATH or --example" in err


def test_solver_and_scope_help_list_their_choices(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--solver {auto,arpack,block,dense,gram,lanczos" in out
    assert "--scope {largest,nonisolated,all} vertices the report covers" in out
    assert "--duplicates {error,sum,max,last}" in out and "--no-universal-cover" in out


def test_text_output_shows_the_universal_cover_when_computed(tmp_path, capsys):
    p = save_graph(generators.pg2_incidence(3), tmp_path / "pg.npz")
    assert main(["analyze", str(p)]) == 0
    out = capsys.readouterr().out
    assert "rho_uc" in out and "verdict_uc ramanujan" in out
    assert main(["analyze", str(p), "--no-universal-cover"]) == 0
    out = capsys.readouterr().out
    assert "rho_uc" not in out and "Delta_R" in out
    assert main(["analyze", str(p), "--no-universal-cover", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rho_uc"] == "nan"


def test_duplicates_and_header_options(tmp_path, capsys):
    p = tmp_path / "d.csv"
    p.write_text("0,0,1\n0,0,2\n1,1,1\n")
    assert main(["analyze", str(p)]) == 1
    err = capsys.readouterr().err
    assert "d.csv:2: duplicate edge (0, 0), first at line 1" in err and "--duplicates sum" in err
    for policy, w00 in (("sum", 3.0), ("max", 2.0), ("last", 2.0)):
        assert main(["analyze", str(p), "--duplicates", policy, "--json", "--scope", "all", "--no-universal-cover"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["t1"] == pytest.approx(w00)
    h = tmp_path / "h.csv"
    h.write_text("5,5\n0,0\n1,1\n")  # numeric first line: an edge unless --header says otherwise
    assert main(["analyze", str(h), "--json", "--scope", "all", "--no-universal-cover"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [6, 6]
    assert main(["analyze", str(h), "--header", "--json", "--scope", "all", "--no-universal-cover"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [2, 2]
    t = tmp_path / "t.csv"
    t.write_text("row,col\n0,0\n")
    assert main(["analyze", str(t), "--no-header"]) == 1
    assert "t.csv:1: expected integer vertex indices" in capsys.readouterr().err


def test_max_vertices_option(tmp_path, capsys):
    p = save_graph(generators.pg2_incidence(3), tmp_path / "pg.npz")
    assert main(["analyze", str(p), "--max-vertices", "10"]) == 1
    err = capsys.readouterr().err
    assert "pg.npz: shape 13 x 13 has 26 vertices, more than max_vertices=10" in err
