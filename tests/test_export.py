"""Exports read back: CSV columns, Label Studio task fields, class folders and zips."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from coldstart import export
from coldstart.errors import ColdstartError


def test_selection_csv_columns_and_order(blob_dataset, tmp_path):
    ds = blob_dataset
    idx = [5, 2, 9]
    per_pick = pd.DataFrame({"rank": [1, 2, 3], "index": idx, "cluster": [0, 1, 2], "distance": [0.1, 0.2, 0.3]})
    text = export.selection_csv(ds, idx, path=tmp_path / "sel.csv", per_pick=per_pick)
    back = pd.read_csv(tmp_path / "sel.csv")
    assert text == (tmp_path / "sel.csv").read_text()
    assert {"rank", "index", "id", "image", "label", "split", "mask", "cluster", "distance"} <= set(back.columns)
    assert back["index"].tolist() == idx
    assert back["id"].tolist() == [ds.ids[i] for i in idx]
    assert back["rank"].tolist() == [1, 2, 3]
    assert back["label"].tolist() == [ds.label_name(ds.labels[i]) for i in idx]
    assert all(pd.io.common.file_exists(p) for p in back["image"])


def test_selection_csv_user_labels_override(blob_dataset):
    back = pd.read_csv(io.StringIO(export.selection_csv(blob_dataset, [0, 1], labels=["pneumothorax", None])))
    assert back["label"].tolist() == ["pneumothorax", "unlabeled"]


@pytest.mark.parametrize("bad, msg", [([], "empty"), ([0, 999], "outside"), ([1, 1], "duplicates")])
def test_bad_indices_say_what_to_do(blob_dataset, bad, msg):
    with pytest.raises(ColdstartError, match=msg):
        export.selection_csv(blob_dataset, bad)


def test_label_studio_tasks_schema(blob_dataset, tmp_path):
    ds = blob_dataset
    pos = np.flatnonzero(ds.labels == 1)[:2].tolist()
    neg = np.flatnonzero(ds.labels == 0)[:2].tolist()
    idx = pos + neg
    files = export.label_studio_files(ds, idx, scores=[0.9, 0.8, 0.2, 0.1])
    tasks = json.loads(files["tasks.json"])
    assert isinstance(tasks, list) and len(tasks) == 4
    for t, i in zip(tasks, idx):
        assert t["data"]["image"].startswith("/data/local-files/?d=")
        assert t["data"]["image"].endswith(ds.manifest["image"].iat[i].split("/")[-1])
        assert t["data"]["id"] == ds.ids[i]
        pred = t["predictions"][0]
        assert pred["model_version"] == "coldstart" and 0 <= pred["score"] <= 1
        choice = [r for r in pred["result"] if r["type"] == "choices"][0]
        assert choice["from_name"] == export.LS_FROM_NAME and choice["to_name"] == export.LS_TO_NAME
        assert choice["value"]["choices"] == [ds.classes[ds.labels[i]]]
    # positives carry a box around their mask, in percent of the image
    box = [r for r in tasks[0]["predictions"][0]["result"] if r["type"] == "rectanglelabels"][0]
    assert 0 <= box["value"]["x"] < 100 and 0 < box["value"]["width"] <= 100
    assert box["original_width"] == 32
    assert not [r for r in tasks[3]["predictions"][0]["result"] if r["type"] == "rectanglelabels"]
    # the labeling config names every from_name/to_name used by the tasks
    xml = files["label_config.xml"].decode()
    assert f'name="{export.LS_FROM_NAME}"' in xml and f'name="{export.LS_BOX_NAME}"' in xml
    assert 'value="pneumothorax"' in xml
    assert export.check_tasks(tasks, xml) == []
    # the local-storage path resolves to the real file under the document root
    rel = tasks[0]["data"]["image"].split("?d=")[1]
    assert (ds.dir.parent / rel).exists()


def test_label_studio_http_urls_and_unlabeled(blob_dataset):
    tasks = export.label_studio_tasks(blob_dataset, [0], labels=[None], url_mode="http", include_masks=False)
    # the http server serves the dataset folder itself (coldstart serve-images)
    assert tasks[0]["data"]["image"] == "http://localhost:8081/" + blob_dataset.manifest["image"].iat[0]
    assert "predictions" not in tasks[0]
    with pytest.raises(ColdstartError, match="url_mode"):
        export.label_studio_tasks(blob_dataset, [0], url_mode="ftp")


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_folder_export_one_subfolder_per_class(blob_dataset, tmp_path, mode):
    ds = blob_dataset
    idx = list(range(10))
    table = export.export_folder(ds, idx, tmp_path / "out", mode=mode)
    files = export.files_in(tmp_path / "out")
    assert "labels.csv" in files
    for i in idx:
        f = f"{ds.label_name(ds.labels[i])}/{ds.ids[i]}.png"
        assert f in files
        p = tmp_path / "out" / f
        assert p.is_symlink() == (mode == "symlink")
        assert p.read_bytes() == ds.image_path(i).read_bytes()
    back = pd.read_csv(tmp_path / "out" / "labels.csv", dtype=str)
    assert back.equals(table.astype(str))
    sel = pd.read_csv(tmp_path / "out" / "selection.csv")
    assert all((tmp_path / "out" / f).exists() for f in sel["image"])
    with pytest.raises(ColdstartError, match="not empty"):
        export.export_folder(ds, idx, tmp_path / "out")


def test_zip_export(blob_dataset):
    data = export.export_zip(blob_dataset, [3, 4], labels=[1, 0])
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    assert {"labels.csv", "selection.csv", f"pneumothorax/{blob_dataset.ids[3]}.png",
            f"normal/{blob_dataset.ids[4]}.png"} <= names
    sel = pd.read_csv(z.open("selection.csv"))
    assert sel["label"].tolist() == ["pneumothorax", "normal"]
    # every path in the zip's CSVs is a file of the zip itself (no dangling images/... or masks/...)
    assert set(sel["image"]) <= names and "mask" not in sel.columns
    assert set(pd.read_csv(z.open("labels.csv"))["file"]) <= names
    # members unpack readable by others (0644), not 0600
    assert {(i.external_attr >> 16) & 0o777 for i in z.infolist()} == {0o644}


def test_label_studio_json_is_strict_json_with_missing_diagnostics(blob_dataset):
    extra = pd.DataFrame({"distance": [np.nan, 1.5], "cluster": pd.array([pd.NA, 2], dtype="Int64")})
    text = export.label_studio_json(blob_dataset, [1, 2], extra=extra)
    tasks = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert tasks[0]["data"]["distance"] is None and tasks[1]["data"]["cluster"] == 2


def test_label_studio_box_labels_are_in_the_config(blob_dataset):
    ds = blob_dataset
    pos = int(np.flatnonzero(ds.labels == 1)[0])
    tasks = export.label_studio_tasks(ds, [pos], labels=["normal"])  # user disagrees with the mask
    box = [r for r in tasks[0]["predictions"][0]["result"] if r["type"] == "rectanglelabels"][0]
    assert box["value"]["rectanglelabels"] == ["pneumothorax"]
    assert 'value="pneumothorax"' in export.label_config_xml(ds.classes, with_boxes=True).split("RectangleLabels")[1]
