"""Take the README's Classroom screenshots in headless Chromium on the default phantom pool
(``COLDSTART_DATA``, default ``./data``); writes docs/img/classroom_student.png and classroom_teacher.png.

A classroom (round-robin over random, kmeans-paper, typiclust on the default embedder) gets 9 simulated
students labelling 12-18 images each through the package (90% of their labels are the ground truth), so
the teacher's view has bands; then one student joins and labels in the browser, and the teacher logs in.

Usage: PYTHONPATH=. .venv/bin/python scripts/classroom_screenshots.py
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import (CHROMIUM_ARGS, assert_no_exception, find_chromium, open_page, screenshot,  # noqa: E402
                     streamlit_app, wait_idle)

PW = "screenshot-pw"


def main() -> int:
    from playwright.sync_api import sync_playwright

    from coldstart import classroom as cr
    from coldstart.data.dataset import Dataset
    from coldstart.embed import load_embeddings
    from coldstart.embed.registry import default_embedder
    from coldstart.paths import data_root

    root = data_root()
    ds = Dataset("phantom", root)
    emb = default_embedder(ds)[0]
    feats = np.asarray(load_embeddings(ds, emb))
    room = cr.create_classroom(ds, "Monday radiology", PW, embedder=emb, n_coldstart=10,
                               question="Does this chest film show a pneumothorax?")
    rng = np.random.default_rng(0)
    for k, name in enumerate(["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo"]):
        s = cr.join(ds, room.code, name, feats, embedding_key=None).session
        for _ in range(int(rng.integers(12, 19))):
            i = s.next_item()["index"]
            y = int(ds.labels[i])
            s.add_label(i, y if rng.random() < 0.9 else 1 - y)
    out = ROOT / "docs" / "img"
    with streamlit_app(root) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, headless=True)
        student = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        student.set_default_timeout(120_000)
        open_page(student, url, "Classroom", wait_text="Join a class")
        student.get_by_label("Classroom code").fill(room.code)
        student.get_by_label("Your name").fill("Juno")
        student.get_by_role("button", name="Join").click()
        student.locator(".st-key-cls_btn_0 button").wait_for()
        truth = dict(zip(ds.ids.astype(str), ds.labels.astype(int)))
        for n in range(14):
            # the count is drawn before the new image: wait for the image's own caption, not the old one's
            student.get_by_text(f"(#{n + 1} for you)").first.wait_for()
            cap = student.locator('[data-testid="stImageCaption"]').first.inner_text()
            y = truth[re.search(r"Image (\S+) \(", cap).group(1)]
            student.locator(f".st-key-cls_btn_{y} button").click()
            student.get_by_text(f"· {n + 1} images labelled").first.wait_for()
        wait_idle(student)
        student.get_by_text("Which strata do your labels cover?").click()
        wait_idle(student)
        student.wait_for_timeout(1500)
        assert_no_exception(student)
        shutil.copy(screenshot(student, "readme_classroom_student", full_page=True), out / "classroom_student.png")

        teacher = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        teacher.set_default_timeout(120_000)
        open_page(teacher, url, "Classroom", wait_text="I am")
        teacher.get_by_text("the teacher", exact=True).click()
        teacher.get_by_text("Open your classroom").wait_for()
        wait_idle(teacher)  # typed before the rerun ends, the code would be wiped by it
        teacher.get_by_label("Classroom code").last.fill(room.code)
        teacher.get_by_label("Teacher password").last.fill(PW)
        teacher.get_by_test_id("stBaseButton-secondaryFormSubmit").filter(has_text="Open").click()  # the
        # dropdowns' arrows are buttons named "Open" too
        teacher.get_by_text("10 students").first.wait_for()
        wait_idle(teacher)
        teacher.wait_for_timeout(2500)
        assert_no_exception(teacher)
        shutil.copy(screenshot(teacher, "readme_classroom_teacher", full_page=True), out / "classroom_teacher.png")
        browser.close()
    print("screenshots written to", out, "classroom", room.code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
