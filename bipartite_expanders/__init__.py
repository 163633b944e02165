"""bipartite-expanders: sparse bipartite graphs through the spectral theory of expanders.

The core is framework-free (numpy + scipy); torch lives in :mod:`adapters.torch`.

>>> from bipartite_expanders import generators, ramanujan_report
>>> r = ramanujan_report(generators.pg2_incidence(3))
>>> round(r.t1, 6), round(r.t2, 6), r.verdict_r.value
(4.0, 1.732051, 'ramanujan')
"""

from . import generators
from .bounds import HooryBounds, RamanujanReport, Regime, Verdict, hoory_bounds, network_regime, ramanujan_report, verdict
from .components import SCOPES, Components, SideDegrees, connected_components, restrict_to_scope, scope_vertices, side_degrees
from .graph import BipartiteGraph, as_graph
from .io import GraphFileError, example_path, load_graph, save_graph
from .sparsify import DEFAULT_LEVELS, Candidate, SparsifyDecision, SparsifyReason, SparsifyResult, bounded_sparsify, removal_count, removal_order
from .spectrum import SOLVERS, SpectralPair, SpectrumResult, choose_solver, register_solver, spectral_pair, top_singular_values

__version__ = "0.1.0"

__all__ = [
    "BipartiteGraph",
    "as_graph",
    "Components",
    "SideDegrees",
    "SCOPES",
    "connected_components",
    "scope_vertices",
    "restrict_to_scope",
    "side_degrees",
    "SOLVERS",
    "SpectrumResult",
    "SpectralPair",
    "register_solver",
    "choose_solver",
    "top_singular_values",
    "spectral_pair",
    "HooryBounds",
    "RamanujanReport",
    "Verdict",
    "Regime",
    "hoory_bounds",
    "ramanujan_report",
    "network_regime",
    "verdict",
    "GraphFileError",
    "load_graph",
    "save_graph",
    "example_path",
    "generators",
    "DEFAULT_LEVELS",
    "Candidate",
    "SparsifyDecision",
    "SparsifyReason",
    "SparsifyResult",
    "bounded_sparsify",
    "removal_count",
    "removal_order",
    "__version__",
]
