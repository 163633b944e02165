"""universal_cover_radius: closed forms, brute-force references, certificates, edges."""

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

from bipartite_expanders import (
    BipartiteGraph,
    CoverRadius,
    cover_bracket_free,
    connected_components,
    cover_radius_of_adjacency,
    generators,
    universal_cover_radius,
)

K4_MINUS_EDGE = 2.50829  # published numerically (the issue)


def k4_minus_edge() -> np.ndarray:
    A = np.ones((4, 4)) - np.eye(4)
    A[0, 1] = A[1, 0] = 0
    return A


def bipartite_adjacency(g: BipartiteGraph) -> np.ndarray:
    B = g.toarray()
    m, n = B.shape
    A = np.zeros((m + n, m + n))
    A[:m, m:] = B
    A[m:, :m] = B.T
    return A


def cover_ball(A: np.ndarray, root: int, radius: int) -> sp.csr_array:
    """The ball of radius ``radius`` around a lift of ``root`` in the universal cover, built
    explicitly from non-backtracking walks (the brute-force reference)."""
    nbrs = [np.flatnonzero(A[v]) for v in range(A.shape[0])]
    rows, cols, vals = [], [], []
    frontier = [(0, root, -1)]  # (tree node id, graph vertex, graph vertex it came from)
    count = 1
    for _ in range(radius):
        nxt = []
        for node, v, parent in frontier:
            for u in nbrs[v]:
                if u == parent:
                    continue
                rows += [node, count]
                cols += [count, node]
                vals += [A[v, u], A[v, u]]
                nxt.append((count, u, v))
                count += 1
        frontier = nxt
    return sp.csr_array((vals, (rows, cols)), shape=(count, count))


def ball_radius(A: np.ndarray, root: int, radius: int) -> float:
    T = cover_ball(A, root, radius)
    if T.shape[0] <= 400:
        return float(np.linalg.eigvalsh(T.toarray())[-1])
    return float(spla.eigsh(T, k=1, which="LA", return_eigenvectors=False)[0])


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("n_left, c, d", [(12, 3, 4), (10, 2, 5), (8, 3, 3), (9, 4, 6)])
@pytest.mark.parametrize("method", ["auto", "fold"])
def test_biregular_closed_form(n_left, c, d, method):
    g = generators.random_biregular(n_left, c, d_right=d, seed=3)
    r = universal_cover_radius(g, method=method)
    exact = math.sqrt(c - 1) + math.sqrt(d - 1)
    assert r.lower <= exact <= r.upper
    assert r.width <= 1e-9 * exact
    assert r.value == pytest.approx(exact, rel=1e-10)
    assert r.method == ("closed_form" if method == "auto" else "fold")


def test_uniform_weight_scales_closed_form():
    g = generators.random_biregular(12, 3, d_right=4, seed=0)
    w = BipartiteGraph(g.matrix * 0.25)
    for method in ("auto", "fold"):
        r = universal_cover_radius(w, method=method)
        assert r.value == pytest.approx(0.25 * (math.sqrt(2) + math.sqrt(3)), rel=1e-10)


