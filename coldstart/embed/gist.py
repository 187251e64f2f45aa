"""A multi-scale, multi-orientation texture descriptor (GIST): offline, no weights, fast on a CPU.

Oliva & Torralba's GIST (IJCV 2001): the image is filtered by a bank of
Gabor filters (here 4 scales x 8 orientations, applied in the Fourier
domain), and the magnitude of each response is averaged over a regular grid
of cells (here 8 x 8). The log of those energies is the descriptor: it
keeps *where* (a cell) and *what kind* (scale, orientation) of structure
there is -- the lung markings a pneumothorax removes, the tubes and wires
of devices, the edges a different acquisition geometry moves -- while
averaging away the exact pixel positions that make raw-pixel features
brittle.

This is the default embedder of the phantom pool (its ``dataset.json``
names it): the full-label probe on it reaches the ceiling asked of the
default pool, where 32-px raw pixels do not (``benchmarks/phantom_pool.py``).
"""

from __future__ import annotations

import numpy as np

from ..progress import Progress


def gabor_bank(n: int, freqs=(0.25, 0.125, 0.0625, 0.03125), orientations: int = 8) -> np.ndarray:
    """Fourier-domain Gabor filters (len(freqs) * orientations, n, n), one lobe each (analytic)."""
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    rad = np.sqrt(fx ** 2 + fy ** 2)
    ang = np.arctan2(fy, fx)
    out = []
    for f0 in freqs:
        for k in range(orientations):
            d = np.angle(np.exp(1j * (ang - np.pi * k / orientations)))      # angular distance, wrapped
            out.append(np.exp(-((rad - f0) ** 2) / (2 * (0.55 * f0) ** 2))
                       * np.exp(-(d ** 2) / (2 * (np.pi / orientations) ** 2)))
    return np.stack(out).astype(np.float32)


def gist(images: np.ndarray, bank: np.ndarray, grid: int = 8) -> np.ndarray:
    """GIST descriptors of a batch of square images (B, n, n) -> (B, filters * grid * grid), log energies."""
    from scipy import fft

    B, n, _ = images.shape
    F = fft.fft2(images.astype(np.float32))
    resp = np.abs(fft.ifft2(F[:, None] * bank[None]))                            # (B, K, n, n)
    c = n // grid
    e = resp[:, :, : c * grid, : c * grid].reshape(B, len(bank), grid, c, grid, c).mean(axis=(3, 5))
    return np.log(e.reshape(B, -1) + 1e-4).astype(np.float32)


class GistEmbedder:
    """GIST of each image at ``size x size``: 4 scales x 8 orientations x an 8 x 8 grid = 2,048 dims.

    Parameters
    ----------
    size : int, default 128
        Side the image is resized to before filtering.
    """

    def __init__(self, size: int = 128, grid: int = 8):
        self.size, self.grid = int(size), int(grid)
        self.name = "gist"
        self.key = f"gist-{self.size}-g{self.grid}-v1"
        self.dim = 32 * self.grid * self.grid
        self.summary = (f"multi-scale Gabor texture energies (GIST: 4 scales x 8 orientations on a {self.grid}x"
                        f"{self.grid} grid of a {self.size}-px image, {self.dim}-d); offline, no weights")

    def available(self) -> tuple[bool, str]:
        return True, "ready (no weights needed)"

    def embed(self, dataset, device=None, batch_size=None, progress=None, indices=None) -> np.ndarray:
        indices = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=int)
        bank = gabor_bank(self.size)
        out = np.empty((len(indices), self.dim), np.float32)
        step = 16
        with Progress(progress, len(indices), "embedding gist") as p:
            for s in range(0, len(indices), step):
                chunk = indices[s:s + step]
                imgs = np.stack([dataset.load_image(int(i), self.size) for i in chunk])
                out[s:s + len(chunk)] = gist(imgs, bank, self.grid)
                p.update(len(chunk))
        return out
