"""One active-learning step: grow a labeled set by ``size`` pool images chosen by an uncertainty strategy.

The loop itself (rounds, training, recording) lives in :mod:`coldstart.runs.runner`;
this module holds the step so that it can be tested alone and reused by the app.
"""

from __future__ import annotations

import numpy as np

from ..errors import ColdstartError
from ..select.uncertainty import STRATEGIES as UNCERTAINTY

STRATEGIES = UNCERTAINTY + ("random",)  # an AL round also accepts random picks


def query(strategy: str, probs, picked, pool_size: int, size: int, seed: int = 0, features=None,
          mc_probs=None) -> np.ndarray:
    """Pool positions of the next ``size`` images to label.

    Parameters
    ----------
    strategy : str
        An uncertainty strategy of :mod:`coldstart.select.uncertainty`, or ``"random"``
        (also used when the previous model could not be trained: ``probs=None``).
    probs : float array (pool_size, C) or None
        Class probabilities of the current model for every pool image.
    picked : int array
        Pool positions already picked (labeled, or picked and wasted): never re-picked.
    pool_size, size, seed : int
    features : array (pool_size, D), optional
        Passed to strategies that use them (badge).

    Returns
    -------
    int array (size,)
        New pool positions, disjoint from ``picked``.
    """
    picked = np.asarray(picked, int)
    cand = np.setdiff1d(np.arange(int(pool_size)), picked)
    if size > len(cand):
        raise ColdstartError(
            f"query_size={size} is larger than the {len(cand)} unlabeled images left in the pool: "
            "use fewer rounds or a smaller query size")
    if strategy == "random" or probs is None:
        rng = np.random.default_rng([int(seed), 104729, len(picked)])
        new = rng.choice(cand, size=size, replace=False)
    else:
        from ..select.uncertainty import query_uncertain

        sel = query_uncertain(strategy, np.asarray(probs), cand, int(size), seed=int(seed),
                              mc_probs=mc_probs, features=features)
        new = np.asarray(sel.indices, int)
    # postconditions (as TypiClust's research code asserts them)
    assert len(new) == size, f"query returned {len(new)} images, expected {size}"
    assert len(np.unique(new)) == size, "query returned duplicates"
    assert not np.isin(new, picked).any(), "query re-picked an already picked image"
    return new
