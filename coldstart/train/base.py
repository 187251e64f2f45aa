"""The task protocol: what a training receives and returns, shared by every task.

``TaskInput`` -> a task's fit function -> ``TaskOutput``. The fit functions
(:mod:`.probe`, :mod:`.classification`, :mod:`.segmentation`) import from here;
:mod:`.tasks` holds the name -> function table and dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import metrics as M

#: The metrics each task records per unit (the first is the headline).
TASK_METRICS = {"probe": ("ap", "auprc_trapz", "auroc", "f1"),
                "classification": ("ap", "auprc_trapz", "auroc", "f1"),
                "segmentation": M.SEG_METRICS}


@dataclass
class TaskInput:
    """Everything one training needs.

    Attributes
    ----------
    dataset : coldstart.data.Dataset
    train_idx, train_labels : int arrays
        Labeled dataset rows and the labels the annotator gave (usable ones only).
    val_idx, val_labels : int arrays
        Validation rows and labels (threshold, LR schedule, best checkpoint).
    test_idx : int array
        Test rows (evaluated with their stored labels / masks).
    seed : int
    features : float array (N, D), optional
        Embedding of the whole dataset (probe task).
    score_idx : int array, optional
        Rows to return class probabilities for (the unlabeled pool, for the next AL round).
    init_state : object, optional
        Weights to start from (warm start); None = the task's initial weights.
    on_epoch : callable(epoch, epochs, info dict), optional
    """

    dataset: Any
    train_idx: np.ndarray
    train_labels: np.ndarray
    val_idx: np.ndarray
    val_labels: np.ndarray
    test_idx: np.ndarray
    seed: int = 0
    features: np.ndarray | None = None
    score_idx: np.ndarray | None = None
    init_state: Any = None
    on_epoch: Callable | None = None
    n_bootstrap: int = 100
    se_kind: str = "sd"  # the SE definition of the bootstrap (coldstart.metrics.SE_KINDS; the paper: "ci95")
    strata: np.ndarray | None = None  # stratum of every dataset row (str), for per-stratum metrics
    positive_strata: tuple = ()  # strata that hold positives in the dataset


@dataclass
class TaskOutput:
    """What a training returns: ``metrics`` {name: (value, se)}, per-test-sample ``predictions``,
    ``pool_probs`` (len(score_idx), C) or None, ``state`` (for warm start), ``info``,
    ``strata``: per-stratum metric rows (:func:`coldstart.metrics.stratum_metrics`) when asked, and
    ``draws``: {metric: bootstrap draws (B,)} behind each SE (pooled over random draws by a run)."""

    metrics: dict[str, tuple[float, float]]
    predictions: pd.DataFrame
    pool_probs: np.ndarray | None = None
    state: Any = None
    info: dict = field(default_factory=dict)
    strata: list = field(default_factory=list)
    draws: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The metrics as a table: one row per metric with its value and bootstrap standard error."""
        rows = [(name, value, se) for name, (value, se) in self.metrics.items()]
        out = pd.DataFrame(rows, columns=["metric", "value", "se"])
        out["n_test"] = len(self.predictions)
        return out


def check_trainable(labels, classes, task: str = "probe") -> str | None:
    """None when ``labels`` can train a classifier, else the reason (which class is missing).

    Segmentation trains on masks and accepts any labeled set that is not empty.
    """
    labels = np.asarray(labels, int)
    if len(labels) == 0:
        return "no usable label (every pick was out-of-distribution or unusable)"
    if task == "segmentation":
        return None
    present = set(np.unique(labels).tolist())
    missing = [classes[c] if c < len(classes) else str(c) for c in range(max(len(classes), 2)) if c not in present]
    if missing:
        return "no " + " and no ".join(f"{m} image" for m in missing)
    return None


def untrainable_message(reason: str) -> str:
    """The message shown for a single interactive training on an untrainable set."""
    return (f"cannot train on this labeled set: {reason}. Use a class-balanced selector "
            "(e.g. 'balanced') or a larger budget.")


def eval_indices(dataset, split: str) -> np.ndarray:
    """Rows of ``split`` that can be evaluated: labeled and in-distribution."""
    idx = dataset.split_indices(split)
    return idx[dataset.is_labeled()[idx] & ~dataset.ood[idx]]


def holdout_split(idx, labels, every: int = 5):
    """Hold out every ``every``-th labeled pick for validation (``val_mode="holdout"``).

    Returns
    -------
    train_idx, train_labels, val_idx, val_labels : int arrays
    """
    idx, labels = np.asarray(idx, int), np.asarray(labels, int)
    hold = np.arange(len(idx)) % every == every - 1
    return idx[~hold], labels[~hold], idx[hold], labels[hold]


def classification_output(inp: TaskInput, test_scores, val_scores, pool_probs, state, info) -> TaskOutput:
    """Threshold by Youden's J on validation, then test metrics with bootstrap SEs."""
    y = inp.dataset.labels[inp.test_idx]
    thr = M.youden_threshold(inp.val_labels, val_scores) if len(inp.val_labels) else 0.5
    pred = (np.asarray(test_scores) >= thr).astype(int)
    s = np.asarray(test_scores, float)
    W = M.bootstrap_weights(len(y), inp.n_bootstrap, inp.seed)  # one set of resamples for every metric
    # the observed value is the same computation with every test image once (equal to scikit-learn's
    # to 1e-12, tests/test_bootstrap.py), without its input validation on every unit
    W = np.vstack([np.ones((1, len(y))), W])
    draws = dict(M.score_draws(y, s, W), f1=M.weighted_metric("f1", y, pred, W))
    mets = {name: (float(d[0]), M.se_of_draws(d[1:], inp.se_kind)) for name, d in draws.items()}
    preds = pd.DataFrame({"index": np.asarray(inp.test_idx, int), "y": y.astype(int), "score": s,
                          "pred": pred})
    info = dict(info, threshold=float(thr))
    strata = [] if inp.strata is None else M.stratum_metrics(y, s, pred, np.asarray(inp.strata)[inp.test_idx],
                                                             inp.positive_strata, W, inp.se_kind)
    return TaskOutput(mets, preds, pool_probs, state, info, strata, {k: d[1:] for k, d in draws.items()})
