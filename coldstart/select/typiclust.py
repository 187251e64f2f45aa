"""``typiclust`` (Hacohen, Dekel & Weinshall, ICML 2022): the most typical image of each large, uncovered cluster.

The features (L2-normalised first with ``normalize=True``, as the original does with SimCLR
embeddings) are clustered with KMeans into ``min(n_labeled + horizon, max_clusters)`` clusters in
their top ``dim`` principal components (PCA keeps clustering fast on wide features; the fit uses
a seeded sample of 20,000 images for big pools, then all are assigned). Clusters are visited in
order of fewest labeled images, then largest size (clusters of ``min_cluster_size`` images or
fewer are skipped, as in the original), cycling when the budget exceeds the number of clusters;
from each visited cluster the most typical unpicked image is taken: typicality = 1 / mean
distance to its ``k`` nearest neighbours inside the cluster, measured in the full features (so
the picks sit where the pool is dense in the space coverage is judged in). The cluster count
does not depend on the budget (it is sized for ``horizon``), so selections are nested. No N x N
matrix: kNN is computed per cluster, in chunks, and only for clusters actually visited. On faiss
(pools from 100,000 images) the kNN is a flat-index search, for a seeded sample of at most
:data:`.faiss_backend.TYPICALITY_CANDIDATES` members of each cluster against all its members
(reported as ``typicality_candidates``), so the pick is the most typical of that sample.
"""

from __future__ import annotations

import time

import numpy as np

from . import faiss_backend
from ._space import kmeans, knn_mean_distance, l2_normalize, reduce_dim, single_thread
from .base import Param, register
from .diagnostics import make_selection
from .validation import check_inputs
from ..errors import ColdstartError