def test_pg2_incidence_is_regular_tree():
    r = universal_cover_radius(generators.pg2_incidence(5), method="fold")
    assert r.value == pytest.approx(2 * math.sqrt(5), rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trees_give_t1(seed):
    T = nx.random_labeled_tree(15, seed=seed) if hasattr(nx, "random_labeled_tree") else nx.random_tree(15, seed=seed)
    left = [v for v, side in nx.bipartite.color(T).items() if side == 0]
    g = BipartiteGraph.from_networkx(T, left=left)
    t1 = float(np.linalg.svd(g.toarray(), compute_uv=False)[0])
    r = universal_cover_radius(g)
    assert r.cycle_rank == 0 and r.method == "perron"
    assert r.lower <= t1 * (1 + 1e-12) and t1 <= r.upper * (1 + 1e-12)
    assert r.value == pytest.approx(t1, rel=1e-10)


def test_star_is_its_own_cover():
    r = universal_cover_radius(generators.star(7))
    assert r.value == pytest.approx(math.sqrt(7), rel=1e-12)


def test_unicyclic_gives_t1():
    # an even cycle with a pendant path: amenable cover (cycle rank 1), rho(T) = t1
    G = nx.cycle_graph(8)
    nx.add_path(G, [0, 8, 9, 10])
    A = nx.to_numpy_array(G, nodelist=range(11))
    r = cover_radius_of_adjacency(A)
    assert r.cycle_rank == 1
    assert r.value == pytest.approx(np.linalg.eigvalsh(A)[-1], rel=1e-10)
    assert universal_cover_radius(generators.even_cycle(5)).value == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("method", ["auto", "fold"])
def test_k4_minus_an_edge(method):
    # not bipartite: the universal cover exists for any graph, hence the adjacency entry point
    r = cover_radius_of_adjacency(k4_minus_edge(), method=method)
    assert round(r.value, 5) == K4_MINUS_EDGE
    assert r.lower <= r.value <= r.upper and r.width < 1e-9


# ----------------------------------------------------------- brute-force references
def test_k4_minus_edge_against_truncated_cover_balls():
    A = k4_minus_edge()
    r = cover_radius_of_adjacency(A)
    lams = [max(ball_radius(A, root, R) for root in (0, 2)) for R in (4, 8, 12, 16)]
    assert all(b > a for a, b in zip(lams, lams[1:]))  # finite subtrees: increasing lower bounds
    assert lams[-1] <= r.upper  # ... never above the certified upper bound
    assert lams[-1] >= 0.98 * r.value  # and converging to rho(T) (like c / R^2)


def test_irregular_bipartite_against_truncated_cover_balls():
    g = generators.random_lift(BipartiteGraph.from_dense([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]]), 1, seed=0)
    A = bipartite_adjacency(g)
    r = universal_cover_radius(g)
    lam = max(ball_radius(A, root, 18) for root in range(A.shape[0]))
    assert lam <= r.upper
    assert lam >= 0.97 * r.value


def test_random_lift_new_eigenvalues_approach_rho():
    # Bordenave-Collins: a large random lift's new eigenvalues fill [-rho(T), rho(T)] (+ o(1))
    base = np.zeros((5, 8))
    base[0] = 1
    for i in range(4):
        base[1 + i, 2 * i: 2 * i + 2] = 1
    H = BipartiteGraph.from_dense(base)
    rho = universal_cover_radius(H).value
    G = generators.random_lift(H, 100, seed=0)
    t2 = float(np.linalg.svd(G.toarray(), compute_uv=False)[1])  # H's own t2 is sqrt 2: this one is new
    assert abs(t2 - rho) <= 0.01 * rho
    assert universal_cover_radius(G).value == pytest.approx(rho, rel=1e-9)  # same cover


@pytest.mark.parametrize("name", ["theta", "leaves_on_cycles", "weighted_petersen"])
def test_fold_agrees_with_bisection_reference(name):
    rng = np.random.default_rng(5)
    if name == "theta":
        G = nx.Graph()
        nx.add_path(G, [0, 1, 2, 3, 4, 5])
        nx.add_path(G, [0, 6, 7, 8, 5])
        nx.add_path(G, [0, 9, 5])
        A = nx.to_numpy_array(G, nodelist=range(10))
    elif name == "leaves_on_cycles":
        G = nx.cycle_graph(6)
        G.add_edges_from([(0, 3), (1, 6), (1, 7), (4, 8)])
        A = nx.to_numpy_array(G, nodelist=range(9))
    else:
        A = nx.to_numpy_array(nx.petersen_graph()) * rng.uniform(0.5, 2, (10, 10))
        A = np.triu(A, 1) + np.triu(A, 1).T
    fold = cover_radius_of_adjacency(A, method="fold")
    ref = cover_radius_of_adjacency(A, method="bisect", tol=1e-5)
    assert fold.method == "fold" and ref.method == "bisect"
    assert ref.lower <= fold.upper and fold.lower <= ref.upper  # certified brackets overlap
    assert fold.width <= 1e-9 * fold.value
    assert fold.value <= np.linalg.eigvalsh(A)[-1]


