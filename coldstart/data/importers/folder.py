"""Import a folder of images: class sub-folders, or a flat folder plus a ``filename,label`` CSV.

Layouts understood (searched recursively; any image format incl. DICOM):

* ``PATH/<class>/...`` -> the first folder level is the class;
* ``PATH/<train|val|test>/<class>/...`` -> the official split is kept;
* ``PATH/...`` + ``--labels CSV`` (``filename,label``; the file name may be a
  relative path, a file name or a stem) -> labels from the CSV, other images unlabeled;
* ``PATH/...`` alone -> an unlabeled pool.

Masks (``--masks DIR``) are matched to images by file stem (``a.png`` <->
``a.png``, ``a_mask.png``); a mask of another size is resized, a mask without
an image is reported.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ColdstartError
from ...progress import Progress
from ..builder import DatasetBuilder, safe_id
from ..imageio import MAX_PIXELS
from .common import (existing_dir, existing_file, order_classes, read_into, read_mask, read_table,
                     scan_files)

_SPLIT_DIRS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "dev": "val", "test": "test", "testing": "test"}
_FILE_COLS = ("filename", "file_name", "file", "image", "path", "image_id", "imageid", "id", "name")
_LABEL_COLS = ("label", "class", "target", "y", "diagnosis", "finding")
_MASK_SUFFIXES = ("_mask", "-mask", ".mask", "_seg", "-seg", "_label")


def import_folder(path, name: str, *, labels=None, masks=None, seed: int = 0, root=None,
                  progress=None, max_pixels: int = MAX_PIXELS):
    """Import a folder of images into the canonical dataset ``name``.

    Parameters
    ----------
    path : path-like
        Folder with the images (searched recursively).
    name : str
        Dataset name.
    labels : path-like, optional
        CSV with a file-name column and a label column (``filename,label``).
    masks : path-like, optional
        Folder with masks matched to images by file stem.
    seed : int, default 0
        Seed of the stratified 70/10/20 split (when the folder has no split folders).
    root : path-like, optional
        Data root.
    progress : None, True or callable(done, total, message)
    max_pixels : int
        Decompression-bomb guard: larger images are skipped with a reason.

    Returns
    -------
    Dataset
    """
    src = existing_dir(path, "image folder")
    mask_dir = existing_dir(masks, "mask folder") if masks is not None else None
    lab_csv = existing_file(labels, "labels CSV") if labels is not None else None
    images, others = scan_files(src, exclude=(mask_dir,) if mask_dir else ())
    b = DatasetBuilder(name, classes=[], source=f"folder {src}", root=root,
                       params={"importer": "folder", "path": str(src), "labels": str(lab_csv) if lab_csv else None,
                               "masks": str(mask_dir) if mask_dir else None, "seed": seed})
    try:
        for o in others:
            b.skip(o, f"not an image file extension ({o.suffix or 'none'}): ignored")
        label_of, split_of, classes = _labels(src, images, lab_csv, b)
        b.classes = classes
        mask_of = _masks(mask_dir, images, b) if mask_dir else {}
        with Progress(progress, len(images), f"import {name}") as bar:
            for p in images:
                bar.update(1)
                arr = read_into(b, p, max_pixels)
                if arr is None:
                    continue
                m = None
                mp = mask_of.get(p)
                if mp is not None:
                    m = read_mask(b, mp, p, max_pixels)
                b.add(p.stem, arr, label=label_of.get(p), mask=m, split=split_of.get(p),
                      source_path=p, rel_path=p.relative_to(src).as_posix())
        return b.finalize(seed=seed)
    except BaseException:
        b.abort()
        raise


def _labels(src: Path, images: list[Path], lab_csv: Path | None, b):
    """Labels (class names) and splits per image, and the ordered class list."""
    label_of: dict[Path, str] = {}
    split_of: dict[Path, str] = {}
    if lab_csv is not None:
        df = read_table(lab_csv, "labels CSV")
        cols = {c.lower(): c for c in df.columns}
        fcol = next((cols[c] for c in _FILE_COLS if c in cols), df.columns[0] if len(df.columns) else None)
        lcol = next((cols[c] for c in _LABEL_COLS if c in cols),
                    df.columns[1] if len(df.columns) > 1 else None)
        if fcol is None or lcol is None or fcol == lcol:
            raise ColdstartError(f"labels CSV {str(lab_csv)!r} needs two columns, filename and label "
                                 f"(found {list(df.columns)}): e.g. a header line 'filename,label'")
        by_key: dict[str, Path] = {}
        for p in images:
            for k in (p.relative_to(src).as_posix(), p.name, p.stem):
                by_key.setdefault(k, p)
        for fn, lab in zip(df[fcol], df[lcol]):
            fn, lab = str(fn).strip(), str(lab).strip()
            p = by_key.get(fn) or by_key.get(Path(fn).name) or by_key.get(Path(fn).stem)
            if p is None:
                b.skip(lab_csv, f"row {fn!r} of the labels CSV matches no image under {src}")
                continue
            if lab in ("", "-1", "nan", "NA", "None", "?"):
                continue
            label_of[p] = lab
        return label_of, split_of, order_classes(label_of.values())
    for p in images:
        parts = p.relative_to(src).parts[:-1]
        if parts and parts[0].lower() in _SPLIT_DIRS and len(parts) >= 1:
            split_of[p] = _SPLIT_DIRS[parts[0].lower()]
            parts = parts[1:]
        if parts:
            label_of[p] = parts[0]
    # a single split folder level without class folders: no labels
    return label_of, split_of, order_classes(label_of.values())


def _masks(mask_dir: Path, images: list[Path], b) -> dict[Path, Path]:
    """Map image path -> mask path by stem; report masks without an image and duplicate mask stems."""
    mask_files, others = scan_files(mask_dir)
    for o in others:
        b.skip(o, f"not an image file extension ({o.suffix or 'none'}): ignored (mask folder)")
    by_stem: dict[str, Path] = {}
    for m in mask_files:
        stem = m.stem
        for suf in _MASK_SUFFIXES:
            if stem.lower().endswith(suf) and len(stem) > len(suf):
                stem = stem[: -len(suf)]
                break
        stem = safe_id(stem)
        if stem in by_stem:
            b.skip(m, f"duplicate mask stem {stem!r} (also {by_stem[stem].name}): kept the first")
            continue
        by_stem[stem] = m
    out: dict[Path, Path] = {}
    used: set[str] = set()
    seen_img: set[str] = set()
    for p in images:
        sid = safe_id(p.stem)
        if sid in seen_img:
            continue
        seen_img.add(sid)
        if sid in by_stem:
            out[p] = by_stem[sid]
            used.add(sid)
    for stem, m in by_stem.items():
        if stem not in used:
            b.skip(m, f"mask has no matching image (no image with stem {stem!r}): ignored")
    return out
