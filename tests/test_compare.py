"""Paired comparisons against a baseline and AL gains (coldstart.compare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart import compare
from coldstart.errors import ColdstartError


def test_weighted_metrics_match_sklearn_with_unit_weights():
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.random(300) + 0.3 * y
    p = (s > 0.7).astype(int)
    W = np.ones((1, 300))
    pred = pd.DataFrame({"y": y, "score": s, "pred": p})
    assert compare.prediction_metric("auprc", pred, W)[0] == pytest.approx(average_precision_score(y, s))
    assert compare.prediction_metric("auroc", pred, W)[0] == pytest.approx(roc_auc_score(y, s))
    assert compare.prediction_metric("f1", pred, W)[0] == pytest.approx(f1_score(y, p))
    # integer weights = repeating rows
    w = rng.integers(0, 3, 300)
    rep = np.repeat(np.arange(300), w)
    assert compare.prediction_metric("auprc", pred, w[None].astype(float))[0] == pytest.approx(
        average_precision_score(y[rep], s[rep]))


class FakeStore:
    """A RunStore stand-in: results + predictions in memory."""

    def __init__(self, run_id, results, preds):
        self.run_id, self._r, self._p = run_id, results, preds

    def results(self):
        return self._r

    def predictions(self, unit):
        return self._p[unit]


def _fake_run(shift: float, n_test=400, seeds=(0, 1, 2), budgets=(20, 40), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_test)
    rows, preds = [], {}
    from coldstart.metrics import auprc

    for m, good in (("random", 0.0), ("pixels:kmeans", shift)):
        for b in budgets:
            for s in seeds:
                score = rng.normal(0, 1, n_test) + (1.0 + good) * y
                unit = f"cold|{m}|s{s}|b{b}"
                preds[unit] = pd.DataFrame({"index": np.arange(n_test), "y": y, "score": score,
                                            "pred": (score > 0.5).astype(int)})
                rows.append({"unit": unit, "phase": "cold", "method": m, "seed": s, "budget": b, "metric": "auprc",
                             "value": auprc(y, score), "se": 0.01, "status": "ok", "reason": "", "round": -1,
                             "strategy": ""})
    return FakeStore("run1", pd.DataFrame(rows), preds)


def test_paired_detects_a_real_difference_and_not_a_null_one():
    st = _fake_run(shift=1.5)
    out = compare.paired_vs_baseline([st], "auprc", "random", n_boot=300)
    assert set(out["budget"]) == {20, 40}
    assert out["excludes_zero"].all() and (out["diff"] > 0).all() and out["better"].all()
    assert ((out["lo"] <= out["diff"]) & (out["diff"] <= out["hi"])).all()
    null = compare.paired_vs_baseline([_fake_run(shift=0.0, seed=3)], "auprc", "random", n_boot=300)
    assert (null["lo"] < null["hi"]).all()
    assert not null["excludes_zero"].all()
    with pytest.raises(ColdstartError, match="baseline"):
        compare.paired_vs_baseline([st], "auprc", "nope")


def test_al_gains_and_untrainable():
    summ = pd.DataFrame({"phase": ["al"] * 3 + ["cold"], "method": ["m"] * 4, "strategy": ["lc"] * 4,
                         "round": [0, 1, 2, -1], "budget": [20, 40, 60, 20], "mean": [0.5, 0.6, 0.62, 0.5],
                         "se": [0.01] * 4})
    g = compare.al_gains(summ)
    assert np.isnan(g["gain"].iat[0]) and g["gain"].iloc[1:].round(3).tolist() == [0.1, 0.02]
    res = pd.DataFrame({"unit": ["a", "b"], "phase": ["cold"] * 2, "method": ["r"] * 2, "budget": [20, 20],
                        "seed": [0, 1], "status": ["ok", "untrainable"], "reason": ["", "no normal image"]})
    u = compare.untrainable_summary(res)
    assert u["untrainable"].tolist() == ["1/2 seeds untrainable"] and u["reason"].iat[0] == "no normal image"
