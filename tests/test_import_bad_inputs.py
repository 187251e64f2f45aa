"""The bad-input corpus for importers: every case is converted or skipped with a recorded reason,
or raises ColdstartError with a message that says what to do -- never a library traceback.

The table of cases is tests/badinputs/README.md; files are generated here in temp folders.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from badinputs import corpus as c
from coldstart.cli import main
from coldstart.data import Dataset
from coldstart.data.imageio import ImageReadError, read_image
from coldstart.data.importers import import_chestx_det, import_folder, import_medmnist, import_siim, rle_encode
from coldstart.errors import ColdstartError

# (case, file written under <src>/<class>/, expected action, expected reason fragment)
FOLDER_CASES = [
    ("truncated PNG", "normal/truncated.png", "skipped", "truncated or corrupt image data"),
    ("truncated JPEG", "normal/truncated.jpg", "skipped", "truncated or corrupt image data"),
    ("0-byte file", "normal/empty.png", "skipped", "empty file (0 bytes)"),
    ("text named .png", "normal/notes.png", "skipped", "not an image: the file is a text file"),
    ("HTML named .jpg", "normal/download.jpg", "skipped", "HTML page"),
    ("RGBA", "pneumothorax/rgba.png", "converted", "transparency composited over black"),
    ("palette", "normal/palette.png", "converted", "palette image converted to grayscale"),
    ("CMYK", "normal/cmyk.jpg", "converted", "CMYK image converted"),
    ("1x1 image", "normal/one_pixel.png", "skipped", "image too small (1x1 px)"),
    ("30000x30000 image", "normal/bomb.png", "skipped", "image too large"),
    ("10000x10000 image", "normal/bomb10k.png", "skipped", "decompression-bomb guard"),
    ("DICOM MONOCHROME1", "pneumothorax/mono1.dcm", "converted", "MONOCHROME1 inverted"),
    ("DICOM without pixel data", "normal/report.dcm", "skipped", "DICOM without pixel data"),
    ("compressed DICOM, no decoder", "normal/jpegls.dcm", "skipped", "no installed decoder"),
    ("mask of the wrong size", "pneumothorax/smallmask.png", "converted", "differs from image"),
    ("mask without an image", "masks/ghost.png", "skipped", "mask has no matching image"),
    ("duplicate file stems", "pneumothorax/dup.jpg", "skipped", "duplicate id 'dup'"),
    ("non-image file", "normal/readme.txt", "skipped", "not an image file extension"),
    ("text named .dcm", "normal/fake.dcm", "skipped", "the file is a text file despite its .dcm extension"),
    ("PNG named .dcm", "normal/png.dcm", "converted", "is not DICOM but an image"),
]


def _jpegls_decodable() -> bool:
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    return get_decoder(JPEGLSLossless).is_available


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A messy hospital-style export with every image-level bad case, imported once."""
    base = tmp_path_factory.mktemp("messy")
    src, masks, root = base / "export", base / "masks", base / "data"
    n, p = src / "normal", src / "pneumothorax"
    for d in (n, p, masks):
        d.mkdir(parents=True)
    for i in range(6):  # good images so the dataset is usable
        c.make_png(n, f"good{i}.png", np.roll(c.gradient(), i, axis=1))
        c.make_png(p, f"goodp{i}.png", np.roll(c.gradient(), -i, axis=0))
        c.make_png(masks, f"goodp{i}_mask.png", (c.gradient() > 128).astype(np.uint8) * 255)
    c.make_truncated_png(n); c.make_truncated_jpeg(n); c.make_empty(n); c.make_text_as_png(n)
    c.make_html_as_jpg(n); c.make_png16(p, "sixteen.png"); c.make_rgba(p); c.make_palette(n); c.make_cmyk(n)
    c.make_tiny(n); c.make_huge_header_png(n, "bomb.png", 30000); c.make_huge_header_png(n, "bomb10k.png", 10000)
    c.make_dicom_mono1(p); c.make_dicom_no_pixels(n); c.make_dicom_compressed(n)
    c.make_png(p, "smallmask.png")
    c.make_png(masks, "smallmask.png", np.full((24, 20), 255, np.uint8))  # image is 48x40
    c.make_png(masks, "ghost.png", np.full((48, 40), 255, np.uint8))
    c.make_png(n, "dup.png")
    Image.fromarray(c.gradient()).convert("RGB").save(p / "dup.jpg")
    (n / "readme.txt").write_text("exported by PACS")
    (n / "fake.dcm").write_text("StudyDate,PatientName\n20240101,DOE^JOHN\n")
    Image.fromarray(c.gradient()).save(n / "png.dcm", format="PNG")
    t0 = time.time()
    ds = import_folder(src, "messy", masks=masks, root=root)
    return {"ds": ds, "src": src, "masks": masks, "root": root, "seconds": time.time() - t0}


