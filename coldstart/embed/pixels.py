"""Raw pixels, the paper's "naive" input, and a cheap thumbnail.

* ``pixels``: the image at the task's input size, 224 x 224 as in the paper
  (50,176-d), never upsampled above the pool's native size (PneumoniaMNIST
  stays 28 x 28 = 784-d). Stored as uint8 (pixels are 8-bit), so a
  100,000-image pool at 224 px is about 5 GB on disk; see
  :func:`coldstart.embed.cache.embedding_chunks` for reading it in blocks.
* ``pixels-32``: a 32 x 32 thumbnail (1,024-d): a cheap stand-in for quick
  looks, *not* the paper's input. It is the former ``pixels`` unchanged (same
  cache key, float32), so caches computed before the rename stay valid.
"""

from __future__ import annotations

import numpy as np

from ..progress import Progress

PAPER_SIZE = 224  # the classifier's input size in the paper, and so the naive baseline's


def native_size(dataset) -> int | None:
    """Median of the images' longer side (manifest ``height``/``width``), or None when unknown."""
    m = dataset.manifest
    if "height" not in m.columns or "width" not in m.columns or not len(m):
        return None
    side = m[["height", "width"]].astype(float).max(axis=1).median()
    return None if np.isnan(side) else int(side)


class PixelsEmbedder:
    """Images resized (bilinear) to ``size x size`` in [0, 1] and flattened: ``size**2`` dims.

    Parameters
    ----------
    dataset : Dataset, optional
        Sets the size: ``min(224, native size)``. Without one the size is 224.
    size : int, optional
        A fixed size instead (``pixels-32`` uses 32).
    """

    store_dtype: str | None = "uint8"  # the cache keeps round(255 * value): exact for 8-bit images
    store_scale = 255.0

    def __init__(self, dataset=None, size: int | None = None):
        if dataset is not None and "bit_depth" in dataset.manifest.columns and \
                (dataset.manifest["bit_depth"] == 16).any():
            self.store_dtype, self.store_scale = "uint16", 65535.0  # keep 16-bit films' precision
        if size is None:
            native = native_size(dataset) if dataset is not None else None
            size = min(PAPER_SIZE, native) if native else PAPER_SIZE
            self.name = "pixels"
            self.summary = (f"raw pixels at the task's input size, {size}x{size} ({size * size:,}-d; 224 px in "
                            "the paper, never above the images' own size): the paper's naive baseline")
        else:
            self.name = f"pixels-{size}"
            self.summary = (f"a {size}x{size} thumbnail ({size * size:,}-d): a cheap stand-in for quick looks, "
                            "not the paper's naive input")
        self.size = int(size)
        self.key = f"pixels-{self.size}-{'u16' if self.store_dtype == 'uint16' else 'u8'}-v2"
        self.dim = self.size * self.size

    def available(self) -> tuple[bool, str]:
        return True, "ready (no weights needed)"

    def embed(self, dataset, device=None, batch_size=None, progress=None, indices=None) -> np.ndarray:
        indices = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=int)
        out = np.empty((len(indices), self.dim), np.float32)
        with Progress(progress, len(indices), f"embedding {self.name}") as p:
            for k, i in enumerate(indices):
                out[k] = dataset.load_image(int(i), self.size).reshape(-1)
                p.update(1)
        return out


class ThumbnailEmbedder(PixelsEmbedder):
    """``pixels-32``: a fixed 32 x 32 thumbnail, float32 under the former ``pixels`` cache key."""

    store_dtype = None

    def __init__(self, dataset=None):
        super().__init__(size=32)
        self.key = "pixels-32-v1"
