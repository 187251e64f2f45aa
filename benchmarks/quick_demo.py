"""The Train page's one-click quick demo, end to end, on the default phantom pool.

What the button does: :func:`coldstart.runs.defaults.quick_demo` -> ``start_run(background=True)`` (a
runner process and its workers), then the page polls until the run is finished. This script does the
same and times it from the call to the ``finished`` status, on a copy of the pool's folder so that
its caches can be cold: by default the pool's embeddings are cached (as after Explore's map) and the
selections are not; ``--cold all`` caches nothing (a freshly imported pool), ``--cold none`` everything.

The baseline printed beside it, in the same run: the same 27 parts in one process with
``start_run(background=False, workers=1)`` (no process start-up), so the ratio shows the start-up share.

Usage::

    .venv/bin/python -P benchmarks/quick_demo.py [--cold none|selections|all] [--workers N] [--methods A,B,C]

The last line is one JSON object (demo_s, inline_s, parts, cold, load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="phantom")
    ap.add_argument("--cold", choices=["none", "selections", "all"], default="selections",
                    help="what is not cached: nothing, the selections (default: the pool's embeddings are "
                         "cached, as after Explore's map), or everything (a freshly imported pool)")
    ap.add_argument("--workers", type=int, default=None, help="override the demo's workers")
    ap.add_argument("--methods", default=None, help="override the demo's methods (comma-separated), e.g. "
                    "random,gist:kmeans-paper,pixels-32:kmeans to time another grid")
    args = ap.parse_args()
    src = Path(os.environ.get("COLDSTART_DATA", "data")).resolve() / args.dataset
    if not (src / "manifest.parquet").exists():
        raise SystemExit(f"no dataset at {src}: run `coldstart import phantom` first")
    tmp = Path(tempfile.mkdtemp(prefix="coldstart-demo-"))
    shutil.copytree(src, tmp / args.dataset, ignore=shutil.ignore_patterns("runs", *(["cache"] if args.cold == "all" else [])))
    if args.cold != "none":  # the source pool's own cached selections must not serve the timed run
        shutil.rmtree(tmp / args.dataset / "cache" / "sel", ignore_errors=True)
    os.environ["COLDSTART_DATA"] = str(tmp)

    from coldstart.data import Dataset
    from coldstart.embed import list_embedders
    from coldstart.runs import RunStore, start_run
    from coldstart.runs.defaults import quick_demo, usable_embedders

    ds = Dataset(args.dataset)
    demo = dict(quick_demo(ds, usable_embedders(list_embedders(ds))), dataset=args.dataset)
    if args.workers is not None:
        demo["workers"] = args.workers
    if args.methods:
        demo["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.cold != "all":  # embeddings (and for "none" the selections) cached by a first, untimed run
        from coldstart.embed import ensure_embeddings

        for e in {m.split(":")[0] for m in demo["methods"] if ":" in m}:
            ensure_embeddings(ds, e)
    if args.cold == "none":
        start_run(dict(demo, workers=1), background=False)
    print(f"cpus {os.cpu_count()}; grid: {demo['methods']} x budgets {demo['budgets']} x seeds {demo['seeds']}, strata {demo['strata']}")
    load0 = _load()
    t0 = time.perf_counter()
    rid = start_run(demo, background=True)
    store = RunStore(args.dataset, rid)
    while store.status() not in ("finished", "failed", "cancelled", "interrupted"):
        time.sleep(0.2)
    demo_s = time.perf_counter() - t0
    status = store.status()
    parts = int(store.progress()["units_done"])
    t0 = time.perf_counter()
    start_run(dict(demo, workers=1), background=False)  # caches now warm in any case
    inline_s = time.perf_counter() - t0
    out = dict(demo_s=round(demo_s, 2), inline_s=round(inline_s, 2), parts=parts, status=status,
               cold=args.cold, load_before=load0, load_after=_load())
    print(f"quick demo (not cached: {args.cold}; workers {demo.get('workers', 'default')}), button to finished: {demo_s:.1f} s "
          f"({parts} parts, {status}); the same grid in-process, warm, 1 worker: {inline_s:.1f} s; "
          f"load {load0} -> {_load()}")
    print(json.dumps(out))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
