"""Cached ``coldstart`` loaders for the pages: embeddings, maps, selections, OOD scores.

Each loader calls the same package function as the CLI and keeps the result per
process (``st.cache_resource``, read-only arrays shared between sessions) or per
session (``st.cache_data``). The cache keys hold the dataset's manifest stamp, so a
re-import is picked up. ``*_features`` / ``cached_*`` never compute; ``compute_*``
compute with a progress display.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ..data.dataset import Dataset
from ..errors import ColdstartError
from ..select.dataset import pool_indices
from .common import cached_dataset, manifest_stamp, progress_callback


@st.cache_data(max_entries=8, show_spinner=False)
def list_embedders_table(name: str, root: str, stamp: int, weights: tuple):
    """``coldstart.embed.list_embedders`` for a dataset (name, available, reason, dim, summary, ...)."""
    from ..embed import list_embedders

    return list_embedders(cached_dataset(name, root, stamp))


def weights_present() -> tuple:
    """Which weight files are present: part of the embedder caches' keys, so a file that was just
    downloaded or copied in makes its embedder available without a restart."""
    from ..embed.weights import WEIGHTS

    return tuple(w.find() is not None for w in WEIGHTS.values())


def embedders_table(ds: Dataset):
    """The embedder table of ``ds`` (see :func:`coldstart.embed.list_embedders`), cached."""
    root = str(ds.dir.parent)
    return list_embedders_table(ds.name, root, manifest_stamp(ds.name, root), weights_present())


def default_embedder(ds: Dataset) -> tuple[str, str]:
    """``(name, reason)``: :func:`coldstart.embed.default_embedder` on the cached table."""
    from ..embed import default_embedder as _default

    return _default(ds, embedders_table(ds))


def embedding_key(ds: Dataset, embedder: str) -> str:
    """The embedder's cache key for this dataset."""
    from ..embed import get_embedder

    return get_embedder(embedder, ds).key


@st.cache_resource(max_entries=8, show_spinner=False)
def _background_map(name: str, root: str, stamp: int, embedder: str, key: str, method: str, seed: int):
    """Start computing a map in a daemon thread, once per (dataset, embedding, method, seed) and server.

    The thread calls only the package (no ``st.*``); the map lands in the disk cache, where
    :func:`cached_map` finds it.
    """
    import threading

    from .. import maps

    feats = _features(name, root, stamp, embedder, key, weights_present())
    ds = cached_dataset(name, root, stamp)
    t = threading.Thread(target=maps.load_or_compute_map, args=(ds, feats, key, method, seed),
                         name=f"coldstart-map-{name}-{method}", daemon=True)
    t.start()
    return t


def map_in_background(ds: Dataset, embedder: str, method: str = "umap", seed: int = 0) -> str:
    """Make sure the map exists or is being computed in the background.

    Returns ``"ready"`` (cached), ``"computing"`` (a background thread runs) or ``"unavailable"``
    (no cached embedding to map, or the computation failed).
    """
    if cached_map(ds, embedder, method, seed) is not None:
        return "ready"
    if cached_features(ds, embedder) is None:
        return "unavailable"
    root = str(ds.dir.parent)
    t = _background_map(ds.name, root, manifest_stamp(ds.name, root), embedder, embedding_key(ds, embedder),
                        method, int(seed))
    if t is None:
        return "unavailable"
    if t.is_alive():
        return "computing"
    _map.clear()  # the thread finished: forget the cached "not there yet"
    return "ready" if cached_map(ds, embedder, method, seed) is not None else "unavailable"


@st.cache_resource(max_entries=8, show_spinner=False)
def _features(name: str, root: str, stamp: int, embedder: str, key: str, weights: tuple):
    from ..embed import cached_embeddings

    x = cached_embeddings(cached_dataset(name, root, stamp), embedder)
    if x is not None:
        x.setflags(write=False)  # shared between sessions: never mutate
    return x


def cached_features(ds: Dataset, embedder: str) -> np.ndarray | None:
    """Embeddings from the on-disk cache (read-only array), or None when not computed yet.

    Never computes; the array is shared between reruns and sessions (no copy).
    """
    root = str(ds.dir.parent)
    return _features(ds.name, root, manifest_stamp(ds.name, root), embedder, embedding_key(ds, embedder),
                     weights_present())


def compute_features(ds: Dataset, embedder: str) -> np.ndarray:
    """Compute (or load) embeddings with a progress bar; caches on disk and refreshes the loaders."""
    from ..embed import load_embeddings

    ph = st.empty()
    cb = progress_callback(f"embedding {len(ds):,} images with {embedder} (saved for later visits)",
                           container=ph)
    load_embeddings(ds, embedder, progress=cb)
    ph.empty()
    _features.clear()
    list_embedders_table.clear()
    return cached_features(ds, embedder)


@st.cache_resource(max_entries=8, show_spinner=False)
def _map(name: str, root: str, stamp: int, key: str, method: str, seed: int):
    from .. import maps

    y = maps.cached_map(cached_dataset(name, root, stamp), key, method, seed)
    if y is not None:
        y.setflags(write=False)
    return y


def cached_map(ds: Dataset, embedder: str, method: str, seed: int = 0) -> np.ndarray | None:
    """The 2-D map of every image from the disk cache, or None (never computes)."""
    root = str(ds.dir.parent)
    return _map(ds.name, root, manifest_stamp(ds.name, root), embedding_key(ds, embedder), method, int(seed))


