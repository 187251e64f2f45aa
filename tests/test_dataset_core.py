import numpy as np
import pandas as pd
import pytest

from coldstart.data import MISSING_LABEL, Dataset, DatasetBuilder, as_dataset, is_labeled, list_datasets
from coldstart.errors import ColdstartError
from coldstart.data.splits import stratified_split
from conftest import make_blob_dataset


def test_builder_writes_canonical_layout(blob_dataset, data_root):
    ds = blob_dataset
    assert list_datasets() == ["blobs"]
    assert len(ds) == 60
    for c in ("id", "image", "label", "mask", "split"):
        assert c in ds.manifest.columns
    x = ds.load_image(0, size=16)
    assert x.dtype == np.float32 and x.shape == (16, 16) and 0 <= x.min() and x.max() <= 1
    pos = np.flatnonzero(ds.labels == 1)
    m = ds.load_mask(int(pos[0]))
    assert m.dtype == bool and m.any()
    assert ds.load_mask(int(np.flatnonzero(ds.labels == 0)[0])) is None
    assert set(ds.splits) <= {"train", "val", "test"}


def test_sixteen_bit_kept(data_root):
    b = DatasetBuilder("d16", classes=["a"], source="t")
    img = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    b.add("x", img, label=0)
    b.add("y", img, label=0)
    ds = b.finalize()
    assert ds.manifest["bit_depth"].iloc[0] == 16
    x = ds.load_image(0)
    assert np.isclose(x.max(), img.max() / 65535, atol=1e-4)


def test_reimport_idempotent_and_keeps_cache(data_root):
    a = make_blob_dataset("r", data_root)
    (a.cache_dir("emb") / "keep.npy").write_bytes(b"x")
    h1 = a.manifest_hash
    b = make_blob_dataset("r", data_root)
    assert b.manifest_hash == h1
    assert (b.dir / "cache" / "emb" / "keep.npy").exists()
    pd.testing.assert_frame_equal(a.manifest, b.manifest)


def test_duplicate_ids_recorded(data_root):
    b = DatasetBuilder("dup", classes=["a", "b"], source="t")
    assert b.add("x", np.zeros((8, 8), np.uint8), label=0)
    assert not b.add("x", np.zeros((8, 8), np.uint8), label=1)
    b.add("y", np.zeros((8, 8), np.uint8), label=1)
    ds = b.finalize()
    rep = ds.report()
    assert len(ds) == 2 and "duplicate" in rep.reason.iloc[0]


def test_missing_label_and_is_labeled(data_root):
    b = DatasetBuilder("part", classes=["a", "b"], source="t")
    for i, lab in enumerate([0, None, 1]):
        b.add(f"x{i}", np.zeros((8, 8), np.uint8), label=lab)
    ds = b.finalize()
    assert ds.labels.tolist() == [0, MISSING_LABEL, 1]
    assert ds.is_labeled().tolist() == [True, False, True]
    assert is_labeled(ds.labels).tolist() == ds.is_labeled().tolist()
    assert ds.label_name(MISSING_LABEL) == "unlabeled"


def test_as_dataset_takes_a_dataset_or_its_name(blob_dataset):
    assert as_dataset(blob_dataset) is blob_dataset
    assert as_dataset("blobs").name == "blobs"
    with pytest.raises(ColdstartError, match=r"dataset=3 is neither a Dataset nor a dataset name: pass the name"):
        as_dataset(3)
    with pytest.raises(ColdstartError, match=r"^source=None"):
        as_dataset(None, "source")
    with pytest.raises(ColdstartError, match="import it first"):
        as_dataset("nope")


def test_missing_dataset_clear_error(data_root):
    with pytest.raises(ColdstartError, match="import it first"):
        Dataset("nope")


@pytest.mark.parametrize("bad", ["../etc", "a/b", ".hidden", "", "x" * 80])
def test_bad_names_rejected(data_root, bad):
    with pytest.raises(ColdstartError):
        Dataset(bad)


def test_stratified_split_fractions():
    labels = np.array([0] * 90 + [1] * 10)
    s = stratified_split(labels, seed=1)
    assert (s == "test").sum() == 20 and (s == "val").sum() == 10
    assert ((s == "test") & (labels == 1)).sum() == 2
    assert (stratified_split(labels, seed=1) == s).all()
