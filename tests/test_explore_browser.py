"""Explore in headless Chromium: the pick gallery's thumbnails load (and stay loaded as controls
rerun parts of the page), the map stays mounted, and pick numbers never overlap."""

from __future__ import annotations

import pytest

from browser import (assert_no_exception, choose_option, chromium_page, images_loaded, map_frame,
                     open_page, require_chromium, scroll_to_top, streamlit_app, wait_idle)
from conftest import make_blob_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PICKS_IMG = '[data-testid="stTabPanel"] [data-testid="stImage"] img'
SRCS_JS = "() => Array.from(document.querySelectorAll('%s')).map(i => i.src)" % PICKS_IMG


@pytest.fixture
def served_root(data_root):
    from coldstart import maps
    from coldstart.embed import get_embedder, load_embeddings

    ds = make_blob_dataset("blobs", data_root, n=400, ood_rate=0.05, seed=3)
    feats = load_embeddings(ds, "pixels")
    maps.load_or_compute_map(ds, feats, get_embedder("pixels", ds).key, "pca", 0)
    return data_root


def test_gallery_thumbnails_load_and_stay_loaded(served_root):
    require_chromium()
    with streamlit_app(served_root) as url, chromium_page() as page:
        open_page(page, url, "Explore", wait_text="The picks")
        frame = map_frame(page)
        assert images_loaded(page, PICKS_IMG) == 20, "the pick gallery's thumbnails did not load"
        mount = frame.evaluate("window.__exploreMap.mountId")
        draws = frame.evaluate("window.__exploreMap.poolDraws")

        # colour: the map redraws its pool's colours in place; the gallery keeps its images
        srcs = page.evaluate(SRCS_JS)
        choose_option(page, "Colour by", "split")
        frame.locator("#catlegend", has_text="split:").wait_for()
        wait_idle(page)
        assert page.evaluate(SRCS_JS) == srcs and images_loaded(page, PICKS_IMG) == 20
        assert frame.evaluate("window.__exploreMap.poolDraws") == draws + 1

        # find an image: the map rings it, the gallery frames it
        box = page.get_by_role("combobox", name="Find an image on the map (ringed in black; type an id)")
        box.click()
        page.keyboard.type(_first_pick_id(page))
        page.keyboard.press("Enter")
        frame.locator("circle.highlight").first.wait_for(state="attached")
        wait_idle(page)
        assert images_loaded(page, PICKS_IMG) == 20

        # a method change redraws the picks' parts; the thumbnails of the new picks load too
        srcs = page.evaluate(SRCS_JS)
        scroll_to_top(page)
        choose_option(page, "Selector", "random")
        frame.locator(".layer-key", has_text="A: random (20)").wait_for()
        wait_idle(page)
        assert page.evaluate(SRCS_JS) != srcs  # other picks, other thumbnails: loaded too
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
