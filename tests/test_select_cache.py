"""The selection cache, the dataset-level select, declared selector parameters and the Explore budget policy."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from coldstart import explore as ex
from coldstart.errors import ColdstartError
from coldstart.select import cache, get_selector, select, select_dataset, selector_specs
from coldstart.select.base import Param


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)


def test_cache_roundtrip_prefix_and_longest(blob_dataset, X):
    sel = select("kmeans", X, 8, 3)
    key = cache.selection_key(blob_dataset.manifest_hash, "emb-v1", "kmeans", {}, 3, "train")
    assert key != cache.selection_key(blob_dataset.manifest_hash, "emb-v1", "kmeans", {}, 4, "train")
    assert key != cache.selection_key(blob_dataset.manifest_hash, "emb-v2", "kmeans", {}, 3, "train")
    assert key != cache.selection_key(blob_dataset.manifest_hash, "emb-v1", "kmeans", {"dim": 8}, 3, "train")
    assert key != cache.selection_key(blob_dataset.manifest_hash, "emb-v1", "kmeans", {}, 3, "all")
    assert cache.load(blob_dataset, key) is None
    cache.save(blob_dataset, key, sel)
    back = cache.load(blob_dataset, key)
    np.testing.assert_array_equal(back.indices, sel.indices)
    pd.testing.assert_frame_equal(back.per_pick, sel.per_pick, check_dtype=False)
    assert back.info["selector"] == "kmeans" and back.info["seed"] == 3
    # nested: a smaller budget is served as a prefix, a larger one is a miss
    np.testing.assert_array_equal(cache.load(blob_dataset, key, budget=3).indices, sel.indices[:3])
    assert cache.load(blob_dataset, key, budget=9) is None
    cache.save(blob_dataset, key, sel.prefix(4))  # never replaces a longer selection
    assert len(cache.load(blob_dataset, key)) == 8


def test_torn_cache_entry_is_a_miss(blob_dataset, X):
    sel = select("random", X, 5, 0)
    key = cache.selection_key(blob_dataset.manifest_hash, None, "random", {}, 0, "train")
    cache.save(blob_dataset, key, sel)
    js = blob_dataset.cache_dir("sel") / f"{key}.json"
    js.write_text(js.read_text().replace('"n": 5', '"n": 6'))
    assert cache.load(blob_dataset, key) is None


def test_cached_select_computes_once(blob_dataset, X, monkeypatch):
    calls = []
    import coldstart.select.cache as c

    real = c.select
    monkeypatch.setattr(c, "select", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    a = c.cached_select(blob_dataset, "kmeans", X, "emb", 10, seed=1)
    b = c.cached_select(blob_dataset, "kmeans", X, "emb", 6, seed=1)
    np.testing.assert_array_equal(b.indices, a.indices[:6])
    assert calls == [10]
    c.cached_select(blob_dataset, "kmeans", X, "emb", 12, seed=1)  # larger: computed, then kept
    assert calls == [10, 12] and len(c.load(blob_dataset, c.selection_key(
        blob_dataset.manifest_hash, "emb", "kmeans", {}, 1, "train"))) == 12
    c.cached_select(blob_dataset, "coreset", X, "emb", 5, params={"labeled": np.array([0, 1])})  # data inputs: no cache
    c.cached_select(blob_dataset, "coreset", X, "emb", 5, params={"labeled": np.array([0, 1])})
    assert calls == [10, 12, 5, 5]


def test_select_dataset_returns_dataset_rows(blob_dataset):
    ds = blob_dataset
    pool = ex.pool_indices(ds, "train")
    sel = select_dataset(ds, "kmeans", "pixels", budget=7, seed=2)
    from coldstart.embed import load_embeddings

    ref = select("kmeans", load_embeddings(ds, "pixels")[pool], 7, 2)
    np.testing.assert_array_equal(sel.indices, pool[ref.indices])
    assert set(ds.splits[sel.indices]) == {"train"}
    assert list(sel.per_pick["index"]) == list(sel.indices)
    assert list(sel.per_pick["position"]) == list(ref.indices)
    assert sel.info["pool"] == "train" and sel.info["embedder"] == "pixels"
    allr = select_dataset(ds.name, "random", budget=len(ds), seed=0, pool="all")
    assert sorted(allr.indices) == list(range(len(ds)))
    with pytest.raises(ColdstartError, match="needs features"):
        select_dataset(ds, "kmeans", None, budget=3)
    with pytest.raises(ColdstartError, match="pool='val'"):
        select_dataset(ds, "random", budget=3, pool="val")


# ---------------------------------------------------------------- declared parameters
def test_every_cold_start_selector_declares_its_parameters():
    for name, spec in selector_specs("cold-start").items():
        assert spec.params is not None, name
        sig = inspect.signature(spec.func).parameters
        for p in spec.params:
            assert p.name in sig, (name, p.name)
            assert sig[p.name].default == p.default, (name, p.name)
            p.check(p.default, name)  # defaults are valid
        tunable = {k for k, v in sig.items() if v.default is not inspect.Parameter.empty
                   and k not in ("seed",) and k not in spec.inputs and v.kind is not v.VAR_KEYWORD}
        assert tunable == {p.name for p in spec.params}, name


@pytest.mark.parametrize("name, params, match", [
    ("kmeans", {"bogus": 1}, "no parameter bogus"),
    ("kmeans", {"max_iter": 0}, r"max_iter=0 must be >= 1"),
    ("kmeans", {"max_iter": 2.5}, r"max_iter=2.5 .* must be an integer"),
    ("probcover", {"purity": 1.0}, r"purity=1.0 must be > 0 and < 1"),
    ("typiclust", {"horizon": "10"}, "must be an integer"),
    ("ood-aware", {"base": "nope"}, "must be one of"),
])
def test_params_validated_against_specs(X, name, params, match):
    with pytest.raises(ColdstartError, match=match):
        select(name, X, 5, 0, **params)


def test_param_check_bool_and_optional():
    p = Param("flag", bool, False, "a switch")
    p.check(True, "s")
    with pytest.raises(ColdstartError, match="true or false"):
        p.check(1, "s")
    Param("dim", int, 64, "", low=1, optional=True).check(None, "s")
    with pytest.raises(ColdstartError, match="None is not allowed"):
        Param("k", int, 20, "", low=1).check(None, "s")
    assert get_selector("kmeans").defaults() == {"dim": 64, "max_iter": 30}


# ---------------------------------------------------------------- Explore budget policy
def test_budget_range():
    assert ex.budget_range(5) == (5, 5)
    assert ex.budget_range(60) == (60, 20)
    assert ex.budget_range(800) == (100, 20)
    assert ex.budget_range(1500) == (150, 20)
    assert ex.budget_range(50000) == (200, 20)


def test_nested_picks_prefix_and_fallback(X):
    calls = []

    def compute(b):
        calls.append(b)
        return select("kmeans", X, b, 0)

    s = ex.nested_picks(compute, 5, 20)
    assert calls == [20] and len(s) == 5
    np.testing.assert_array_equal(s.indices, compute(20).indices[:5])

    def strict(b):
        calls.append(b)
        if b > 10:
            raise ColdstartError("budget too large")
        return select("random", X, b, 0)

    calls.clear()
    assert len(ex.nested_picks(strict, 4, 30)) == 4 and calls == [30, 4]
    with pytest.raises(ColdstartError):
        ex.nested_picks(strict, 12, 30)


# ---------------------------------------------------------------- the key: backend, no budget
@pytest.mark.parametrize("first, second", [("numpy", "faiss"), ("faiss", "numpy")])
def test_two_backends_never_share_an_entry(blob_dataset, X, monkeypatch, first, second):
    pytest.importorskip("faiss")
    import coldstart.select.cache as c

    calls = []
    real = c.select
    monkeypatch.setattr(c, "select", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    keys = {}
    for b in (first, second):
        monkeypatch.setenv("COLDSTART_SELECT_BACKEND", b)
        keys[b] = c.pool_key(blob_dataset, "typiclust", X, "emb", 0)
        c.cached_select(blob_dataset, "typiclust", X, "emb", 6, seed=0)
    assert calls == ["typiclust", "typiclust"]  # the second backend computed its own, read nothing of the first
    assert keys["numpy"] != keys["faiss"]
    assert all(c.cached_length(blob_dataset, k) == 6 for k in keys.values())
    assert c.selection_backend("typiclust", len(X)) == ("faiss" if second == "faiss" else "exact")
    assert c.selection_backend("random", 10**6) == "exact"  # no kNN step: one entry whatever the backend


def test_faiss_keys_hold_the_sample_sizes(monkeypatch):
    from coldstart.select import faiss_backend
    from coldstart.select.cache import selection_key

    key = lambda b: selection_key("m", "emb", "probcover", {}, 0, backend=b)  # noqa: E731
    before = key("faiss"), key("exact")
    monkeypatch.setattr(faiss_backend, "DEGREE_CAP", faiss_backend.DEGREE_CAP + 1)
    assert key("faiss") != before[0] and key("exact") == before[1]


def test_selection_key_takes_no_budget():
    params = inspect.signature(cache.selection_key).parameters
    assert "budget" not in params and "backend" in params
    a = cache.selection_key("m", "e", "kmeans", {}, 0, "train", "exact")
    assert a == cache.selection_key("m", "e", "kmeans", {}, 0, "train")
    assert a != cache.selection_key("m", "e", "kmeans", {}, 0, "train", "faiss")


def test_entries_of_the_previous_cache_version_are_recomputed(blob_dataset, X, monkeypatch):
    """An entry stored under the old key (version 2, before the backend joined) is never read: the
    selection is computed again under the new key."""
    import hashlib
    import json

    import coldstart.select.cache as c
    from coldstart.version import __version__

    spec = {"manifest": blob_dataset.manifest_hash, "embedding": "emb", "selector": "kmeans", "params": {},
            "seed": 0, "pool": "train", "cache_version": 2, "coldstart": __version__}
    old_key = "kmeans-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    c.save(blob_dataset, old_key, select("random", X, 6, 9))  # would be wrong picks for kmeans
    assert old_key != c.pool_key(blob_dataset, "kmeans", X, "emb", 0)
    got = c.cached_select(blob_dataset, "kmeans", X, "emb", 6, seed=0)
    np.testing.assert_array_equal(got.indices, select("kmeans", X, 6, 0).indices)


def test_is_cached_sees_what_pool_selection_stored(blob_dataset):
    from coldstart.select.dataset import is_cached, pool_selection

    assert not is_cached(blob_dataset, "kmeans", "pixels", 5, seed=4)
    pool_selection(blob_dataset, "kmeans", "pixels", 8, seed=4)
    assert is_cached(blob_dataset, "kmeans", "pixels", 5, seed=4)
    assert is_cached(blob_dataset, "kmeans", "pixels", 8, seed=4)
    assert not is_cached(blob_dataset, "kmeans", "pixels", 9, seed=4)  # longer than stored
    assert not is_cached(blob_dataset, "kmeans", "pixels", 5, seed=5)
    assert not is_cached(blob_dataset, "coreset", "pixels", 5, params={"labeled": np.array([0])})
