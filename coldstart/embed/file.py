"""Bring-your-own embeddings (``file:<path>``) for models coldstart cannot run itself.

Accepted files:

* ``.npy``: a float (N, D) array whose rows follow the manifest order;
* ``.parquet`` / ``.csv``: an ``id`` column matching the manifest ids plus one
  numeric column per dimension (any order of rows; they are matched by id).

Missing or extra ids, duplicated ids, non-numeric columns, NaN/inf values
and wrong shapes raise :class:`~coldstart.errors.ColdstartError` naming the
problem and the fix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import ColdstartError

USAGE = ("bring your own: use --embedder file:PATH with a .npy (N, D) in manifest order, "
         "or a .parquet/.csv with an 'id' column and one numeric column per dimension")
SUFFIXES = (".npy", ".parquet", ".csv")


class FileEmbedder:
    """Embeddings read from a user's file (see module docstring).

    Parameters
    ----------
    path : str or path or None
        The file; None gives the placeholder listed in the embedder table.
    """

    def __init__(self, path=None):
        self.path = None if path in (None, "") else Path(path).expanduser().resolve()
        self.name = "file" if self.path is None else f"file:{self.path}"
        self.dim = None
        self.summary = "bring-your-own embeddings (.npy in manifest order, or .parquet/.csv with an id column)"
        self._key = None
        self._memo = None  # (manifest hash, validated array): chunks read the file once

    @property
    def key(self) -> str:
        """``file-<stem>-<content hash>``: a changed file is a new cache entry."""
        if self._key is None:
            if not self.available()[0]:
                return "file"  # placeholder: nothing is cached for an unavailable file
            h = hashlib.sha256()
            with open(self.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.path.stem)[:40]
            self._key = f"file-{stem}-{h.hexdigest()[:12]}"
        return self._key

    def available(self) -> tuple[bool, str]:
        if self.path is None:
            return False, USAGE
        if not self.path.is_file():
            return False, f"embedding file {self.path} does not exist: check the path after 'file:'"
        if self.path.suffix.lower() not in SUFFIXES:
            return False, f"embedding file {self.path.name} has suffix {self.path.suffix!r}: {USAGE}"
        return True, f"file: {self.path}"

    def embed(self, dataset, device=None, batch_size=None, progress=None, indices=None) -> np.ndarray:
        ok, reason = self.available()
        if not ok:
            raise ColdstartError(reason)
        if self._memo is None or self._memo[0] != dataset.manifest_hash:
            self._memo = (dataset.manifest_hash, self._read(dataset))
        x = self._memo[1]
        return x if indices is None else x[np.asarray(indices, dtype=int)]

    # -- reading and validation -----------------------------------------
    def _read(self, dataset) -> np.ndarray:
        suffix = self.path.suffix.lower()
        n = len(dataset)
        if suffix == ".npy":
            try:
                x = np.load(self.path, allow_pickle=False)
            except ValueError as e:
                raise ColdstartError(f"{self.path.name} is not a plain numeric .npy ({e}): save a float array") from e
            if x.ndim != 2:
                raise ColdstartError(
                    f"{self.path.name} has shape {x.shape}: expected a 2-D array (N images, D dims); "
                    "reshape it to (N, D)")
            if x.shape[0] != n:
                raise ColdstartError(
                    f"{self.path.name} has {x.shape[0]} rows but dataset {dataset.name!r} has {n} images: "
                    "a .npy must have one row per manifest row, in manifest order (or use a .parquet/.csv "
                    "with an 'id' column)")
        else:
            x = self._read_table(dataset)
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise ColdstartError(f"{self.path.name} holds {x.dtype} values: embeddings must be real numbers")
        if x.shape[1] == 0:
            raise ColdstartError(f"{self.path.name} has no embedding dimensions (D = 0)")
        x = x.astype(np.float32)
        bad = ~np.isfinite(x)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            ids = dataset.ids[rows[:5]]
            raise ColdstartError(
                f"{self.path.name} contains NaN or inf values in {len(rows)} rows (e.g. ids {list(ids)}): "
                "fix or drop those embeddings")
        self.dim = int(x.shape[1])
        return x

    def _read_table(self, dataset) -> np.ndarray:
        import pandas as pd

        try:
            df = pd.read_parquet(self.path) if self.path.suffix.lower() == ".parquet" else pd.read_csv(self.path)
        except Exception as e:  # noqa: BLE001 - any parse error is the user's file
            raise ColdstartError(f"could not read {self.path.name}: {e}") from e
        if "id" not in df.columns:
            raise ColdstartError(f"{self.path.name} has no 'id' column (columns: {list(df.columns)[:8]}): "
                                 "add the image ids of the manifest as an 'id' column")
        ids = df["id"].astype(str)
        dup = ids[ids.duplicated()].unique()
        if len(dup):
            raise ColdstartError(f"{self.path.name} repeats {len(dup)} ids (e.g. {list(dup[:5])}): keep one row per id")
        want = dataset.ids
        have = set(ids)
        missing = [i for i in want if i not in have]
        extra = sorted(have - set(want))
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"{len(missing)} manifest ids are missing (e.g. {missing[:5]})")
            if extra:
                parts.append(f"{len(extra)} ids are not in dataset {dataset.name!r} (e.g. {extra[:5]})")
            raise ColdstartError(f"{self.path.name}: " + "; ".join(parts)
                                 + ": provide exactly one row per image of the dataset")
        values = df.drop(columns=["id"])
        nonnum = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
        if nonnum:
            raise ColdstartError(f"{self.path.name} has non-numeric columns {nonnum[:5]}: "
                                 "keep only 'id' and numeric embedding columns")
        order = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
        return values.to_numpy()[order.loc[want].to_numpy()]
