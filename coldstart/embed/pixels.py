"""The paper's "naive" input: raw pixels at a small fixed size, flattened."""

from __future__ import annotations

import numpy as np

from ..progress import Progress


class PixelsEmbedder:
    """Images resized (bilinear) to ``size x size`` in [0, 1] and flattened: ``size**2`` dims.

    Parameters
    ----------
    size : int, default 32
        Side of the thumbnail; 32 gives 1,024-d vectors.
    """

    def __init__(self, size: int = 32):
        self.size = int(size)
        self.name = "pixels"
        self.key = f"pixels-{self.size}-v1"
        self.dim = self.size * self.size
        self.summary = f"raw pixels resized to {self.size}x{self.size} and flattened ({self.dim}-d), the naive baseline"

    def available(self) -> tuple[bool, str]:
        return True, "ready (no weights needed)"

    def embed(self, dataset, device=None, batch_size=None, progress=None, indices=None) -> np.ndarray:
        indices = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=int)
        out = np.empty((len(indices), self.dim), np.float32)
        with Progress(progress, len(indices), "embedding pixels") as p:
            for k, i in enumerate(indices):
                out[k] = dataset.load_image(int(i), self.size).reshape(-1)
                p.update(1)
        return out
