"""Take the README's page screenshots in headless Chromium on a data root that holds the default pool
and a default run (``COLDSTART_DATA``); writes docs/img/{home,explore,train,compare,label}.png.

Usage: COLDSTART_DATA=/path/to/data .venv/bin/python scripts/readme_screenshots.py
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import (assert_no_exception, choose_option, chromium_page, images_loaded, open_page,  # noqa: E402
                     screenshot, streamlit_app, wait_idle)


def main() -> int:
    data = Path(os.environ["COLDSTART_DATA"])
    out = ROOT / "docs" / "img"
    with streamlit_app(data) as url, chromium_page(width=1440, height=1100) as page:
        open_page(page, url, wait_text="Dataset: phantom")
        assert_no_exception(page)
        shutil.copy(screenshot(page, "readme_home", full_page=False), out / "home.png")

        open_page(page, url, "Explore", wait_text="Why these picks")
        choose_option(page, "Colour by", "subgroup")
        wait_idle(page)
        page.wait_for_timeout(3000)
        assert_no_exception(page)
        shown = images_loaded(page, '[data-testid="stTabPanel"] [data-testid="stImage"] img')
        assert shown >= 20, f"only {shown} of the pick gallery's thumbnails loaded"  # never grey boxes
        shutil.copy(screenshot(page, "readme_explore", full_page=True), out / "explore.png")

        open_page(page, url, "Train", wait_text="Train models")
        page.wait_for_timeout(2000)
        assert_no_exception(page)
        shutil.copy(screenshot(page, "readme_train", full_page=False), out / "train.png")

        open_page(page, url, "Compare", wait_text="Compare")
        page.wait_for_timeout(4000)
        wait_idle(page)
        assert_no_exception(page)
        shutil.copy(screenshot(page, "readme_compare", full_page=True), out / "compare.png")
    print("screenshots written to", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
