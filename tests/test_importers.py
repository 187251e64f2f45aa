"""Importers: folder, ChestX-Det, SIIM, MedMNIST and the data CLI, on files the tests create."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from coldstart.errors import ColdstartError

from badinputs import corpus as c
from coldstart.cli import main
from coldstart.data import Dataset
from coldstart.data.imageio import read_image
from coldstart.data.importers import (import_chestx_det, import_folder, import_medmnist, import_siim,
                                      rle_decode, rle_encode)
from coldstart.data.importers.chestx_det import load_records
from conftest import SHARED_DATA

CXD = SHARED_DATA / "chestx-det"
CXD_JSON = [CXD / "ChestX_Det_train.json", CXD / "ChestX_Det_test.json"]
needs_cxd = pytest.mark.skipif(not CXD_JSON[0].exists(), reason="shared ChestX-Det annotations not found")


def _img(i: int, size=(40, 48)) -> np.ndarray:
    return np.roll(c.gradient(*size), 3 * i, axis=1)


# ---------------------------------------------------------------- folder
def test_folder_class_subfolders_all_formats_and_masks(tmp_path, data_root):
    src, masks = tmp_path / "src", tmp_path / "masks"
    c.make_png(src / "pneumothorax", "p_png.png", _img(1))
    Image.fromarray(_img(2)).save(src / "pneumothorax" / "p_jpg.jpeg", quality=95)
    c.make_png(src / "pneumothorax", "p_16.png", c.gradient(40, 48, np.uint16))
    c.write_dicom(src / "pneumothorax" / "sub" / "p_dcm.dcm", c.gradient(40, 48, np.uint16) >> 4, bits_stored=12)
    c.write_dicom(src / "normal" / "n_noext", _img(3))  # DICOM without an extension, 8-bit
    Image.fromarray(_img(4)).save(src / "normal" / "n_tif.tif")
    Image.fromarray(_img(5)).convert("RGB").save(src / "normal" / "n_bmp.bmp")
    for stem in ("p_png", "p_jpg", "p_16", "p_dcm"):
        m = np.zeros((40, 48), np.uint8)
        m[5:15, 10:30] = 255
        c.make_png(masks, f"{stem}.png", m)
    ds = import_folder(src, "fold", masks=masks)
    assert ds.classes == ["normal", "pneumothorax"]                # negative first
    lab = dict(zip(ds.ids, ds.manifest["label_name"]))
    assert lab == {"p_png": "pneumothorax", "p_jpg": "pneumothorax", "p_16": "pneumothorax",
                   "p_dcm": "pneumothorax", "n_noext": "normal", "n_tif": "normal", "n_bmp": "normal"}
    assert ds.report().empty, ds.report()
    for i, sid in enumerate(ds.ids):
        m = ds.load_mask(i)
        if sid.startswith("p_"):
            assert m is not None and m.sum() == 200 and m[5:15, 10:30].all()
        else:
            assert m is None
    depth = dict(zip(ds.ids, ds.manifest["bit_depth"]))
    assert depth["p_16"] == 16 and depth["p_dcm"] == 16 and depth["n_noext"] == 8 and depth["p_png"] == 8
    k = int(np.flatnonzero(ds.ids == "p_dcm")[0])
    np.testing.assert_allclose(ds.load_image(k), (c.gradient(40, 48, np.uint16) >> 4) / 4095, atol=2e-5)
    k = int(np.flatnonzero(ds.ids == "n_noext")[0])
    np.testing.assert_allclose(ds.load_image(k), _img(3) / 255, atol=1e-6)
    assert ds.load_image(0, size=16).shape == (16, 16)


def test_folder_flat_with_labels_csv(tmp_path, data_root):
    src = tmp_path / "flat"
    for i in range(10):
        c.make_png(src / ("a" if i < 5 else "b"), f"im{i}.png", _img(i))
    csv = tmp_path / "labels.csv"
    pd.DataFrame({"filename": ["a/im0.png", "im1.png", "im2", "b/im5.png", "im6.png", "im7", "missing.png", "im8"],
                  "label": ["normal", "Normal", "pneumonia", "pneumonia", "normal", "pneumonia", "normal", ""]}
                 ).to_csv(csv, index=False)
    ds = import_folder(src, "flat", labels=csv)
    assert ds.classes == ["normal", "pneumonia"]
    lab = dict(zip(ds.ids, ds.labels))
    assert lab == {"im0": 0, "im1": 0, "im2": 1, "im3": -1, "im4": -1, "im5": 1, "im6": 0, "im7": 1,
                   "im8": -1, "im9": -1}
    rep = ds.report()
    assert rep.reason.str.contains("row 'missing.png' of the labels CSV matches no image").sum() == 1


def test_folder_split_folders_kept_and_unlabeled_pool(tmp_path, data_root):
    src = tmp_path / "kaggle"
    for s, n in (("train", 6), ("test", 3), ("val", 2)):
        for cls in ("NORMAL", "PNEUMONIA"):
            for i in range(n):
                c.make_png(src / s / cls, f"{s}_{cls}_{i}.png", _img(i))
    ds = import_folder(src, "kaggle")
    assert ds.classes == ["NORMAL", "PNEUMONIA"]
    sp = pd.crosstab(ds.manifest["split"], ds.manifest["label_name"])
    assert sp.loc["train"].tolist() == [6, 6] and sp.loc["test"].tolist() == [3, 3] and sp.loc["val"].tolist() == [2, 2]
    assert all(i.split("_")[0] == s for i, s in zip(ds.ids, ds.splits))
    pool = tmp_path / "pool"
    for i in range(12):
        c.make_png(pool, f"u{i}.png", _img(i))
    ds2 = import_folder(pool, "pool")
    assert (ds2.labels == -1).all() and sorted(pd.Series(ds2.splits).value_counts().tolist()) == [1, 2, 9]


def test_split_stratification(tmp_path, data_root):
    src = tmp_path / "strat"
    for i in range(200):
        c.make_png(src / ("pos" if i % 4 == 0 else "neg"), f"s{i:03d}.png", _img(i, (8, 8)))
    ds = import_folder(src, "strat", seed=3)
    tab = pd.crosstab(ds.manifest["split"], ds.manifest["label_name"])
    assert tab.sum(axis=1).to_dict() == {"test": 40, "train": 140, "val": 20}
    for split, n in (("train", 140), ("val", 20), ("test", 40)):
        assert abs(tab.loc[split, "pos"] - n / 4) <= 1, tab
    again = import_folder(src, "strat2", seed=3)
    assert (again.splits == ds.splits).all()
    other = import_folder(src, "strat3", seed=4)
    assert (other.splits != ds.splits).any()


def test_reimport_is_idempotent_and_keeps_caches(tmp_path, data_root):
    src = tmp_path / "src"
    for i in range(20):
        c.make_png(src / ("x" if i % 3 else "y"), f"r{i}.png", _img(i))
    ds = import_folder(src, "idem")
    man, h = ds.manifest.copy(), ds.manifest_hash
    (ds.cache_dir("emb") / "pixels.npy").write_bytes(b"cached")
    (ds.subdir("runs") / "r1").mkdir()
    ds2 = import_folder(src, "idem")
    pd.testing.assert_frame_equal(man, ds2.manifest)
    assert ds2.manifest_hash == h
    assert (ds2.dir / "cache" / "emb" / "pixels.npy").read_bytes() == b"cached"
    assert (ds2.dir / "runs" / "r1").is_dir()
    assert sorted(p.name for p in (ds2.dir / "images").iterdir()) == sorted(f"{i}.png" for i in ds2.ids)


# ---------------------------------------------------------------- ChestX-Det
@needs_cxd
@pytest.mark.slow
def test_chestx_det_default_cohort_800(tmp_path, data_root):
    img = tmp_path / "img"
    img.mkdir()
    blank = Image.fromarray(np.full((32, 32), 90, np.uint8))
    n_json = 0
    for r, _ in load_records(CXD_JSON):
        n_json += 1
        if r["syms"] == [] or "Pneumothorax" in r["syms"]:
            blank.save(img / r["file_name"])
    assert n_json == 3025 + 553
    ds = import_chestx_det(CXD_JSON, img, "cxd", split="official", seed=0)
    assert ds.classes == ["normal", "pneumothorax"]
    assert (int((ds.labels == 0).sum()), int((ds.labels == 1).sum())) == (611, 189)
    tab = pd.crosstab(ds.manifest["split"], ds.labels)
    assert tab.loc["test"].tolist() == [64, 35]                  # the official test file
    assert tab.loc["train"].sum() + tab.loc["val"].sum() == 547 + 154
    assert tab.loc["val"].sum() == 70 and abs(tab.loc["val", 1] - 15.4) <= 1   # stratified 10 %
    assert ds.report().empty
    pos = ds.manifest[ds.labels == 1]
    assert pos["findings"].str.contains("Pneumothorax").all() and pos["mask"].notna().all()
    assert ds.manifest.loc[ds.labels == 0, "findings"].eq("").all()
    assert (ds.manifest["file_name"] == ds.manifest["id"] + ".png").all()
    other = import_chestx_det(CXD_JSON, img, "cxd", split="official", seed=1)
    assert (other.splits == "test").sum() == 99 and (other.splits != ds.splits).any()
    assert (ds.manifest["official_split"] == ds.manifest["split"].replace("val", "train")).all()

    # the default is the paper's split: random 70:10:20 over the 800-image cohort, stratified, seeded
    paper = import_chestx_det(CXD_JSON, img, "cxdp", seed=0)
    tab = pd.crosstab(paper.manifest["split"], paper.labels)
    assert tab.sum(axis=1).to_dict() == {"test": 160, "train": 560, "val": 80}
    for sp, share in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        assert abs(tab.loc[sp, 1] - 189 * share) <= 1, (sp, tab.loc[sp].tolist())  # stratified by label
    again = import_chestx_det(CXD_JSON, img, "cxdp2", seed=0)
    assert (again.splits == paper.splits).all()
    assert (import_chestx_det(CXD_JSON, img, "cxdp3", seed=1).splits != paper.splits).any()
    assert set(paper.manifest["official_split"]) == {"train", "test"}  # the official file stays visible
    with pytest.raises(ColdstartError, match="split='random'.*paper.*official"):
        import_chestx_det(CXD_JSON, img, "bad", split="random")


def _scanline(poly, w, h, sx, sy):
    """Independent rasterisation: pixel centres inside the polygon (even-odd rule, one scanline per row).

    Like the annotations (and PIL), vertex (x, y) is the centre of pixel (x, y).
    """
    pts = np.array([(x * sx, y * sy) for x, y in poly], float)
    x1, y1 = pts[:, 0], pts[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    out = np.zeros((h, w), bool)
    xc = np.arange(w, dtype=float)
    for row in range(h):
        yc = float(row)
        hit = (np.minimum(y1, y2) <= yc) & (yc < np.maximum(y1, y2))
        if not hit.any():
            continue
        xs = x1[hit] + (yc - y1[hit]) * (x2[hit] - x1[hit]) / (y2[hit] - y1[hit])
        out[row] = (xc[:, None] > xs[None, :]).sum(1) % 2 == 1
    return out


@needs_cxd
@pytest.mark.parametrize("size", [(1024, 1024), (512, 512), (300, 400)])
def test_chestx_det_polygon_masks_match_independent_rasterisation(tmp_path, data_root, size):
    recs = [r for r, _ in load_records(CXD_JSON[:1]) if "Pneumothorax" in r["syms"]][:6]
    negs = [r for r, _ in load_records(CXD_JSON[:1]) if r["syms"] == []][:4]
    j = tmp_path / "ChestX_Det_train.json"
    j.write_text(json.dumps(recs + negs))
    img = tmp_path / "img"
    img.mkdir()
    w, h = size
    for r in recs + negs:
        Image.new("L", (w, h), 100).save(img / r["file_name"])
    ds = import_chestx_det([j], img, "cxdm", val_fraction=0)
    assert len(ds) == 10 and (ds.labels == 1).sum() == 6
    from scipy.ndimage import binary_dilation

    ious = []
    for r in recs:
        k = int(np.flatnonzero(ds.ids == Path(r["file_name"]).stem)[0])
        m = ds.load_mask(k)
        assert m.shape == (h, w)
        ref = np.zeros((h, w), bool)
        others = np.zeros((h, w), bool)
        for s, poly in zip(r["syms"], r["polygons"]):
            if s == "Pneumothorax":
                ref |= _scanline(poly, w, h, w / 1024, h / 1024)
            else:
                others |= _scanline(poly, w, h, w / 1024, h / 1024)
        ious.append((m & ref).sum() / (m | ref).sum())
        # same region up to the boundary convention: nothing of the reference is missed (1 px tolerance);
        # PIL also fills 1-px slivers of self-touching outlines that have no area: allow 1 % beyond 2 px
        assert (ref & ~binary_dilation(m)).sum() == 0
        near = binary_dilation(ref, iterations=2)
        assert (m & ~near).sum() <= 0.01 * m.sum()
        # other findings are not drawn
        assert (m & others & ~near).sum() <= 0.01 * m.sum()
    assert np.median(ious) >= (0.93 if w >= 1024 else 0.8) and min(ious) >= 0.7, ious
    for k in np.flatnonzero(ds.labels == 0):
        assert ds.load_mask(int(k)) is None


# ---------------------------------------------------------------- SIIM
def _rle2mask_official(rle, width, height):
    """The competition's mask_functions.rle2mask, transcribed (used with .T by the kernels)."""
    mask = np.zeros(width * height)
    array = np.asarray([int(x) for x in rle.split()])
    starts, lengths = array[0::2], array[1::2]
    current_position = 0
    for index, start in enumerate(starts):
        current_position += start
        mask[current_position:current_position + lengths[index]] = 255
        current_position += lengths[index]
    return mask.reshape(width, height)


