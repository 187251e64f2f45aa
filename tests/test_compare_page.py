"""Compare page: one wording for the error bars, a single-budget run drawn sensibly, blank round-0 gains."""

from __future__ import annotations

import base64
import json

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _array(v) -> np.ndarray:
    """A Plotly JSON array: a list, or numpy data as base64 ``{"dtype", "bdata"}``."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v, float)


@pytest.fixture
def al_run(blob_dataset):
    from coldstart.embed import load_embeddings
    from coldstart.runs import start_run

    load_embeddings(blob_dataset, "pixels")
    return start_run(dict(dataset=blob_dataset.name, task="probe", methods=["random", "pixels:kmeans", "pixels:coreset"],
                          budgets=[10], seeds=[0, 1], rounds=1, query_size=5, n_bootstrap=20), background=False)


def test_compare_single_budget_al_run(al_run):
    from streamlit.testing.v1 import AppTest

    from coldstart.runs.report import SE_MEANING

    at = AppTest.from_file(str(REPO / "pages" / "3_Compare.py"), default_timeout=180)
    at.session_state["compare_runs"] = [al_run]
    at.run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    # the table's caption and the chart's caption say the same thing about the SE
    assert any(SE_MEANING in c and c.split(":")[0].endswith("[ap]") for c in captions), captions  # "AUPRC (average precision) [ap]: ..."
    assert any(c.startswith("Error bars") and SE_MEANING in c for c in captions), captions
    # one budget: the three methods' error bars sit together around it, not across the whole axis
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    lo, hi = fig["layout"]["xaxis"]["range"]
    xs = np.concatenate([_array(t["x"]) for t in fig["data"]])
    assert hi - lo >= 10 and max(xs) - min(xs) < 0.1 * (hi - lo)
    # the y-axis stays inside [0, 1]
    ylo, yhi = fig["layout"]["yaxis"]["range"]
    assert 0 <= ylo < yhi <= 1
    # round 0 has no gain: a blank cell, not "None"
    gains = [d.value for d in at.dataframe if "gain" in d.value.columns][0]
    assert (gains.loc[gains["round"] == 0, "gain"] == "").all()
    assert gains.loc[gains["round"] == 1, "gain"].str.match(r"^[+-]\d\.\d{3}$").all()
