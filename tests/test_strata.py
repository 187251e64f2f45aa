"""Stratum coverage (coldstart.select.strata): hand computations, a brute-force cross-check,
nested prefixes, the stratifier column list and bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldstart.errors import ColdstartError
from coldstart.select.strata import (MISSING, compare_coverage, coverage_summary, stratifier_columns,
                                     stratum_coverage)


def test_hand_computed_table():
    strata = ["PA normal", "PA normal", "PA normal", "PTX + drain", "PTX untreated", None]
    t = stratum_coverage(strata, order=[3, 0, 1, 4], budget=3).set_index("stratum")
    assert list(t.index) == ["PA normal", MISSING, "PTX + drain", "PTX untreated"]  # by pool count
    assert t.loc["PA normal", "pool_count"] == 3 and t.loc["PA normal", "pool_share"] == pytest.approx(0.5)
    assert t.loc["PA normal", "picks"] == 2 and t.loc["PA normal", "pick_share"] == pytest.approx(2 / 3)
    assert t.loc["PA normal", "first_rank"] == 2
    assert t.loc["PTX + drain", "first_rank"] == 1 and t.loc["PTX + drain", "hit"]
    # appears in the order, but after the budget: a first rank, yet not hit
    assert t.loc["PTX untreated", "first_rank"] == 4 and not t.loc["PTX untreated", "hit"]
    assert t.loc["PTX untreated", "picks"] == 0
    assert pd.isna(t.loc[MISSING, "first_rank"]) and not t.loc[MISSING, "hit"]
    s = coverage_summary(t.reset_index())
    assert s["strata_hit"] == 2 and s["n_strata"] == 4
    assert s["missed"] == [MISSING, "PTX untreated"]
    assert s["max_share_gap"] == pytest.approx(abs(1 / 3 - 1 / 6))


def test_against_brute_force_for_every_prefix():
    rng = np.random.default_rng(0)
    strata = rng.choice(["a", "b", "c", "d", "e"], size=200, p=[0.5, 0.3, 0.15, 0.04, 0.01])
    order = rng.permutation(200)[:60]
    for budget in (0, 1, 7, 20, 60, 100):
        t = stratum_coverage(strata, order, budget).set_index("stratum")
        b = min(budget, len(order))
        for s in t.index:
            in_pool = int((strata == s).sum())
            picked = [k for k, p in enumerate(order[:b]) if strata[p] == s]
            ranks = [k + 1 for k, p in enumerate(order) if strata[p] == s]
            assert t.loc[s, "pool_count"] == in_pool
            assert t.loc[s, "picks"] == len(picked)
            assert t.loc[s, "hit"] == bool(picked)
            assert (pd.isna(t.loc[s, "first_rank"]) if not ranks else t.loc[s, "first_rank"] == ranks[0])
            if b:
                assert t.loc[s, "pick_share"] == pytest.approx(len(picked) / b)
            else:
                assert np.isnan(t.loc[s, "pick_share"])
        assert t["picks"].sum() == b
        assert t["pool_share"].sum() == pytest.approx(1.0)


def test_bool_and_integer_strata_and_default_budget():
    t = stratum_coverage(np.array([True, False, False, True]), [1, 2])
    assert set(t["stratum"]) == {"True", "False"}
    assert t.set_index("stratum").loc["False", "picks"] == 2  # budget defaults to the whole order
    t = stratum_coverage(pd.Series([0, 1, 1, 2]), [3], budget=5)  # budget past the order: all of it
    assert t["picks"].sum() == 1


def test_compare_two_methods_side_by_side():
    strata = ["x", "y", "y", "z"]
    t = compare_coverage(strata, {"A: kmeans": [1, 2, 0], "B: random": [3, 0]}, budget=2).set_index("stratum")
    assert list(t.columns) == ["pool_count", "pool_share", "A: kmeans picks", "A: kmeans share",
                               "A: kmeans first rank", "B: random picks", "B: random share", "B: random first rank"]
    assert t.loc["y", "A: kmeans picks"] == 2 and t.loc["y", "A: kmeans share"] == 1.0
    assert t.loc["x", "A: kmeans first rank"] == 3
    assert t.loc["z", "B: random first rank"] == 1 and pd.isna(t.loc["y", "B: random first rank"])
    assert list(compare_coverage(strata, {}, 2).columns) == ["stratum", "pool_count", "pool_share"]


@pytest.mark.parametrize("order, budget, match", [
    ([0, 9], 1, "outside the pool"),
    ([-1], 1, "outside the pool"),
    ([1, 1], 1, "repeats a position"),
    ([0], -2, "budget=-2"),
])
def test_bad_inputs_name_the_problem(order, budget, match):
    with pytest.raises(ColdstartError, match=match):
        stratum_coverage(["a", "b", "c"], order, budget)


def test_stratifier_columns():
    m = pd.DataFrame({
        "id": [f"i{k}" for k in range(6)], "image": [f"images/{k}.png" for k in range(6)],
        "label": [0, 1, 0, 1, 0, 1], "split": ["train"] * 4 + ["test"] * 2,
        "subgroup": pd.Categorical(["PA normal", "PTX + drain"] * 3), "drain": [True, False] * 3,
        "ptx_size": np.linspace(0, 1, 6), "constant": ["x"] * 6, "note": [f"n{k}" for k in range(6)],
        "patient_id": ["p1", "p1", "p2", "p2", "p3", "p3"]})
    assert stratifier_columns(m) == ["label", "split", "subgroup", "drain"]
