"""Benchmarks shipped with the package (run through ``bipartite-expanders bench NAME``).

They live inside the package, not only under ``benchmarks/``, so that the console script
works from an installed wheel; ``benchmarks/*.py`` are thin runners over these modules.
"""

#: benchmark name -> module exposing ``configure(parser)`` and ``run(args) -> int``
BENCHMARKS: dict[str, str] = {
    "eigensolvers": "bipartite_expanders.bench.eigensolvers",
}
