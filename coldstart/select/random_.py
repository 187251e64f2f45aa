"""``random``: a seeded permutation prefix (the baseline every method is compared with)."""

from __future__ import annotations

import numbers
import time

import numpy as np

from .base import Param, register
from .diagnostics import make_selection
from .validation import check_budget, check_inputs, check_labeled, check_seed
from ..errors import ColdstartError


#: How many random draws a run trains and pools per seed and budget (the authors: 10): a setting of a run's
#: ``random`` method (``selector_params: {random: {draws: N}}``), not of the selector, which returns one
#: draw (a run asks it once per draw, seeded with :func:`draw_seed`); so Explore offers no widget for it.
DRAWS = Param("draws", int, 1, "random draws a run trains and pools per seed and budget (the authors: 10; "
              "the mean of their values, the SE from their pooled bootstrap)", low=1, high=100)


def draw_seed(seed: int, draw: int) -> int:
    """The seed of random draw ``draw`` of a run seed: ``seed`` itself for draw 0 (so one draw is the
    plain ``random`` selection), else a number derived from both with :class:`numpy.random.SeedSequence`.

    Examples
    --------
    >>> draw_seed(2024, 0), draw_seed(2024, 1) == draw_seed(2024, 1) != draw_seed(2024, 2)
    (2024, True)
    """
    if int(draw) == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(draw)]).generate_state(1)[0])


@register("random", "Uniformly random images (seeded); the baseline to beat.", needs_features=False, params=())
def select_random(features, budget: int, seed: int = 0, labeled=None):
    """Pick ``budget`` images uniformly at random.

    Parameters
    ----------
    features : (n, d) array or int
        The pool features (used only for the coverage diagnostic), or just the
        pool size ``n`` when no features exist.
    budget : int
    seed : int
    labeled : int array, optional
        Already-labeled indices, never picked again.

    Returns
    -------
    Selection
        ``indices[:b]`` is the selection for budget ``b`` (one permutation, cut).
    """
    t0 = time.perf_counter()
    if isinstance(features, numbers.Integral) and not isinstance(features, bool):
        n = int(features)
        if n <= 0:
            raise ColdstartError(f"pool size {n} is empty: import a dataset with images first")
        X = None
        seed = check_seed(seed)
        lab = check_labeled(labeled, n)
        budget = check_budget(budget, n - len(lab), len(lab))
    else:
        X, budget, seed, lab = check_inputs(features, budget, seed, labeled, unique=False)
        n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    if len(lab):
        perm = perm[~np.isin(perm, lab)]
    idx = perm[:budget]
    return make_selection("random", X, idx, seed, {}, t0=t0, labeled=lab)
