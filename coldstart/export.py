"""Selections and labels out of coldstart: CSV, Label Studio import JSON, class folders.

Every export works on a :class:`~coldstart.data.Dataset` plus row indices
(a selection's ``indices``, or the rows a user labeled) and optional labels,
so the Explore, Label and Compare pages and the CLI share one code path.

- :func:`selection_table` / :func:`selection_csv`: one row per image (rank, id,
  file path, class, split, plus diagnostics such as cluster and distance).
- :func:`label_studio_tasks` / :func:`export_label_studio`: a task list Label
  Studio imports (``data.image`` holds a URL; ``predictions`` hold
  pre-annotations: the class, and a box around the mask where one exists),
  with the labeling config and a note on serving local files.
- :func:`export_folder` / :func:`export_zip`: one sub-folder per class, files
  copied or symlinked, plus ``labels.csv``; readable by ImageFolder-style tools.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from .errors import ColdstartError
from .io import write_json, write_text

#: Label Studio labeling config matching the tasks written by :func:`label_studio_tasks`.
LS_FROM_NAME = "diagnosis"
LS_BOX_NAME = "finding"
LS_TO_NAME = "image"

SERVE_NOTE = """\
How to let Label Studio show these images
=========================================

The tasks reference images by URL (Label Studio cannot read paths on your disk
directly). Pick ONE of:

A. Label Studio local storage (images stay where they are)
   1. Start Label Studio with local file serving switched on:
        export LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true
        export LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}
        label-studio start
   2. Project > Settings > Cloud Storage > Add Source Storage > Local files,
      absolute local path: {root}  (do not click "Sync": import tasks.json instead).
   3. Import tasks.json (written with url mode "local-storage": URLs look like
      /data/local-files/?d=<path relative to the document root>).

B. A static file server
   1. python -m http.server 8081 --directory {root}
   2. Re-export with url mode "http" and prefix http://localhost:8081/ (the default),
      then import tasks.json. Serve only on a trusted network: there is no authentication.

Labeling interface: Project > Settings > Labeling Interface > Code, paste label_config.xml.
Predictions appear as pre-annotations (model version "{model_version}").
"""


def _validate_indices(dataset, indices) -> np.ndarray:
    idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
    if idx.size == 0:
        raise ColdstartError("nothing to export: the selection is empty; pick at least one image first")
    if idx.dtype.kind not in "iu":
        raise ColdstartError(f"indices must be integers (row numbers), got dtype {idx.dtype}")
    idx = idx.astype(int).ravel()
    bad = idx[(idx < 0) | (idx >= len(dataset))]
    if bad.size:
        raise ColdstartError(
            f"indices {bad[:5].tolist()} are outside the dataset {dataset.name!r} (0..{len(dataset) - 1}): "
            "was the selection made on another dataset?")
    if len(np.unique(idx)) != len(idx):
        raise ColdstartError("indices contain duplicates: each image may appear once in an export")
    return idx


def _label_names(dataset, idx: np.ndarray, labels) -> list[str]:
    """Class names for the rows: given labels (ints or names) or the dataset's own (``unlabeled`` if unknown)."""
    if labels is None:
        return [dataset.label_name(int(v)) for v in dataset.labels[idx]]
    labels = list(labels)
    if len(labels) != len(idx):
        raise ColdstartError(f"got {len(labels)} labels for {len(idx)} images: pass one label per image")
    out = []
    for v in labels:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append("unlabeled")
        elif isinstance(v, (int, np.integer)):
            out.append(dataset.label_name(int(v)))
        else:
            out.append(str(v))
    return out


