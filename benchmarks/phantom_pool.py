"""Measure the default phantom pool: strata, full-label ceiling per candidate embedder, 10-NN agreement.

Usage::

    python benchmarks/phantom_pool.py [--root DIR] [--n 800] [--embedders pixels,pixels-64,...]

Generates the pool into ``--root`` (a temporary folder by default; an existing
``phantom`` dataset there is reused), then for each candidate offline embedder:

- the full-label ceiling: the probe of ``coldstart.train.probe`` (standardise,
  balanced logistic regression, C=1) trained on every train label, AUPRC and
  AUROC on the test split; chance = the test split's positive share;
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


def ceiling(X: np.ndarray, manifest, seed: int = 0) -> dict:
    """Probe trained on every train label (as coldstart.train.probe does), scored on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = manifest.label.to_numpy(int)
    tr = np.flatnonzero(manifest.split.to_numpy() == "train")
    te = np.flatnonzero(manifest.split.to_numpy() == "test")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced",
                                                             random_state=seed))
    clf.fit(X[tr], y[tr])
    s = clf.predict_proba(X[te])[:, 1]
    out = {"auprc": average_precision_score(y[te], s), "auroc": roc_auc_score(y[te], s), "chance": y[te].mean()}
    # the hidden-stratification view: each positive stratum's positives against all negatives
    sub = manifest.subgroup.to_numpy()[te]
    neg = y[te] == 0
    for g in sorted(set(sub[y[te] == 1])):
        keep = neg | (sub == g)
        out[f"auprc[{g}]"] = average_precision_score(y[te][keep], s[keep])
    return out


def _candidate(name: str):
    """A registered embedder, or ``pixels-<size>`` (raw pixels at another thumbnail size)."""
    from coldstart.embed import get_embedder
    from coldstart.embed.pixels import PixelsEmbedder

    if name.startswith("pixels-"):
        return PixelsEmbedder(size=int(name.split("-", 1)[1]))
    return get_embedder(name)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedders", default="pixels-32,pixels-64,gist")
    args = ap.parse_args(argv)

    from coldstart.data import Dataset
    from coldstart.data.phantom import generate_phantom
    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.TemporaryDirectory()
        root = tmp.name
    try:
        ds = Dataset("phantom", root)
    except Exception:
        ds = generate_phantom("phantom", n=args.n, seed=args.seed, root=root, progress=True)
    m = ds.manifest
    shares = m.subgroup.value_counts(normalize=True).round(3)
    print(f"{len(shares)} strata:", ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
    print("protocols:", ", ".join(f"{k} {v:.3f}" for k, v in m.protocol.value_counts(normalize=True).items()),
          f"| patients {m.patient_id.nunique()}")
    rows = []
    for name in args.embedders.split(","):
        t0 = time.perf_counter()
        X = _candidate(name).embed(ds)
        t_emb = time.perf_counter() - t0
        r = {"embedder": name, "dim": X.shape[1], "embed_s": round(t_emb, 1), **ceiling(X, m, args.seed),
             "knn10_protocol": knn_agreement(X, m.protocol), "knn10_subgroup": knn_agreement(X, m.subgroup)}
        rows.append(r)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)
    print(f"load average {os.getloadavg()}")
    if tmp is not None:
        tmp.cleanup()
    return rows


if __name__ == "__main__":
    main()
