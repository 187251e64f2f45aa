"""The whole flow in a real browser: home -> Explore -> Train (tiny run) -> Compare -> Label.

Screenshots land in ``tests/artifacts/flow-*.png``. ``run_flow`` is also used by hand to time
the default probe comparison on the phantom pool (see the README).
"""

from __future__ import annotations

import time

import pytest
from browser import (assert_no_exception, chromium_page, open_page, require_chromium, screenshot,
                     streamlit_app, wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True).first
    box.fill(value)
    box.press("Tab")


def run_flow(page, url: str, budgets: str = "10,20", seeds: int = 2, prefix: str = "flow",
             run_timeout_s: float = 300, n_labels: int = 2) -> dict:
    """Drive the app through the flow; returns timings in seconds."""
    out = {}
    open_page(page, url)
    assert_no_exception(page)
    screenshot(page, f"{prefix}-home")

    open_page(page, url, "Explore")
    assert_no_exception(page)
    screenshot(page, f"{prefix}-explore")

    # ---- Train: start a run with the prefilled methods
    open_page(page, url, "Train", wait_text="Train models on each selection")
    assert_no_exception(page)
    _fill(page, "Budgets (images labelled)", budgets)
    _fill(page, "Seeds (repeats)", str(seeds))
    t0 = time.time()
    page.get_by_role("button", name="Start run").click()
    page.get_by_text("started in the background").first.wait_for(timeout=60_000)
    screenshot(page, f"{prefix}-train-running")
    page.get_by_text("Compare results").first.wait_for(timeout=int(run_timeout_s * 1000))
    wait_idle(page)
    out["run_s"] = time.time() - t0
    assert_no_exception(page)
    screenshot(page, f"{prefix}-train")

    # ---- Compare: the table and the error-bar chart are visible
    open_page(page, url, "Compare", wait_text="Compare selection methods")
    page.locator('[data-testid="stMarkdown"] table').first.wait_for(timeout=60_000)
    page.locator('[data-testid="stPlotlyChart"] g.errorbar').first.wait_for(state="attached", timeout=60_000)
    out["train_to_compare_s"] = time.time() - t0
    wait_idle(page)
    assert_no_exception(page)
    header = page.locator('[data-testid="stMarkdown"] table th').all_inner_texts()
    assert header[0].strip() == "method" and budgets.split(",")[0] in [h.strip() for h in header]
    assert page.locator('[data-testid="stMarkdown"] table strong').count() >= 1  # best per column in bold
    screenshot(page, f"{prefix}-compare")

    # ---- Label: start a session and label images; the curve and the counter update
    open_page(page, url, "Label", wait_text="Label images yourself")
    _fill(page, "Your name", "Alice")
    page.get_by_role("button", name="Start labelling").click()
    page.get_by_text("What does this image show?").first.wait_for(timeout=60_000)
    wait_idle(page)
    for k in range(n_labels):
        btn = page.get_by_role("button", name="normal" if k % 2 == 0 else "pneumothorax", exact=True).first
        btn.click()
        page.get_by_text(f"#{k + 2} for you").first.wait_for(timeout=60_000)
        wait_idle(page)
    assert_no_exception(page)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Images you labelled").first
    assert metric.inner_text().strip().endswith(str(n_labels))
    assert page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace').count() >= 1
    screenshot(page, f"{prefix}-label")
    return out


def test_browser_flow(data_root):
    require_chromium()
    from conftest import make_blob_dataset

    from coldstart.embed import load_embeddings

    ds = make_blob_dataset("blobs", data_root, n=80)
    load_embeddings(ds, "pixels")
    with streamlit_app(data_root) as url, chromium_page() as page:
        t = run_flow(page, url)
        assert not page.js_errors, page.js_errors
    assert t["train_to_compare_s"] < 300
