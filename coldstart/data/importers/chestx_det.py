"""Import ChestX-Det: the official ``ChestX_Det_{train,test}.json`` annotations + the image folder.

Cohort (the paper's by default): images without any finding (``syms == []``,
negative) against images whose ``syms`` contain ``finding`` (positive):
611 + 189 = 800 for Pneumothorax over both official files. Only the chosen
finding's polygons (given in 1024 x 1024 pixel coordinates) are rasterised,
scaled to each image's own size; all findings of an image are kept in the
``findings`` column.

Splits (``split=``): ``"paper"`` (the default) splits the cohort at random,
stratified by label, 70:10:20 (seeded), as the paper does with its 800 images;
``"official"`` keeps the official files: the train file gives train + a
stratified validation part (``val_fraction``, seeded), the test file gives test.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ...errors import ColdstartError
from ...progress import Progress
from ..builder import DatasetBuilder
from ..imageio import MAX_PIXELS
from .common import existing_dir, existing_file, read_into

COORD_SIZE = 1024  # ChestX-Det polygons are in 1024 x 1024 pixel coordinates
SPLITS = ("paper", "official")


def load_records(json_files) -> list[tuple[dict, str | None]]:
    """Records of the given JSON files with the split each file stands for ('train'/'test'/None)."""
    if isinstance(json_files, (str, os.PathLike)):
        json_files = [json_files]
    if not json_files:
        raise ColdstartError("no ChestX-Det JSON file given: pass --json ChestX_Det_train.json ChestX_Det_test.json")
    out = []
    for f in json_files:
        p = existing_file(f, "ChestX-Det JSON")
        try:
            with open(p, encoding="utf-8") as fh:
                recs = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ColdstartError(f"{p} is not valid JSON ({e}): give the official ChestX_Det_*.json file") from None
        if not isinstance(recs, list) or not all(isinstance(r, dict) and "file_name" in r for r in recs):
            raise ColdstartError(f"{p} is not a ChestX-Det annotation file (expected a list of records with "
                                 "'file_name', 'syms', 'polygons'): give ChestX_Det_train.json / _test.json")
        low = p.name.lower()
        split = "test" if "test" in low else ("train" if "train" in low else None)
        out += [(r, split) for r in recs]
    return out


def rasterise(polygons, size_wh: tuple[int, int], coord_size: int = COORD_SIZE) -> np.ndarray:
    """Fill polygons given in ``coord_size`` pixel coordinates into a bool mask of ``size_wh`` (W, H)."""
    from PIL import Image, ImageDraw

    w, h = size_wh
    sx, sy = w / coord_size, h / coord_size
    im = Image.new("L", (w, h), 0)
    dr = ImageDraw.Draw(im)
    for poly in polygons:
        dr.polygon([(x * sx, y * sy) for x, y in poly], fill=255, outline=255)
    return np.asarray(im) > 0


def _clean_polygon(poly):
    """(points, None) for a usable polygon, else (None, reason)."""
    if not isinstance(poly, (list, tuple)):
        return None, f"not a list of points ({type(poly).__name__})"
    pts = []
    for pt in poly:
        if not isinstance(pt, (list, tuple)) or len(pt) != 2:
            return None, f"point {pt!r} is not an [x, y] pair"
        try:
            x, y = float(pt[0]), float(pt[1])
        except (TypeError, ValueError):
            return None, f"non-numeric point {pt!r}"
        if not (math.isfinite(x) and math.isfinite(y)):
            return None, f"non-finite point {pt!r}"
        pts.append((x, y))
    if len(pts) < 3:
        return None, f"{len(pts)} point(s), need >= 3"
    return pts, None


def carve_val(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean array: a stratified, seeded ``fraction`` of the items go to validation."""
    labels = np.asarray(labels)
    n = len(labels)
    k = int(round(fraction * n))
    out = np.zeros(n, bool)
    if k <= 0 or n < 2:
        return out
    from sklearn.model_selection import train_test_split

    _, counts = np.unique(labels, return_counts=True)
    strat = labels if counts.min() >= 2 and k >= len(counts) else None
    _, val = train_test_split(np.arange(n), test_size=k, random_state=seed, stratify=strat)
    out[val] = True
    return out


