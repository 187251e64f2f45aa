"""TypiClust and ProbCover at scale (faiss): identical picks below the threshold, capped and reported above it."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.select import _space, faiss_backend, select
from coldstart.select import probcover

pytest.importorskip("faiss", reason='the [scale] extra is not installed: pip install -e ".[scale]"')


def _blobs(n, d, seed=0, k=12):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (k, d))
    return (c[rng.integers(k, size=n)] + rng.normal(size=(n, d))).astype(np.float32)


LAB = np.arange(0, 300, 7)
# picks of the code before the faiss scale paths (commit 43e8d55), recorded on _blobs(3000, 96, seed=7), budget 30, seed 3
GOLDEN = [
    ("typiclust", {}, [2236, 1711, 2899, 1020, 273, 1984, 363, 2502, 109, 1560, 40, 546, 980, 2173, 2877, 682, 347, 17, 2712, 672, 1350, 1106, 2699, 691, 2346, 782, 1982, 2985, 618, 184]),
    ("typiclust", {"normalize": True, "dim": None}, [334, 969, 109, 1300, 1020, 778, 2627, 363, 2712, 632, 1711, 2551, 1984, 1504, 1478, 2850, 1926, 1027, 980, 1933, 1626, 1164, 1104, 1851, 2111, 2188, 25, 165, 720, 14]),
    ("typiclust", {"labeled": LAB}, [1774, 2712, 1300, 672, 109, 1020, 2464, 618, 2417, 908, 2939, 2536, 1933, 691, 1031, 2346, 2404, 1448, 1871, 782, 2147, 1106, 2512, 2685, 919, 2611, 1543, 2635, 460, 1851]),
    ("probcover", {}, [992, 1892, 1790, 1, 15, 31, 869, 2373, 22, 4, 19, 8, 205, 1188, 1113, 2098, 2128, 209, 939, 2767, 615, 1356, 663, 360, 2577, 1964, 2191, 2713, 1142, 1724]),
    ("probcover", {"normalize": True}, [836, 1502, 548, 2184, 15, 1, 4, 17, 105, 22, 283, 8, 205, 1188, 1113, 2098, 2128, 209, 939, 2767, 615, 1356, 663, 360, 2577, 1964, 2191, 2713, 1142, 1724]),
    ("probcover", {"delta": 9.0, "labeled": LAB}, [51, 1184, 595, 2939, 2693, 2699, 2236, 778, 1839, 798, 980, 716, 2669, 1020, 1075, 1151, 109, 349, 363, 958, 1529, 1711, 347, 682, 969, 1049, 1794, 2712, 382, 1984]),
]


@pytest.mark.parametrize("name,params,picks", GOLDEN, ids=[f"{g[0]}-{i}" for i, g in enumerate(GOLDEN)])
def test_below_the_faiss_threshold_picks_are_identical_to_before(monkeypatch, name, params, picks):
    monkeypatch.delenv("COLDSTART_SELECT_BACKEND", raising=False)  # auto: numpy below AUTO_MIN_POOL
    X = _blobs(3000, 96, seed=7)
    s = select(name, X, 30, 3, **params)
    assert s.indices.tolist() == picks
    assert "typicality_candidates" not in s.info and "graph_degree_cap" not in s.info


@pytest.fixture
def small_scale(monkeypatch):
    """The large-pool paths on a small pool: faiss forced, thresholds and samples shrunk."""
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    monkeypatch.setattr(faiss_backend, "SAMPLED_MIN_POOL", 2000)
    monkeypatch.setattr(probcover, "SAMPLED_MIN_POOL", 2000)
    monkeypatch.setattr(faiss_backend, "GRAPH_CANDIDATES", 3000)
    monkeypatch.setattr(faiss_backend, "GRAPH_MIN_WITNESSES", 1500)
    monkeypatch.setattr(faiss_backend, "TYPICALITY_CANDIDATES", 30)
    return _blobs(6000, 48, seed=7)


def test_typiclust_on_faiss_ranks_a_capped_sample_of_each_cluster(small_scale):
    X = small_scale
    s = select("typiclust", X, 40, 3, max_clusters=20, horizon=20)
    assert s.info["typicality_candidates"] == 30
    assert len(set(s.indices)) == 40
    assert s.indices[:20].tolist() == select("typiclust", X, 20, 3, max_clusters=20, horizon=20).indices.tolist()
    # every cluster is visited once before any is visited twice, and the first pick of each is its most
    # typical candidate: its mean kNN distance is below the median member's
    first = s.per_pick.drop_duplicates("cluster").head(20)
    assert len(first) == 20
    labels = s.per_pick["cluster"].to_numpy()
    assert (np.bincount(labels[:20], minlength=1).max()) == 1


def test_typiclust_cap_gives_way_when_the_budget_needs_every_member(small_scale):
    X = small_scale[:2500]
    s = select("typiclust", X, 700, 0, max_clusters=20, horizon=20)  # 20 clusters x 30 candidates < 700
    assert s.info["typicality_candidates"] is None and len(set(s.indices)) == 700


def test_probcover_sampled_graph_is_capped_reported_and_nested(small_scale):
    X = small_scale
    s = select("probcover", X, 30, 3)
    info = s.info
    assert info["graph"] == "sampled" and info["graph_degree_cap"] == faiss_backend.DEGREE_CAP
    assert info["graph_candidates"] == 3000 and info["graph_witnesses"] >= 1500
    assert info["n_edges"] <= info["graph_candidates"] * info["graph_degree_cap"]
    assert s.indices[:15].tolist() == select("probcover", X, 15, 3).indices.tolist()
    lab = np.arange(0, 600, 3)
    s2 = select("probcover", X, 15, 3, labeled=lab, delta=8.0)
    assert not np.isin(s2.indices, lab).any()


def test_witness_graph_edges_are_true_edges_and_rows_respect_the_cap(small_scale):
    Z = _space.reduce_dim(small_scale, 16, 0)
    delta = 6.0
    wg = faiss_backend.witness_graph(Z, delta, seed=1, cap=20)
    g, cand, wit = wg["g"], wg["cand"], wg["wit"]
    assert np.diff(g.indptr).max() <= 20
    rows = np.repeat(np.arange(g.shape[0]), np.diff(g.indptr))
    d = np.linalg.norm(Z[cand[rows]] - Z[wit[g.indices]], axis=1)
    assert (d <= delta * (1 + 1e-5)).all()
    exact = (np.linalg.norm(Z[cand[:200], None] - Z[wit][None], axis=2) <= delta).sum(axis=1)
    assert np.array_equal(wg["count"][:200], exact)  # flat index: the full ball counts are exact
    assert np.array_equal(np.diff(g.indptr)[:200], np.minimum(exact, 20))


def test_witness_graph_inverted_file_index_finds_only_true_edges(small_scale, monkeypatch):
    monkeypatch.setattr(faiss_backend, "FLAT_MAX_WITNESSES", 1000)
    Z = _space.reduce_dim(small_scale, 16, 0)
    wg = faiss_backend.witness_graph(Z, 6.0, seed=1)
    assert wg["info"]["graph_index"] == "ivf"
    g, cand, wit = wg["g"], wg["cand"], wg["wit"]
    rows = np.repeat(np.arange(g.shape[0]), np.diff(g.indptr))
    assert (np.linalg.norm(Z[cand[rows]] - Z[wit[g.indices]], axis=1) <= 6.0 * (1 + 1e-5)).all()
    assert g.nnz > 0.5 * g.shape[0] * min(faiss_backend.DEGREE_CAP, 50)


def test_probcover_sampled_coverage_is_close_to_the_exact_method(small_scale, monkeypatch):
    X = small_scale
    approx = select("probcover", X, 10, 0, delta=9.0)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "numpy")
    exact = select("probcover", X, 10, 0, delta=9.0)
    assert exact.info["coverage_fraction"] < 0.999  # the budget does not cover everything: a real comparison
    assert approx.info["coverage_fraction"] >= exact.info["coverage_fraction"] - 0.02


def test_other_label_distance_equals_brute_force():
    Z = _blobs(800, 8, seed=3)
    y = np.random.default_rng(0).integers(3, size=800)
    centres = np.arange(0, 800, 5)
    d = np.linalg.norm(Z[centres, None] - Z[None], axis=2)
    d[y[centres][:, None] == y[None]] = np.inf
    np.testing.assert_allclose(faiss_backend.other_label_distance(Z, y, centres), d.min(axis=1), rtol=1e-4)


def test_faiss_threads_come_from_the_environment(monkeypatch):
    from coldstart.errors import ColdstartError

    monkeypatch.delenv("COLDSTART_FAISS_THREADS", raising=False)
    assert faiss_backend.threads() == 1
    monkeypatch.setenv("COLDSTART_FAISS_THREADS", "3")
    assert faiss_backend.threads() == 3
    monkeypatch.setenv("COLDSTART_FAISS_THREADS", "zero")
    with pytest.raises(ColdstartError, match="COLDSTART_FAISS_THREADS='zero' must be a positive number"):
        faiss_backend.threads()


def test_faiss_kmeans_seeded_by_kmeanspp_finds_every_separated_mode(monkeypatch):
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 30, (40, 16)).astype(np.float32)
    mode = rng.integers(40, size=8000)
    Z = centres[mode] + rng.normal(size=(8000, 16)).astype(np.float32)
    C, lab = _space.kmeans(Z, 40, seed=0)
    assert len(np.unique(lab)) == 40
    # each mode is one cluster: the labels are a relabelling of the modes
    assert len(set(zip(mode.tolist(), lab.tolist()))) == 40
