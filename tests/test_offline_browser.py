"""Offline means offline: no page of the dashboard makes a request that leaves 127.0.0.1.

Every page is opened in headless Chromium on a pool with embeddings, and every request the page makes
(documents, scripts, images, favicons, WebSockets, component iframes) is recorded with Playwright's
``page.on("request")``. The only error responses allowed are Streamlit's own health and host-config
probes under a page's URL when that page is opened directly (streamlit/streamlit#7074: the frontend
tries ``/<page>/_stcore/...`` before ``/_stcore/...``); they stay on 127.0.0.1.
"""

from __future__ import annotations

import re

import pytest

from browser import (assert_no_exception, chromium_page, open_page, outside_requests, record_network,
                     require_chromium, streamlit_app)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ["", "Explore", "Train", "Compare", "Label"]
KNOWN_404 = re.compile(r"^404 http://127\.0\.0\.1:\d+/(Explore|Train|Compare|Label)/_stcore/(health|host-config)$")


def test_no_request_leaves_the_machine(data_root, blob_dataset):
    from coldstart.embed import load_embeddings

    require_chromium()
    load_embeddings(blob_dataset, "pixels")
    with streamlit_app(data_root) as url, chromium_page() as page:
        net = record_network(page)
        for name in PAGES:
            open_page(page, url, name, timeout_ms=180_000)
            page.wait_for_timeout(1500)  # late requests (favicons, component assets)
            assert_no_exception(page)
        # and by the sidebar, as a user moves between pages
        page.get_by_role("link", name="Train").first.click()
        page.wait_for_timeout(2000)
    assert len(net["requests"]) > 20, net["requests"]  # the recording works
    assert outside_requests(net) == [], outside_requests(net)
    assert not [f for f in net["failed"] if "127.0.0.1" not in f], net["failed"]
    assert [b for b in net["bad"] if not KNOWN_404.match(b)] == [], net["bad"]
    console = [c for c in page.console_messages if "ERR_NAME_NOT_RESOLVED" in c or "fonts.gstatic" in c]
    assert console == []


def test_record_network_sees_an_outside_request():
    """The check can fail: a page that asks an outside host for an image is caught."""
    require_chromium()
    with chromium_page() as page:
        net = record_network(page)
        page.set_content('<img src="https://example.invalid/x.png">')
        page.wait_for_timeout(1500)
    assert outside_requests(net) == ["https://example.invalid/x.png"]
