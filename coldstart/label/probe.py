"""The teaching-mode probe: a small model refitted after every label, its scores and its query rule."""

from __future__ import annotations

import threading

import numpy as np

from ..data.dataset import is_labeled
from ..errors import ColdstartError
from ..select.uncertainty import UNCERTAINTY_STRATEGIES as _ALL_STRATEGIES

# what a teaching session tells the student about each uncertainty strategy it offers
_EXPLAINED = {
    "least-confidence": "the image whose most likely class has the lowest probability",
    "margin": "the image with the smallest gap between the two most likely classes",
    "entropy": "the image whose predicted class probabilities are most spread out",
}
#: the uncertainty strategies a teaching session offers (those of coldstart.select.uncertainty that need only
#: class probabilities), each with the sentence that tells the student what it picks
SESSION_STRATEGIES = {s: _EXPLAINED[s] for s in _ALL_STRATEGIES if s in _EXPLAINED}


#: standardised embeddings of this process: fingerprint -> array (every seat of a class shares one copy)
_PREPARED: dict = {}
_PREPARED_MAX = 4
_PREPARED_LOCK = threading.Lock()


def prepared_features(features: np.ndarray) -> tuple[np.ndarray, tuple]:
    """``(standardised features, fingerprint)``; the fingerprint identifies the embedding for the probe
    memo (its shape and every 1 in ~64 rows: cheap on each page rerun), and the standardised array is
    computed once per embedding and process (read only: sessions never write into it)."""
    import hashlib

    from ..select._space import standardize

    f = np.asarray(features)
    sample = np.ascontiguousarray(f[:: max(1, len(f) // 64)])
    key = (f.shape, str(f.dtype), hashlib.blake2b(sample.view(np.uint8).ravel(), digest_size=16).hexdigest())
    with _PREPARED_LOCK:  # Streamlit serves every student's session on its own thread
        if key not in _PREPARED:
            if len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.pop(next(iter(_PREPARED)))
            z = standardize(f)
            z.setflags(write=False)
            _PREPARED[key] = z
        return _PREPARED[key], key


_BLAS = None


def one_blas_thread():
    """``with one_blas_thread(): ...`` runs BLAS on one thread (a controller made once: threadpoolctl's
    ``threadpool_limits`` looks the libraries up again on every call, ~0.3 ms)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1)


def fit_session_probe(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """A multi-class logistic-regression probe on (x, y), refitted after every label; None when ``y``
    has fewer than two classes.

    Not :func:`coldstart.train.probe.fit_probe`: that one is the binary *task* of a run (threshold on
    validation, bootstrap SEs), far more than one click needs.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return None
    clf = LogisticRegression(C=1.0, max_iter=300, class_weight="balanced", random_state=seed)
    # a problem of a few dozen rows gains nothing from BLAS threads, and a class of students refitting at
    # once on a small machine oversubscribes the cores (measured: 0.5 s per fit instead of 0.04 s)
    with one_blas_thread():
        clf.fit(x, y)
    return clf


def probe_scores(clf, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities (n, n_classes) from a fitted probe (columns for unseen classes are 0)."""
    p = np.zeros((len(x), n_classes), np.float64)
    with one_blas_thread():
        p[:, clf.classes_.astype(int)] = clf.predict_proba(x)
    return p


def score_ap(probs: np.ndarray, y_test: np.ndarray) -> float:
    """Average precision (AP, area under the precision-recall curve) of the positive class (binary) or
    macro one-vs-rest AP (multi-class)."""
    from ..metrics import auprc

    if probs.shape[1] == 2:
        return auprc(y_test == 1, probs[:, 1])
    vals = [auprc(y_test == k, probs[:, k]) for k in range(probs.shape[1]) if (y_test == k).any()]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def uncertainty(probs: np.ndarray, strategy: str) -> np.ndarray:
    """Per-row uncertainty (higher = less sure) for a query strategy in :data:`SESSION_STRATEGIES`.

    The scores are those of :func:`coldstart.select.uncertainty.uncertainty_scores`, restricted to the
    strategies a teaching session offers.
    """
    if strategy not in SESSION_STRATEGIES:
        raise ColdstartError(f"strategy={strategy!r} is not known: choose one of {', '.join(SESSION_STRATEGIES)}")
    from ..select.uncertainty import uncertainty_scores

    return uncertainty_scores(strategy, probs)


def learning_curve(features: np.ndarray, rows: np.ndarray, labels: np.ndarray, test: np.ndarray,
                   y_test: np.ndarray, n_classes: int, seed: int = 0, start: int = 1) -> list[float]:
    """Test AP of a probe trained on the first n labels, for n = start..len(rows)."""
    out = []
    for n in range(start, len(rows) + 1):
        clf = fit_session_probe(features[rows[:n]], labels[:n], seed)
        out.append(float("nan") if clf is None else
                   score_ap(probe_scores(clf, features[test], n_classes), y_test))
    return out


def waiting_for_classes(labels, class_names) -> str | None:
    """Why the student's model cannot train yet (all labels so far are one class), or None when it can."""
    y = np.asarray(labels, int)
    seen = sorted(set(y[is_labeled(y)].tolist()))
    if len(seen) >= 2 or len(class_names) < 2:
        return None
    if not seen:
        return "No labels yet: the model trains once your labels hold both classes."
    have = class_names[seen[0]]
    others = " or ".join(f"'{c}'" for k, c in enumerate(class_names) if k != seen[0])
    n = int(is_labeled(y).sum())
    return (f"All {n} label{'s' if n != 1 else ''} so far are '{have}': the model needs both classes to train. "
            f"It starts as soon as you label an image {others}; until then the curve has no point.")
