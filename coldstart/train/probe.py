"""The probe task: scikit-learn logistic regression on a cached embedding (milliseconds per fit)."""

from __future__ import annotations

import time

import numpy as np

from ..errors import ColdstartError
from .base import TaskInput, TaskOutput, classification_output

_THREADS = []  # one threadpoolctl controller per process (building one scans the loaded libraries)


def _one_thread():
    """BLAS/OpenMP limited to one thread: a fit of ~100 rows gains nothing from threads, and on a
    busy machine their synchronisation made each fit ten times slower (measured 0.62 s vs 0.045 s)."""
    from threadpoolctl import ThreadpoolController

    if not _THREADS:
        _THREADS.append(ThreadpoolController())
    return _THREADS[0].limit(limits=1)


def fit_probe(inp: TaskInput, params: dict) -> TaskOutput:
    """Standardise on the labeled set, fit ``LogisticRegression(class_weight='balanced')``,
    choose the threshold by Youden's J on validation, score test (and the pool)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if inp.features is None:
        raise ColdstartError("the probe task needs an embedding: set probe_embedder (e.g. 'pixels') and embed it first")
    X = np.asarray(inp.features, np.float32)
    t0 = time.time()
    clf = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=float(params["C"]), max_iter=int(params["max_iter"]), class_weight="balanced",
                           random_state=int(inp.seed)),
    )
    with _one_thread():
        clf.fit(X[inp.train_idx], np.asarray(inp.train_labels, int))
        pos = list(clf.classes_).index(1) if 1 in clf.classes_ else -1

        def score(idx):
            return clf.predict_proba(X[idx])[:, pos] if len(idx) else np.zeros(0)

        val_scores = score(inp.val_idx)
        test_scores = score(inp.test_idx)
        pool = None
        if inp.score_idx is not None:  # only an AL round asks for the pool's scores
            p1 = score(inp.score_idx)
            pool = np.stack([1 - p1, p1], axis=1)
    if inp.on_epoch:
        inp.on_epoch(1, 1, {})
    return classification_output(inp, test_scores, val_scores, pool, clf,
                                 dict(train_s=time.time() - t0, weights="n/a"))
