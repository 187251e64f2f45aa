"""One ``kmeans-paper`` selection: scikit-learn's sequential ``KMeans(n_init=10)`` loop vs the side-by-side restarts.

Both run the same arithmetic (z-score, exact row space for wide features, KMeans with random
initial centroids and 10 restarts for k = 2, 3, ..., the image nearest each centroid); the picks
are compared, and each time is printed with the load average.

Usage (from the project root)::

    .venv/bin/python benchmarks/kmeans_restarts.py                     # phantom pool (gist, pixels) + PneumoniaMNIST
    .venv/bin/python benchmarks/kmeans_restarts.py --budget 100 --seed 0

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # benchmarks/select.py shadows a module
NPZ = next((p for p in (HERE.parent.parent / "shared", HERE.parent.parent.parent / "shared")
            if (p / "data" / "pneumoniamnist" / "pneumoniamnist.npz").exists()), HERE.parent.parent / "shared") \
    / "data" / "pneumoniamnist" / "pneumoniamnist.npz"


def sklearn_loop(X, budget: int, seed: int, n_init: int = 10) -> list[int]:
    """The loop with scikit-learn's KMeans.fit for every k (its restarts one after another)."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from coldstart.select.kmeans import exact_row_space

    Xs, tol = exact_row_space(StandardScaler().fit_transform(X))
    picks, k = [], 2
    while len(picks) < budget and k <= len(Xs):
        km = KMeans(n_clusters=k, init="random", n_init=n_init, random_state=seed, tol=tol).fit(Xs)
        for c in km.cluster_centers_:
            i = int(np.argmin(np.linalg.norm(Xs - c, axis=1)))
            if i not in picks:
                picks.append(i)
        k += 1
    return picks[:budget]


def matrices(data_root: str | None):
    if data_root:
        os.environ["COLDSTART_DATA"] = str(Path(data_root).resolve())
    from coldstart.api import phantom
    from coldstart.embed import load_embeddings
    from coldstart.select.dataset import pool_indices

    ds = phantom()
    rows = pool_indices(ds, "train")
    for e in ("gist", "pixels"):
        yield f"phantom {e}", np.asarray(load_embeddings(ds, e), np.float32)[rows]
    if NPZ.exists():
        d = np.load(NPZ)
        yield "pneumoniamnist pixels", d["train_images"].reshape(len(d["train_images"]), -1).astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=None, help="default: $COLDSTART_DATA or data/")
    a = ap.parse_args(argv)
    from coldstart.select._restarts import available_cores
    from coldstart.select.kmeans import paper_kmeans_indices

    out = []
    for name, X in matrices(a.data_root):
        t0 = time.perf_counter()
        old = sklearn_loop(X, a.budget, a.seed)
        t_old, l_old = time.perf_counter() - t0, os.getloadavg()[0]
        t0 = time.perf_counter()
        new, info = paper_kmeans_indices(X, a.budget, a.seed)
        t_new, l_new = time.perf_counter() - t0, os.getloadavg()[0]
        t0 = time.perf_counter()
        one = paper_kmeans_indices(X, a.budget, a.seed, threads=1)[0]
        t_one, l_one = time.perf_counter() - t0, os.getloadavg()[0]
        r = dict(matrix=name, shape=list(X.shape), k_max=info["k_max"], sklearn_s=round(t_old, 2),
                 restarts_s=round(t_new, 2), restarts_1thread_s=round(t_one, 2), speedup=round(t_old / t_new, 1),
                 same_picks=old == new == one, load=[round(l_old, 2), round(l_new, 2), round(l_one, 2)])
        out.append(r)
        print(f"{name} {X.shape[0]}x{X.shape[1]} (k up to {r['k_max']}): sklearn loop {t_old:.1f} s (load {l_old:.2f})"
              f"  |  side-by-side restarts {t_new:.1f} s on {available_cores()} cores (load {l_new:.2f}), "
              f"{t_one:.1f} s on one thread (load {l_one:.2f})  |  {t_old / t_new:.1f}x  |  same picks: {r['same_picks']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
