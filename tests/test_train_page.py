"""Train page for a newcomer: nothing starts by accident, estimates first, live status, no zombie runners."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "pages" / "2_Train.py"), default_timeout=180)


@pytest.fixture
def blobs_with_pixels(blob_dataset):
    from coldstart.embed import load_embeddings

    load_embeddings(blob_dataset, "pixels")
    return blob_dataset


def test_editing_fields_never_starts_a_run_and_the_estimate_is_shown(blobs_with_pixels):
    from coldstart.runs import list_runs

    at = _app().run()
    assert not at.exception, at.exception
    assert not at.get("form"), "a form would start the run on Enter"
    at.text_input(key="train_budgets").input("10,20")  # typing + Enter = a rerun, nothing more
    at.number_input(key="train_seeds").set_value(2)
    at.run()
    assert not at.exception, at.exception
    assert list_runs(blobs_with_pixels.name).empty
    est = [m.value for m in at.markdown if m.value.startswith("**Estimate:**")]
    assert est and "parts" in est[0] and "no time estimate yet" in est[0]
    # the probe has no timing yet but is quick: no confirmation needed
    assert not at.button(key="train_start").disabled and not at.checkbox


def test_network_training_needs_confirmation(blobs_with_pixels):
    at = _app().run()
    at.radio(key="train_task").set_value("classification")
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="train_start").disabled
    box = [c for c in at.checkbox if c.label.startswith("Start anyway")]
    assert box and "time unknown" in box[0].label
    box[0].check()
    at.run()
    assert not at.button(key="train_start").disabled


def test_estimate_from_an_earlier_run_and_probe_panel(blobs_with_pixels):
    from coldstart.runs import start_run

    ds = blobs_with_pixels
    rid = start_run(dict(dataset=ds.name, task="probe", methods=["random", "pixels:kmeans"], budgets=[8, 16],
                         seeds=[0], n_bootstrap=20), background=False)
    at = _app().run()
    assert not at.exception, at.exception
    est = [m.value for m in at.markdown if m.value.startswith("**Estimate:**")][0]
    assert "earlier probe run" in est and "about" in est
    # the probe panel has no "Current epoch"; the run picker and past runs show the finished run
    assert "Current epoch" not in [m.label for m in at.metric]
    assert at.selectbox(key="train_run").value == rid
    past = at.dataframe[-1].value.set_index("run_id")
    assert past.loc[rid, "status"] == "finished" and past.loc[rid, "progress"] == "4/4"
    spec = at.get("plotly_chart")[0].proto.spec
    assert "random guess" in spec  # the chance level is drawn
    assert "full-label ceiling" in spec  # and the probe's full-label ceiling
    import json

    rng = json.loads(spec)["layout"]["yaxis"]["range"]
    assert 0 <= rng[0] < rng[1] <= 1


def test_cancelled_background_runner_is_reaped(blobs_with_pixels, monkeypatch):
    from coldstart.runs import RunStore, cancel_run, start_run

    monkeypatch.setenv("COLDSTART_TEST_UNIT_DELAY", "2")
    ds = blobs_with_pixels
    rid = start_run(dict(dataset=ds.name, task="probe", methods=["random"], budgets=[8, 16], seeds=[0, 1, 2],
                         n_bootstrap=20, workers=1), background=True)
    store = RunStore(ds.name, rid)
    t0 = time.time()
    while not any(e.get("event") == "unit-started" for e in store.events()) and time.time() - t0 < 120:
        time.sleep(0.2)  # cancel once a part runs, as a user would
    pid = store.pid()
    assert pid and store.status() == "running"
    cancel_run(ds.name, rid)
    t0 = time.time()
    while os.path.exists(f"/proc/{pid}") and time.time() - t0 < 60:  # generous: the machine may be loaded
        time.sleep(0.1)
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if os.path.exists(f"/proc/{pid}") else "gone"
    assert state == "gone", f"runner {pid} is still a child in state {state} (Z = zombie, not reaped)"
    assert store.status() == "cancelled"
