"""Metrics, bootstrap standard errors and paired comparisons.

Classification metrics wrap scikit-learn; segmentation metrics (:mod:`coldstart.metrics_seg`,
re-exported here) use ``scipy`` (no hand-written pixel loops). Every resampling function
takes a ``seed``. The names of the metrics in words are :data:`METRIC_LABELS`.

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

from .metrics_seg import (HD_PAPER_SIZE, SEG_METRICS, dice, hausdorff, hd_paper,  # noqa: F401 (re-exported)
                          image_diagonal, segmentation_scores)

MetricFn = Callable[[np.ndarray, np.ndarray], float]

#: Former metric names -> current ones, for reading old runs: AP was recorded as ``auprc``; the surface
#: Hausdorff distances as ``hausdorff`` / ``hausdorff95`` (and once labelled "the paper's": they are not).
METRIC_ALIASES = {"auprc": "ap", "hausdorff": "hd_surface", "hausdorff95": "hd95_surface"}

#: Metrics where a smaller value is better (distances); every other metric: larger is better.
LOWER_IS_BETTER = frozenset({"hd_paper", "hd_surface", "hd95_surface"})

#: What each metric is, in words: the one naming used by the report, the pages and the README.
METRIC_LABELS = {
    "ap": "AUPRC (average precision)",
    "auprc_trapz": "AUPRC (trapezoid, the paper's)",
    "auroc": "AUROC",
    "f1": "F1 (at the validation Youden threshold)",
    "dice": "DSC (Dice, images with a finding)",
    "dice_all": "DSC incl. images without a finding (other protocol)",
    "hd_paper": "HD, the paper's (rows of the 224 x 224 masks; max sqrt(224))",
    "hd_surface": "surface HD (px)",
    "hd95_surface": "surface HD95 (px)",
    "sensitivity": "Sensitivity at the run's threshold",
}

#: The per-stratum metrics (:func:`stratum_metrics`), each positive stratum's positives against all negatives.
STRATUM_METRICS = ("ap", "auroc", "sensitivity")

#: Standard-error definitions of a bootstrap (``se`` training setting): name -> what it is.
SE_KINDS = {
    "sd": "the standard deviation of the bootstrap draws",
    "ci95": "the authors' (P97.5 - P2.5) / 3.92 of the bootstrap draws (the 95% percentile interval's "
            "width over 2 x 1.96)",
}


def metric_label(metric: str) -> str:
    """The metric's name in words (:data:`METRIC_LABELS`); old names are read through :data:`METRIC_ALIASES`."""
    m = METRIC_ALIASES.get(metric, metric)
    return METRIC_LABELS.get(m, m)


def chance_level(metric: str, y) -> float | None:
    """What a random scorer scores on labels ``y`` (``MISSING_LABEL`` entries ignored); None where it is not defined.

    AUPRC (``ap``, ``auprc_trapz``) of a random ranking is the share of positives; AUROC is 0.5.

    Examples
    --------
    >>> chance_level("ap", [0, 0, 0, 1]), chance_level("auroc", [0, 1]), chance_level("dice", [1])
    (0.25, 0.5, None)
    """
    from .data.dataset import is_labeled

    m = METRIC_ALIASES.get(metric, metric)
    v = np.asarray(y)
    v = v[is_labeled(v)]
    if m in ("ap", "auprc_trapz") and len(v):
        return float((v == 1).mean())
    if m == "auroc":
        return 0.5
    return None


# ---- classification ----------------------------------------------------------
def ap(y, s) -> float:
    """Average precision (sklearn): the step-wise area under the precision-recall curve; NaN with one class.

    The default headline: unlike the trapezoid (:func:`auprc_trapz`) it does not interpolate linearly
    between precision-recall points, which is optimistic where precision drops.
    """
    from sklearn.metrics import average_precision_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, s))


#: Former name of :func:`ap` (results written before the rename carry the metric ``auprc``).
auprc = ap


def auprc_trapz(y, s) -> float:
    """Area under the precision-recall curve by the trapezoid rule, ``auc(recall, precision)``, as the
    paper's code computes it (often higher than :func:`ap` on the same scores); NaN with one class."""
    from sklearn.metrics import auc, precision_recall_curve

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    precision, recall, _ = precision_recall_curve(y, s)
    return float(auc(recall, precision))


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


# ---- uncertainty of estimates: one vectorised bootstrap -------------------------------
def bootstrap_weights(n_items: int, n_boot: int, seed=0) -> np.ndarray:
    """``(n_boot, n_items)`` resampling counts: row b counts how often each item is drawn in resample b.

    Resample b draws ``rng.integers(0, n_items, n_items)`` (the b-th call on ``np.random.default_rng(seed)``),
    so a weighted metric under row b equals the metric on ``y[idx_b]``. ``seed`` may be a Generator.
    """
    rng = np.random.default_rng(seed)
    n, B = int(n_items), int(n_boot)
    idx = np.stack([rng.integers(0, n, n) for _ in range(B)]) if B and n else np.zeros((B, n), int)
    flat = (idx + n * np.arange(B)[:, None]).ravel()
    return np.bincount(flat, minlength=B * n).reshape(B, n).astype(float)


