"""Sphinx configuration: the API reference (numpydoc + autosummary) and the Markdown pages of
docs/ (myst-parser), in the pydata theme as scipy and networkx use. Built by .ci/run with
warnings as errors: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``."""

import warnings

import bipartite_expanders

# numpydoc reports a malformed docstring section as a Python warning, which -W does not see
warnings.filterwarnings("error", message="Unknown section", category=UserWarning)

project = "bipartite-expanders"
author = "bipartite-expanders contributors"
copyright = "the bipartite-expanders contributors"
release = version = bipartite_expanders.__version__  # the one place it is written

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# docs/results/ holds the generated reports of committed runs (figures, tables, records): linked
# from results.md as files, not pages of the manual
exclude_patterns = ["_build", "results/**", "examples/**", "api/generated/*.md"]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it; the signatures keep the hints
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
# a link to a file that is not a page (a .py example, a run's report.md) stays a plain link
suppress_warnings = ["myst.xref_missing", "myst.header"]

html_theme = "pydata_sphinx_theme"
html_title = f"bipartite-expanders {release}"
html_theme_options = {"navigation_with_keys": False}
