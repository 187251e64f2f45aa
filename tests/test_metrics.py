"""Metrics against scikit-learn / scipy / hand-checked values; bootstrap and paired CIs behave."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from coldstart import metrics as M


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    assert M.auprc(y, s) == pytest.approx(average_precision_score(y, s))
    assert M.auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    pred = (s > 0.5).astype(int)
    assert M.f1(y, pred) == pytest.approx(f1_score(y, pred))
    assert np.isnan(M.auroc(np.ones(5), np.arange(5)))


def test_youden_threshold_separates_perfect_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = M.youden_threshold(y, s)
    assert 0.3 < t <= 0.6
    assert ((s >= t).astype(int) == y).all()


def test_dice_known_values():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[:5] = True  # 50 px
    b[:, :5] = True  # 50 px, overlap 25
    assert M.dice(a, b) == pytest.approx(0.5)
    assert M.dice(a, a) == 1.0
    assert M.dice(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0
    assert M.dice(a, np.zeros_like(a)) == 0.0


def test_hausdorff_matches_scipy_directed():
    from scipy.spatial.distance import directed_hausdorff

    a = np.zeros((40, 40), bool)
    b = np.zeros((40, 40), bool)
    a[5:15, 5:15] = True
    b[20:30, 8:18] = True
    from coldstart.metrics_seg import _surface
    pa = np.argwhere(_surface(a))
    pb = np.argwhere(_surface(b))
    ref = max(directed_hausdorff(pa, pb)[0], directed_hausdorff(pb, pa)[0])
    assert M.hausdorff(a, b) == pytest.approx(ref)
    assert M.hausdorff(a, a) == 0.0
    assert M.hausdorff(a, np.zeros_like(a)) == pytest.approx(np.hypot(40, 40))  # image diagonal, never NaN


def test_bootstrap_se_shrinks_with_test_size():
    rng = np.random.default_rng(1)

    def data(n):
        y = rng.integers(0, 2, n)
        return y, y * 0.5 + rng.random(n)

    small = M.bootstrap_se(M.auprc, *data(60), n=100, seed=0)
    large = M.bootstrap_se(M.auprc, *data(2000), n=100, seed=0)
    assert small > 0 and large > 0
    assert large < small / 2
    y, s = data(100)
    assert M.bootstrap_se(M.auprc, y, s, seed=3) == M.bootstrap_se(M.auprc, y, s, seed=3)


def test_paired_bootstrap_flags_planted_difference_not_null():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    good = y * 1.0 + rng.normal(0, 0.6, 400)
    bad = y * 0.3 + rng.normal(0, 0.6, 400)
    diff, lo, hi, sig = M.paired_bootstrap(y, good, bad, M.auroc, n=300, seed=0)
    assert diff > 0 and lo > 0 and sig
    other = good + rng.normal(0, 1e-3, 400)  # same quality
    diff, lo, hi, sig = M.paired_bootstrap(y, good, other, M.auroc, n=300, seed=0)
    assert lo <= 0 <= hi and not sig


def test_mean_se_over_seeds():
    m, se = M.mean_se_over_seeds([0.5, 0.7])
    assert m == pytest.approx(0.6)
    assert se == pytest.approx(np.std([0.5, 0.7], ddof=1) / np.sqrt(2))
    m, se = M.mean_se_over_seeds([0.5, np.nan, 0.7], [0.03, 0.1, 0.04])
    assert m == pytest.approx(0.6)
    assert se == pytest.approx(np.sqrt(0.02 / 2 + (0.03 ** 2 + 0.04 ** 2) / 2))
    assert M.mean_se_over_seeds([0.8], [0.05]) == pytest.approx((0.8, 0.05))
