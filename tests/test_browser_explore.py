"""Home and Explore in a real browser: `streamlit run app.py` driven by headless Debian Chromium.

Screenshots land in tests/artifacts/ (git-ignored). Skips only when no Chromium can be found.
"""

from __future__ import annotations

import re
import time

import pytest

from browser import (assert_no_exception, canvas_drawn, choose_option, chromium_page, exception_texts, is_running,
                     lasso, open_page, require_chromium, screenshot, streamlit_app, wait_idle)
from conftest import make_blob_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served_root(data_root):
    from coldstart import maps
    from coldstart.embed import get_embedder, load_embeddings

    ds = make_blob_dataset("blobs", data_root, n=300, ood_rate=0.05, seed=2)
    feats = load_embeddings(ds, "pixels")
    maps.load_or_compute_map(ds, feats, get_embedder("pixels", ds).key, "pca", 0)
    return data_root


MAP = 'iframe[title*="explore_map"]'  # the Explore map component's frame


def _legend_has(page, text: str, timeout_ms: int = 30_000) -> None:
    """Wait for the map's legend to show ``text``; on a timeout, fail with what the page showed (the
    legend, the toggle, whether Streamlit was still running, errors) and a screenshot in
    tests/artifacts/ (the server's log is beside it, ``streamlit-<port>.log``)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.frame_locator(MAP).locator(".layer-key", has_text=text).first.wait_for(timeout=timeout_ms)
    except PlaywrightTimeout:
        raise AssertionError(f"the map's legend never showed {text!r} within {timeout_ms} ms: {_seen(page)}") from None


def _seen(page) -> dict:
    """What the page shows now, for a failure message (each part best effort)."""
    def get(what):
        try:
            return what()
        except Exception as e:  # noqa: BLE001 - a diagnostic must never hide the failure
            return f"<{type(e).__name__}>"
    frame = page.frame_locator(MAP)
    return {
        "legend": get(lambda: frame.locator(".layer-key").all_inner_texts()),
        "map_status": get(lambda: frame.locator("#status").inner_text(timeout=2000)),
        "map": get(lambda: next(f for f in page.frames if "explore_map" in f.url).evaluate(
            "() => { const S = window.__exploreMap; return {renders: S.renders, budget: S.budget, seq: S.seq, "
            "mount: S.mountId, layers: S.layers.map((L) => L.name)}; }")),
        "toggle_on": get(lambda: page.get_by_role("switch", name="Show a second method on the same map")
                         .is_checked(timeout=2000)),
        "running": get(lambda: is_running(page)),
        "exceptions": get(lambda: exception_texts(page)),
        "js_errors": list(page.js_errors),
        "console": page.console_messages[-10:],
        "screenshot": str(get(lambda: screenshot(page, f"explore_failure_{int(time.time())}"))),
    }


def test_home_and_explore_in_browser(served_root):
    require_chromium()
    with streamlit_app(served_root) as url, chromium_page() as page:
        open_page(page, url, wait_text="Dataset: blobs")
        assert_no_exception(page)
        assert page.get_by_text("What is cold-start selection").count() >= 1
        page.locator('[data-testid="stImage"] img').nth(11).wait_for(timeout=30_000)
        screenshot(page, "home")

        first = open_page(page, url, "Explore", wait_text="Why these picks")
        page.locator(MAP).wait_for()
        frame = next(f for f in page.frames if "explore_map" in f.url)
        assert canvas_drawn(frame, "canvas"), "the map's WebGL canvas was not drawn"
        assert_no_exception(page)
        _legend_has(page, "A: kmeans on pixels (20)")
        screenshot(page, "explore")

        # budget change: the numbered picks follow the slider inside the map, then the panels below
        t0 = time.time()
        page.frame_locator(MAP).locator("#budget").focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        _legend_has(page, "A: kmeans on pixels (30)")
        rerender = time.time() - t0
        page.get_by_text("Stratum coverage").first.wait_for()
        page.locator('[data-testid="stMetricLabel"]', has_text="strata hit").first.wait_for()
        wait_idle(page)
        assert_no_exception(page)

        # method change: another selector, then a second method for comparison
        choose_option(page, "Selector", "typiclust")
        _legend_has(page, "A: typiclust on pixels (30)")
        wait_idle(page)
        page.get_by_text("Show a second method on the same map").click()
        _legend_has(page, "B: random (30)")
        wait_idle(page)
        assert canvas_drawn(frame, "canvas")
        assert_no_exception(page)
        page.get_by_text(re.compile(r"^\d+ of 30$")).first.wait_for()  # the budget reached the panels
        assert page.get_by_text("Picked by both").count() >= 1
        screenshot(page, "explore_compare")

        # a real lasso on the map round-trips to Python and fills the gallery
        lasso(page, MAP, 0.05, 0.95)
        page.get_by_text("Selected on the map (").filter(has_not_text="(0)").first.wait_for(
            timeout=30_000)
        wait_idle(page)
        assert_no_exception(page)
        screenshot(page, "explore_lasso")
        print(f"first paint {first:.2f} s, budget change on the map {rerender:.2f} s")
        assert frame.evaluate("window.__exploreMap.poolDraws") == 1, "the pool was redrawn"
        assert not page.js_errors, page.js_errors