# ------------------------------------------------------------ certificate properties
@st.composite
def connected_bipartite(draw):
    m = draw(st.integers(2, 7))
    n = draw(st.integers(2, 7))
    bits = draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))
    B = np.array(bits, dtype=float).reshape(m, n)
    for i in range(max(m, n)):  # a spanning zig-zag path keeps it connected
        B[min(i, m - 1), min(i, n - 1)] = 1
        if i + 1 < n:
            B[min(i, m - 1), min(i + 1, n - 1)] = 1
    if draw(st.booleans()):
        w = draw(st.lists(st.floats(0.1, 3.0), min_size=m * n, max_size=m * n))
        B = B * np.array(w).reshape(m, n)
    return BipartiteGraph.from_dense(B)


@settings(max_examples=30, deadline=None)
@given(connected_bipartite())
def test_certified_bracket_properties(g):
    r = universal_cover_radius(g)
    t1 = float(np.linalg.svd(g.toarray(), compute_uv=False)[0])
    assert r.lower <= r.value <= r.upper
    assert r.width <= 1e-9 * max(1.0, r.value)
    assert r.value <= t1 * (1 + 1e-9)  # the cover's radius never exceeds the graph's
    lo, hi = cover_bracket_free(g)
    assert lo <= r.upper * (1 + 1e-12)
    assert r.lower <= hi * (1 + 1e-12)
    # homogeneity: rho(T) of 2 W is 2 rho(T)
    r2 = universal_cover_radius(BipartiteGraph(g.matrix * 2.0), weighted=True)
    assert r2.value == pytest.approx(2 * r.value, rel=1e-8)


# ------------------------------------------------------------ scopes and bad input
def test_disconnected_needs_a_scope():
    g = generators.disjoint_union(generators.pg2_incidence(2), generators.pg2_incidence(3))
    with pytest.raises(ValueError, match="scope="):
        universal_cover_radius(g)
    both = universal_cover_radius(g, scope="nonisolated")
    assert both.value == pytest.approx(2 * math.sqrt(3)) and both.n_components == 2
    assert universal_cover_radius(g, scope="largest").value == pytest.approx(2 * math.sqrt(3))
    iso = BipartiteGraph(sp.block_diag([generators.pg2_incidence(2).matrix, sp.csr_array((1, 1))]))
    with pytest.raises(ValueError, match="isolated"):
        universal_cover_radius(iso)
    assert universal_cover_radius(iso, scope="all").value == pytest.approx(2 * math.sqrt(2))


def test_edgeless_scope_is_zero():
    g = BipartiteGraph(sp.csr_array((3, 4)))
    r = universal_cover_radius(g, scope="all")
    assert (r.value, r.lower, r.upper, r.method) == (0.0, 0.0, 0.0, "empty")


