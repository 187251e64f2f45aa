"""Whole-set diagnostics (coverage) and the one place a :class:`Selection` is assembled."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ._space import nearest
from .base import Selection


def coverage(features: np.ndarray, indices, budgets=None) -> dict[str, Any]:
    """How well the picks cover the pool: distance from every pool point to its nearest pick.

    Parameters
    ----------
    features : (n, d) array
        The pool features (the space the distances are measured in).
    indices : int array
        Picks, in order.
    budgets : list of int, optional
        Also report the coverage of each prefix ``indices[:b]``.

    Returns
    -------
    dict
        ``coverage_mean``, ``coverage_max`` and, with ``budgets``,
        ``coverage_curve`` = list of (budget, mean, max). No N x N matrix is built.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(3)
    >>> coverage(X, [0, 1, 2])["coverage_max"]
    0.0
    """
    X = np.asarray(features, dtype=np.float32)
    idx = np.asarray(indices, dtype=np.int64)
    if len(idx) == 0:
        return {"coverage_mean": float("nan"), "coverage_max": float("nan")}
    out: dict[str, Any] = {}
    if budgets:
        curve = []
        for b in sorted(set(int(b) for b in budgets if 0 < b <= len(idx))):
            _, d = nearest(X, X[idx[:b]])
            curve.append((b, float(d.mean()), float(d.max())))
        out["coverage_curve"] = curve
    _, d = nearest(X, X[idx])
    out["coverage_mean"] = float(d.mean())
    out["coverage_max"] = float(d.max())
    return out


def make_selection(selector: str, features: np.ndarray | None, indices, seed: int,
                   params: dict[str, Any], columns: dict[str, Any] | None = None,
                   info: dict[str, Any] | None = None, t0: float | None = None,
                   labeled=None) -> Selection:
    """Assemble a Selection: per-pick table (rank, index, extra columns) + info incl. coverage.

    Also asserts the postconditions every selector promises (unique picks,
    disjoint from ``labeled``).
    """
    idx = np.asarray(indices, dtype=np.int64)
    assert len(np.unique(idx)) == len(idx), f"{selector}: repeated picks"
    if labeled is not None and len(labeled):
        assert not np.isin(idx, labeled).any(), f"{selector}: picked an already-labeled image"
    per = pd.DataFrame({"rank": np.arange(1, len(idx) + 1), "index": idx})
    for k, v in (columns or {}).items():
        per[k] = np.asarray(v)[: len(idx)]
    meta: dict[str, Any] = {"selector": selector, "params": dict(params), "seed": int(seed),
                            "budget": int(len(idx))}
    if features is not None:
        meta["n_pool"] = int(len(features))
        meta.update(coverage(features, idx))
    if labeled is not None:
        meta["n_labeled"] = int(len(labeled))
    meta.update(info or {})
    if t0 is not None:
        meta["time_s"] = round(time.perf_counter() - t0, 4)
    return Selection(idx, per, meta)
