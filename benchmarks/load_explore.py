"""Load test: N concurrent browser sessions on the Explore page of a 20,000-image pool.

The pool is made cheaply: a MedMNIST-like ``.npz`` whose 20,000 train images are
PneumoniaMNIST images (the shared file) with a random shift, flip and a little
noise (28 x 28, so import and embedding take seconds), imported with the MedMNIST
importer. Pixel embeddings and the UMAP map are computed ahead through the API
(the same functions as ``coldstart embed`` / ``coldstart map``), as a deployed
server would have them.

Then one ``streamlit run app.py`` serves N (default 5) headless Chromium
processes at once. After a warm-up visit (which computes and disk-caches the
page's selection, as the first user of a server would), every session:

1. opens ``/Explore`` and waits for the map canvas and the legend of method A
   (first paint);
2. waits at a barrier so that all sessions act together, then presses the budget
   slider's right arrow R times, timing each key press until the legend shows the
   new count (re-render).

It reports the median and worst re-render time over all sessions and presses,
the first-paint times, and any Streamlit exception box or JavaScript error
(the run fails when there is one).

Usage::

    .venv/bin/python benchmarks/load_explore.py [--sessions 5] [--repeats 5] [--n 20000]
        [--npz PATH] [--out benchmarks/out]

Writes ``<out>/load_explore.json`` and prints it.
"""

from __future__ import annotations

import os
import sys

# this script's folder holds benchmarks/select.py, which would shadow the standard library's `select`
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NPZ = REPO.parent / "shared" / "data" / "pneumoniamnist" / "pneumoniamnist.npz"
NAME = "pool20k"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
LEGEND = '[data-testid="stPlotlyChart"] .legendtext'


# ---------------------------------------------------------------------------
# the pool
# ---------------------------------------------------------------------------
def make_npz(src: Path, dest: Path, n: int, seed: int = 0) -> None:
    """A MedMNIST-like file: ``n`` augmented train images, 500 val, 1,000 test (28 x 28 uint8)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with np.load(src, allow_pickle=False) as z:
        imgs = np.concatenate([z[f"{s}_images"] for s in ("train", "val", "test")])
        labs = np.concatenate([z[f"{s}_labels"] for s in ("train", "val", "test")])

    def augment(k: int):
        pick = rng.integers(0, len(imgs), k)
        x = imgs[pick].astype(np.float32)
        flip = rng.random(k) < 0.5
        x[flip] = x[flip][:, :, ::-1]
        for i, (dy, dx) in enumerate(rng.integers(-2, 3, (k, 2))):
            x[i] = np.roll(x[i], (dy, dx), axis=(0, 1))
        x += rng.normal(0, 4, x.shape)
        return np.clip(x, 0, 255).astype(np.uint8), labs[pick]

    out = {}
    for split, k in (("train", n), ("val", 500), ("test", 1000)):
        out[f"{split}_images"], out[f"{split}_labels"] = augment(k)
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dest, **out)


def prepare(root: Path, npz: Path, n: int) -> dict:
    from coldstart import maps
    from coldstart.data import Dataset, list_datasets
    from coldstart.data.importers import import_medmnist
    from coldstart.embed import get_embedder, load_embeddings

    out: dict = {}
    if NAME not in list_datasets(root):
        src = root.parent / "load_explore_pool.npz"
        t = time.perf_counter()
        make_npz(npz, src, n)
        import_medmnist(src, NAME, flag="pneumoniamnist", root=root)
        out["make_and_import_s"] = round(time.perf_counter() - t, 1)
    ds = Dataset(NAME, root)
    t = time.perf_counter()
    feats = load_embeddings(ds, "pixels")
    out["embed_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    maps.load_or_compute_map(ds, feats, get_embedder("pixels", ds).key, "umap", 0)
    out["umap_s"] = round(time.perf_counter() - t, 1)
    out["n_images"] = len(ds)
    out["n_pool_train"] = int((ds.splits == "train").sum())
    return out


# ---------------------------------------------------------------------------
# one browser session (a separate process, so the sessions really run at once)
# ---------------------------------------------------------------------------
def _exceptions(page) -> list[str]:
    return [t.strip()[:300] for t in page.locator('[data-testid="stException"]').all_inner_texts()]


def _wait_idle(page, timeout_s: float = 300.0) -> None:
    deadline = time.time() + timeout_s
    page.wait_for_timeout(200)
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').filter(has_text="Running").count() == 0:
            return
        page.wait_for_timeout(100)
    raise TimeoutError("app still running")


def session(url: str, chromium: str, k: int, repeats: int, start_budget: int, barrier, queue) -> None:
    from playwright.sync_api import sync_playwright

    res: dict = {"session": k, "errors": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.set_default_timeout(300_000)
            js: list[str] = []
            page.on("pageerror", lambda e: js.append(str(e)))
            legend = page.locator(LEGEND)
            barrier.wait(timeout=600)  # everyone opens the page together
            t = time.perf_counter()
            page.goto(f"{url}/Explore", wait_until="domcontentloaded")
            legend.filter(has_text=f"({start_budget})").first.wait_for()
            page.wait_for_selector('[data-testid="stPlotlyChart"] canvas', state="attached")
            res["first_paint_s"] = round(time.perf_counter() - t, 3)
            _wait_idle(page)
            inp = page.locator('[data-testid="stSlider"]').filter(has_text="Budget").locator(
                'input[type="range"]').first
            times = []
            barrier.wait(timeout=600)  # and changes the budget together
            for r in range(repeats):
                inp.focus()
                t = time.perf_counter()
                page.keyboard.press("ArrowRight")
                legend.filter(has_text=f"({start_budget + r + 1})").first.wait_for(timeout=120_000)
                times.append(time.perf_counter() - t)
                _wait_idle(page)
            res["rerender_s"] = [round(x, 3) for x in times]
            res["errors"] = _exceptions(page) + [f"js: {m}" for m in js]
            browser.close()
    except Exception as e:  # noqa: BLE001 - reported, and fails the benchmark
        res["errors"].append(f"{type(e).__name__}: {e}"[:500])
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
    queue.put(res)


def warm_up(url: str, chromium: str, start_budget: int) -> float:
    """One visit that computes (and disk-caches) the page's selection; returns its seconds."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        t = time.perf_counter()
        page.goto(f"{url}/Explore", wait_until="domcontentloaded")
        page.locator(LEGEND).filter(has_text=f"({start_budget})").first.wait_for(timeout=900_000)
        s = time.perf_counter() - t
        exc = _exceptions(page)
        browser.close()
    if exc:
        raise RuntimeError(f"Explore shows an exception on the warm-up visit: {exc}")
    return s