def _rows(messy, rel):
    rep = messy["ds"].report()
    base = messy["masks"] if rel.startswith("masks/") else messy["src"]
    path = str(base / rel.split("/", 1)[1]) if rel.startswith("masks/") else str(base / rel)
    return rep[rep["path"] == path]


@pytest.mark.parametrize("case,rel,action,reason", FOLDER_CASES, ids=[x[0] for x in FOLDER_CASES])
def test_folder_bad_input_recorded(messy, case, rel, action, reason):
    if case.startswith("compressed DICOM") and _jpegls_decodable():
        pytest.skip("a JPEG-LS decoder is installed here")
    rows = _rows(messy, rel)
    assert len(rows), f"{case}: nothing recorded for {rel}; report:\n{messy['ds'].report().to_string()}"
    hit = rows[rows["reason"].str.contains(reason, regex=False)]
    assert len(hit) == 1, f"{case}: expected {action} '{reason}', got {rows.to_dict('records')}"
    assert hit["action"].iat[0] == action
    assert "Traceback" not in hit["reason"].iat[0] and 'File "' not in hit["reason"].iat[0]
    stem = Path(rel).stem
    ids = set(messy["ds"].ids)
    if action == "skipped" and case != "duplicate file stems" and not rel.startswith("masks/"):
        assert stem not in ids
    if action == "converted":
        assert stem in ids


def test_messy_import_keeps_the_good_and_counts(messy):
    ds, rep = messy["ds"], messy["ds"].report()
    # 12 good + sixteen + rgba + palette + cmyk + mono1 + smallmask + dup(first) + png.dcm = 20
    assert len(ds) == 20, sorted(ds.ids)
    assert ds.classes == ["normal", "pneumothorax"]
    assert (rep["action"] == "skipped").sum() == 14
    assert not rep["reason"].str.contains("Traceback").any()
    # every good positive got its mask (matched by stem with the _mask suffix)
    for i in range(6):
        k = int(np.flatnonzero(ds.ids == f"goodp{i}")[0])
        assert ds.load_mask(k).sum() == int((c.gradient() > 128).sum())
    # the first 'dup' (normal/dup.png, sorted first) is kept
    k = int(np.flatnonzero(ds.ids == "dup")[0])
    assert ds.manifest["label_name"].iat[k] == "normal"


def test_sixteen_bit_png_kept(messy):
    ds = messy["ds"]
    k = int(np.flatnonzero(ds.ids == "sixteen")[0])
    assert int(ds.manifest["bit_depth"].iat[k]) == 16
    np.testing.assert_allclose(ds.load_image(k), c.gradient(dtype=np.uint16) / 65535.0, atol=1e-6)


def test_monochrome1_is_inverted(messy):
    ds = messy["ds"]
    k = int(np.flatnonzero(ds.ids == "mono1")[0])
    raw = (c.gradient(dtype=np.uint16) >> 4).astype(np.float64)  # 12-bit stored values
    np.testing.assert_allclose(ds.load_image(k), (4095 - raw) / 4095, atol=2e-5)
    assert int(ds.manifest["bit_depth"].iat[k]) == 16


