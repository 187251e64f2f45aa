"""Class folders (``<class>/<id>.png``) with ``labels.csv`` and ``selection.csv``: on disk or as one zip.

The layout is torchvision's ImageFolder and FiftyOne's ``ImageClassificationDirectoryTree``.
Both CSVs name the files by their path inside the export, so the folder (or the unpacked
zip) is self-contained.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import ColdstartError
from ..paths import safe_name
from .table import FILE_MODE, check_rows, label_names, selection_table, write_public


def _layout(dataset, indices, labels=None, per_pick: pd.DataFrame | None = None
            ) -> tuple[list[tuple[Path, str]], dict[str, pd.DataFrame]]:
    """``([(source image, path in the export)], {csv name: table})`` for the rows."""
    idx = check_rows(dataset, indices)
    names = label_names(dataset, idx, labels)
    files = [(dataset.image_path(int(i)).resolve(),
              f"{safe_name(name)}/{safe_name(dataset.manifest['id'].iat[int(i)])}{dataset.image_path(int(i)).suffix}")
             for i, name in zip(idx, names)]
    inside = [arc for _, arc in files]
    table = selection_table(dataset, idx, labels=names, per_pick=per_pick, absolute_paths=False)
    # masks are not part of this export: name only files that are in it
    table = table.assign(image=inside).drop(columns=["mask"])
    lab = pd.DataFrame({"id": table["id"], "label": names, "file": inside})
    return files, {"labels.csv": lab, "selection.csv": table}


def export_folder(dataset, indices, out_dir: str | os.PathLike, labels=None, per_pick: pd.DataFrame | None = None,
                  mode: str = "copy", overwrite: bool = False) -> pd.DataFrame:
    """Write ``out_dir/<class>/<id>.png`` (copies or symlinks), ``labels.csv`` and ``selection.csv``.

    Parameters
    ----------
    mode : {"copy", "symlink"}
        Copies are self-contained; symlinks save space but break if the data moves.
    overwrite : bool
        Allow writing into a non-empty ``out_dir`` (existing files with the same
        names are replaced; others are left alone).

    Returns
    -------
    DataFrame ``id, label, file`` (file relative to ``out_dir``), also saved as ``labels.csv``.
    """
    if mode not in ("copy", "symlink"):
        raise ColdstartError(f"mode={mode!r} is not known: choose 'copy' or 'symlink'")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ColdstartError(f"{out} is not empty: choose a new folder or pass overwrite=True")
    files, tables = _layout(dataset, indices, labels, per_pick)
    for src, arc in files:
        dst = out / arc
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        if mode == "copy":
            shutil.copyfile(src, dst)
            os.chmod(dst, FILE_MODE)
        else:
            os.symlink(src, dst)
    for name, table in tables.items():
        write_public(out / name, table.to_csv(index=False))
    return tables["labels.csv"]


def zip_bytes(members: dict[str, bytes | Path]) -> bytes:
    """A zip of ``{path inside: bytes or source file}``; members unpack with mode 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in members.items():
            info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | FILE_MODE) << 16
            z.writestr(info, data.read_bytes() if isinstance(data, Path) else data)
    return buf.getvalue()


def export_zip(dataset, indices, labels=None, per_pick: pd.DataFrame | None = None) -> bytes:
    """The :func:`export_folder` layout as one zip (bytes, for a browser download)."""
    files, tables = _layout(dataset, indices, labels, per_pick)
    return zip_bytes({**{arc: src for src, arc in files},
                      **{name: t.to_csv(index=False).encode() for name, t in tables.items()}})
