"""The one vectorised bootstrap (metrics.bootstrap_weights / weighted_metric) against scikit-learn per resample."""
import numpy as np
import pytest

from coldstart import metrics as M


def _data(n, seed, ties):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    s = rng.normal(size=n) + y
    if ties:
        s = np.round(s, 1)  # many tied scores, across classes
    return y, s


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("name,fn", [("ap", M.ap), ("auprc_trapz", M.auprc_trapz), ("auroc", M.auroc)])
def test_weighted_scores_equal_sklearn_on_each_resample(name, fn, ties):
    y, s = _data(80, 1, ties)
    W = M.bootstrap_weights(len(y), 60, seed=7)
    got = M.weighted_metric(name, y, s, W)
    rng = np.random.default_rng(7)
    for b in range(60):
        idx = rng.integers(0, len(y), len(y))  # the same draws bootstrap_weights counted
        assert np.array_equal(np.bincount(idx, minlength=len(y)), W[b])
        want = fn(y[idx], s[idx])
        if np.isnan(want):
            assert np.isnan(got[b])
        else:
            assert abs(got[b] - want) < 1e-12, (name, b, got[b], want)


def test_weighted_f1_and_mean_equal_per_resample():
    y, s = _data(50, 2, False)
    pred = (s > 0.5).astype(int)
    vals = np.where(np.arange(50) % 7 == 0, np.nan, s)
    W = M.bootstrap_weights(50, 40, seed=3)
    f, m = M.weighted_metric("f1", y, pred, W), M.weighted_metric(M.mean_of, y, vals, W)
    rng = np.random.default_rng(3)
    for b in range(40):
        idx = rng.integers(0, 50, 50)
        assert abs(f[b] - M.f1(y[idx], pred[idx])) < 1e-12
        assert abs(m[b] - M.mean_of(None, vals[idx])) < 1e-12


def test_one_class_resamples_are_nan_and_skipped():
    y = np.array([0] * 19 + [1])
    s = np.linspace(0, 1, 20)
    W = M.bootstrap_weights(20, 200, seed=0)
    v = M.weighted_metric("auroc", y, s, W)
    assert np.isnan(v[W[:, -1] == 0]).all() and np.isfinite(v[W[:, -1] > 0]).all()
    assert np.isfinite(M.bootstrap_se("auroc", y, s, n=200, seed=0))


def test_bootstrap_se_matches_the_loop_it_replaced():
    """Same resampling stream as the former per-draw loop, so the SE is the same number."""
    y, s = _data(120, 4, True)
    rng = np.random.default_rng(11)
    loop = []
    for _ in range(100):
        idx = rng.integers(0, len(y), len(y))
        loop.append(M.ap(y[idx], s[idx]))
    assert abs(M.bootstrap_se(M.ap, y, s, n=100, seed=11) - np.std(loop, ddof=1)) < 1e-12


def test_trapezoid_is_the_papers_auc_of_the_pr_curve():
    from sklearn.metrics import auc, precision_recall_curve

    y, s = _data(200, 5, False)
    p, r, _ = precision_recall_curve(y, s)
    assert M.auprc_trapz(y, s) == pytest.approx(auc(r, p))
    assert abs(M.auprc_trapz(y, s) - M.ap(y, s)) > 1e-4  # two different estimators


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="choose one of ap, auprc_trapz"):
        M.weighted_metric("dice", [0, 1], [0.1, 0.2], np.ones((1, 2)))


def test_weighted_balanced_accuracy_equals_sklearn_multiclass():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 60)
    pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, 3, 60))
    W = M.bootstrap_weights(60, 30, seed=2)
    got = M.weighted_metric("balanced_accuracy", y, pred, W)
    rng = np.random.default_rng(2)
    for b in range(30):
        idx = rng.integers(0, 60, 60)
        assert abs(got[b] - balanced_accuracy_score(y[idx], pred[idx])) < 1e-12


def test_score_draws_equal_each_weighted_metric():
    y, s = _data(90, 6, True)
    W = M.bootstrap_weights(90, 25, seed=1)
    d = M.score_draws(y, s, W)
    for name in ("ap", "auprc_trapz", "auroc"):
        np.testing.assert_array_equal(d[name], M.weighted_metric(name, y, s, W))


@pytest.mark.parametrize("ties", [False, True])
def test_unit_weights_give_sklearns_observed_values(ties):
    y, s = _data(150, 9, ties)
    d = M.score_draws(y, s, np.ones((1, 150)))
    assert abs(d["ap"][0] - M.ap(y, s)) < 1e-12 and abs(d["auroc"][0] - M.auroc(y, s)) < 1e-12
    assert abs(d["auprc_trapz"][0] - M.auprc_trapz(y, s)) < 1e-12
    pred = (s > 0.3).astype(int)
    assert abs(M.weighted_metric("f1", y, pred, np.ones((1, 150)))[0] - M.f1(y, pred)) < 1e-12
