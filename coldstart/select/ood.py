"""``ood-aware`` selection and :func:`ood_scores`: keep out-of-distribution images out of the picks.

The score of an image is its mean distance to its ``k`` nearest neighbours in
the z-scored (PCA-projected) embedding: images unlike the rest of the pool
(wrong body part, lateral views, inverted or corrupted films) sit far from
everything. ``k`` should exceed the size of a typical group of similar
outliers (20 by default), so a handful of near-identical OOD images cannot
vouch for each other. The selector drops the top-scored ``exclude`` fraction
of the pool and runs a base selector on the rest: TypiClust by default, whose
picks are the most *typical* images of each cluster, so outliers that slip
past the score threshold (e.g. mildly corrupted films near the data) are not
picked as cluster representatives either.
"""

from __future__ import annotations

import time

import numpy as np

from ._space import knn_mean_distance, reduce_dim, single_thread, standardize
from .base import Param, register
from .diagnostics import make_selection
from .validation import check_features, check_inputs, check_seed
from ..errors import ColdstartError


def ood_scores(features, k: int = 20, dim: int | None = 64, seed: int = 0) -> np.ndarray:
    """Per-image out-of-distribution score (higher = more unusual).

    Parameters
    ----------
    features : (n, d) array
        Pool embeddings.
    k : int, default=20
        Neighbours averaged (capped at n - 1).
    dim : int or None, default=64
        PCA components after z-scoring (None: full z-scored space).
    seed : int, default=0
        Seeds the PCA fit sample for pools above 10,000 images.

    Returns
    -------
    float32 array (n,)
        Mean Euclidean distance to the k nearest other images (no N x N matrix is built).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.random.default_rng(0).normal(size=(50, 4)), [[40, 40, 40, 40]]]
    >>> int(np.argmax(ood_scores(X, k=5)))
    50
    """
    X = check_features(features)
    seed = check_seed(seed)
    if len(X) < 2:
        raise ColdstartError(f"ood_scores needs at least 2 images; got {len(X)}: OOD scores compare "
                             "images with each other, so use a larger pool (or the 'random' selector)")
    if int(k) < 1:
        raise ColdstartError(f"k={k} must be >= 1 (neighbours averaged, e.g. 20)")
    Z = reduce_dim(standardize(X), dim, seed)
    return knn_mean_distance(Z, Z, min(int(k), len(Z) - 1))


@register("ood-aware", "Skips the most unusual images (kNN-distance OOD score, top `exclude` fraction), "
                       "then picks typical images of each cluster (TypiClust) from the rest.",
          params=(Param("exclude", float, 0.15, "Fraction of the pool with the highest OOD scores never picked.",
                        low=0, high=1, high_open=True),
                  Param("k", int, 20, "Neighbours for the OOD score.", low=1),
                  Param("base", str, "typiclust", "Selector run on the kept images.",
                        choices=("typiclust", "kmeans", "kmeans-paper", "probcover", "coreset", "balanced",
                                 "random"))),
          extra_params=True)
@single_thread
def select_ood_aware(features, budget: int, seed: int = 0, exclude: float = 0.15, k: int = 20,
                     base: str = "typiclust", labeled=None, **base_params):
    """OOD-aware selection.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
    exclude : float, default=0.15
        Fraction of the pool with the highest OOD scores that is never picked
        (set it a little above the share of unusable images you expect).
    k : int, default=20
        Neighbours for :func:`ood_scores`.
    base : str, default="typiclust"
        Registered selector run on the kept images (e.g. "kmeans" for the paper's
        nested KMeans on the filtered pool).
    labeled : int array, optional
        Already-labeled images, never picked.
    **base_params
        Passed to the base selector.

    Returns
    -------
    Selection
        The base selector's per-pick columns plus ``ood_score``; info adds
        ``ood_threshold`` and ``n_excluded``.
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    if not 0 <= float(exclude) < 1:
        raise ColdstartError(f"exclude={exclude} must be a fraction in [0, 1), e.g. 0.15")
    if base == "ood-aware":
        raise ColdstartError("base='ood-aware' would recurse: choose e.g. base='typiclust'")
    from .base import get_selector, select

    get_selector(base)  # unknown names raise with the list of valid ones
    n = len(X)
    scores = ood_scores(X, k=k, seed=seed)
    n_ex = int(np.floor(float(exclude) * n))
    ex = np.argsort(-scores, kind="stable")[:n_ex]
    keep = np.ones(n, bool)
    keep[ex] = False
    keep_idx = np.flatnonzero(keep)
    lab_keep = np.flatnonzero(np.isin(keep_idx, lab))
    available = len(keep_idx) - len(lab_keep)
    if budget > available:
        raise ColdstartError(f"budget={budget} is larger than the {available} unlabeled images left after "
                             f"excluding the {n_ex} most unusual (exclude={exclude}): choose a budget <= "
                             f"{available} or a smaller exclude")
    sub = select(base, X[keep_idx], budget, seed, labeled=lab_keep if len(lab_keep) else None, **base_params)
    picks = keep_idx[sub.indices]
    cols = {c: sub.per_pick[c].to_numpy() for c in sub.per_pick.columns if c not in ("rank", "index")}
    cols["ood_score"] = scores[picks]
    info = {"base": base, "n_excluded": n_ex,
            "ood_threshold": float(scores[ex].min()) if n_ex else float("inf"),
            **{k_: v for k_, v in sub.info.items() if k_ in ("k_max", "n_clusters", "cluster_sizes", "space")}}
    params = {"exclude": float(exclude), "k": int(k), "base": base, **base_params}
    return make_selection("ood-aware", X, picks, seed, params, cols, info, t0, lab)
