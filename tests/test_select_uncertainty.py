"""Uncertainty-round strategies (query_uncertain and their registry entries)."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.errors import ColdstartError
from coldstart.select import list_selectors, query_uncertain, select
from coldstart.select.uncertainty import UNCERTAINTY_STRATEGIES, uncertainty_scores


def pool(n=60, c=3, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, c))
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def test_scores_by_hand():
    P = np.array([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]])
    assert np.allclose(uncertainty_scores("least-confidence", P), [0.1, 0.5, 0.3])
    assert np.allclose(uncertainty_scores("margin", P), [0.2, 1.0, 0.6])
    assert np.argmax(uncertainty_scores("entropy", P)) == 1
    assert np.allclose(uncertainty_scores("threshold", P, threshold=0.2), [0.9, 0.7, 0.9])
    assert np.allclose(uncertainty_scores("threshold", P), [0.6, 1.0, 0.8])  # default threshold 0.5
    with pytest.raises(ColdstartError, match="two-class"):
        uncertainty_scores("threshold", pool())
    mc = np.stack([[[1, 0], [0.5, 0.5]], [[0, 1], [0.5, 0.5]]])  # disagree on 0, agree (but unsure) on 1
    b = uncertainty_scores("bald", None, mc)
    assert b[0] == pytest.approx(np.log(2)) and b[1] == pytest.approx(0.0)


@pytest.mark.parametrize("strategy", UNCERTAINTY_STRATEGIES)
def test_query_respects_candidates_size_seed(strategy):
    P = pool(c=2) if strategy == "threshold" else pool()  # threshold: two classes (a positive probability)
    rng = np.random.default_rng(1)
    mc = np.stack([pool(seed=s) for s in range(4)]) if strategy == "bald" else None
    F = rng.normal(size=(60, 5)) if strategy == "badge" else None
    cand = np.arange(10, 60, 2)
    s = query_uncertain(strategy, P, cand, 8, seed=0, mc_probs=mc, features=F)
    assert len(s) == 8 and len(set(s.indices)) == 8 and np.isin(s.indices, cand).all()
    again = query_uncertain(strategy, P, cand, 8, seed=0, mc_probs=mc, features=F)
    assert np.array_equal(s.indices, again.indices)
    assert {"rank", "index", "score", "predicted"} <= set(s.per_pick.columns)
    if strategy != "badge":  # score strategies: the top of the ranking, nested
        sc = uncertainty_scores(strategy, P, mc)
        assert sc[s.indices].min() >= np.sort(sc[cand])[::-1][7] - 1e-12
        small = query_uncertain(strategy, P, cand, 3, seed=0, mc_probs=mc, features=F)
        assert np.array_equal(small.indices, s.indices[:3])


def test_badge_is_diverse_and_prefers_uncertain():
    rng = np.random.default_rng(0)
    F = np.concatenate([rng.normal(c, 0.1, (30, 4)) for c in (np.zeros(4), np.full(4, 5.0))])
    P = np.full((60, 2), 0.5)
    P[:, 0] = np.r_[np.full(30, 0.55), np.full(30, 0.45)]
    s = query_uncertain("badge", P, np.arange(60), 2, seed=0, features=F)
    assert {int(i) // 30 for i in s.indices} == {0, 1}  # one from each group


def test_registry_entries_and_errors():
    P = pool()
    assert set(list_selectors("uncertainty")) == set(UNCERTAINTY_STRATEGIES)
    s = select("margin", None, 5, seed=0, probs=P, labeled=np.arange(30))
    assert (s.indices >= 30).all()
    with pytest.raises(ColdstartError, match="needs the model's probs"):
        select("entropy", None, 5, seed=0)
    with pytest.raises(ColdstartError, match="needs mc_probs"):
        query_uncertain("bald", P, np.arange(60), 5)
    with pytest.raises(ColdstartError, match="needs features"):
        query_uncertain("badge", P, np.arange(60), 5)
    with pytest.raises(ColdstartError, match="larger than the 10 candidates"):
        query_uncertain("margin", P, np.arange(10), 11)
    with pytest.raises(ColdstartError, match="softmax"):
        query_uncertain("margin", P * 3, np.arange(10), 2)
    with pytest.raises(ColdstartError, match="unknown uncertainty strategy"):
        query_uncertain("vibes", P, np.arange(10), 2)