def test_rle_matches_official_decoder():
    rng = np.random.default_rng(0)
    for shape in ((64, 64), (48, 80)):
        m = rng.random(shape) < 0.02
        m[10:20, 5:25] = True
        enc = rle_encode(m)
        assert np.array_equal(rle_decode(enc, shape[1], shape[0]), m)
        assert np.array_equal(_rle2mask_official(enc, shape[1], shape[0]).T > 0, m)
    assert rle_encode(np.zeros((4, 4), bool)) == "-1"
    # column-major: "0 3" fills the first three pixels of the first *column*
    assert np.array_equal(np.flatnonzero(rle_decode("0 3", 4, 4)[:, 0]), [0, 1, 2])
    assert rle_decode("2 1 1 1", 4, 4).T.reshape(-1).nonzero()[0].tolist() == [2, 4]   # relative starts


def test_siim_import_union_negatives_unlabeled_and_patient_split(tmp_path, data_root):
    d = tmp_path / "dicom-images-train"
    rows, truth = [], {}
    rng = np.random.default_rng(1)
    for p in range(10):
        for k in range(3):
            uid = f"1.2.276.0.7230010.3.1.4.{p}.{k}"
            c.write_dicom(d / f"{p}" / f"{uid}.dcm", (c.gradient(64, 64, np.uint16) >> 4) + p,
                          bits_stored=12, sop_uid=uid, patient_id=f"patient{p:02d}")
            if p == 9 and k == 2:
                continue                                         # no CSV row -> unlabeled
            if (p + k) % 3 == 0:
                a = np.zeros((64, 64), bool); a[5:20, 3:9] = True
                b = np.zeros((64, 64), bool); b[15:30, 40:50] = True
                b |= rng.random((64, 64)) < 0.01
                rows += [(uid, rle_encode(a)), (uid, rle_encode(b))]
                truth[uid] = a | b
            else:
                rows.append((uid, "-1"))
                truth[uid] = None
    csv = tmp_path / "train-rle.csv"
    pd.DataFrame(rows, columns=["ImageId", " EncodedPixels"]).to_csv(csv, index=False)
    ds = import_siim(d, csv, "siim", seed=0)
    assert len(ds) == 30 and ds.report().empty
    assert ds.classes == ["normal", "pneumothorax"]
    for i, uid in enumerate(ds.ids):
        if uid not in truth:
            assert ds.labels[i] == -1
        elif truth[uid] is None:
            assert ds.labels[i] == 0 and ds.load_mask(i) is None
        else:
            assert ds.labels[i] == 1 and np.array_equal(ds.load_mask(i), truth[uid])
    per_patient = ds.manifest.groupby("patient_id")["split"].nunique()
    assert len(per_patient) == 10 and (per_patient == 1).all()
    assert set(ds.splits) == {"train", "val", "test"}
    assert int(ds.manifest["bit_depth"].iat[0]) == 16


