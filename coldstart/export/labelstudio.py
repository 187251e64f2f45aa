"""Label Studio import files: tasks JSON, the labeling config, and the note on serving the images.

Label Studio shows an image through the URL in a task's ``data.image``. Two ways work
for files on this machine (checked against Label Studio 1.23):

- ``local``: ``/data/local-files/?d=<path below the document root>``. Label Studio is
  started with ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` = the coldstart data root,
  and the project gets a *Local files* storage whose path is the dataset folder
  ``<data root>/<name>`` (a subfolder: Label Studio refuses the document root itself).
- ``http``: ``<prefix><path below the dataset folder>``, served by
  ``coldstart serve-images NAME`` (a static server that sends the CORS header
  Label Studio's page needs; ``python -m http.server`` does not).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from .lsformat import raise_for_problems
from .table import check_rows, label_names

LS_FROM_NAME = "diagnosis"
LS_BOX_NAME = "finding"
LS_TO_NAME = "image"
URL_MODES = ("local", "http")
DEFAULT_PORT = 8081
DEFAULT_URL_PREFIX = f"http://localhost:{DEFAULT_PORT}/"


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


def check_url_mode(url_mode: str) -> str:
    if url_mode not in URL_MODES:
        raise ColdstartError(f"url_mode={url_mode!r} is not known: choose 'local' (Label Studio local "
                             "storage) or 'http' (coldstart serve-images)")
    return url_mode


def image_url(dataset, i: int, url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX) -> str:
    """URL under which Label Studio finds image ``i`` (see the module docstring for the modes)."""
    check_url_mode(url_mode)
    rel = Path(str(dataset.manifest["image"].iat[int(i)])).as_posix()
    if url_mode == "local":
        return "/data/local-files/?d=" + quote(f"{dataset.name}/{rel}")
    if not url_prefix.startswith(("http://", "https://")):
        raise ColdstartError(f"url_prefix={url_prefix!r} must start with http:// or https:// "
                             f"(e.g. {DEFAULT_URL_PREFIX}, where `coldstart serve-images` listens)")
    return url_prefix.rstrip("/") + "/" + quote(rel)


def _box_from_mask(mask: np.ndarray) -> dict | None:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    h, w = mask.shape
    return {"x": 100.0 * xs.min() / w, "y": 100.0 * ys.min() / h,
            "width": 100.0 * (xs.max() + 1 - xs.min()) / w, "height": 100.0 * (ys.max() + 1 - ys.min()) / h,
            "rotation": 0}


def _json_value(v):
    v = v.item() if hasattr(v, "item") else v
    return None if v is pd.NA or (isinstance(v, float) and not np.isfinite(v)) else v


def label_studio_tasks(dataset, indices, labels=None, scores: Sequence[float] | None = None,
                       include_masks: bool = True, model_version: str = "coldstart",
                       url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX,
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
    url_mode, url_prefix
        How ``data.image`` is written; see :func:`image_url`.
    extra : DataFrame, optional
        Columns copied into each task's ``data`` (rank, cluster, ...).

    Returns
    -------
    list of dict
        ``[{"data": {"image": url, "id": ..., ...}, "predictions": [{"model_version",
        "score", "result": [...]}]}]``: the format of Label Studio's JSON import.
    """
    idx = check_rows(dataset, indices)
    names = label_names(dataset, idx, labels)
    if scores is not None and len(scores) != len(idx):
        raise ColdstartError(f"got {len(scores)} scores for {len(idx)} images: pass one score per image")
    if extra is not None and len(extra) != len(idx):
        raise ColdstartError(f"extra has {len(extra)} rows for {len(idx)} images: pass one row per image")
    tasks = []
    for k, i in enumerate(idx):
        i = int(i)
        data = {"image": image_url(dataset, i, url_mode, url_prefix),
                "id": str(dataset.manifest["id"].iat[i]), "split": str(dataset.manifest["split"].iat[i])}
        if extra is not None:
            data.update({str(c): _json_value(extra[c].iat[k]) for c in extra.columns if c not in data})
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


