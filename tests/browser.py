"""Reusable helpers for browser tests: a real ``streamlit run app.py`` driven by headless Chromium.

Usage in a test module (``tests/`` is on ``sys.path`` under pytest)::

    import pytest
    from browser import require_chromium, streamlit_app, chromium_page, open_page, \
        wait_idle, assert_no_exception, screenshot

    pytestmark = [pytest.mark.browser, pytest.mark.slow]

    def test_home(data_root, blob_dataset):
        require_chromium()
        with streamlit_app(data_root) as url, chromium_page() as page:
            open_page(page, url)                    # home; open_page(page, url, "Explore") for a page
            assert_no_exception(page)
            screenshot(page, "home")

Chromium is Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``); Playwright's own
browser download is never used. Tests skip with a clear reason only when no browser is found.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
# Streamlit's DOM test ids (stable across 1.4x-1.6x)
EXCEPTION_SEL = '[data-testid="stException"]'
STATUS_SEL = '[data-testid="stStatusWidget"]'
APP_SEL = '[data-testid="stApp"]'
# While a script runs, Streamlit 1.67 shows in its status widget an icon labelled "Running..." and a
# "Stop" button (older versions wrote "Running..." as text): any of them means "not idle yet".
RUNNING_JS = """() => {
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (!w) return false;
  if (w.querySelector('[data-testid="stStatusWidgetRunningIcon"], [aria-label^="Running"]')) return true;
  if (Array.from(w.querySelectorAll('button')).some(b => b.innerText.trim() === 'Stop')) return true;
  return /Running/.test(w.innerText);
}"""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None. ``$CHROMIUM`` overrides."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for p in CHROMIUM_CANDIDATES:
        if Path(p).exists():
            return p
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The Chromium path, or skip the test saying how to get one."""
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (looked at /usr/bin/chromium, $CHROMIUM and PATH): "
                    "install it with `apt-get install -y chromium` (.ci/run does this)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def streamlit_app(data_root, script: str = "app.py", port: int | None = None,
                  env: dict | None = None, timeout: float = 90.0):
    """Run ``streamlit run <script>`` on a free port against ``data_root``; yield its base URL.

    The server's output goes to ``tests/artifacts/streamlit-<port>.log`` (printed on failure to start).
    The process group is terminated on exit.
    """
    port = port or free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"streamlit-{port}.log"
    e = dict(os.environ, COLDSTART_DATA=str(data_root), PYTHONUNBUFFERED="1",
             STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    e.update(env or {})
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / script),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=e, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while not _healthy(url):
            if proc.poll() is not None or time.time() - t0 > timeout:
                raise RuntimeError(f"streamlit did not start (rc={proc.poll()}):\n"
                                   + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.25)
        yield url
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@contextmanager
def chromium_page(width: int = 1440, height: int = 1000, timeout_ms: int = 60_000):
    """A Playwright page in headless Debian Chromium; closes everything on exit."""
    from playwright.sync_api import sync_playwright

    exe = require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": width, "height": height},
                                      device_scale_factor=1)
            page = ctx.new_page()
            page.set_default_timeout(timeout_ms)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.js_errors = errors  # type: ignore[attr-defined]
            console: list[str] = []  # e.g. "Client Error: Download Button source error - <url>"
            page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
            page.console_messages = console  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()


def is_running(page) -> bool:
    """True while Streamlit shows its running state (icon labelled "Running...", a "Stop" button)."""
    return bool(page.evaluate(RUNNING_JS))


def wait_idle(page, timeout_ms: int = 60_000, settle_ms: int = 300) -> None:
    """Wait until the app is rendered and Streamlit's running state is gone (twice, ``settle_ms`` apart)."""
    page.wait_for_selector(APP_SEL, timeout=timeout_ms)
    deadline = time.time() + timeout_ms / 1000
    # the status widget may appear a moment after an interaction: give it a chance
    page.wait_for_timeout(settle_ms)
    while time.time() < deadline:
        if not is_running(page):
            page.wait_for_timeout(settle_ms)
            if not is_running(page):
                return
        page.wait_for_timeout(100)
    raise TimeoutError(f"app still running after {timeout_ms} ms")


def open_page(page, base_url: str, name: str = "", timeout_ms: int = 90_000,
              wait_text: str | None = None) -> float:
    """Open the home page (``name=""``) or a page by its URL name (``"Explore"``); wait until idle.

    Returns the seconds from navigation until ``wait_text`` (or the idle app) is visible.
    """
    t0 = time.time()
    page.goto(f"{base_url}/{name}", wait_until="domcontentloaded")
    if wait_text:
        page.get_by_text(wait_text, exact=False).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    return time.time() - t0


def exception_texts(page) -> list[str]:
    return [t.strip()[:500] for t in page.locator(EXCEPTION_SEL).all_inner_texts()]


