"""A graph that Hoory's degree bound calls "not Ramanujan" and the exact test calls Ramanujan.

Run from the repository root:  python docs/examples/db_vs_exact.py
(The numbers in docs/universal-cover.md are this script's output.)
"""

import numpy as np

from bipartite_expanders import BipartiteGraph, generators, nonbacktracking_test, ramanujan_report

# Base graph: one left "hub" joined to all 8 right vertices, and 4 left vertices of degree 2
# that pair the right vertices up. Minimum degree 2, so Hoory's theorem (db <= rho(T)) applies.
base = np.zeros((5, 8))
base[0, :] = 1
for i in range(4):
    base[1 + i, 2 * i: 2 * i + 2] = 1
H = BipartiteGraph.from_dense(base)
G = generators.random_lift(H, 20, seed=2)  # 100 x 160, same universal cover as H

for name, g in (("base H", H), ("20-lift G", G)):
    r = ramanujan_report(g, universal_cover=True)  # the exact radius (the default decides from a bracket)
    nb = nonbacktracking_test(g)
    print(f"{name}: shape {g.shape}, {g.n_edges} edges, connected: {r.n_components == 1}, min degree {min(r.min_degree_left, r.min_degree_right)}")
    print(f"  d_left = {r.d_left:.4f}, d_right = {r.d_right:.4f}, t1 = {r.t1:.6f}, t2 = {r.t2:.6f}")
    print(f"  db = {r.db:.6f} -> {r.verdict_r.value};  eb = {r.eb:.6f} -> {r.verdict_s.value}")
    print(f"  rho(T) = {r.rho_uc:.10f} (certified bracket width {r.rho_uc_upper - r.rho_uc_lower:.1e}) -> {r.verdict_uc.value}")
    print(f"  free bracket [{r.uc_free_lower:.6f}, {r.uc_free_upper:.6f}];  Ihara: {nb.verdict} "
          f"(|lambda| = {nb.lambda_nontrivial:.6f}, sqrt(rho(H)) = {nb.sqrt_rho_h:.6f})")
    print(f"  verdict: {r.verdict.value} ({r.verdict_basis})")
