"""The core's imports form a DAG (issue 12, item 5): parsed with ``ast``, not imported, so a cycle
hidden behind a function-level import is found too."""

import ast
from pathlib import Path

import networkx as nx

import bipartite_expanders

CORE = Path(bipartite_expanders.__file__).parent
PACKAGE = "bipartite_expanders"


def _modules():
    """module name -> parsed tree, for every .py file of the core."""
    out = {}
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return out


def _targets(name, path, node, modules):
    """The core modules one import statement loads (a package's ``__init__`` and, for
    ``from pkg import sub``, the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    if node.module == "__future__":
        return []
    if node.level:
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if not mod.startswith(PACKAGE):
        return []
    subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules]
    # ``from . import sibling`` loads the sibling; the package itself is the one being imported already
    if node.module is None and subs and len(subs) == len(node.names):
        return subs
    found = [mod] if mod in modules else []
    found += subs
    return found


def _imports():
    """(module-level edges, function-level edges, underscore names imported across modules)."""
    modules = _modules()
    top, nested, private = set(), set(), []
    for name, (path, tree) in modules.items():
        body_ids = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = _targets(name, path, node, modules)
            in_body = id(node) in body_ids or _guarded_top_level(tree, node)
            for t in targets:
                if t != name:
                    (top if in_body else nested).add((name, t))
            if isinstance(node, ast.ImportFrom) and targets:
                private += [(name, node.module, a.name) for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    return modules, top, nested, private


def _guarded_top_level(tree, node):
    """Imports under a module-level ``if`` / ``try`` (TYPE_CHECKING, optional packages) count as top level."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.If, ast.Try)) and any(n is node for n in ast.walk(stmt)):
            return not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and
                           any(m is node for m in ast.walk(n)) for n in ast.walk(stmt))
    return False


def test_core_imports_form_a_dag():
    modules, top, _, _ = _imports()
    G = nx.DiGraph()
    G.add_nodes_from(modules)
    G.add_edges_from(top)
    cycles = list(nx.simple_cycles(G))
    assert not cycles, f"import cycles in the core: {cycles}"
    # the layering of docs/: pure formulas and small helpers are leaves; only report combines
    for leaf in ("bipartite_expanders.bounds", "bipartite_expanders.files", "bipartite_expanders._checks",
                 "bipartite_expanders.scaling"):
        assert not [t for s, t in top if s == leaf], leaf
    assert ("bipartite_expanders.bounds", "bipartite_expanders.cover") not in top
    assert ("bipartite_expanders.components", "bipartite_expanders.spectrum") not in top


def test_no_function_level_import_dodges_a_cycle():
    modules, top, nested, _ = _imports()
    G = nx.DiGraph(list(top))
    G.add_nodes_from(modules)
    dodging = [(s, t) for s, t in nested if G.has_node(t) and nx.has_path(G, t, s)]
    assert not dodging, f"function-level imports that hide a cycle: {dodging}"
    assert not nested, f"function-level imports of core modules (move them to the top): {sorted(nested)}"


def test_no_underscore_name_is_imported_across_modules():
    _, _, _, private = _imports()
    assert not private, f"underscore names imported across modules: {private}"


def test_the_checker_sees_a_cycle(tmp_path):
    """The parser above is not vacuous: two modules importing each other inside functions."""
    a = ast.parse("def f():\n    from .b import g\n")
    node = next(n for n in ast.walk(a) if isinstance(n, ast.ImportFrom))
    modules = {"bipartite_expanders.a": None, "bipartite_expanders.b": None}
    assert _targets("bipartite_expanders.a", Path("a.py"), node, modules) == ["bipartite_expanders.b"]
