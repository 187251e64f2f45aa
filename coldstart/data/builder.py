"""Write a canonical dataset: every importer feeds images through :class:`DatasetBuilder`.

The builder writes into a staging folder and swaps it in at :meth:`finalize`,
so an interrupted import never leaves a half-written dataset, and the
dataset's caches, runs, models and label sessions survive a re-import.
Skipped or converted inputs are recorded with a reason in
``import_report.csv``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..version import __version__
from ..errors import ColdstartError
from ..io import write_json, write_parquet, write_text
from ..paths import data_root, dataset_dir
from .dataset import INFO, MANIFEST, REPORT, Dataset
from .splits import SPLITS, stratified_split

_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_id(raw: str) -> str:
    """A file-name-safe id derived from ``raw`` (a file stem, a uid...)."""
    s = _ID_BAD.sub("_", str(raw)).strip("._")
    return s[:120] or "item"


def to_storable(image: np.ndarray) -> np.ndarray:
    """Normalise an image array to uint8 or uint16 grayscale (H, W) for PNG storage.

    uint8/uint16 are kept (16-bit stays 16-bit); bool -> 0/255; floats in
    [0, 1] -> uint8; other ranges are min-max scaled to uint16.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"image must be 2-D grayscale, got shape {a.shape}")
    if a.dtype == np.uint8 or a.dtype == np.uint16:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("image contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if a.dtype.kind == "f" and lo >= 0 and hi <= 1:
        return np.round(a * 255).astype(np.uint8)
    if np.issubdtype(np.asarray(image).dtype, np.integer) and lo >= 0 and hi <= 255:
        return a.astype(np.uint8)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.round((a - lo) / (hi - lo) * 65535).astype(np.uint16)


class DatasetBuilder:
    """Collect images (and masks) for one dataset and write it atomically.

    Parameters
    ----------
    name : str
        Dataset name (folder under the data root).
    classes : list of str
        Class names; labels passed to :meth:`add` are indices into it or names.
    source : str
        Short description of where the data came from (kept in dataset.json).
    root : path, optional
        Data root.
    params : dict, optional
        Importer parameters, recorded in dataset.json.

    Examples
    --------
    >>> b = DatasetBuilder("demo", classes=["normal", "pneumothorax"], source="test")  # doctest: +SKIP
    >>> b.add("img1", np.zeros((64, 64), np.uint8), label="normal")                    # doctest: +SKIP
    >>> ds = b.finalize(seed=0)                                                       # doctest: +SKIP
    """

    def __init__(self, name: str, classes: list[str], source: str,
                 root: str | os.PathLike | None = None, params: dict | None = None):
        self.name = name
        self.final_dir = dataset_dir(name, root)
        self.root = data_root(root)
        self.classes = list(classes)
        self.source = source
        self.params = dict(params or {})
        self.root.mkdir(parents=True, exist_ok=True)
        self.stage = Path(self.root / f".{name}.staging-{os.getpid()}-{int(time.time() * 1000)}")
        (self.stage / "images").mkdir(parents=True)
        (self.stage / "masks").mkdir()
        self.rows: list[dict] = []
        self.report: list[dict] = []
        self._ids: set[str] = set()
        self._t0 = time.time()

    # ------------------------------------------------------------------
    def label_index(self, label) -> int | None:
        """Map a label (index, name, bool, None) to an index into ``classes``."""
        if label is None or (isinstance(label, float) and np.isnan(label)):
            return None
        if isinstance(label, (bool, np.bool_)):
            return int(label)
        if isinstance(label, (int, np.integer)):
            if not 0 <= int(label) < len(self.classes):
                raise ValueError(f"label {label} outside classes {self.classes}")
            return int(label)
        s = str(label).strip()
        for i, c in enumerate(self.classes):
            if s.lower() == c.lower():
                return i
        if s.isdigit() and int(s) < len(self.classes):
            return int(s)
        self.classes.append(s)
        return len(self.classes) - 1

    def skip(self, path, reason: str, action: str = "skipped") -> None:
        """Record an input that was skipped (or converted, with ``action='converted'``)."""
        self.report.append({"path": str(path), "action": action, "reason": reason})

    def add(self, id: str, image, label=None, mask=None, split: str | None = None,
            source_path=None, **meta) -> bool:
        """Add one image; returns False (and records why) when it is skipped.

        ``image``: array (H, W) uint8/uint16/float in [0, 1]. ``mask``: bool
        array of any size (resized to the image with nearest neighbour) or
        None. ``split``: 'train'/'val'/'test' or None to assign later.
        """
        sid = safe_id(id)
        where = source_path if source_path is not None else id
        if sid in self._ids:
            self.skip(where, f"duplicate id {sid!r} (another file has the same name/stem); kept the first")
            return False
        try:
            arr = to_storable(image)
        except ValueError as e:
            self.skip(where, f"unusable image: {e}")
            return False
        if min(arr.shape) < 2:
            self.skip(where, f"image too small ({arr.shape[1]}x{arr.shape[0]} px)")
            return False
        try:
            lab = self.label_index(label)
        except ValueError as e:
            self.skip(where, str(e))
            return False
        img_rel = f"images/{sid}.png"
        Image.fromarray(arr).save(self.stage / img_rel, optimize=False, compress_level=1)
        mask_rel = None
        if mask is not None:
            m = np.asarray(mask)
            if m.ndim == 3:
                m = m[..., 0] if m.shape[-1] in (1, 3, 4) else m[0]
            m = m.astype(bool) if m.dtype == bool else m > (127 if m.max() > 1 else 0)
            if m.shape != arr.shape:
                self.skip(where, f"mask size {m.shape[1]}x{m.shape[0]} differs from image "
                                 f"{arr.shape[1]}x{arr.shape[0]}; resized with nearest neighbour",
                          action="converted")
                m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(
                    (arr.shape[1], arr.shape[0]), Image.NEAREST)) > 127
            mask_rel = f"masks/{sid}.png"
            Image.fromarray(m.astype(np.uint8) * 255).save(self.stage / mask_rel, compress_level=1)
        if split is not None and split not in SPLITS:
            split = {"valid": "val", "validation": "val", "dev": "val"}.get(str(split).lower(), None)
        self._ids.add(sid)
        row = {"id": sid, "image": img_rel, "label": lab, "mask": mask_rel, "split": split,
               "height": int(arr.shape[0]), "width": int(arr.shape[1]), "bit_depth": 16 if arr.dtype == np.uint16 else 8,
               "source_path": None if source_path is None else str(source_path)}
        row.update(meta)
        self.rows.append(row)
        return True

    # ------------------------------------------------------------------
    def finalize(self, seed: int = 0, fractions=(0.7, 0.1, 0.2), groups_column: str | None = None,
                 info: dict | None = None) -> Dataset:
        """Assign missing splits, write manifest/report/info and swap the dataset in atomically.

        ``info`` adds keys to ``dataset.json``, e.g. ``{"default_embedder": "pixels"}`` (the embedder
        used when none is named: see :func:`coldstart.embed.default_embedder`).
        """
        if not self.rows:
            shutil.rmtree(self.stage, ignore_errors=True)
            where = self._write_report_only()
            first = "; ".join(f"{Path(str(r['path'])).name}: {r['reason']}" for r in self.report[:3])
            raise ColdstartError(
                f"no usable images for dataset {self.name!r} ({len(self.report)} inputs skipped; "
                f"see {where}): check the path and file formats" + (f" (first: {first})" if first else ""))
        df = pd.DataFrame(self.rows)
        df["label"] = df["label"].astype("Int64")
        df["label_name"] = [self.classes[v] if pd.notna(v) else None for v in df["label"]]
        need = df["split"].isna()
        if need.any():
            groups = df.loc[need, groups_column] if groups_column and groups_column in df else None
            df.loc[need, "split"] = stratified_split(df.loc[need, "label"].astype("float"), fractions, seed,
                                                     groups=groups)
        df = df.sort_values("id", kind="stable").reset_index(drop=True) if self.params.get("sort_ids") else df
        write_parquet(self.stage / MANIFEST, df)
        pd.DataFrame(self.report, columns=["path", "action", "reason"]).to_csv(self.stage / REPORT, index=False)
        info = {"name": self.name, "classes": self.classes, "source": self.source, "params": self.params,
                "n": len(df), "n_skipped": sum(r["action"] == "skipped" for r in self.report),
                "seed": seed, "coldstart_version": __version__,
                "import_seconds": round(time.time() - self._t0, 2), **(info or {})}
        write_json(self.stage / INFO, info)
        self._swap_in()
        return Dataset(self.name, self.root)

    def _write_report_only(self) -> Path:
        """Write the report of a failed import; an existing dataset's own report is kept."""
        self.final_dir.mkdir(parents=True, exist_ok=True)
        path = self.final_dir / (REPORT if not (self.final_dir / MANIFEST).exists()
                                 else "import_report.failed.csv")
        write_text(path, pd.DataFrame(self.report, columns=["path", "action", "reason"]).to_csv(index=False))
        return path

    def _swap_in(self) -> None:
        """Replace images/, masks/ and the table files; keep cache/, runs/, models/, labels/."""
        final = self.final_dir
        final.mkdir(parents=True, exist_ok=True)
        trash = self.root / f".{self.name}.old-{os.getpid()}-{int(time.time() * 1000)}"
        trash.mkdir()
        for sub in ("images", "masks"):
            if (final / sub).exists():
                os.replace(final / sub, trash / sub)
            os.replace(self.stage / sub, final / sub)
        for f in (INFO, REPORT, MANIFEST):  # manifest last: it marks the dataset complete
            os.replace(self.stage / f, final / f)
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(self.stage, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def counts(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)
