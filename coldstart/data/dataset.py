"""The canonical dataset: ``<root>/<name>/manifest.parquet`` + ``images/`` + ``masks/``.

Every importer writes this one layout (see :mod:`coldstart.data.builder`), so
nothing downstream knows where the data came from. Images are 8- or 16-bit
grayscale PNGs; masks are PNGs with 0/255. Loaders return float32 arrays in
[0, 1] and boolean masks at a requested size.
"""

from __future__ import annotations

import hashlib
import os
import reprlib
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import ColdstartError
from ..io import read_json
from ..paths import data_root, dataset_dir

MANIFEST = "manifest.parquet"
INFO = "dataset.json"
REPORT = "import_report.csv"
REQUIRED_COLUMNS = ("id", "image", "label", "mask", "split")
MISSING_LABEL = -1
"""The label of an image whose class is unknown (in :attr:`Dataset.labels` and every label array)."""


def is_labeled(labels) -> np.ndarray:
    """The boolean mask of known labels in ``labels`` (an int array or one label; ``MISSING_LABEL`` is unknown).

    Examples
    --------
    >>> is_labeled([0, MISSING_LABEL, 2])
    array([ True, False,  True])
    """
    return np.asarray(labels) >= 0


class Dataset:
    """An imported dataset: its manifest table plus lazy image/mask loaders.

    Parameters
    ----------
    name : str
        Folder name under the data root.
    root : path, optional
        Data root; defaults to ``$COLDSTART_DATA`` or ``./data``.

    Examples
    --------
    >>> ds = Dataset("phantom")                      # doctest: +SKIP
    >>> x = ds.load_image(0, size=224)               # float32 (224, 224) in [0, 1]
    """

    def __init__(self, name: str, root: str | os.PathLike | None = None):
        self.name = name
        self.dir = dataset_dir(name, root)
        path = self.dir / MANIFEST
        if not path.exists():
            have = list_datasets(root)
            raise ColdstartError(
                f"dataset {name!r} not found under {self.dir.parent}: import it first "
                f"(e.g. `coldstart import phantom --name {name}`)"
                + (f"; available: {', '.join(have)}" if have else "; no datasets are imported yet")
            )
        self.manifest = pd.read_parquet(path)
        missing = [c for c in REQUIRED_COLUMNS if c not in self.manifest.columns]
        if missing:
            raise ColdstartError(f"{path} lacks columns {missing}: re-import the dataset")
        self.info = read_json(self.dir / INFO) if (self.dir / INFO).exists() else {}

    # ---- table views -------------------------------------------------
    def __len__(self) -> int:
        return len(self.manifest)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, n={len(self)}, classes={self.classes})"

    @property
    def ids(self) -> np.ndarray:
        return self.manifest["id"].astype(str).to_numpy()

    @property
    def classes(self) -> list[str]:
        """Class names; label ``k`` in the manifest means ``classes[k]``."""
        return list(self.info.get("classes", []))

    @property
    def labels(self) -> np.ndarray:
        """Integer labels, :data:`MISSING_LABEL` where unknown."""
        return self.manifest["label"].fillna(MISSING_LABEL).astype(int).to_numpy()

    def is_labeled(self) -> np.ndarray:
        """The boolean mask of the images whose label is known (one entry per row)."""
        return is_labeled(self.labels)

    @property
    def splits(self) -> np.ndarray:
        return self.manifest["split"].astype(str).to_numpy()

    def split_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.splits == split)

    @property
    def has_masks(self) -> bool:
        return bool(self.manifest["mask"].notna().any())

    def column(self, name: str, default=None) -> np.ndarray:
        """A metadata column as an array (``default`` where the column is absent)."""
        if name in self.manifest.columns:
            return self.manifest[name].to_numpy()
        return np.full(len(self), default, dtype=object)

    @property
    def ood(self) -> np.ndarray:
        return self.column("ood", False).astype(bool)

    @property
    def ambiguous(self) -> np.ndarray:
        return self.column("ambiguous", False).astype(bool)

    def report(self) -> pd.DataFrame:
        """The import report (skipped/converted files with reasons); empty if none."""
        p = self.dir / REPORT
        if p.exists() and p.stat().st_size > 0:
            return pd.read_csv(p)
        return pd.DataFrame(columns=["path", "action", "reason"])

    @cached_property
    def manifest_hash(self) -> str:
        """Hash of the manifest content: caches keyed on it are invalidated by a re-import that changes it."""
        return hashlib.sha256((self.dir / MANIFEST).read_bytes()).hexdigest()[:16]

    def summary(self) -> pd.DataFrame:
        """Images per class (rows) and split (columns train, val, test, others), with totals.

        The CLI's import summary and the home page show this same table.
        """
        df = self.manifest.assign(
            label_name=[self.label_name(v) for v in self.labels])
        tab = df.pivot_table(index="label_name", columns="split", values="id",
                             aggfunc="count", fill_value=0, observed=False)
        order = [c for c in ("train", "val", "test") if c in tab.columns]
        tab = tab.reindex(columns=order + [c for c in tab.columns if c not in order])
        tab.index.name, tab.columns.name = "class", None
        if len(tab):
            tab["total"] = tab.sum(axis=1)
            tab.loc["total"] = tab.sum(axis=0)
        return tab

    def label_name(self, label: int) -> str:
        if label is None or not is_labeled(label):
            return "unlabeled"
        return self.classes[label] if label < len(self.classes) else str(label)

    # ---- files -------------------------------------------------------
    def image_path(self, i: int) -> Path:
        return self.dir / str(self.manifest["image"].iat[i])

    def mask_path(self, i: int) -> Path | None:
        m = self.manifest["mask"].iat[i]
        return None if m is None or (isinstance(m, float) and np.isnan(m)) else self.dir / str(m)

    def load_image(self, i: int, size: int | tuple[int, int] | None = None) -> np.ndarray:
        """Image ``i`` as float32 grayscale in [0, 1], resized to ``size`` (int = square)."""
        return load_png(self.image_path(i), size)

    def load_mask(self, i: int, size: int | tuple[int, int] | None = None) -> np.ndarray | None:
        """Mask ``i`` as a boolean array (None when the image has no mask)."""
        p = self.mask_path(i)
        if p is None:
            return None
        with Image.open(p) as im:
            im = im.convert("L")
            if size is not None:
                im = im.resize(_wh(size), Image.NEAREST)
            return np.asarray(im) > 127

    def load_images(self, indices=None, size: int | tuple[int, int] = 64) -> np.ndarray:
        """Stack of images (len, H, W) float32."""
        indices = range(len(self)) if indices is None else indices
        return np.stack([self.load_image(int(i), size) for i in indices]) if len(indices) else \
            np.zeros((0,) + _wh(size)[::-1], np.float32)

    def cache_dir(self, kind: str) -> Path:
        """``<dataset>/cache/<kind>/``, created on demand (kinds: emb, map, sel...)."""
        p = self.dir / "cache" / kind
        p.mkdir(parents=True, exist_ok=True)
        return p

    def subdir(self, kind: str) -> Path:
        """``<dataset>/<kind>/`` (runs, models, labels), created on demand."""
        p = self.dir / kind
        p.mkdir(parents=True, exist_ok=True)
        return p


