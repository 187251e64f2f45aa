"""Is the ssl-pool encoder measurably better than raw pixels? Label agreement of each embedding.

For each dataset (the default 800-image phantom pool and the shared
PneumoniaMNIST file), pre-trains ssl-pool with the CPU preset, embeds the
pool with ``pixels`` and ``ssl-pool`` and reports, on the pool (``train``
split; labels are used for evaluation only):

* 5-NN leave-one-out accuracy and balanced accuracy (cosine distance);
* linear-probe AUPRC of the rare class (5-fold stratified CV, logistic
  regression on standardised features), with the rare-class prevalence as
  the chance level;
* a paired bootstrap over images (1000 resamples, predictions held fixed)
  of the ssl-pool - pixels differences: SEs and the share of resamples
  where ssl-pool is better.

Usage::

    .venv/bin/python benchmarks/ssl_agreement.py [--data-dir /tmp/cs-bench] [--datasets phantom pneumoniamnist]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ holds select.py, which would shadow the standard library's `select` (used by subprocess)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
NPZ = ROOT.parent / "shared" / "data" / "pneumoniamnist" / "pneumoniamnist.npz"


def knn_predict(x, y, k=5):
    """5-NN leave-one-out (cosine) predictions."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x)
    idx = nn.kneighbors(x, return_distance=False)
    idx = np.array([row[row != i][:k] for i, row in enumerate(idx)])
    votes = y[idx]
    return np.array([np.bincount(v, minlength=y.max() + 1).argmax() for v in votes])


def knn_loo(x, y, k=5):
    """5-NN leave-one-out (cosine): accuracy and balanced accuracy."""
    from sklearn.metrics import balanced_accuracy_score

    pred = knn_predict(x, y, k)
    return float((pred == y).mean()), float(balanced_accuracy_score(y, pred))


def probe_scores(x, y, seed=0):
    """Cross-validated (5-fold stratified) linear-probe probability of the rare class, and that class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rare = int(np.argmin(np.bincount(y)))
    t = (y == rare).astype(int)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p = cross_val_predict(clf, x, t, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                          method="predict_proba")[:, 1]
    return p, rare


def paired_bootstrap(y, pred_a, prob_a, pred_b, prob_b, rare, n_boot=1000, seed=0):
    """Bootstrap (over images) of the differences b - a in 5-NN balanced accuracy and probe AUPRC.

    The predictions are held fixed (leave-one-out / cross-validated); both
    embeddings are scored on the same resamples. Returns, per metric, the
    standard error of each score, the SE of the difference, and the share of
    resamples where b beats a.
    """
    from coldstart.metrics import bootstrap_weights, weighted_metric

    t = (y == rare).astype(int)
    W = bootstrap_weights(len(y), n_boot, seed)
    W = W[(W @ np.eye(y.max() + 1)[y] > 0).sum(1) >= 2]  # skip resamples that drew a single class
    out = {"bal": (weighted_metric("balanced_accuracy", y, pred_a, W), weighted_metric("balanced_accuracy", y, pred_b, W)),
           "auprc": (weighted_metric("ap", t, prob_a, W), weighted_metric("ap", t, prob_b, W))}
    res = {}
    for k, (va, vb) in out.items():
        d = vb - va
        res[k] = dict(se_a=float(va.std()), se_b=float(vb.std()), se_diff=float(d.std()),
                      p_b_better=float((d > 0).mean()))
    return res


def probe_auprc(x, y, seed=0):
    """Linear-probe AUPRC of the rare class, 5-fold stratified cross-validation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rare = int(np.argmin(np.bincount(y)))
    t = (y == rare).astype(int)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p = cross_val_predict(clf, x, t, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                          method="predict_proba")[:, 1]
    return float(average_precision_score(t, p)), float(t.mean()), rare


