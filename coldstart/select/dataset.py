"""Selection on a dataset's pool (the notebook verb): dataset rows in, dataset rows out, cached.

The pool is the train split by default (val and test stay untouched), or every image.
:func:`select_dataset` loads (or computes) the embedding, selects on the pool's rows through the
shared selection cache, and returns a :class:`Selection` whose ``indices`` are dataset rows.

Examples
--------
>>> sel = select_dataset("pneumonia", "kmeans", "pixels", budget=20)   # doctest: +SKIP
>>> ds.ids[sel.indices]                                                # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..errors import ColdstartError
from .base import Selection, get_selector
from .cache import cached_length, cached_select, pool_key

POOLS = {"train": "train split (the unlabelled pool a project starts from)",
         "all": "every image (train, val and test)"}


def pool_indices(dataset, pool: str = "train") -> np.ndarray:
    """Dataset row indices of the pool: ``"train"`` (split == train; every image when there is
    no train split) or ``"all"``."""
    if pool == "all":
        return np.arange(len(dataset))
    if pool != "train":
        raise ColdstartError(f"pool={pool!r} is unknown: choose one of {', '.join(POOLS)}")
    idx = dataset.split_indices("train")
    return idx if len(idx) else np.arange(len(dataset))


def features_key(features) -> str:
    """Content address of a feature array given without an embedder name (its cache key)."""
    import hashlib

    X = np.ascontiguousarray(features)
    h = hashlib.sha256(f"{X.shape}|{X.dtype.str}".encode())
    h.update(memoryview(X).cast("B"))
    return f"array-{h.hexdigest()[:16]}"


def _check_inputs(selector: str, embedder: str | None, features) -> None:
    if get_selector(selector).needs_features and embedder is None and features is None:
        raise ColdstartError(f"selector {selector!r} needs features: pass embedder= (e.g. 'pixels'; see "
                             "coldstart.embed.list_embedders()) or features= (the (N, D) array of every image)")


def pool_selection(dataset, selector: str, embedder: str | None, budget: int, seed: int = 0,
                   pool: str = "train", params: dict | None = None, features=None) -> Selection:
    """A cached selection on the pool; ``indices`` are positions into :func:`pool_indices`.

    ``features`` (every dataset row) may be passed when the caller holds them already; otherwise
    they are loaded (computed and cached when missing). Features without an ``embedder`` name are
    cached under their content hash (:func:`features_key`).
    """
    rows = pool_indices(dataset, pool)
    _check_inputs(selector, embedder, features)
    if embedder is None and features is None:
        return cached_select(dataset, selector, len(rows), None, budget, seed, pool, params)
    if features is None:
        from ..embed import load_embeddings

        features = load_embeddings(dataset, embedder)
    X = np.asarray(features)
    if X.ndim != 2 or len(X) != len(dataset):
        raise ColdstartError(f"features have shape {X.shape} but dataset {dataset.name!r} has {len(dataset)} "
                             f"images: pass the (N, D) {embedder or 'feature'} array of every image")
    key = _embedding_key(dataset, embedder) if embedder is not None else features_key(X)
    return cached_select(dataset, selector, X[rows], key, budget, seed, pool, params)


def _embedding_key(dataset, embedder: str) -> str:
    from ..embed import get_embedder

    return get_embedder(embedder, dataset).key


def is_cached(dataset, selector: str, embedder: str | None, budget: int, seed: int = 0, pool: str = "train",
              params: dict | None = None) -> bool:
    """True when :func:`pool_selection` would read the selection from the cache (never computes).

    Selectors given data inputs (``labeled``, ``probs``...) are never cached: False.
    """
    from .base import DATA_INPUTS

    params = dict(params or {})
    if any(k in DATA_INPUTS for k in params):
        return False
    n = len(pool_indices(dataset, pool))
    key = pool_key(dataset, selector, n, None if embedder is None else _embedding_key(dataset, embedder),
                   seed, pool, params)
    return cached_length(dataset, key) >= int(budget)


def select_dataset(dataset, selector: str, embedder: str | None = None, budget: int = 20, seed: int = 0,
                   pool: str = "train", features=None, **params) -> Selection:
    """Pick ``budget`` images of a dataset's pool with a registered selector.

    Parameters
    ----------
    dataset : Dataset or str
        A dataset or its name.
    selector : str
        See :func:`coldstart.select.list_selectors`.
    embedder : str, optional
        The embedding to select in (by name).
    features : (N, D) array, optional
        Or the features of every image (e.g. your own model's); one of the two is needed unless the
        selector needs no features (``random``).
    budget : int
    seed : int
    pool : {"train", "all"}
        The unlabeled pool: the train split (default) or every image.
    **params
        Selector parameters (see ``get_selector(selector).params``).

    Returns
    -------
    Selection
        ``indices`` are **dataset rows** in pick order; ``per_pick`` has ``index`` (dataset row) and
        ``position`` (position in the pool); ``info`` adds ``pool`` and ``embedder``.
    """
    from ..data import as_dataset

    ds = as_dataset(dataset)
    sel = pool_selection(ds, selector, embedder, budget, seed, pool, params, features=features)
    rows = pool_indices(ds, pool)[np.asarray(sel.indices, dtype=np.int64)]
    per = sel.per_pick.copy()
    per["position"] = np.asarray(sel.indices, dtype=np.int64)
    per["index"] = rows
    return Selection(rows, per.reset_index(drop=True), dict(sel.info, pool=pool, embedder=embedder))
