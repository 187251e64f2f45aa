"""Raw pixels: the paper's "naive" input at the task's input size, and a cheap thumbnail.

* ``pixels``: the image at the task's input size, 224 x 224 as in the paper
  (50,176-d), never upsampled above the pool's native size (PneumoniaMNIST
  stays 28 x 28 = 784-d). Stored as uint8 (pixels are 8-bit; uint16 for
  16-bit films), so a 100,000-image pool at 224 px is about 5 GB on disk; see
  :func:`coldstart.embed.cache.embedding_chunks` for reading it in blocks.
* ``pixels-32``: a 32 x 32 thumbnail (1,024-d), float32: a cheap stand-in, *not*
  the paper's input (its cache key is the former ``pixels``', so old caches stay valid).

Wide pixel features stay practical downstream: the selectors' PCA iterates without a
d x d covariance, and ``kmeans-paper`` clusters in exact row-space coordinates.
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
    size : int, default 32
        Side of the thumbnail; 32 gives 1,024-d vectors.
    """

    store_dtype: str | None = None  # float32 in the cache
    store_scale: float | None = None

    def __init__(self, size: int = 32):
        self.size = int(size)
        self.name = "pixels-32" if self.size == 32 else f"pixels-{self.size}"
        self.key = f"pixels-{self.size}-v1"
        self.dim = self.size * self.size
        self.summary = (f"raw pixels as a {self.size}x{self.size} thumbnail ({self.dim:,}-d): cheap, not the "
                        "paper's naive input (that is pixels)")

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


class InputPixelsEmbedder(PixelsEmbedder):
    """``pixels``: the image at ``min(224, native size)``, flattened, stored as uint8.

    Parameters
    ----------
    dataset : Dataset, optional
        Sets the size from its images; without one the size is 224.
    """

    store_dtype = "uint8"  # the cache keeps round(255 * value): exact for 8-bit images at native size
    store_scale = 255.0

    def __init__(self, dataset=None):
        native = native_size(dataset) if dataset is not None else None
        super().__init__(min(PAPER_SIZE, native) if native else PAPER_SIZE)
        if dataset is not None and "bit_depth" in dataset.manifest.columns and \
                (dataset.manifest["bit_depth"] == 16).any():
            self.store_dtype, self.store_scale = "uint16", 65535.0  # keep 16-bit films' precision
        self.name = "pixels"
        self.key = f"pixels-{self.size}-{'u16' if self.store_dtype == 'uint16' else 'u8'}-v2"
        self.summary = (f"raw pixels at the task's input size, {self.size}x{self.size} ({self.dim:,}-d; 224 px in "
                        "the paper, never above the images' own size): the paper's naive baseline")
