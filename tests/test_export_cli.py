"""`coldstart export` and `coldstart serve-images`, checked against Label Studio's import rules."""

from __future__ import annotations

import json
import os
import stat
import threading
import urllib.error
import urllib.request
import zipfile

import pandas as pd
import pytest

from coldstart import export
from coldstart.cli import main
from coldstart.export.lsformat import check_tasks, parse_config


@pytest.fixture
def picks(blob_dataset, tmp_path):
    """A picks file as `coldstart select --out` writes it (rank, index, id + diagnostics)."""
    path = tmp_path / "picks.csv"
    assert main(["select", "blobs", "--selector", "random", "--budget", "8", "--out", str(path)]) == 0
    return path


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_export_label_studio_obeys_the_import_rules(blob_dataset, picks, tmp_path):
    out = tmp_path / "ls"
    assert main(["export", "blobs", "--picks", str(picks), "--format", "label-studio", "--out", str(out)]) == 0
    assert export.files_in(out) == ["HOW_TO_SERVE.txt", "label_config.xml", "tasks.json"]
    tasks = json.loads((out / "tasks.json").read_text())
    config = (out / "label_config.xml").read_text()
    assert [t["data"]["id"] for t in tasks] == pd.read_csv(picks, dtype={"id": str})["id"].tolist()
    assert check_tasks(tasks, config) == []
    objects, controls = parse_config(config)
    assert objects == {"image": {"image"}} and set(controls) == {"diagnosis", "finding"}
    assert all(t["data"]["image"].startswith("/data/local-files/?d=blobs/images/") for t in tasks)
    assert all(_mode(out / f) == 0o644 for f in export.files_in(out))
    # the note names the exact document root and the dataset folder as the storage path
    note = (out / "HOW_TO_SERVE.txt").read_text()
    root = blob_dataset.dir.parent.resolve()
    assert f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}\n" in note
    assert f"\n     {blob_dataset.dir.resolve()}\n" in note and "cannot be the same" in note


def test_export_http_mode_points_at_serve_images(blob_dataset, picks, tmp_path):
    out = tmp_path / "ls"
    assert main(["export", "blobs", "--picks", str(picks), "--format", "label-studio", "--out", str(out),
                 "--url-mode", "http", "--url-prefix", "http://localhost:9000/"]) == 0
    tasks = json.loads((out / "tasks.json").read_text())
    assert all(t["data"]["image"].startswith("http://localhost:9000/images/") for t in tasks)
    note = (out / "HOW_TO_SERVE.txt").read_text()
    assert "serve-images blobs --port 9000" in note and "http.server sends none" in note


@pytest.mark.parametrize("fmt, expect", [("csv", "selection.csv"), ("folders", "labels.csv"),
                                         ("zip", "blobs-selection-images.zip")])
def test_export_other_formats_match_the_page_downloads(blob_dataset, picks, tmp_path, fmt, expect):
    out = tmp_path / fmt
    assert main(["export", "blobs", "--picks", str(picks), "--format", fmt, "--out", str(out)]) == 0
    files = export.files_in(out)
    assert expect in files and all(_mode(out / f) == 0o644 for f in files)
    rows, per_pick = export.read_picks(blob_dataset, picks)
    page = export.download(blob_dataset, rows, fmt, per_pick=per_pick)
    if fmt == "csv":
        assert (out / "selection.csv").read_bytes() == page.data
        assert "distance" not in per_pick or "distance" in pd.read_csv(out / "selection.csv").columns
    elif fmt == "zip":
        assert (out / expect).read_bytes() == page.data
    else:  # the folder is the page's zip unpacked
        z = zipfile.ZipFile(__import__("io").BytesIO(page.data))
        assert sorted(z.namelist()) == files
        assert all(z.read(f) == (out / f).read_bytes() for f in files)


def _err(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_export_bad_inputs_say_what_to_do(blob_dataset, picks, tmp_path, capsys):
    base = ["export", "blobs", "--format", "csv"]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("rank,index,id\n1,0,img0000\n2,5,not-an-image\n")
    assert "not-an-image" in _err(capsys, base + ["--picks", str(unknown), "--out", str(tmp_path / "a")])
    empty = tmp_path / "empty.csv"
    empty.write_text("rank,index,id\n")
    assert "empty" in _err(capsys, base + ["--picks", str(empty), "--out", str(tmp_path / "b")])
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    assert "no 'id' column" in _err(capsys, base + ["--picks", str(blank), "--out", str(tmp_path / "c")])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    msg = _err(capsys, base + ["--picks", str(picks), "--out", str(busy)])
    assert "not empty" in msg and (busy / "keep.txt").read_text() == "mine"
    assert "no such file" in _err(capsys, base + ["--picks", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "d")])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_format_rules_catch_broken_tasks():
    config = export.label_config_xml(["normal", "pneumothorax"], with_boxes=True)
    ok = {"data": {"image": "/x.png"}, "predictions": [{"model_version": "m", "result": [
        {"from_name": "diagnosis", "to_name": "image", "type": "choices", "value": {"choices": ["normal"]}},
        {"from_name": "finding", "to_name": "image", "type": "rectanglelabels",
         "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["pneumothorax"]}}]}]}
    assert check_tasks([ok], config) == []
    broken = [
        {"data": {"img": "/x.png"}},  # $image missing
        {"data": {"image": "/x.png"}, "predictions": [{"result": [
            {"from_name": "diag", "to_name": "image", "type": "choices", "value": {"choices": ["normal"]}}]}]},
        {"data": {"image": "/x.png"}, "predictions": [{"result": [
            {"from_name": "diagnosis", "to_name": "img", "type": "choices", "value": {"choices": ["normal"]}}]}]},
        {"data": {"image": "/x.png"}, "predictions": [{"result": [
            {"from_name": "diagnosis", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}]}]},
        {"data": {"image": "/x.png"}, "predictions": [{"result": [
            {"from_name": "finding", "to_name": "image", "type": "rectanglelabels",
             "value": {"x": 90, "y": 0, "width": 20, "height": 5, "rectanglelabels": ["normal"]}}]}]},
    ]
    problems = check_tasks(broken, config)
    text = "\n".join(problems)
    assert "task 0: data lacks ['image']" in text
    assert "task 1 prediction 0 result 0: from_name 'diag'" in text
    assert "task 2 prediction 0 result 0: to_name 'img'" in text
    assert "'cat' is not an option" in text
    assert "task 4" in text and "inside 0..100" in text and "'normal' is not an option of 'finding'" in text


def test_serve_images_sends_cors_and_only_images(blob_dataset):
    from coldstart.export.serve import make_server

    server = make_server(blob_dataset, port=0, quiet=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        url = export.image_url(blob_dataset, 3, "http", url_prefix=base)
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            assert r.read() == blob_dataset.image_path(3).read_bytes()
        for path in ("manifest.parquet", "images/", "images/../manifest.parquet", "../"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + path, timeout=5)
            assert e.value.code == 404, path
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


def test_serve_images_port_in_use_is_a_clear_error(blob_dataset):
    from coldstart.errors import ColdstartError
    from coldstart.export.serve import make_server

    first = make_server(blob_dataset, port=0, quiet=True)
    try:
        with pytest.raises(ColdstartError, match="choose another --port"):
            make_server(blob_dataset, port=first.server_address[1])
    finally:
        first.server_close()
