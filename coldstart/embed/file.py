"""Bring-your-own embeddings (``file:<path>``) for models coldstart cannot run itself.

Accepted files:

* ``.npy``: a float (N, D) array whose rows follow the manifest order;
* ``.npz``: arrays ``id`` (N,) and ``embeddings`` (N, D), rows matched by id
  (any order); or a single (N, D) array in manifest order;
* ``.parquet`` / ``.csv``: an ``id`` column matching the manifest ids plus one
  numeric column per dimension (any order of rows; they are matched by id).

This is how embeddings of models coldstart cannot run itself (CXR Foundation,
REMEDIS, any other) come in: see the README, "Bring your own foundation model".

Missing or extra ids, duplicated ids, non-numeric columns, NaN/inf values
and wrong shapes raise :class:`~coldstart.errors.ColdstartError` naming the
problem and the fix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import ColdstartError

USAGE = ("bring your own: use --embedder file:PATH with a .npy (N, D) in manifest order, a .npz with "
         "arrays 'id' and 'embeddings', or a .parquet/.csv with an 'id' column and one numeric column per "
         "dimension")
SUFFIXES = (".npy", ".npz", ".parquet", ".csv")


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
        self.summary = ("bring-your-own embeddings (.npy in manifest order, or .npz/.parquet/.csv with ids), "
                        "e.g. CXR Foundation or REMEDIS")
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
        ids = None
        if suffix in (".npy", ".npz"):
            x, ids = self._read_numpy()
        if suffix in (".npy", ".npz") and ids is None:
            if x.ndim != 2:
                raise ColdstartError(
                    f"{self.path.name} has shape {x.shape}: expected a 2-D array (N images, D dims); "
                    "reshape it to (N, D)")
            if x.shape[0] != n:
                raise ColdstartError(
                    f"{self.path.name} has {x.shape[0]} rows but dataset {dataset.name!r} has {n} images: "
                    "a .npy must have one row per manifest row, in manifest order (or use a .parquet/.csv "
                    "with an 'id' column)")
        elif ids is not None:
            x = self._match_ids(dataset, ids, x)
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

    def _read_numpy(self):
        """``(array, ids or None)`` from a .npy, or a .npz (ids when it has an ``id`` array)."""
        try:
            data = np.load(self.path, allow_pickle=False)
        except ValueError as e:
            raise ColdstartError(f"{self.path.name} is not a plain numeric {self.path.suffix} ({e}): save "
                                 "float arrays (and string ids) without pickling") from e
        if isinstance(data, np.ndarray):
            return data, None
        try:
            return self._from_npz(data)
        except ValueError as e:  # object (pickled) arrays inside the .npz
            raise ColdstartError(f"{self.path.name} holds an array that needs unpickling ({e}): save the ids "
                                 "as strings (np.asarray(ids, dtype=str)) and the embeddings as floats") from e

    def _from_npz(self, data):
        with data:
            keys = list(data.files)
            if "id" in keys:
                emb = [k for k in keys if k != "id"]
                if "embeddings" in emb:
                    emb = ["embeddings"]
                if len(emb) != 1:
                    raise ColdstartError(f"{self.path.name} holds arrays {keys}: save exactly 'id' and "
                                         "'embeddings' (np.savez(path, id=ids, embeddings=X))")
                x = data[emb[0]]
                ids = data["id"].astype(str)
                if x.ndim != 2 or len(x) != len(ids):
                    raise ColdstartError(f"{self.path.name}: 'embeddings' has shape {x.shape} and 'id' "
                                         f"{len(ids)} entries: expected (N, D) and N")
                return x, ids
            if len(keys) != 1:
                raise ColdstartError(f"{self.path.name} holds arrays {keys} but no 'id': save 'id' and "
                                     "'embeddings' (np.savez(path, id=ids, embeddings=X))")
            return data[keys[0]], None

    def _read_table(self, dataset) -> np.ndarray:
        import pandas as pd

        try:
            df = pd.read_parquet(self.path) if self.path.suffix.lower() == ".parquet" else pd.read_csv(self.path)
        except Exception as e:  # noqa: BLE001 - any parse error is the user's file
            raise ColdstartError(f"could not read {self.path.name}: {e}") from e
        if "id" not in df.columns:
            raise ColdstartError(f"{self.path.name} has no 'id' column (columns: {list(df.columns)[:8]}): "
                                 "add the image ids of the manifest as an 'id' column")
        values = df.drop(columns=["id"])
        nonnum = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
        if nonnum:
            raise ColdstartError(f"{self.path.name} has non-numeric columns {nonnum[:5]}: "
                                 "keep only 'id' and numeric embedding columns")
        return self._match_ids(dataset, df["id"].astype(str).to_numpy(), values.to_numpy())

    def _match_ids(self, dataset, ids, values: np.ndarray) -> np.ndarray:
        """Rows of ``values`` reordered to the manifest by ``ids``; every id exactly once."""
        import pandas as pd

        ids = pd.Series(ids).astype(str)
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
        order = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
        return values[order.loc[want].to_numpy()]
