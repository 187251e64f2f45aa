"""The rows of an export: checked row indices, class names, the selection table, picks files.

Every export starts from a :class:`~coldstart.data.Dataset` plus manifest rows in pick
order (a selection's rows, or the rows a user labeled) and optional labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from ..io import write_bytes

#: Exported files are readable by other users and containers (not the 0600 of a temp file).
FILE_MODE = 0o644


def write_public(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` atomically to ``path`` with mode 0644; return the path."""
    path = Path(path)
    write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
    os.chmod(path, FILE_MODE)
    return path


def check_rows(dataset, indices) -> np.ndarray:
    """``indices`` as a 1-D int array of distinct manifest rows; a clear error otherwise."""
    idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
    if idx.size == 0:
        raise ColdstartError("nothing to export: the selection is empty; pick at least one image first")
    if idx.dtype.kind not in "iu":
        raise ColdstartError(f"indices must be integers (row numbers), got dtype {idx.dtype}")
    idx = idx.astype(int).ravel()
    bad = idx[(idx < 0) | (idx >= len(dataset))]
    if bad.size:
        raise ColdstartError(
            f"indices {bad[:5].tolist()} are outside the dataset {dataset.name!r} (0..{len(dataset) - 1}): "
            "was the selection made on another dataset?")
    if len(np.unique(idx)) != len(idx):
        raise ColdstartError("indices contain duplicates: each image may appear once in an export")
    return idx


def label_names(dataset, idx: np.ndarray, labels) -> list[str]:
    """Class names for the rows: given labels (ints or names) or the dataset's own (``unlabeled`` if unknown)."""
    if labels is None:
        return [dataset.label_name(int(v)) for v in dataset.labels[idx]]
    labels = list(labels)
    if len(labels) != len(idx):
        raise ColdstartError(f"got {len(labels)} labels for {len(idx)} images: pass one label per image")
    out = []
    for v in labels:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append("unlabeled")
        elif isinstance(v, (int, np.integer)):
            out.append(dataset.label_name(int(v)))
        else:
            out.append(str(v))
    return out


def selection_table(dataset, indices, labels=None, per_pick: pd.DataFrame | None = None,
                    absolute_paths: bool = True) -> pd.DataFrame:
    """One row per exported image, in pick order.

    Parameters
    ----------
    dataset : Dataset
    indices : sequence of int
        Manifest rows in pick order (``Selection.indices`` mapped to the dataset).
    labels : sequence of int or str, optional
        Labels to export (e.g. a user's labels); default: the dataset's labels.
    per_pick : DataFrame, optional
        Diagnostics aligned with ``indices`` (``Selection.per_pick``); its extra
        columns (cluster, distance, ...) are appended.
    absolute_paths : bool
        Write absolute image paths (default) or paths relative to the dataset folder.

    Returns
    -------
    DataFrame with columns ``rank, index, id, image, label, split, mask`` (+ diagnostics).
    """
    idx = check_rows(dataset, indices)
    m = dataset.manifest.iloc[idx]
    img = [str(dataset.image_path(int(i))) if absolute_paths else str(m["image"].iat[k])
           for k, i in enumerate(idx)]
    masks = [(str(p) if absolute_paths else os.path.relpath(p, dataset.dir)) if p is not None else ""
             for p in (dataset.mask_path(int(i)) for i in idx)]
    out = pd.DataFrame({
        "rank": np.arange(1, len(idx) + 1),
        "index": idx,
        "id": m["id"].astype(str).to_numpy(),
        "image": img,
        "label": label_names(dataset, idx, labels),
        "split": m["split"].astype(str).to_numpy(),
        "mask": masks,
    })
    if per_pick is not None and len(per_pick):
        if len(per_pick) != len(idx):
            raise ColdstartError(f"per_pick has {len(per_pick)} rows for {len(idx)} images: pass the "
                                 "Selection's own per_pick table")
        extra = per_pick.drop(columns=[c for c in per_pick.columns if c in out.columns], errors="ignore")
        out = pd.concat([out, extra.reset_index(drop=True)], axis=1)
    return out


def selection_csv(dataset, indices, path: str | os.PathLike | None = None, **kw) -> str:
    """The :func:`selection_table` as CSV text; also written (mode 0644) to ``path`` if given."""
    text = selection_table(dataset, indices, **kw).to_csv(index=False)
    if path is not None:
        write_public(path, text)
    return text


def read_picks(dataset, path: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows and diagnostics from a picks CSV (what ``coldstart select --out`` writes).

    The file needs an ``id`` column (image ids of ``dataset``), in pick order; other
    columns except ``rank`` and ``index`` come back as diagnostics aligned with the rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ColdstartError(f"--picks {path}: no such file; write one with "
                             f"`coldstart select {dataset.name} --selector kmeans --budget 20 --out {path}`")
    try:
        df = pd.read_csv(path, dtype={"id": str})
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ColdstartError(f"--picks {path} is not a readable CSV ({e}): pass the file "
                             "`coldstart select --out` wrote") from None
    if "id" not in df.columns:
        raise ColdstartError(f"--picks {path} has no 'id' column (columns: {list(df.columns) or 'none'}): "
                             "pass the file `coldstart select --out` wrote, or a CSV with one image id per row")
    ids = df["id"].dropna().astype(str).str.strip()
    if ids.empty:
        raise ColdstartError(f"--picks {path} lists no images: it is empty; run `coldstart select` again "
                             "with a budget of at least 1")
    where = pd.Series(np.arange(len(dataset)), index=dataset.ids.astype(str))
    unknown = [i for i in ids if i not in where.index]
    if unknown:
        raise ColdstartError(f"--picks {path}: {len(unknown)} id(s) are not in dataset {dataset.name!r}, "
                             f"e.g. {unknown[:5]}: was the file made for another dataset?")
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise ColdstartError(f"--picks {path} lists {dup[:5]} more than once: each image may appear once")
    rows = where.loc[ids.to_numpy()].to_numpy(int)
    per_pick = df.loc[ids.index].drop(columns=[c for c in ("rank", "index", "id") if c in df.columns])
    return rows, per_pick.reset_index(drop=True)