def get_dataset(name, root):
    from coldstart.data import Dataset

    try:
        return Dataset(name, root)
    except Exception:  # noqa: BLE001 - not imported yet
        pass
    if name == "phantom":
        from coldstart.data.phantom import generate_phantom

        return generate_phantom("phantom", n=800, seed=0, root=root)
    if name == "pneumoniamnist":
        from coldstart.data.importers.medmnist import import_medmnist

        if not NPZ.exists():
            return None
        return import_medmnist(NPZ, "pneumoniamnist", root=root)
    raise SystemExit(f"unknown dataset {name}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="/tmp/coldstart-bench/data")
    ap.add_argument("--datasets", nargs="+", default=["phantom", "pneumoniamnist"])
    ap.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    ap.add_argument("--input-size", type=int, default=None, help="override the preset's input size")
    ap.add_argument("--arch", default=None)
    ap.add_argument("--features", default=None, help="override the preset's features (e.g. final)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="reuse the newest existing ssl-pool model")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    os.environ["COLDSTART_DATA"] = a.data_dir
    from coldstart.embed import load_embeddings, pretrain_ssl
    from coldstart.embed.ssl_pool import newest_model
    from coldstart.io import read_json
    from sklearn.metrics import average_precision_score, balanced_accuracy_score

    results = []
    for name in a.datasets:
        ds = get_dataset(name, a.data_dir)
        if ds is None:
            print(f"{name}: skipped (no {NPZ})")
            continue
        pool = ds.split_indices("train")
        y = ds.labels[pool]
        over = {k: v for k, v in dict(input_size=a.input_size, arch=a.arch, features=a.features).items() if v is not None}
        mid = newest_model(ds) if a.reuse else None
        if mid is None:
            mid = pretrain_ssl(ds, preset="cpu", epochs=a.epochs, seed=a.seed, device="cpu", progress=True, **over)
        card = read_json(ds.dir / "models" / f"{mid}.json")
        print(f"\n{name}: {len(pool)} pool images, classes {ds.classes}, counts {np.bincount(y).tolist()}")
        print(f"  ssl-pool {mid}: {card['arch']} {card['input_size']} px, {card['epochs']} epochs, "
              f"pretrain {card['seconds']:.0f} s, loss {card['loss_curve'][0]:.3f} -> {card['loss_curve'][-1]:.3f}")
        print(f"  {'embedding':<10} {'dim':>5} {'5NN acc':>8} {'5NN bal':>8} {'AUPRC':>7} (rare class "
              f"'{ds.classes[int(np.argmin(np.bincount(y)))]}', chance {np.bincount(y).min() / len(y):.3f})")
        preds = []
        for emb in ("pixels", f"ssl-pool:{mid}"):
            t0 = time.time()
            x = load_embeddings(ds, emb, device="cpu")[pool]
            pred = knn_predict(x, y)
            acc, bal = float((pred == y).mean()), float(balanced_accuracy_score(y, pred))
            prob, rare = probe_scores(x, y, seed=a.seed)
            ap_ = float(average_precision_score(y == rare, prob))
            preds.append((pred, prob))
            short = emb.split(":")[0]
            print(f"  {short:<10} {x.shape[1]:>5} {acc:>8.3f} {bal:>8.3f} {ap_:>7.3f}   ({time.time() - t0:.0f} s)")
            results.append(dict(dataset=name, embedding=short, model_id=mid if short != "pixels" else None,
                                dim=int(x.shape[1]), knn5_acc=acc, knn5_bal_acc=bal, probe_auprc=ap_,
                                rare_class=ds.classes[rare], prevalence=float((y == rare).mean()),
                                n=int(len(pool)), pretrain_seconds=card["seconds"],
                                pretrain_cpu_seconds=card.get("cpu_seconds"), epochs=card["epochs"],
                                features=card.get("features", "final") if short != "pixels" else None))
        bs = paired_bootstrap(y, preds[0][0], preds[0][1], preds[1][0], preds[1][1], rare, seed=a.seed)
        for k, label in (("bal", "5NN bal"), ("auprc", "AUPRC")):
            b = bs[k]
            print(f"  ssl-pool - pixels, {label}: bootstrap SE pixels {b['se_a']:.3f}, ssl-pool {b['se_b']:.3f}, "
                  f"difference {b['se_diff']:.3f}; ssl-pool better in {100 * b['p_b_better']:.1f}% of "
                  f"1000 resamples")
        results[-1]["bootstrap_vs_pixels"] = bs
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
