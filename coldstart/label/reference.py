"""The random-sampling reference of a labeling session: the same probe trained on randomly picked images
with their true labels, so a student's curve has something to beat.

It does not depend on the student's labels, so it is computed ahead (a classroom seat computes
:data:`AHEAD` points when the student joins) and kept in memory: a page rerun after a label reads it,
it never refits it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_parquet
from .probe import learning_curve

RANDOM_SUFFIX = ".random.parquet"
#: points computed at once when the reference must grow (a fit each): one short pause every CHUNK labels
CHUNK = 10
#: the reference curves of this process: cache path -> (file mtime, curve); the oldest are dropped
_CURVES: dict[str, tuple[int, pd.DataFrame]] = {}
_CURVES_MAX = 512
_CURVES_LOCK = threading.Lock()  # every student's session runs on its own Streamlit thread


def _remember(path: str, hit: tuple[int, pd.DataFrame]) -> None:
    with _CURVES_LOCK:
        if path not in _CURVES and len(_CURVES) >= _CURVES_MAX:
            _CURVES.pop(next(iter(_CURVES)))
        _CURVES[path] = hit


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"n_labels": pd.Series(dtype=int), "ap": pd.Series(dtype=float),
                         "session": pd.Series(dtype=str)})


class RandomReference:
    """Mixed into :class:`coldstart.label.session.LabelSession` (needs its dataset, config, pool, test split,
    features and labels)."""

    @property
    def random_path(self) -> Path:
        """The random-sampling reference's cache (derived data, recomputed when missing)."""
        return self.dataset.subdir("labels") / (self.config.name + RANDOM_SUFFIX)

    def random_order(self) -> np.ndarray:
        """Dataset rows of the pool in the random-sampling reference's (seeded) order."""
        return self.pool[np.random.default_rng(self.config.seed + 1_000_003).permutation(len(self.pool))]

    def _cached_random(self) -> pd.DataFrame:
        path = str(self.random_path)
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            with _CURVES_LOCK:
                _CURVES.pop(path, None)
            return _empty()
        hit = _CURVES.get(path)
        if hit is None or hit[0] != mtime:  # caches written before the rename call the column auprc
            hit = (mtime, pd.read_parquet(path).rename(columns={"auprc": "ap"}))
            _remember(path, hit)
        return hit[1]

    def random_curve(self, n: int | None = None, ahead: int = 0) -> pd.DataFrame:
        """The random-sampling reference: probe AP after 1..n ground-truth labels of a random order.

        Same pool, test set, probe and seed as the session; cached in ``<session>.random.parquet`` and in
        memory. When it must grow, it grows to ``n + ahead`` (at least :data:`CHUNK` points more), so the
        fits come in rare batches, not one per label. Empty when the pool has no ground truth.
        """
        n = min(len(self._labels) if n is None else int(n), len(self.pool))
        if n < 1 or not self.has_ground_truth:
            return _empty()
        cached = self._cached_random()
        have = len(cached)
        if have < n:
            upto = min(len(self.pool), max(n + int(ahead), have + CHUNK))
            order = self.random_order()
            y = self.dataset.labels[order[:upto]]
            more = learning_curve(self.features, order[:upto], y, self.test, self.y_test, self.n_classes,
                                  self.config.seed, start=have + 1)
            cached = pd.concat([cached, pd.DataFrame({"n_labels": np.arange(have + 1, upto + 1),
                                                      "ap": more, "session": "random sampling"})],
                               ignore_index=True)
            write_parquet(self.random_path, cached)
            _remember(str(self.random_path), (os.stat(self.random_path).st_mtime_ns, cached))
        return cached.iloc[:n].reset_index(drop=True)