def test_rgba_transparent_half_is_black(messy):
    ds = messy["ds"]
    x = ds.load_image(int(np.flatnonzero(ds.ids == "rgba")[0]))
    assert x[:, :20].max() == 0 and x[:, 20:].max() > 0.5


def test_wrong_size_mask_resized(messy):
    ds = messy["ds"]
    k = int(np.flatnonzero(ds.ids == "smallmask")[0])
    m = ds.load_mask(k)
    assert m.shape == (48, 40) and m.all()


def test_bomb_refused_without_allocating(tmp_path):
    p = c.make_huge_header_png(tmp_path, "bomb.png", 30000)
    assert p.stat().st_size < 100_000
    tracemalloc.start()
    t0 = time.time()
    with pytest.raises(ImageReadError, match="image too large"):
        read_image(p)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.time() - t0 < 2 and peak < 20_000_000


def test_max_pixels_is_a_parameter(tmp_path):
    p = c.make_png(tmp_path, "big.png", np.zeros((300, 300), np.uint8))
    with pytest.raises(ImageReadError, match="300x300 = 90,000 pixels exceeds the limit of 50,000"):
        read_image(p, max_pixels=50_000)
    assert read_image(p)[0].shape == (300, 300)


def test_missing_file_and_folder_errors(tmp_path, data_root):
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ColdstartError, match="is not a folder"):
        import_folder(tmp_path / "nope", "x")
    c.make_png(tmp_path / "imgs", "a.png")
    one = tmp_path / "one.csv"
    one.write_text("filename\na.png\n")
    with pytest.raises(ColdstartError, match="needs two columns, filename and label"):
        import_folder(tmp_path / "imgs", "x", labels=one)
    with pytest.raises(ColdstartError, match="dataset name '../evil' is not allowed"):
        import_folder(tmp_path / "imgs", "../evil")
    assert not (data_root.parent / "evil").exists()


# ---------------------------------------------------------------- ChestX-Det
def test_chestx_det_malformed_polygon_and_missing_image(tmp_path, data_root):
    recs = [
        {"file_name": "1.png", "syms": ["Pneumothorax"], "boxes": [[0, 0, 1, 1]],
         "polygons": [[[10, 10], [20, 20]]]},                                       # 2 points
        {"file_name": "2.png", "syms": ["Pneumothorax", "Pneumothorax"], "boxes": [[0] * 4] * 2,
         "polygons": [[[0, 0], ["a", 5], [9, 9]], [[100, 100], [600, 100], [600, 600]]]},  # non-numeric + good
        {"file_name": "3.png", "syms": [], "boxes": [], "polygons": []},
        {"file_name": "4.png", "syms": [], "boxes": [], "polygons": []},             # image missing
        {"file_name": "5.png", "syms": [], "boxes": [], "polygons": []},
    ]
    j = tmp_path / "ChestX_Det_train.json"
    j.write_text(json.dumps(recs))
    img = tmp_path / "img"
    img.mkdir()
    for r in recs:
        if r["file_name"] != "4.png":
            Image.new("L", (128, 128), 80).save(img / r["file_name"])
    ds = import_chestx_det([j], img, "cxd", val_fraction=0)
    rep = ds.report()
    assert sorted(ds.ids) == ["1", "2", "3", "5"]
    r1 = rep[rep.path.str.endswith("1.png")]
    assert "malformed Pneumothorax polygon #0 (2 point(s), need >= 3)" in " ".join(r1.reason)
    assert "kept without a mask" in " ".join(r1.reason)
    r2 = rep[rep.path.str.endswith("2.png")]
    assert "non-numeric point ['a', 5]" in " ".join(r2.reason) and (r2.action == "converted").all()
    k2 = int(np.flatnonzero(ds.ids == "2")[0])
    assert ds.load_mask(k2).sum() > 0                               # the good polygon still counts
    r4 = rep[rep.path.str.endswith("4.png")]
    assert r4.action.tolist() == ["skipped"] and "missing" in r4.reason.iat[0]


