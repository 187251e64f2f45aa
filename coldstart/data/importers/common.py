"""Helpers shared by the importers: scanning folders, adding files safely, the import summary."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import ColdstartError
from ..imageio import MAX_PIXELS, ImageReadError, looks_like_image, read_image

#: Class names treated as "negative" and put first (label 0) when classes come from folder/CSV names.
NEGATIVE_NAMES = ("normal", "negative", "no_finding", "no finding", "nofinding", "healthy", "0", "false")


def existing_dir(path, what: str) -> Path:
    """``path`` as a Path if it is a folder, else a ColdstartError naming the parameter."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ColdstartError(f"{what} {str(path)!r} is not a folder: give the folder that holds the files")
    return p


def existing_file(path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ColdstartError(f"{what} {str(path)!r} does not exist: check the path")
    return p


def scan_files(folder: Path, exclude: tuple[Path, ...] = ()) -> tuple[list[Path], list[Path]]:
    """All files under ``folder`` (recursive, sorted, hidden ones ignored) split into (images, others)."""
    excl = {Path(os.path.realpath(e)) for e in exclude}
    images: list[Path] = []
    others: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and Path(os.path.realpath(os.path.join(dirpath, d))) not in excl)
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            p = Path(dirpath) / f
            (images if looks_like_image(p) else others).append(p)
    return images, others


def order_classes(names) -> list[str]:
    """Unique class names, a negative-looking one first, numbers numerically, the rest alphabetically."""
    from collections import Counter

    counts = Counter(str(n) for n in names)
    spelling: dict[str, str] = {}  # one class per case-insensitive name, its most common spelling
    for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        spelling.setdefault(n.lower(), n)
    uniq = sorted(spelling.values())
    if uniq and all(u.lstrip("-").isdigit() for u in uniq):
        return sorted(uniq, key=int)
    neg = [u for u in uniq if u.lower() in NEGATIVE_NAMES]
    return neg[:1] + [u for u in uniq if u not in neg[:1]]


def read_into(builder, path: Path, max_pixels: int = MAX_PIXELS):
    """Read ``path``; on failure record the skip and return None; record conversion notes."""
    try:
        arr, notes = read_image(path, max_pixels=max_pixels)
    except ImageReadError as e:
        builder.skip(path, str(e))
        return None
    except MemoryError:
        builder.skip(path, "not enough memory to decode this image: downscale it before importing")
        return None
    except Exception as e:  # last resort: never let one file end the import
        builder.skip(path, f"unexpected error while reading ({type(e).__name__}: {e})")
        return None
    for n in notes:
        builder.skip(path, n, action="converted")
    return arr


def read_mask(builder, path: Path, image_path: Path, max_pixels: int = MAX_PIXELS):
    """Read a mask file as bool; on failure record it (the image is kept without a mask)."""
    try:
        m, _ = read_image(path, max_pixels=max_pixels)
    except ImageReadError as e:
        builder.skip(path, f"mask unreadable ({e}); image {image_path.name} kept without a mask",
                     action="converted")
        return None
    return np.asarray(m) > 0


def format_summary(ds, max_reasons: int = 5) -> str:
    """A few lines for the terminal: counts per class and split, skipped/converted files with reasons."""
    lines = [f"dataset {ds.name!r}: {len(ds)} images, classes {ds.classes} -> {ds.dir}"]
    tab = ds.summary()
    if len(tab):
        lines += ["  " + line for line in tab.to_string().splitlines()]
    if "mask" in ds.manifest:
        lines.append(f"  masks: {int(ds.manifest['mask'].notna().sum())}")
    rep = ds.report()
    for action in ("skipped", "converted"):
        part = rep[rep["action"] == action] if len(rep) else rep
        if len(part):
            lines.append(f"  {action}: {len(part)} file(s) (see {ds.dir / 'import_report.csv'})")
            for _, r in part.head(max_reasons).iterrows():
                lines.append(f"    {Path(str(r['path'])).name}: {r['reason']}")
            if len(part) > max_reasons:
                lines.append(f"    ... and {len(part) - max_reasons} more")
    return "\n".join(lines)


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV of strings with stripped column names; a clear error if it cannot be parsed."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise ColdstartError(f"{what} {str(path)!r} could not be read as CSV ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}): save it as a comma-separated "
                             "file with a header row") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df
