"""The Explore map component in headless Chromium (the harness app benchmarks/explore_map_app.py):
the slider inside the map shows exactly the first `budget` picks, the server follows after the
quiet period without remounting the map, stale echoes are ignored, a non-nested method is updated
by the server, a lasso returns ids, and the stratum colours are distinct beyond 10."""

from __future__ import annotations

import re

import pytest

from browser import chromium_page, lasso, require_chromium, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APP = "benchmarks/explore_map_app.py"
IFRAME = 'iframe[title*="explore_map"]'


def _frame(page):
    page.locator(IFRAME).first.wait_for(timeout=90_000)
    page.frame_locator(IFRAME).locator("#overlay g.layer").first.wait_for(state="attached", timeout=90_000)
    return next(f for f in page.frames if "explore_map" in f.url)


def _shown(frame, name: str) -> tuple[int, int]:
    """(data-shown, markers actually displayed) of a layer."""
    return tuple(frame.evaluate("""(name) => {
        const g = Array.from(document.querySelectorAll('#overlay g.layer')).find(e => e.dataset.name === name);
        const vis = Array.from(g.querySelectorAll('.pick')).filter(e => e.style.display !== 'none').length;
        return [+g.getAttribute('data-shown'), vis]; }""", name))


def _set_budget(frame, value: int) -> None:
    frame.evaluate("""(v) => { const i = document.getElementById('budget');
        i.value = v; i.dispatchEvent(new Event('input', {bubbles: true})); }""", value)


def _server_budget(page, value: int) -> None:
    page.get_by_text(f"server budget: {value}", exact=True).wait_for(timeout=30_000)


def test_slider_overlay_follows_exactly(data_root):
    require_chromium()
    env = {"EXPLORE_POINTS": "3000", "EXPLORE_NON_NESTED": "1"}
    with streamlit_app(data_root, script=APP, env=env) as url, chromium_page() as page:
        page.goto(url, wait_until="domcontentloaded")
        frame = _frame(page)
        _server_budget(page, 20)
        assert _shown(frame, "A: nested") == (20, 20)
        mount = frame.evaluate("window.__exploreMap.mountId")

        # real key presses on the range input: one pick more or less each
        slider = page.frame_locator(IFRAME).locator("#budget")
        slider.focus()
        for key, want in [("ArrowRight", 21), ("ArrowRight", 22), ("ArrowLeft", 21), ("End", 200), ("Home", 1)]:
            page.keyboard.press(key)
            assert _shown(frame, "A: nested") == (want, want), key
            assert frame.locator(".layer-key", has_text=f"A: nested ({want})").count() == 1
        for b in (37, 200, 2, 64):
            _set_budget(frame, b)
            assert _shown(frame, "A: nested") == (b, b)
            numbers = frame.evaluate("""() => Array.from(document.querySelectorAll(
                '#overlay g.layer[data-name="A: nested"] .pick')).filter(e => e.style.display !== 'none')
                .map(e => +e.dataset.rank)""")
            assert numbers == list(range(1, b + 1))  # the first b of one order, in rank order

        # the server follows after the quiet period; the method it drives (not nested) follows it
        _server_budget(page, 64)
        frame.locator(".layer-key", has_text="B: per budget (64)").wait_for(timeout=30_000)
        assert _shown(frame, "B: per budget") == (64, 64)
        status = frame.locator("#status").inner_text()  # no error or pending note; crowded numbers are said
        assert status == "" or status.endswith("without a number: hover a marker"), status
        st = frame.evaluate("({m: window.__exploreMap.mountId, p: window.__exploreMap.poolDraws})")
        assert st == {"m": mount, "p": 1}, "the map was remounted or the pool redrawn"

        # a stale echo (a render acknowledging an older slider move) does not move the slider back
        _set_budget(frame, 90)
        frame.evaluate("""() => { const S = window.__exploreMap;
            window.postMessage({type: 'streamlit:render', args: Object.assign({}, S.lastArgs,
                {ack: S.seq - 1, budget: 5})}, '*'); }""")
        frame.wait_for_function("window.__exploreMap.staleIgnored >= 1")
        assert frame.evaluate("+document.getElementById('budget').value") == 90
        assert _shown(frame, "A: nested") == (90, 90)
        _server_budget(page, 90)
        assert frame.evaluate("+document.getElementById('budget').value") == 90

        # hover on a pick shows its own text
        frame.locator('#overlay g.layer[data-name="A: nested"] .pick[data-rank="1"] path').hover(force=True)
        assert "pick #1" in frame.locator("#tip").inner_text()

        # lasso over the middle of the plot returns image ids to Python
        lasso(page, IFRAME, 0.3, 0.7, steps=6)
        sel = page.get_by_text(re.compile(r"selected on the map: \d+"))
        sel.wait_for(timeout=30_000)
        n_sel = int(re.search(r"\d+", sel.inner_text()).group())
        assert 0 < n_sel < 3000
        assert frame.evaluate("window.__exploreMap.selected.length") == n_sel
        assert frame.evaluate("window.__exploreMap.mountId") == mount

        # a remounted frame (reloaded by the browser) asks for the pool the server no longer sends
        assert frame.evaluate("window.__exploreMap.lastArgs.has_data") is False  # reruns no longer carry it
        frame.evaluate("location.reload()")
        frame = _frame(page)
        frame.wait_for_function("window.__exploreMap.poolDraws === 1 && window.__exploreMap.budget === 90")
        assert _shown(frame, "A: nested") == (90, 90)

        # the stratifier's 12 categories get 12 different colours
        colors = frame.evaluate("""() => Array.from(document.querySelectorAll('#catlegend .swatch'))
            .map(e => e.style.background)""")
        assert len(colors) == 12 and len(set(colors)) == 12
        assert not page.js_errors, page.js_errors