def test_bad_arguments():
    g = generators.pg2_incidence(2)
    with pytest.raises(ValueError, match="tol"):
        universal_cover_radius(g, tol=0)
    with pytest.raises(ValueError, match="method"):
        universal_cover_radius(g, method="newton")
    with pytest.raises(ValueError, match="scope"):
        universal_cover_radius(g, scope="biggest")
    with pytest.raises(TypeError, match="weighted"):
        universal_cover_radius(g, weighted="yes")
    with pytest.raises(ValueError, match="symmetric"):
        cover_radius_of_adjacency(np.triu(np.ones((3, 3)), 1))
    with pytest.raises(ValueError, match="square"):
        cover_radius_of_adjacency(np.ones((2, 3)))
    with pytest.raises(ValueError, match="diagonal"):
        cover_radius_of_adjacency(np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        cover_radius_of_adjacency(-k4_minus_edge())
    with pytest.raises(TypeError):
        cover_radius_of_adjacency(np.array([["a", "b"], ["c", "d"]]))


def test_result_serialises():
    import json

    r = universal_cover_radius(generators.pg2_incidence(2))
    assert isinstance(r, CoverRadius)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["value"] == pytest.approx(2 * math.sqrt(2)) and d["method"] == "closed_form"


SHARP = [  # weighted, with leaves and a heavy local star: a sharp fold (needs re-pinning)
    [0, 0, 0, 2.99, 0, 0, 0, 0, 0, 0, 2.84, 2.37],
    [0, 0.77, 2.12, 0, 0.39, 0, 0, 0.38, 1.73, 0, 0, 0],
    [0, 0, 0, 0, 0, 2.22, 0, 0, 0, 0, 2.73, 1.48],
    [2.02, 0, 0, 0.81, 0, 0, 0.83, 0, 0, 0, 1.1, 0],
    [0, 1.07, 2.15, 0, 0, 0.69, 0.79, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 1.04, 0, 0, 0],
]


def test_sharp_fold_agrees_with_bisection():
    g = BipartiteGraph.from_dense(SHARP)
    fold = universal_cover_radius(g, scope="largest", method="fold")
    ref = universal_cover_radius(g, scope="largest", method="bisect", tol=1e-6)
    assert fold.width <= 1e-9 * fold.value
    assert ref.lower <= fold.upper and fold.lower <= ref.upper


def test_tree_bracket_by_elimination():
    from bipartite_expanders.cover import _Edges, _tree_bracket

    for G in (nx.path_graph(30), nx.balanced_tree(3, 4), nx.star_graph(6)):
        A = nx.to_numpy_array(G)
        t1 = float(np.linalg.eigvalsh(A)[-1])
        coo = sp.triu(sp.csr_array(A), k=1).tocoo()
        lo, hi = _tree_bracket(_Edges(A.shape[0], coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, None), t1, 1e-10)
        assert lo < t1 < hi and hi - lo <= 1e-9 * t1


def _bracket_per_edge(g):
    """cover_bracket_free's formulas written edge by edge (the reference for the per-vertex form)."""
    B = g.matrix.tocoo()
    dl = np.bincount(B.row, minlength=g.n_left).astype(float)
    dr = np.bincount(B.col, minlength=g.n_right).astype(float)
    su, sv = np.sqrt(np.maximum(dl[B.row] - 1, 0)), np.sqrt(np.maximum(dr[B.col] - 1, 0))
    return float(np.mean(B.data * (su + sv))), float((su + sv).max())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.floats(0.15, 1.0), st.booleans(), st.integers(0, 2**31 - 1))
def test_free_bracket_per_vertex_matches_per_edge(m, n, density, weighted, seed):
    # random graphs with isolated vertices, several components, weights or not
    rng = np.random.default_rng(seed)
    A = (rng.random((m, n)) < density).astype(float)
    if weighted:
        A *= rng.uniform(0.2, 3.0, (m, n))
    if not A.any():
        return
    g = BipartiteGraph.from_dense(A)
    lo, hi = cover_bracket_free(g)
    mean_ref, max_ref = _bracket_per_edge(g)
    comp = connected_components(g)
    nontrivial = comp.edges > 0
    if not weighted and np.all(comp.edges[nontrivial] >= comp.n_vertices[nontrivial]):
        assert hi == pytest.approx(max_ref, rel=1e-12)
    else:
        assert hi == math.inf
    dl, dr = np.diff(g.matrix.indptr), np.bincount(g.matrix.indices, minlength=n)
    if not weighted and comp.n_nontrivial == 1 and dl[dl > 0].min() >= 2 and dr[dr > 0].min() >= 2:
        nnz = g.n_edges
        hoory = math.sqrt(nnz / np.count_nonzero(dl) - 1) + math.sqrt(nnz / np.count_nonzero(dr) - 1)
        assert lo == pytest.approx(max(mean_ref, hoory), rel=1e-12)
    else:
        assert lo == pytest.approx(mean_ref, rel=1e-12)


def test_free_bracket_max_edge_when_the_largest_terms_do_not_meet():
    # the highest-degree left and right vertices are not adjacent: the O(1) shortcut must not fire
    A = np.zeros((5, 5))
    A[0, :4] = 1          # left 0: degree 4, not adjacent to right 4
    A[1:, 4] = 1          # right 4: degree 4
    A[1, 0] = A[2, 1] = A[3, 2] = A[4, 3] = 1  # close cycles through both hubs
    g = BipartiteGraph.from_dense(A)
    lo, hi = cover_bracket_free(g)
    assert hi == pytest.approx(_bracket_per_edge(g)[1], rel=1e-12)
    assert hi < 2 * math.sqrt(3)  # sqrt(3) + sqrt(3) would need an edge between the two hubs
