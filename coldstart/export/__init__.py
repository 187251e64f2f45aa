"""Selections and labels out of coldstart: CSV, Label Studio bundle, class folders, zip.

This package builds every export; the pages (``coldstart.ui.export_view``) and the
``coldstart export`` command both call :func:`download` / :func:`write_export`, so a file
from the browser and one from the CLI are the same. Each export takes a
:class:`~coldstart.data.Dataset`, manifest rows in pick order and optional labels.

Formats (:data:`FORMATS`):

- ``csv``: ``selection.csv``, one row per image (rank, id, file path, class, split, mask,
  plus the selector's diagnostics such as cluster and distance); see :mod:`.table`.
- ``label-studio``: ``tasks.json`` (URLs to the images, classes and mask boxes as
  pre-annotations), ``label_config.xml`` and ``HOW_TO_SERVE.txt`` with the exact paths;
  the browser download is one zip of these three. See :mod:`.labelstudio`.
- ``folders``: ``<class>/<id>.png`` plus ``labels.csv`` and ``selection.csv`` (ImageFolder /
  FiftyOne ``ImageClassificationDirectoryTree``); ``zip``: the same as one zip. See :mod:`.folders`.

Files are written atomically with mode 0644 (readable by another user or a container).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ColdstartError
from .folders import export_folder, export_zip, zip_bytes
from .labelstudio import (DEFAULT_URL_PREFIX, LS_BOX_NAME, LS_FROM_NAME, LS_TO_NAME, URL_MODES, image_url,
                          label_config_xml, label_studio_files, label_studio_json, label_studio_tasks, serve_note)
from .lsformat import check_tasks
from .table import read_picks, selection_csv, selection_table, write_public

FORMATS = ("csv", "label-studio", "folders", "zip")


@dataclass(frozen=True)
class Download:
    """An export as one file for a browser download button."""

    data: bytes
    file_name: str
    mime: str


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ColdstartError(f"format {fmt!r} is not known: choose one of {', '.join(FORMATS)}")
    return fmt


def download(dataset, rows, fmt: str, name: str = "selection", labels=None, per_pick=None,
             url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX,
             model_version: str = "coldstart") -> Download:
    """The export ``fmt`` of ``rows`` as one file: CSV, a Label Studio zip, or the class-folder zip.

    ``name`` starts the file name (after the dataset's name). ``folders`` and ``zip`` both give
    the class-folder zip. ``per_pick`` (diagnostics aligned with ``rows``) goes into the CSV
    and into the Label Studio task data.
    """
    base = f"{dataset.name}-{name}"
    if _check_format(fmt) == "csv":
        return Download(selection_csv(dataset, rows, labels=labels, per_pick=per_pick).encode(),
                        f"{base}.csv", "text/csv")
    if fmt == "label-studio":
        files = label_studio_files(dataset, rows, labels=labels, extra=_task_extra(per_pick), url_mode=url_mode,
                                   url_prefix=url_prefix, model_version=model_version)
        return Download(zip_bytes(files), f"{base}-labelstudio.zip", "application/zip")
    return Download(export_zip(dataset, rows, labels=labels, per_pick=per_pick), f"{base}-images.zip",
                    "application/zip")


def _task_extra(per_pick):
    if per_pick is None or not len(per_pick):
        return None
    return per_pick.drop(columns=[c for c in ("index",) if c in per_pick.columns])


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    """``out_dir`` if it is absent or an empty folder; a clear error otherwise."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ColdstartError(f"--out {out} is a file: give a folder to write the export into")
    if out.is_dir() and any(out.iterdir()):
        raise ColdstartError(f"--out {out} is not empty: choose a new folder (nothing was overwritten)")
    return out


def write_export(dataset, rows, fmt: str, out_dir: str | os.PathLike, name: str = "selection", labels=None,
                 per_pick=None, url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX,
                 model_version: str = "coldstart", link: bool = False) -> list[Path]:
    """Write the export ``fmt`` of ``rows`` into the new or empty folder ``out_dir``; return the files.

    ``csv``: ``selection.csv``. ``label-studio``: ``tasks.json``, ``label_config.xml``,
    ``HOW_TO_SERVE.txt`` (the files of the browser's zip, unpacked). ``folders``: class
    folders (copies, or symlinks with ``link=True``), ``labels.csv``, ``selection.csv``.
    ``zip``: the browser's class-folder zip, ``<dataset>-<name>-images.zip``.
    """
    _check_format(fmt)
    out = check_out_dir(out_dir)
    if fmt == "csv":
        selection_csv(dataset, rows, path=out / "selection.csv", labels=labels, per_pick=per_pick)
    elif fmt == "label-studio":
        files = label_studio_files(dataset, rows, labels=labels, extra=_task_extra(per_pick), url_mode=url_mode,
                                   url_prefix=url_prefix, model_version=model_version)
        for fname, data in files.items():
            write_public(out / fname, data)
    elif fmt == "folders":
        export_folder(dataset, rows, out, labels=labels, per_pick=per_pick, mode="symlink" if link else "copy")
    else:
        d = download(dataset, rows, "zip", name=name, labels=labels, per_pick=per_pick)
        write_public(out / d.file_name, d.data)
    return [out / f for f in files_in(out)]


def files_in(out_dir: str | os.PathLike) -> list[str]:
    """Relative paths of every file under ``out_dir`` (sorted); for checks and tests."""
    out = Path(out_dir)
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink())


__all__ = ["FORMATS", "URL_MODES", "Download", "download", "write_export", "check_out_dir", "read_picks",
           "selection_table", "selection_csv", "label_studio_tasks", "label_studio_json", "label_studio_files",
           "label_config_xml", "image_url", "serve_note", "check_tasks", "export_folder", "export_zip",
           "files_in", "LS_FROM_NAME", "LS_BOX_NAME", "LS_TO_NAME", "DEFAULT_URL_PREFIX"]
