"""One active-learning step: grow a labeled set by ``size`` pool images chosen by a round strategy.

The loop itself (rounds, training, recording) lives in :mod:`coldstart.runs.runner`;
this module holds the step so that it can be tested alone and reused by the app.

Round strategies
----------------
- ``threshold`` (the paper's, default of the ``paper`` preset): images whose predicted
  probability is nearest the run's decision threshold (Youden's J on validation for
  classification and the probe, 0.5 for segmentation), "around the binarization threshold";
- ``least-confidence``, ``margin``, ``entropy``: centred on 0.5 / the class distribution;
- ``bald``: mutual information of MC-dropout samples (``mc_samples`` passes of the VGG-11
  classifier head with dropout on); classification with ``head="paper"`` only;
- ``badge``: k-means++ on gradient embeddings (diverse and uncertain);
- ``balanced``: foundation-model clusters + the model's probabilities decide together
  (the imbalance-aware co-decision, :mod:`coldstart.select.balanced`);
- ``random``.

``ood_filter`` (a fraction in [0, 1)): before the query, the unlabeled images with the
highest OOD scores (:func:`coldstart.select.ood.ood_scores` on the run's embedding) are
removed from the candidates, because uncertainty sampling favours OOD and ambiguous images.
"""

from __future__ import annotations

import numpy as np

from ..data.dataset import MISSING_LABEL
from ..errors import ColdstartError
from ..select.uncertainty import UNCERTAINTY_STRATEGIES

#: AL round strategies: the uncertainty strategies (threshold first: the paper's), balanced, random
ROUND_STRATEGIES = UNCERTAINTY_STRATEGIES + ("balanced", "random")


def check_strategy(strategy: str, task: str, params: dict, ood_filter: float = 0.0) -> None:
    """Refuse, before any work, a round strategy the task's model cannot serve.

    Raises
    ------
    ColdstartError
        Unknown strategy; ``bald`` for a model without dropout (probe, U-Net, ``head="gap"``);
        ``ood_filter`` outside [0, 1).
    """
    if strategy not in ROUND_STRATEGIES:
        raise ColdstartError(f"strategy={strategy!r}: choose one of {', '.join(ROUND_STRATEGIES)}")
    if strategy == "bald":
        why = {"probe": "the probe is a logistic regression, which has no dropout to sample",
               "segmentation": "the U-Net has no dropout layer to sample"}.get(task)
        if task == "classification" and params.get("head") != "paper":
            why = f"head={params.get('head')!r} has no dropout layer (the paper's VGG-11 classifier head has)"
        if why:
            raise ColdstartError(f"strategy 'bald' needs MC dropout, but {why}: use strategy 'threshold', "
                                 "'margin' or 'entropy'" + (", or train with head=paper"
                                                             if task == "classification" else ""))
    if not 0 <= float(ood_filter) < 1:
        raise ColdstartError(f"ood_filter={ood_filter} must be a fraction in [0, 1) of the unlabeled images "
                             "dropped as likely OOD before each query, e.g. 0.1 (0 = off)")


def round_params(strategy: str, params: dict) -> dict:
    """Training settings of a round whose model feeds ``strategy``: ``bald`` asks the task for
    ``mc_samples`` MC-dropout passes over the pool (``mc_dropout=True``)."""
    return dict(params, mc_dropout=True) if strategy == "bald" else params


def query(strategy: str, probs, picked, pool_size: int, size: int, seed: int = 0, features=None,
          mc_probs=None, threshold: float | None = None, labels=None, ood_filter: float = 0.0,
          ood_features=None):
    """Pool positions of the next ``size`` images to label.

    Parameters
    ----------
    strategy : str
        One of :data:`ROUND_STRATEGIES` (``"random"`` is also used when the previous model could
        not be trained: ``probs=None``).
    probs : float array (pool_size, C) or None
        Class probabilities of the current model for every pool image.
    picked : int array
        Pool positions already picked (labeled, or picked and wasted): never re-picked.
    pool_size, size, seed : int
    features : array (pool_size, D), optional
        Needed by ``badge`` (gradient embedding) and ``balanced`` (clusters).
    mc_probs : array (T, pool_size, C), optional
        MC-dropout samples (``bald``).
    threshold : float, optional
        The run's decision threshold (``threshold``; default 0.5).
    labels : int array (pool_size,), optional
        Labels known so far (``MISSING_LABEL`` = unknown), used by ``balanced``.
    ood_filter : float
        Fraction of the unlabeled images with the highest OOD score removed before the query.
    ood_features : array (pool_size, D), optional
        The embedding the OOD score is computed on (required when ``ood_filter > 0``).

    Returns
    -------
    int array (size,)
        New pool positions, disjoint from ``picked`` and from the OOD-filtered images.
    """
    picked = np.asarray(picked, int)
    cand = np.setdiff1d(np.arange(int(pool_size)), picked)
    dropped = ood_filtered(cand, float(ood_filter), ood_features, seed)
    cand = np.setdiff1d(cand, dropped)
    if size > len(cand):
        raise ColdstartError(
            f"query_size={size} is larger than the {len(cand)} unlabeled images left in the pool"
            + (f" after the OOD filter dropped {len(dropped)}" if len(dropped) else "")
            + ": use fewer rounds or a smaller query size")
    if strategy == "random" or probs is None:
        rng = np.random.default_rng([int(seed), 104729, len(picked)])
        new = rng.choice(cand, size=size, replace=False)
    elif strategy == "balanced":
        new = _balanced(probs, cand, picked, size, seed, features, labels)
    else:
        from ..select.uncertainty import query_uncertain

        sel = query_uncertain(strategy, np.asarray(probs), cand, int(size), seed=int(seed),
                              mc_probs=mc_probs, features=features, threshold=threshold)
        new = np.asarray(sel.indices, int)
    # postconditions (as TypiClust's research code asserts them)
    assert len(new) == size, f"query returned {len(new)} images, expected {size}"
    assert len(np.unique(new)) == size, "query returned duplicates"
    assert not np.isin(new, picked).any(), "query re-picked an already picked image"
    assert not np.isin(new, dropped).any(), "query picked an image the OOD filter dropped"
    return new


