"""The simulated annotator: what a run gets back when it "labels" a picked image.

Settings (all in a run config's ``oracle`` mapping):

- ``noise``: symmetric label-flip rate (a flipped label becomes a random *other* class);
- ``noise_by_class``: ``{class index or name: rate}``, class-dependent flip rates
  (overrides ``noise`` for the classes it names);
- ``ood_policy``: ``"waste"`` (default: the pick costs budget, no usable label, as when an
  annotator marks "not a frontal chest film") or ``"label"`` (the image keeps its stored label);
- ``ambiguous_policy``: ``"random"`` (default: a uniformly random label), ``"true"`` or ``"waste"``.

Every random draw is seeded by ``(seed, image index)``, so an image gets the
same answer whatever the order or budget it is picked at (nested budgets see
consistent labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from ..data.dataset import MISSING_LABEL, is_labeled
from ..errors import ColdstartError

OOD_POLICIES = ("waste", "label")
AMBIGUOUS_POLICIES = ("random", "true", "waste")


@dataclass
class OracleSettings:
    noise: float = 0.0
    noise_by_class: dict = field(default_factory=dict)
    ood_policy: str = "waste"
    ambiguous_policy: str = "random"

    @classmethod
    def from_dict(cls, d: dict | None) -> "OracleSettings":
        d = dict(d or {})
        valid = [f.name for f in fields(cls)]
        bad = sorted(set(d) - set(valid))
        if bad:
            raise ColdstartError(f"unknown oracle setting(s) {bad}: valid ones are {', '.join(valid)}")
        s = cls(**d)
        s.validate()
        return s

    def validate(self) -> None:
        if not 0 <= float(self.noise) <= 1:
            raise ColdstartError(f"oracle noise={self.noise} must be a rate in [0, 1], e.g. 0.1")
        for k, v in self.noise_by_class.items():
            if not 0 <= float(v) <= 1:
                raise ColdstartError(f"oracle noise_by_class[{k!r}]={v} must be a rate in [0, 1]")
        if self.ood_policy not in OOD_POLICIES:
            raise ColdstartError(f"ood_policy={self.ood_policy!r}: choose one of {', '.join(OOD_POLICIES)}")
        if self.ambiguous_policy not in AMBIGUOUS_POLICIES:
            raise ColdstartError(
                f"ambiguous_policy={self.ambiguous_policy!r}: choose one of {', '.join(AMBIGUOUS_POLICIES)}")


class Oracle:
    """Answers label queries for pool images from their stored labels plus simulated annotator behaviour.

    Parameters
    ----------
    labels : int array (N,)
        Stored (true) labels of the whole dataset, ``MISSING_LABEL`` where unknown.
    ood, ambiguous : bool arrays (N,)
    classes : list of str
    settings : OracleSettings
    seed : int
    """

    def __init__(self, labels, ood, ambiguous, classes, settings: OracleSettings | None = None, seed: int = 0):
        self.labels = np.asarray(labels, int)
        self.ood = np.asarray(ood, bool)
        self.ambiguous = np.asarray(ambiguous, bool)
        self.classes = list(classes)
        self.settings = settings or OracleSettings()
        self.seed = int(seed)
        n_cls = max(len(self.classes), 2)
        self._rates = np.full(n_cls, float(self.settings.noise))
        for k, v in self.settings.noise_by_class.items():
            ci = self.classes.index(k) if isinstance(k, str) and k in self.classes else int(k)
            self._rates[ci] = float(v)
        self.n_classes = n_cls

    def annotate(self, indices) -> pd.DataFrame:
        """Labels for dataset rows ``indices``.

        Returns
        -------
        DataFrame
            One row per index: ``index``, ``label`` (usable label or ``MISSING_LABEL``), ``true_label``,
            ``status`` in {"ok", "noisy", "ood", "ambiguous", "unlabeled"}, ``usable`` (bool).
        """
        rows = []
        st = self.settings
        for i in np.asarray(indices, int):
            rng = np.random.default_rng([self.seed, 7919, int(i)])
            u_noise, u_amb, other = rng.random(), rng.integers(self.n_classes), rng.integers(self.n_classes - 1)
            true = int(self.labels[i])
            if self.ood[i] and st.ood_policy == "waste":
                rows.append((i, MISSING_LABEL, true, "ood"))
                continue
            if self.ambiguous[i]:
                if st.ambiguous_policy == "waste":
                    rows.append((i, MISSING_LABEL, true, "ambiguous"))
                elif st.ambiguous_policy == "random":
                    rows.append((i, int(u_amb), true, "ambiguous"))
                else:
                    rows.append((i, true, true, "ambiguous"))
                continue
            if not is_labeled(true):
                rows.append((i, MISSING_LABEL, true, "unlabeled"))
                continue
            if u_noise < self._rates[true]:
                lab = int(other if other < true else other + 1)
                rows.append((i, lab, true, "noisy"))
            else:
                rows.append((i, true, true, "ok"))
        df = pd.DataFrame(rows, columns=["index", "label", "true_label", "status"])
        df["usable"] = is_labeled(df["label"])
        return df


def waste_summary(answers: pd.DataFrame) -> dict:
    """Counts for the results table: usable, wasted (no usable label), ood, ambiguous, noisy."""
    s = answers["status"]
    return dict(n_labeled=int(len(answers)), n_usable=int(answers["usable"].sum()),
                n_wasted=int((~answers["usable"]).sum()), n_ood=int((s == "ood").sum()),
                n_ambiguous=int((s == "ambiguous").sum()), n_noisy=int((s == "noisy").sum()))
