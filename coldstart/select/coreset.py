"""``coreset`` (Sener & Savarese, ICLR 2018): greedy k-center, each pick the image farthest from all picks so far.

Farthest-first traversal is a 2-approximation of the minimax coverage radius,
so it directly minimises ``coverage_max``. It starts from the labeled images
when there are any, else from a seeded random image. Memory is O(N): one
distance vector updated per pick.
"""

from __future__ import annotations

import time

import numpy as np

from ._space import farthest_first, single_thread
from .base import Param, register
from .diagnostics import make_selection
from .validation import check_inputs


@register("coreset", "Core-set (greedy k-center): each pick is the image farthest from all earlier "
                     "picks; maximal spread, also picks outliers.", params=())
@single_thread
def select_coreset(features, budget: int, seed: int = 0, labeled=None):
    """Greedy k-center selection.

    Parameters
    ----------
    features : (n, d) array
    budget : int
    seed : int
        Chooses the first image when nothing is labeled.
    labeled : int array, optional
        Already-labeled images: the traversal starts from them; never picked.

    Returns
    -------
    Selection
        Per pick: ``distance`` (its distance to the nearest earlier pick or labeled
        image when it was chosen; NaN for a random first pick).
    """
    t0 = time.perf_counter()
    X, budget, seed, lab = check_inputs(features, budget, seed, labeled)
    Z = np.asarray(X, dtype=np.float32)
    first = None if len(lab) else int(np.random.default_rng(seed).integers(len(Z)))
    allowed = np.ones(len(Z), bool)
    allowed[lab] = False
    picks, dist = farthest_first(Z, budget, seeds=Z[lab], first=first, allowed=allowed)
    return make_selection("coreset", X, picks, seed, {}, {"distance": dist},
                          {"space": "raw features"}, t0, lab)
