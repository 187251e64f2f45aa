"""Bring-your-own foundation-model embeddings: the README's worked example, run as written, and every
accepted file layout (.npy/.npz/.parquet/.csv) matched to the manifest by id."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coldstart.errors import ColdstartError

from conftest import make_blob_dataset

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(marker: str) -> str:
    m = re.search(rf"<!-- {marker} -->\s*```\w+\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert m, f"README has no block after <!-- {marker} -->"
    return m.group(1)


def _stand_in_model(path) -> np.ndarray:
    """Stands in for CXR Foundation: any deterministic vector per image file."""
    from PIL import Image

    img = np.asarray(Image.open(path).convert("L").resize((8, 8)), dtype=np.float32) / 255
    return np.concatenate([img.ravel(), [img.mean(), img.std()]])


def test_readme_worked_example_runs_as_written(data_root, tmp_path, monkeypatch, capsys):
    from coldstart.cli import main
    from coldstart.data import Dataset
    from coldstart.embed import load_embeddings

    make_blob_dataset("mine", data_root, n=50)
    monkeypatch.chdir(tmp_path)
    exec(_block("byo-python"), {"my_model": _stand_in_model})
    for line in _block("byo-cli").splitlines():
        args = shlex.split(line.split("#")[0])
        assert args[0] == "coldstart"
        assert main(args[1:]) == 0, line
    picks = pd.read_csv(tmp_path / "picks.csv")
    assert len(picks) == 20
    ds = Dataset("mine")
    x = load_embeddings(ds, f"file:{tmp_path / 'cxr_foundation.npz'}")
    want = np.stack([_stand_in_model(ds.image_path(i)) for i in range(len(ds))]).astype(np.float32)
    np.testing.assert_array_equal(x, want)


@pytest.mark.parametrize("fmt", ["npy", "npz", "npz-single", "parquet", "csv"])
def test_every_layout_lands_in_manifest_order(data_root, tmp_path, fmt):
    from coldstart.embed import load_embeddings

    ds = make_blob_dataset("byo", data_root, n=30)
    X = np.random.default_rng(0).normal(size=(len(ds), 5)).astype(np.float32)
    perm = np.random.default_rng(1).permutation(len(ds))  # id-matched layouts get shuffled rows
    ids = np.asarray(ds.ids, dtype=str)
    f = tmp_path / f"emb.{fmt.split('-')[0]}"
    if fmt == "npy":
        np.save(f, X)
    elif fmt == "npz":
        np.savez(f, id=ids[perm], embeddings=X[perm])
    elif fmt == "npz-single":
        np.savez(f, X)
    else:
        df = pd.DataFrame(X[perm], columns=[f"d{k}" for k in range(5)]).assign(id=ids[perm])
        df.to_parquet(f) if fmt == "parquet" else df.to_csv(f, index=False)
    np.testing.assert_allclose(load_embeddings(ds, f"file:{f}"), X, rtol=1e-6)


def test_npz_with_a_missing_id_names_it(data_root, tmp_path):
    from coldstart.embed import load_embeddings

    ds = make_blob_dataset("byo", data_root, n=12)
    f = tmp_path / "bad.npz"
    np.savez(f, id=np.asarray(ds.ids[1:], dtype=str), embeddings=np.zeros((11, 3), np.float32))
    with pytest.raises(ColdstartError, match="1 manifest ids are missing"):
        load_embeddings(ds, f"file:{f}")
    g = tmp_path / "two.npz"
    np.savez(g, a=np.zeros((12, 3)), b=np.zeros((12, 3)))
    with pytest.raises(ColdstartError, match="'id' and 'embeddings'"):
        load_embeddings(ds, f"file:{g}")