def selection_table(dataset, indices, labels=None, per_pick: pd.DataFrame | None = None,
                    absolute_paths: bool = True) -> pd.DataFrame:
    """One row per exported image, in pick order.

    Parameters
    ----------
    dataset : Dataset
    indices : sequence of int
        Manifest rows in pick order (``Selection.indices``).
    labels : sequence of int or str, optional
        Labels to export (e.g. a user's labels); default: the dataset's labels.
    per_pick : DataFrame, optional
        Diagnostics aligned with ``indices`` (``Selection.per_pick``); its extra
        columns (cluster, distance, ...) are appended.
    absolute_paths : bool
        Write absolute image paths (default) or paths relative to the dataset folder.

    Returns
    -------
    DataFrame with columns ``rank, index, id, image, label, split, mask`` (+ diagnostics).
    """
    idx = _validate_indices(dataset, indices)
    m = dataset.manifest.iloc[idx]
    img = [str(dataset.image_path(int(i))) if absolute_paths else str(m["image"].iat[k])
           for k, i in enumerate(idx)]
    masks = [(str(p) if absolute_paths else os.path.relpath(p, dataset.dir)) if p is not None else ""
             for p in (dataset.mask_path(int(i)) for i in idx)]
    out = pd.DataFrame({
        "rank": np.arange(1, len(idx) + 1),
        "index": idx,
        "id": m["id"].astype(str).to_numpy(),
        "image": img,
        "label": _label_names(dataset, idx, labels),
        "split": m["split"].astype(str).to_numpy(),
        "mask": masks,
    })
    if per_pick is not None and len(per_pick):
        if len(per_pick) != len(idx):
            raise ColdstartError(f"per_pick has {len(per_pick)} rows for {len(idx)} images: pass the "
                                 "Selection's own per_pick table")
        extra = per_pick.drop(columns=[c for c in per_pick.columns if c in out.columns], errors="ignore")
        out = pd.concat([out, extra.reset_index(drop=True)], axis=1)
    return out


def selection_csv(dataset, indices, path: str | os.PathLike | None = None, **kw) -> str:
    """The :func:`selection_table` as CSV text; also written atomically to ``path`` if given."""
    text = selection_table(dataset, indices, **kw).to_csv(index=False)
    if path is not None:
        write_text(path, text)
    return text


# ---- Label Studio ---------------------------------------------------------
def label_config_xml(classes: Sequence[str], with_boxes: bool = False) -> str:
    """The Label Studio labeling interface matching :func:`label_studio_tasks`."""
    choices = "\n".join(f'    <Choice value="{_xml(c)}"/>' for c in classes)
    boxes = ""
    if with_boxes:
        labels = "\n".join(f'    <Label value="{_xml(c)}"/>' for c in classes[1:] or classes)
        boxes = f'\n  <RectangleLabels name="{LS_BOX_NAME}" toName="{LS_TO_NAME}">\n{labels}\n  </RectangleLabels>'
    return (f'<View>\n  <Image name="{LS_TO_NAME}" value="$image" zoom="true"/>\n'
            f'  <Choices name="{LS_FROM_NAME}" toName="{LS_TO_NAME}" choice="single" showInline="true">\n'
            f'{choices}\n  </Choices>{boxes}\n</View>\n')


def _xml(s: str) -> str:
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def image_url(dataset, i: int, url_mode: str = "local-storage", document_root=None,
              url_prefix: str = "http://localhost:8081/") -> str:
    """URL under which Label Studio finds image ``i``.

    ``local-storage``: ``/data/local-files/?d=<path relative to document_root>``
    (document root defaults to the data root); ``http``: ``url_prefix`` + the
    path relative to the data root; ``path``: the absolute file path.
    """
    p = dataset.image_path(int(i)).resolve()
    if url_mode == "path":
        return str(p)
    root = Path(document_root).resolve() if document_root is not None else dataset.dir.parent.resolve()
    try:
        rel = p.relative_to(root).as_posix()
    except ValueError:
        raise ColdstartError(f"image {p} is not under the document root {root}: choose a document root "
                             "that contains the dataset folder") from None
    if url_mode == "local-storage":
        return "/data/local-files/?d=" + quote(rel)
    if url_mode == "http":
        return url_prefix.rstrip("/") + "/" + quote(rel)
    raise ColdstartError(f"url_mode={url_mode!r} is not known: choose 'local-storage', 'http' or 'path'")


