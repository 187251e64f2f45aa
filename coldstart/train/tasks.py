"""Run a task by name: train on a labeled set, score the test split, score the pool for the next round.

``run_task(task, TaskInput, params) -> TaskOutput`` looks the task up in :data:`FITTERS`. Every
task returns test predictions (per-sample, stored so that two methods can be compared per test
image), metrics with bootstrap SEs and, when asked, class probabilities on the unlabeled pool for
uncertainty sampling. The protocol types live in :mod:`.base`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ColdstartError
from .base import TaskInput, TaskOutput, check_trainable, eval_indices, holdout_split, untrainable_message


# heavy libraries (torch) load only when their task runs
def _probe(inp: TaskInput, params: dict) -> TaskOutput:
    from .probe import fit_probe

    return fit_probe(inp, params)


def _classification(inp: TaskInput, params: dict) -> TaskOutput:
    from .classification import fit_classifier

    return fit_classifier(inp, params)


def _segmentation(inp: TaskInput, params: dict) -> TaskOutput:
    from .segmentation import fit_segmenter

    return fit_segmenter(inp, params)


#: task name -> fit function ``(TaskInput, params) -> TaskOutput``
FITTERS: dict[str, Callable[[TaskInput, dict], TaskOutput]] = {
    "probe": _probe, "classification": _classification, "segmentation": _segmentation}


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
    if task not in FITTERS:
        raise ColdstartError(f"unknown task {task!r}: choose one of {', '.join(FITTERS)}")
    return FITTERS[task](inp, params)


def train_selection(dataset, indices, task: str = "probe", embedder: str | None = "pixels", preset: str | None = None,
                    seed: int = 0, labels=None, val_mode: str = "split", features=None, strata: str | None = None,
                    **overrides) -> TaskOutput:
    """One interactive training on a chosen set (what the app's "train on these picks" button calls).

    Parameters
    ----------
    dataset : Dataset or str
    indices : int array
        Dataset rows that were labeled (e.g. a selection mapped to rows).
    task : {"probe", "classification", "segmentation"}
    embedder : str
        The embedding the probe trains on (ignored by the other tasks).
    features : float array (N, D), optional
        The probe's features for every dataset row, instead of ``embedder`` (e.g. your own model's).
    labels : int array, optional
        Labels given to ``indices`` (default: the stored labels; ``MISSING_LABEL`` entries are dropped).
    val_mode : {"split", "holdout"}
    strata : str, optional
        A categorical manifest column: the output's ``strata`` then holds per-stratum metrics.
    preset : {"quick", "paper"}, optional
        None: :data:`coldstart.train.presets.DEFAULT_PRESET`.
    **overrides
        Training settings of the preset (see :mod:`coldstart.train.presets`).

    Raises
    ------
    ColdstartError
        With a message suggesting a balanced selector or a larger budget when the set has one class.
    """
    from ..data.dataset import as_dataset, is_labeled
    from .presets import DEFAULT_PRESET, resolve_params

    ds = as_dataset(dataset)
    params = resolve_params(task, preset or DEFAULT_PRESET, overrides)
    idx = np.asarray(indices, int)
    lab = ds.labels[idx] if labels is None else np.asarray(labels, int)
    keep = is_labeled(lab)
    idx, lab = idx[keep], lab[keep]
    if val_mode == "holdout":
        idx, lab, val_idx, val_lab = holdout_split(idx, lab)
    else:
        val_idx = eval_indices(ds, "val")
        val_lab = ds.labels[val_idx]
    test = eval_indices(ds, "test")
    if task == "segmentation":  # the paper's cohort: positive images only (unless include_negatives)
        from .segmentation import check_masks, cohort

        check_masks(ds)
        neg = params["include_negatives"]
        keep = np.isin(idx, cohort(ds, idx, neg))
        idx, lab, val_idx, test = idx[keep], lab[keep], cohort(ds, val_idx, neg), cohort(ds, test, neg)
        val_lab = ds.labels[val_idx]
    feats = None
    if task == "probe" and features is not None:
        feats = np.asarray(features, np.float32)
        if feats.ndim != 2 or len(feats) != len(ds):
            raise ColdstartError(f"features has shape {feats.shape}, but the probe needs one row per image of "
                                 f"dataset {ds.name!r}: shape ({len(ds)}, D), in manifest order")
    elif task == "probe":
        from ..embed import load_embeddings

        feats = np.asarray(load_embeddings(ds, embedder), np.float32)
    st, pos = None, ()
    if strata:  # per-stratum metrics in TaskOutput.strata
        from ..select.strata import stratum_values

        st = stratum_values(ds.manifest, strata)
        pos = tuple(sorted(set(st[ds.labels == 1])))
    inp = TaskInput(ds, idx, lab, val_idx, val_lab, test, seed=int(seed), features=feats, strata=st,
                    positive_strata=pos, se_kind=params["se"])
    return run_task(task, inp, params)
