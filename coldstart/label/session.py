"""One labeling session ("teaching mode"): its files, its order of images, saving and scoring labels.

See :mod:`coldstart.label` for the flow (cold-start picks, then uncertainty sampling, a probe
refitted after every label, a random-sampling reference).

Examples
--------
>>> s = LabelSession.create(ds, "alice", features, embedder="pixels")   # doctest: +SKIP
>>> nxt = s.next_item(); s.add_label(nxt["index"], 1)                    # doctest: +SKIP
>>> s.curve()                                                             # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from ..io import read_json, write_json, write_parquet
from ..paths import validate_name
from ..select._space import standardize
from ..select.base import select
from ..select.cache import cached_select
from ..select.dataset import pool_indices
from .probe import STRATEGIES, fit_session_probe, learning_curve, probe_scores, score_auprc, uncertainty

LABEL_COLUMNS = ["step", "index", "id", "label", "label_name", "source", "ground_truth", "mask_ok",
                 "seconds", "time", "n_labels", "auprc"]
RANDOM_SUFFIX = ".random.parquet"


@dataclass
class SessionConfig:
    """What a session was started with (stored as ``<session>.json``)."""

    dataset: str
    name: str
    embedder: str = "pixels"
    coldstart: str = "kmeans"
    n_coldstart: int = 10
    strategy: str = "least-confidence"
    seed: int = 0
    student: str = ""
    created: str = ""
    order: list[int] = field(default_factory=list)  # cold-start pick order (dataset rows)

    def validate(self) -> "SessionConfig":
        validate_name(self.name, "session name")
        if self.strategy not in STRATEGIES:
            raise ColdstartError(f"strategy={self.strategy!r} is not known: choose one of "
                                 f"{', '.join(STRATEGIES)}")
        if int(self.n_coldstart) < 1:
            raise ColdstartError(f"n_coldstart={self.n_coldstart} must be >= 1: the first labels come "
                                 "from the cold-start method")
        return self


# ---- sessions ------------------------------------------------------------------
def sessions_dir(dataset) -> Path:
    return dataset.subdir("labels")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class LabelSession:
    """One person's labeling session on a dataset's training pool.

    Use :meth:`create` to start and :meth:`open` to continue; both need the
    embedding ``features`` (N, D) of the whole dataset (rows = manifest rows).
    """

    def __init__(self, dataset, config: SessionConfig, features: np.ndarray):
        self.dataset = dataset
        self.config = config
        f = np.asarray(features)
        if f.ndim != 2 or len(f) != len(dataset):
            raise ColdstartError(f"features have shape {f.shape} but dataset {dataset.name!r} has "
                                 f"{len(dataset)} images: compute the embedding for this dataset first")
        self.features = standardize(f)
        self.n_classes = max(2, len(dataset.classes))
        splits = dataset.splits
        self.pool = np.flatnonzero(splits == "train")
        if len(self.pool) == 0:
            self.pool = np.flatnonzero(splits != "test")
        labels = dataset.labels
        self.test = np.flatnonzero((splits == "test") & (labels >= 0))
        self.y_test = labels[self.test]
        self._labels = self._read_labels()
        self._last_shown = time.time()

    # ---- files
    @property
    def path(self) -> Path:
        return sessions_dir(self.dataset) / f"{self.config.name}.parquet"

    @property
    def config_path(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def random_path(self) -> Path:
        return self.path.with_name(self.config.name + RANDOM_SUFFIX)

    def _read_labels(self) -> pd.DataFrame:
        if self.path.exists():
            return pd.read_parquet(self.path)
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            LABEL_COLUMNS, ["int64", "int64", "str", "int64", "str", "str", "int64", "object",
                            "float64", "str", "int64", "float64"])})

    def _lock(self):
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=30)

    # ---- construction
    @classmethod
    def create(cls, dataset, name: str, features: np.ndarray, *, embedder: str = "pixels",
               coldstart: str = "kmeans", n_coldstart: int = 10, strategy: str = "least-confidence",
               seed: int = 0, student: str = "", overwrite: bool = False,
               embedding_key: str | None = None) -> "LabelSession":
        """Start a session: compute the cold-start pick order on the pool and save the config.

        Parameters
        ----------
        dataset : Dataset
        name : str
            Session name (a file name: letters, digits, ``_-.``).
        features : float array (N, D)
            Embedding of every dataset row (the probe's input and the selector's space).
        embedder : str
            Name of that embedding (recorded so the session can be reopened).
        coldstart : str
            Selector for the first ``n_coldstart`` images (``random``, ``kmeans``, ...).
        strategy : str
            Uncertainty measure for later images (see :data:`STRATEGIES`).
        seed : int
            Seeds the selector, the probe and the random replay.
        overwrite : bool
            Replace an existing session of the same name (its labels are deleted).
        embedding_key : str, optional
            The embedder's cache key when ``features`` is that cached embedding: the cold-start picks
            then go through the shared selection cache (:mod:`coldstart.select.cache`), so a selection
            Explore or a run already made is reused. Without it they are computed directly.
        """
        cfg = SessionConfig(dataset=dataset.name, name=name, embedder=embedder, coldstart=coldstart,
                            n_coldstart=int(n_coldstart), strategy=strategy, seed=int(seed),
                            student=student or name, created=_now()).validate()
        d = sessions_dir(dataset)
        if (d / f"{name}.json").exists() and not overwrite:
            raise ColdstartError(f"a labeling session named {name!r} already exists: open it to continue, "
                                 "or choose another name")
        s = cls(dataset, cfg, features)
        if len(s.pool) < 2:
            raise ColdstartError(f"dataset {dataset.name!r} has {len(s.pool)} training images: a session "
                                 "needs at least 2")
        cfg.order = s._coldstart_order(np.asarray(features), embedding_key)
        for p in (s.path, s.random_path):
            if p.exists():
                p.unlink()
        s._labels = s._read_labels()
        write_json(s.config_path, asdict(cfg))
        return s

    @classmethod
    def open(cls, dataset, name: str, features: np.ndarray) -> "LabelSession":
        """Reopen a saved session (labels and curve come back from disk)."""
        p = sessions_dir(dataset) / f"{validate_name(name, 'session name')}.json"
        if not p.exists():
            have = sorted(q.stem for q in sessions_dir(dataset).glob("*.json"))
            raise ColdstartError(f"no labeling session {name!r} for dataset {dataset.name!r}"
                                 + (f": choose one of {', '.join(have)}" if have else ": start a new one"))
        raw = read_json(p)
        cfg = SessionConfig(**{k: v for k, v in raw.items() if k in SessionConfig.__dataclass_fields__})
        return cls(dataset, cfg, features)

    def _coldstart_order(self, raw: np.ndarray, embedding_key: str | None) -> list[int]:
        """Dataset rows in cold-start pick order: the selector's picks, then a seeded shuffle of the rest."""
        cfg = self.config
        n = min(len(self.pool), max(cfg.n_coldstart, 1))
        rng = np.random.default_rng(cfg.seed)
        if cfg.coldstart == "random":
            picks = rng.permutation(len(self.pool))[:n]
        elif embedding_key is not None and np.array_equal(self.pool, pool_indices(self.dataset, "train")):
            sel = cached_select(self.dataset, cfg.coldstart, raw[self.pool], embedding_key, n, cfg.seed, "train")
            picks = np.asarray(sel.indices, int)[:n]
        else:
            sel = select(cfg.coldstart, self.features[self.pool], n, seed=cfg.seed)
            picks = np.asarray(sel.indices, int)[:n]
        rest = np.setdiff1d(np.arange(len(self.pool)), picks)
        order = np.concatenate([picks, rng.permutation(rest)])
        return [int(v) for v in self.pool[order]]

    # ---- state
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def labels(self) -> pd.DataFrame:
        """The saved labels, one row per labeled image in labeling order (a copy)."""
        return self._labels.copy()

    def __len__(self) -> int:
        return len(self._labels)

    def refresh(self) -> "LabelSession":
        """Re-read the labels from disk (another browser tab may have added some)."""
        self._labels = self._read_labels()
        return self

    @property
    def prevalence(self) -> float:
        """Share of positives in the test split: the AUPRC of a model that guesses (binary only)."""
        return float((self.y_test == 1).mean()) if len(self.y_test) and self.n_classes == 2 else float("nan")

    def labeled_rows(self) -> np.ndarray:
        return self._labels["index"].to_numpy(int)

    def _fit(self):
        rows = self.labeled_rows()
        if len(rows) == 0:
            return None
        return fit_session_probe(self.features[rows], self._labels["label"].to_numpy(int), self.config.seed)

    def next_item(self) -> dict | None:
        """The next image to label: ``{"index", "source", "reason", "uncertainty"}``; None when done.

        The first ``n_coldstart`` come from the cold-start order; later ones are the
        most uncertain unlabeled pool image under the current probe (falling back to
        the cold-start order while the labels hold only one class).
        """
        done = set(self.labeled_rows().tolist())
        remaining = [i for i in self.config.order if i not in done]
        if not remaining:
            return None
        cfg = self.config
        if len(done) < cfg.n_coldstart:
            return {"index": remaining[0], "source": "coldstart", "uncertainty": float("nan"),
                    "reason": f"cold-start pick {len(done) + 1} of {cfg.n_coldstart} "
                              f"({cfg.coldstart} on {cfg.embedder} features)"}
        clf = self._fit()
        if clf is None:
            return {"index": remaining[0], "source": "coldstart", "uncertainty": float("nan"),
                    "reason": "all labels so far are one class, so no model can be trained yet: "
                              "continuing with the cold-start order"}
        cand = np.asarray(remaining, int)
        u = uncertainty(probe_scores(clf, self.features[cand], self.n_classes), cfg.strategy)
        k = int(np.argmax(u))  # ties: first in cold-start order (deterministic)
        return {"index": int(cand[k]), "source": "uncertainty", "uncertainty": float(u[k]),
                "reason": f"the model is least sure about this image ({STRATEGIES[cfg.strategy]})"}

    def add_label(self, index: int, label: int, mask_ok: bool | None = None, seconds: float | None = None) -> dict:
        """Save label ``label`` (class index) for dataset row ``index``, retrain, score; returns the row.

        ``seconds`` is the time the person took (default: since :meth:`mark_shown` on this object;
        a page that reopens the session on every rerun passes its own clock).
        """
        index = int(index)
        label = int(label)
        if not 0 <= label < self.n_classes:
            raise ColdstartError(f"label={label} is not a class of {self.dataset.name!r}: choose 0.."
                                 f"{self.n_classes - 1} ({', '.join(self.dataset.classes)})")
        if index not in set(self.pool.tolist()):
            raise ColdstartError(f"image row {index} is not in the training pool of {self.dataset.name!r}: "
                                 "label only images the session shows")
        with self._lock():
            self._labels = self._read_labels()  # another tab may have written meanwhile
            if index in set(self.labeled_rows().tolist()):
                raise ColdstartError(f"image {self.dataset.ids[index]} is already labeled in session "
                                     f"{self.name!r}: undo the label first to change it")
            nxt = self.next_item()
            source = "coldstart" if len(self._labels) < self.config.n_coldstart else (
                nxt["source"] if nxt and nxt["index"] == index else "user")
            rows = np.append(self.labeled_rows(), index)
            ys = np.append(self._labels["label"].to_numpy(int), label)
            clf = fit_session_probe(self.features[rows], ys, self.config.seed)
            score = float("nan") if clf is None or len(self.test) == 0 else score_auprc(
                probe_scores(clf, self.features[self.test], self.n_classes), self.y_test)
            now = time.time()
            row = {"step": len(self._labels) + 1, "index": index, "id": str(self.dataset.ids[index]),
                   "label": label, "label_name": self.dataset.label_name(label), "source": source,
                   "ground_truth": int(self.dataset.labels[index]), "mask_ok": mask_ok,
                   "seconds": round(now - self._last_shown if seconds is None else float(seconds), 2),
                   "time": _now(),
                   "n_labels": len(rows), "auprc": score}
            new = pd.DataFrame([row])
            self._labels = new if self._labels.empty else pd.concat([self._labels, new], ignore_index=True)
            self._labels["mask_ok"] = self._labels["mask_ok"].astype(object)
            write_parquet(self.path, self._labels)
            self._last_shown = now
        return row

    def undo(self) -> dict | None:
        """Remove the last label (saved at once); returns it, or None when there is none."""
        with self._lock():
            self._labels = self._read_labels()
            if self._labels.empty:
                return None
            last = self._labels.iloc[-1].to_dict()
            self._labels = self._labels.iloc[:-1].reset_index(drop=True)
            write_parquet(self.path, self._labels)
        return last

    def mark_shown(self) -> None:
        """Start the clock for the time-to-label of the image now on screen."""
        self._last_shown = time.time()

    # ---- curves and checks
    def curve(self) -> pd.DataFrame:
        """``n_labels, auprc, session`` after each label of this session."""
        return pd.DataFrame({"n_labels": self._labels["n_labels"].to_numpy(int),
                             "auprc": self._labels["auprc"].to_numpy(float),
                             "session": self.name})

    @property
    def has_ground_truth(self) -> bool:
        return bool(len(self.test) and (self.dataset.labels[self.pool] >= 0).all())

    def random_order(self) -> np.ndarray:
        """Dataset rows of the pool in the random-sampling reference's (seeded) order."""
        return self.pool[np.random.default_rng(self.config.seed + 1_000_003).permutation(len(self.pool))]

    def random_curve(self, n: int | None = None) -> pd.DataFrame:
        """The random-sampling reference: probe AUPRC after 1..n ground-truth labels of a random order.

        Same pool, test set, probe and seed as the session; computed incrementally
        and cached in ``<session>.random.parquet``. Empty when the pool has no ground truth.
        """
        n = len(self._labels) if n is None else int(n)
        n = min(n, len(self.pool))
        empty = pd.DataFrame({"n_labels": pd.Series(dtype=int), "auprc": pd.Series(dtype=float),
                              "session": pd.Series(dtype=str)})
        if n < 1 or not self.has_ground_truth:
            return empty
        cached = pd.read_parquet(self.random_path) if self.random_path.exists() else empty
        have = len(cached)
        if have < n:
            order = self.random_order()
            y = self.dataset.labels[order[:n]]
            more = learning_curve(self.features, order[:n], y, self.test, self.y_test, self.n_classes,
                                  self.config.seed, start=have + 1)
            cached = pd.concat([cached, pd.DataFrame({"n_labels": np.arange(have + 1, n + 1),
                                                      "auprc": more, "session": "random sampling"})],
                               ignore_index=True)
            write_parquet(self.random_path, cached)
        return cached.iloc[:n].reset_index(drop=True)

    def reveal(self) -> pd.DataFrame:
        """Each user label beside the ground truth, with ``match`` (NA where the truth is unknown)."""
        df = self.labels
        gt = df["ground_truth"].to_numpy(int)
        df["truth_name"] = [self.dataset.label_name(int(v)) for v in gt]
        df["match"] = pd.array([bool(a == b) if b >= 0 else pd.NA for a, b in zip(df["label"], gt)],
                               dtype="boolean")
        return df

    def summary(self) -> dict:
        """Counts for the page header and for comparing students."""
        df = self.reveal()
        known = df["match"].dropna()
        a = df["auprc"].to_numpy(float)
        finite = a[np.isfinite(a)]
        return {"session": self.name, "student": self.config.student, "labels": len(df),
                "agreement": float(known.mean()) if len(known) else float("nan"),
                "positives_found": int((df["label"] == 1).sum()) if self.n_classes == 2 else None,
                "last_auprc": float(finite[-1]) if len(finite) else float("nan"),
                "best_auprc": float(finite.max()) if len(finite) else float("nan"),
                "median_seconds": float(df["seconds"].median()) if len(df) else float("nan"),
                "coldstart": self.config.coldstart, "embedder": self.config.embedder}

    def export_columns(self) -> pd.DataFrame:
        """Per label, aligned with :meth:`labeled_rows`: ``source``, ``auprc_after``, ``session`` (the
        extra columns of every export of this session's labels)."""
        if self._labels.empty:
            raise ColdstartError("this session has no labels yet: label at least one image before exporting")
        return pd.DataFrame({"source": self._labels["source"].to_numpy(),
                             "auprc_after": self._labels["auprc"].to_numpy(), "session": self.name})

    def export_table(self) -> pd.DataFrame:
        """The labels with file paths, for CSV / Label Studio / folder exports."""
        from ..export import selection_table

        return selection_table(self.dataset, self.labeled_rows(), labels=self._labels["label"].to_numpy(int),
                               per_pick=self.export_columns())
