"""Explore map speed in headless Chromium (software GL): budget changes and other widgets.

Two parts, one browser:

1. **Map component** (``benchmarks/explore_map_app.py``: the component alone on a synthetic pool of
   ``--points`` images, 200 nested picks). A budget change is timed *inside the page*: from the
   slider's ``input`` event until the frame after the overlay changed has been painted
   (``requestAnimationFrame`` + ``setTimeout 0``), then until the server's rerun has come back
   (``roundtrip``: it includes the component's 150 ms quiet period by design). The same is done in
   ``--sessions`` browser contexts at once (each its own Streamlit session), all changing the
   budget at the same instant. ``pool_redraws`` counts Plotly draws of the pool after the first
   (0 = the map was never redrawn or remounted).
2. **The Explore page** on PneumoniaMNIST (5,030 images, pool "all images", pixel embeddings and a
   UMAP map cached first): each other widget (colour, second method, its selector, a lasso, the
   budget reaching the panels) timed from the interaction (a lasso: its release; the gesture before
   it is ``lasso_gesture_ms``) until the page shows the result and Streamlit's running indicator is
   gone; beside each wall time, the CPU seconds the server and the browser spent on it (``*_cpu_s``,
   from /proc: comparable across machine loads, since on a shared machine the wall time mostly
   measures waiting for a core), the time the map component itself spent rendering
   (``*_map_render_ms``) and the Python milliseconds of each part of the page it reran
   (``*_parts_ms``, from the server's ``COLDSTART_EXPLORE_TIMING`` lines). ``--no-page`` skips it.

Usage::

    python benchmarks/explore_render.py --points 20000 --sessions 5 --json

The last line of output is one JSON object (``budget_ms_median``, ``widget_ms_median``, ...); the
full result is also written to ``<out>/explore_render.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/ holds select.py etc., which would shadow stdlib modules of the same name
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # this checkout's coldstart (not an installed one) and test helpers
# the shared data folder sits beside the checkout (or beside its worktrees folder)
DEFAULT_NPZ = next((p for p in (REPO.parent / "shared", REPO.parent.parent / "shared")
                    if (p / "data" / "pneumoniamnist").exists()), REPO.parent / "shared") \
    / "data" / "pneumoniamnist" / "pneumoniamnist.npz"
IFRAME = 'iframe[title*="explore_map"]'
RUNNING = '[data-testid="stStatusWidgetRunningIcon"]'

# one budget change, measured in the component's frame; resolves with both times
CHANGE_JS = """(b) => new Promise((resolve) => {
  const S = window.__exploreMap, inp = document.getElementById('budget');
  const t0 = performance.now();
  inp.value = b; inp.dispatchEvent(new Event('input', {bubbles: true}));
  const seq = S.seq;
  requestAnimationFrame(() => setTimeout(() => {
    const mapMs = performance.now() - t0;
    const g = document.querySelector('#overlay g.layer');
    const shown = Array.from(g.querySelectorAll('.pick')).filter((e) => e.style.display !== 'none').length;
    const poll = () => (S.lastArgs && S.lastArgs.ack >= seq)
      ? resolve({map_ms: mapMs, roundtrip_ms: performance.now() - t0, shown: shown})
      : setTimeout(poll, 5);
    poll();
  }, 0));
})"""
# the same, started at an absolute wall-clock time (all sessions at once); result in a global
SCHEDULE_JS = """([b, at]) => { window.__benchResult = null;
  setTimeout(() => (""" + CHANGE_JS + """)(b).then((r) => { window.__benchResult = r; }),
             Math.max(0, at - Date.now())); }"""


def _frame(page, timeout_ms: int = 180_000):
    page.frame_locator(IFRAME).locator("#overlay g.layer").first.wait_for(state="attached", timeout=timeout_ms)
    return next(f for f in page.frames if "explore_map" in f.url)


def _stats(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"median": round(statistics.median(xs), 1), "max": round(xs[-1], 1),
            "p90": round(xs[min(len(xs) - 1, int(0.9 * len(xs)))], 1), "n": len(xs)}


def component_timings(data_root: Path, points: int, sessions: int, repeats: int) -> dict:
    from browser import CHROMIUM_ARGS, require_chromium, streamlit_app
    from playwright.sync_api import sync_playwright

    budgets = [37, 120, 5, 200, 64, 150, 20, 90, 11, 175]
    out: dict = {"points": points, "sessions": sessions}
    env = {"EXPLORE_POINTS": str(points)}
    with streamlit_app(data_root, script="benchmarks/explore_map_app.py", env=env, timeout=120) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=require_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(max(1, sessions)):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                t = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded")
                frame = _frame(page)
                out.setdefault("first_paint_s", []).append(round(time.perf_counter() - t, 2))
                pages.append((page, frame))
            # one session alone
            page, frame = pages[0]
            frame.evaluate(CHANGE_JS, 21)  # warm-up
            single = [frame.evaluate(CHANGE_JS, budgets[k % len(budgets)]) for k in range(repeats)]
            assert all(r["shown"] == budgets[k % len(budgets)] for k, r in enumerate(single)), single
            out["single"] = {"map_ms": _stats([r["map_ms"] for r in single]),
                             "roundtrip_ms": _stats([r["roundtrip_ms"] for r in single])}
            # all sessions at the same instant
            conc_map, conc_rt = [], []
            for k in range(repeats if sessions > 1 else 0):
                b = budgets[(k + 3) % len(budgets)]
                at = pages[0][0].evaluate("Date.now()") + 300
                for _, f in pages:
                    f.evaluate(SCHEDULE_JS, [b, at])
                for _, f in pages:
                    f.wait_for_function("window.__benchResult !== null", timeout=60_000)
                    r = f.evaluate("window.__benchResult")
                    assert r["shown"] == b, r
                    conc_map.append(r["map_ms"])
                    conc_rt.append(r["roundtrip_ms"])
            if conc_map:
                out["concurrent"] = {"map_ms": _stats(conc_map), "roundtrip_ms": _stats(conc_rt)}
            out["pool_redraws"] = sum(f.evaluate("window.__exploreMap.poolDraws") - 1 for _, f in pages)
            out["js_errors"] = sum(len(p.context.pages) * 0 for p, _ in pages)
        finally:
            browser.close()
    return out


def prepare_pool(root: Path, npz: Path, n: int = 0) -> dict:
    """The page's pool in ``root``: PneumoniaMNIST itself (``n=0``: 5,030 images), or ``n`` augmented
    PneumoniaMNIST images (``benchmarks/load_explore.py``'s pool, 20,000 by default there). Then
    :func:`coldstart.explore.warm` fills what the page's first visit reads (pixel embeddings, PCA
    and UMAP maps, the default kmeans picks on the pool "all images"), as the app does when it
    builds a pool; its seconds are reported."""
    from coldstart import explore
    from coldstart.data import Dataset, list_datasets
    from coldstart.data.importers import import_medmnist

    name = "pmnist" if not n else f"pool{n // 1000}k"
    t = time.perf_counter()
    if name not in list_datasets(root):
        src = npz
        if n:
            import importlib.util

            spec = importlib.util.spec_from_file_location("load_explore", Path(__file__).with_name("load_explore.py"))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            make_npz = mod.make_npz

            src = root.parent / f"{name}.npz"
            make_npz(npz, src, n)
        import_medmnist(src, name, flag="pneumoniamnist", root=root)
    out = {"dataset": name, "import_s": round(time.perf_counter() - t, 1)}
    ds = Dataset(name, root)
    out["warm_s"] = explore.warm(ds, "pixels", pool="all")
    out["n_images"] = len(ds)
    return out


def prepare_phantom(root: Path, warm: bool) -> dict:
    """The default pool as the app builds it (``coldstart.data.phantom.ensure_phantom``), then, when
    ``warm``, :func:`coldstart.explore.warm` as the app runs it in the background after building it."""
    from coldstart import explore
    from coldstart.data.phantom import ensure_phantom

    t = time.perf_counter()
    ds = ensure_phantom(root)
    out = {"build_s": round(time.perf_counter() - t, 1), "n_images": len(ds)}
    if warm:
        out["warm_s"] = explore.warm(ds)
    return out


def visits(data_root: Path, path: str = "Explore", n: int = 2) -> dict:
    """Seconds from opening ``path`` on a fresh server until the map shows picks and Streamlit is
    idle: the first visit (the server's process caches empty) and ``n - 1`` later visits (new
    browser sessions on the same server)."""
    from browser import chromium_page, streamlit_app

    out: dict = {}
    with streamlit_app(data_root, timeout=180) as url:
        for k in range(n):
            with chromium_page(1440, 1100) as page:
                t = time.perf_counter()
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                _frame(page, 600_000)
                _until(page, lambda: True, 600)
                out["first_visit_s" if k == 0 else f"later_visit_{k}_s"] = round(time.perf_counter() - t, 2)
    return out


def _tree_cpu_s() -> dict | None:
    """CPU seconds used so far by this process's descendants, by kind (``server``: Python, i.e. the
    Streamlit server; ``browser``: Chromium; ``other``: Playwright's driver), from /proc; None where
    /proc is missing. Load-independent, unlike wall time."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    parent, ticks, kind = {}, {}, {}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            head, tail = (d / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        f, comm = tail.split(), head.split("(", 1)[1]
        pid = int(d.name)
        parent[pid], ticks[pid] = int(f[1]), int(f[11]) + int(f[12])  # utime + stime
        kind[pid] = "server" if comm.startswith("python") else "browser" if "chrom" in comm else "other"
    me, out = os.getpid(), {"server": 0.0, "browser": 0.0, "other": 0.0}
    for pid in parent:
        p = parent[pid]
        while p not in (0, 1, me) and p in parent:
            p = parent[p]
        if p == me:
            out[kind[pid]] += ticks[pid] / os.sysconf("SC_CLK_TCK")
    return out


def _cpu_delta(c0: dict | None) -> dict:
    if c0 is None:
        return {}
    c1 = _tree_cpu_s()
    d = {k: round(c1[k] - c0[k], 3) for k in c0}
    return {"cpu_s": round(sum(d.values()), 3), "server_cpu_s": d["server"], "browser_cpu_s": d["browser"]}


def _until(page, check, timeout_s: float = 120.0) -> float:
    """Seconds until ``check()`` holds and Streamlit is not running (polled every 20 ms)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if check() and page.locator(RUNNING).count() == 0:
            return time.perf_counter() - t0
        page.wait_for_timeout(20)
    raise TimeoutError("the page did not show the result in time")


def _type_option(page, label: str, text: str):
    """Open a select box and type ``text`` (not timed); the returned action presses Enter (timed)."""
    page.get_by_role("combobox", name=label, exact=True).first.click()
    page.keyboard.type(text)
    page.wait_for_timeout(300)
    return lambda: page.keyboard.press("Enter")


def _first_pick_id(page) -> str:
    cap = page.locator('[data-testid="stTabPanel"] [data-testid="stImageCaption"]').first.inner_text()
    return cap.split("·")[0].strip()


class PartLog:
    """The server's ``explore-part <key> <ms>`` lines (``$COLDSTART_EXPLORE_TIMING=1``) since the last
    :meth:`take`: which parts of the page each interaction reran, and their Python time."""

    def __init__(self, url: str):
        from browser import ARTIFACTS

        self.path, self.pos = ARTIFACTS / f"streamlit-{url.rsplit(':', 1)[1]}.log", 0
        self.take()

    def take(self) -> dict:
        """``{part: ms}`` since the last call; ``self.last_end``: the unix time the last of them ended."""
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            new = f.read().decode(errors="replace")
            self.pos = f.tell()
        parts: dict = {}
        self.last_end = 0.0
        for line in new.splitlines():
            if line.startswith("explore-part "):
                _, key, ms, end = line.split()
                parts[key] = round(parts.get(key, 0.0) + float(ms), 1)
                self.last_end = max(self.last_end, float(end))
        return parts

    def quiet(self, page, quiet_ms: int = 600, timeout_s: float = 60) -> tuple[dict, float]:
        """Wait until no part has run for ``quiet_ms``; the parts that ran, and when the last ended
        (0 if none): Streamlit's running icon can be gone between two runs of one interaction."""
        got, last, t0 = {}, 0.0, time.time()
        while time.time() - t0 < timeout_s:
            page.wait_for_timeout(quiet_ms)
            new = self.take()
            if not new:
                break
            for k, v in new.items():
                got[k] = round(got.get(k, 0.0) + v, 1)
            last = max(last, self.last_end)
        return got, last


def page_timings(data_root: Path) -> dict:
    """Every Explore widget on the page's pool; each timed from the interaction to the result, with
    the parts of the page it reran and their Python milliseconds (``<widget>_parts_ms``)."""
    from browser import chromium_page, scroll_to_top, streamlit_app

    from coldstart.ui.explore_controls import TIMING_ENV

    out: dict = {}
    with streamlit_app(data_root, timeout=120, env={TIMING_ENV: "1"}) as url, chromium_page(1440, 1100) as page:
        parts = PartLog(url)
        t = time.perf_counter()
        page.goto(f"{url}/Explore?pool=all", wait_until="domcontentloaded")
        frame = _frame(page, 600_000)
        _until(page, lambda: True, 600)
        out["first_paint_s"] = round(time.perf_counter() - t, 2)
        out["first_paint_parts_ms"] = parts.take()
        lk = frame.locator(".layer-key")

        def pick(label: str, option: str, nth: int = 0):
            """Open a select box (not timed); the returned action clicks the option (timed)."""
            scroll_to_top(page)
            box = page.get_by_role("combobox", name=label, exact=True).nth(nth)
            box.click()
            opt = page.get_by_role("option", name=option, exact=True).first
            opt.wait_for()
            return opt.click

        toggle = page.get_by_text("Show a second method on the same map")
        title = frame.locator(".gtitle")
        find = "Find an image on the map (ringed in black; type an id)"
        http = page.get_by_text("an HTTP server (coldstart serve-images)").first
        local = page.get_by_text("Label Studio's local storage (no extra server)").first
        steps = {  # name: (prepare -> timed action, result shown)
            "colour_by": (lambda: pick("Colour by", "split"),
                          lambda: "split:" in frame.locator("#catlegend").inner_text()),
            "projection": (lambda: pick("Projection", "PCA"), lambda: "PCA of" in (title.text_content() or "")),
            "projection_back": (lambda: pick("Projection", "UMAP"), lambda: "UMAP of" in (title.text_content() or "")),
            "selector_a": (lambda: pick("Selector", "random"),
                           lambda: lk.filter(has_text="A: random").count() == 1),
            "selector_a_back": (lambda: pick("Selector", "kmeans"),
                                lambda: lk.filter(has_text="A: kmeans").count() == 1),
            "compare_on": (lambda: toggle.click,
                           lambda: lk.filter(has_text="B: random").count() == 1),
            "selector_b": (lambda: pick("Selector", "kmeans", nth=1),
                           lambda: lk.filter(has_text="B: kmeans").count() == 1),
            "budget_panels": (lambda: (lambda: frame.evaluate(CHANGE_JS, 30)),
                              lambda: page.get_by_text("of 30", exact=False).count() > 0),
            "find_image": (lambda: _type_option(page, find, _first_pick_id(page)),
                           lambda: frame.locator("circle.highlight").count() == 1),
            "export_mode": (lambda: http.click, lambda: page.get_by_label("Image URL prefix").count() > 0),
            "export_mode_back": (lambda: local.click, lambda: page.get_by_label("Image URL prefix").count() == 0),
            "colour_back": (lambda: pick("Colour by", "label"),
                            lambda: "label:" in frame.locator("#catlegend").inner_text()),
            "compare_off": (lambda: toggle.click,
                            lambda: lk.filter(has_text="B: ").count() == 0),
        }
        for name, (prepare, check) in steps.items():
            page.keyboard.press("Escape")  # no select box left open by the step before
            try:
                act = prepare()
            except Exception as e:  # noqa: BLE001 - a widget the page lacks: say so, time the rest
                out[f"{name}_error"] = f"{type(e).__name__}: {str(e)[:200]}"
                continue
            m0 = frame.evaluate("window.__exploreMap.renderMs")
            parts.quiet(page, 300)
            t0, c0, u0 = time.perf_counter(), _tree_cpu_s(), time.time()
            act()
            shown = time.perf_counter() - t0 + _until(page, check)
            # settled: the result is shown and the last part the interaction reran has finished
            out[f"{name}_parts_ms"], last = parts.quiet(page)
            out[f"{name}_s"] = round(max(shown, last - u0), 3)
            out[f"{name}_map_render_ms"] = round(frame.evaluate("window.__exploreMap.renderMs") - m0, 1)
            out.update({f"{name}_{k}": v for k, v in _cpu_delta(c0).items()})
            print(f"{name}: {out[f'{name}_s']} s (load {os.getloadavg()[0]:.2f}; server {out.get(f'{name}_server_cpu_s')}"
                  f" s, browser {out.get(f'{name}_browser_cpu_s')} s CPU; parts {out[f'{name}_parts_ms']})",
                  file=sys.stderr, flush=True)
        # lasso over the middle of the map
        page.frame_locator(IFRAME).locator(".nsewdrag").first.scroll_into_view_if_needed()
        box = page.frame_locator(IFRAME).locator(".nsewdrag").first.bounding_box()
        x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
        # the gesture (17 mouse moves, each waiting for the browser's frame: Plotly highlights the
        # selection live, a WebGL redraw and, with software compositing, a canvas read-back each) is
        # reported apart; the lasso's row is from the release to the settled page
        t_drag = time.perf_counter()
        page.mouse.move(x0 + 0.35 * w, y0 + 0.35 * h)
        page.mouse.down()
        for fx, fy in [(0.65, 0.35), (0.65, 0.65), (0.35, 0.65), (0.35, 0.36)]:
            page.mouse.move(x0 + fx * w, y0 + fy * h, steps=4)
        out["lasso_gesture_ms"] = round((time.perf_counter() - t_drag) * 1000)
        t0, c0, u0 = time.perf_counter(), _tree_cpu_s(), time.time()
        page.mouse.up()
        sel = page.get_by_text("Selected on the map (").filter(has_not_text="(0)")
        shown = time.perf_counter() - t0 + _until(page, lambda: sel.count() > 0)
        out["lasso_parts_ms"], last = parts.quiet(page)
        out["lasso_s"] = round(max(shown, last - u0), 3)
        out.update({f"lasso_{k}": v for k, v in _cpu_delta(c0).items()})
        print(f"lasso: {out['lasso_s']} s after the release, the gesture before it {out['lasso_gesture_ms']} ms "
              f"(load {os.getloadavg()[0]:.2f}; parts {out['lasso_parts_ms']})", file=sys.stderr, flush=True)
        out["pool_redraws"] = frame.evaluate("window.__exploreMap.poolDraws") - 1
        out["js_errors"] = list(page.js_errors)
    return out


def _widget_summary(page: dict, n_images: int) -> dict:
    wall = {k[:-2]: v for k, v in page.items() if k.endswith("_s") and not k.endswith("cpu_s")
            and k != "first_paint_s"}
    cpu = [v * 1000 for k, v in page.items() if k.endswith("_cpu_s") and not k.endswith(("server_cpu_s",
                                                                                         "browser_cpu_s"))]
    map_ms = [v for k, v in page.items() if k.endswith("_map_render_ms")]
    server = [v * 1000 for k, v in page.items() if k.endswith("_server_cpu_s")]
    worst = max(wall, key=wall.get)
    return {"widget_points": n_images, "widgets": len(wall),
            "widget_ms_median": round(statistics.median(wall.values()) * 1000, 1),
            "widget_ms_max": round(wall[worst] * 1000, 1), "widget_slowest": worst,
            "widget_cpu_ms_median": round(statistics.median(cpu), 1) if cpu else None,
            "widget_cpu_ms_max": round(max(cpu), 1) if cpu else None,
            "widget_server_cpu_ms_median": round(statistics.median(server), 1) if server else None,
            "widget_map_render_ms_median": round(statistics.median(map_ms), 1)}


def widget_rows(page: dict) -> list[str]:
    """One row per widget: wall seconds to settled, server and browser CPU seconds, the map
    component's own render milliseconds and the Python milliseconds of each part it reran."""
    rows = [f"{'widget':<18}{'wall_s':>8}{'server_cpu':>11}{'browser_cpu':>12}{'map_ms':>8}  python parts (ms)"]
    for k, v in page.items():
        if k.endswith("_s") and not k.endswith("cpu_s") and k != "first_paint_s":
            w = k[:-2]
            rows.append(f"{w:<18}{v:>8.2f}{page.get(f'{w}_server_cpu_s', float('nan')):>11.2f}"
                        f"{page.get(f'{w}_browser_cpu_s', float('nan')):>12.2f}"
                        f"{page.get(f'{w}_map_render_ms', float('nan')):>8.0f}  {page.get(f'{w}_parts_ms', '')}")
    return rows


def _isolated_root(out: Path, name: str) -> Path:
    """A data root holding only one dataset (the app opens on it), exported as COLDSTART_DATA."""
    root = (out / name).resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ["COLDSTART_DATA"] = str(root)
    return root


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=20_000, help="pool size for the map component (0: skip it)")
    p.add_argument("--sessions", type=int, default=5, help="concurrent browser sessions")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--npz", type=Path, default=DEFAULT_NPZ, help="PneumoniaMNIST .npz for the page part")
    p.add_argument("--page-n", type=int, nargs="*", default=[0],
                   help="pool sizes for the page part: 0 = PneumoniaMNIST (5,030), else that many augmented "
                        "PneumoniaMNIST images (e.g. --page-n 0 20000); none: skip the page part")
    p.add_argument("--no-page", action="store_true", help="skip the Explore page part")
    p.add_argument("--visits", action="store_true",
                   help="also time Explore's first and later visits on the default phantom pool, freshly built, "
                        "without and with the warm-up the app runs after building it")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    p.add_argument("--json", action="store_true", help="print only the summary JSON line")
    a = p.parse_args(argv)
    from browser import find_chromium

    if find_chromium() is None:
        print("no Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    res: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()], "cpu_count": os.cpu_count()}
    summary: dict = {"points": a.points, "sessions": a.sessions}
    if a.points > 0:
        empty = (a.out / "explore_render_empty").resolve()
        empty.mkdir(parents=True, exist_ok=True)
        comp = res["component"] = component_timings(empty, a.points, a.sessions, a.repeats)
        summary.update({
            "budget_ms_median": comp["single"]["map_ms"]["median"],
            "budget_ms_max": comp["single"]["map_ms"]["max"],
            "budget_roundtrip_ms_median": comp["single"]["roundtrip_ms"]["median"],
            "sessions_budget_ms_median": comp.get("concurrent", {}).get("map_ms", {}).get("median"),
            "sessions_budget_ms_max": comp.get("concurrent", {}).get("map_ms", {}).get("max"),
            "sessions_roundtrip_ms_median": comp.get("concurrent", {}).get("roundtrip_ms", {}).get("median"),
            "pool_redraws": comp["pool_redraws"]})
    for n in ([] if a.no_page else a.page_n):
        if not a.npz.exists():
            print(f"PneumoniaMNIST not found at {a.npz}: pass --npz PATH or --no-page", file=sys.stderr)
            return 2
        root = _isolated_root(a.out, "explore_data" if not n else f"explore_data_{n}")
        prep = prepare_pool(root, a.npz, n)
        page = page_timings(root)
        page["load_average"] = round(os.getloadavg()[0], 2)
        res[f"page_{prep['n_images']}"] = {"prepare": prep, "widgets": page}
        summary[f"page_{prep['n_images']}"] = dict(_widget_summary(page, prep["n_images"]),
                                                   load_average=page["load_average"])
        print(f"Explore widgets at {prep['n_images']:,} images (load {page['load_average']}):\n  "
              + "\n  ".join(widget_rows(page)), file=sys.stderr, flush=True)
    if a.visits:
        for warm in (False, True):
            root = _isolated_root(a.out, f"explore_phantom_{'warm' if warm else 'cold'}")
            shutil.rmtree(root)
            root.mkdir()
            v = dict(prepare_phantom(root, warm), **visits(root), load_average=round(os.getloadavg()[0], 2))
            res[f"phantom_{'warm' if warm else 'cold'}"] = summary[f"phantom_{'warm' if warm else 'cold'}"] = v
    res["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    summary["load_average"] = res["load_average_end"][0]
    res["summary"] = summary
    (a.out / "explore_render.json").write_text(json.dumps(res, indent=2))
    if not a.json:
        print(json.dumps(res, indent=2))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