def fit_clusters(Z: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """Seeded KMeans labels (k-means++ + Lloyd, fit on <= 20,000 sampled images, then assign all)."""
    return kmeans(Z, n_clusters, seed)[1]


@register("typiclust", "TypiClust: the most typical (dense) image of each large uncovered cluster; "
                       "strong at tiny budgets.",
          params=(Param("k", int, 20, "Neighbours for typicality (min(k, cluster size // 2) in small clusters).",
                        low=1),
                  Param("horizon", int, 100, "The clustering is sized for n_labeled + horizon picks.", low=1),
                  Param("max_clusters", int, 500, "Upper bound on the number of clusters.", low=1),
                  Param("min_cluster_size", int, 5, "Clusters this small or smaller are visited last.", low=0),
                  Param("dim", int, 64, "PCA components the clusters are fitted in (None: the full space).",
                        low=1, optional=True),
                  Param("normalize", bool, False, "L2-normalise the features first (for embeddings trained on "
                        "the unit sphere, e.g. SimCLR).")))
@single_thread
def select_typiclust(features, budget: int, seed: int = 0, k: int = 20, horizon: int = 100,
                     max_clusters: int = 500, min_cluster_size: int = 5, dim: int | None = 64,
                     normalize: bool = False, labeled=None):
    """TypiClust selection.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
        Seeds the clustering.
    k : int, default=20
        Neighbours for typicality (``min(k, cluster_size // 2)`` in small clusters).
    horizon : int, default=100
        The clustering is sized for ``n_labeled + horizon`` picks (the original
        uses ``n_labeled + budget``; a fixed horizon keeps selections nested).
    max_clusters : int, default=500
    min_cluster_size : int, default=5
        Clusters with this many images or fewer are visited only if nothing else is left.
    dim : int or None, default=64
        PCA components the clusters are fitted in (None: the full space); typicality is always
        measured in the full features.
    normalize : bool, default=False
        L2-normalise the features before the PCA.
    labeled : int array, optional
        Already-labeled images: never picked; their clusters count as covered.

    Returns
    -------
    Selection
        Per pick: ``cluster``, ``cluster_size``, ``typicality``, ``distance``
        (mean kNN distance in the features), ``k``.
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    for name, v, lo in (("k", k, 1), ("horizon", horizon, 1), ("max_clusters", max_clusters, 1),
                        ("min_cluster_size", min_cluster_size, 0)):
        if int(v) < lo:
            raise ColdstartError(f"{name}={v} must be >= {lo}")
    F = l2_normalize(X) if normalize else np.asarray(X, dtype=np.float32)  # typicality is measured here
    Z = reduce_dim(F, None if dim is None else int(dim), seed)  # clusters are fitted here
    n = len(Z)
    n_clusters = int(max(1, min(len(lab) + int(horizon), int(max_clusters), n)))
    labels = fit_clusters(Z, n_clusters, seed)
    sizes = np.bincount(labels, minlength=n_clusters)
    covered = np.bincount(labels[lab], minlength=n_clusters) if len(lab) else np.zeros(n_clusters, int)
    order = np.lexsort((np.arange(n_clusters), -sizes, covered))  # fewest labeled, then largest
    big = order[sizes[order] > int(min_cluster_size)]
    order = np.concatenate([big, order[sizes[order] <= int(min_cluster_size)]]) if len(big) else order
    order = order[sizes[order] > 0]

    # on faiss (large pools): typicality of a seeded sample of at most `cap` members per cluster, their
    # neighbours searched exactly among all its members; the numpy path ranks every member
    scale = faiss_backend.use_faiss(n)
    cap = faiss_backend.TYPICALITY_CANDIDATES if scale else None
    if cap is not None and np.minimum(sizes, cap).sum() < budget + len(lab):
        cap = None  # too few candidates for the budget: rank every member
    avail = sizes if cap is None else np.minimum(sizes, cap)
    knn = faiss_backend.knn_mean_distance if scale else knn_mean_distance
    taken = np.zeros(n, bool)
    taken[lab] = True
    ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # cluster -> members by typicality, mean dist
    picks, cols = [], {"cluster": [], "cluster_size": [], "typicality": [], "distance": [], "k": []}
    pos = {int(c): 0 for c in order}
    n_big = max(len(big), 1)
    i = 0
    while len(picks) < budget:
        # cycle over the big clusters first; fall back to every cluster when they run dry
        pool = order[:n_big] if any(pos[int(c)] < avail[c] for c in order[:n_big]) else order
        c = int(pool[i % len(pool)])
        i += 1
        if c not in ranked:
            members = np.flatnonzero(labels == c)
            kk = max(1, min(int(k), len(members) // 2))
            cand = members if cap is None or len(members) <= cap else \
                np.sort(np.random.default_rng((seed, c)).choice(members, cap, replace=False))
            Fm = np.asarray(F[members])
            md = knn(Fm[np.searchsorted(members, cand)], Fm, kk) if len(members) > 1 \
                else np.zeros(1, np.float32)
            o = np.lexsort((cand, md))  # most typical (smallest mean distance) first
            ranked[c] = (cand[o], md[o], kk)
        members, md, kk = ranked[c]
        while pos[c] < len(members) and taken[members[pos[c]]]:
            pos[c] += 1
        if pos[c] >= len(members):
            continue
        j = int(members[pos[c]])
        taken[j] = True
        picks.append(j)
        cols["cluster"].append(c)
        cols["cluster_size"].append(int(sizes[c]))
        cols["distance"].append(float(md[pos[c]]))
        cols["typicality"].append(float(1.0 / (md[pos[c]] + 1e-5)))
        cols["k"].append(int(kk))
    params = {"k": int(k), "horizon": int(horizon), "max_clusters": int(max_clusters),
              "min_cluster_size": int(min_cluster_size), "dim": dim, "normalize": bool(normalize)}
    space = ("L2-normalised" if normalize else "raw features") + \
        (f" + PCA({Z.shape[1]})" if Z.shape[1] < X.shape[1] else "")
    info = {"n_clusters": n_clusters, "cluster_sizes": sizes.tolist(), "space": space}
    if scale:
        info["typicality_candidates"] = cap  # None: every member ranked
    return make_selection("typiclust", X, picks, seed, params, cols, info, t0, lab)
