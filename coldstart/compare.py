"""Comparing methods across one or more runs: combined results, paired differences, AL gains.

The paired comparison answers "is method A really better than the baseline at
budget b?": for every seed both trained, both models were scored on the same
test images, so their difference is computed image by image. A bootstrap
resamples the test images (the same draw for both methods) and the seeds,
giving a 95% interval for the mean difference; an interval that excludes 0
is a difference the data support.

Pure pandas/numpy (no Streamlit): the Compare page and scripts call the same functions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import ColdstartError
from .metrics import LOWER_IS_BETTER, METRIC_ALIASES, bootstrap_weights, chance_level, weighted_metric


def combine_results(stores) -> pd.DataFrame:
    """Results of several runs in one table, with a ``run_id`` column.

    When more than one run is given, methods are suffixed with the run id
    (``pixels:kmeans [20261123-1412]``) so equal method names from different
    runs stay apart.
    """
    frames = []
    for st in stores:
        r = st.results()
        if not len(r):
            continue
        r = r.assign(run_id=st.run_id)
        if len(stores) > 1:
            short = st.run_id[:15]
            r["method"] = r["method"].astype(str) + f" [{short}]"
        frames.append(r)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def untrainable_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Cells where some seeds could not be trained: method, budget, ``k/n seeds untrainable``, reason."""
    if not len(results):
        return pd.DataFrame(columns=["method", "budget", "untrainable", "reason"])
    r = results.drop_duplicates("unit")
    rows = []
    for (phase, m, b), g in r.groupby(["phase", "method", "budget"], sort=False):
        bad = g[g["status"] != "ok"]
        if len(bad):
            rows.append({"phase": phase, "method": m, "budget": int(b),
                         "untrainable": f"{bad['seed'].nunique()}/{g['seed'].nunique()} seeds untrainable",
                         "reason": "; ".join(sorted(set(bad["reason"].astype(str))))})
    return pd.DataFrame(rows, columns=["phase", "method", "budget", "untrainable", "reason"])


def al_gains(summary: pd.DataFrame) -> pd.DataFrame:
    """Gain per active-learning round from a :func:`coldstart.runs.summarize` table.

    Returns ``method, strategy, round, budget, mean, se, gain`` where ``gain`` is the change of the
    mean since the previous round (NaN for round 0). Small gains mean more labels stopped paying off.
    """
    al = summary[summary["phase"] == "al"].copy()
    if not len(al):
        return pd.DataFrame(columns=["method", "strategy", "round", "budget", "mean", "se", "gain"])
    al = al.sort_values(["method", "strategy", "round"])
    al["gain"] = al.groupby(["method", "strategy"])["mean"].diff()
    return al[["method", "strategy", "round", "budget", "mean", "se", "gain"]].reset_index(drop=True)


#: metric name in results -> (name in :data:`coldstart.metrics.WEIGHTED`, predictions column)
PER_SAMPLE = {"ap": ("ap", "score"), "auprc": ("ap", "score"), "auprc_trapz": ("auprc_trapz", "score"),
              "auroc": ("auroc", "score"), "f1": ("f1", "pred")}


def sample_values(metric: str, pred: pd.DataFrame) -> tuple[str, np.ndarray]:
    """``(name in coldstart.metrics.WEIGHTED, per-sample values)`` of ``metric`` for one unit's predictions.

    Classification metrics use the ``score``/``pred`` columns; a segmentation metric is the mean of
    its per-image column (``dice_pos``: Dice over images with a finding).
    """
    if metric in PER_SAMPLE:
        name, col = PER_SAMPLE[metric]
        return name, pred[col].to_numpy()
    if metric == "dice_pos":
        return "mean", np.where(pred["y"].to_numpy(int) == 1, pred["dice"].to_numpy(float), np.nan)
    metric = METRIC_ALIASES.get(metric, metric)
    if metric in pred.columns:
        return "mean", pred[metric].to_numpy(float)
    old = {v: k for k, v in METRIC_ALIASES.items()}.get(metric)
    if old in pred.columns:  # predictions written before the surface distances were renamed
        return "mean", pred[old].to_numpy(float)
    raise ColdstartError(f"no paired comparison for metric {metric!r}: choose one of "
                         f"{', '.join([*PER_SAMPLE, 'dice', 'dice_pos', 'hd_paper', 'hd_surface', 'hd95_surface'])}")


def prediction_metric(metric: str, pred: pd.DataFrame, W: np.ndarray) -> np.ndarray:
    """``metric`` of one unit's test predictions under each row of bootstrap weights ``W`` (B, n)."""
    name, values = sample_values(metric, pred)
    return weighted_metric(name, pred["y"].to_numpy(int), values, W)


