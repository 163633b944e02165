"""bipartite-expanders: sparse bipartite graphs through the spectral theory of expanders.

The core is framework-free (numpy + scipy); torch lives in :mod:`bipartite_expanders.adapters.torch`.

>>> from bipartite_expanders import generators, ramanujan_report
>>> r = ramanujan_report(generators.pg2_incidence(3))
>>> round(r.t1, 6), round(r.t2, 6), r.verdict_r.value
(4.0, 1.732051, 'ramanujan')
"""

from . import generators
from .bounds import VERDICT_BASES, HooryBounds, Verdict, exact_verdict, headline_verdict, hoory_bounds, study_verdict, verdict
from .cover import COVER_METHODS, CoverRadius, CoverToleranceWarning, cover_bracket_free, cover_radius_of_adjacency, universal_cover_radius
from .metrics import SPECTRAL_METRICS, MetricSpec, imdb, narc, register_metric, spectral_metric, spectral_metrics
from .nonbacktracking import NonBacktrackingResult, ihara_bass_matrix, nonbacktracking_test
from .components import Components, SideDegrees, connected_components, side_degrees
from .report import RamanujanReport, Regime, network_regime, ramanujan_report
from .scopes import SCOPES, restrict_to_scope, scope_vertices
from .graph import BipartiteGraph, as_graph
from .io import GraphFileError, GraphFileNote, example_path, load_graph, save_graph
from .sparsify import DEFAULT_LEVELS, Candidate, SparsifyDecision, SparsifyReason, SparsifyResult, bounded_sparsify, lowest, removal_count, removal_order
from .spectrum import (
    SOLVERS,
    SpectralPair,
    SpectrumAccuracyError,
    SpectrumResult,
    choose_solver,
    register_solver,
    spectral_pair,
    top_singular_values,
)

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
    "SpectrumAccuracyError",
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
    "exact_verdict",
    "headline_verdict",
    "study_verdict",
    "VERDICT_BASES",
    "GraphFileError",
    "GraphFileNote",
    "load_graph",
    "save_graph",
    "example_path",
    "generators",
    "CoverRadius",
    "CoverToleranceWarning",
    "COVER_METHODS",
    "universal_cover_radius",
    "cover_radius_of_adjacency",
    "cover_bracket_free",
    "NonBacktrackingResult",
    "nonbacktracking_test",
    "ihara_bass_matrix",
    "MetricSpec",
    "SPECTRAL_METRICS",
    "register_metric",
    "spectral_metric",
    "spectral_metrics",
    "imdb",
    "narc",
    "DEFAULT_LEVELS",
    "Candidate",
    "SparsifyDecision",
    "SparsifyReason",
    "SparsifyResult",
    "bounded_sparsify",
    "removal_count",
    "removal_order",
    "lowest",
    "__version__",
]
