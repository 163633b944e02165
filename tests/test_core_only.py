"""A core-only install (issue 25): commands that need the torch extra say so in one line, exit 2
and leave nothing behind; ``lth`` with neither a preset nor settings refuses to start hours of work.

A module is made unimportable in a child interpreter by a finder that raises
``ModuleNotFoundError`` for it, as on an install without the extra (``sys.modules['torch'] = None``
would also break scipy's own probe for torch arrays)."""
import subprocess
import sys

import pytest

from bipartite_expanders.cli import _OPTIONAL_COMMANDS, main

HINT = 'pip install "bipartite-expanders[torch]"'


def _without(module, argv, cwd):
    code = ("import sys, importlib.abc\n"
            "class Refuse(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.partition('.')[0] == {module!r}:\n"
            "            raise ModuleNotFoundError(f'no module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Refuse())\n"
            "from bipartite_expanders.cli import main\n"
            f"sys.exit(main({argv!r}))")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [
    ["lth", "--preset", "quickstart", "--out", "runs"],
    ["census", "model.pt"],
    ["sweep", "grid.toml", "--out", "runs"],
    ["reproduce", "run", "digits", "--out", "runs"],
])
def test_torch_commands_name_the_extra_and_leave_nothing(tmp_path, argv):
    (tmp_path / "grid.toml").write_text("")  # present, so only the missing torch can stop it
    before = sorted(p.name for p in tmp_path.iterdir())
    out = _without("torch", argv, tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and HINT in lines[0] and f"bipartite-expanders {argv[0]}:" in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert out.stdout == ""


@pytest.mark.parametrize("argv", [["report", "runs"], ["reproduce", "report", "runs", "--out", "out"]])
def test_report_needs_matplotlib_not_torch(tmp_path, argv):
    out = _without("matplotlib", argv, tmp_path)
    assert out.returncode == 2 and "'matplotlib'" in out.stderr and HINT in out.stderr
    assert not any(tmp_path.iterdir())
    # without torch the report gets past the check (and fails on the missing run directory)
    out = _without("torch", argv, tmp_path)
    assert "torch extra" not in out.stderr and "runs" in out.stderr


def test_help_lists_the_torch_commands_with_the_extra_and_analyze_still_runs(tmp_path):
    listing = _without("torch", ["--help"], tmp_path)
    assert listing.returncode == 0
    text = " ".join(listing.stdout.split())  # argparse wraps the help column
    for name, (_, help_) in _OPTIONAL_COMMANDS.items():
        marked = f"{name} {help_} (needs the torch extra: pip install" in text
        assert marked == (name != "report"), name  # report reads records and draws: no torch
    ok = _without("torch", ["analyze", "--example", "--no-universal-cover", "--json"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    # the command's --help needs no torch either
    assert _without("torch", ["lth", "--help"], tmp_path).returncode == 0


def test_lth_without_preset_or_settings_says_what_it_would_run(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["lth", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "20 rounds x 20,000 iterations" in err[0] and "--preset" in err[0] and "lenet300 on digits" in err[0]
    assert not out.exists()


def test_lth_print_hparams_alone_still_prints(capsys):
    assert main(["lth", "--print-hparams"]) == 0
    assert '"iterations": 20000' in capsys.readouterr().out