def _box_from_mask(mask: np.ndarray) -> dict | None:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    h, w = mask.shape
    return {"x": 100.0 * xs.min() / w, "y": 100.0 * ys.min() / h,
            "width": 100.0 * (xs.max() + 1 - xs.min()) / w, "height": 100.0 * (ys.max() + 1 - ys.min()) / h,
            "rotation": 0}


def label_studio_tasks(dataset, indices, labels=None, scores: Sequence[float] | None = None,
                       include_masks: bool = True, model_version: str = "coldstart",
                       url_mode: str = "local-storage", document_root=None,
                       url_prefix: str = "http://localhost:8081/",
                       extra: pd.DataFrame | None = None) -> list[dict]:
    """Label Studio tasks (import JSON) for the given rows.

    Parameters
    ----------
    dataset : Dataset
    indices : sequence of int
        Rows to export, in order.
    labels : sequence of int or str, optional
        Pre-annotation class per image (e.g. a user's labels or a model's
        guess). Default: the dataset's labels where known. ``unlabeled`` rows
        get no class prediction.
    scores : sequence of float, optional
        Confidence per image, written as the prediction ``score``.
    include_masks : bool
        Add a rectangle pre-annotation around each image's mask.
    url_mode, document_root, url_prefix
        How ``data.image`` is written; see :func:`image_url`.
    extra : DataFrame, optional
        Columns copied into each task's ``data`` (rank, cluster, ...).

    Returns
    -------
    list of dict
        ``[{"data": {"image": url, "id": ..., ...}, "predictions": [{"model_version",
        "score", "result": [...]}]}]``: the format of Label Studio's JSON import.
    """
    idx = _validate_indices(dataset, indices)
    names = _label_names(dataset, idx, labels)
    if scores is not None and len(scores) != len(idx):
        raise ColdstartError(f"got {len(scores)} scores for {len(idx)} images: pass one score per image")
    tasks = []
    for k, i in enumerate(idx):
        i = int(i)
        data = {"image": image_url(dataset, i, url_mode, document_root, url_prefix),
                "id": str(dataset.manifest["id"].iat[i]), "split": str(dataset.manifest["split"].iat[i])}
        if extra is not None:
            for c in extra.columns:
                v = extra[c].iat[k]
                v = v.item() if hasattr(v, "item") else v
                data[c] = None if v is pd.NA or (isinstance(v, float) and not np.isfinite(v)) else v
        result = []
        if names[k] != "unlabeled":
            result.append({"id": f"c{k}", "from_name": LS_FROM_NAME, "to_name": LS_TO_NAME, "type": "choices",
                           "value": {"choices": [names[k]]}})
        if include_masks and dataset.mask_path(i) is not None:
            mask = dataset.load_mask(i)
            box = _box_from_mask(mask) if mask is not None else None
            if box is not None:
                # a box always names a finding class (the labeling config lists classes[1:])
                finding = dataset.classes[1:] or dataset.classes or ["finding"]
                cls = names[k] if names[k] in finding else finding[-1]
                result.append({"id": f"b{k}", "from_name": LS_BOX_NAME, "to_name": LS_TO_NAME,
                               "type": "rectanglelabels", "original_width": int(mask.shape[1]),
                               "original_height": int(mask.shape[0]), "image_rotation": 0,
                               "value": dict(box, rectanglelabels=[cls])})
        task = {"data": data}
        if result:
            pred = {"model_version": model_version, "result": result}
            if scores is not None:
                pred["score"] = float(scores[k])
            task["predictions"] = [pred]
        tasks.append(task)
    return tasks


