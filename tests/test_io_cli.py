import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from bipartite_expanders import BipartiteGraph, GraphFileError, example_path, generators, load_graph, save_graph
from bipartite_expanders.cli import main


@pytest.mark.parametrize("ext", ["mtx", "npz", "npy", "csv", "tsv"])
def test_save_load_round_trip(tmp_path, ext):
    g = BipartiteGraph.from_dense([[0, 1.5, 0], [2, 0, 0], [0, 0, 0]])  # last row isolated
    p = save_graph(g, tmp_path / f"g.{ext}")
    assert load_graph(p) == g


def test_external_formats(tmp_path):
    scipy.io.mmwrite(str(tmp_path / "a.mtx"), sp.coo_matrix(np.eye(3)))  # scipy writes it "symmetric"
    with pytest.raises(GraphFileError, match="self-loop.*--matrix biadjacency"):
        load_graph(tmp_path / "a.mtx")  # a symmetric file is an adjacency matrix: eye has self-loops
    assert load_graph(tmp_path / "a.mtx", matrix="biadjacency").n_edges == 3
    np.savez(tmp_path / "dense.npz", np.ones((2, 3)))
    assert load_graph(tmp_path / "dense.npz").n_edges == 6
    (tmp_path / "h.csv").write_text("row,col,weight\n0,0,1.0\n2,1,3\n")
    g = load_graph(tmp_path / "h.csv")
    assert g.shape == (3, 2) and g.matrix[2, 1] == 3.0
    (tmp_path / "e.tsv").write_text("0\t0\n1\t1\n")
    assert load_graph(tmp_path / "e.tsv", shape=(4, 4)).shape == (4, 4)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("empty.csv", "", "empty"),
        ("bad.csv", "0,0\n1,x\n", "bad.csv:2: expected integer vertex indices"),
        ("neg.csv", "0,0,-1\n", "neg.csv:1: negative weight.*absolute values"),
        ("dup.csv", "0,0\n0,0\n", "dup.csv:2: duplicate edge \\(0, 0\\), first at line 1.*--duplicates"),
        ("bad.mtx", "not a matrix market file\n", "cannot read"),
        ("bad.npy", "garbage", "cannot read"),
        ("g.txt", "0,0\n", "unknown file type"),
        ("comments.csv", "# nothing\n", "no edges"),
    ],
)
def test_malformed_files(tmp_path, name, content, words):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(GraphFileError, match=words):
        load_graph(p)


def test_missing_file(tmp_path):
    with pytest.raises(GraphFileError, match="no such file"):
        load_graph(tmp_path / "nope.mtx")


def test_example_ships():
    g = load_graph(example_path())
    assert g.shape == (784, 300) and not g.is_weighted
    with pytest.raises(ValueError, match="available"):
        example_path("nope")


def test_cli_table_and_json(tmp_path, capsys):
    p = save_graph(generators.pg2_incidence(3), tmp_path / "pg.npz")
    assert main(["analyze", str(p)]) == 0
    out = capsys.readouterr().out
    assert "Delta_R" in out and "ramanujan" in out
    assert main(["analyze", str(p), "--json", "--scope", "all", "--unweighted"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["t1"] == pytest.approx(4.0) and d["scope"] == "all" and d["weighted"] is False


def test_cli_infinite_margins_in_json(tmp_path, capsys):
    p = save_graph(generators.complete_bipartite(3, 3), tmp_path / "k.csv")
    assert main(["analyze", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["delta_s"] == "inf" and d["t2"] == 0.0


@pytest.mark.parametrize("content", [None, "", "0,a\n"])
def test_cli_one_line_errors(tmp_path, content):
    p = tmp_path / "g.csv"
    if content is not None:
        p.write_text(content)
    r = subprocess.run([sys.executable, "-m", "bipartite_expanders.cli", "analyze", str(p)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and str(p) in r.stderr


def test_cli_example(capsys):
    assert main(["analyze", "--example"]) == 0
    assert "784 x 300" in capsys.readouterr().out
