"""Metrics, bootstrap standard errors and paired comparisons.

Classification metrics wrap scikit-learn; segmentation metrics use
``scipy.ndimage`` (no hand-written pixel loops). Every resampling function
takes a ``seed``.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(auroc(y, s), 2)
0.75
"""

from __future__ import annotations

from typing import Callable

import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray], float]


# ---- classification ----------------------------------------------------------
def auprc(y, s) -> float:
    """Area under the precision-recall curve (average precision) of scores ``s`` for labels ``y``."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, s))


def auroc(y, s) -> float:
    """Area under the ROC curve; NaN when ``y`` has one class."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, s))


def f1(y, pred) -> float:
    """F1 of the positive class for hard predictions ``pred`` (0/1)."""
    from sklearn.metrics import f1_score

    return float(f1_score(np.asarray(y), np.asarray(pred), zero_division=0))


def youden_threshold(y, s) -> float:
    """Decision threshold maximising Youden's J (sensitivity + specificity - 1) on (y, s).

    Falls back to 0.5 when ``y`` has a single class.
    """
    from sklearn.metrics import roc_curve

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y, s)
    j = tpr - fpr
    k = int(np.argmax(j))
    t = float(thr[k])
    return min(t, 1.0) if np.isfinite(t) else 1.0


# ---- segmentation ------------------------------------------------------------
def dice(pred, target) -> float:
    """Dice similarity coefficient of two boolean masks.

    Both empty gives 1.0 (only the ``include_negatives`` protocol meets that case: the
    paper's segmentation cohort holds positive images only); an empty prediction
    against a non-empty target gives 0.0.
    """
    p = np.asarray(pred, bool)
    t = np.asarray(target, bool)
    denom = p.sum() + t.sum()
    if denom == 0:
        return 1.0
    return float(2.0 * np.logical_and(p, t).sum() / denom)


def _surface(m: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return m & ~ndimage.binary_erosion(m, border_value=0)


def image_diagonal(shape) -> float:
    """Length in pixels of the image diagonal: the largest possible distance in an image of ``shape``."""
    return float(np.hypot(*shape[-2:]))


def hausdorff(pred, target, percentile: float = 100.0) -> float:
    """Symmetric Hausdorff distance (pixels) between mask surfaces, via distance transforms.

    ``percentile=100`` is the Hausdorff distance (HD, the paper's metric); ``percentile=95``
    gives HD95. Both empty: 0. Exactly one empty: the image diagonal
    (:func:`image_diagonal`), the worst possible distance, so that a model that misses a
    finding (or predicts one where there is none) is penalised instead of being dropped
    from the mean; never NaN.
    """
    from scipy import ndimage

    p = np.asarray(pred, bool)
    t = np.asarray(target, bool)
    if not p.any() and not t.any():
        return 0.0
    if not p.any() or not t.any():
        return image_diagonal(p.shape)
    sp, st = _surface(p), _surface(t)
    dt_t = ndimage.distance_transform_edt(~st)
    dt_p = ndimage.distance_transform_edt(~sp)
    # max of the two directed distances (at the percentile), as MONAI's compute_hausdorff_distance
    return float(max(np.percentile(dt_t[sp], percentile), np.percentile(dt_p[st], percentile)))


def segmentation_scores(pred_masks, target_masks) -> dict[str, np.ndarray]:
    """Per-image ``dice``, ``hausdorff`` (HD) and ``hausdorff95`` (HD95) of boolean masks (n, H, W),
    in pixels at the masks' size, plus ``positive`` (target not empty)."""
    P = np.asarray(pred_masks, bool)
    Y = np.asarray(target_masks, bool)
    return dict(dice=np.array([dice(a, b) for a, b in zip(P, Y)]),
                hausdorff=np.array([hausdorff(a, b) for a, b in zip(P, Y)]),
                hausdorff95=np.array([hausdorff(a, b, 95) for a, b in zip(P, Y)]),
                positive=Y.reshape(len(Y), -1).any(1))


# ---- uncertainty of estimates --------------------------------------------------
def bootstrap_se(metric_fn: MetricFn, y, s, n: int = 100, seed: int = 0) -> float:
    """Standard error of ``metric_fn(y, s)`` by bootstrap over samples (``n`` resamples, seeded).

    Resamples where the metric is undefined (NaN, e.g. one class drawn) are skipped.
    """
    y = np.asarray(y)
    s = np.asarray(s)
    if len(y) < 2 or n < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(int(n)):
        idx = rng.integers(0, len(y), len(y))
        v = metric_fn(y[idx], s[idx])
        if np.isfinite(v):
            vals.append(v)
    return float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")


def mean_se_over_seeds(values, ses=None) -> tuple[float, float]:
    """Mean over seeds and its standard error.

    Parameters
    ----------
    values : array-like
        One metric value per (trainable) seed; NaNs are ignored.
    ses : array-like, optional
        Bootstrap SE (test-set sampling) of each value. When given, the
        returned SE combines the between-seed SE and the test-set SE:
        ``sqrt(var(values)/n + mean(ses**2))`` (the test set is shared by
        all seeds, so its part does not shrink with more seeds). With one seed
        this is that seed's bootstrap SE.

    Returns
    -------
    (mean, se) : tuple of float
    """
    v = np.asarray(values, float)
    keep = np.isfinite(v)
    v = v[keep]
    if len(v) == 0:
        return float("nan"), float("nan")
    m = float(v.mean())
    var_seeds = float(v.var(ddof=1)) / len(v) if len(v) > 1 else 0.0
    if ses is None:
        return m, (float(np.sqrt(var_seeds)) if len(v) > 1 else float("nan"))
    e = np.asarray(ses, float)[keep]
    e = e[np.isfinite(e)]
    var_test = float(np.mean(e ** 2)) if len(e) else 0.0
    return m, float(np.sqrt(var_seeds + var_test))


def paired_bootstrap(y, s_a, s_b, metric_fn: MetricFn, n: int = 1000, seed: int = 0,
                     alpha: float = 0.05) -> tuple[float, float, float, bool]:
    """Paired bootstrap CI of ``metric_fn(y, s_a) - metric_fn(y, s_b)`` on one test set.

    The same resampled test items are scored for both methods in every draw,
    so the shared test-set noise cancels.

    Returns
    -------
    diff, lo, hi, excludes_zero : float, float, float, bool
        Observed difference, percentile CI bounds (``1 - alpha``), and whether
        the CI excludes 0.
    """
    y = np.asarray(y)
    a = np.asarray(s_a)
    b = np.asarray(s_b)
    if not (len(y) == len(a) == len(b)):
        raise ValueError(f"y, s_a and s_b must align: lengths {len(y)}, {len(a)}, {len(b)}")
    diff = float(metric_fn(y, a) - metric_fn(y, b))
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(int(n)):
        idx = rng.integers(0, len(y), len(y))
        v = metric_fn(y[idx], a[idx]) - metric_fn(y[idx], b[idx])
        if np.isfinite(v):
            d.append(v)
    if not d:
        return diff, float("nan"), float("nan"), False
    lo, hi = (float(x) for x in np.percentile(d, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
    return diff, lo, hi, bool(lo > 0 or hi < 0)


def mean_of(_y, values) -> float:
    """``metric_fn`` for per-sample scores (e.g. per-image Dice): their NaN-aware mean."""
    v = np.asarray(values, float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


CLASSIFICATION_METRICS = ("auprc", "auroc", "f1")
SEGMENTATION_METRICS = ("dice", "hausdorff95")
