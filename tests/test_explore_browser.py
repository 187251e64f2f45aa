"""Explore in headless Chromium: the pick gallery's thumbnails load, each control redraws only the
parts that depend on it (the others keep their DOM nodes), and pick numbers never overlap."""

from __future__ import annotations

import pytest

from browser import (assert_no_exception, choose_option, chromium_page, images_loaded, map_frame,
                     open_page, require_chromium, streamlit_app, wait_idle)
from conftest import make_blob_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PICKS_IMG = '[data-testid="stTabPanel"] [data-testid="stImage"] img'
# tag the gallery's first image and the coverage table so a later check sees whether they were redrawn
TAG_JS = """() => { const i = document.querySelector('%s'); if (i) i.__kept = true;
  const t = Array.from(document.querySelectorAll('[data-testid="stMetricValue"]')); t.forEach(e => e.__kept = true);
  return !!i; }""" % PICKS_IMG
KEPT_JS = """() => { const i = document.querySelector('%s');
  return {gallery: !!(i && i.__kept),
          metrics: Array.from(document.querySelectorAll('[data-testid="stMetricValue"]')).some(e => e.__kept)}; }""" \
    % PICKS_IMG


@pytest.fixture
def served_root(data_root):
    from coldstart import maps
    from coldstart.embed import get_embedder, load_embeddings

    ds = make_blob_dataset("blobs", data_root, n=400, ood_rate=0.05, seed=3)
    feats = load_embeddings(ds, "pixels")
    maps.load_or_compute_map(ds, feats, get_embedder("pixels", ds).key, "pca", 0)
    return data_root


def test_gallery_loads_and_controls_redraw_only_their_parts(served_root):
    require_chromium()
    with streamlit_app(served_root) as url, chromium_page() as page:
        open_page(page, url, "Explore", wait_text="The picks")
        frame = map_frame(page)
        assert images_loaded(page, PICKS_IMG) == 20, "the pick gallery's thumbnails did not load"
        mount = frame.evaluate("window.__exploreMap.mountId")
        draws = frame.evaluate("window.__exploreMap.poolDraws")

        # colour: only the map redraws (its pool colours); gallery and panels keep their nodes
        assert page.evaluate(TAG_JS)
        choose_option(page, "Colour by", "split")
        frame.locator("#catlegend", has_text="split:").wait_for()
        wait_idle(page)
        assert page.evaluate(KEPT_JS) == {"gallery": True, "metrics": True}
        assert frame.evaluate("window.__exploreMap.poolDraws") == draws + 1

        # find an image: the map rings it, the gallery redraws, the diagnostics do not
        page.evaluate(TAG_JS)
        choose_option(page, "Find an image on the map (ringed in black; type an id)", _first_pick_id(page))
        frame.locator("circle.highlight").first.wait_for(state="attached")
        wait_idle(page)
        assert page.evaluate(KEPT_JS)["metrics"] is True

        # a method change redraws the picks' parts; the thumbnails of the new picks load too
        page.evaluate(TAG_JS)
        choose_option(page, "Selector", "random")
        frame.locator(".layer-key", has_text="A: random (20)").wait_for()
        wait_idle(page)
        assert page.evaluate(KEPT_JS)["gallery"] is False
        assert images_loaded(page, PICKS_IMG) == 20
        assert frame.evaluate("window.__exploreMap.mountId") == mount, "the map was remounted"
        assert_no_exception(page)
        assert not page.js_errors, page.js_errors


def _first_pick_id(page) -> str:
    cap = page.locator('[data-testid="stTabPanel"] [data-testid="stImageCaption"]').first.inner_text()
    return cap.split("·")[0].strip()


OVERLAP_JS = """() => {
  const boxes = Array.from(document.querySelectorAll('#overlay g.label'))
    .filter((g) => g.style.display !== 'none').map((g) => g.querySelector('text').getBBox());
  let bad = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) bad++;
  }
  return {labels: boxes.length, overlaps: bad, unlabelled: window.__exploreMap.unlabelled,
          shown: document.querySelectorAll('#overlay g.pick:not([style*="none"])').length};
}"""


def test_pick_numbers_never_overlap(served_root):
    """At the largest budget the numbers are crowded: every shown pick has its own number or is
    counted as unlabelled (said in the map's status line), and no two numbers overlap."""
    require_chromium()
    with streamlit_app(served_root) as url, chromium_page() as page:
        open_page(page, url, "Explore", wait_text="The picks")
        frame = map_frame(page)
        frame.evaluate("""(b) => { const i = document.getElementById('budget'); i.value = b;
                                     i.dispatchEvent(new Event('input', {bubbles: true})); }""", 100)
        frame.locator(".layer-key", has_text="(100)").wait_for()
        got = frame.evaluate(OVERLAP_JS)
        assert got["shown"] == 100 and got["overlaps"] == 0, got
        assert got["labels"] + got["unlabelled"] == 60, got  # the first 60 picks are numbered (label_limit)
        assert got["labels"] >= 30, got
        if got["unlabelled"]:
            assert "without a number" in frame.locator("#status").inner_text()
