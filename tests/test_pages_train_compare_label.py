"""AppTest for the Train, Compare and Label pages on a tiny dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def _app(page: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "pages" / page), default_timeout=180)


def _button(at, label: str):
    for b in at.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}: {[b.label for b in at.button]}")


@pytest.fixture
def blobs_with_pixels(blob_dataset):
    from coldstart.embed import load_embeddings

    load_embeddings(blob_dataset, "pixels")
    return blob_dataset


def test_label_page_three_labels_write_three_rows(blobs_with_pixels, monkeypatch):
    from coldstart import export

    built = []  # the export files are built only when a download is clicked, never on a rerun
    monkeypatch.setattr(export, "export_zip", lambda *a, **k: built.append("zip") or b"")
    monkeypatch.setattr(export, "label_studio_json", lambda *a, **k: built.append("ls") or "")
    ds = blobs_with_pixels
    at = _app("4_Label.py").run()
    assert not at.exception, at.exception
    at.text_input(key="label_student").input("Alice Smith")
    at.selectbox(key="label_method").select("Random picks (for comparison)")
    _button(at, "Start labelling").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["label_session"] == "Alice-Smith"
    shown = []
    for k in range(3):
        shown.append(at.session_state["label_current"])
        at.button(key=f"label_btn_{k % 2}").click()
        at.run()
        assert not at.exception, at.exception
        waiting = [i.value for i in at.info if "needs both classes" in i.value]
        assert bool(waiting) == (k == 0)  # one label of one class: the page says why there is no curve yet
    from test_label import stored_labels  # the labels as the store holds them

    rows = stored_labels(ds, "Alice-Smith")
    assert len(rows) == 3
    assert rows["row"].tolist() == shown
    assert rows["label"].tolist() == [0, 1, 0]
    # the curve chart shows the user's session and the random reference
    chart = at.get("plotly_chart")[0].proto.spec
    assert "Alice-Smith" in chart and "random picks" in chart
    # the "Compare students" tab draws the same session, the "Export" tab offers three downloads
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(charts) == 3 and "Alice-Smith" in charts[2]
    # the strata panel compares the student's labels with the suggestions and random picks
    assert "Share of each" in charts[1] and "your labels" in charts[1] and "random picks" in charts[1]
    labels = [d.proto.label for d in at.get("download_button")]
    assert {"Selection (CSV)", "Label Studio bundle (ZIP)", "Images in class folders (ZIP)"} <= set(labels)
    assert built == []
    assert (rows["seconds"] >= 0).all() and rows["seconds"].notna().all()
    # reveal shows a table with one row per label
    at.toggle(key="label_reveal").set_value(True)
    at.run()
    assert not at.exception, at.exception
    df = [d.value for d in at.dataframe if "check" in d.value.columns][0]
    assert len(df) == 3 and set(df["check"]) <= {"✓ agrees", "✗ differs"}
    # undo removes the last row on disk
    at.button(key="label_undo").click()
    at.run()
    assert len(stored_labels(ds, "Alice-Smith")) == 2
    # reopening in a fresh browser session lists the saved session and continues it
    at2 = _app("4_Label.py").run()
    assert at2.selectbox(key="label_open_pick").options[0].startswith("Alice Smith · 2 labels")
    _button(at2, "Continue").click()
    at2.run()
    assert not at2.exception, at2.exception
    assert at2.session_state["label_session"] == "Alice-Smith"


def _wait_finished(at, run_id, ds_name, timeout=240):
    import time

    from coldstart.runs import RunStore

    t0 = time.time()
    while time.time() - t0 < timeout:
        if RunStore(ds_name, run_id).status() in ("finished", "failed", "cancelled"):
            break
        time.sleep(1.0)
    at.run()
    return RunStore(ds_name, run_id).status()


@pytest.mark.slow
def test_train_page_launches_tiny_probe_run_and_compare_matches_report(blobs_with_pixels):
    from coldstart.runs import RunStore, list_runs, report_table

    ds = blobs_with_pixels
    at = _app("2_Train.py").run()
    assert not at.exception, at.exception
    assert "random" in at.multiselect(key="train_methods").value  # the reference is prefilled
    assert "pixels:kmeans-paper" in at.multiselect(key="train_methods").value  # paper settings: the paper's protocol
    assert not any(o.split(":")[-1] in ("entropy", "bald", "threshold") for o in at.multiselect(key="train_methods").options)
    assert at.text_input(key="train_budgets").value == "20,40,60,80,100"  # paper defaults
    at.multiselect(key="train_methods").set_value(["random", "pixels:kmeans"])
    at.text_input(key="train_budgets").input("10,20")
    at.text_input(key="train_seeds").input("0,1")
    _button(at, "Start run").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    run_id = at.session_state["train_run"]
    assert run_id in list_runs(ds.name)["run_id"].tolist()
    # cancel while it runs, then resume: finished parts are kept, the run completes
    import time

    t0 = time.time()
    while RunStore(ds.name, run_id).status() == "starting" and time.time() - t0 < 60:
        time.sleep(0.2)
    if RunStore(ds.name, run_id).status() == "running":
        at.run()
        at.button(key="train_cancel").click()
        at.run()
        assert not at.exception, at.exception
        assert RunStore(ds.name, run_id).status() == "cancelled"
        assert not at.button(key="train_resume").disabled
        at.button(key="train_resume").click()
        at.run()
        assert not at.exception, at.exception
    status = _wait_finished(at, run_id, ds.name)
    assert status == "finished", RunStore(ds.name, run_id).progress()
    assert not at.exception, at.exception
    past = at.dataframe[-1].value
    assert past.set_index("run_id").loc[run_id, "status"] == "finished"
    assert past.set_index("run_id").loc[run_id, "progress"] == "8/8"
    # the live chart shows the finished parts
    assert any("pixels:kmeans" in c.proto.spec for c in at.get("plotly_chart"))

    # Compare: the table is the report's table, the chart has error bars per method
    res = RunStore(ds.name, run_id).results()
    cp = _app("3_Compare.py").run()
    assert not cp.exception, cp.exception
    for metric in ("auprc", "f1", "auroc"):
        want = [x for x in report_table(res, metric, "markdown").splitlines() if x.startswith("|")]
        tables = [m.value for m in cp.markdown if m.value.startswith("| method")]
        assert "\n".join(want) in tables, (metric, tables)
    spec = cp.get("plotly_chart")[0].proto.spec
    assert '"error_y"' in spec and "random (reference)" in spec and "pixels:kmeans" in spec
    # paired comparison against random is shown
    assert any("95% CI" in df.value.columns for df in cp.dataframe)


def test_train_page_failed_run_shows_error_and_what_to_do(blobs_with_pixels):
    from coldstart.io import append_jsonl
    from coldstart.runs import RunConfig
    from coldstart.runs.runner import create_run

    ds = blobs_with_pixels
    d = create_run(RunConfig.from_dict({"dataset": ds.name, "methods": ["random"], "budgets": [10], "seeds": [0]}))
    append_jsonl(d / "events.jsonl", {"event": "started", "n_units": 1, "time": 0})
    append_jsonl(d / "events.jsonl", {"event": "error", "fatal": True, "time": 1, "kind": "weights",
                                      "message": "embedder 'txrv-densenet121' is not available: weights not found"})
    at = _app("2_Train.py").run()
    assert not at.exception, at.exception
    assert at.session_state["train_run"] == d.name
    assert any("weights not found" in e.value for e in at.error)
    assert any("weights file" in i.value for i in at.info)  # what to do
    assert not at.button(key="train_resume").disabled and at.button(key="train_cancel").disabled


@pytest.mark.slow
def test_compare_page_al_rounds_gains_and_two_runs(blobs_with_pixels):
    from coldstart.runs import start_run

    ds = blobs_with_pixels
    common = {"dataset": ds.name, "task": "probe", "budgets": [10], "seeds": [0]}
    r1 = start_run(dict(common, methods=["random", "pixels:kmeans"], rounds=2, query_size=5), background=False)
    r2 = start_run(dict(common, methods=["random", "pixels:coreset"]), background=False)
    cp = _app("3_Compare.py")
    cp.session_state["compare_runs"] = [r1, r2]
    cp.run()
    assert not cp.exception, cp.exception
    specs = [c.proto.spec for c in cp.get("plotly_chart")]
    # AL curve with one line per method -> strategy, and its gain table
    assert any("pixels:kmeans" in s and "least-confidence" in s for s in specs)
    gains = [d.value for d in cp.dataframe if "gain" in d.value.columns][0]
    assert sorted(gains["round"].unique().tolist()) == [0, 1, 2]
    assert gains.groupby("method")["gain"].apply(lambda g: (g == "").sum()).eq(1).all()  # round 0: blank
    # methods of two runs stay apart, and the table lists all of them
    table = [m.value for m in cp.markdown if m.value.startswith("| method")][0]
    assert f"random [{r1[:15]}]" in table and f"pixels:coreset [{r2[:15]}]" in table
