"""Input checks shared by every selector: validate once at the public edge.

Each check raises :class:`~coldstart.errors.ColdstartError` with a message that
names the parameter, the value and the fix (scikit-learn style). Private
helpers in the selector modules assume validated input.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ColdstartError


def check_features(features, name: str = "features") -> np.ndarray:
    """Return ``features`` as a finite, non-empty 2-D float array.

    Float32/float64 input keeps its dtype (so results match scikit-learn run on
    the same array); integer or boolean input becomes float64.

    Raises
    ------
    ColdstartError
        For 1-D / 3-D / empty arrays, non-numeric data, NaN or inf values.
    """
    try:
        X = np.asarray(features)
    except Exception as e:  # ragged lists etc.
        raise ColdstartError(f"{name} could not be read as an array ({e}): pass a 2-D array "
                             f"with one row per pool image") from None
    if X.ndim != 2:
        hint = " (a single vector? use x.reshape(1, -1))" if X.ndim == 1 else ""
        raise ColdstartError(f"{name} must be a 2-D array (n_images, n_dims); got shape {X.shape}"
                             f"{hint}: pass one row per pool image")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ColdstartError(f"{name} is empty (shape {X.shape}): embed the dataset first "
                             f"(`coldstart embed DATASET --embedder E`) and check the pool is not empty")
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    elif X.dtype.kind != "f":
        raise ColdstartError(f"{name} must be numeric; got dtype {X.dtype}: pass a float array")
    finite = np.isfinite(X)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        shown = ", ".join(map(str, bad_rows[:5])) + (", ..." if len(bad_rows) > 5 else "")
        raise ColdstartError(f"{name} contain NaN or inf values in {len(bad_rows)} rows ({shown}): "
                             f"re-compute the embedding (`coldstart embed ... --force`) or drop those images")
    return X


def check_seed(seed) -> int:
    """An explicit integer seed (>= 0)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ColdstartError(f"seed={seed!r} is not a non-negative integer: pass e.g. seed=0")
    return int(seed)


def check_labeled(labeled, n_pool: int) -> np.ndarray:
    """Sorted unique int64 indices of already-labeled pool images (may be empty)."""
    if labeled is None:
        return np.zeros(0, dtype=np.int64)
    lab = np.asarray(labeled)
    if lab.size == 0:
        return np.zeros(0, dtype=np.int64)
    if lab.dtype == bool:
        if lab.shape != (n_pool,):
            raise ColdstartError(f"labeled mask has shape {lab.shape} but the pool has {n_pool} images: "
                                 f"pass indices or a boolean mask of length {n_pool}")
        return np.flatnonzero(lab).astype(np.int64)
    if lab.ndim != 1 or lab.dtype.kind not in "iu":
        raise ColdstartError(f"labeled must be a 1-D list of integer pool indices; got {lab.dtype} "
                             f"shape {lab.shape}")
    if lab.min() < 0 or lab.max() >= n_pool:
        raise ColdstartError(f"labeled holds indices outside the pool [0, {n_pool}): "
                             f"min {lab.min()}, max {lab.max()}: pass row indices of the pool")
    return np.unique(lab.astype(np.int64))


def check_budget(budget, n_available: int, n_labeled: int = 0) -> int:
    """A positive integer budget no larger than the number of unlabeled images."""
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, numbers.Integral):
        if isinstance(budget, float) and float(budget).is_integer():
            budget = int(budget)
        else:
            raise ColdstartError(f"budget={budget!r} is not an integer: pass the number of images to pick")
    b = int(budget)
    if b <= 0:
        raise ColdstartError(f"budget={b} must be a positive number of images: choose a budget >= 1")
    if b > n_available:
        extra = f" ({n_labeled} already labeled)" if n_labeled else ""
        raise ColdstartError(f"budget={b} is larger than the pool ({n_available} unlabeled images{extra}): "
                             f"choose a budget <= {n_available}")
    return b


def n_unique_rows(X: np.ndarray, at_least: int | None = None) -> int:
    """Number of distinct rows of ``X``.

    A random projection gives a lower bound in one matrix-vector product
    (identical rows always project identically); the exact (sorting) count is
    only computed when that bound is below ``at_least``.
    """
    rng = np.random.default_rng(12345)
    w = rng.standard_normal(X.shape[1])
    proj = np.unique(X @ w.astype(X.dtype))
    if at_least is not None and len(proj) >= at_least:
        return len(proj)
    Xc = np.ascontiguousarray(X)
    rows = Xc.view(np.dtype((np.void, Xc.dtype.itemsize * Xc.shape[1]))).ravel()
    return len(np.unique(rows))


def check_inputs(features, budget, seed, labeled=None, *, unique: bool = True):
    """Validate the common selector arguments.

    Returns
    -------
    X : ndarray (n, d)
    budget : int
    seed : int
    labeled : int64 ndarray (sorted, unique)
    """
    X = check_features(features)
    seed = check_seed(seed)
    lab = check_labeled(labeled, len(X))
    b = check_budget(budget, len(X) - len(lab), len(lab))
    if unique:
        need = b + len(lab)
        n_u = n_unique_rows(X, at_least=need)
        if n_u < need:
            raise ColdstartError(
                f"the pool holds only {n_u} distinct feature vectors but budget={b}"
                + (f" plus {len(lab)} labeled" if len(lab) else "")
                + f" needs {need}: choose a budget <= {max(n_u - len(lab), 0)} or remove duplicate images")
    return X, b, seed, lab
