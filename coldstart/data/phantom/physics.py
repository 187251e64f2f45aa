"""Rendering physics: the pneumothorax band, film development, and film-frame details (collimation, markers).

Pneumothorax, simulated in 3-D: the lung collapses towards its hilum; every
lung voxel on a ray through the band between the chest wall and the
collapsed lung's surface (apical / lateral, over the lung's full depth) is
set to air -- vessels included -- and a thin visceral-pleural layer is kept
where the lung now ends. Because the band spans the full depth, its effect on
the line integral is exactly the band's share of that lung's projection, and
the mask is exactly the band's projection. The band's inner edge follows the
lung's own (scaled, smoothly perturbed) contour, so it is never a straight
cut.

Development: ``exp(-k T)`` photons with quantum noise and a scatter veil
(a fraction of the mean primary signal added everywhere, which is what
lowers the contrast of grid-less portable films), a log response, the
dynamic-range compression and unsharp masking of digital radiography, a
window on the body and an S-shaped characteristic curve.
"""

from __future__ import annotations

import numpy as np


def resize(a, shape, resample="bilinear"):
    """Resize a float array to ``shape`` (rows, cols) with PIL (fast, float32)."""
    from PIL import Image

    mode = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "box": Image.BOX}[resample]
    return np.asarray(Image.fromarray(np.asarray(a, np.float32), mode="F").resize((shape[1], shape[0]), mode))


def smooth_noise(rng, shape, cells, amp):
    """A smooth random field (bicubic upsampling of a coarse grid), ~``amp`` in size."""
    return resize(rng.normal(0, amp, (cells, cells)), shape, "bicubic")


def _lowpass(a, sigma):
    """Gaussian blur with a large ``sigma`` (px), computed at 1/4 resolution."""
    from scipy import ndimage as ndi

    small = resize(a, (a.shape[0] // 4, a.shape[1] // 4), "box")
    return resize(ndi.gaussian_filter(small, sigma / 4.0), a.shape, "bilinear")


def pneumothorax(rng, depth, lung_sil, strength, collapse):
    """2-D footprint of the 3-D band: returns (band bool, pleural ridge float)."""
    from scipy import ndimage as ndi

    H, W = depth.shape
    rows = np.flatnonzero(lung_sil.any(1))
    cols = np.flatnonzero(lung_sil.any(0))
    top, bot = rows[0], rows[-1]
    h = bot - top + 1
    # collapse centre: medial edge at the hilum, ~60-75% down the lung
    cz = top + rng.uniform(0.58, 0.75) * h
    mid = W / 2
    medial = cols[-1] if cols.mean() < mid else cols[0]
    cx = medial + (-0.1 if cols.mean() < mid else 0.1) * (cols[-1] - cols[0])
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    # weight: full collapse above the centre, fading to none at the lung base (no band on the diaphragm)
    wz = np.clip((bot - yy) / max(bot - cz, 1.0), 0.0, 1.0)
    wz = wz * wz * (3 - 2 * wz)
    wobble = 1.0 + smooth_noise(rng, (H, W), 4, 0.25)
    g = 1.0 + (1.0 / (1.0 - collapse) - 1.0) * wz * np.clip(wobble, 0.4, 1.8)
    qy = cz + (yy - cz) * g
    qx = cx + (xx - cx) * g
    collapsed = ndi.map_coordinates(lung_sil.astype(np.float32), [qy, qx], order=1, cval=0.0) > 0.5
    collapsed &= lung_sil
    band = lung_sil & ~collapsed
    opened = ndi.binary_opening(band, iterations=1)
    band = opened if opened.sum() > 20 else band
    cc, k = ndi.label(band)
    if k > 1:                                          # one band: drop slivers along the mediastinum
        band = cc == 1 + int(np.argmax(ndi.sum_labels(band, cc, np.arange(1, k + 1))))
    edge = collapsed & ~ndi.binary_erosion(collapsed) & ndi.binary_dilation(band, iterations=2)
    ridge = ndi.gaussian_filter(edge.astype(np.float32), 0.7) * strength
    return band, ridge


def develop(T, rng, exposure, contrast, noise, sharpen, scatter=0.0, equalize=0.15, body=None):
    """Line integral -> film: exposure with quantum noise and scatter, log response, DR processing, window."""
    from scipy import ndimage as ndi

    k = exposure
    # quantum noise: relative noise ~ 1/sqrt(photons); in the log domain its size grows with exp(kT/2)
    sig = noise * np.exp(np.minimum(k * T, 12.0) / 2.0)
    L = k * T + ndi.gaussian_filter(rng.standard_normal(T.shape, dtype=np.float32), 0.6) * sig
    body = T > 0.3 if body is None else body
    if scatter > 0 and body.sum() > 100:               # scatter veil: a share of the mean primary everywhere
        prim = np.exp(-L)
        L = -np.log(prim + scatter * float(prim[body].mean()))
    # dynamic-range compression + edge enhancement (what digital radiography does)
    low = _lowpass(L, 18.0)
    L = L - equalize * low
    L = L + sharpen * (L - ndi.gaussian_filter(L, 2.0))
    if body.sum() > 100:
        lo, hi = np.percentile(L[body], [0.5, 99.7])
    else:
        lo, hi = float(L.min()), float(L.max()) + 1e-6
    x = (L - lo) / max(hi - lo, 1e-6)
    # characteristic curve: a soft S with toe and shoulder
    x = 1.0 / (1.0 + np.exp(-contrast * (x - 0.5)))
    a, b = 1.0 / (1.0 + np.exp(contrast * 0.5)), 1.0 / (1.0 + np.exp(-contrast * 0.5))
    x = (x - a) / (b - a)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def collimate(img, rng, margin_frac=(0.03, 0.1)):
    """Collimator edges: unexposed borders (bright on a processed film) on two to four sides."""
    n = img.shape[0]
    out = img.copy()
    yy, xx = np.mgrid[:n, :n].astype(np.float32)
    tilt = np.radians(rng.uniform(-2, 2))
    u = xx * np.cos(tilt) - yy * np.sin(tilt)
    v = xx * np.sin(tilt) + yy * np.cos(tilt)
    shade = np.zeros_like(img)
    for k, side in enumerate(rng.permutation(4)[: rng.integers(2, 5)]):
        m = rng.uniform(*margin_frac) * n
        d = {0: u - m, 1: (n - m) - u, 2: v - m, 3: (n - m) - v}[int(side)]
        shade = np.maximum(shade, np.clip(-d / 1.5 + 0.5, 0.0, 1.0))
    level = rng.uniform(0.75, 0.92)
    return out * (1 - shade) + level * shade


def stamp_text(img, text, corner, rng, size_frac=0.07, value=0.97):
    """Burn a lead marker / annotation ``text`` into the film near ``corner`` ('tl', 'tr', 'bl', 'br')."""
    from PIL import Image, ImageDraw, ImageFont

    n = img.shape[0]
    font = ImageFont.load_default(size=max(int(size_frac * n), 6))
    im = Image.new("L", (n, n), 0)
    draw = ImageDraw.Draw(im)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    m = int(rng.uniform(0.03, 0.08) * n)
    x = m if corner[1] == "l" else n - m - (x1 - x0)
    y = m if corner[0] == "t" else n - m - (y1 - y0)
    draw.text((x - x0, y - y0), text, fill=255, font=font)
    a = np.asarray(im, np.float32) / 255.0
    return np.maximum(img, a * value)
