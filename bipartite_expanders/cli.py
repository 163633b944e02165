"""The ``bipartite-expanders`` console script.

Subcommands live in modules that expose ``configure(parser)`` and ``run(args) -> int``, and
may expose ``validate(args)``, which checks every argument before anything runs; the table
below names them.

Exit status, for every command: 0 success; 2 a usage or validation error (argparse's own, a
:class:`UsageError`, or a ``ValueError`` / ``TypeError`` from ``validate``: a flag's value, a
combination of flags, a grid file's contents), one line naming the flag, key or file; 1 a run
that fails (a damaged input file, a failed solve, a run directory that cannot be resumed, a
failed run of a sweep); 130 interrupted (Ctrl-C). Building the parser imports every command module, so a module whose
command needs torch (``lth``, ``report``, ...) defers that import to ``run``: the core's
``analyze`` never loads torch (a test checks).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from . import __version__
from .bounds import VERDICT_BASES
from . import progress
from .compile_notice import announce_compiles
from .files import dumps
from .graph import DUPLICATE_POLICIES
from .io import FORMATS, MATRIX_KINDS, GraphFileNote, example_path, load_graph
from .report import ramanujan_report
from .scopes import SCOPES
from .spectrum import SOLVERS

__all__ = ["main", "build_parser", "COMMANDS", "UsageError", "missing_torch_extra", "TORCH_EXTRA_MODULES"]

#: name -> (module, one-line help). Modules that are absent (an uninstalled extra) are skipped.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("bipartite_expanders.cli", "spectral report of a bipartite graph file"),
}
_OPTIONAL_COMMANDS: dict[str, tuple[str, str]] = {
    "lth": ("bipartite_expanders.adapters.torch.lth.cli", "run a lottery-ticket pruning experiment"),
    "report": ("bipartite_expanders.adapters.torch.lth.report_cli", "render figures and tables from run directories"),
    "census": ("bipartite_expanders.adapters.torch.census_cli", "spectral census of a checkpoint: a Hugging Face directory, a safetensors or torch file, or a run directory"),
    "sweep": ("bipartite_expanders.adapters.torch.lth.sweep_cli", "run a grid of lottery-ticket runs"),
    "reproduce": ("bipartite_expanders.adapters.torch.lth.reproduce", "the seed study's Table 2 / Figure 4 grids, their aggregate and counter-check"),
}
#: the import names of the ``torch`` extra's packages
TORCH_EXTRA_MODULES = ("torch", "sklearn", "matplotlib", "tqdm")
#: what each optional command imports from the extra (``report`` reads records and draws: no torch);
#: ``reproduce`` by its action, the others whatever the action
_COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "lth": ("torch", "sklearn", "tqdm"),
    "census": ("torch", "tqdm"),
    "sweep": ("torch", "sklearn", "tqdm"),
    "report": ("matplotlib",),
    "reproduce run": ("torch", "sklearn", "tqdm"),
    "reproduce report": ("matplotlib",),
    "reproduce compare": (),
    "reproduce collect": (),
}
TORCH_EXTRA_HINT = 'pip install "bipartite-expanders[torch]"'


# ------------------------------------------------------------------ analyze
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="graph file: .mtx, .npz, .npy, a .csv or .tsv edge list (row, col), "
                        "a .edgelist (a graph's u v; networkx's write_edgelist); .gz is read")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="the file's format (default: from its extension); edgelist: a graph's edge list over one "
                             "vertex numbering, 2-coloured; adjacency: a matrix file read as a graph's adjacency matrix")
    parser.add_argument("--matrix", choices=MATRIX_KINDS, default="auto",
                        help="matrix files: auto (default: a symmetric or square pattern-symmetric .mtx is a graph's "
                             "adjacency matrix, 2-coloured), or force biadjacency (rows x columns) or adjacency")
    parser.add_argument("--index-base", type=int, choices=(0, 1), default=None,
                        help="edge lists: the first vertex's index (default: 1 when no index is 0 and no size is "
                             "given, else 0; a note says when 1 is detected)")
    parser.add_argument("--example", metavar="NAME", nargs="?", const="lenet_fc1_mask",
                        help="analyse an example graph shipped with the package instead of PATH")
    parser.add_argument("--scope", choices=SCOPES, default="largest",
                        help="vertices the report covers: largest (the component with the most edges; "
                             "the default), nonisolated (every vertex with an edge) or all")
    w = parser.add_mutually_exclusive_group()
    w.add_argument("--weighted", dest="weighted", action="store_true", default=None,
                   help="use edge weights (default: weighted when some weight differs from 1)")
    w.add_argument("--unweighted", dest="weighted", action="store_false", help="use the 0/1 pattern")
    parser.add_argument("--solver", default="auto", choices=("auto", *sorted(SOLVERS)),
                        help="eigensolver (default: auto, chosen by size and density; see docs/spectrum.md)")
    uc = parser.add_mutually_exclusive_group()
    uc.add_argument("--universal-cover", choices=("auto", "exact", "off"), default="auto",
                    help="rho(T) of the universal cover: auto (default: exact, but the certified free O(E) bracket "
                         "on graphs of more than 200000 edges), exact (always) or off")
    uc.add_argument("--no-universal-cover", dest="universal_cover", action="store_const", const="off",
                    help="the same as --universal-cover off: skip rho_uc and its verdict (faster)")
    h = parser.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None,
                   help="edge lists: the first line is a header (default: only when none of its fields is a number)")
    h.add_argument("--no-header", dest="header", action="store_false", help="edge lists: the first line is an edge")
    parser.add_argument("--duplicates", choices=DUPLICATE_POLICIES, default="error",
                        help="edge lists: what a repeated edge means (default: error)")
    parser.add_argument("--max-vertices", type=int, default=None, metavar="N",
                        help="refuse a file with more vertices than N before reading it "
                             "(default: what the available memory holds)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.6g}"
    return str(v)


def _cover_row(report: Any) -> str:
    lo, hi = report.rho_uc_lower, report.rho_uc_upper
    if math.isnan(report.rho_uc) and report.rho_uc_method in ("free", "bisect"):
        # the default's budgeted certificate: a bracket that decides the verdict (or says it cannot)
        how = "the free O(E) bracket" if report.rho_uc_method == "free" else "sweeps at t2 within the budget"
        return (f"certified bracket [{lo:.12g}, {hi:.12g}] ({how}; the exact radius: "
                "--universal-cover exact)")
    if math.isnan(report.rho_uc):
        return f"not computed; free bracket [{_fmt(report.uc_free_lower)}, {_fmt(report.uc_free_upper)}]"
    rel = (hi - lo) / hi if hi > 0 else 0.0
    note = "" if report.rho_uc_converged else "  (NOT converged to tol: wider than asked)"
    return f"{report.rho_uc:.10g}  certified [{lo:.12g}, {hi:.12g}], rel. width {rel:.1e}, {report.rho_uc_method}{note}"


def validate(args: argparse.Namespace) -> None:
    """The arguments of ``analyze``, checked before any file is read."""
    if (args.path is None) == (args.example is None):
        raise UsageError("give exactly one of PATH or --example")
    if args.max_vertices is not None and args.max_vertices < 2:
        raise ValueError(f"--max-vertices must be an integer >= 2, got {args.max_vertices}")


def run(args: argparse.Namespace) -> int:
    validate(args)
    path = example_path(args.example) if args.example is not None else args.path
    if args.format == "adjacency" and args.matrix == "biadjacency":
        raise UsageError("--format adjacency contradicts --matrix biadjacency")
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", GraphFileNote)
        graph = load_graph(path, args.format, header=args.header, duplicates=args.duplicates,
                           max_vertices=args.max_vertices, index_base=args.index_base, matrix=args.matrix)
    for note in notes:  # how the file was read, when it could have been read otherwise
        if issubclass(note.category, GraphFileNote):
            print(f"bipartite-expanders analyze: note: {note.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(note.message, note.category, note.filename, note.lineno)
    uc = {"auto": "auto", "exact": True, "off": False}[args.universal_cover]
    report = ramanujan_report(graph, scope=args.scope, weighted=args.weighted, solver=args.solver, universal_cover=uc)
    d = report.to_dict()
    if args.json:
        print(dumps({"path": str(path), **d}, indent=2))
        return 0
    print(f"{path}: {graph.shape[0]} x {graph.shape[1]}, {graph.n_edges} edges, density {graph.density:.4g}")
    rows = [
        ("verdict", f"{report.verdict.value}  ({report.verdict_basis}: {VERDICT_BASES[report.verdict_basis]})"),
        ("scope", f"{report.scope} ({report.n_left} x {report.n_right}, {report.n_edges} edges)"),
        ("weighted", report.weighted),
        ("components (with edges)", report.n_components),
        ("isolated left / right", f"{report.isolated_left} / {report.isolated_right}"),
        ("t1, t2", f"{_fmt(report.t1)}, {_fmt(report.t2)}"),
        ("d_left, d_right", f"{_fmt(report.d_left)}, {_fmt(report.d_right)}"),
        ("min degree left / right", f"{report.min_degree_left} / {report.min_degree_right}"),
        ("eb = 2 sqrt(t1 - 1)", _fmt(report.eb)),
        ("db = sqrt(dL-1) + sqrt(dR-1)", _fmt(report.db) + ("" if report.db_valid else "  (min degree < 2: Hoory's hypothesis fails)")),
        ("Delta_S", f"{_fmt(report.delta_s)}  -> {report.verdict_s.value}"),
        ("Delta_R", f"{_fmt(report.delta_r)}  -> {report.verdict_r.value}"),
    ]
    if not report.rho_uc_method:  # --universal-cover off
        rows.append(("universal cover rho(T)", _cover_row(report)))
    else:
        rows.append(("rho_uc (universal cover rho(T))", _cover_row(report)))
        delta = "" if math.isnan(report.delta_uc) else f"Delta_UC = {_fmt(report.delta_uc)}  "
        rows.append(("exact test t2 <= rho(T)", f"{delta}-> verdict_uc {report.verdict_uc.value}"))
    rows.append(("solver", report.solver))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


# ------------------------------------------------------------------ dispatch
class UsageError(Exception):
    """A command's arguments do not fit together; ``main`` prints the command's usage with it."""


def missing_torch_extra(modules: Sequence[str] = TORCH_EXTRA_MODULES) -> str | None:
    """The first of ``modules`` (default: every import name of the ``torch`` extra) that cannot
    be imported here, else None (a core-only install: ``pip install bipartite-expanders``)."""
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a broken or half-removed install counts as absent
            return name
    return None


def _needs_extra(command: str, missing: str) -> str:
    return (f"bipartite-expanders {command}: error: this command needs the torch extra ({missing!r} is not "
            f"installed): {TORCH_EXTRA_HINT}")


def _commands() -> dict[str, tuple[str, str]]:
    cmds = dict(COMMANDS)
    for name, (module, help_) in _OPTIONAL_COMMANDS.items():
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ImportError:  # a parent package is absent or does not import here: skip the command
            continue
        cmds[name] = (module, help_)
    return cmds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bipartite-expanders", description="Spectral analysis of sparse bipartite graphs and Ramanujan-bounded pruning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in _commands().items():
        mod = importlib.import_module(module)
        if name in _OPTIONAL_COMMANDS and missing_torch_extra(_COMMAND_NEEDS.get(name, ("torch",))) is not None:
            help_ = f"{help_} (needs the torch extra: {TORCH_EXTRA_HINT})"
        p = sub.add_parser(name, help=help_, description=help_)
        mod.configure(p)
        p.set_defaults(_module=module, _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Errors print one line to stderr (no traceback);
    a usage error prints the command's usage; a closed pipe (``... | head``) ends quietly with 0."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if sys.stderr.isatty():  # numba's first compile (seconds, once per install) says so on a terminal,
        announce_compiles()  # and a long exact cover radius shows its bracket narrowing
        progress.show_on(sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command in _OPTIONAL_COMMANDS:
        needs = _COMMAND_NEEDS.get(f"{args.command} {getattr(args, 'action', '')}".strip(),
                                   _COMMAND_NEEDS.get(args.command, TORCH_EXTRA_MODULES))
        missing = missing_torch_extra(needs)
        if missing is not None:  # before the command runs: nothing is written
            print(_needs_extra(args.command, missing), file=sys.stderr)
            return 2
    mod = importlib.import_module(args._module)
    validate = getattr(mod, "validate", None)
    if validate is not None:
        try:
            validate(args)
        except UsageError as exc:
            args._parser.error(str(exc))
        except (ValueError, TypeError, FileNotFoundError) as exc:  # a flag's value, a grid's contents
            print(f"bipartite-expanders {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bipartite-expanders: interrupted", file=sys.stderr)
            return 130
    try:
        status = int(mod.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return status
    except UsageError as exc:
        args._parser.error(str(exc))
    except BrokenPipeError:
        # the reader is gone (head, less): what is left to write has no reader, as for cat
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("bipartite-expanders: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"bipartite-expanders {args.command}: error: out of memory", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        root = (exc.name or "").partition(".")[0]
        if root in TORCH_EXTRA_MODULES:
            print(_needs_extra(args.command, root), file=sys.stderr)
            return 2
        print(f"bipartite-expanders {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError, RuntimeError, RecursionError) as exc:
        print(f"bipartite-expanders {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (a library's multi-line message joined)."""
    text = " ".join(str(exc).split("\n")).strip()
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
