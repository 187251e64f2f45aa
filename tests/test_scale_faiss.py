"""faiss backend: same neighbours as the numpy path, taken automatically only at scale."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart.errors import ColdstartError
from coldstart.select import select
from coldstart.select import _space, faiss_backend

pytest.importorskip("faiss", reason='the [scale] extra is not installed: pip install -e ".[scale]"')


def _blobs(n, d, seed=0, k=12):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (k, d))
    return (c[rng.integers(k, size=n)] + rng.normal(size=(n, d))).astype(np.float32)


def test_auto_takes_faiss_only_from_the_documented_pool_size(monkeypatch):
    monkeypatch.delenv("COLDSTART_SELECT_BACKEND", raising=False)
    assert not faiss_backend.use_faiss(faiss_backend.AUTO_MIN_POOL - 1)
    assert faiss_backend.use_faiss(faiss_backend.AUTO_MIN_POOL)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "numpy")
    assert not faiss_backend.use_faiss(10**7)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    assert faiss_backend.use_faiss(10)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "gpu")
    with pytest.raises(ColdstartError, match="choose one of auto, numpy, faiss"):
        faiss_backend.use_faiss(10)


def test_knn_and_nearest_equal_the_numpy_path(monkeypatch):
    X = _blobs(3000, 24)
    C = X[::97]
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "numpy")
    i0, d0 = _space.nearest(X, C)
    m0 = _space.knn_mean_distance(X, X, 10)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    i1, d1 = _space.nearest(X, C)
    m1 = _space.knn_mean_distance(X, X, 10)
    assert np.array_equal(i0, i1)
    np.testing.assert_allclose(d1, d0, rtol=1e-4, atol=1e-2)  # d0 of a point to itself is 0.008, not 0
    np.testing.assert_allclose(m1, m0, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name", ["kmeans", "typiclust", "probcover", "coreset", "ood-aware"])
def test_selectors_run_on_faiss_from_a_memory_mapped_float16_file(tmp_path, monkeypatch, name):
    X = _blobs(4000, 32, seed=2)
    p = tmp_path / "emb.npy"
    np.save(p, X.astype(np.float16))
    Xm = np.load(p, mmap_mode="r")
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    s = select(name, Xm, 40, 0)
    assert len(s.indices) == 40 and len(set(s.indices)) == 40
    assert s.indices[:20].tolist() == select(name, Xm, 20, 0).indices.tolist()  # nested
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "numpy")
    if name in ("coreset", "kmeans"):  # no step on faiss (fast kmeans clusters a 20,000-image sample): same picks
        assert list(select(name, Xm, 40, 0).indices) == list(s.indices)


def test_probcover_graph_equals_the_numpy_graph(monkeypatch):
    from coldstart.select import probcover

    Z = _space.l2_normalize(_blobs(3000, 16, seed=4))
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "numpy")
    g0 = probcover.delta_graph(Z, 0.3)
    monkeypatch.setenv("COLDSTART_SELECT_BACKEND", "faiss")
    g1 = probcover.delta_graph(Z, 0.3)
    assert g0.nnz > 3000  # more than the self-loops
    # the same balls, up to images at float-rounding distance from the radius
    assert abs(g1.nnz - g0.nnz) <= 1e-3 * g0.nnz
    assert (g0 != g1).nnz <= 1e-3 * g0.nnz
