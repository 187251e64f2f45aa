"""Ray Data embedding writes the same cache as the local path (bit-identical for pixels)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from coldstart.embed import load_embeddings
from coldstart.embed.cache import _paths, part_path
from coldstart.errors import ColdstartError
from coldstart.io import read_json

from conftest import make_blob_dataset
from scale_ray import ray_local  # noqa: F401 - fixture


def _fresh_cache(ds, key):
    for p in _paths(ds, key)[:3]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def test_pixels_through_ray_data_are_bit_identical_and_resumable(data_root, ray_local):
    from coldstart.embed import get_embedder
    from coldstart.embed.ray_embed import ray_fill

    ds = make_blob_dataset("blobs", data_root, n=70)
    key = get_embedder("pixels", ds).key
    local = load_embeddings(ds, "pixels", chunk_size=16).copy()
    local_meta = read_json(_paths(ds, key)[1])
    local_bytes = _paths(ds, key)[0].read_bytes()  # the stored form (uint8 for pixels)
    raw = np.load(_paths(ds, key)[0])
    _fresh_cache(ds, key)
    seen = []
    x = load_embeddings(ds, "pixels", chunk_size=16, fill=ray_fill(batch_size=8),
                        progress=lambda d, t, m: seen.append((d, t)))
    assert x.dtype == np.float32 and np.array_equal(x, local)
    meta = read_json(_paths(ds, key)[1])
    assert {k: meta[k] for k in ("key", "name", "manifest_hash", "shape", "dtype")} == \
        {k: local_meta[k] for k in ("key", "name", "manifest_hash", "shape", "dtype")}
    assert _paths(ds, key)[0].read_bytes() == local_bytes  # the cache file itself is bit-identical
    assert seen[-1] == (70, 70)
    assert not _paths(ds, key)[2].exists()  # chunks removed once the final array is written

    # an interrupted job: two chunks were saved (one of them made locally), the rest is computed on Ray
    _fresh_cache(ds, key)
    from coldstart.io import save_npy, write_json

    parts = _paths(ds, key)[2]
    parts.mkdir(parents=True)  # as an interrupted local job leaves it
    write_json(parts / "parts.json", dict(key=key, manifest_hash=ds.manifest_hash, n=len(ds), chunk_size=16,
                                          dtype=local_meta["dtype"]))
    save_npy(part_path(parts, 0, 16), raw[:16])
    save_npy(part_path(parts, 32, 48), raw[32:48])
    x2 = load_embeddings(ds, "pixels", chunk_size=16, fill=ray_fill())
    assert np.array_equal(x2, local)
    assert read_json(_paths(ds, key)[1])["resumed_chunks"] == 2


def test_torch_model_through_ray_data_matches_local(data_root, ray_local):
    from coldstart.embed import get_embedder, pretrain_ssl
    from coldstart.embed.ray_embed import ray_fill

    ds = make_blob_dataset("pool", data_root, n=48)
    mid = pretrain_ssl(ds, epochs=1, seed=0, arch="tiny", input_size=32, batch_size=16)
    name = f"ssl-pool:{mid}"
    key = get_embedder(name, ds).key
    local = load_embeddings(ds, name, device="cpu", chunk_size=20).copy()
    _fresh_cache(ds, key)
    x = load_embeddings(ds, name, device="cpu", chunk_size=20, fill=ray_fill(concurrency=1, batch_size=7))
    assert x.shape == local.shape
    np.testing.assert_allclose(x, local, rtol=0, atol=1e-5)


def test_ray_fill_validates():
    from coldstart.embed.ray_embed import ray_fill

    with pytest.raises(ColdstartError, match="concurrency=0"):
        ray_fill(concurrency=0)
    with pytest.raises(ColdstartError, match="address='nohost'"):
        ray_fill(address="nohost")
