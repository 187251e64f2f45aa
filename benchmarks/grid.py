"""Probe grid time, fresh (nothing cached), cold (selections computed) and warm (selections cached), beside its floor.

The grid is what the Train page and ``coldstart run`` execute: methods x budgets x seeds
(default: the Train page's default comparison, :func:`coldstart.runs.warm.default_comparison`,
6 x 5 x 5 = 150 parts) with the probe task, including worker start-up, selections, bootstrap SEs
and the per-unit records. *Fresh*: nothing cached (the dataset's whole ``cache/`` folder removed): the
embeddings are computed inside the timed window, then the grid selects and trains, as on a freshly built
pool before any warm-up; *cold*: no selection cached (the embeddings are, computed before timing);
*warm*: every selection cached, as after the app's background warm-up of a new default pool
(:func:`coldstart.runs.warm.warm_in_background`), so the run only trains. The floor is a bare loop over the same labeled sets
(read from the run's selections) doing one ``StandardScaler + LogisticRegression`` fit and one
average precision on the test set each, on one core: what the grid cannot go below per core.

Usage (from the project root)::

    .venv/bin/python benchmarks/grid.py                        # PneumoniaMNIST (../shared/data), fresh, cold, warm
    .venv/bin/python benchmarks/grid.py --dataset phantom      # the default phantom pool
    .venv/bin/python benchmarks/grid.py --modes warm           # only the warm run
    .venv/bin/python benchmarks/grid.py --methods random,pixels:kmeans,pixels:typiclust
    .venv/bin/python benchmarks/grid.py --workers 1 --profile  # one process, cProfile of the run

The last line is one JSON object (per mode: grid_s, embed_s, cpu_s, ratio, load_before, load; units,
workers, floor_s). ``cpu_s``: CPU seconds of this process and the run's workers over the mode (on a shared
machine, less sensitive to the other jobs' load than the wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchmarks/ holds scripts named like stdlib modules (select.py): keep it off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
# ../shared/data from the project root (one level further up from a worktree under wt/)
NPZ = next((p for p in (HERE.parent.parent / "shared", HERE.parent.parent.parent / "shared")
            if (p / "data" / "pneumoniamnist" / "pneumoniamnist.npz").exists()), HERE.parent.parent / "shared") \
    / "data" / "pneumoniamnist" / "pneumoniamnist.npz"
#: the previous default grid (every selector on raw pixels), for ``--methods``
PIXEL_METHODS = "random,pixels:kmeans,pixels:typiclust,pixels:probcover,pixels:coreset,pixels:balanced"


def _dataset(name: str, npz: str):
    from coldstart.data import Dataset, list_datasets

    if name == "pneumoniamnist":
        if not Path(npz).exists():
            raise SystemExit(f"{npz} not found: give --npz or use --dataset phantom")
        if name not in list_datasets():
            from coldstart.data.importers.medmnist import import_medmnist

            import_medmnist(npz, name, flag="pneumoniamnist", seed=0)
        return Dataset(name)
    from coldstart.api import phantom

    return phantom()


def floor_loop(store, ds) -> tuple[float, int]:
    """One fit + one AP per trainable cold-start unit of the run, one thread; returns (seconds, fits)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from coldstart.embed import load_embeddings
    from coldstart.train.base import eval_indices

    cfg = store.config
    X = np.asarray(load_embeddings(ds, cfg.probe_embedding(cfg.methods[0])), np.float32)
    test = eval_indices(ds, "test")
    pool = ds.split_indices("train")
    sets = []
    for m in cfg.methods:
        for s in cfg.seeds:
            order = store.selection(m, s)["pool_pos"].to_numpy(int)
            for b in cfg.budgets:
                idx = pool[order[:b]]
                y = ds.labels[idx]
                if len(np.unique(y)) == 2:
                    sets.append((idx, y))
    t0 = time.perf_counter()
    with threadpool_limits(1):
        for idx, y in sets:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
            clf.fit(X[idx], y)
            average_precision_score(ds.labels[test], clf.predict_proba(X[test])[:, 1])
    return time.perf_counter() - t0, len(sets)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children (the run's workers)."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed_run(cfg, profile: bool) -> tuple[float, object]:
    """Create and execute a run of ``cfg``; (seconds, run dir)."""
    from coldstart.runs.runner import create_run, execute

    run_dir = create_run(cfg)
    t0 = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(execute, run_dir)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        execute(run_dir)
    return time.perf_counter() - t0, run_dir


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="pneumoniamnist", choices=["pneumoniamnist", "phantom"])
    ap.add_argument("--npz", default=str(NPZ))
    ap.add_argument("--data-root", default=str(HERE / "out" / "data"))
    ap.add_argument("--methods", default=None,
                    help=f"default: the Train page's default comparison; e.g. {PIXEL_METHODS}")
    ap.add_argument("--budgets", default="20,40,60,80,100")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=None, help="default: one per core")
    ap.add_argument("--profile", action="store_true", help="cProfile the grid (use with --workers 1)")
    ap.add_argument("--modes", default="fresh,cold,warm",
                    help="fresh: clear the dataset's whole cache (embeddings too) and time the embeddings "
                         "with the grid; cold: clear the cached selections first, so the grid selects; warm: "
                         "keep them (the previous mode's selections serve the warm run)")
    a = ap.parse_args(argv)
    os.environ["COLDSTART_DATA"] = str(Path(a.data_root).resolve())
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"fresh", "cold", "warm"}:
        raise SystemExit(f"--modes {a.modes!r}: give any of fresh, cold, warm (comma-separated)")

    from coldstart.embed import load_embeddings
    from coldstart.runs import RunConfig, RunStore
    from coldstart.runs.executors import default_workers
    from coldstart.runs.warm import default_comparison

    ds = _dataset(a.dataset, a.npz)
    methods = a.methods or default_comparison(ds).methods
    cfg = RunConfig.from_dict(dict(dataset=ds.name, task="probe", methods=methods, budgets=a.budgets,
                                   seeds=a.seeds, workers=a.workers))
    import shutil

    def embed_all() -> float:
        t0 = time.perf_counter()
        for e in cfg.embedders():  # the grid's workers read these from the cache
            load_embeddings(ds, e)
        return time.perf_counter() - t0

    embed_s = None if modes[0] == "fresh" else embed_all()  # cached before timing, unless fresh
    out, run_dir = {}, None
    for mode in modes:
        load0 = [round(x, 2) for x in os.getloadavg()]
        emb_s, cpu0 = 0.0, cpu_seconds()
        if mode == "fresh":
            shutil.rmtree(ds.dir / "cache", ignore_errors=True)
            emb_s = embed_all()
            embed_s = emb_s if embed_s is None else embed_s
        elif mode == "cold":
            shutil.rmtree(ds.cache_dir("sel"), ignore_errors=True)
        grid_s, run_dir = timed_run(cfg, a.profile)
        out[mode] = dict(grid_s=round(emb_s + grid_s, 2), embed_s=round(emb_s, 2),
                         cpu_s=round(cpu_seconds() - cpu0, 1), run_id=run_dir.name,
                         load_before=load0, load=[round(x, 2) for x in os.getloadavg()])
    store = RunStore.from_dir(run_dir)
    units = int(store.results()["unit"].nunique())
    floor_s, fits = floor_loop(store, ds)
    load = os.getloadavg()
    workers = store.events()[0].get("workers", 1)
    print(f"{ds.name}: {units} parts ({len(cfg.methods)} methods x {len(cfg.budgets)} budgets x {len(cfg.seeds)} "
          f"seeds: {', '.join(cfg.methods)}), {workers} worker(s) of {default_workers()} cores; embeddings "
          f"{'loaded' if embed_s < 2 else 'computed'} in {embed_s:.1f} s")
    whats = dict(fresh="nothing cached: embeddings {embed_s:.1f} s + selections + training",
                 cold="embeddings cached, selections computed", warm="selections from the cache")
    for mode, r in out.items():
        what = whats[mode].format(**r)
        print(f"{mode:5s} grid {r['grid_s']:.1f} s, {r['cpu_s']:.0f} CPU s ({what})  |  ratio to the floor {r['grid_s'] / floor_s:.1f}x  |  "
              f"load average {' '.join(f'{x:.2f}' for x in r['load_before'])} -> "
              f"{' '.join(f'{x:.2f}' for x in r['load'])}")
        r["ratio"] = round(r["grid_s"] / floor_s, 2)
    print(f"bare-loop floor {floor_s:.1f} s for {fits} fits on one core  |  load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(json.dumps(dict(dataset=ds.name, methods=cfg.methods, units=units, fits=fits, workers=workers,
                          floor_s=round(floor_s, 2), embed_s=round(embed_s, 2), **out,
                          load=[round(x, 2) for x in load])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
