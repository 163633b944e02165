"""Every ```python block of README.md and docs/*.md runs as written (issue 25, deliverable 2).

The blocks of one file run in order, in one namespace, in a temporary working directory, with
stdout captured. Markers (an HTML comment on the line just before a fence, invisible when
rendered):

- ``<!-- snippet: skip REASON -->`` before a python block: not run; the reason is required.
- ``<!-- snippet: output -->`` before a ```text block: it must equal what the python blocks
  printed since the previous checked output (numbers to a relative 1e-6).
- ``<!-- snippet: output-of PATH -->`` before a ```text block: it must equal the output of
  ``python PATH`` run from the repository root (the same comparison).

A file whose blocks import torch is skipped when torch is not installed (the core-only install).
Shell commands (```bash) are not run; long jobs belong there, not in python blocks.
"""
import contextlib
import importlib.util
import io
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
_MARKER = re.compile(r"<!--\s*snippet:\s*(\S+)\s*(.*?)\s*-->")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def blocks(path):
    """``(kind, source, first_line, marker, argument)`` of each fenced block of a file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```") and len(fence) > 3:
            kind = fence[3:].strip()
            prev = lines[i - 1].strip() if i else ""
            m = _MARKER.fullmatch(prev)
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out.append((kind, "\n".join(lines[i + 1:j]) + "\n", i + 2, m.group(1) if m else None,
                        m.group(2) if m else ""))
            i = j + 1
        else:
            i += 1
    return out


def same_output(shown, printed):
    """Line by line, words equal and numbers equal to a relative 1e-6 (an absolute 1e-11 for tiny ones)."""
    a = [l.rstrip() for l in shown.strip("\n").splitlines()]
    b = [l.rstrip() for l in printed.strip("\n").splitlines()]
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if _NUMBER.sub("#", x) != _NUMBER.sub("#", y):
            return False
        for u, v in zip(_NUMBER.findall(x), _NUMBER.findall(y)):
            fu, fv = float(u), float(v)
            if abs(fu - fv) > 1e-6 * max(abs(fu), abs(fv)) + 1e-11:
                return False
    return True


def _needs_torch(source):
    return bool(re.search(r"^\s*(import torch|from torch|from bipartite_expanders\.adapters)", source, re.M))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_python_blocks_run_as_written(path, tmp_path, monkeypatch):
    found = blocks(path)
    if not any(kind == "python" for kind, *_ in found) and not any(m == "output-of" for *_, m, _ in found):
        pytest.skip("no python blocks")
    if any(kind == "python" and _needs_torch(src) for kind, src, *_ in found) \
            and importlib.util.find_spec("torch") is None:
        pytest.skip("its python blocks need the torch extra")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"snippets_of_{path.stem}"}
    printed = io.StringIO()
    where = path.relative_to(ROOT)
    for kind, source, line, marker, argument in found:
        if kind == "python":
            if marker == "skip":
                assert argument, f"{where}:{line}: a skipped block must say why (<!-- snippet: skip REASON -->)"
                continue
            assert marker is None, f"{where}:{line}: unknown marker {marker!r} before a python block"
            code = compile(source, f"{where}:{line}", "exec")
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)  # noqa: S102 - the repository's own documentation
        elif marker == "output":
            assert same_output(source, printed.getvalue()), (
                f"{where}:{line}: the output shown differs from what the blocks print:\n{printed.getvalue()}")
            printed = io.StringIO()
        elif marker == "output-of":
            script = ROOT / argument
            assert script.is_file(), f"{where}:{line}: no script {argument}"
            run = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                                 timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
            assert run.returncode == 0, run.stderr
            assert same_output(source, run.stdout), (
                f"{where}:{line}: the output shown differs from `python {argument}`:\n{run.stdout}")


def test_markers_are_understood(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("text\n\n<!-- snippet: skip needs a run directory -->\n```python\nraise SystemExit\n```\n"
                  "```python\nprint(1.5)\n```\n<!-- snippet: output -->\n```text\n1.5000001\n```\n")
    kinds = [(k, m, a) for k, _, _, m, a in blocks(md)]
    assert kinds == [("python", "skip", "needs a run directory"), ("python", None, ""), ("text", "output", "")]
    assert same_output("1.5000001\n", "1.5\n") and not same_output("1.6\n", "1.5\n")
    assert not same_output("a 1\n", "b 1\n") and not same_output("1\n2\n", "1\n")
