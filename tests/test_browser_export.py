"""Browser checks of the test helper itself and of the export panel across reruns (headless Chromium)."""

from __future__ import annotations

import io
import json
import textwrap
import time
import zipfile

import pytest
from browser import (assert_no_exception, chromium_page, is_running, open_page, require_chromium, set_slider,
                     streamlit_app, wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _script(tmp_path, body: str) -> str:
    p = tmp_path / "app_under_test.py"
    p.write_text(textwrap.dedent(body))
    return str(p)


def test_wait_idle_waits_for_the_run_and_an_exception_box_is_caught(data_root, tmp_path):
    require_chromium()
    script = _script(tmp_path, """
        import time
        import streamlit as st
        st.write("started")
        time.sleep(4)
        raise ValueError("boom-from-browser-test")
    """)
    with streamlit_app(data_root, script=script) as url, chromium_page() as page:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("started").wait_for(timeout=60_000)
        t0 = time.time()
        while not is_running(page) and time.time() - t0 < 3:  # the widget shows a moment after the run starts
            page.wait_for_timeout(50)
        assert is_running(page), "Streamlit's running state (Stop button / 'Running...' icon) was not seen"
        wait_idle(page)
        assert time.time() - t0 > 2.0 and not is_running(page)
        with pytest.raises(AssertionError, match="boom-from-browser-test"):
            assert_no_exception(page)


def test_export_panel_downloads_stay_valid_across_reruns(data_root, blob_dataset, tmp_path):
    require_chromium()
    script = _script(tmp_path, """
        import streamlit as st
        from coldstart.data import Dataset
        from coldstart.ui.export_view import export_panel
        n = st.slider("How many", 1, 10, 5)
        export_panel(Dataset("blobs"), list(range(n)), key="t", name="picks")
    """)
    with streamlit_app(data_root, script=script) as url, chromium_page() as page:
        open_page(page, url, wait_text="Selection (CSV)")
        # reruns: the URL mode and the slider change the page under the buttons
        page.get_by_text("an HTTP server (coldstart serve-images)").click()
        wait_idle(page)
        page.get_by_text("Label Studio's local storage (no extra server)").click()
        wait_idle(page)
        set_slider(page, "How many", 7)
        wait_idle(page)
        got = {}
        for label in ("Selection (CSV)", "Label Studio bundle (ZIP)", "Images in class folders (ZIP)"):
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name=label).click()
            got[label] = (dl.value.suggested_filename, open(dl.value.path(), "rb").read())
            wait_idle(page)
        assert_no_exception(page)
        name, csv = got["Selection (CSV)"]
        assert name == "blobs-picks.csv" and csv.decode().count("\n") == 8  # header + the 7 picks
        name, data = got["Label Studio bundle (ZIP)"]
        z = zipfile.ZipFile(io.BytesIO(data))
        assert name == "blobs-picks-labelstudio.zip"
        assert sorted(z.namelist()) == ["HOW_TO_SERVE.txt", "label_config.xml", "tasks.json"]
        assert len(json.loads(z.read("tasks.json"))) == 7
        assert "/data/local-files/?d=blobs/images/" in z.read("tasks.json").decode()
        assert "selection.csv" in zipfile.ZipFile(io.BytesIO(got["Images in class folders (ZIP)"][1])).namelist()
        bad = [m for m in page.console_messages if "source error" in m or "404" in m]
        assert not bad, bad


def test_train_page_status_stays_live_without_interaction(data_root, blob_dataset, monkeypatch):
    """The run picker and the panel follow a running run by themselves (they used to stay at 'starting… 0/N')."""
    require_chromium()
    import re

    from coldstart.embed import load_embeddings
    from coldstart.runs import RunStore, start_run

    load_embeddings(blob_dataset, "pixels")
    monkeypatch.setenv("COLDSTART_TEST_UNIT_DELAY", "3")  # each part takes >= 3 s
    rid = start_run(dict(dataset="blobs", task="probe", methods=["random", "pixels:kmeans"], budgets=[8, 16],
                         seeds=[0, 1, 2], n_bootstrap=20), background=True)
    store = RunStore("blobs", rid)
    try:
        with streamlit_app(data_root) as url, chromium_page() as page:
            open_page(page, url, "Train", wait_text="Which run to watch")
            picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Which run to watch")

            def text() -> str:  # the chosen option: shown as text, or as the value of the search input
                inputs = picker.locator("input")
                return picker.inner_text() + " " + " ".join(
                    inputs.nth(k).input_value() or (inputs.nth(k).get_attribute("aria-label") or "")
                    for k in range(inputs.count()))

            def shown() -> int:
                m = re.search(r"(\d+)/12", text())
                return int(m.group(1)) if m else -1

            now = page.get_by_text(re.compile(r"now: (random|kmeans on pixels), seed \d, \d+ images"))
            first, seen_now = shown(), 0
            t0 = time.time()
            while shown() <= max(first, 0) and time.time() - t0 < 60:
                seen_now += now.count()
                page.wait_for_timeout(500)  # no clicks: only the page's own polling can change it
            assert shown() > max(first, 0), text()
            assert seen_now, "the current part was never shown in words"
            assert page.get_by_text("Current epoch").count() == 0
            assert_no_exception(page)
    finally:
        from coldstart.runs import cancel_run

        if store.status() in ("running", "starting"):
            cancel_run("blobs", rid)