def run_load(root: Path, sessions: int, repeats: int) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from browser import find_chromium, streamlit_app

    chromium = find_chromium()
    if chromium is None:
        return {"skipped": "no chromium (apt-get install -y chromium)"}
    start_budget = 20
    out: dict = {"sessions": sessions, "repeats": repeats}
    with streamlit_app(root, timeout=180) as url:
        out["warm_up_first_visit_s"] = round(warm_up(url, chromium, start_budget), 2)
        ctx = mp.get_context("spawn")
        barrier, queue = ctx.Barrier(sessions), ctx.Queue()
        procs = [ctx.Process(target=session, args=(url, chromium, k, repeats, start_budget, barrier, queue))
                 for k in range(sessions)]
        t = time.perf_counter()
        for p in procs:
            p.start()
        results = [queue.get(timeout=1800) for _ in procs]
        for p in procs:
            p.join(60)
        out["wall_s"] = round(time.perf_counter() - t, 2)
    results.sort(key=lambda r: r["session"])
    rer = [x for r in results for x in r.get("rerender_s", [])]
    fp = [r["first_paint_s"] for r in results if "first_paint_s" in r]
    out.update(
        per_session=results,
        rerender_n=len(rer),
        rerender_median_s=round(statistics.median(rer), 3) if rer else None,
        rerender_worst_s=round(max(rer), 3) if rer else None,
        first_paint_median_s=round(statistics.median(fp), 3) if fp else None,
        first_paint_worst_s=round(max(fp), 3) if fp else None,
        errors=[e for r in results for e in r["errors"]],
        load_average_1m=round(os.getloadavg()[0], 2),
        cpu_count=os.cpu_count(),
    )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n", type=int, default=20_000, help="train (pool) images")
    p.add_argument("--npz", type=Path, default=DEFAULT_NPZ)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    a = p.parse_args(argv)
    if not a.npz.exists():
        print(f"PneumoniaMNIST not found at {a.npz}: pass --npz PATH", file=sys.stderr)
        return 2
    root = (a.out / "load_explore_data").resolve()  # only this dataset, so the app opens on it
    root.mkdir(parents=True, exist_ok=True)
    os.environ["COLDSTART_DATA"] = str(root)
    res = {"prepare": prepare(root, a.npz, a.n)}
    res["load"] = run_load(root, a.sessions, a.repeats)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "load_explore.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    errors = res["load"].get("errors") or []
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
