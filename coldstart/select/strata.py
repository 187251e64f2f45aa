"""Stratum coverage of a pick order: which strata (values of a categorical manifest column) the
first ``budget`` picks hit, where each stratum first appears, and its share among the picks
against its share in the pool.

Pure numpy/pandas; the Explore page shows it per method, side by side. A *stratum* is any value
of a categorical column (``subgroup``, ``protocol``, ``drain``, ``label``, a site or a view);
missing values form their own stratum, ``(missing)``.

Example
-------
>>> import numpy as np
>>> t = stratum_coverage(np.array(["a", "a", "a", "b"]), order=[3, 0, 1], budget=2)
>>> t[["stratum", "pool_count", "picks", "first_rank", "hit"]].to_dict("records")[0]
{'stratum': 'a', 'pool_count': 3, 'picks': 1, 'first_rank': 2, 'hit': True}
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ColdstartError

MISSING = "(missing)"
COLUMNS = ["stratum", "pool_count", "pool_share", "picks", "pick_share", "first_rank", "hit"]
# manifest columns that are never strata (one value per image, or file paths)
NOT_STRATA = {"id", "image", "mask", "path", "file", "patient_id"}


def _as_strings(values) -> np.ndarray:
    """Stratum values as strings; NaN/None -> ``(missing)``."""
    s = pd.Series(np.asarray(values, dtype=object))
    return np.where(s.isna().to_numpy(), MISSING, s.astype(str).to_numpy()).astype(object)


def stratifier_columns(manifest: pd.DataFrame, max_levels: int = 50) -> list[str]:
    """Manifest columns usable as a stratifier: categorical (text, bool, category or few integer
    values) with 2..``max_levels`` distinct values, never an id or a path column."""
    out = []
    for name in manifest.columns:
        if name in NOT_STRATA:
            continue
        col = manifest[name]
        kind = col.dtype.kind
        if kind not in "OUSbi" and not isinstance(col.dtype, pd.CategoricalDtype):
            continue
        n = col.nunique(dropna=False)
        if 2 <= n <= max_levels and n < max(3, len(col)):
            out.append(str(name))
    return out


def stratum_coverage(strata: Sequence, order: Sequence[int], budget: int | None = None) -> pd.DataFrame:
    """Coverage of the strata by the first ``budget`` picks of ``order``.

    Parameters
    ----------
    strata : sequence (n_pool,)
        Stratum of every pool image (any categorical values; NaN/None -> ``(missing)``).
    order : sequence of int
        Picks as positions into the pool, in pick order (rank 1 first). Selections are nested,
        so a method's full order at the largest budget gives every smaller budget as a prefix.
    budget : int, optional
        How many picks count (default: all of ``order``).

    Returns
    -------
    DataFrame, one row per stratum, columns
        ``stratum``, ``pool_count``, ``pool_share`` (of the pool), ``picks`` (among the first
        ``budget``), ``pick_share`` (of those picks; NaN when budget is 0), ``first_rank``
        (1-based rank in the whole ``order`` at which the stratum first appears; <NA> when it
        never does), ``hit`` (``first_rank <= budget``). Rows by pool count, largest first.
    """
    values = _as_strings(strata)
    n = len(values)
    pos = np.asarray(order, dtype=np.int64).reshape(-1)
    if len(pos) and (pos.min() < 0 or pos.max() >= n):
        raise ColdstartError(f"order has positions outside the pool (0..{n - 1}): "
                             f"min {pos.min()}, max {pos.max()}; pass positions into the pool")
    if len(np.unique(pos)) != len(pos):
        raise ColdstartError("order repeats a position: a pick order names each image at most once")
    b = len(pos) if budget is None else int(budget)
    if b < 0:
        raise ColdstartError(f"budget={budget} is negative: choose a budget >= 0")
    b = min(b, len(pos))
    cats, codes = np.unique(values, return_inverse=True)
    k = len(cats)
    pool_count = np.bincount(codes, minlength=k)
    picks = np.bincount(codes[pos[:b]], minlength=k)
    first = np.full(k, -1, dtype=np.int64)
    if len(pos):
        pick_codes = codes[pos]
        uniq, idx = np.unique(pick_codes, return_index=True)  # first occurrence of each stratum
        first[uniq] = idx + 1
    table = pd.DataFrame({
        "stratum": cats.astype(str),
        "pool_count": pool_count.astype(np.int64),
        "pool_share": pool_count / max(n, 1),
        "picks": picks.astype(np.int64),
        "pick_share": picks / b if b else np.full(k, np.nan),
        "first_rank": pd.array([int(f) if f > 0 else None for f in first], dtype="Int64"),
        "hit": picks > 0,
    })
    table = table.sort_values(["pool_count", "stratum"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)[COLUMNS]


def coverage_summary(table: pd.DataFrame) -> dict:
    """Headline figures of a :func:`stratum_coverage` table: strata hit, strata in the pool, the
    strata not yet hit (largest first) and the largest gap between pick share and pool share."""
    gap = (table["pick_share"] - table["pool_share"]).abs()
    return {"strata_hit": int(table["hit"].sum()), "n_strata": int(len(table)),
            "missed": table.loc[~table["hit"], "stratum"].tolist(),
            "max_share_gap": float(gap.max()) if len(table) and gap.notna().any() else float("nan")}


def compare_coverage(strata: Sequence, orders: Mapping[str, Sequence[int]], budget: int) -> pd.DataFrame:
    """Stratum coverage of several methods at one budget, side by side.

    Returns
    -------
    DataFrame with ``stratum``, ``pool_count``, ``pool_share`` and, per method ``m``,
    ``m picks``, ``m share`` and ``m first rank``; rows by pool count, largest first.
    """
    values = _as_strings(strata)
    base = None
    for name, order in orders.items():
        t = stratum_coverage(values, order, budget)
        part = t[["stratum", "picks", "pick_share", "first_rank"]].rename(columns={
            "picks": f"{name} picks", "pick_share": f"{name} share", "first_rank": f"{name} first rank"})
        if base is None:
            base = t[["stratum", "pool_count", "pool_share"]].merge(part, on="stratum")
        else:
            base = base.merge(part, on="stratum")
    if base is None:
        t = stratum_coverage(values, [], 0)
        base = t[["stratum", "pool_count", "pool_share"]]
    return base.reset_index(drop=True)


def stratum_values(manifest: pd.DataFrame, column: str) -> np.ndarray:
    """The stratum (str) of every manifest row by ``column``; missing values are ``(missing)``.

    Raises
    ------
    ColdstartError
        When ``column`` is not a usable stratifier, listing the usable ones.
    """
    usable = stratifier_columns(manifest)
    if column not in usable:
        why = "is not in the manifest" if column not in manifest.columns else "is not a categorical column"
        raise ColdstartError(f"strata={column!r} {why}: choose one of {', '.join(usable) or '(none)'}")
    return _as_strings(manifest[column].to_numpy())
