"""``balanced``: imbalance-aware selection that does not starve a rare class.

Cold start (no model yet): the pool is over-clustered into ``horizon`` KMeans
clusters (L2-normalised features, PCA space), each cluster is represented by
its medoid (the image nearest its centroid), and the medoids are ordered by
farthest-first traversal starting from the largest cluster. Every cluster
gets one pick before any gets two, whatever its size, and small, outlying
clusters, where a rare class tends to live, come early instead of after
every dense region (as in nested KMeans) or never (as in random sampling).
Clusters with fewer than ``min_cluster_size`` images (isolated outliers) go
last. Later rounds take each cluster's next-most-central image in the same
cluster order.

Once a model exists, pass its class probabilities ``probs`` (N, C) (and the
labels of the labeled images): picks then alternate across *predicted*
classes, the class with the fewest labeled + picked images first, each class
following the foundation-model order above. The prior decides which image,
the small model decides which class needs it.
"""

from __future__ import annotations

import time

import numpy as np

from ._space import farthest_first, kmeans, l2_normalize, reduce_dim, single_thread
from .base import Param, register
from .diagnostics import make_selection
from .validation import check_inputs
from ..errors import ColdstartError


def prior_order(Z: np.ndarray, n_clusters: int, seed: int, min_cluster_size: int = 3,
                labeled: np.ndarray | None = None):
    """Order every image: round r takes the r-th most central image of each cluster,
    clusters in farthest-first order of their medoids.

    Returns
    -------
    order : int array (n,)
        All pool indices, most wanted first.
    labels, rank_in_cluster, dist, sizes : arrays describing the clustering.
    """
    n = len(Z)
    C, lab = kmeans(Z, n_clusters, seed)
    k = len(C)
    sizes = np.bincount(lab, minlength=k)
    dist = np.sqrt(((Z - C[lab]) ** 2).sum(axis=1))
    # rank of each image inside its cluster by distance to the centroid
    o = np.lexsort((np.arange(n), dist, lab))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank_in = np.empty(n, np.int64)
    rank_in[o] = np.arange(n) - np.repeat(starts, sizes)
    medoid = np.full(k, -1)
    medoid[lab[o[starts[sizes > 0]]]] = o[starts[sizes > 0]]
    live = np.flatnonzero(sizes >= max(1, min_cluster_size))
    small = np.flatnonzero((sizes > 0) & (sizes < max(1, min_cluster_size)))
    if not len(live):  # a tiny pool: every cluster is small, so order them all farthest-first
        live, small = small, small[:0]
    # farthest-first over medoids of the live clusters, from the labeled images or the largest cluster
    has_lab = labeled is not None and len(labeled)
    corder, _ = farthest_first(Z[medoid[live]], len(live), seeds=Z[labeled] if has_lab else None,
                               first=None if has_lab else int(np.argmax(sizes[live])))
    cluster_rank = np.empty(k, np.int64)
    ordered = np.concatenate([live[corder], small[np.argsort(-sizes[small], kind="stable")]])
    cluster_rank[ordered] = np.arange(len(ordered))
    cluster_rank[sizes == 0] = k
    is_small = np.isin(lab, small)
    order = np.lexsort((np.arange(n), cluster_rank[lab], rank_in, is_small))
    return order, lab, rank_in, dist, sizes


@register("balanced", "Imbalance-aware: one pick per cluster before any gets two, outlying clusters "
                      "early; with model probabilities, picks alternate across predicted classes.",
          params=(Param("horizon", int, 100, "Number of clusters (one pick each in the first round).", low=1),
                  Param("dim", int, 64, "PCA components of the L2-normalised features (None: no PCA).", low=1,
                        optional=True),
                  Param("min_cluster_size", int, 3, "Smaller clusters (isolated outliers) are picked last.", low=0)),
          inputs=("probs", "labels", "labeled"))
@single_thread
def select_balanced(features, budget: int, seed: int = 0, horizon: int = 100, dim: int | None = 64,
                    min_cluster_size: int = 3, probs=None, labels=None, labeled=None):
    """Imbalance-aware selection.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
    horizon : int, default=100
        Number of clusters (one pick each in the first round).
    dim : int or None, default=64
        PCA components of the L2-normalised features.
    min_cluster_size : int, default=3
        Smaller clusters (isolated outliers) are picked last.
    probs : (n, C) array, optional
        Current model's class probabilities for the pool: picks are balanced
        across predicted classes (argmax).
    labels : (n,) int array, optional
        Known labels (``MISSING_LABEL`` = unknown); used for the labeled images' classes.
    labeled : int array, optional
        Already-labeled images: never picked; count toward their class.

    Returns
    -------
    Selection
        Per pick: ``cluster``, ``cluster_size``, ``round`` (0 = medoid), ``distance``
        (to centroid), ``group`` (predicted class, -1 in cold start).
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    n = len(X)
    if int(horizon) < 1:
        raise ColdstartError(f"horizon={horizon} must be >= 1 (the number of clusters)")
    Z = reduce_dim(l2_normalize(X), dim, seed)
    order, clab, rank_in, dist, sizes = prior_order(Z, min(int(horizon), n), seed, int(min_cluster_size), lab)
    taken = np.zeros(n, bool)
    taken[lab] = True
    group = np.full(n, -1)
    info: dict = {"n_clusters": int(len(sizes)), "cluster_sizes": sizes.tolist(),
                  "space": "L2-normalised" + (f" + PCA({Z.shape[1]})" if Z.shape[1] < X.shape[1] else "")}
    if probs is None:
        picks = [int(i) for i in order if not taken[i]][:budget]
    else:
        P = np.asarray(probs, dtype=float)
        if P.ndim != 2 or len(P) != n or not np.isfinite(P).all():
            raise ColdstartError(f"probs must be a finite (n_pool, n_classes) array for the {n} pool "
                                 f"images; got shape {P.shape}")
        group = P.argmax(axis=1)
        if labels is not None:
            from ..data.dataset import is_labeled

            y = np.asarray(labels).astype(int)
            if y.shape != (n,):
                raise ColdstartError(f"labels must have one entry per pool image ({n}); got {y.shape}")
            known = taken & is_labeled(y)
            group[known] = y[known]
        n_classes = P.shape[1]
        count = np.bincount(group[lab], minlength=n_classes).astype(float) if len(lab) else np.zeros(n_classes)
        queues = {c: [int(i) for i in order if group[i] == c and not taken[i]] for c in range(n_classes)}
        pos = dict.fromkeys(queues, 0)
        picks = []
        while len(picks) < budget:
            open_ = [c for c in queues if pos[c] < len(queues[c])]
            c = min(open_, key=lambda c: (count[c], c))
            picks.append(queues[c][pos[c]])
            pos[c] += 1
            count[c] += 1
        info["group_counts"] = {int(c): int((group[picks] == c).sum()) for c in queues}
    picks = np.asarray(picks, dtype=np.int64)
    cols = {"cluster": clab[picks], "cluster_size": sizes[clab[picks]], "round": rank_in[picks],
            "distance": dist[picks], "group": group[picks]}
    params = {"horizon": int(horizon), "dim": dim, "min_cluster_size": int(min_cluster_size),
              "uses_probs": probs is not None}
    return make_selection("balanced", X, picks, seed, params, cols, info, t0, lab)
