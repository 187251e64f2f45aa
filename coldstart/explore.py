"""What the Explore page shows about a pool and its picks, computed from plain arrays (unit-tested).

Positions vs indices: the page works on a *pool* (the train split, or every image): ``pool``
holds dataset row indices (:func:`coldstart.select.dataset.pool_indices`), features are
``features[pool]``, and a Selection's ``indices`` are positions into that pool; ``pool[positions]``
maps them back to dataset rows (what :mod:`coldstart.export` takes).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .data.dataset import MISSING_LABEL, is_labeled
from .errors import ColdstartError
from .select._space import nearest, single_thread
from .select.dataset import POOLS, pool_indices  # noqa: F401  (the pool the page explores)
from .select.diagnostics import coverage

COLOR_OPTIONS = ("label", "cluster", "split", "OOD flag", "OOD score", "distance to nearest pick")
CONTINUOUS = {"OOD score", "distance to nearest pick"}



@single_thread
def nearest_pick(features: np.ndarray, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """For every pool row: the pick (as 0-based position in ``positions``) nearest to it, and the distance."""
    pos = np.asarray(positions, dtype=int)
    if len(pos) == 0:
        n = len(features)
        return np.full(n, -1), np.full(n, np.nan, np.float32)
    X = np.asarray(features, dtype=np.float32)
    return nearest(X, X[pos])


@single_thread
def near_duplicates(features: np.ndarray, positions: Sequence[int], ids: Sequence[str],
                    rel_threshold: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Pairs of picks closer than ``rel_threshold`` x the typical distance between pool images.

    The typical distance is the median distance between 2,000 random pairs of pool rows
    (seeded), so the threshold does not depend on the embedding's scale. Exact repeats have
    distance 0 and are always flagged.

    Returns
    -------
    DataFrame with columns rank_a, id_a, rank_b, id_b, distance, relative (sorted by distance)
    """
    X = np.asarray(features, dtype=np.float32)
    pos = np.asarray(positions, dtype=int)
    cols = ["rank_a", "id_a", "rank_b", "id_b", "distance", "relative"]
    if len(pos) < 2:
        return pd.DataFrame(columns=cols)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(X), 2000), rng.integers(0, len(X), 2000)
    keep = a != b
    typical = float(np.median(np.linalg.norm(X[a[keep]] - X[b[keep]], axis=1))) if keep.any() else 0.0
    P = X[pos]
    d = np.sqrt(np.maximum(((P[:, None, :] - P[None, :, :]) ** 2).sum(-1), 0))
    iu, ju = np.triu_indices(len(pos), 1)
    dist = d[iu, ju]
    rel = dist / typical if typical > 0 else np.where(dist > 0, np.inf, 0.0)
    hit = rel < rel_threshold
    ids = np.asarray(ids, dtype=object)
    df = pd.DataFrame({"rank_a": iu[hit] + 1, "id_a": ids[pos[iu[hit]]], "rank_b": ju[hit] + 1,
                       "id_b": ids[pos[ju[hit]]], "distance": dist[hit], "relative": rel[hit]},
                      columns=cols)
    return df.sort_values("distance", kind="stable").reset_index(drop=True)


def pick_hover(dataset, pool: np.ndarray, selection, method: str) -> list[str]:
    """Hover text per pick: id, label and why it was picked (rank, cluster, size, distance)."""
    per = selection.per_pick.reset_index(drop=True)
    rows = pool[np.asarray(selection.indices, dtype=int)]
    labels = dataset.labels
    ids = dataset.ids
    out = []
    for k, r in enumerate(rows):
        rec = per.iloc[k] if k < len(per) else {}
        parts = [f"<b>pick #{k + 1}</b> · {method}", f"id: {ids[r]}",
                 f"label: {dataset.label_name(int(labels[r]))}"]
        if "cluster" in per.columns and pd.notna(rec.get("cluster")):
            size = rec.get("cluster_size")
            size_s = f" ({int(size)} images)" if size is not None and pd.notna(size) else ""
            parts.append(f"cluster {int(rec['cluster'])}{size_s}")
        if "k" in per.columns and pd.notna(rec.get("k")):
            parts.append(f"added when k = {int(rec['k'])}")
        if "distance" in per.columns and pd.notna(rec.get("distance")):
            parts.append(f"distance to cluster centre: {float(rec['distance']):.3g}")
        for extra in ("score", "typicality", "coverage_gain"):
            if extra in per.columns and pd.notna(rec.get(extra)):
                parts.append(f"{extra.replace('_', ' ')}: {float(rec[extra]):.3g}")
        if len(parts) == 3 and selection.info.get("selector") == "random":
            parts.append("picked at random (seeded)")
        out.append("<br>".join(parts))
    return out


