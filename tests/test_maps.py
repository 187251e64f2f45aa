"""2-D maps (coldstart.maps), the map/diagnostic figures and the Explore page's pure helpers."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from coldstart import maps
from coldstart.errors import ColdstartError
from coldstart.select.base import Selection
from coldstart import explore as ex
from coldstart.data import thumbnails as images
from coldstart.ui import figures


def _blobs(n=150, d=20, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 10, (k, d))
    lab = rng.integers(0, k, n)
    return (centers[lab] + rng.normal(0, 1, (n, d))).astype(np.float32), lab


# ------------------------------------------------------------------ compute_map
@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_compute_map_shape_and_seeded(method):
    X, _ = _blobs(n=60)
    a = maps.compute_map(X, method, seed=1)
    b = maps.compute_map(X, method, seed=1)
    assert a.shape == (len(X), 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_pca_map_separates_clusters():
    X, lab = _blobs()
    Y = maps.compute_map(X, "pca")
    # the between-cluster spread dominates the within-cluster spread
    within = np.mean([Y[lab == k].std(axis=0).mean() for k in range(3)])
    centers = np.array([Y[lab == k].mean(axis=0) for k in range(3)])
    between = np.linalg.norm(centers[:, None] - centers[None], axis=-1).max()
    assert between > 5 * within


@pytest.mark.slow
def test_umap_map_small_pool_and_seed():
    X, lab = _blobs(n=40)
    a = maps.compute_map(X, "umap", seed=3, n_neighbors=100)  # clamped to n-1
    b = maps.compute_map(X, "umap", seed=3, n_neighbors=100)
    assert a.shape == (40, 2)
    np.testing.assert_allclose(a, b)


def test_compute_map_validation():
    X, _ = _blobs(n=20)
    with pytest.raises(ColdstartError, match="unknown"):
        maps.compute_map(X, "mds")
    with pytest.raises(ColdstartError, match="at least 3"):
        maps.compute_map(X[:2], "pca")
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ColdstartError, match="NaN"):
        maps.compute_map(bad, "pca")
    with pytest.raises(ColdstartError, match="does not take"):
        maps.compute_map(X, "pca", n_neighbors=5)
    with pytest.raises(ColdstartError, match="2-D"):
        maps.compute_map(X[0], "pca")


def test_progress_callback_reaches_total():
    X, _ = _blobs(n=30)
    calls = []
    maps.compute_map(X, "pca", progress=lambda d, t, m: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] == 3


# ------------------------------------------------------------------ cache
def test_map_cache_roundtrip_and_keys(blob_dataset, monkeypatch):
    ds = blob_dataset
    X = np.random.default_rng(0).normal(size=(len(ds), 8)).astype(np.float32)
    assert maps.cached_map(ds, "emb-v1", "pca") is None
    Y = maps.load_or_compute_map(ds, X, "emb-v1", "pca", seed=0)
    files = sorted(p.name for p in ds.cache_dir("map").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npy")
    # second call is a file read: computing again would fail
    monkeypatch.setattr(maps, "compute_map", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    np.testing.assert_array_equal(maps.load_or_compute_map(ds, X, "emb-v1", "pca", seed=0), Y)
    np.testing.assert_array_equal(maps.cached_map(ds, "emb-v1", "pca"), Y)
    # a different embedding key, seed or method is a different entry
    assert maps.cached_map(ds, "emb-v2", "pca") is None
    assert maps.cached_map(ds, "emb-v1", "pca", seed=1) is None
    assert maps.cached_map(ds, "emb-v1", "tsne") is None
    meta = maps.list_maps(ds)[0]
    assert meta["embedding"] == "emb-v1" and meta["method"] == "pca" and meta["n"] == len(ds)


def test_map_key_covers_params_and_manifest():
    k = maps.map_key("e", "umap", 0, "h1", 10)
    assert k.startswith("umap-")
    assert k != maps.map_key("e", "umap", 0, "h2", 10)
    assert k != maps.map_key("e", "umap", 0, "h1", 10, n_neighbors=30)
    assert k == maps.map_key("e", "umap", 0, "h1", 10, n_neighbors=15)  # the default is the default


def test_load_or_compute_rejects_wrong_length(blob_dataset):
    with pytest.raises(ColdstartError, match="recompute the embeddings"):
        maps.load_or_compute_map(blob_dataset, np.zeros((5, 3)), "e", "pca")


# ------------------------------------------------------------------ figures
def test_balance_figure_shares():
    fig = figures.balance_figure(["normal", "pneumonia"], {"A": [1, 3], "B": [2, 2]}, [10, 90])
    assert [t.name for t in fig.data] == ["pool", "A", "B"]
    np.testing.assert_allclose(fig.data[1].y, [25, 75])


def test_overlay_outlines_mask():
    img = np.full((32, 32), 0.5, np.float32)
    m = np.zeros((32, 32), bool)
    m[8:20, 8:20] = True
    rgb = images.overlay(img, m)
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.uint8
    red = (rgb == np.array(images.OUTLINE_RGB, np.uint8)).all(-1)
    assert red[8, 8:20].all() and not red[14, 14] and not red[0, 0]
    assert (images.overlay(img, None) == 128).all()
    with pytest.raises(ValueError):
        images.overlay(img, m[:10])


# ------------------------------------------------------------------ explore helpers
def test_near_duplicates_flags_planted_repeat():
    X, _ = _blobs(n=100)
    X[50] = X[10] + 1e-4
    df = ex.near_duplicates(X, [10, 3, 50, 70], [f"i{k}" for k in range(100)])
    assert len(df) == 1 and (df.rank_a[0], df.rank_b[0]) == (1, 3)
    assert df.id_a[0] == "i10" and df.id_b[0] == "i50"
    assert ex.near_duplicates(X, [10, 3, 70], [f"i{k}" for k in range(100)]).empty


def test_selected_ids_to_rows(blob_dataset):
    ids = ["img0003", "img0001", "img0003"]  # the map component's lasso returns ids, repeats possible
    np.testing.assert_array_equal(ex.ids_to_rows(blob_dataset, ids + ["nope"]), [3, 1])


def test_pool_hover_and_diagnostics(blob_dataset):
    ds = blob_dataset
    pool = ex.pool_indices(ds, "train")
    assert set(ds.splits[pool]) == {"train"}
    assert len(ex.pool_indices(ds, "all")) == len(ds)
    with pytest.raises(ColdstartError):
        ex.pool_indices(ds, "val")
    per = pd.DataFrame({"rank": [1, 2], "index": [0, 5], "cluster": [0, 1], "cluster_size": [7, 9],
                        "distance": [0.5, 0.25]})
    sel = Selection(np.array([0, 5]), per, {"selector": "kmeans", "seed": 3})
    hover = ex.pick_hover(ds, pool, sel, "A")
    assert "pick #2" in hover[1] and "cluster 1 (9 images)" in hover[1] and "0.25" in hover[1]
    X = np.random.default_rng(0).normal(size=(len(pool), 4)).astype(np.float32)
    d = ex.diagnostics(ds, pool, [0, 5], X)
    labs = ds.labels[pool[[0, 5]]]
    assert d["class_counts"] == [int((labs == 0).sum()), int((labs == 1).sum())]
    assert d["n"] == 2 and d["coverage_mean"] > 0 and d["ood_picked"] == 0
    assert ex.overlap([1, 2, 3], [3, 4, 1]) == 2


def test_color_values_options(blob_dataset):
    ds = blob_dataset
    pool = ex.pool_indices(ds, "all")
    v, cont, _ = ex.color_values("label", ds, pool)
    assert not cont and set(v) <= {"normal", "pneumothorax"}
    v, cont, _ = ex.color_values("OOD flag", ds, pool)
    assert set(v) == {"no"}
    v, cont, _ = ex.color_values("OOD score", ds, pool, ood_scores=np.arange(len(pool)))
    assert cont and v.dtype == np.float32
    with pytest.raises(ValueError):
        ex.color_values("cluster", ds, pool)
    c, dist = ex.nearest_pick(np.eye(len(pool), dtype=np.float32), [0, 1])
    assert c[0] == 0 and c[1] == 1 and dist[0] == 0
