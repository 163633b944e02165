"""Reproduce the seed study's Table 2 and Figure 4 (LeNet-300-100, IMP / SNIP / SynFlow, plain and
-Bound, 3 seeds, down to 1 % density) on Fashion-MNIST and digits; see docs/results.md.

The same as ``bipartite-expanders reproduce ...``:

    python benchmarks/reproduce_table2.py run digits --out runs/table2/digits        # resumable
    python benchmarks/reproduce_table2.py run fmnist --out runs/table2/fmnist        # several processes may share it
    python benchmarks/reproduce_table2.py collect runs/table2/fmnist docs/results/fmnist
    python benchmarks/reproduce_table2.py report docs/results/fmnist --out docs/results/fmnist/aggregate
"""

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from adapters.torch.lth.reproduce import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
