"""Nested KMeans selection (Yuan & Hong, arXiv 2402.02561): ``kmeans-paper`` and ``kmeans``.

The paper's protocol: z-score the features; for k = 2, 3, 4, ... fit KMeans
with k clusters and, for every centroid in order, take the pool image closest
to it; append those k indices to a running list, drop repeats (keeping the
first occurrence) and stop once the list holds the budget. The selection for
budget b is the first b entries, so selections are nested.

``kmeans-paper`` runs that loop literally with scikit-learn's arithmetic
(``KMeans(n_clusters=k, init="random", n_init=10, random_state=seed)``, each k's
restarts side by side: :mod:`._restarts`) and is the reference; of two images
exactly as near a centroid it takes the lower index (:func:`nearest_allowed`). ``kmeans``, a fast approximation of the paper's protocol, keeps the nested
medoid-of-each-centroid idea but makes each k cheap: the z-scored features
are projected to ``dim`` PCA components once, and the clustering for k+1 is
warm-started from the k centroids plus one k-means++ point (a single short
Lloyd run per k, instead of 10 random restarts from scratch).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

import numpy as np

from ._space import _chunked_sq_dist, farthest_first, kmeanspp, lloyd, reduce_dim, single_thread, standardize
from .base import Param, register
from .diagnostics import make_selection
from .validation import check_inputs


def _fill_farthest(Z: np.ndarray, picks: list[int], budget: int, allowed: np.ndarray) -> list[int]:
    """Complete ``picks`` by farthest-first traversal (only when clustering ran out of new medoids)."""
    ok = np.asarray(allowed, bool).copy()
    ok[picks] = False
    extra, _ = farthest_first(Z, budget - len(picks), seeds=Z[picks], allowed=ok)
    return list(picks) + extra


def exact_row_space(Xs: np.ndarray, tol: float = 1e-4) -> tuple[np.ndarray, float]:
    """The same points in a basis of their own span, when there are fewer points than dimensions.

    For ``n < d`` the centred rows span at most ``n`` dimensions: coordinates in an orthonormal
    basis of that span (from the ``n x n`` Gram matrix) keep every pairwise and point-to-centroid
    distance, so KMeans with ``init="random"`` makes the same choices, ``d / n`` times cheaper
    (800 films at 224 px: 50,176 -> 800 dimensions). scikit-learn's ``tol`` is relative to the mean
    per-feature variance, which the change of basis rescales by ``d / n``: the returned ``tol`` keeps
    the absolute stopping threshold unchanged. ``n >= d``: returned as is.
    """
    n, d = Xs.shape
    if n >= d:
        return Xs, tol
    Xc = np.asarray(Xs, np.float64) - Xs.mean(axis=0)
    w, V = np.linalg.eigh(Xc @ Xc.T)
    w = np.clip(w, 0.0, None)
    Z = V * np.sqrt(w)  # Z @ Z.T == Xc @ Xc.T: the same geometry, n coordinates per point
    return Z, tol * n / d


def nearest_allowed(d: np.ndarray, allowed: np.ndarray | None) -> int:
    """The image nearest a centroid given its distances ``d``: the lowest index among exact ties
    (``np.argmin``); ``allowed`` (bool mask) excludes images; -1 when none is allowed.

    The authors take ``np.argsort(kmeans.transform(X)[:, i])[0]``: numpy's default sort is not
    stable, so which of two exactly tied images (a two-image cluster's centroid is their midpoint)
    comes first is unspecified there. coldstart fixes it to the lower index.
    """
    if allowed is None:
        return int(np.argmin(d))
    i = int(np.argmin(np.where(allowed, d, np.inf)))
    return i if allowed[i] else -1


_SPACES: "OrderedDict[tuple, tuple]" = OrderedDict()
_SPACES_LOCK = threading.Lock()
#: z-scored spaces kept per process (a run selects with several seeds in the same features)
SPACES_KEPT = 4


def paper_space(X: np.ndarray):
    """``(Xs, restarts)``: the z-scored features in :func:`exact_row_space` coordinates and their
    :class:`._restarts.RandomRestarts` (centring and tolerance, shared by every k).

    The same features selected with another seed (a run's five seeds, the app's warm-up) reuse the
    last :data:`SPACES_KEPT` results, found by the features' content hash: the same bits, computed once.
    """
    from sklearn.preprocessing import StandardScaler

    from ._restarts import RandomRestarts

    X = np.ascontiguousarray(X)
    h = hashlib.blake2b(memoryview(X).cast("B"), digest_size=16).hexdigest()
    key = (X.shape, X.dtype.str, h)
    with _SPACES_LOCK:
        hit = _SPACES.get(key)
        if hit is not None:
            _SPACES.move_to_end(key)
            return hit
    Xs, tol = exact_row_space(StandardScaler().fit_transform(X))
    Xs.setflags(write=False)  # shared by later calls
    out = (Xs, RandomRestarts(Xs, tol=tol))
    with _SPACES_LOCK:
        _SPACES[key] = out
        while len(_SPACES) > SPACES_KEPT:
            _SPACES.popitem(last=False)
    return out


def paper_kmeans_indices(X: np.ndarray, budget: int, seed: int, n_init: int = 10,
                         labeled: np.ndarray | None = None, threads: int | None = None) -> tuple[list[int], dict]:
    """The reference loop (inputs validated). Returns picks and per-pick columns.

    Wide features (more dimensions than images, e.g. raw pixels) are clustered in their exact
    row-space coordinates (:func:`exact_row_space`): the same distances, far less arithmetic.
    Each k's ``n_init`` restarts run side by side on ``threads`` threads (default: every core),
    with results identical to ``KMeans(n_clusters=k, init="random", n_init=n_init,
    random_state=seed)`` (see :mod:`._restarts`).
    """
    Xs, km = paper_space(X)
    n = len(Xs)
    allowed = None
    if labeled is not None and len(labeled):
        allowed = np.ones(n, bool)
        allowed[labeled] = False
    picks: list[int] = []
    seen: set[int] = set()
    cols: dict[str, list] = {"cluster": [], "k": [], "distance": [], "cluster_size": []}
    k = 2
    sizes = None
    while len(picks) < budget and k <= n:
        centers, labels, _ = km.fit(k, seed, n_init, threads)
        sizes = np.bincount(labels, minlength=k)
        for j, c in enumerate(centers):
            d = np.linalg.norm(Xs - c, axis=1)
            i = nearest_allowed(d, allowed)
            if i < 0 or i in seen:
                continue
            seen.add(i)
            picks.append(i)
            cols["cluster"].append(j)
            cols["k"].append(k)
            cols["distance"].append(float(d[i]))
            cols["cluster_size"].append(int(sizes[j]))
        k += 1
    info = {"k_max": k - 1, "cluster_sizes": sizes.tolist() if sizes is not None else [],
            "space": "z-score"}
    if len(picks) < budget:  # only with many duplicates / tiny pools
        ok = np.ones(n, bool) if allowed is None else allowed
        extra = _fill_farthest(np.asarray(Xs, np.float32), list(picks), budget, ok)[len(picks):]
        for i in extra:
            picks.append(i)
            for c in cols:
                cols[c].append(-1 if c != "distance" else np.nan)
    picks, cols = picks[:budget], {c: v[:budget] for c, v in cols.items()}
    return picks, {"cols": cols, **info}


def fast_kmeans_indices(X: np.ndarray, budget: int, seed: int, dim: int | None = 64,
                        max_iter: int = 30, tol: float = 1e-4, labeled: np.ndarray | None = None,
                        max_fit: int = 20000) -> tuple[list[int], dict]:
    """Warm-started nested KMeans in a PCA space (inputs validated).

    Above ``max_fit`` images the centroids are refined on a seeded sample of ``max_fit``
    images, and each k's medoids are the sample images nearest the centroids (per-pick cluster
    sizes are the sample's counts scaled to the pool; ``info["cluster_sizes"]`` counts the whole
    pool at the last k). Assigning the whole pool at every k would cost O(n k^2) for the nested loop.
    """
    rng = np.random.default_rng(seed)
    Z = reduce_dim(standardize(X), dim, seed)
    n = len(Z)
    sub = n > max_fit
    rows_f = np.sort(rng.choice(n, max_fit, replace=False)) if sub else np.arange(n)
    Zf = Z[rows_f] if sub else Z
    tol_abs = tol * float(Zf.var(axis=0).mean())
    allowed = np.ones(n, bool)
    if labeled is not None and len(labeled):
        allowed[labeled] = False
    C = Zf[kmeanspp(Zf, 2, rng)].astype(np.float32)
    picks: list[int] = []
    seen: set[int] = set()
    cols: dict[str, list] = {"cluster": [], "k": [], "distance": [], "cluster_size": []}
    k = 2
    sizes = np.zeros(0, int)
    while True:
        C, lab_f, D_f = lloyd(Zf, C, max_iter, tol_abs)
        sizes = np.bincount(lab_f, minlength=k)
        if sub:
            sizes = np.rint(sizes * (n / len(Zf))).astype(int)
        ok_f = allowed[rows_f]
        Dm = D_f if ok_f.all() else np.where(ok_f[:, None], D_f, np.inf)
        med = Dm.argmin(axis=0)
        for j in range(k):
            i = int(rows_f[med[j]])
            if not allowed[i] or i in seen:
                continue
            seen.add(i)
            picks.append(i)
            cols["cluster"].append(j)
            cols["k"].append(k)
            cols["distance"].append(float(np.sqrt(D_f[med[j], j])))
            cols["cluster_size"].append(int(sizes[j]))
        if len(picks) >= budget or k >= n:
            break
        # warm start for k+1: keep the k centroids, add one greedy k-means++ point
        dmin = D_f[np.arange(len(Zf)), lab_f].astype(np.float64)
        new = kmeanspp(Zf, 2, rng, d2=dmin, centers=[0])[1]
        C = np.vstack([C, Zf[new:new + 1]])
        k += 1
    if sub:  # exact sizes of the last clustering over the whole pool (one pass)
        sizes = np.bincount(_chunked_sq_dist(Z, C).argmin(axis=1), minlength=len(C))
    info = {"k_max": k, "cluster_sizes": sizes.tolist(),
            "space": f"z-score + PCA({Z.shape[1]})" if Z.shape[1] < X.shape[1] else "z-score"}
    if len(picks) < budget:
        extra = _fill_farthest(Z, list(picks), budget, allowed)[len(picks):]
        for i in extra:
            picks.append(i)
            for c in cols:
                cols[c].append(-1 if c != "distance" else np.nan)
    return picks[:budget], {"cols": {c: v[:budget] for c, v in cols.items()}, **info}


@register("kmeans-paper",
          "The paper's exact protocol: nested KMeans (k=2,3,..., 10 random restarts each), "
          "image nearest each centroid. Slow beyond a few thousand images.",
          params=(Param("n_init", int, 10, "Random restarts per k (the paper's 10).", low=1),))
def select_kmeans_paper(features, budget: int, seed: int = 2024, n_init: int = 10, labeled=None):
    """Yuan & Hong's reference selection, step for step.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
        ``random_state`` of every KMeans fit (the paper used 2024).
    n_init : int, default=10
        Random restarts per k (the paper's 10).
    labeled : int array, optional
        Already-labeled images: never picked; a centroid takes its nearest unlabeled image.

    Returns
    -------
    Selection
        Per pick: ``cluster`` (centroid index), ``k``, ``distance`` (to the centroid,
        z-scored space), ``cluster_size``.
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    picks, meta = paper_kmeans_indices(X, budget, seed, int(n_init), lab)
    cols = meta.pop("cols")
    return make_selection("kmeans-paper", X, picks, seed, {"n_init": int(n_init)}, cols, meta, t0, lab)


@register("kmeans",
          "Fast approximation of the paper's protocol: nested KMeans in a PCA-64 space with one "
          "warm-started Lloyd run per k; 200-400x faster, coverage at most 2% worse than kmeans-paper "
          "(phantom, PneumoniaMNIST; docs/fidelity.md). Use kmeans-paper for the paper's protocol.",
          params=(Param("dim", int, 64, "PCA components after z-scoring (None: the full z-scored space).",
                        low=1, optional=True),
                  Param("max_iter", int, 30, "Lloyd iterations per k (warm-started, so few are needed).", low=1)))
@single_thread
def select_kmeans(features, budget: int, seed: int = 0, dim: int | None = 64, max_iter: int = 30,
                  labeled=None):
    """Fast approximation of the paper's protocol (``kmeans-paper``): same nested idea, much cheaper.

    Measured against ``kmeans-paper`` (benchmarks/select.py, budgets 20-100): the mean distance
    from each pool image to its nearest pick differs by +1.9% to -2.7% (phantom 800 x 1,024) and
    +0.1% to +1.3% (PneumoniaMNIST 3,882 x 784); positive = the approximation covers worse.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
    dim : int or None, default=64
        PCA components after z-scoring (None: cluster in the full z-scored space).
    max_iter : int, default=30
        Lloyd iterations per k (warm-started, so few are needed).
    labeled : int array, optional
        Already-labeled images, never picked.

    Returns
    -------
    Selection
        Per pick: ``cluster``, ``k``, ``distance`` (to the centroid, clustering space),
        ``cluster_size``.
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    picks, meta = fast_kmeans_indices(X, budget, seed, dim, int(max_iter), labeled=lab)
    cols = meta.pop("cols")
    return make_selection("kmeans", X, picks, seed, {"dim": dim, "max_iter": int(max_iter)},
                          cols, meta, t0, lab)
