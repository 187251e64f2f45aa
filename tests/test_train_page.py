"""Train page for a newcomer: nothing starts by accident, estimates first, live status, no zombie runners."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "pages" / "2_Train.py"), default_timeout=180)


def eta_text(s):
    from coldstart.ui.runs_view import eta_text as f

    return f(s)


@pytest.fixture(autouse=True)
def no_cost_table(tmp_path, monkeypatch):
    """Estimates from history only, unless a test gives a cost table (tests must not read this machine's)."""
    from coldstart.runs import costs

    monkeypatch.setattr(costs, "TABLE", tmp_path / "no-costs.json")


TABLE = {"run_start_s": 2.0, "worker_start_s": 1.0, "embed_s_per_image": {"pixels": 0.001},
         "select": {"n": 100, "budget": 10, "random_s": 0.01, "dims": {"pixels-32": 1024, "gist": 2048},
                    "seconds": {"pixels-32": {"kmeans": 0.5}, "gist": {"kmeans": 0.7}}},
         "probe_part_s": 0.1, "probe_stratum_s": 0.01, "epoch": {"classification/quick": 0.05},
         "machine": "test"}


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
    at.text_input(key="train_seeds").input("0,1")
    at.run()
    assert not at.exception, at.exception
    assert list_runs(blobs_with_pixels.name).empty
    est = [m.value for m in at.markdown if m.value.startswith("**Estimate:**")]
    assert est and "parts" in est[0] and "no time estimate yet" in est[0]
    # the probe has no timing yet but is quick: no confirmation needed
    assert not at.button(key="train_start").disabled and not at.checkbox
    at.text_input(key="train_seeds").input("0,x")
    at.run()
    assert [e.value for e in at.error if "'x' is not a whole number" in e.value]
    assert at.button(key="train_start").disabled and list_runs(blobs_with_pixels.name).empty


def test_first_run_estimate_from_the_cost_table(blobs_with_pixels, tmp_path, monkeypatch):
    import json

    from coldstart.runs import costs

    path = tmp_path / "costs.json"
    path.write_text(json.dumps(TABLE))
    monkeypatch.setattr(costs, "TABLE", path)
    at = _app().run()
    at.multiselect(key="train_methods").set_value(["random", "pixels:kmeans"])
    at.text_input(key="train_budgets").input("10,20")
    at.text_input(key="train_seeds").input("0,1")
    at.number_input(key="train_workers").set_value(1)
    at.run()
    assert not at.exception, at.exception
    est = [m.value for m in at.markdown if m.value.startswith("**Estimate:**")][0]
    assert "8 parts, about" in est and "first run:" in est and "per probe part" in est, est
    # 2 s start-up + 2 random draws + 2 kmeans selections (scaled from pixels-32, the nearest dimension to the
    # blobs' 32 x 32 pixels) + 8 probe parts: what costs.first_run_seconds sums
    from coldstart.runs import RunConfig
    from coldstart.runs.costs import first_run_seconds
    from coldstart.runs.units import plan_units

    cfg = RunConfig.from_dict(dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"],
                                   budgets=[10, 20], seeds=[0, 1], workers=1))
    sec, _ = first_run_seconds(cfg, blobs_with_pixels, plan_units(cfg), 1, TABLE)
    n = int((blobs_with_pixels.splits == "train").sum())
    assert np.isclose(sec, 2.0 + 2 * 0.01 + 2 * 0.5 * n * 20 / (100 * 10) + 8 * 0.1)
    assert f"{eta_text(sec)}" in est


def test_quick_demo_button_starts_the_demo_grid(blobs_with_pixels):
    from coldstart.runs import RunStore, list_runs

    at = _app().run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("**Quick demo**") for m in at.markdown)
    at.button(key="train_demo").click()
    at.run()
    assert not at.exception, at.exception
    rid = at.session_state["train_run"]
    assert rid in list_runs(blobs_with_pixels.name)["run_id"].tolist()
    cfg = RunStore(blobs_with_pixels.name, rid).config
    assert cfg.task == "probe" and len(cfg.seeds) == 3 and len(cfg.budgets) == 3 and cfg.methods[0] == "random"


def test_seeds_follow_the_preset_and_weights_warning_only_for_network_tasks(blobs_with_pixels):
    at = _app().run()
    assert at.text_input(key="train_seeds").value == "0,1,2,3,4"  # the probe
    assert not at.get("toggle") and not [w for w in at.warning if "weights" in w.value.lower()]
    at.radio(key="train_task").set_value("classification")
    at.run()
    assert at.text_input(key="train_seeds").value == "2024"  # the paper preset: the paper's seed
    assert at.toggle(key="train_imagenet").value
    assert any("preset **paper**" in c.value for c in at.caption)
    at.selectbox(key="train_preset").set_value("quick")
    at.run()
    assert at.text_input(key="train_seeds").value == "0,1,2,3,4"
    at.text_input(key="train_seeds").input("7,8")
    at.selectbox(key="train_preset").set_value("paper")
    at.run()
    assert at.text_input(key="train_seeds").value == "7,8"  # typed seeds are kept


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