def _wh(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    w, h = size[1], size[0]  # size given as (H, W)
    return int(w), int(h)


def load_png(path: str | os.PathLike, size=None) -> np.ndarray:
    """Read a canonical 8/16-bit grayscale PNG as float32 in [0, 1]."""
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float32)
            scale = 65535.0
            if size is not None:
                fim = Image.fromarray(arr, mode="F").resize(_wh(size), Image.BILINEAR)
                arr = np.asarray(fim, dtype=np.float32)
            return np.clip(arr / scale, 0, 1)
        im = im.convert("L")
        if size is not None and im.size != _wh(size):
            im = im.resize(_wh(size), Image.BILINEAR)
        return np.asarray(im, dtype=np.float32) / 255.0


def preview_indices(ds: Dataset, n: int = 12, seed: int = 0) -> np.ndarray:
    """``n`` rows to preview a dataset: a seeded sample spread over classes, images with masks first."""
    rng = np.random.default_rng(seed)
    labels = ds.labels
    has_mask = ds.manifest["mask"].notna().to_numpy()
    groups = [np.flatnonzero(labels == k) for k in sorted(set(labels.tolist()))]
    per = max(1, n // max(1, len(groups)))
    out: list[int] = []
    for g in groups:
        g = g[np.argsort(~has_mask[g], kind="stable")]  # masked first
        take = g[: per * 3]
        out.extend(rng.permutation(take)[:per].tolist())
    rest = np.setdiff1d(np.arange(len(ds)), out)
    out.extend(rng.permutation(rest)[: max(0, n - len(out))].tolist())
    return np.array(sorted(out[:n]))


def list_datasets(root: str | os.PathLike | None = None) -> list[str]:
    """Names of imported datasets under the data root, sorted."""
    r = data_root(root)
    if not r.exists():
        return []
    return sorted(p.name for p in r.iterdir() if (p / MANIFEST).exists())


def open_dataset(name: str, root: str | os.PathLike | None = None) -> Dataset:
    return Dataset(name, root)


def as_dataset(dataset, param: str = "dataset") -> Dataset:
    """``dataset`` itself when it is a :class:`Dataset`, else the imported dataset of that name.

    Every function that takes "a dataset or its name" converts it here; ``param`` is the
    argument's name in the caller, for the error message.

    Raises
    ------
    ColdstartError
        When ``dataset`` is neither a Dataset nor a name, or no dataset of that name is imported.
    """
    if isinstance(dataset, str):
        return Dataset(dataset)
    if isinstance(dataset, Dataset) or hasattr(dataset, "manifest"):  # a class reloaded by Streamlit too
        return dataset
    raise ColdstartError(f"{param}={reprlib.repr(dataset)} is neither a Dataset nor a dataset name: pass the name of an "
                         "imported dataset (see `coldstart datasets`) or cs.open_dataset(name)")