# ---------------------------------------------------------------- MedMNIST
def test_medmnist_shared_file(pneumoniamnist_path, data_root):
    ds = import_medmnist(pneumoniamnist_path, "pmnist")
    assert ds.classes == ["normal", "pneumonia"]
    tab = pd.crosstab(ds.manifest["split"], ds.labels)
    assert tab.loc["train"].tolist() == [388, 3494]
    assert tab.loc["val"].tolist() == [135, 389] and tab.loc["test"].tolist() == [234, 390]
    with np.load(pneumoniamnist_path, allow_pickle=False) as z:
        k = int(np.flatnonzero(ds.ids == "val_00007")[0])
        np.testing.assert_allclose(ds.load_image(k), z["val_images"][7] / 255, atol=1e-6)
        assert ds.labels[k] == int(z["val_labels"][7, 0])


def test_medmnist_any_split_sizes_rgb_and_class_names(tmp_path, data_root):
    f = tmp_path / "dermamini.npz"
    rng = np.random.default_rng(0)
    np.savez(f, train_images=rng.integers(0, 255, (7, 12, 12, 3), dtype=np.uint8),
             train_labels=np.array([0, 1, 2, 0, 1, 2, 0]),
             test_images=rng.integers(0, 255, (3, 12, 12, 3), dtype=np.uint8), test_labels=np.array([[2], [1], [0]]))
    ds = import_medmnist(f, "mini")
    assert len(ds) == 10 and ds.classes == ["0", "1", "2"]
    assert pd.Series(ds.splits).value_counts().to_dict() == {"train": 7, "test": 3}
    assert ds.load_image(0).shape == (12, 12)