def import_chestx_det(json_files, images, name: str, *, finding: str = "Pneumothorax", split: str = "paper",
                      val_fraction: float = 0.1, seed: int = 0, root=None, progress=None,
                      max_pixels: int = MAX_PIXELS):
    """Import the ChestX-Det cohort ``no finding`` vs ``finding`` with ``finding`` masks.

    Parameters
    ----------
    json_files : path or list of paths
        ``ChestX_Det_train.json`` and/or ``ChestX_Det_test.json`` (split taken from the file name).
    images : path-like
        Folder with the PNG files named as in ``file_name`` (searched recursively).
    name : str
        Dataset name.
    finding : str, default "Pneumothorax"
        Positive class; must be one of the findings in the JSON files.
    split : {"paper", "official"}, default "paper"
        ``paper``: random 70:10:20 over the cohort, stratified by label (the
        paper's protocol). ``official``: the official train/test files, with
        ``val_fraction`` of the train file carved out for validation.
    val_fraction : float, default 0.1
        Fraction of the train file's cohort used for validation (``official`` only).
    seed : int, default 0
        Seed of the split (``paper``) or of the validation carve-out (``official``).
    root, progress, max_pixels
        Data root; None/True/callable progress; decompression-bomb guard.

    Returns
    -------
    Dataset
        ``label`` 0 = normal, 1 = ``finding``; masks for positives; columns
        ``findings`` (all findings of the image, ``; ``-joined) and ``file_name``.
    """
    if split not in SPLITS:
        raise ColdstartError(f"split={split!r} is not a ChestX-Det split: choose 'paper' (random 70:10:20 "
                             "over the cohort, the default) or 'official' (the official train/test files)")
    if not 0 <= val_fraction < 1:
        raise ColdstartError(f"val_fraction={val_fraction} must be in [0, 1): e.g. 0.1")
    img_dir = existing_dir(images, "ChestX-Det image folder")
    recs = load_records(json_files)
    all_findings = sorted({str(s) for r, _ in recs for s in (r.get("syms") or [])})
    match = [f for f in all_findings if f.lower() == str(finding).lower()]
    if not match:
        raise ColdstartError(f"finding={finding!r} does not occur in the JSON files: choose one of "
                             f"{all_findings}")
    finding = match[0]
    files = {}
    for dirpath, dirnames, filenames in os.walk(img_dir):
        dirnames.sort()
        for f in sorted(filenames):
            files.setdefault(f, Path(dirpath) / f)
    b = DatasetBuilder(name, classes=["normal", finding.lower()], source="ChestX-Det", root=root,
                       params={"importer": "chestx-det", "json": [str(j) for j in ([json_files] if isinstance(
                           json_files, (str, os.PathLike)) else json_files)], "images": str(img_dir),
                           "finding": finding, "split": split, "seed": seed, "val_fraction": val_fraction})
    try:
        cohort = []
        for r, file_split in recs:
            syms = r.get("syms") or []
            if not isinstance(syms, list):
                b.skip(r.get("file_name"), f"'syms' is not a list ({syms!r}): record ignored")
                continue
            if syms == [] or finding in syms:
                cohort.append((r, file_split, int(finding in syms)))
        split_of = _official_splits(cohort, val_fraction, seed) if split == "official" else {}
        with Progress(progress, len(cohort), f"import {name}") as bar:
            for i, (r, file_split, lab) in enumerate(cohort):
                bar.update(1)
                fn = str(r["file_name"])
                p = files.get(Path(fn).name)
                if p is None:
                    b.skip(img_dir / fn, f"image file {fn} listed in the JSON is missing from {img_dir}: skipped")
                    continue
                arr = read_into(b, p, max_pixels)
                if arr is None:
                    continue
                mask = None
                if lab:
                    polys = []
                    for k, (s, poly) in enumerate(zip(syms_of(r), r.get("polygons") or [])):
                        if s != finding:
                            continue
                        pts, why = _clean_polygon(poly)
                        if why:
                            b.skip(p, f"malformed {finding} polygon #{k} ({why}): ignored, image kept",
                                   action="converted")
                        else:
                            polys.append(pts)
                    if polys:
                        mask = rasterise(polys, (arr.shape[1], arr.shape[0]))
                    else:
                        b.skip(p, f"{finding} image without a usable polygon: kept without a mask",
                               action="converted")
                b.add(Path(fn).stem, arr, label=lab, mask=mask,
                      split=split_of.get(i), source_path=p, file_name=fn, official_split=file_split,
                      findings="; ".join(sorted({str(s) for s in syms_of(r)})))
        return b.finalize(seed=seed)
    except BaseException:
        b.abort()
        raise


def _official_splits(cohort, val_fraction: float, seed: int) -> dict[int, str]:
    """Cohort position -> split from the official files (train minus a stratified val part, test).

    Records from a file whose name says neither train nor test get no entry: the builder
    splits those 70:10:20.
    """
    train_idx = [i for i, (_, s, _) in enumerate(cohort) if s == "train"]
    val = carve_val(np.array([cohort[i][2] for i in train_idx]), val_fraction, seed)
    out = {i: ("val" if v else "train") for i, v in zip(train_idx, val)}
    out.update({i: "test" for i, (_, s, _) in enumerate(cohort) if s == "test"})
    return out


def syms_of(r: dict) -> list:
    s = r.get("syms") or []
    return s if isinstance(s, list) else []