def paired_vs_baseline(stores, metric: str = "ap", baseline: str = "random", phase: str = "cold",
                       n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
                       results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Difference of every method to ``baseline`` per budget with a paired bootstrap CI.

    Parameters
    ----------
    stores : list of RunStore
        The runs (their predictions are read); same dataset and test split.
    metric : str
    baseline : str
        Method name as it appears in :func:`combine_results` (e.g. ``random``).
    phase : {"cold", "al"}
    n_boot : int
        Bootstrap draws (test images and seeds resampled together).
    seed : int
        Seeds the bootstrap.

    Returns
    -------
    DataFrame ``method, budget, n_seeds, diff, lo, hi, excludes_zero, better`` where ``diff`` is
    method minus baseline (mean over the seeds both could train) and ``better`` says whether the
    difference favours the method (for Hausdorff distance lower is better).
    """
    if n_boot < 10:
        raise ColdstartError(f"n_boot={n_boot} is too small for a 95% interval: use at least 100")
    metric = METRIC_ALIASES.get(metric, metric)
    res = combine_results(stores) if results is None else results
    cols = ["method", "budget", "n_seeds", "diff", "lo", "hi", "excludes_zero", "better"]
    if not len(res):
        return pd.DataFrame(columns=cols)
    res = res.assign(metric=res["metric"].replace(METRIC_ALIASES))
    if "stratum" in res:
        res = res[res["stratum"].fillna("all") == "all"]  # the overall rows (per-stratum rows have no pairs)
    r = res[(res["metric"] == metric) & (res["phase"] == phase) & (res["status"] == "ok")]
    if baseline not in set(r["method"]):
        raise ColdstartError(f"baseline {baseline!r} has no trained results for {metric} here: choose one of "
                             f"{', '.join(sorted(set(r['method'])))}")
    by_id = {st.run_id: st for st in stores}
    cache: dict[tuple[str, str], pd.DataFrame] = {}

    def preds(row) -> pd.DataFrame:
        key = (row["run_id"], row["unit"])
        if key not in cache:
            cache[key] = by_id[row["run_id"]].predictions(row["unit"]).sort_values("index").reset_index(drop=True)
        return cache[key]

    rng = np.random.default_rng(seed)
    lower = metric in LOWER_IS_BETTER
    rows = []
    base = r[r["method"] == baseline].set_index(["budget", "seed"])
    for (m, b), g in r[r["method"] != baseline].groupby(["method", "budget"], sort=False):
        g = g.set_index("seed")
        seeds = [s for s in g.index.unique() if (b, s) in base.index]
        if not seeds:
            continue
        obs = float(np.mean([float(g.loc[s, "value"]) - float(base.loc[(b, s), "value"]) for s in seeds]))
        pa = [preds(g.loc[s]) for s in seeds]
        pb = [preds(base.loc[(b, s)]) for s in seeds]
        n = len(pa[0])
        if any(len(p) != n or not np.array_equal(p["index"].to_numpy(), pa[0]["index"].to_numpy())
               for p in pa + pb):
            raise ColdstartError(f"{m} and {baseline} at budget {b} were tested on different images: "
                                 "compare runs made on the same dataset and split")
        W = bootstrap_weights(n, n_boot, rng)
        D = np.stack([prediction_metric(metric, a, W) - prediction_metric(metric, c, W) for a, c in zip(pa, pb)])
        if len(seeds) > 1:
            pick = rng.integers(0, len(seeds), (n_boot, len(seeds)))
            with warnings.catch_warnings():  # a draw whose resampled seeds are all NaN stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                draws = np.nanmean(D[pick, np.arange(n_boot)[:, None]], axis=1)
        else:
            draws = D[0]
        draws = draws[np.isfinite(draws)]
        if len(draws) < 10:
            lo = hi = float("nan")
        else:
            lo, hi = (float(v) for v in np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
        excl = bool(np.isfinite(lo) and (lo > 0 or hi < 0))
        rows.append({"method": m, "budget": int(b), "n_seeds": len(seeds), "diff": obs, "lo": lo, "hi": hi,
                     "excludes_zero": excl, "better": bool((obs < 0) if lower else (obs > 0))})
    return pd.DataFrame(rows, columns=cols)


def chance_levels(dataset, column: str | None, metric: str = "ap") -> dict[str, float]:
    """:func:`coldstart.metrics.chance_level` of ``metric`` (default AP: the positives' share) on the test
    split: overall (``"all"``) and, with a strata ``column``, for each positive stratum's positives
    against all negatives. NaN where the metric has no chance level."""
    from .train.base import eval_indices

    def level(y):
        c = chance_level(metric, y)
        return float("nan") if c is None else c

    test = eval_indices(dataset, "test")
    y = dataset.labels[test]
    out = {"all": level(y)}
    if column:
        from .select.strata import stratum_values

        st = stratum_values(dataset.manifest, column)[test]
        for v in sorted(set(st[y == 1])):
            out[str(v)] = level(y[((y == 1) & (st == v)) | (y == 0)])
    return out


def ceiling_of(levels: dict | None, metric: str, stratum: str = "all") -> float | None:
    """The full-label ceiling of ``metric`` (and ``stratum``) from :func:`full_label_ceiling`'s levels;
    None when it was not computed (e.g. a task other than the probe) or the metric has none."""
    v = ((levels or {}).get(stratum) or {}).get(METRIC_ALIASES.get(metric, metric))
    return None if v is None else float(v)


def reference_lines(dataset, metric: str, ceiling: dict | None = None) -> dict[str, float | None]:
    """The horizontal reference lines of a metric-vs-budget figure: ``{"full-label ceiling": ...,
    "chance": ...}`` (:func:`ceiling_of`, and :func:`coldstart.metrics.chance_level` on the test split)."""
    return {"full-label ceiling": ceiling_of(ceiling, metric), "chance": chance_levels(dataset, None, metric)["all"]}


def full_label_ceiling(dataset, embedder: str, column: str | None = None, seed: int = 0) -> dict[str, dict]:
    """The probe trained on every labeled train image (the full-label ceiling a cold start tends to):
    ``{"all": {metric: value}, <stratum>: {metric: value}, ...}`` on the test split."""
    from .train.base import eval_indices
    from .train.tasks import train_selection

    rows = eval_indices(dataset, "train")
    out = train_selection(dataset, rows, "probe", embedder, seed=seed, strata=column)
    levels = {"all": {m: v for m, (v, _) in out.metrics.items()}}
    for r in out.strata:
        levels.setdefault(str(r["stratum"]), {})[r["metric"]] = r["value"]
    return levels


__all__ = ["full_label_ceiling", "chance_levels", "ceiling_of", "reference_lines", "combine_results", "untrainable_summary", "al_gains", "paired_vs_baseline", "prediction_metric", "sample_values"]