def test_chestx_det_bad_json_and_unknown_finding(tmp_path, data_root):
    j = tmp_path / "ChestX_Det_train.json"
    j.write_text("{not json")
    (tmp_path / "img").mkdir()
    with pytest.raises(ColdstartError, match="not valid JSON"):
        import_chestx_det([j], tmp_path / "img", "cxd")
    j.write_text(json.dumps([{"file_name": "1.png", "syms": ["Nodule"], "polygons": [[[0, 0], [1, 0], [1, 1]]]}]))
    with pytest.raises(ColdstartError, match=r"finding='Pneumonia' does not occur.*\['Nodule'\]"):
        import_chestx_det([j], tmp_path / "img", "cxd", finding="Pneumonia")


# ---------------------------------------------------------------- SIIM RLE
def test_siim_odd_length_rle_reported_image_kept(tmp_path, data_root):
    d = tmp_path / "dcm"
    m = np.zeros((32, 32), bool)
    m[5:9, 10:20] = True
    c.write_dicom(d / "a.dcm", c.gradient(32, 32, np.uint16), sop_uid="1.2.3.1", patient_id="p1")
    c.write_dicom(d / "b.dcm", c.gradient(32, 32, np.uint16), sop_uid="1.2.3.2", patient_id="p2")
    c.write_dicom(d / "c.dcm", c.gradient(32, 32, np.uint16), sop_uid="1.2.3.3", patient_id="p3")
    csv = tmp_path / "train-rle.csv"
    pd.DataFrame({"ImageId": ["1.2.3.1", "1.2.3.1", "1.2.3.2", "1.2.3.3", "9.9.9"],
                  " EncodedPixels": [rle_encode(m), "5 3 7", "12 x", "-1", "-1"]}).to_csv(csv, index=False)
    ds = import_siim(d, csv, "siim")
    rep = ds.report()
    assert len(ds) == 3
    ra = rep[rep.path.str.endswith("a.dcm")]
    assert ra.action.tolist() == ["converted"] and "odd number of values (3)" in ra.reason.iat[0]
    k = int(np.flatnonzero(ds.ids == "1.2.3.1")[0])
    assert np.array_equal(ds.load_mask(k), m)                        # the good row still used
    rb = rep[rep.path.str.endswith("b.dcm")]
    assert "non-integer value 'x'" in " ".join(rb.reason)
    kb = int(np.flatnonzero(ds.ids == "1.2.3.2")[0])
    assert ds.labels[kb] == 1 and ds.load_mask(kb) is None
    assert rep.reason.str.contains("ImageId 9.9.9 in the RLE CSV has no readable DICOM").any()


def test_siim_csv_without_columns(tmp_path, data_root):
    (tmp_path / "dcm").mkdir()
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(ColdstartError, match="needs columns ImageId and EncodedPixels"):
        import_siim(tmp_path / "dcm", csv, "siim")


# ---------------------------------------------------------------- MedMNIST
def test_npz_missing_key_clear_error(tmp_path, data_root):
    f = tmp_path / "broken.npz"
    np.savez(f, train_images=np.zeros((4, 8, 8), np.uint8), val_images=np.zeros((2, 8, 8), np.uint8),
             val_labels=np.zeros((2, 1), np.uint8))
    with pytest.raises(ColdstartError) as e:
        import_medmnist(f, "mm")
    msg = str(e.value)
    assert "lacks key 'train_labels'" in msg and "'train_images', 'val_images', 'val_labels'" in msg
    assert "test_labels" in msg  # names what is expected


