"""The selection cache shared by runs, Explore and Label: ``<dataset>/cache/sel/<key>.parquet`` + ``.json``.

Selecting 100 of 5,000 images with nested KMeans takes seconds to tens of seconds on a laptop CPU;
a selection is computed once and read back in milliseconds afterwards, by whichever caller asks
first. The key is content-addressed: it covers everything that changes the picks (the dataset's
manifest hash, the embedder's cache key, selector, parameters, seed, pool and the kNN/KMeans backend,
exact or faiss: :func:`selection_backend`) but not the budget:
selections are nested, so the longest selection computed so far serves every smaller budget as a
prefix (:func:`load` with ``budget``), and :func:`save` keeps the longest.

Examples
--------
>>> key = selection_key("3f2a...", "pixels-v1", "kmeans", {}, seed=0, pool="train", backend="exact")  # doctest: +SKIP
>>> sel = cached_select(ds, "kmeans", X_pool, "pixels-v1", budget=20, seed=0)      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..version import __version__
from ..io import read_json, write_json, write_parquet
from .base import DATA_INPUTS, Selection, get_selector, select

VERSION = 3  # bump when a cached selection's meaning changes (2: the budget left the key; 3: the backend joined it)


def selection_key(manifest_hash: str, embedding_key: str | None, selector: str, params: dict,
                  seed: int, pool: str = "train", backend: str = "exact") -> str:
    """Content address of a selection: every input that changes the picks, not the budget (nested).

    ``backend`` is the one :func:`selection_backend` names for the pool: entries computed with faiss
    and with the exact numpy path never share a key; a faiss key also holds the faiss paths' sample sizes.
    """
    spec = {"manifest": manifest_hash, "embedding": embedding_key, "selector": selector,
            "params": {k: params[k] for k in sorted(params)}, "seed": int(seed), "pool": pool,
            "backend": str(backend), "cache_version": VERSION, "coldstart": __version__}
    if backend == "faiss":  # the large-pool paths' sample sizes change their picks too
        from . import faiss_backend as fb

        spec["faiss_samples"] = {k: getattr(fb, k) for k in fb.SAMPLE_SETTINGS}
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{selector}-{h}"


def selection_backend(selector: str, n_pool: int) -> str:
    """``"faiss"`` when ``selector``'s kNN/KMeans steps over ``n_pool`` images run on faiss
    (:func:`coldstart.select.faiss_backend.use_faiss`: ``COLDSTART_SELECT_BACKEND`` and the pool size),
    else ``"exact"``; a selector without features (``random``) is always ``"exact"``."""
    if not get_selector(selector).needs_features:
        return "exact"
    from .faiss_backend import use_faiss

    return "faiss" if use_faiss(int(n_pool)) else "exact"


def pool_key(dataset, selector: str, features, embedding_key: str | None, seed: int = 0, pool: str = "train",
             params: dict | None = None) -> str:
    """The key :func:`cached_select` stores this selection under (``features``: the pool's array or its size)."""
    n = features if isinstance(features, (int, np.integer)) else len(features)
    return selection_key(dataset.manifest_hash, embedding_key, selector, dict(params or {}), seed, pool,
                         selection_backend(selector, n))


def cached_length(dataset, key: str) -> int:
    """How many picks the cache holds under ``key`` (0: none); reads only the small ``.json``."""
    pq, js = _paths(dataset, key)
    if not (pq.exists() and js.exists()):
        return 0
    try:
        return int(read_json(js).get("n", 0))
    except (OSError, ValueError):
        return 0


def _paths(dataset, key: str):
    d = dataset.cache_dir("sel")
    return d / f"{key}.parquet", d / f"{key}.json"


def load(dataset, key: str, budget: int | None = None) -> Selection | None:
    """The cached selection (its first ``budget`` picks when given), or None when missing,
    unreadable, torn (parquet and json disagree) or shorter than ``budget``."""
    import pandas as pd

    pq, js = _paths(dataset, key)
    if not (pq.exists() and js.exists()):
        return None
    try:
        per = pd.read_parquet(pq)
        meta = read_json(js)
    except (OSError, ValueError):
        return None
    if int(meta.get("n", len(per))) != len(per):
        return None
    sel = Selection(per["index"].to_numpy(dtype=np.int64), per, meta.get("info", {}))
    if budget is None:
        return sel
    if len(sel) < int(budget):
        return None
    return sel if len(sel) == int(budget) else sel.prefix(int(budget))


def save(dataset, key: str, sel: Selection) -> None:
    """Store ``sel`` under ``key`` unless a longer selection is already cached there."""
    old = load(dataset, key)
    if old is not None and len(old) > len(sel):
        return
    pq, js = _paths(dataset, key)
    per = sel.per_pick.copy()
    if "index" not in per.columns:
        per["index"] = np.asarray(sel.indices)
    info = json.loads(json.dumps(sel.info, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    write_parquet(pq, per)
    write_json(js, {"key": key, "n": int(len(per)), "info": info})


def cached_select(dataset, selector: str, features, embedding_key: str | None, budget: int, seed: int = 0,
                  pool: str = "train", params: dict | None = None) -> Selection:
    """:func:`coldstart.select.select` through the cache; indices are positions in ``features``.

    ``features`` is the pool's feature array (or its size, for ``random`` without an embedding),
    ``embedding_key`` the embedder's cache key (None without an embedding). Selectors given data
    inputs (``probs``, ``labeled``...) are not cached: those change every round. The entry's
    ``.lock`` file makes concurrent callers compute it once.
    """
    params = dict(params or {})
    spec = get_selector(selector)
    spec.check_params(params)
    if any(k in DATA_INPUTS for k in params):
        return select(selector, features, budget, seed, **params)
    key = pool_key(dataset, selector, features, embedding_key, seed, pool, params)
    sel = load(dataset, key, budget)
    if sel is None:
        from filelock import FileLock

        # one computation per entry: a second caller (a run's worker while the app warms the cache,
        # another thread) waits for the first and reads its result
        with FileLock(str(_paths(dataset, key)[0].with_suffix(".lock"))):
            sel = load(dataset, key, budget)
            if sel is None:
                sel = select(selector, features, budget, seed, **params)
                save(dataset, key, sel)
    return sel