def export_label_studio(dataset, indices, out_dir: str | os.PathLike, **kw) -> dict[str, Path]:
    """Write ``tasks.json``, ``label_config.xml`` and ``HOW_TO_SERVE.txt`` into ``out_dir``.

    Keyword arguments go to :func:`label_studio_tasks`. Returns the written paths.
    """
    out = Path(out_dir)
    tasks = label_studio_tasks(dataset, indices, **kw)
    with_boxes = any(r["type"] == "rectanglelabels" for t in tasks for p in t.get("predictions", [])
                     for r in p["result"])
    root = Path(kw.get("document_root") or dataset.dir.parent).resolve()
    paths = {"tasks": out / "tasks.json", "config": out / "label_config.xml", "note": out / "HOW_TO_SERVE.txt"}
    write_json(paths["tasks"], tasks)
    write_text(paths["config"], label_config_xml(dataset.classes or ["positive"], with_boxes))
    write_text(paths["note"], SERVE_NOTE.format(root=root, model_version=kw.get("model_version", "coldstart")))
    return paths


def label_studio_json(dataset, indices, **kw) -> str:
    """The task list of :func:`label_studio_tasks` as JSON text (for a download button)."""
    import json

    return json.dumps(label_studio_tasks(dataset, indices, **kw), indent=2, allow_nan=False)


# ---- folders --------------------------------------------------------------
def _safe_folder(name: str) -> str:
    s = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)).strip("._")
    return s or "unnamed"


def export_folder(dataset, indices, out_dir: str | os.PathLike, labels=None, mode: str = "copy",
                  overwrite: bool = False) -> pd.DataFrame:
    """Write the images into ``out_dir/<class>/<id>.png`` (copies or symlinks) plus ``labels.csv``.

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
    idx = _validate_indices(dataset, indices)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ColdstartError(f"{out} is not empty: choose a new folder or pass overwrite=True")
    names = _label_names(dataset, idx, labels)
    rows = []
    for i, name in zip(idx, names):
        src = dataset.image_path(int(i)).resolve()
        sid = _safe_folder(dataset.manifest["id"].iat[int(i)])
        dst = out / _safe_folder(name) / (sid + src.suffix)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        if mode == "copy":
            shutil.copy2(src, dst)
        else:
            os.symlink(src, dst)
        rows.append({"id": str(dataset.manifest["id"].iat[int(i)]), "label": name,
                     "file": dst.relative_to(out).as_posix()})
    table = pd.DataFrame(rows)
    write_text(out / "labels.csv", table.to_csv(index=False))
    return table


def export_zip(dataset, indices, labels=None, per_pick: pd.DataFrame | None = None) -> bytes:
    """A zip (bytes, for a browser download) of the class folders, ``labels.csv`` and ``selection.csv``."""
    idx = _validate_indices(dataset, indices)
    names = _label_names(dataset, idx, labels)
    buf = io.BytesIO()
    rows = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, name in zip(idx, names):
            src = dataset.image_path(int(i))
            arc = f"{_safe_folder(name)}/{_safe_folder(dataset.manifest['id'].iat[int(i)])}{src.suffix}"
            z.write(src, arc)
            rows.append({"id": str(dataset.manifest["id"].iat[int(i)]), "label": name, "file": arc})
        z.writestr("labels.csv", pd.DataFrame(rows).to_csv(index=False))
        z.writestr("selection.csv", selection_table(dataset, idx, labels=names, per_pick=per_pick,
                                                    absolute_paths=False).to_csv(index=False))
    return buf.getvalue()


def files_in(out_dir: str | os.PathLike) -> list[str]:
    """Relative paths of every file under ``out_dir`` (sorted); for checks and tests."""
    out = Path(out_dir)
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink())


__all__ = ["selection_table", "selection_csv", "label_studio_tasks", "label_studio_json",
           "export_label_studio", "label_config_xml", "image_url", "export_folder", "export_zip", "files_in",
           "SERVE_NOTE"]
