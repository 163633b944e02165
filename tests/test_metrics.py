"""Peer metrics: each against its definition computed independently here."""

import math

import numpy as np
import pytest

from bipartite_expanders import SPECTRAL_METRICS, BipartiteGraph, generators, imdb, narc, spectral_metric, spectral_metrics


def sv(B: np.ndarray) -> np.ndarray:
    return np.linalg.svd(B, compute_uv=False)


def test_registry_documents_every_metric():
    assert {"raw_gap_eb", "raw_gap_db", "normalized_gap_eb", "normalized_gap_db", "weighted_spectral_gap",
            "imdb", "narc", "raw_gap_uc", "delta_uc"} <= set(SPECTRAL_METRICS)
    for name, spec in SPECTRAL_METRICS.items():
        assert spec.name == name and spec.description and spec.source


def test_pg2_closed_forms():
    # PG(2, 3): (4, 4)-biregular, t1 = 4, t2 = sqrt 3, db = rho(T) = 2 sqrt 3, eb = 2 sqrt 3
    m = spectral_metrics(generators.pg2_incidence(3))
    r3 = math.sqrt(3)
    assert m["raw_gap_db"] == pytest.approx(r3) and m["raw_gap_eb"] == pytest.approx(r3)
    assert m["normalized_gap_db"] == pytest.approx(0.5) and m["normalized_gap_uc"] == pytest.approx(0.5)
    assert m["raw_gap_uc"] == pytest.approx(r3) and m["delta_uc"] == pytest.approx(1.0)
    assert m["weighted_spectral_gap"] == pytest.approx(4 - r3)
    assert m["imdb"] == pytest.approx(r3)  # one degree class: the whole graph


def two_class_graph() -> np.ndarray:
    rng = np.random.default_rng(7)
    B = np.zeros((40, 30))
    for i in range(40):  # rows 0..19 of degree 5, rows 20..39 of degree 8
        B[i, rng.choice(30, 5 if i < 20 else 8, replace=False)] = 1
    return B


def hoang_gap(B: np.ndarray, bound: str) -> float:
    B = B[B.sum(1) > 0][:, B.sum(0) > 0]
    dl, dr = B.sum() / B.shape[0], B.sum() / B.shape[1]
    s = sv(B)
    b = math.sqrt(dl - 1) + math.sqrt(dr - 1) if bound == "db" else 2 * math.sqrt(s[0] - 1)
    return b - s[1]


def test_imdb_is_the_mean_over_left_degree_classes():
    B = two_class_graph()
    expect = np.mean([hoang_gap(B[:20], "db"), hoang_gap(B[20:], "db")])
    assert imdb(BipartiteGraph.from_dense(B)) == pytest.approx(expect, rel=1e-9)
    expect_eb = np.mean([hoang_gap(B[:20], "eb"), hoang_gap(B[20:], "eb")])
    assert imdb(BipartiteGraph.from_dense(B), bound="eb") == pytest.approx(expect_eb, rel=1e-9)
    # a class with fewer than min_count vertices is skipped
    C = B.copy()
    C[0, :] = 1
    assert imdb(BipartiteGraph.from_dense(C)) == pytest.approx(
        np.mean([hoang_gap(C[1:20], "db"), hoang_gap(C[20:], "db")]), rel=1e-9)


def test_narc_formula():
    B = two_class_graph()
    B[:, 0] = 0  # an isolated right vertex: L, R count non-isolated vertices, (m, n) the full shape
    g = BipartiteGraph.from_dense(B)
    L, R, E = 40, 29, B.sum()
    mu = sv(B)[1]
    expect = ((mu**2 / 4 + 1) * math.sqrt(L * R) - abs(E - (E / L / 30) * L * R)) / (40 * 30)
    assert narc(g, edges="undirected") == pytest.approx(expect, rel=1e-9)
    assert spectral_metric(g, "narc_undirected") == pytest.approx(expect, rel=1e-9)
    expect_code = ((mu**2 / 4 + 1) * math.sqrt(L * R) - abs(2 * E - (E / L / 30) * L * R)) / (40 * 30)
    assert narc(g) == pytest.approx(expect_code, rel=1e-9)
    assert spectral_metric(g, "narc") == pytest.approx(expect_code, rel=1e-9)
    with pytest.raises(ValueError, match="edges must be one of"):
        narc(g, edges="both")


def test_narc_matches_the_published_dense_vgg16_layer():
    # ramanujan-on-pai's CSVs: the dense 27 x 64 first VGG-16 layer has NaRC -0.97594
    g = BipartiteGraph.from_dense(np.ones((27, 64)))
    assert round(narc(g), 5) == -0.97594
    assert narc(g) == pytest.approx((math.sqrt(1728) - 1728) / 1728, rel=1e-12)
    assert narc(g, edges="undirected") == pytest.approx(math.sqrt(1728) / 1728, rel=1e-12)


def test_sparse_layers_are_nan_like_the_source():
    g = generators.even_cycle(6)  # average degree 2 < 3: Hoang et al. skip it
    assert math.isnan(narc(g)) and math.isnan(imdb(g)) and math.isnan(spectral_metric(g, "raw_gap_db"))


def test_weighted_gap_reads_weights():
    B = two_class_graph() * np.random.default_rng(1).uniform(0.5, 2.0, (40, 30))
    s = sv(B)
    assert spectral_metric(BipartiteGraph.from_dense(B), "weighted_spectral_gap") == pytest.approx(s[0] - s[1], rel=1e-9)


def test_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        spectral_metric(generators.pg2_incidence(2), "spectral_gap")
    with pytest.raises(ValueError, match="bound"):
        imdb(generators.pg2_incidence(2), bound="xb")


def test_sources_are_the_papers_that_define_them():
    assert "NeurIPS 2023" in SPECTRAL_METRICS["weighted_spectral_gap"].source
    assert "Don't just prune by magnitude" in SPECTRAL_METRICS["weighted_spectral_gap"].source
    assert "ramanujan-on-pai" in SPECTRAL_METRICS["narc"].source and "published" in SPECTRAL_METRICS["narc"].description
