"""A page opened by its own URL, as the first request of a fresh server (the link a teacher gives
students is ``/Classroom?...``), shows the dashboard's sidebar (``coldstart.ui.navigation.PAGES``, with
icons), not Streamlit's automatic ``pages/`` list with an extra "app" entry, and keeps its query."""

from __future__ import annotations

import pytest

from browser import assert_no_exception, chromium_page, open_page, require_chromium, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _sidebar(page) -> list[str]:
    return [t.split()[-1] for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def test_a_page_opened_by_its_url_has_the_apps_sidebar(data_root, blob_dataset):
    from coldstart.ui.navigation import PAGES

    require_chromium()
    titles = [title for _, title, _ in PAGES]
    with streamlit_app(data_root) as url, chromium_page() as page:
        for name in ("Classroom", "Label", "Compare"):  # never the home page first
            open_page(page, url, f"{name}?probe=1", timeout_ms=180_000)
            page.wait_for_timeout(1000)
            assert_no_exception(page)
            assert _sidebar(page) == titles, (name, _sidebar(page))
            assert page.locator('[data-testid="stSidebarNav"] a [data-testid="stIconMaterial"]').count() \
                == len(titles), "the sidebar's icons are missing (Streamlit's automatic page list)"
            assert page.url.endswith(f"/{name}?probe=1"), page.url