def pool_info(dataset, pool: np.ndarray, split: bool = True) -> dict[str, np.ndarray]:
    """Hover fields per pool point (sent with the id in ``customdata``): label (and split)."""
    names = np.array([dataset.label_name(k) for k in range(MISSING_LABEL, len(dataset.classes))], dtype=object)
    out = {"label": names[dataset.labels[pool] - MISSING_LABEL]}
    if split:
        out["split"] = dataset.splits[pool].astype(object)
    return out


def color_values(option: str, dataset, pool: np.ndarray, *, clusters: np.ndarray | None = None,
                 ood_scores: np.ndarray | None = None, pick_distance: np.ndarray | None = None):
    """(values, continuous, title) for a "colour by" option over the pool's points."""
    if option == "label":
        return np.array([dataset.label_name(int(v)) for v in dataset.labels[pool]], object), False, "label"
    if option == "split":
        return dataset.splits[pool].astype(object), False, "split"
    if option == "OOD flag":
        flags = dataset.ood[pool]
        return np.where(flags, "yes", "no").astype(object), False, "flagged OOD"
    if option == "cluster":
        if clusters is None:
            raise ValueError("cluster colours need the cluster of every pool image")
        c = np.asarray(clusters)
        return np.array([f"c{int(v) + 1:02d}" if v >= 0 else "none" for v in c], object), False, \
            "cluster (nearest pick)"
    if option == "OOD score":
        if ood_scores is None:
            raise ValueError("OOD score colours need scores")
        return np.asarray(ood_scores, np.float32), True, "OOD score"
    if option == "distance to nearest pick":
        if pick_distance is None:
            raise ValueError("distance colours need the distances")
        return np.asarray(pick_distance, np.float32), True, "distance to nearest pick"
    raise ValueError(f"unknown colour option {option!r}: choose one of {COLOR_OPTIONS}")


@single_thread
def diagnostics(dataset, pool: np.ndarray, positions: Sequence[int], space: np.ndarray,
                ood_scores: np.ndarray | None = None, dup_threshold: float = 0.1) -> dict:
    """Side-by-side numbers for one method's picks.

    Parameters
    ----------
    dataset, pool
        The dataset and the pool's row indices.
    positions : picks as positions into the pool, in order.
    space : (len(pool), D) features in which coverage and near-duplicates are measured
        (the map's embedding, the same for both methods so they compare fairly).
    ood_scores : optional (len(pool),) scores; the mean score of the picks is reported.

    Returns
    -------
    dict with n, class_counts (list aligned with dataset.classes), unlabeled, coverage_mean,
    coverage_max, ood_picked, ood_score_mean, duplicates (DataFrame)
    """
    pos = np.asarray(positions, dtype=int)
    rows = pool[pos]
    labels = dataset.labels[rows]
    ncls = len(dataset.classes)
    counts = [int((labels == k).sum()) for k in range(ncls)]
    cov = coverage(np.asarray(space, np.float32), pos) if len(pos) else \
        {"coverage_mean": float("nan"), "coverage_max": float("nan")}
    out = {"n": int(len(pos)), "class_counts": counts, "unlabeled": int((~is_labeled(labels)).sum()),
           "classes_covered": int(sum(c > 0 for c in counts)),
           "coverage_mean": float(cov["coverage_mean"]), "coverage_max": float(cov["coverage_max"]),
           "ood_picked": int(dataset.ood[rows].sum()),
           "ood_score_mean": float(np.mean(np.asarray(ood_scores)[pos])) if ood_scores is not None and len(pos)
           else float("nan"),
           "duplicates": near_duplicates(space, pos, dataset.ids[pool], dup_threshold)}
    return out


