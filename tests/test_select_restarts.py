"""kmeans-paper's restarts run side by side: the same centroids and picks as scikit-learn's KMeans."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from coldstart.select import kmeans as K
from coldstart.select._restarts import RandomRestarts


def _matrices():
    X1, _ = make_blobs(300, 12, centers=8, cluster_std=2.5, random_state=3)
    X2 = np.random.default_rng(1).normal(size=(120, 40)).astype(np.float32)
    X3, _ = make_blobs(90, 500, centers=5, cluster_std=9.0, random_state=4)  # wide: the row-space path
    return {"blobs": X1, "gauss32": X2, "wide": X3}


def todays_paper_loop(X, budget, seed, n_init=10, sort_kind="stable"):
    """The kmeans-paper loop as it was before the restarts ran in parallel: sklearn's KMeans for
    every k (all its threads), the image nearest each centroid by argsort. It used numpy's default
    (unstable) argsort; ``sort_kind="stable"`` is the lowest-index tie rule, the only intended change."""
    Xs, tol = K.exact_row_space(StandardScaler().fit_transform(X))
    picks, k = [], 2
    while len(picks) < budget and k <= len(Xs):
        km = KMeans(n_clusters=k, init="random", n_init=n_init, random_state=seed, tol=tol).fit(Xs)
        for c in km.cluster_centers_:
            i = int(np.argsort(np.linalg.norm(Xs - c, axis=1), kind=sort_kind)[0])
            if i not in picks:
                picks.append(i)
        k += 1
    return picks[:budget]


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("name", ["blobs", "gauss32"])
def test_restarts_equal_sklearn_kmeans_bit_for_bit(name, threads):
    X = _matrices()[name]
    km = RandomRestarts(X)
    for k, seed in [(2, 0), (5, 2024), (9, 7)]:
        centers, labels, inertia = km.fit(k, seed, n_init=10, threads=threads)
        with threadpool_limits(1):  # sklearn with one OpenMP thread: a fixed summation order
            ref = KMeans(n_clusters=k, init="random", n_init=10, random_state=seed).fit(X)
        assert centers.dtype == ref.cluster_centers_.dtype
        np.testing.assert_array_equal(centers, ref.cluster_centers_)
        np.testing.assert_array_equal(labels, ref.labels_)
        assert inertia == ref.inertia_


@pytest.mark.parametrize("name", ["blobs", "gauss32", "wide"])
def test_kmeans_paper_picks_equal_todays_implementation(name):
    X = _matrices()[name]
    for seed in (0, 2024):
        assert K.paper_kmeans_indices(X, 30, seed)[0] == todays_paper_loop(X, 30, seed)


def test_picks_do_not_depend_on_the_thread_count():
    X = _matrices()["blobs"]
    one = K.paper_kmeans_indices(X, 25, 5, threads=1)
    four = K.paper_kmeans_indices(X, 25, 5, threads=4)
    assert one[0] == four[0] and one[1]["cols"] == four[1]["cols"]


def test_nearest_allowed_takes_the_lowest_index_among_exact_ties():
    d = np.array([3.0, 1.0, 2.0, 1.0, 1.0])
    assert K.nearest_allowed(d, None) == 1
    allowed = np.array([True, False, True, True, True])
    assert K.nearest_allowed(d, allowed) == 3
    assert K.nearest_allowed(d, np.zeros(5, bool)) == -1


def test_a_tied_two_image_cluster_gives_its_lower_index():
    """On this matrix KMeans (seed 1, k = 10) forms a two-image cluster {8, 15}: its centroid is their
    midpoint and both are exactly as near. numpy's default argsort (the authors' ``argsort(...)[0]``)
    may return either; kmeans-paper takes 8."""
    X = _matrices()["wide"]
    Xs, km = K.paper_space(X)
    centers, labels, _ = km.fit(10, 1, 10)
    j = int(labels[8])
    assert set(np.flatnonzero(labels == j)) == {8, 15}
    d = np.linalg.norm(Xs - centers[j], axis=1)
    assert d[8] == d[15] == d.min()
    picks = K.paper_kmeans_indices(X, 20, 1)[0]
    assert 8 in picks and 15 not in picks
    assert picks == todays_paper_loop(X, 20, 1, sort_kind="stable")


def test_the_same_features_reuse_their_space_and_pick_the_same(monkeypatch):
    X = _matrices()["wide"]
    K._SPACES.clear()
    first = K.paper_kmeans_indices(X, 20, 0)[0]
    ref = todays_paper_loop(X, 20, 1)
    calls = []
    real = K.exact_row_space
    monkeypatch.setattr(K, "exact_row_space", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = K.paper_kmeans_indices(X.copy(), 20, 1)[0]  # the same content: its space is kept
    assert calls == [] and again == ref
    K.paper_kmeans_indices(X + 1e-3, 20, 0)  # other features: computed
    assert calls == [1]
    K._SPACES.clear()
    assert K.paper_kmeans_indices(X, 20, 0)[0] == first
