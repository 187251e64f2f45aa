"""Budget wasted on OOD images during active-learning rounds, with and without ``ood_filter``.

    .venv/bin/python benchmarks/al_ood.py                      # 5 rounds x 20, 5 seeds, probe task
    .venv/bin/python benchmarks/al_ood.py --ood-filter 0.1 --strategy threshold

A phantom pool with 10% OOD images (``phantom-ood10``: 800 images, 128 px, shared with
benchmarks/select.py) is embedded with ``pixels``; a run starts from a random 20 (and,
separately, ``pixels:kmeans``) and does 5 rounds of 20 queries with the round strategy, once
without and once with the OOD filter. The oracle wastes OOD picks (``ood_policy="waste"``).
Printed: OOD picks among the 100 round queries (the initial selection excluded), mean over
seeds, and the test AP (average precision) after the last round. Everything goes through ``start_run``.
"""

from __future__ import annotations

import sys  # noqa: I001  (first: benchmarks/select.py must not shadow the stdlib `select`)

if sys.path and sys.path[0] == __import__("os").path.dirname(__import__("os").path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("COLDSTART_DATA", "/tmp/coldstart-bench"))
    ap.add_argument("--strategy", default="least-confidence")
    ap.add_argument("--ood-filter", type=float, default=0.1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    a = ap.parse_args(argv)
    os.environ["COLDSTART_DATA"] = a.data_dir
    from coldstart.data import Dataset
    from coldstart.embed import load_embeddings
    from coldstart.runs import RunConfig, RunStore, start_run

    try:
        ds = Dataset("phantom-ood10")
    except Exception:  # noqa: BLE001 - first use: generate it
        from coldstart.data.phantom import generate_phantom

        print("generating phantom-ood10 (800 images, 10% OOD) ...", flush=True)
        ds = generate_phantom("phantom-ood10", n=800, seed=0, size=128, ood_fraction=0.1)
    load_embeddings(ds, "pixels")
    pool = ds.split_indices("train")
    print(f"pool: {len(pool)} train images, {ds.ood[pool].mean():.1%} OOD; strategy {a.strategy}, "
          f"{a.rounds} rounds x 20; load avg {os.getloadavg()[0]:.2f}", flush=True)
    seeds = [int(s) for s in a.seeds.split(",")]
    for method in ("random", "pixels:kmeans"):
        for filt in (0.0, a.ood_filter):
            t = time.time()
            cfg = RunConfig(dataset="phantom-ood10", task="probe", methods=[method], budgets=[20], seeds=seeds,
                            rounds=a.rounds, query_size=20, strategy=a.strategy, cold_start=False,
                            ood_filter=filt, probe_embedder="pixels", n_bootstrap=20, name="bench-al-ood")
            r = RunStore("phantom-ood10", start_run(cfg, background=False)).results()
            r = r[r["metric"] == "ap"]
            first = r[r["round"] == 0].set_index("seed")["n_ood"]
            last = r[r["round"] == a.rounds].set_index("seed")
            wasted = (last["n_ood"] - first).to_numpy(float)
            print(f"{method:14s} ood_filter={filt:.2f}: OOD picks in the {20 * a.rounds} round queries "
                  f"{wasted.mean():5.1f} ({wasted.mean() / (20 * a.rounds):.1%}; per seed {wasted.astype(int).tolist()}), "
                  f"final AP {np.nanmean(last['value']):.3f}  [{time.time() - t:.0f} s, load avg "
                  f"{os.getloadavg()[0]:.2f}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
