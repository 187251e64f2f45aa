"""2-D maps of a pool (UMAP, PCA or t-SNE) for the Explore page, cached on disk.

A map is computed once per (embedding key, method, parameters, seed, manifest
hash) over *every* image of the dataset and stored as
``<dataset>/cache/map/<key>.npy`` (float32, (N, 2)) with a ``.json`` beside it
(method, parameters, embedding key, timing, versions). Pages slice the rows they
show. High-dimensional features are reduced with PCA to ``pca_dims`` (50)
dimensions first, which makes UMAP/t-SNE faster and steadier; every random step
takes ``seed``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(200, 16)).astype("float32")
>>> compute_map(X, "pca", seed=0).shape
(200, 2)
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import numpy as np

from ..errors import ColdstartError
from ..io import load_npy, read_json, save_npy, write_json
from ..progress import Progress

METHODS: dict[str, str] = {
    "umap": "UMAP: keeps local neighbourhoods, so clusters show as islands (slow the first time).",
    "pca": "PCA: the two main directions of variation; instant, but clusters overlap more.",
    "tsne": "t-SNE: sharp local clusters; distances between islands mean little.",
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "umap": {"n_neighbors": 15, "min_dist": 0.1, "pca_dims": 50},
    "pca": {},
    "tsne": {"perplexity": 30.0, "pca_dims": 50},
}
VERSION = 2  # bump when the computation changes; part of the cache key (2: one PCA, reduce_dim)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ColdstartError(f"map method {method!r} is unknown: choose one of {', '.join(METHODS)}")
    return method


def _params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(DEFAULTS[method]))
    if unknown:
        raise ColdstartError(f"{method} map does not take {unknown}: valid parameters are "
                             f"{sorted(DEFAULTS[method]) or 'none'}")
    return {**DEFAULTS[method], **params}


def _check_features(features) -> np.ndarray:
    X = np.asarray(features, dtype=np.float32)
    if X.ndim != 2:
        raise ColdstartError(f"features must be a 2-D array (images x dimensions), got shape {X.shape}")
    if len(X) < 3:
        raise ColdstartError(f"a map needs at least 3 images, got {len(X)}: import more images")
    if not np.isfinite(X).all():
        raise ColdstartError("features contain NaN or infinite values: recompute the embeddings "
                             "(`coldstart embed DATASET --embedder E --force`)")
    return X


def _pca(X: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """The pool's top ``dims`` principal components (the package's one PCA: :func:`reduce_dim`)."""
    from ..select._space import reduce_dim

    return reduce_dim(X, int(min(dims, len(X) - 1)), seed)


def compute_map(features, method: str = "umap", seed: int = 0, progress=None, **params) -> np.ndarray:
    """2-D coordinates of ``features`` (no caching; see :func:`load_or_compute_map`).

    Parameters
    ----------
    features : (N, D) array
    method : {"umap", "pca", "tsne"}
    seed : int
        Seeds PCA, UMAP and t-SNE (same seed, same map).
    progress : None, True or callable(done, total, message)
    **params
        ``n_neighbors``, ``min_dist``, ``pca_dims`` (UMAP); ``perplexity``, ``pca_dims`` (t-SNE).
        Values too large for a small pool are reduced to fit.

    Returns
    -------
    float32 array (N, 2)
    """
    method = check_method(method)
    p = _params(method, params)
    X = _check_features(features)
    n = len(X)
    seed = int(seed)
    with Progress(progress, 3, f"{method} map of {n:,} images") as bar:
        if method == "pca":
            Y = _pca(X, 2, seed)
            bar.update(3)
        else:
            Z = _pca(X, int(p["pca_dims"]), seed)
            bar.update(1, f"PCA to {Z.shape[1]} dims done; running {method.upper()}")
            if method == "umap":
                import umap  # lazy: 5-30 s of numba JIT in a fresh process

                nn = int(max(2, min(int(p["n_neighbors"]), n - 1)))
                reducer = umap.UMAP(n_components=2, n_neighbors=nn, min_dist=float(p["min_dist"]),
                                    random_state=seed, init="spectral" if n > nn + 1 else "random")
                Y = reducer.fit_transform(Z)
            else:
                from sklearn.manifold import TSNE

                perp = float(min(float(p["perplexity"]), max(1.0, (n - 1) / 3.0)))
                Y = TSNE(n_components=2, perplexity=perp, random_state=seed, init="pca").fit_transform(Z)
            bar.update(2, f"{method.upper()} done")
    Y = np.asarray(Y, dtype=np.float32)
    if Y.shape != (n, 2) or not np.isfinite(Y).all():  # postcondition
        raise RuntimeError(f"{method} produced an invalid map of shape {Y.shape}")
    return Y


def map_key(embedding_key: str, method: str, seed: int, manifest_hash: str, n: int,
            **params) -> str:
    """The cache key: method + a hash of everything that changes the coordinates."""
    method = check_method(method)
    spec = {"embedding": str(embedding_key), "method": method, "params": _params(method, params),
            "seed": int(seed), "manifest": str(manifest_hash), "n": int(n), "version": VERSION}
    h = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return f"{method}-{h}"


def _paths(dataset, key: str):
    d = dataset.cache_dir("map")
    return d / f"{key}.npy", d / f"{key}.json"


def cached_map(dataset, embedding_key: str, method: str = "umap", seed: int = 0,
               **params) -> np.ndarray | None:
    """The cached map of ``dataset`` for ``embedding_key``, or None when not computed yet."""
    key = map_key(embedding_key, method, seed, dataset.manifest_hash, len(dataset), **params)
    npy, meta = _paths(dataset, key)
    if not (npy.exists() and meta.exists()):
        return None
    Y = load_npy(npy)
    if Y.shape != (len(dataset), 2):  # stale or foreign file: recompute
        return None
    return Y


def load_or_compute_map(dataset, features, embedding_key: str, method: str = "umap",
                        seed: int = 0, progress=None, force: bool = False, **params) -> np.ndarray:
    """The map of ``dataset`` from the disk cache, computing and caching it when missing.

    Parameters
    ----------
    dataset : Dataset
    features : (len(dataset), D) array
        Embeddings of every image, in manifest order.
    embedding_key : str
        The embedder's cache key (part of the map's key).
    method, seed, progress, **params
        See :func:`compute_map`.
    force : bool
        Recompute even when cached.

    Returns
    -------
    float32 array (len(dataset), 2)
    """
    X = np.asarray(features)
    if X.ndim != 2 or len(X) != len(dataset):
        raise ColdstartError(f"features have shape {X.shape} but dataset {dataset.name!r} has "
                             f"{len(dataset)} images: recompute the embeddings for this dataset")
    if not force:
        Y = cached_map(dataset, embedding_key, method, seed, **params)
        if Y is not None:
            return Y
    t0 = time.perf_counter()
    Y = compute_map(X, method, seed, progress=progress, **params)
    key = map_key(embedding_key, method, seed, dataset.manifest_hash, len(dataset), **params)
    npy, meta = _paths(dataset, key)
    save_npy(npy, Y)
    write_json(meta, {"key": key, "embedding": embedding_key, "method": method,
                      "params": _params(method, params), "seed": int(seed), "n": len(dataset),
                      "manifest_hash": dataset.manifest_hash, "version": VERSION,
                      "time_s": round(time.perf_counter() - t0, 3),
                      "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "versions": _versions(method)})
    return Y


def list_maps(dataset) -> list[dict]:
    """Metadata of every cached map of ``dataset`` (newest first)."""
    out = []
    for p in sorted(dataset.cache_dir("map").glob("*.json")):
        try:
            out.append(read_json(p))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda m: m.get("created", ""), reverse=True)


def _versions(method: str) -> dict[str, str]:
    import sklearn

    v = {"numpy": np.__version__, "sklearn": sklearn.__version__}
    if method == "umap":
        try:
            import umap

            v["umap"] = getattr(umap, "__version__", "?")
        except ImportError:
            pass
    return v
