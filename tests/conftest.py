"""Shared fixtures: a temporary data root and small datasets made by the tests themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """A fresh, empty data root exported as $COLDSTART_DATA for the test."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("COLDSTART_DATA", str(root))
    monkeypatch.setenv("COLDSTART_WEIGHTS", str(tmp_path / "weights"))
    return root


def make_blob_dataset(name: str, root, n: int = 60, size: int = 32, pos_rate: float = 0.3,
                      seed: int = 0, masks: bool = True, ood_rate: float = 0.0):
    """A tiny learnable dataset: positives have a bright blob (also their mask)."""
    from coldstart.data import DatasetBuilder

    rng = np.random.default_rng(seed)
    b = DatasetBuilder(name, classes=["normal", "pneumothorax"], source="test blobs", root=root)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = rng.normal(0.4, 0.05, (size, size))
        img += 0.2 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 3) ** 2))
        pos = rng.random() < pos_rate
        m = None
        if pos:
            cx, cy = rng.integers(size // 4, 3 * size // 4, 2)
            r = size / 8
            m = (xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2
            img[m] += 0.4
        ood = rng.random() < ood_rate
        if ood:
            img = 1 - img
        b.add(f"img{i:04d}", np.clip(img, 0, 1), label=int(pos), mask=m if masks and pos else None,
              ood=bool(ood), ambiguous=False)
    return b.finalize(seed=seed)


@pytest.fixture
def blob_dataset(data_root):
    return make_blob_dataset("blobs", data_root)


@pytest.fixture
def pneumoniamnist_path() -> Path:
    p = SHARED_DATA / "pneumoniamnist" / "pneumoniamnist.npz"
    if not p.exists():
        pytest.skip(f"shared data not found at {p}")
    return p
