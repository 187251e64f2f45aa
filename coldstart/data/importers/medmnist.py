"""Import a MedMNIST ``.npz`` (e.g. ``pneumoniamnist.npz``) of any split sizes.

The file holds ``{split}_images`` (N, H, W) or (N, H, W, 3) uint8 and
``{split}_labels`` (N,) or (N, 1) for the splits it has (train, val, test);
the official splits are kept. It is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ...errors import ColdstartError
from ...paths import data_root
from ...progress import Progress
from ..builder import DatasetBuilder
from .common import existing_file

SPLITS = ("train", "val", "test")
KNOWN_CLASSES = {"pneumoniamnist": ["normal", "pneumonia"]}


def class_names(flag: str | None, n_classes: int) -> list[str]:
    """Class names: built-in for pneumoniamnist, the ``medmnist`` INFO when installed, else '0', '1', ..."""
    if flag in KNOWN_CLASSES and len(KNOWN_CLASSES[flag]) >= n_classes:
        return list(KNOWN_CLASSES[flag])
    if flag:
        try:
            from medmnist import INFO  # optional

            lab = INFO[flag]["label"]
            names = [str(lab[str(k)]) for k in range(len(lab))]
            if len(names) >= n_classes:
                return names
        except Exception:
            pass
    return [str(k) for k in range(n_classes)]


def read_npz(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (images, labels)} of a MedMNIST file; a clear error for a missing key or bad shapes."""
    p = existing_file(path, "MedMNIST file")
    try:
        z = np.load(p, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ColdstartError(f"{p} is not a readable .npz file ({type(e).__name__}: {e}): "
                             "give a MedMNIST .npz such as pneumoniamnist.npz") from None
    if not hasattr(z, "files"):
        raise ColdstartError(f"{p} is a single .npy array, not a MedMNIST .npz with "
                             "{split}_images / {split}_labels keys")
    with z:
        keys = sorted(z.files)
        expected = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels")]
        out = {}
        for s in SPLITS:
            has_i, has_l = f"{s}_images" in keys, f"{s}_labels" in keys
            if has_i != has_l:
                missing = f"{s}_labels" if has_i else f"{s}_images"
                raise ColdstartError(f"{p.name} lacks key {missing!r} (found {keys}; expected {expected} "
                                     f"or a subset of whole splits): re-download or re-export the file")
            if not has_i:
                continue
            try:
                imgs, labs = z[f"{s}_images"], z[f"{s}_labels"]
            except ValueError as e:  # e.g. an object array that would need pickle
                raise ColdstartError(f"{p.name}: key {s}_images/{s}_labels cannot be read without pickle "
                                     f"({e}); MedMNIST files hold plain arrays: re-download the file") from None
            if imgs.ndim not in (3, 4) or (imgs.ndim == 4 and imgs.shape[-1] not in (1, 3)):
                raise ColdstartError(f"{p.name}: {s}_images has shape {imgs.shape}, expected (N, H, W) "
                                     "or (N, H, W, 3)")
            labs = np.asarray(labs)
            if labs.ndim == 2 and labs.shape[1] != 1:
                raise ColdstartError(f"{p.name}: {s}_labels has shape {labs.shape} (multi-label); only "
                                     "single-label MedMNIST sets (one label per image) can be imported")
            labs = labs.reshape(-1)
            if len(labs) != len(imgs):
                raise ColdstartError(f"{p.name}: {s}_images has {len(imgs)} images but {s}_labels "
                                     f"{len(labs)} labels: the file is damaged, re-download it")
            out[s] = (imgs, labs.astype(np.int64))
        if not out:
            raise ColdstartError(f"{p.name} has none of the MedMNIST keys (found {keys}; expected "
                                 f"{expected}): give a MedMNIST .npz such as pneumoniamnist.npz")
    return out


def download_medmnist(flag: str, root=None, size: int | None = None) -> Path:
    """Fetch the official ``<flag>.npz`` with the ``medmnist`` package into ``<data root>/downloads``."""
    try:
        import medmnist
        from medmnist import INFO
    except ImportError:
        raise ColdstartError("downloading needs the medmnist package: pip install medmnist "
                             "(or download the .npz yourself and pass its path)") from None
    if flag not in INFO:
        raise ColdstartError(f"unknown MedMNIST flag {flag!r}: choose one of {sorted(INFO)}")
    dest = data_root(root) / "downloads"
    dest.mkdir(parents=True, exist_ok=True)
    cls = getattr(medmnist, INFO[flag]["python_class"])
    kw = {"size": size} if size else {}
    try:
        cls(split="train", download=True, root=str(dest), **kw)
    except Exception as e:
        raise ColdstartError(f"downloading {flag} failed ({type(e).__name__}: {e}): check the internet "
                             "connection or download the .npz by hand and pass its path") from None
    cands = sorted(dest.glob(f"{flag}*.npz"))
    if not cands:
        raise ColdstartError(f"medmnist reported success but no {flag}*.npz is in {dest}")
    return cands[0]


def import_medmnist(path, name: str, *, flag: str | None = None, seed: int = 0, root=None, progress=None):
    """Import a MedMNIST ``.npz`` keeping its splits.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (``{split}_images``, ``{split}_labels``).
    name : str
        Dataset name.
    flag : str, optional
        MedMNIST flag for class names (default: the file stem, e.g. ``pneumoniamnist``).
    seed : int
        Recorded; the file's own splits are kept.
    root, progress
        Data root; None/True/callable progress.

    Returns
    -------
    Dataset
    """
    data = read_npz(path)
    flag = flag or Path(path).stem.split("_")[0].lower()
    n_classes = int(max(int(l.max()) for _, l in data.values() if len(l)) + 1) if any(
        len(l) for _, l in data.values()) else 0
    if any(len(l) and l.min() < 0 for _, l in data.values()):
        raise ColdstartError(f"{Path(path).name}: negative labels found; MedMNIST labels are 0..K-1")
    b = DatasetBuilder(name, classes=class_names(flag, n_classes), source=f"MedMNIST {flag}", root=root,
                       params={"importer": "medmnist", "path": str(path), "flag": flag, "seed": seed,
                               "sort_ids": False})
    try:
        total = sum(len(i) for i, _ in data.values())
        with Progress(progress, total, f"import {name}") as bar:
            for s, (imgs, labs) in data.items():
                for k in range(len(imgs)):
                    img = imgs[k]
                    if img.ndim == 3 and img.shape[-1] == 1:
                        img = img[..., 0]
                    b.add(f"{s}_{k:05d}", img, label=int(labs[k]), split=s,
                          source_path=f"{Path(path).name}:{s}_images[{k}]")
                    bar.update(1)
        return b.finalize(seed=seed)
    except BaseException:
        b.abort()
        raise
