"""Eigensolver benchmark runner: ``python benchmarks/eigensolvers.py [--quick] [--json FILE]``.

The implementation lives in :mod:`bipartite_expanders.bench.eigensolvers` so that the
installed console script (``bipartite-expanders bench eigensolvers``) runs the same code.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bipartite_expanders.bench import eigensolvers  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="benchmarks/eigensolvers.py", description=eigensolvers.__doc__.splitlines()[0])
    eigensolvers.configure(parser)
    sys.exit(eigensolvers.run(parser.parse_args()))