def overlap(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of images picked by both methods."""
    return int(len(np.intersect1d(np.asarray(a, int), np.asarray(b, int))))


def ids_to_rows(dataset, ids: Sequence[str]) -> np.ndarray:
    """Dataset row indices for image ids (unknown ids are dropped), in the given order, unique."""
    lookup = {v: i for i, v in enumerate(dataset.ids)}
    seen, out = set(), []
    for i in ids:
        r = lookup.get(str(i))
        if r is not None and r not in seen:
            seen.add(r)
            out.append(r)
    return np.asarray(out, dtype=int)


def budget_range(n_pool: int) -> tuple[int, int]:
    """(largest, default) budget the Explore slider offers for a pool of ``n_pool`` images.

    The largest is 10% of the pool, at least 100 and at most 200 (never more than the pool); the
    default is the paper's first budget, 20.
    """
    hi = int(min(n_pool, max(100, min(200, n_pool // 10))))
    return hi, int(min(20, hi))


def nested_picks(compute, budget: int, max_budget: int):
    """The picks for ``budget`` from ``compute(b) -> Selection``.

    Selections are nested, so the largest budget is computed once (and cached by the caller) and
    every smaller budget is its prefix: moving the slider costs nothing. When the largest budget
    cannot be picked (e.g. ``ood-aware`` leaves fewer images than that after excluding outliers),
    the budget itself is computed instead; its :class:`ColdstartError`, if any, propagates.
    """
    try:
        full = compute(int(max_budget))
    except ColdstartError:
        return compute(int(budget))
    return full.prefix(min(int(budget), len(full)))


#: what :func:`warm` computes, in order (cheap first: a visit during warming finds those ready)
WARM_STEPS = ("embedding", "pca map", "selection", "umap map")


def warm(dataset, embedder: str | None = None, selector: str = "kmeans", seed: int = 0, pool: str = "train",
         steps=WARM_STEPS, log=None) -> dict:
    """Fill the disk caches Explore's first visit reads, so that it only draws.

    In order: the ``embedder``'s embeddings (default: :func:`coldstart.embed.default_embedder`),
    the PCA map, ``selector``'s picks at the slider's largest budget (:func:`budget_range`; every
    smaller budget is their prefix) and the UMAP map, through the same cached functions the page
    and the CLI call (``coldstart embed``, ``coldstart select``, ``coldstart map``). Entries already
    cached are read, not recomputed. ``log(step, seconds)`` hears each finished step.

    Returns
    -------
    dict step -> seconds it took (the steps in :data:`WARM_STEPS` that were asked for)
    """
    import time

    from . import maps
    from .embed import default_embedder, get_embedder, load_embeddings
    from .select.dataset import pool_selection

    unknown = sorted(set(steps) - set(WARM_STEPS))
    if unknown:
        raise ColdstartError(f"steps={unknown} are unknown: choose from {', '.join(WARM_STEPS)}")
    name = embedder or default_embedder(dataset)[0]
    out: dict = {}
    t = time.perf_counter()
    feats = load_embeddings(dataset, name)
    key = get_embedder(name, dataset).key

    def done(step: str) -> None:
        nonlocal t
        out[step] = round(time.perf_counter() - t, 2)
        if log is not None:
            log(step, out[step])
        t = time.perf_counter()

    done("embedding")
    for step in steps:
        if step == "pca map" or step == "umap map":
            maps.load_or_compute_map(dataset, feats, key, step.split()[0], seed)
        elif step == "selection":
            max_budget, _ = budget_range(len(pool_indices(dataset, pool)))
            pool_selection(dataset, selector, name, max_budget, seed, pool, features=feats)
        if step != "embedding":
            done(step)
    return out
