"""The GIST embedder (the phantom pool's default): shape, determinism, cache, and what it tells apart."""

from __future__ import annotations

import numpy as np

from coldstart.embed import get_embedder, load_embeddings
from coldstart.embed.gist import gabor_bank, gist


def _stripes(n, period, vertical, phase):
    x = np.arange(n)
    s = 0.5 + 0.4 * np.sin(2 * np.pi * (x + phase) / period)
    return np.tile(s[None, :] if vertical else s[:, None], (n, 1) if vertical else (1, n)).astype(np.float32)


def test_gist_separates_orientation_and_scale_not_position():
    n = 64
    bank = gabor_bank(n)
    assert bank.shape == (32, n, n)
    imgs = np.stack([_stripes(n, 8, True, 0), _stripes(n, 8, True, 3),      # same texture, shifted
                     _stripes(n, 8, False, 0), _stripes(n, 32, True, 0)])   # other orientation, other scale
    d = gist(imgs, bank, grid=4)
    assert d.shape == (4, 32 * 16) and d.dtype == np.float32 and np.isfinite(d).all()
    shift = np.linalg.norm(d[0] - d[1])
    assert shift < 0.5 * np.linalg.norm(d[0] - d[2]) and shift < 0.5 * np.linalg.norm(d[0] - d[3])


def test_gist_embedder_through_the_cache(blob_dataset):
    e = get_embedder("gist")
    assert e.available()[0] and e.dim == 2048 and e.key.startswith("gist-128")
    X = load_embeddings(blob_dataset, "gist")
    assert X.shape == (len(blob_dataset), 2048) and X.dtype == np.float32
    np.testing.assert_array_equal(X[:5], e.embed(blob_dataset, indices=np.arange(5)))
    # blobs (positives) and plain images differ in their descriptor: far more than a random split does
    y = blob_dataset.manifest.label.to_numpy()
    Z = (X - X.mean(0)) / (X.std(0) + 1e-6)

    def gap(lab):
        return np.linalg.norm(Z[lab == 1].mean(0) - Z[lab == 0].mean(0))

    rng = np.random.default_rng(0)
    chance = max(gap(rng.permutation(y)) for _ in range(20))
    assert gap(y) > 1.5 * chance
