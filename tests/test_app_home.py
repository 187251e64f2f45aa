"""The home page (app.py) through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_blob_dataset

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=180)


def test_home_overview(blob_dataset):
    ds = blob_dataset
    at = _app().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == f"{len(ds):,}"
    assert metrics["With masks"] == str(int(ds.manifest["mask"].notna().sum()))
    # counts per class and split, with totals
    table = at.dataframe[0].value
    assert table.loc["total", "total"] == len(ds)
    assert table.loc["normal", "train"] == int(((ds.labels == 0) & (ds.splits == "train")).sum())
    # thumbnails with captions "id · label"
    imgs = [im for e in at.get("image") for im in e.proto.imgs]  # a gallery: one element, many images
    assert len(imgs) == 12
    assert any("What is cold-start selection" in e.label for e in at.expander)
    assert any(e.label.startswith("Import report: 0") for e in at.expander)
    assert at.session_state["dataset"] == "blobs"


def test_dataset_picker_switches_dataset(data_root):
    make_blob_dataset("alpha", data_root, n=20)
    make_blob_dataset("beta", data_root, n=30)
    at = _app().run()
    assert at.session_state["dataset"] == "alpha"
    at.sidebar.selectbox[0].set_value("beta").run()
    assert not at.exception
    assert at.session_state["dataset"] == "beta"
    assert {m.label: m.value for m in at.metric}["Images"] == "30"


def _png_folder(root: Path, n=12):
    rng = np.random.default_rng(0)
    for cls in ("normal", "pneumonia"):
        (root / cls).mkdir(parents=True)
        for i in range(n // 2):
            Image.fromarray((rng.random((24, 24)) * 255).astype(np.uint8)).save(root / cls / f"{cls}{i}.png")
    (root / "normal" / "broken.png").write_bytes(b"not a png")


def test_import_form_folder(data_root, blob_dataset, tmp_path):
    src = tmp_path / "src"
    _png_folder(src)
    at = _app().run()
    at.text_input(key="import_folder_path").input(str(src))
    at.text_input(key="import_folder_name").input("mine")
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception, at.exception
    assert at.session_state["dataset"] == "mine"
    assert {m.label: m.value for m in at.metric}["Images"] == "12"
    assert any(e.label.startswith("Import report: 1") for e in at.expander)


def test_import_form_errors_are_shown_not_raised(blob_dataset, tmp_path):
    at = _app().run()
    at.text_input(key="import_folder_name").input("x")
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception
    assert any("fill in Image folder" in e.value for e in at.error)
    at.text_input(key="import_folder_path").input(str(tmp_path / "nope"))
    at.text_input(key="import_folder_name").input("../evil")
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception
    assert any("not allowed" in e.value for e in at.error)
    assert at.session_state["dataset"] == "blobs"


@pytest.mark.slow
def test_first_launch_creates_phantom(data_root):
    at = _app().run()
    assert not at.exception, at.exception
    assert at.session_state["dataset"] == "phantom"
    assert (data_root / "phantom" / "manifest.parquet").exists()
    from coldstart.data import Dataset

    n = len(Dataset("phantom", data_root))
    assert n > 0 and {m.label: m.value for m in at.metric}["Images"] == f"{n:,}"


def test_home_is_the_first_page_and_says_what_the_labels_are(blob_dataset):
    from coldstart.ui.navigation import PAGES, ROOT

    # the sidebar lists Home first (not "app"), and every page script exists
    assert PAGES[0][1] == "Home" and [t for _, t, _ in PAGES] == ["Home", "Explore", "Train", "Compare", "Label", "Classroom"]
    assert all((ROOT / script).is_file() for script, _, _ in PAGES)
    at = _app().run()
    assert not at.exception, at.exception
    gt = [m for m in at.metric if m.label == "Ground truth for evaluation"]
    assert gt and gt[0].value == f"{int((blob_dataset.labels >= 0).sum()):,}"
    assert "selection never sees it" in gt[0].help
    assert not [m for m in at.metric if m.label == "Labelled"]


def test_home_says_which_embedder_makes_the_similarity(blob_dataset):
    """The explainer names the pool's default embedder and what it is (from the registry), and its
    imbalance example has the finding, not the normal images, as the rare class."""
    import json

    info = blob_dataset.dir / "dataset.json"
    info.write_text(json.dumps(dict(json.loads(info.read_text()), default_embedder="gist")))
    at = _app().run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "On this pool: **gist**, which is not a foundation model" in text
    assert "Gabor texture" in text  # the registry's summary of gist
    assert "1 image in 10 shows the finding" in text and "1 image in 10 is normal" not in text
    assert "from a *foundation model* trained on many chest X-rays,\nor from the pool itself" not in text