def label_studio_json(dataset, indices, **kw) -> str:
    """The task list of :func:`label_studio_tasks` as strict JSON text."""
    return json.dumps(label_studio_tasks(dataset, indices, **kw), indent=2, allow_nan=False)


def serve_note(dataset, n_tasks: int, url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX,
               model_version: str = "coldstart") -> str:
    """HOW_TO_SERVE.txt for this dataset and URL mode, with the exact paths filled in."""
    check_url_mode(url_mode)
    root, folder = dataset.dir.parent.resolve(), dataset.dir.resolve()
    head = ("How to let Label Studio show these images\n"
            "=========================================\n\n"
            f"This bundle: tasks.json ({n_tasks} tasks from dataset {dataset.name!r}), label_config.xml, this note.\n"
            "Label Studio reads images by URL, not from paths on your disk; these tasks were written for\n")
    project = ("Create a project; Settings > Labeling Interface > Code: paste label_config.xml, Save.\n")
    tail = (f"Predictions appear as pre-annotations (model version \"{model_version}\").\n"
            "The other way to serve the images needs a new export: in the app choose the other URL mode,\n"
            f"or run `coldstart export {dataset.name} --picks PICKS.csv --format label-studio --url-mode "
            f"{'http' if url_mode == 'local' else 'local'} --out DIR`.\n")
    if url_mode == "local":
        body = (
            "Label Studio's LOCAL STORAGE (no extra server). Image URLs look like\n"
            f"/data/local-files/?d={dataset.name}/images/...\n\n"
            "1. Start Label Studio with the coldstart data root as its document root:\n"
            "     export LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true\n"
            f"     export LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}\n"
            "     label-studio start\n"
            f"2. {project}"
            "3. Settings > Cloud Storage > Add Source Storage > Local files. Absolute local path:\n"
            f"     {folder}\n"
            "   This is the dataset folder, a subfolder of the document root. Do not enter the document root\n"
            "   itself: Label Studio refuses it (\"cannot be the same as LOCAL_FILES_DOCUMENT_ROOT\"), and\n"
            "   without a storage every image URL answers 404. Add the storage; do not Sync it.\n"
            "4. Import tasks.json (Import > Upload Files).\n\n")
    else:
        body = (
            f"an HTTP SERVER at {url_prefix}. Image URLs look like {url_prefix.rstrip('/')}/images/...\n\n"
            "1. Serve the dataset folder with the CORS header Label Studio's page needs\n"
            "   (python -m http.server sends none, and the images stay blank):\n"
            f"     coldstart --data-dir {root} serve-images {dataset.name} --port {_port(url_prefix)}\n"
            f"   It serves only {folder}/images and /masks, on 127.0.0.1, until Ctrl-C.\n"
            f"   Another server works too if it serves {folder} at {url_prefix}\n"
            "   and sends Access-Control-Allow-Origin.\n"
            f"2. label-studio start. {project}"
            "3. Import tasks.json (Import > Upload Files).\n\n")
    return head + body + tail


def _port(url_prefix: str) -> int:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url_prefix).port or DEFAULT_PORT
    except ValueError:
        return DEFAULT_PORT


def label_studio_files(dataset, indices, url_mode: str = "local", url_prefix: str = DEFAULT_URL_PREFIX,
                       model_version: str = "coldstart", **kw) -> dict[str, bytes]:
    """``tasks.json``, ``label_config.xml`` and ``HOW_TO_SERVE.txt`` (name -> bytes) for the rows.

    Keyword arguments go to :func:`label_studio_tasks`.
    """
    tasks = label_studio_tasks(dataset, indices, url_mode=url_mode, url_prefix=url_prefix,
                               model_version=model_version, **kw)
    with_boxes = any(r["type"] == "rectanglelabels" for t in tasks for p in t.get("predictions", [])
                     for r in p["result"])
    config = label_config_xml(dataset.classes or ["positive"], with_boxes)
    raise_for_problems(tasks, config)
    return {"tasks.json": json.dumps(tasks, indent=2, allow_nan=False).encode(),
            "label_config.xml": config.encode(),
            "HOW_TO_SERVE.txt": serve_note(dataset, len(tasks), url_mode, url_prefix, model_version).encode()}