def compute_map(ds: Dataset, embedder: str, method: str, seed: int = 0) -> np.ndarray:
    """Compute the map (with a progress display) and cache it on disk."""
    from .. import maps

    feats = cached_features(ds, embedder)
    if feats is None:
        raise ColdstartError(f"no cached {embedder} embeddings for {ds.name!r}: compute them first")
    note = " (the first UMAP in a fresh server compiles for ~30 s)" if method == "umap" else ""
    with st.status(f"Computing the {method.upper()} map of {len(ds):,} images{note}…",
                   expanded=True) as s:
        cb = progress_callback(f"{method} map")
        maps.load_or_compute_map(ds, feats, embedding_key(ds, embedder), method, seed, progress=cb)
        s.update(label=f"{method.upper()} map ready (cached for later visits)", state="complete",
                 expanded=False)
    _map.clear()
    return cached_map(ds, embedder, method, seed)


@st.cache_resource(max_entries=8, show_spinner=False)
def _reduced(name: str, root: str, stamp: int, embedder: str, key: str, pool: str, dims: int):
    from ..select._space import reduce_dim

    ds = cached_dataset(name, root, stamp)
    x = _features(name, root, stamp, embedder, key, weights_present())
    if x is None:
        return None
    X = np.asarray(x, dtype=np.float32)[pool_indices(ds, pool)]
    z = reduce_dim(X - X.mean(axis=0), dims, seed=0)  # the package's one PCA (seeded)
    z = np.ascontiguousarray(z, dtype=np.float32)
    z.setflags(write=False)
    return z


def reduced_features(ds: Dataset, embedder: str, pool: str = "train", dims: int = 50) -> np.ndarray | None:
    """The pool's cached embeddings reduced by PCA to ``dims`` (seed 0), for fast diagnostics."""
    root = str(ds.dir.parent)
    return _reduced(ds.name, root, manifest_stamp(ds.name, root), embedder, embedding_key(ds, embedder), pool, int(dims))


@st.cache_data(max_entries=32, show_spinner="Selecting images (saved for later visits)…")
def _selection(name: str, root: str, stamp: int, embedder: str | None, key: str | None,
               selector: str, params: tuple, seed: int, pool: str, budget: int):
    from ..select.dataset import pool_selection

    ds = cached_dataset(name, root, stamp)
    feats = None
    if embedder is not None:
        feats = _features(name, root, stamp, embedder, key, weights_present())
        if feats is None:
            raise ColdstartError(f"no cached {embedder} embeddings: compute them first")
    return pool_selection(ds, selector, embedder, budget, seed, pool, dict(params), features=feats)


def run_selection(ds: Dataset, selector: str, embedder: str | None, budget: int, seed: int,
                  pool: str = "train", params: dict | None = None):
    """:func:`coldstart.select.dataset.pool_selection` on the pool's cached features, cached per session.

    Compute once at the largest budget and take prefixes (selections are nested), so moving the
    budget slider costs nothing.
    """
    root = str(ds.dir.parent)
    key = embedding_key(ds, embedder) if embedder else None
    return _selection(ds.name, root, manifest_stamp(ds.name, root), embedder, key, selector,
                      tuple(sorted((params or {}).items())), int(seed), pool, int(budget))


@st.cache_data(max_entries=8, show_spinner=False)
def _ood(name: str, root: str, stamp: int, embedder: str, key: str, pool: str):
    from ..select.ood import ood_scores

    ds = cached_dataset(name, root, stamp)
    x = _features(name, root, stamp, embedder, key, weights_present())
    return None if x is None else np.asarray(ood_scores(np.asarray(x)[pool_indices(ds, pool)]), np.float32)


def ood_scores(ds: Dataset, embedder: str, pool: str = "train") -> np.ndarray | None:
    """OOD scores of the pool in an embedding (``coldstart.select.ood_scores``), or None if unavailable."""
    root = str(ds.dir.parent)
    return _ood(ds.name, root, manifest_stamp(ds.name, root), embedder, embedding_key(ds, embedder), pool)


def pretrain_ssl(ds: Dataset, epochs: int, seed: int = 0, preset: str = "cpu") -> str:
    """Pre-train the ssl-pool encoder on this pool with a progress bar; returns the model id."""
    from ..embed import pretrain_ssl as _pretrain

    cb = progress_callback(f"pre-training ssl-pool for {epochs} epochs")
    model_id = _pretrain(ds, preset=preset, epochs=int(epochs), seed=int(seed), progress=cb)
    list_embedders_table.clear()
    _features.clear()
    return model_id


@st.cache_data(show_spinner="training the full-label reference probe…", max_entries=16)
def _references(name: str, root: str, stamp: int, embedder: str, column: str | None):
    from .. import compare

    ds = cached_dataset(name, root, stamp)
    return compare.chance_levels(ds, column), compare.full_label_ceiling(ds, embedder, column)


def reference_levels(ds: Dataset, embedder: str, column: str | None = None) -> tuple[dict, dict]:
    """Chance AP and the full-label ceiling (the probe on every train label) of ``ds`` for a probe on
    ``embedder``: ``(chance, ceiling)`` as :func:`coldstart.compare.chance_levels` and
    :func:`coldstart.compare.full_label_ceiling` return them; computed once per dataset version."""
    root = str(ds.dir.parent)
    return _references(ds.name, root, manifest_stamp(ds.name, root), embedder, column)
