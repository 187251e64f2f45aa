"""Measure the default phantom pool: strata, full-label ceiling per candidate embedder, 10-NN agreement.

Usage::

    python benchmarks/phantom_pool.py [--root DIR] [--n 800] [--embedders pixels,pixels-64,...]

Generates the pool into ``--root`` (a temporary folder by default; an existing
``phantom`` dataset there is reused), then for each candidate offline embedder:

- the full-label ceiling (:func:`coldstart.compare.full_label_ceiling`: the
  default probe trained on every train label, scored on the test split),
  overall and per ``subgroup`` (each positive stratum's positives against all
  negatives), beside the chance levels (:func:`coldstart.compare.chance_levels`);
- the 10-NN agreement of ``protocol`` and ``subgroup``: for each image, the
  share of its 10 nearest neighbours (Euclidean, in the embedding as stored)
  with the same value, averaged over the pool.

Prints one line per embedder plus the strata and their shares, and the load
average (timings are noisy on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def knn_agreement(X: np.ndarray, values, k: int = 10) -> float:
    """Mean share of each point's ``k`` nearest neighbours (itself excluded) that share its value."""
    from sklearn.neighbors import NearestNeighbors

    v = np.asarray(values)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return float((v[idx[:, 1:]] == v[:, None]).mean())


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedders", default="pixels-32,pixels,gist")
    args = ap.parse_args(argv)

    from coldstart.data import Dataset
    from coldstart.data.phantom import generate_phantom

    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.TemporaryDirectory()
        root = tmp.name
    os.environ["COLDSTART_DATA"] = str(root)      # every cache (embeddings, runs) goes under this root
    try:
        ds = Dataset("phantom", root)
    except Exception:
        ds = generate_phantom("phantom", n=args.n, seed=args.seed, root=root, progress=True)
    m = ds.manifest
    shares = m.subgroup.value_counts(normalize=True).round(3)
    print(f"{len(shares)} strata:", ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
    print("protocols:", ", ".join(f"{k} {v:.3f}" for k, v in m.protocol.value_counts(normalize=True).items()),
          f"| patients {m.patient_id.nunique()}")
    from coldstart.compare import chance_levels, full_label_ceiling
    from coldstart.embed import load_embeddings

    chance = chance_levels(ds, "subgroup")
    print("chance:", ", ".join(f"{k} {v:.3f}" for k, v in chance.items()))
    rows = []
    for name in args.embedders.split(","):
        t0 = time.perf_counter()
        X = load_embeddings(ds, name)
        t_emb = time.perf_counter() - t0
        ceil = full_label_ceiling(ds, name, "subgroup", seed=args.seed)
        r = {"embedder": name, "dim": X.shape[1], "embed_s": round(t_emb, 1),
             **{(f"{m}[{k}]" if k != "all" else m).replace("ap", "auprc", 1): v for k, d in ceil.items()
                for m, v in d.items() if m in ("ap", "auroc", "sensitivity")},
             "knn10_protocol": knn_agreement(X, m.protocol), "knn10_subgroup": knn_agreement(X, m.subgroup)}
        rows.append(r)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)
    print(f"load average {os.getloadavg()}")
    if tmp is not None:
        tmp.cleanup()
    return rows


if __name__ == "__main__":
    main()
