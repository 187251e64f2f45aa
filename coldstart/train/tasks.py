"""The task protocol: train on a labeled set, score the test split, score the pool for the next round.

``run_task(task, TaskInput, params) -> TaskOutput``. Every task returns test
predictions (per-sample, stored so that two methods can be compared per test
image), metrics with bootstrap SEs and, when asked, class probabilities on
the unlabeled pool for uncertainty sampling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import metrics as M
from ..errors import ColdstartError


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


@dataclass
class TaskOutput:
    """What a training returns: ``metrics`` {name: (value, se)}, per-test-sample ``predictions``,
    ``pool_probs`` (len(score_idx), C) or None, ``state`` (for warm start), ``info``."""

    metrics: dict[str, tuple[float, float]]
    predictions: pd.DataFrame
    pool_probs: np.ndarray | None = None
    state: Any = None
    info: dict = field(default_factory=dict)


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


def run_task(task: str, inp: TaskInput, params: dict) -> TaskOutput:
    """Train ``task`` ('probe' | 'classification' | 'segmentation') on ``inp`` with ``params``.

    Raises
    ------
    ColdstartError
        When the labeled set cannot train the task (see :func:`check_trainable`).
    """
    reason = check_trainable(inp.train_labels, inp.dataset.classes, task)
    if reason:
        raise ColdstartError(untrainable_message(reason))
    if task == "probe":
        from .probe import fit_probe as fit
    elif task == "classification":
        from .classification import fit_classifier as fit
    elif task == "segmentation":
        from .segmentation import fit_segmenter as fit
    else:
        raise ColdstartError(f"unknown task {task!r}: choose probe, classification or segmentation")
    return fit(inp, params)


def classification_output(inp: TaskInput, test_scores, val_scores, pool_probs, state, info) -> TaskOutput:
    """Threshold by Youden's J on validation, then test metrics with bootstrap SEs."""
    y = inp.dataset.labels[inp.test_idx]
    thr = M.youden_threshold(inp.val_labels, val_scores) if len(inp.val_labels) else 0.5
    pred = (np.asarray(test_scores) >= thr).astype(int)
    s = np.asarray(test_scores, float)
    n, seed = inp.n_bootstrap, inp.seed
    mets = {
        "auprc": (M.auprc(y, s), M.bootstrap_se(M.auprc, y, s, n, seed)),
        "auroc": (M.auroc(y, s), M.bootstrap_se(M.auroc, y, s, n, seed)),
        "f1": (M.f1(y, pred), M.bootstrap_se(M.f1, y, pred, n, seed)),
    }
    preds = pd.DataFrame({"index": np.asarray(inp.test_idx, int), "y": y.astype(int), "score": s,
                          "pred": pred})
    info = dict(info, threshold=float(thr))
    return TaskOutput(mets, preds, pool_probs, state, info)


def train_selection(dataset, indices, task: str = "probe", embedder: str = "pixels", preset: str = "quick",
                    seed: int = 0, labels=None, val_mode: str = "split", **overrides) -> TaskOutput:
    """One interactive training on a chosen set (what the app's "train on these picks" button calls).

    Parameters
    ----------
    dataset : Dataset or str
    indices : int array
        Dataset rows that were labeled (e.g. a selection mapped to rows).
    task : {"probe", "classification", "segmentation"}
    embedder : str
        The embedding the probe trains on (ignored by the other tasks).
    labels : int array, optional
        Labels given to ``indices`` (default: the stored labels; -1 entries are dropped).
    val_mode : {"split", "holdout"}
    **overrides
        Training settings of the preset (see :mod:`coldstart.train.presets`).

    Raises
    ------
    ColdstartError
        With a message suggesting a balanced selector or a larger budget when the set has one class.
    """
    from ..data.dataset import Dataset
    from .presets import resolve_params

    ds = Dataset(dataset) if isinstance(dataset, str) else dataset
    params = resolve_params(task, preset, overrides)
    idx = np.asarray(indices, int)
    lab = ds.labels[idx] if labels is None else np.asarray(labels, int)
    keep = lab >= 0
    idx, lab = idx[keep], lab[keep]
    if val_mode == "holdout":
        hold = np.arange(len(idx)) % 5 == 4
        val_idx, val_lab, idx, lab = idx[hold], lab[hold], idx[~hold], lab[~hold]
    else:
        v = ds.split_indices("val")
        v = v[(ds.labels[v] >= 0) & ~ds.ood[v]]
        val_idx, val_lab = v, ds.labels[v]
    test = ds.split_indices("test")
    test = test[(ds.labels[test] >= 0) & ~ds.ood[test]]
    if task == "segmentation":
        from .segmentation import check_masks

        check_masks(ds)
    feats = None
    if task == "probe":
        from ..embed import load_embeddings

        feats = np.asarray(load_embeddings(ds, embedder), np.float32)
    inp = TaskInput(ds, idx, lab, val_idx, val_lab, test, seed=int(seed), features=feats)
    return run_task(task, inp, params)
