"""Probe grid time beside its fitting floor, measured in the same process.

The grid is what the Train page and ``coldstart run`` execute: methods x budgets x seeds
(default 6 x 5 x 5 = 150 parts) with the probe task, including worker start-up, selections,
bootstrap SEs and the per-unit records. The floor is a bare loop over the same labeled sets
(read from the run's selections) doing one ``StandardScaler + LogisticRegression`` fit and one
average precision on the test set each, on one core: what the grid cannot go below per core.

Usage (from the project root)::

    .venv/bin/python benchmarks/grid.py                        # PneumoniaMNIST (../shared/data)
    .venv/bin/python benchmarks/grid.py --dataset phantom      # the default phantom pool
    .venv/bin/python benchmarks/grid.py --workers 1 --profile  # one process, cProfile of the run

The last line is one JSON object (grid_s, floor_s, ratio, units, workers, load).
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
METHODS = "random,pixels:kmeans,pixels:typiclust,pixels:probcover,pixels:coreset,pixels:balanced"


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="pneumoniamnist", choices=["pneumoniamnist", "phantom"])
    ap.add_argument("--npz", default=str(NPZ))
    ap.add_argument("--data-root", default=str(HERE / "out" / "data"))
    ap.add_argument("--methods", default=None,
                    help=f"default: {METHODS}")
    ap.add_argument("--budgets", default="20,40,60,80,100")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=None, help="default: one per core")
    ap.add_argument("--profile", action="store_true", help="cProfile the grid (use with --workers 1)")
    ap.add_argument("--warm", action="store_true",
                    help="keep cached selections (as after Explore); default: clear them, so the grid selects")
    a = ap.parse_args(argv)
    os.environ["COLDSTART_DATA"] = str(Path(a.data_root).resolve())

    from coldstart.embed import load_embeddings
    from coldstart.runs import RunConfig, RunStore
    from coldstart.runs.executors import default_workers
    from coldstart.runs.runner import create_run, execute

    ds = _dataset(a.dataset, a.npz)
    methods = a.methods or METHODS
    cfg = RunConfig.from_dict(dict(dataset=ds.name, task="probe", methods=methods, budgets=a.budgets,
                                   seeds=a.seeds, workers=a.workers))
    for e in cfg.embedders():  # embeddings are cached before timing (the grid reuses them)
        load_embeddings(ds, e)
    if not a.warm:
        import shutil

        shutil.rmtree(ds.cache_dir("sel"), ignore_errors=True)
    run_dir = create_run(cfg)
    t0 = time.perf_counter()
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(execute, run_dir)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        execute(run_dir)
    grid_s = time.perf_counter() - t0
    store = RunStore.from_dir(run_dir)
    units = int(store.results()["unit"].nunique())
    floor_s, fits = floor_loop(store, ds)
    load = os.getloadavg()
    workers = store.events()[0].get("workers", 1)
    print(f"{ds.name}: {units} parts ({len(cfg.methods)} methods x {len(cfg.budgets)} budgets x {len(cfg.seeds)} "
          f"seeds), {workers} worker(s) of {default_workers()} cores, selections "
          + ("from the cache" if a.warm else "computed"))
    print(f"grid {grid_s:.1f} s  |  bare-loop floor {floor_s:.1f} s for {fits} fits on one core  |  "
          f"ratio {grid_s / floor_s:.1f}x  |  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(json.dumps(dict(dataset=ds.name, run_id=run_dir.name, grid_s=round(grid_s, 2), floor_s=round(floor_s, 2),
                          ratio=round(grid_s / floor_s, 2), units=units, fits=fits, workers=workers, warm=a.warm,
                          load=[round(x, 2) for x in load])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