def ood_filtered(cand, fraction: float, features, seed: int = 0) -> np.ndarray:
    """The ``fraction`` of the candidate pool positions ``cand`` with the highest OOD scores
    (:func:`coldstart.select.ood.ood_scores` of ``features``, the whole pool's embedding), sorted."""
    if fraction <= 0:
        return np.zeros(0, int)
    if features is None:
        raise ColdstartError("ood_filter needs an embedding of the pool to score OOD images: give the run a "
                             "method with an embedder (e.g. pixels:kmeans) or set probe_embedder")
    from ..select.ood import ood_scores

    s = ood_scores(features, seed=int(seed))
    n_drop = int(round(fraction * len(cand)))
    order = np.lexsort((cand, -s[cand]))  # highest score first, ties by position
    return np.sort(cand[order[:n_drop]])


def _balanced(probs, cand, picked, size, seed, features, labels) -> np.ndarray:
    """``balanced`` over the picked + candidate images (OOD-filtered ones left out): the embedding's
    clusters and the model's probabilities decide together; only candidates can be chosen."""
    if features is None:
        raise ColdstartError("strategy 'balanced' needs the pool embedding (its clusters): give the run a "
                             "method with an embedder or set probe_embedder")
    from ..select import select

    rows = np.union1d(picked, cand)
    lab = np.full(len(rows), MISSING_LABEL) if labels is None else np.asarray(labels, int)[rows]
    sel = select("balanced", np.asarray(features)[rows], int(size), int(seed), probs=np.asarray(probs)[rows],
                 labels=lab, labeled=np.searchsorted(rows, picked))
    return rows[np.asarray(sel.indices, int)]


def next_round(strategy: str, prev: dict, pool_size: int, size: int, seed: int, ood_filter: float = 0.0,
               features=None, badge_features=None, annotate=None) -> np.ndarray:
    """The run's AL step: pool positions added after the round whose saved state is ``prev``.

    Parameters
    ----------
    strategy : str
    prev : dict
        The previous round's state: ``picked`` and, when a model was trained, ``probs``,
        ``threshold`` and (``bald``) ``mc_probs``.
    pool_size, size, seed : int
    ood_filter : float
    features : callable () -> (pool_size, D) array
        The method's embedding of the pool (``balanced`` clusters, OOD scores); called only when needed.
    badge_features : callable () -> (pool_size, D) array
        The embedding ``badge`` forms gradient embeddings with.
    annotate : callable (pool positions) -> labels
        The annotator's labels (``MISSING_LABEL`` = wasted) of picked images, for ``balanced``'s class counts.
    """
    picked = prev["picked"]
    feats, labels = None, None
    if strategy == "badge":
        feats = badge_features()
    elif strategy == "balanced":
        feats = features()
        labels = known_labels(annotate(picked), picked, pool_size)
    thr = prev.get("threshold")
    return query(strategy, prev.get("probs"), picked, pool_size, size, seed=seed, features=feats,
                 mc_probs=prev.get("mc_probs"), threshold=None if thr is None else float(thr), labels=labels,
                 ood_filter=ood_filter, ood_features=features() if ood_filter else None)


def known_labels(answers_label, picked, pool_size: int) -> np.ndarray:
    """Pool-length label array: the annotator's labels at ``picked`` (``MISSING_LABEL`` for wasted picks and
    elsewhere)."""
    out = np.full(int(pool_size), MISSING_LABEL)
    out[np.asarray(picked, int)] = np.asarray(answers_label, int)
    return out