def _curve(y, s, W):
    """Cumulative weighted true and false positives at each distinct score, highest score first."""
    o = np.argsort(-np.asarray(s, float), kind="mergesort")
    ys, ss, Ws = np.asarray(y, float)[o], np.asarray(s, float)[o], W[:, o]
    ends = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]  # last item of each tie group
    tp = np.cumsum(Ws * ys, axis=1)[:, ends]
    fp = np.cumsum(Ws * (1 - ys), axis=1)[:, ends]
    return tp, fp


def _ap_of(tp, fp):
    P, N = tp[:, -1], fp[:, -1]
    tot = tp + fp
    prec = np.divide(tp, tot, out=np.zeros_like(tp), where=tot > 0)
    rec_step = np.diff(tp, axis=1, prepend=0.0)
    ok = (P > 0) & (N > 0)
    return np.where(ok, (rec_step * prec).sum(1) / np.where(ok, P, 1), np.nan)


def _trapz_of(tp, fp):
    P, N = tp[:, -1], fp[:, -1]
    tot = tp + fp
    # a point where nothing is drawn yet coincides with the curve's start (recall 0, precision 1)
    prec = np.divide(tp, tot, out=np.ones_like(tp), where=tot > 0)
    ok = (P > 0) & (N > 0)
    rec = tp / np.where(ok, P, 1)[:, None]
    rec = np.concatenate([np.zeros((len(tp), 1)), rec], axis=1)
    prec = np.concatenate([np.ones((len(tp), 1)), prec], axis=1)
    area = (np.diff(rec, axis=1) * (prec[:, 1:] + prec[:, :-1]) / 2).sum(1)
    return np.where(ok, area, np.nan)


def _auroc_of(tp, fp):
    P, N = tp[:, -1], fp[:, -1]
    ok = (P > 0) & (N > 0)
    tp0 = np.concatenate([np.zeros((len(tp), 1)), tp], axis=1)
    fp0 = np.concatenate([np.zeros((len(fp), 1)), fp], axis=1)
    area = (np.diff(fp0, axis=1) * (tp0[:, 1:] + tp0[:, :-1]) / 2).sum(1)
    return np.where(ok, area / np.where(ok, P * N, 1), np.nan)


_FROM_CURVE = {"ap": _ap_of, "auprc_trapz": _trapz_of, "auroc": _auroc_of}


def score_draws(y, s, W, names=("ap", "auprc_trapz", "auroc")) -> dict[str, np.ndarray]:
    """Several score metrics under each row of ``W`` from one sort and one pair of cumulative sums."""
    tp, fp = _curve(y, s, np.atleast_2d(np.asarray(W, float)))
    return {n: _FROM_CURVE[n](tp, fp) for n in names}


def _w_f1(y, pred, W):
    y, p = np.asarray(y, float), np.asarray(pred, float)
    tp, fp, fn = W @ (y * p), W @ ((1 - y) * p), W @ (y * (1 - p))
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)


def _w_balanced_accuracy(y, pred, W):
    y, pred = np.asarray(y), np.asarray(pred)
    recalls = []
    for c in np.unique(y):
        n_c = W @ (y == c).astype(float)
        hit = W @ ((y == c) & (pred == c)).astype(float)
        recalls.append(np.where(n_c > 0, hit / np.where(n_c > 0, n_c, 1), np.nan))
    with np.errstate(all="ignore"):
        return np.nanmean(np.stack(recalls), axis=0) if recalls else np.full(len(W), np.nan)


def _w_mean(_y, v, W):
    v = np.asarray(v, float)
    ok = np.isfinite(v)
    den = W @ ok.astype(float)
    return np.where(den > 0, (W @ np.where(ok, v, 0.0)) / np.where(den > 0, den, 1), np.nan)


#: metric name -> weighted form ``(y, values, W (B, n)) -> (B,)``; values are scores, except hard
#: predictions for f1 and balanced_accuracy (any number of classes) and per-item values for mean
WEIGHTED = {**{n: (lambda y, s, W, f=f: f(*_curve(y, s, W))) for n, f in _FROM_CURVE.items()},
            "f1": _w_f1, "mean": _w_mean, "balanced_accuracy": _w_balanced_accuracy}
_BY_FUNCTION = {ap: "ap", auprc_trapz: "auprc_trapz", auroc: "auroc", f1: "f1"}


def _weighted(metric) -> Callable:
    name = _BY_FUNCTION.get(metric, "mean" if metric is mean_of else metric)
    if name not in WEIGHTED:
        raise ValueError(f"no bootstrap for metric {metric!r}: choose one of {', '.join(WEIGHTED)}")
    return WEIGHTED[name]


