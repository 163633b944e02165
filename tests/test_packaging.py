"""The distribution's import names (issue 25): the repository's ``adapters/`` folder installs as
``bipartite_expanders.adapters``; nothing installs a top-level ``adapters`` (AdapterHub's import name)."""
import ast
import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _setuptools_table():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_list_matches_the_folders():
    """pyproject lists the packages by hand (a find cannot map adapters/ under the namespace):
    every folder with an ``__init__.py`` must be listed, under its installed name."""
    table = _setuptools_table()
    package_dir = table["package-dir"]
    assert package_dir == {"bipartite_expanders.adapters": "adapters"}
    on_disk = set()
    for init in ROOT.glob("bipartite_expanders/**/__init__.py"):
        on_disk.add(".".join(init.parent.relative_to(ROOT).parts))
    for init in ROOT.glob("adapters/**/__init__.py"):
        on_disk.add(".".join(("bipartite_expanders",) + init.parent.relative_to(ROOT).parts))
    assert set(table["packages"]) == on_disk
    assert not any(p == "adapters" or p.startswith("adapters.") for p in table["packages"])


def test_no_module_imports_the_top_level_adapters_name():
    """Every import of the adapters goes through the package's namespace: an ``import adapters``
    would work from a source checkout and fail from the wheel."""
    offenders = []
    for path in list(ROOT.glob("bipartite_expanders/**/*.py")) + list(ROOT.glob("adapters/**/*.py")) \
            + list(ROOT.glob("tests/*.py")) + list(ROOT.glob("benchmarks/*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names
                          if n == "adapters" or n.startswith("adapters.")]
    assert not offenders, offenders


def test_adapters_import_from_outside_the_checkout(tmp_path):
    """From another directory (no checkout on sys.path) the installed mapping is what resolves."""
    code = ("import importlib.util, bipartite_expanders.adapters.torch as t; "
            "assert importlib.util.find_spec('adapters') is None, 'a top-level adapters is installed'; "
            "print(t.__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "bipartite_expanders.adapters.torch"


def test_the_version_is_written_once():
    """pyproject reads the version from ``bipartite_expanders.__version__``; CITATION.cff and the
    CLI agree with it, and the changelog has an entry for it."""
    import re

    import bipartite_expanders
    from bipartite_expanders.cli import main

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert _setuptools_table()["dynamic"]["version"] == {"attr": "bipartite_expanders.__version__"}
    version = bipartite_expanders.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(version)}"$', cff, re.M), "CITATION.cff's version differs"
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()
    out = subprocess.run([sys.executable, "-m", "bipartite_expanders", "--version"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == f"bipartite-expanders {version}"
    assert callable(main)


def test_py_typed_is_package_data():
    table = _setuptools_table()
    assert "py.typed" in table["package-data"]["bipartite_expanders"]
    assert (ROOT / "bipartite_expanders" / "py.typed").is_file()
    assert table["include-package-data"] is False  # package data is exactly the list above


#: modules without a page of their own: packages whose names their modules document, and the
#: compiled loops behind public wrappers (cover_compiled behind cover_kernels, kernels and
#: compiled behind the Krylov solver)
NO_API_PAGE = {"bipartite_expanders", "bipartite_expanders.adapters", "bipartite_expanders.adapters.torch",
               "bipartite_expanders.adapters.torch.lth", "bipartite_expanders.adapters.torch.lth.report",
               "bipartite_expanders.cover_compiled", "bipartite_expanders.solvers.kernels",
               "bipartite_expanders.solvers.compiled"}


def test_every_public_module_has_an_api_page():
    """docs/api/ has one page per public module (the Sphinx build of .ci/run renders them): a new
    module without one would be missing from the reference."""
    modules = set()
    for path in list(ROOT.glob("bipartite_expanders/**/*.py")) + list(ROOT.glob("adapters/**/*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] == "adapters":
            parts = ["bipartite_expanders", *parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            modules.add(".".join(parts))
    pages = {p.stem for p in (ROOT / "docs" / "api").glob("*.rst")} - {"index"}
    assert modules - NO_API_PAGE == pages - NO_API_PAGE
    assert modules - NO_API_PAGE <= pages
    index = (ROOT / "docs" / "api" / "index.rst").read_text()
    assert all(f"   {p}\n" in index for p in pages)