def test_npz_other_problems(tmp_path, data_root):
    f = tmp_path / "none.npz"
    np.savez(f, x=np.zeros(3))
    with pytest.raises(ColdstartError, match=r"none of the MedMNIST keys \(found \['x'\]"):
        import_medmnist(f, "mm")
    g = tmp_path / "obj.npz"
    np.savez(g, train_images=np.array([np.zeros(2), "a"], dtype=object), train_labels=np.zeros(2))
    with pytest.raises(ColdstartError, match="cannot be read without pickle"):
        import_medmnist(g, "mm")
    h = tmp_path / "notzip.npz"
    h.write_text("hello")
    with pytest.raises(ColdstartError, match="not a readable .npz"):
        import_medmnist(h, "mm")


def test_cli_prints_clear_error_not_traceback(tmp_path, data_root, capsys):
    f = tmp_path / "broken.npz"
    np.savez(f, test_images=np.zeros((4, 8, 8), np.uint8))
    rc = main(["import", "medmnist", str(f), "--name", "mm"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: broken.npz lacks key 'test_labels'") and "Traceback" not in err


# ---------------------------------------------------------------- nothing lost
def test_failed_reimport_keeps_existing_dataset(tmp_path, data_root):
    good = tmp_path / "good"
    for i in range(8):
        c.make_png(good / "a", f"x{i}.png", np.roll(c.gradient(), i))
    ds = import_folder(good, "keep")
    before = ds.manifest_hash
    bad = tmp_path / "bad"
    bad.mkdir()
    c.make_empty(bad)
    c.make_text_as_png(bad)
    with pytest.raises(ColdstartError, match=r"no usable images.*import_report.failed.csv.*empty.png: empty file"):
        import_folder(bad, "keep")
    again = Dataset("keep")
    assert again.report().empty                                   # the dataset's own report is kept
    failed = pd.read_csv(again.dir / "import_report.failed.csv")
    assert len(failed) == 2 and (failed.action == "skipped").all()
    assert again.manifest_hash == before and len(again) == 8
    assert all((again.dir / p).exists() for p in again.manifest["image"])
    assert not [p for p in data_root.iterdir() if p.name.startswith(".")]  # no staging left behind


# ---------------------------------------------------------------- fuzz
def test_random_corruptions_only_raise_image_read_error(tmp_path):
    """Flip, cut and splice bytes of valid PNG/JPEG/TIFF/BMP/DICOM files: read_image returns or raises
    ImageReadError, nothing else."""
    import io as _io

    rng = np.random.default_rng(0)
    seeds = []
    for fmt in ("PNG", "JPEG", "TIFF", "BMP"):
        buf = _io.BytesIO()
        Image.fromarray(c.gradient()).save(buf, fmt)
        seeds.append((fmt.lower(), buf.getvalue()))
    seeds.append(("dcm", c.make_dicom_mono1(tmp_path, "seed.dcm").read_bytes()))
    outcomes = {"ok": 0, "reason": 0}
    for k in range(150):
        ext, data = seeds[k % len(seeds)]
        b = bytearray(data)
        op = k % 3
        if op == 0:                                       # flip random bytes
            for i in rng.integers(0, len(b), 8):
                b[i] = int(rng.integers(0, 256))
        elif op == 1:                                     # truncate anywhere
            b = b[: int(rng.integers(1, len(b)))]
        else:                                             # splice random junk into the middle
            i = int(rng.integers(0, len(b)))
            b = b[:i] + bytearray(rng.integers(0, 256, 64, dtype=np.uint8).tobytes()) + b[i:]
        p = tmp_path / f"f{k}.{ext}"
        p.write_bytes(bytes(b))
        try:
            arr, _ = read_image(p)
            assert arr.ndim == 2 and arr.dtype in (np.uint8, np.uint16)
            outcomes["ok"] += 1
        except ImageReadError as e:
            assert str(e) and "Traceback" not in str(e)
            outcomes["reason"] += 1
    assert outcomes["reason"] > 20 and outcomes["ok"] > 5, outcomes
