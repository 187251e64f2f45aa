"""Measure the cost of each kind of run work on this machine and write ``coldstart/runs/costs.json``.

The table gives a first run its time estimate before any earlier run exists
(:mod:`coldstart.runs.costs`). Every figure is measured here, on a copy of the phantom pool
(``coldstart import phantom`` first), through the same code the runs use:

- ``run_start_s``: ``start_run(background=True)`` of a one-part random run, minus that part's time;
  ``worker_start_s``: the same two-part run with 2 workers (a process pool), minus the serial one, per worker;
- ``embed_s_per_image``: ``ensure_embeddings`` on an empty cache, per image, for the embedders that need
  no weights file (gist, pixels, pixels-32);
- ``select``: one selection per cold-start selector at the pool's size on gist, pixels and pixels-32
  (``--budget``, default 60);
- ``probe_part_s`` / ``probe_stratum_s``: the mean ``unit_s`` of probe parts without and with
  ``strata=subgroup``, per positive stratum;
- ``epoch``: one part per network task and preset with 2 epochs on ``--net-budget`` images (default 10),
  its ``unit_s`` per labelled image and epoch (random initialisation: the same arithmetic as ImageNet's).

Usage::

    .venv/bin/python -P benchmarks/estimate_costs.py [--no-net] [--write]

Without ``--write`` it only prints. Every figure is printed with the load average it was taken at.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _unit_s(rid, ds):
    from coldstart.runs import RunStore

    res = RunStore(ds, rid).results()
    return res[res["status"] == "ok"].drop_duplicates("unit")["unit_s"].astype(float).to_numpy()


def _wait(ds, rid):
    from coldstart.runs import RunStore

    store = RunStore(ds, rid)
    while store.status() not in ("finished", "failed", "cancelled", "interrupted"):
        time.sleep(0.1)
    return store.status()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--net-budget", type=int, default=10)
    ap.add_argument("--no-net", action="store_true",
                    help="skip the network tasks (minutes on a CPU); the table keeps its network figures")
    ap.add_argument("--write", action="store_true", help="write coldstart/runs/costs.json")
    ap.add_argument("--only-select", action="store_true",
                    help="measure the embeddings and selections only; keep the table's other figures")
    args = ap.parse_args()
    src = Path(os.environ.get("COLDSTART_DATA", "data")).resolve() / "phantom"
    if not (src / "manifest.parquet").exists():
        raise SystemExit(f"no phantom pool at {src}: run `coldstart import phantom` first")
    tmp = Path(tempfile.mkdtemp(prefix="coldstart-costs-"))
    shutil.copytree(src, tmp / "phantom", ignore=shutil.ignore_patterns("runs", "cache"))
    os.environ["COLDSTART_DATA"] = str(tmp)

    from coldstart.data import Dataset
    from coldstart.embed import ensure_embeddings, load_embeddings
    from coldstart.runs import start_run
    from coldstart.select import select
    from coldstart.runs.defaults import cold_start_selectors

    ds = Dataset("phantom")
    out: dict = {}
    emb = {}
    for name in ("gist", "pixels", "pixels-32"):
        t0 = time.perf_counter()
        ensure_embeddings(ds, name)
        emb[name] = (time.perf_counter() - t0) / len(ds)
        print(f"embed {name}: {emb[name] * 1e3:.2f} ms per image (load {_load()})")
    out["embed_s_per_image"] = {k: round(v, 5) for k, v in emb.items()}

    pool = ds.split_indices("train")
    sels, _ = cold_start_selectors()
    t0 = time.perf_counter()
    select("random", len(pool), args.budget, seed=0)
    out["select"] = {"n": len(pool), "budget": args.budget, "random_s": round(time.perf_counter() - t0, 4),
                     "dims": {}, "seconds": {}}
    for name in ("gist", "pixels-32", "pixels"):
        X = np.asarray(load_embeddings(ds, name), np.float32)[pool]
        out["select"]["dims"][name] = int(X.shape[1])
        seconds = out["select"]["seconds"][name] = {}
        for sel in sels:
            t0 = time.perf_counter()
            select(sel, X, args.budget, seed=0)
            seconds[sel] = round(time.perf_counter() - t0, 4)
            print(f"select {sel} on {name} {X.shape}, budget {args.budget}: {seconds[sel]:.2f} s (load {_load()})")
    dest = Path(__file__).resolve().parents[1] / "coldstart" / "runs" / "costs.json"
    if args.only_select:
        out = dict(json.loads(dest.read_text()), **out)
        out["machine"] = f"{platform.node() or 'this machine'} ({os.cpu_count()} cpus, load {_load()})"
        print(json.dumps(out))
        if args.write:
            dest.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
            print(f"wrote {dest}")
        shutil.rmtree(tmp, ignore_errors=True)
        return

    base = dict(dataset="phantom", task="probe", methods=["random"], budgets=[20], seeds=[0], workers=1)
    t0 = time.perf_counter()
    rid = start_run(base, background=True)
    _wait("phantom", rid)
    start = time.perf_counter() - t0 - float(_unit_s(rid, "phantom").sum())
    print(f"run start-up (runner process, one part): {start:.2f} s (load {_load()})")
    two = dict(base, seeds=[0, 1], budgets=[20, 40], workers=2)
    t0 = time.perf_counter()
    rid = start_run(two, background=True)
    _wait("phantom", rid)
    par = time.perf_counter() - t0 - float(_unit_s(rid, "phantom").sum()) / 2
    worker = max(par - start, 0.0) / 2
    print(f"worker start-up: {worker:.2f} s per worker (load {_load()})")
    out["run_start_s"], out["worker_start_s"] = round(start, 3), round(worker, 3)

    grid = dict(base, methods=["random", "gist:kmeans"], budgets=[20, 40, 60], seeds=[0, 1])
    plain = _unit_s(start_run(grid, background=False), "phantom")
    strat = _unit_s(start_run(dict(grid, strata="subgroup"), background=False), "phantom")
    n_pos = len(set(ds.manifest["subgroup"][ds.labels == 1]))
    out["probe_part_s"] = round(float(plain.mean()), 4)
    out["probe_stratum_s"] = round(max(float(strat.mean() - plain.mean()), 0.0) / n_pos, 4)
    print(f"probe part: {plain.mean():.3f} s; with {n_pos} strata {strat.mean():.3f} s (load {_load()})")

    # --no-net keeps the table's network figures (minutes to remeasure on a CPU)
    out["epoch"] = dict(json.loads(dest.read_text()).get("epoch", {})) if args.no_net and dest.exists() else {}
    if not args.no_net:
        for task in ("classification", "segmentation"):
            for preset in ("quick", "paper"):
                cfg = dict(base, task=task, preset=preset, methods=["random"], budgets=[args.net_budget],
                           train={"epochs": 2, "pretrained": "none"})
                s = _unit_s(start_run(cfg, background=False), "phantom")
                if len(s):
                    rate = float(s.mean()) / (args.net_budget * 2)
                    out["epoch"][f"{task}/{preset}"] = round(rate, 4)
                    print(f"{task}/{preset}: {rate:.3f} s per labelled image and epoch ({s.mean():.1f} s for "
                          f"{args.net_budget} images x 2 epochs; load {_load()})")
    out["machine"] = f"{platform.node() or 'this machine'} ({os.cpu_count()} cpus, load {_load()})"
    print(json.dumps(out))
    if args.write:
        dest.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        print(f"wrote {dest}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