def weighted_metric(metric, y, values, W) -> np.ndarray:
    """``metric`` (a name of :data:`WEIGHTED` or its function) under each row of weights ``W`` (B, n).

    With integer weights, row b gives the metric of the sample that repeats item i ``W[b, i]`` times,
    exactly as scikit-learn computes it (ties included); NaN where it is undefined (one class).
    """
    return _weighted(metric)(np.asarray(y), np.asarray(values), np.atleast_2d(np.asarray(W, float)))


def bootstrap_se(metric, y, s, n: int = 100, seed=0, kind: str = "sd") -> float:
    """Standard error of ``metric(y, s)`` by bootstrap over samples (``n`` resamples, seeded).

    ``metric`` is a name of :data:`WEIGHTED` or one of :func:`ap`, :func:`auprc_trapz`, :func:`auroc`,
    :func:`f1`, :func:`mean_of`. Resamples where the metric is undefined (one class drawn) are skipped.
    ``kind``: the SE definition (:data:`SE_KINDS`).
    """
    y = np.asarray(y)
    if len(y) < 2 or n < 2:
        return float("nan")
    return se_of_draws(weighted_metric(metric, y, s, bootstrap_weights(len(y), n, seed)), kind)


def se_of_draws(draws, kind: str = "sd") -> float:
    """Standard error from bootstrap draws (undefined draws skipped), as :data:`SE_KINDS` names it.

    ``kind="sd"``: their standard deviation (ddof=1). ``kind="ci95"``: the authors' definition,
    ``(P97.5 - P2.5) / 3.92`` (numpy's linear percentiles, as their ``bootstrap_cls``).

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    if kind not in SE_KINDS:
        raise ValueError(f"se kind {kind!r}: choose one of {', '.join(SE_KINDS)}")
    v = np.asarray(draws, float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return float("nan")
    if kind == "ci95":
        lo, hi = np.percentile(v, [2.5, 97.5])
        return float((hi - lo) / (2 * 1.96))
    return float(np.std(v, ddof=1))


def stratum_metrics(y, s, pred, strata, positive_strata, W, se_kind: str = "sd") -> list[dict]:
    """Hidden-stratification metrics: each positive stratum's positives against all negatives.

    For every value in ``positive_strata`` (strata holding positives in the dataset): AP, AUROC and
    sensitivity at the run's threshold (``pred``) on the test images ``y, s, pred`` with strata
    ``strata``. ``W`` (1 + B, n): row 0 all ones gives the value, rows 1..B (bootstrap counts) the SE.
    A stratum without positives in the test split gets NaN and a reason. Returns a list of
    ``dict(stratum, metric, value, se, reason)``.
    """
    y, s, pred, strata = np.asarray(y), np.asarray(s, float), np.asarray(pred), np.asarray(strata, object)
    out = []
    for v in positive_strata:
        pos = (y == 1) & (strata == v)
        if not pos.any() or not (y == 0).any():
            why = "no positive of this stratum in the test split" if not pos.any() else "no negative in the test split"
            out += [dict(stratum=v, metric=m, value=np.nan, se=np.nan, reason=why)
                    for m in STRATUM_METRICS]
            continue
        keep = pos | (y == 0)
        Wk = W[:, keep]
        d = score_draws(y[keep], s[keep], Wk, ("ap", "auroc"))
        tp = Wk @ (pos[keep] & (pred[keep] == 1)).astype(float)
        n_pos = Wk @ pos[keep].astype(float)
        d["sensitivity"] = np.where(n_pos > 0, tp / np.where(n_pos > 0, n_pos, 1), np.nan)
        out += [dict(stratum=v, metric=m, value=float(x[0]), se=se_of_draws(x[1:], se_kind), reason="") for m, x in d.items()]
    return out


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


def paired_bootstrap(y, s_a, s_b, metric, n: int = 1000, seed=0,
                     alpha: float = 0.05) -> tuple[float, float, float, bool]:
    """Paired bootstrap CI of ``metric(y, s_a) - metric(y, s_b)`` on one test set.

    The same resampled test items are scored for both methods in every draw,
    so the shared test-set noise cancels. ``metric`` as in :func:`bootstrap_se`.

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
    one = np.ones((1, len(y)))
    diff = float(weighted_metric(metric, y, a, one)[0] - weighted_metric(metric, y, b, one)[0])
    W = bootstrap_weights(len(y), n, seed)
    d = weighted_metric(metric, y, a, W) - weighted_metric(metric, y, b, W)
    d = d[np.isfinite(d)]
    if not len(d):
        return diff, float("nan"), float("nan"), False
    lo, hi = (float(x) for x in np.percentile(d, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
    return diff, lo, hi, bool(lo > 0 or hi < 0)


def mean_of(_y, values) -> float:
    """``metric_fn`` for per-sample scores (e.g. per-image Dice): their NaN-aware mean."""
    v = np.asarray(values, float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

