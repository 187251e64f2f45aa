"""One labeling session ("teaching mode"): its order of images, saving and scoring labels.

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

from ..classroom.store import open_store
from ..data.dataset import is_labeled
from ..errors import ColdstartError
from ..paths import validate_name
from ..select.base import select
from ..select.cache import cached_select
from ..select.dataset import pool_indices
from .probe import SESSION_STRATEGIES, fit_session_probe, prepared_features, probe_scores, score_ap, uncertainty
from .reference import RandomReference

LABEL_COLUMNS = ["step", "index", "id", "label", "label_name", "source", "ground_truth", "mask_ok",
                 "seconds", "time", "n_labels", "ap"]
_DTYPES = ["int64", "int64", "str", "int64", "str", "str", "int64", "object", "float64", "str", "int64", "float64"]


# probes fitted by sessions of this process: (features fingerprint, seed, rows, labels) -> probe (oldest dropped)
_PROBES: dict = {}
_PROBES_MAX = 256


@dataclass
class SessionConfig:
    """What a session was started with (stored as JSON in the store's ``sessions`` table)."""

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
        if self.strategy not in SESSION_STRATEGIES:
            raise ColdstartError(f"strategy={self.strategy!r} is not known: choose one of "
                                 f"{', '.join(SESSION_STRATEGIES)}")
        if int(self.n_coldstart) < 1:
            raise ColdstartError(f"n_coldstart={self.n_coldstart} must be >= 1: the first labels come "
                                 "from the cold-start method")
        return self


# ---- sessions ------------------------------------------------------------------
def sessions_dir(dataset) -> Path:
    return dataset.subdir("labels")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class LabelSession(RandomReference):
    """One person's labeling session on a dataset's training pool.

    Use :meth:`create` to start and :meth:`open` to continue; both need the
    embedding ``features`` (N, D) of the whole dataset (rows = manifest rows). Labels live in the data
    root's store (:mod:`coldstart.classroom.store`); a classroom seat carries its seat ``key``, which the
    store checks on every write, and accepts only the image it was shown (:meth:`next_item`).
    """

    def __init__(self, dataset, config: SessionConfig, features: np.ndarray, session_id: int,
                 key: str | None = None):
        self.dataset = dataset
        self.config = config
        self.session_id = int(session_id)
        self.key = key
        f = np.asarray(features)
        if f.ndim != 2 or len(f) != len(dataset):
            raise ColdstartError(f"features have shape {f.shape} but dataset {dataset.name!r} has "
                                 f"{len(dataset)} images: compute the embedding for this dataset first")
        self.features, self._fingerprint = prepared_features(f)
        self.n_classes = max(2, len(dataset.classes))
        splits = dataset.splits
        self.pool = np.flatnonzero(splits == "train")
        if len(self.pool) == 0:
            self.pool = np.flatnonzero(splits != "test")
        labels = dataset.labels
        self.test = np.flatnonzero((splits == "test") & is_labeled(labels))
        self.y_test = labels[self.test]
        self._labels = self._read_labels()
        self._last_shown = time.time()

    # ---- storage
    @property
    def store(self):
        return open_store(self.dataset.dir.parent)

    def _read_labels(self) -> pd.DataFrame:
        rows = self.store.labels(self.session_id)
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(LABEL_COLUMNS, _DTYPES)})
        df = pd.DataFrame([dict(r) for r in rows]).rename(columns={"row": "index"})[LABEL_COLUMNS]
        df["mask_ok"] = [None if v is None or pd.isna(v) else bool(v) for v in df["mask_ok"]]
        df["mask_ok"] = df["mask_ok"].astype(object)
        df["ap"] = df["ap"].astype(float)
        return df

    # ---- construction
    @classmethod
    def plan(cls, dataset, name: str, features: np.ndarray, *, embedder: str = "pixels",
             coldstart: str = "kmeans", n_coldstart: int = 10, strategy: str = "least-confidence",
             seed: int = 0, student: str = "", embedding_key: str | None = None) -> SessionConfig:
        """The config of a new session with its cold-start pick order, not yet stored (see :meth:`create`)."""
        cfg = SessionConfig(dataset=dataset.name, name=name, embedder=embedder, coldstart=coldstart,
                            n_coldstart=int(n_coldstart), strategy=strategy, seed=int(seed),
                            student=student or name, created=_now()).validate()
        probe = cls(dataset, cfg, features, session_id=0)
        if len(probe.pool) < 2:
            raise ColdstartError(f"dataset {dataset.name!r} has {len(probe.pool)} training images: a session "
                                 "needs at least 2")
        from threadpoolctl import threadpool_limits

        # one BLAS thread: on a server shared by a class, threads oversubscribe the cores (kmeans-paper on the
        # phantom pool's gist features under load: 34 s with threads, 1.3 s without)
        with threadpool_limits(1):
            cfg.order = probe._coldstart_order(np.asarray(features), embedding_key)
        return cfg

    @classmethod
    def create(cls, dataset, name: str, features: np.ndarray, *, overwrite: bool = False,
               **settings) -> "LabelSession":
        """Start a session: compute the cold-start pick order on the pool and save the config.

        Parameters
        ----------
        dataset : Dataset
        name : str
            Session name (letters, digits, ``_-.``; see :func:`coldstart.paths.safe_name`).
        features : float array (N, D)
            Embedding of every dataset row (the probe's input and the selector's space).
        overwrite : bool
            Replace an existing session of the same name (its labels are deleted).
        **settings
            ``embedder`` (name of that embedding, recorded so the session can be reopened),
            ``coldstart`` (selector of the first ``n_coldstart`` images: ``random``, ``kmeans``...),
            ``strategy`` (uncertainty measure for later images, see :data:`SESSION_STRATEGIES`),
            ``seed`` (seeds the selector, the probe and the random replay), ``student``, and
            ``embedding_key``: the embedder's cache key when ``features`` is that cached embedding; the
            cold-start picks then go through the shared selection cache (:mod:`coldstart.select.cache`),
            so a selection Explore or a run already made is reused.
        """
        from .legacy import import_legacy

        validate_name(name, "session name")
        import_legacy(dataset, name)  # a session file of the old format with this name counts as existing
        cfg = cls.plan(dataset, name, features, **settings)
        store = open_store(dataset.dir.parent)
        sid = store.create_session(dataset.name, name, asdict(cfg), cfg.created, overwrite=overwrite)
        s = cls(dataset, cfg, features, sid)
        if s.random_path.exists():
            s.random_path.unlink()
        return s

    @classmethod
    def open(cls, dataset, name: str, features: np.ndarray) -> "LabelSession":
        """Reopen a saved single-user session (labels and curve come back from the store; a session file
        of the old format is imported on first open)."""
        from .legacy import import_legacy

        validate_name(name, "session name")
        import_legacy(dataset, name)
        store = open_store(dataset.dir.parent)
        sid = store.session_id(dataset.name, name)
        row = store.session(sid) if sid is not None else None
        if row is None or row["classroom_id"] is not None:
            have = sorted(r["name"] for r in store.list_sessions(dataset.name))
            raise ColdstartError(f"no labeling session {name!r} for dataset {dataset.name!r}"
                                 + (f": choose one of {', '.join(have)}" if have else ": start a new one"))
        return cls.from_store(dataset, sid, features)

    @classmethod
    def from_store(cls, dataset, session_id: int, features: np.ndarray, key: str | None = None):
        """The session with this store id (``key``: the seat key of a classroom student)."""
        import json

        raw = json.loads(open_store(dataset.dir.parent).session(session_id)["config"])
        cfg = SessionConfig(**{k: v for k, v in raw.items() if k in SessionConfig.__dataclass_fields__})
        return cls(dataset, cfg, features, session_id, key)

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
        """Re-read the labels from the store (another browser tab may have added some)."""
        self._labels = self._read_labels()
        return self

    @property
    def prevalence(self) -> float:
        """Share of positives in the test split: the AP of a model that guesses (binary only)."""
        return float((self.y_test == 1).mean()) if len(self.y_test) and self.n_classes == 2 else float("nan")

    def labeled_rows(self) -> np.ndarray:
        return self._labels["index"].to_numpy(int)

    def _fit(self, rows=None, labels=None):
        """The probe on ``rows``/``labels`` (default: this session's labels), memoised per process: a page
        rerun after a label refits the very probe the label was scored with."""
        rows = self.labeled_rows() if rows is None else np.asarray(rows, int)
        labels = self._labels["label"].to_numpy(int) if labels is None else np.asarray(labels, int)
        if len(rows) == 0:
            return None
        key = (self._fingerprint, self.config.seed, rows.tobytes(), labels.tobytes())
        if key not in _PROBES:
            if len(_PROBES) >= _PROBES_MAX:
                _PROBES.pop(next(iter(_PROBES)))
            _PROBES[key] = fit_session_probe(self.features[rows], labels, self.config.seed)
        return _PROBES[key]

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
                "reason": f"the model is least sure about this image ({SESSION_STRATEGIES[cfg.strategy]})"}

    def add_label(self, index: int, label: int, mask_ok: bool | None = None, seconds: float | None = None) -> dict:
        """Save label ``label`` (class index) for dataset row ``index``, retrain, score; returns the row.

        ``seconds`` is the time the person took (default: since :meth:`mark_shown` on this object;
        a page that reopens the session on every rerun passes its own clock). The same label for the
        same image twice (a double click) is saved once and returns the saved row.
        """
        index = int(index)
        label = int(label)
        if not 0 <= label < self.n_classes:
            raise ColdstartError(f"label={label} is not a class of {self.dataset.name!r}: choose 0.."
                                 f"{self.n_classes - 1} ({', '.join(self.dataset.classes)})")
        if index not in set(self.pool.tolist()):
            raise ColdstartError(f"image row {index} is not in the training pool of {self.dataset.name!r}: "
                                 "label only images the session shows")
        self.refresh()  # another tab may have written meanwhile
        done = self._labels[self._labels["index"] == index]
        if len(done) and int(done["label"].iat[0]) == label:
            return done.iloc[0].to_dict()
        if len(done):
            raise ColdstartError(f"image {self.dataset.ids[index]} is already labeled in session "
                                 f"{self.name!r}: undo the label first to change it")
        nxt = self.next_item()
        if self.key is not None and (nxt is None or nxt["index"] != index):
            raise ColdstartError(f"image {self.dataset.ids[index]} is not the image shown to you: label the "
                                 "image on your screen (reload the page if it looks stale)")
        source = "coldstart" if len(self._labels) < self.config.n_coldstart else (
            nxt["source"] if nxt and nxt["index"] == index else "user")
        rows = np.append(self.labeled_rows(), index)
        ys = np.append(self._labels["label"].to_numpy(int), label)
        clf = self._fit(rows, ys)
        score = float("nan") if clf is None or len(self.test) == 0 else score_ap(
            probe_scores(clf, self.features[self.test], self.n_classes), self.y_test)
        now = time.time()
        row = {"step": len(self._labels) + 1, "row": index, "id": str(self.dataset.ids[index]),
               "label": label, "label_name": self.dataset.label_name(label), "source": source,
               "ground_truth": int(self.dataset.labels[index]), "mask_ok": mask_ok,
               "seconds": round(now - self._last_shown if seconds is None else float(seconds), 2),
               "time": _now(), "n_labels": len(rows), "ap": None if not np.isfinite(score) else score}
        saved, _ = self.store.add_label(self.session_id, row, key=self.key)
        self.refresh()
        self._last_shown = now
        out = dict(saved)
        out["index"] = out.pop("row")
        out["ap"] = float("nan") if out["ap"] is None else float(out["ap"])
        return out

    def undo(self) -> dict | None:
        """Remove the last label (saved at once); returns it, or None when there is none."""
        last = self.store.undo(self.session_id, key=self.key)
        self.refresh()
        if last is not None:
            last["index"] = last.pop("row")
        return last

    def mark_shown(self) -> None:
        """Start the clock for the time-to-label of the image now on screen."""
        self._last_shown = time.time()

    # ---- curves and checks
    def curve(self) -> pd.DataFrame:
        """``n_labels, ap, session`` after each label of this session."""
        return pd.DataFrame({"n_labels": self._labels["n_labels"].to_numpy(int),
                             "ap": self._labels["ap"].to_numpy(float),
                             "session": self.name})

    @property
    def has_ground_truth(self) -> bool:
        return bool(len(self.test) and self.dataset.is_labeled()[self.pool].all())

    def reveal(self) -> pd.DataFrame:
        """Each user label beside the ground truth, with ``match`` (NA where the truth is unknown)."""
        df = self.labels
        gt = df["ground_truth"].to_numpy(int)
        df["truth_name"] = [self.dataset.label_name(int(v)) for v in gt]
        df["match"] = pd.array([bool(a == b) if is_labeled(b) else pd.NA for a, b in zip(df["label"], gt)],
                               dtype="boolean")
        return df

    def summary(self) -> dict:
        """Counts for the page header and for comparing students."""
        df = self.reveal()
        known = df["match"].dropna()
        a = df["ap"].to_numpy(float)
        finite = a[np.isfinite(a)]
        return {"session": self.name, "student": self.config.student, "labels": len(df),
                "agreement": float(known.mean()) if len(known) else float("nan"),
                "positives_found": int((df["label"] == 1).sum()) if self.n_classes == 2 else None,
                "last_ap": float(finite[-1]) if len(finite) else float("nan"),
                "best_ap": float(finite.max()) if len(finite) else float("nan"),
                "median_seconds": float(df["seconds"].median()) if len(df) else float("nan"),
                "coldstart": self.config.coldstart, "embedder": self.config.embedder}

    def export_columns(self) -> pd.DataFrame:
        """Per label, aligned with :meth:`labeled_rows`: ``source``, ``ap_after``, ``session`` (the
        extra columns of every export of this session's labels)."""
        if self._labels.empty:
            raise ColdstartError("this session has no labels yet: label at least one image before exporting")
        return pd.DataFrame({"source": self._labels["source"].to_numpy(),
                             "ap_after": self._labels["ap"].to_numpy(), "session": self.name})

    def export_table(self) -> pd.DataFrame:
        """The labels with file paths, for CSV / Label Studio / folder exports."""
        from ..export import selection_table

        return selection_table(self.dataset, self.labeled_rows(), labels=self._labels["label"].to_numpy(int),
                               per_pick=self.export_columns())