def assert_no_exception(page) -> None:
    """Fail with the exception's text if Streamlit shows an exception box."""
    exc = exception_texts(page)
    assert not exc, f"Streamlit exception on the page: {exc}"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save ``tests/artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p = ARTIFACTS / f"{name}.png"
    if not full_page:
        page.screenshot(path=str(p))
        return p
    # Streamlit scrolls inside its main section, so grow the viewport to the content's height.
    vp = page.viewport_size
    h = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]')
                                   || document.querySelector('section.main');
                                 return m ? m.scrollHeight : document.body.scrollHeight; }""")
    page.set_viewport_size({"width": vp["width"], "height": max(vp["height"], min(int(h), 6000))})
    page.wait_for_timeout(500)
    try:
        page.screenshot(path=str(p))
    finally:
        page.set_viewport_size(vp)
    return p


def canvas_drawn(page, selector: str = '[data-testid="stPlotlyChart"] canvas') -> bool:
    """True if a (WebGL) canvas inside a Plotly chart exists with a non-zero size."""
    page.wait_for_selector(selector, timeout=30_000, state="attached")
    return bool(page.evaluate(
        """(sel) => Array.from(document.querySelectorAll(sel))
              .some(c => c.width > 0 && c.height > 0)""", selector))


def set_slider(page, label: str, value: float, timeout_ms: int = 30_000) -> None:
    """Move the Streamlit ``st.slider`` labelled ``label`` to ``value`` (keyboard on its range input)."""
    inp = page.locator('[data-testid="stSlider"]').filter(has_text=label).locator(
        'input[type="range"]').first
    inp.wait_for(timeout=timeout_ms, state="attached")
    cur = float(inp.get_attribute("value") or inp.input_value())
    if value == cur:
        return
    inp.focus()
    key = "ArrowRight" if value > cur else "ArrowLeft"
    step = float(inp.get_attribute("step") or 1)
    for _ in range(int(round(abs(value - cur) / step))):
        page.keyboard.press(key)
    got = float(inp.get_attribute("value") or inp.input_value())
    if got != value:
        raise AssertionError(f"slider {label!r} is at {got}, wanted {value}")


def choose_option(page, label: str, option: str, nth: int = 0, timeout_ms: int = 30_000) -> None:
    """Pick ``option`` in the ``nth`` Streamlit ``st.selectbox`` labelled ``label`` (a combobox)."""
    box = page.get_by_role("combobox", name=label, exact=True).nth(nth)
    box.wait_for(timeout=timeout_ms)
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click(timeout=timeout_ms)


def lasso(page, frame_selector: str, lo: float, hi: float, steps: int = 8) -> None:
    """Draw a real lasso on the Plotly map inside the component frame ``frame_selector``: a square
    from ``lo`` to ``hi`` (fractions of the plot area), closed where it started."""
    drag = page.frame_locator(frame_selector).locator(".nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + lo * w, y0 + lo * h)
    page.mouse.down()
    for fx, fy in [(hi, lo), (hi, hi), (lo, hi), (lo, lo + 0.01)]:
        page.mouse.move(x0 + fx * w, y0 + fy * h, steps=steps)
    page.mouse.up()


MAP_FRAME = 'iframe[title*="explore_map"]'  # the Explore map component's frame


def map_frame(page, timeout_ms: int = 60_000):
    """The Explore map component's frame, once its overlay is attached."""
    page.frame_locator(MAP_FRAME).locator("#overlay g.layer").first.wait_for(state="attached", timeout=timeout_ms)
    return next(f for f in page.frames if "explore_map" in f.url)


def images_loaded(page, selector: str = '[data-testid="stImage"] img', timeout_ms: int = 30_000) -> int:
    """How many images matching ``selector`` have loaded (``naturalWidth > 0``), once all of them
    have or ``timeout_ms`` has passed (a broken or never-fetched image keeps the count short)."""
    js = f"""() => Array.from(document.querySelectorAll({selector!r})).map(i => i.complete && i.naturalWidth > 0)"""
    deadline = time.time() + timeout_ms / 1000
    while True:
        got = page.evaluate(js)
        if (got and all(got)) or time.time() > deadline:
            return sum(got)
        page.wait_for_timeout(200)


def scroll_to_top(page) -> None:
    """Scroll Streamlit's main section to the top (a select box opened far from the viewport can
    close again as the page scrolls to it)."""
    page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
                              (m || document.scrollingElement).scrollTo(0, 0); }""")
    page.wait_for_timeout(200)


#: Requests that stay on this machine: the app's own server, and inline data the page builds itself.
LOCAL_PREFIXES = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")


def record_network(page) -> dict:
    """Start recording ``page``'s network: every request URL, failed requests and 4xx/5xx responses.

    Returns the dict the listeners fill (``requests``, ``failed``, ``bad``); read it after navigating.
    WebSocket connections are recorded as requests too (``page.on("websocket")``).
    """
    net: dict = {"requests": [], "failed": [], "bad": []}
    page.on("request", lambda r: net["requests"].append(r.url))
    page.on("websocket", lambda ws: net["requests"].append(ws.url))
    page.on("requestfailed", lambda r: net["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: net["bad"].append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return net


def outside_requests(net: dict) -> list[str]:
    """The recorded requests that would leave 127.0.0.1."""
    return [u for u in net["requests"] if not u.startswith(LOCAL_PREFIXES)]