def test_medmnist_download_needs_package(monkeypatch, data_root, capsys):
    monkeypatch.setitem(sys.modules, "medmnist", None)              # import medmnist -> ImportError
    rc = main(["import", "medmnist", "--name", "x", "--download", "pneumoniamnist"])
    assert rc == 2 and "pip install medmnist" in capsys.readouterr().err
    rc = main(["import", "medmnist", "--name", "x"])
    assert rc == 2 and "--download pneumoniamnist" in capsys.readouterr().err


# ---------------------------------------------------------------- DICOM details
def test_dicom_window_applied_and_8bit_kept(tmp_path):
    raw = (np.arange(32 * 32).reshape(32, 32) * 4).astype(np.uint16)           # 0..4092
    p = c.write_dicom(tmp_path / "w.dcm", raw, bits_stored=12, window=(2000, 1000))
    arr, notes = read_image(p)
    assert any("window applied" in n for n in notes) and arr.dtype == np.uint16
    lo, hi = raw < 1500, raw > 2500
    assert (arr[lo] == arr.min()).all() and (arr[hi] == arr.max()).all()      # saturates outside the window
    mid = (raw > 1600) & (raw < 2400)
    assert len(np.unique(arr[mid])) > 100                                        # graded inside
    p8 = c.write_dicom(tmp_path / "e.dcm", _img(0))
    a8, notes8 = read_image(p8)
    assert a8.dtype == np.uint8 and np.array_equal(a8, _img(0)) and notes8 == []


