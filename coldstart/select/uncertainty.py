"""Uncertainty-round strategies, used once a model exists (the training loop calls them).

:func:`query_uncertain` ranks the allowed (unlabeled) images by the current
model's outputs: ``threshold`` (the paper's: closeness of the positive-class probability to
the run's decision threshold), ``least-confidence`` (1 - max p), ``margin`` (1 - (p1 - p2)),
``entropy``, ``bald`` (mutual information from MC-dropout samples) and
``badge`` (k-means++ seeding on gradient embeddings, diverse *and*
uncertain). The result is the same :class:`Selection` type as the cold-start
selectors; score strategies are nested (a sorted list, ties broken by a seeded
permutation).

The same strategies are registered under their names (kind ``uncertainty``)
so run configs can name them; through the registry they take the pool
``probs`` (and ``mc_probs`` / the features) as keyword arguments.
"""

from __future__ import annotations

import time

import numpy as np

from .base import Selection, register
from .diagnostics import make_selection
from .validation import check_features, check_seed
from ..errors import ColdstartError

UNCERTAINTY_STRATEGIES = ("threshold", "least-confidence", "margin", "entropy", "bald", "badge")


def _check_probs(probs, name="probs") -> np.ndarray:
    P = np.asarray(probs, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] < 2:
        raise ColdstartError(f"{name} must be a 2-D array (n_pool, n_classes >= 2) of class probabilities; "
                             f"got shape {P.shape}")
    if not np.isfinite(P).all() or (P < -1e-6).any() or (P > 1 + 1e-6).any():
        raise ColdstartError(f"{name} must hold finite probabilities in [0, 1]: apply softmax to the logits first")
    return np.clip(P, 0.0, 1.0)


def _entropy(P: np.ndarray) -> np.ndarray:
    return -(P * np.log(np.clip(P, 1e-12, None))).sum(axis=-1)


