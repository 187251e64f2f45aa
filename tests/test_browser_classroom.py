"""Classroom in a real browser: a teacher creates a classroom, two students label in their own browser
contexts, the teacher's view shows both; a forged seat in the URL opens nothing."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from browser import CHROMIUM_ARGS, assert_no_exception, open_page, require_chromium, streamlit_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PW = "teach-me-42"


@contextmanager
def chromium(n_contexts: int):
    """One headless Chromium with ``n_contexts`` separate contexts (cookies, storage: separate people)."""
    from playwright.sync_api import sync_playwright

    exe = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            pages = []
            for _ in range(n_contexts):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.set_default_timeout(60_000)
                pages.append(ctx.new_page())
            yield pages
        finally:
            browser.close()


def join(page, url: str, code: str, name: str) -> str:
    open_page(page, url, "Classroom", wait_text="Join a class")
    page.get_by_label("Classroom code").fill(code)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    page.wait_for_url(re.compile(r"seat="), timeout=90_000)
    page.locator(".st-key-cls_btn_0 button").wait_for(timeout=90_000)
    wait_idle(page)
    return page.url


def label(page, k: int, n_before: int) -> None:
    page.locator(f".st-key-cls_btn_{k} button").click()
    page.get_by_text(f"{n_before + 1} images labelled").first.wait_for(timeout=60_000)
    wait_idle(page)


def test_two_students_and_a_teacher(data_root, blob_dataset):
    from coldstart.embed import load_embeddings

    load_embeddings(blob_dataset, "pixels")
    with streamlit_app(data_root) as url, chromium(3) as (teacher, alice, bob):
        open_page(teacher, url, "Classroom", wait_text="I am")
        teacher.get_by_text("the teacher", exact=True).click()
        teacher.get_by_label("Classroom title (shown to students)").wait_for()
        teacher.get_by_label("Classroom title (shown to students)").fill("Monday")
        teacher.get_by_label("Teacher password").first.fill(PW)
        teacher.get_by_role("button", name="Create classroom").click()
        teacher.get_by_text("Code:").first.wait_for(timeout=90_000)
        wait_idle(teacher)
        assert_no_exception(teacher)
        code = re.search(r"Code: ([A-Z0-9]{6})", teacher.inner_text("body")).group(1)

        alice_url = join(alice, url, code, "Alice")
        join(bob, url, code, "Bob")
        for k in range(3):
            label(alice, k % 2, k)
        for k in range(2):
            label(bob, 1 - k % 2, k)
        assert_no_exception(alice)
        assert_no_exception(bob)
        # each student sees their own count only
        assert "3 images labelled" in alice.inner_text("body") and "Bob" not in alice.inner_text("body")

        teacher.get_by_text("2 students · 5 labels").first.wait_for(timeout=30_000)  # the live refresh
        assert teacher.locator('[data-testid="stDataFrame"]').count() >= 1  # the per-student table (a canvas)
        assert_no_exception(teacher)

        # a reload (or a server restart) keeps the seat: the address holds the seat key
        alice.goto(alice_url)
        alice.get_by_text("3 images labelled").first.wait_for(timeout=60_000)
        # a forged seat key opens nothing
        forged = re.sub(r"seat=[A-Z0-9]+", "seat=FORGEDKEY2", alice_url)
        bob.goto(forged)
        bob.get_by_text("is not a seat").first.wait_for(timeout=60_000)
        assert bob.locator(".st-key-cls_btn_0").count() == 0
