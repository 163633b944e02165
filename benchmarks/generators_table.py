"""The table of t2 against the certified bound for the shipped families (docs/generators.md).

Every ``t2`` in the table is recomputed here with numpy's dense SVD, independently of the
generator's own certificate, and the row fails loudly if the two disagree or the dense value
breaks the bound. Regenerate the docs section with:

    OMP_NUM_THREADS=1 python benchmarks/generators_table.py --write docs/generators.md

(without ``--write`` the table is printed). The section between the ``generators-table``
markers is replaced; nothing else in the file changes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from bipartite_expanders import generators as G  # noqa: E402
from bipartite_expanders import universal_cover_radius  # noqa: E402
from bipartite_expanders.files import atomic_write  # noqa: E402

BEGIN, END = "<!-- generators-table:begin -->", "<!-- generators-table:end -->"

CERTIFIED = [
    ("complete_bipartite", "ramanujan_biregular(8, 12, 12)", lambda: G.ramanujan_biregular(8, 12, 12)),
    *[(f"PG(2, {q})", f"ramanujan_biregular({q * q + q + 1}, {q * q + q + 1}, {q + 1})",
       (lambda q=q: G.ramanujan_biregular(q * q + q + 1, q * q + q + 1, q + 1))) for q in (2, 3, 4, 5, 7, 8, 9, 16, 27)],
    ("array code (BSV)", "ramanujan_biregular(21, 49, 7)", lambda: G.ramanujan_biregular(21, 49, 7)),
    ("array code (BSV)", "ramanujan_biregular(121, 55, 5)", lambda: G.ramanujan_biregular(121, 55, 5)),
    ("array code (BSV)", "ramanujan_biregular(128, 1024, 32)", lambda: G.ramanujan_biregular(128, 1024, 32)),
    ("random + switches", "ramanujan_biregular(100, 100, 3)", lambda: G.ramanujan_biregular(100, 100, 3)),
    ("random + switches", "ramanujan_biregular(300, 300, 3, seed=5)", lambda: G.ramanujan_biregular(300, 300, 3, seed=5)),
    ("random + switches", "ramanujan_biregular(300, 200, 4)", lambda: G.ramanujan_biregular(300, 200, 4)),
    ("random + switches", "ramanujan_biregular(2000, 1000, 5)", lambda: G.ramanujan_biregular(2000, 1000, 5)),
    ("lift of K_{d_R,d_L}", "ramanujan_biregular(64, 32, 4, method='lift')", lambda: G.ramanujan_biregular(64, 32, 4, method="lift")),
    ("lift of K_{d_R,d_L}", "ramanujan_biregular(500, 500, 4, method='lift')", lambda: G.ramanujan_biregular(500, 500, 4, method="lift")),
    ("near-biregular", "ramanujan_bipartite(784, 300, 11760)  # LeNet fc1 at 5 %", lambda: G.ramanujan_bipartite(784, 300, 11760)),
    ("near-biregular", "ramanujan_bipartite(784, 300, 2352)  # LeNet fc1 at 1 %", lambda: G.ramanujan_bipartite(784, 300, 2352)),
    ("near-biregular", "ramanujan_bipartite(300, 100, 1500)  # LeNet fc2 at 5 %", lambda: G.ramanujan_bipartite(300, 100, 1500)),
    ("near-biregular", "ramanujan_bipartite(300, 280, 901)", lambda: G.ramanujan_bipartite(300, 280, 901)),
    ("near-biregular", "ramanujan_bipartite(576, 128, 737)  # VGG-19 conv at 1 %", lambda: G.ramanujan_bipartite(576, 128, 737)),
    ("near-biregular", "ramanujan_bipartite(4608, 512, 23593)  # VGG-19 conv at 1 %",
     lambda: G.ramanujan_bipartite(4608, 512, 23593)),
]

CONTROLS = [
    ("control (uncertified)", "random_near_biregular(784, 300, 11760)", lambda: G.random_near_biregular(784, 300, 11760)),
    ("control (uncertified)", "random_near_biregular(300, 280, 901)", lambda: G.random_near_biregular(300, 280, 901)),
    ("control (uncertified)", "random_biregular(300, 3, d_right=3, seed=5)", lambda: G.random_biregular(300, 3, d_right=3, seed=5)),
]


def degrees(A: np.ndarray) -> str:
    dl, dr = A.sum(1).astype(int), A.sum(0).astype(int)
    side = lambda d: f"{d.min()}" if d.min() == d.max() else f"{d.min()}-{d.max()}"  # noqa: E731
    return f"{side(dl)}, {side(dr)}"


def table() -> str:
    rows = ["| family | call | shape | edges | degrees (L, R) | t1 | t2 (numpy SVD) | bound | certificate | margin | tries / switches | CPU s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for family, call, make in CERTIFIED:
        c0 = time.process_time()
        r = make()
        cpu = time.process_time() - c0
        A = r.graph.toarray()
        s = np.linalg.svd(A, compute_uv=False)
        t2 = float(s[1]) if s[1] > 1e-9 * s[0] else 0.0
        if abs(t2 - r.t2) > 1e-8 * max(1.0, t2) or t2 > r.bound:
            raise AssertionError(f"{call}: dense t2 {t2} vs certificate {r.t2} <= {r.bound}")
        margin = "inf" if t2 == 0 else f"{(r.bound - t2) / t2:+.4f}"
        rows.append(f"| {family} | `{call.split('  #')[0]}`{'  ' + call.split('#')[1].strip() if '#' in call else ''} | "
                    f"{A.shape[0]} x {A.shape[1]} | {int(A.sum())} | {degrees(A)} | {s[0]:.4f} | {t2:.6f} | {r.bound:.6f} | "
                    f"{r.certificate} | {margin} | {r.tries} / {r.switches} | {cpu:.2f} |")
    for family, call, make in CONTROLS:
        c0 = time.process_time()
        g = make()
        A = g.toarray()
        s = np.linalg.svd(A, compute_uv=False)
        rho = universal_cover_radius(g, tol=1e-9, scope="largest")
        cpu = time.process_time() - c0
        ok = "yes" if s[1] <= rho.lower else "**no**"
        rows.append(f"| {family} | `{call}` | {A.shape[0]} x {A.shape[1]} | {int(A.sum())} | {degrees(A)} | {s[0]:.4f} | "
                    f"{s[1]:.6f} | {rho.lower:.6f} (rho lower) | none; t2 <= rho: {ok} | {(rho.lower - s[1]) / s[1]:+.4f} | - | {cpu:.2f} |")
    note = (f"\nGenerated by `OMP_NUM_THREADS=1 python benchmarks/generators_table.py --write docs/generators.md` "
            f"(seed 0 unless shown; CPU seconds include the certificate, load average {os.getloadavg()[0]:.1f}).\n")
    return "\n".join(rows) + "\n" + note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", metavar="MARKDOWN", help="replace the section between the generators-table markers of this file")
    args = ap.parse_args()
    text = table()
    if not args.write:
        print(text)
        return 0
    doc = open(args.write, encoding="utf-8").read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"--write: {args.write} has no {BEGIN} ... {END} section")
    atomic_write(args.write, pattern.sub(lambda _: f"{BEGIN}\n{text}{END}", doc))
    print(f"wrote the table into {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
