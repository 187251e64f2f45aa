"""A minimal Streamlit app around the Explore map component, on a synthetic pool.

Used by ``benchmarks/explore_render.py`` (20,000 points and more, where no real dataset of that
size is at hand) and by ``tests/test_browser_explore_map.py``. Environment:

- ``EXPLORE_POINTS`` (default 20000): pool size;
- ``EXPLORE_STRATA`` (default 12): categories of the synthetic stratifier (colours beyond 10);
- ``EXPLORE_NON_NESTED`` (default 0): 1 adds a method B whose picks the server sends per budget.

Run: ``streamlit run benchmarks/explore_map_app.py``.
"""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from coldstart.ui import explore_map as emap

N = int(os.environ.get("EXPLORE_POINTS", "20000"))
K = int(os.environ.get("EXPLORE_STRATA", "12"))
NON_NESTED = os.environ.get("EXPLORE_NON_NESTED", "0") == "1"
MAX_BUDGET = 200


@st.cache_data
def pool(n: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 6, size=(k, 2))
    strata = rng.integers(0, k, n)
    xy = (centers[strata] + rng.normal(0, 1, size=(n, 2))).astype(np.float32)
    ids = np.array([f"img{i:06d}" for i in range(n)])
    order = rng.permutation(n)[:MAX_BUDGET]  # a nested order: any budget is a prefix
    return xy, ids, np.array([f"stratum {s:02d}" for s in strata]), order


xy, ids, strata, order = pool(N, K)
st.title("Explore map harness")
budget = emap.current_budget("bench_map", default=20, max_budget=MAX_BUDGET)
layers = [emap.MapLayer("A: nested", order, [f"reason {r + 1}" for r in range(len(order))], style=0)]
if NON_NESTED:  # a selector that is not nested: the server sends the picks for its budget
    rng = np.random.default_rng(budget)
    layers.append(emap.MapLayer("B: per budget", rng.choice(N, budget, replace=False), style=1,
                                nested=False, budget=budget))
state = emap.explore_map(xy, ids, budget=budget, max_budget=MAX_BUDGET, key="bench_map",
                         color=emap.categorical(strata, "stratum"), info={"stratum": strata},
                         layers=layers, title=f"{N:,} points", axis_name="dim")
st.markdown(f"server budget: **{state.budget}**")
sel = state.selected_ids
st.markdown(f"selected on the map: **{'none' if sel is None else len(sel)}**")
if st.toggle("Show stratum coverage", key="bench_cov"):
    emap.coverage_panel(strata, {layers[0].name: order}, state.budget, "stratum", key="bench_cov")
