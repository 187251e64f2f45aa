"""Train/val/test splits: keep a source's own, else stratified 70/10/20 with a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def stratified_split(labels, fractions=(0.7, 0.1, 0.2), seed: int = 0, groups=None) -> np.ndarray:
    """Assign 'train'/'val'/'test' to each item, stratified by label where possible.

    ``labels`` may contain missing values (unlabeled items); those are split at
    random. When ``groups`` (e.g. patient ids) is given, all items of a group
    land in the same split, so test scores cannot leak across patients.
    """
    from sklearn.model_selection import train_test_split  # lazy: keeps `coldstart --help` fast

    labels = pd.Series(labels).reset_index(drop=True)
    n = len(labels)
    if n == 0:
        return np.array([], dtype=object)
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    if groups is not None:
        g = pd.Series(groups).reset_index(drop=True).astype(str)
        first = labels.groupby(g).first()
        unit_split = stratified_split(first.values, fractions, seed)
        mapping = dict(zip(first.index, unit_split))
        return g.map(mapping).to_numpy(dtype=object)
    idx = np.arange(n)
    strat = labels.astype("string").fillna("<unlabeled>").to_numpy()
    out = np.empty(n, dtype=object)
    if n < 5:
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
        cuts = np.round(np.cumsum(f) * n).astype(int)
        for i, k in enumerate(order):
            out[k] = SPLITS[int(np.searchsorted(cuts, i, side="right"))]
        return out

    def _strat_ok(s, k):
        # sklearn needs >= 2 items per class and at least one item per class on each side
        _, counts = np.unique(s, return_counts=True)
        return counts.min() >= 2 and len(counts) <= k <= len(s) - len(counts)

    test_n = max(1, int(round(f[2] * n)))
    rest, test = train_test_split(idx, test_size=test_n, random_state=seed,
                                  stratify=strat if _strat_ok(strat, test_n) else None)
    val_n = max(1, int(round(f[1] * n))) if f[1] > 0 else 0
    if val_n and len(rest) > val_n:
        s_rest = strat[rest]
        train, val = train_test_split(rest, test_size=val_n, random_state=seed,
                                      stratify=s_rest if _strat_ok(s_rest, val_n) else None)
    else:
        train, val = rest, np.array([], dtype=int)
    out[train] = "train"
    out[val] = "val"
    out[test] = "test"
    return out
