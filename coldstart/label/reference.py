"""The random-sampling reference of a labeling session: the same probe trained on randomly picked images
with their true labels, so a student's curve has something to beat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_parquet
from .probe import learning_curve

RANDOM_SUFFIX = ".random.parquet"


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

    def random_curve(self, n: int | None = None) -> pd.DataFrame:
        """The random-sampling reference: probe AP after 1..n ground-truth labels of a random order.

        Same pool, test set, probe and seed as the session; computed incrementally
        and cached in ``<session>.random.parquet``. Empty when the pool has no ground truth.
        """
        n = len(self._labels) if n is None else int(n)
        n = min(n, len(self.pool))
        empty = pd.DataFrame({"n_labels": pd.Series(dtype=int), "ap": pd.Series(dtype=float),
                              "session": pd.Series(dtype=str)})
        if n < 1 or not self.has_ground_truth:
            return empty
        cached = pd.read_parquet(self.random_path).rename(columns={"auprc": "ap"}) if self.random_path.exists() \
            else empty  # caches written before the rename call the column auprc
        have = len(cached)
        if have < n:
            order = self.random_order()
            y = self.dataset.labels[order[:n]]
            more = learning_curve(self.features, order[:n], y, self.test, self.y_test, self.n_classes,
                                  self.config.seed, start=have + 1)
            cached = pd.concat([cached, pd.DataFrame({"n_labels": np.arange(have + 1, n + 1),
                                                      "ap": more, "session": "random sampling"})],
                               ignore_index=True)
            write_parquet(self.random_path, cached)
        return cached.iloc[:n].reset_index(drop=True)