# ---------------------------------------------------------------- CLI
def test_cli_import_folder_summary_and_datasets(tmp_path, data_root, capsys):
    src = tmp_path / "src"
    for i in range(10):
        c.make_png(src / ("normal" if i < 7 else "pneumothorax"), f"c{i}.png", _img(i))
    c.make_empty(src / "normal")
    assert main(["import", "folder", str(src), "--name", "cli"]) == 0
    out = capsys.readouterr().out
    assert "dataset 'cli': 10 images, classes ['normal', 'pneumothorax']" in out
    assert "skipped: 1 file(s)" in out and "empty.png: empty file (0 bytes)" in out
    assert "normal" in out and "train" in out and "total" in out
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:8] == ["name", "n", "classes", "train", "val", "test", "skipped", "source"]
    assert out[1].split()[:2] == ["cli", "10"] and "normal, pneumothorax" in out[1]


def test_cli_data_dir_and_chestx_det(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLDSTART_DATA", raising=False)
    recs = [{"file_name": f"{i}.png", "syms": [] if i % 2 else ["Effusion"], "boxes": [],
             "polygons": [] if i % 2 else [[[0, 0], [500, 0], [500, 500]]]} for i in range(10)]
    (tmp_path / "ChestX_Det_test.json").write_text(json.dumps(recs))
    (tmp_path / "img").mkdir()
    for r in recs:
        Image.new("L", (64, 64), 50).save(tmp_path / "img" / r["file_name"])
    root = tmp_path / "elsewhere"
    rc = main(["--data-dir", str(root), "import", "chestx-det", "--json", str(tmp_path / "ChestX_Det_test.json"),
               "--images", str(tmp_path / "img"), "--name", "eff", "--finding", "effusion", "--split", "official"])
    assert rc == 0
    ds = Dataset("eff", root)
    assert ds.classes == ["normal", "effusion"] and (ds.splits == "test").all() and ds.load_mask(0).sum() > 0
    monkeypatch.delenv("COLDSTART_DATA", raising=False)


def test_cli_phantom_calls_generator(monkeypatch, data_root, capsys):
    seen = {}

    def fake(name, n, seed, size, pos_rate, ood_fraction, ambiguous_fraction, root=None, progress=True):
        from conftest import make_blob_dataset

        seen.update(name=name, n=n, seed=seed, size=size, pos_rate=pos_rate, ood=ood_fraction,
                    amb=ambiguous_fraction, progress=progress)
        return make_blob_dataset(name, root, n=n, size=16)

    mod = types.ModuleType("coldstart.data.phantom")
    mod.generate_phantom = fake
    monkeypatch.setitem(sys.modules, "coldstart.data.phantom", mod)
    rc = main(["import", "phantom", "--n", "20", "--seed", "3", "--size", "64", "--pos-rate", "0.3",
               "--ood-fraction", "0.1"])
    assert rc == 0
    assert seen == {"name": "phantom", "n": 20, "seed": 3, "size": 64, "pos_rate": 0.3, "ood": 0.1, "amb": 0.0,
                    "progress": True}
    assert "dataset 'phantom': 20 images" in capsys.readouterr().out
