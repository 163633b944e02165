"""``python -m bipartite_expanders``: the same command line as ``bipartite-expanders``."""

import sys

from .cli import main

if __name__ == "__main__":  # pragma: no cover - run as a module
    sys.exit(main())