def uncertainty_scores(strategy: str, probs, mc_probs=None, threshold: float | None = None) -> np.ndarray:
    """Per-image uncertainty (higher = more informative) for the score strategies.

    Parameters
    ----------
    strategy : {"threshold", "least-confidence", "margin", "entropy", "bald"}
    probs : (n, C) array
        Class probabilities (for ``bald`` may be None: the MC mean is used).
    mc_probs : (T, n, C) array
        MC-dropout samples, required for ``bald``.
    threshold : float, optional
        Decision threshold on the positive-class probability (``threshold``; default 0.5):
        the score is ``1 - |p1 - threshold|``.
    """
    if strategy == "bald":
        if mc_probs is None:
            raise ColdstartError("strategy 'bald' needs mc_probs (T, n_pool, n_classes): run the model T times "
                                 "with dropout on (MC dropout) and stack the softmax outputs")
        M = np.asarray(mc_probs, dtype=np.float64)
        if M.ndim != 3 or M.shape[0] < 2:
            raise ColdstartError(f"mc_probs must be (T >= 2, n_pool, n_classes); got shape {M.shape}")
        _check_probs(M.reshape(-1, M.shape[-1]), "mc_probs")
        M = np.clip(M, 0, 1)
        return _entropy(M.mean(axis=0)) - _entropy(M).mean(axis=0)
    P = _check_probs(probs)
    if strategy == "threshold":
        t = 0.5 if threshold is None else float(threshold)
        if P.shape[1] != 2 or not 0 <= t <= 1:
            raise ColdstartError(f"strategy 'threshold' needs two-class probs and a threshold in [0, 1]; got "
                                 f"{P.shape[1]} classes and threshold={threshold!r}")
        return 1.0 - np.abs(P[:, 1] - t)
    if strategy == "least-confidence":
        return 1.0 - P.max(axis=1)
    if strategy == "margin":
        top2 = np.sort(P, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if strategy == "entropy":
        return _entropy(P)
    raise ColdstartError(f"unknown uncertainty strategy {strategy!r}: choose one of {', '.join(UNCERTAINTY_STRATEGIES)}")


def _badge(P: np.ndarray, F: np.ndarray, cand: np.ndarray, size: int, rng) -> tuple[list[int], list[float]]:
    """k-means++ seeding on gradient embeddings g_i = (p_i - onehot(argmax p_i)) (x) x_i.

    Distances use <g_i, g_j> = <a_i, a_j> <x_i, x_j>, so the (n, C * D) gradient
    embeddings are never formed.
    """
    A = P[cand] - np.eye(P.shape[1])[P[cand].argmax(axis=1)]
    Xc = F[cand].astype(np.float64)
    aa = (A * A).sum(1)
    xx = (Xc * Xc).sum(1)
    norms2 = aa * xx
    first = int(np.argmax(norms2))
    picks, dists = [first], [float(np.sqrt(norms2[first]))]
    d2 = np.maximum(norms2 + norms2[first] - 2 * (A @ A[first]) * (Xc @ Xc[first]), 0)
    d2[first] = 0
    while len(picks) < size:
        tot = d2.sum()
        if tot <= 1e-12:  # all remaining gradients identical: take the next unpicked in order
            rest = np.setdiff1d(np.arange(len(cand)), picks)
            p = int(rest[0])
        else:
            p = int(np.searchsorted(np.cumsum(d2), rng.random() * tot))
            p = min(p, len(cand) - 1)
            if p in picks:  # numerically zero-probability point
                p = int(np.argmax(d2))
        picks.append(p)
        dists.append(float(np.sqrt(d2[p])))
        d2 = np.minimum(d2, np.maximum(norms2 + norms2[p] - 2 * (A @ A[p]) * (Xc @ Xc[p]), 0))
        d2[picks] = 0
    return [int(cand[i]) for i in picks], dists


def query_uncertain(strategy: str, probs, candidates, size: int, seed: int = 0, mc_probs=None,
                    features=None, threshold: float | None = None) -> Selection:
    """Pick ``size`` of the ``candidates`` the current model is least sure about.

    Parameters
    ----------
    strategy : {"threshold", "least-confidence", "margin", "entropy", "bald", "badge"}
    probs : (n, C) array
        Class probabilities for the whole pool (rows = pool indices). For
        ``bald`` it may be None (the MC mean is used).
    candidates : int array
        Pool indices allowed (the unlabeled ones).
    size : int
        How many to pick (e.g. the paper's 20 per round).
    seed : int, default=0
        Breaks ties (score strategies) and drives BADGE's k-means++ sampling.
    mc_probs : (T, n, C) array, optional
        MC-dropout softmax samples (required for ``bald``).
    features : (n, D) array, optional
        Penultimate-layer features (required for ``badge``).
    threshold : float, optional
        The run's decision threshold (``threshold``; default 0.5).

    Returns
    -------
    Selection
        ``indices`` are pool indices; per pick ``score`` (uncertainty, or for
        BADGE the gradient-space distance when picked) and ``predicted``.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[.9, .1], [.5, .5], [.6, .4]])
    >>> query_uncertain("margin", P, [0, 1, 2], 2).indices.tolist()
    [1, 2]
    """
    t0 = time.perf_counter()
    if strategy not in UNCERTAINTY_STRATEGIES:
        raise ColdstartError(f"unknown uncertainty strategy {strategy!r}: choose one of {', '.join(UNCERTAINTY_STRATEGIES)}")
    seed = check_seed(seed)
    if probs is None and strategy == "bald" and mc_probs is not None:
        probs = np.asarray(mc_probs, dtype=np.float64).mean(axis=0)
    if probs is None:
        raise ColdstartError(f"strategy {strategy!r} needs the model's class probabilities for the pool "
                             f"(probs, shape (n_pool, n_classes)): train a model first")
    P = _check_probs(probs)
    n = len(P)
    cand = np.asarray(candidates)
    if cand.ndim != 1 or cand.size == 0 or cand.dtype.kind not in "iu":
        raise ColdstartError(f"candidates must be a non-empty 1-D array of pool indices; got shape {cand.shape}"
                             f" dtype {cand.dtype}: pass the unlabeled indices")
    if cand.min() < 0 or cand.max() >= n:
        raise ColdstartError(f"candidates hold indices outside the pool [0, {n}): pass row indices of probs")
    cand = np.unique(cand.astype(np.int64))
    if isinstance(size, bool) or int(size) != size or int(size) <= 0:
        raise ColdstartError(f"size={size!r} must be a positive integer (images to pick this round)")
    size = int(size)
    if size > len(cand):
        raise ColdstartError(f"size={size} is larger than the {len(cand)} candidates: choose size <= {len(cand)}")
    rng = np.random.default_rng(seed)
    pred = P.argmax(axis=1)
    if strategy == "badge":
        if features is None:
            raise ColdstartError("strategy 'badge' needs features (n_pool, D): pass the model's penultimate-layer "
                                 "embedding of the pool")
        F = check_features(features)
        if len(F) != n:
            raise ColdstartError(f"features has {len(F)} rows but probs has {n}: pass both for the whole pool")
        picks, score = _badge(P, F, cand, size, rng)
    else:
        s = uncertainty_scores(strategy, P, mc_probs, threshold)
        if len(s) != n:
            raise ColdstartError(f"mc_probs covers {len(s)} images but probs has {n}: pass both for the whole pool")
        tie = rng.permutation(len(cand))
        o = np.lexsort((tie, -s[cand]))[:size]
        picks = cand[o].tolist()
        score = s[picks].tolist()
    params = {"strategy": strategy} if strategy != "threshold" else {"strategy": strategy, "threshold": threshold}
    return make_selection(strategy, None, picks, seed, params,
                          {"score": score, "predicted": pred[picks]},
                          {"kind": "uncertainty", "n_candidates": int(len(cand))}, t0)


def _registered(strategy: str):
    def func(features, budget: int, seed: int = 0, probs=None, mc_probs=None, labeled=None,
             candidates=None, threshold=None):
        n = None
        for a in (probs, mc_probs if mc_probs is None else np.asarray(mc_probs)[0], features):
            if a is not None:
                n = len(np.asarray(a))
                break
        if features is not None:
            check_features(features)
        if n is None:
            raise ColdstartError(f"selector {strategy!r} is an active-learning round strategy: it needs the "
                                 f"model's probs (n_pool, n_classes); use it after a first model is trained")
        if candidates is None:
            mask = np.ones(n, bool)
            if labeled is not None and len(labeled):
                mask[np.asarray(labeled, dtype=np.int64)] = False
            candidates = np.flatnonzero(mask)
        return query_uncertain(strategy, probs, candidates, budget, seed, mc_probs, features, threshold)

    func.__name__ = f"select_{strategy.replace('-', '_')}"
    func.__doc__ = f"Registry form of :func:`query_uncertain` with strategy {strategy!r}."
    return func


_SUMMARIES = {
    "threshold": "AL round (the paper's): images whose probability is nearest the decision threshold.",
    "least-confidence": "AL round: images whose top class probability is lowest.",
    "margin": "AL round: images with the smallest gap between the two most likely classes.",
    "entropy": "AL round: images with the most uncertain predicted distribution.",
    "bald": "AL round: MC-dropout disagreement (mutual information); needs mc_probs.",
    "badge": "AL round: diverse and uncertain (k-means++ on gradient embeddings); needs features + probs.",
}
for _s in UNCERTAINTY_STRATEGIES:
    register(_s, _SUMMARIES[_s], needs_features=_s == "badge", kind="uncertainty")(_registered(_s))
