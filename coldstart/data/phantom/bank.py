"""The cached projection bank: the CT's attenuation components projected once, plus 3-D landmarks.

The projection is linear in the attenuation, so the expensive 3-D work is
done once and cached: projections of each component (soft tissue, bone
excess, heart, right and left lung, and the two lungs' path lengths) for a
bank of patient rotations (yaw x pitch) plus one lateral view. An image then
mixes the components with its own weights and warps them (:mod:`.render`).

The landmarks (lung and heart boxes, the trachea, superior vena cava and
brachiocephalic veins as centre lines, the skin surface) place the devices
of :mod:`.devices` in 3-D. Coordinates are millimetres, centred on the
volume: x patient right -> left, y posterior -> anterior, z feet -> head.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from ...io import load_npy, save_npy, write_json
from ...progress import Progress

#: bump when rendering or the population changes (same seed -> same pool holds within one version)
PHANTOM_VERSION = 2
YAWS = (-6.0, -3.0, 0.0, 3.0, 6.0)       # degrees about the body's long axis (patient rotation)
PITCHES = (-5.0, 0.0, 5.0)               # degrees about the left-right axis (lordotic / kyphotic tilt)
# component channels of a projection
SOFT, BONE, HEART, LUNG_R, LUNG_L, DEPTH_R, DEPTH_L = range(7)
N_CHANNELS = 7


@dataclass
class ViewBank:
    """Projections of the CT's attenuation components, and its landmarks.

    ``frontal[v]`` is a (7, H, W) stack (soft, bone, heart, right lung, left
    lung, right-lung and left-lung path length in mm) for view ``angles[v] =
    (yaw, pitch)``, rows running head -> feet and columns patient right ->
    left; ``lateral`` is one (7, H, D) left-lateral projection. ``pixel_mm``
    is the pixel size (mm) of both; ``landmarks`` a dict of arrays in mm.
    """

    frontal: np.ndarray
    lateral: np.ndarray
    angles: list
    pixel_mm: float
    landmarks: dict

    def view_index(self, yaw: float, pitch: float) -> int:
        d = [abs(a - yaw) + abs(b - pitch) for a, b in self.angles]
        return int(np.argmin(d))

    def to_canvas(self, points, view: int) -> np.ndarray:
        """World points (N, 3) in mm -> (row, col, depth_mm) on view ``view``'s canvas (parallel rays)."""
        yaw, pitch = self.angles[view]
        p = np.asarray(points, float) @ rotation(yaw, pitch)      # R^T q for each row q
        H, W = self.frontal.shape[2:]
        col = (p[:, 0] + W * self.pixel_mm / 2) / self.pixel_mm - 0.5
        row = (H * self.pixel_mm / 2 - p[:, 2]) / self.pixel_mm - 0.5
        return np.stack([row, col, p[:, 1]], -1)


def rotation(yaw: float, pitch: float) -> np.ndarray:
    """The patient rotation of a bank view: yaw about the long axis, then pitch about left-right."""
    cy, sy = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
    cp, sp = np.cos(np.radians(pitch)), np.sin(np.radians(pitch))
    return np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])


def _channels(vol) -> np.ndarray:
    from ..ct_source import LEFT_LOBES, RIGHT_LOBES

    lobes = vol.lobes
    lung_r, lung_l = np.isin(lobes, RIGHT_LOBES), np.isin(lobes, LEFT_LOBES)
    heart = vol.mask("heart")
    soft = vol.soft
    return np.stack([soft * ~(lung_r | lung_l | heart), vol.bone, soft * heart, soft * lung_r, soft * lung_l,
                     lung_r.astype(np.float32), lung_l.astype(np.float32)]).astype(np.float32)


def _project(vol, angles_deg, pixel_mm, lateral=False):
    """Parallel projections of the CT's components for each (yaw, pitch) in degrees.

    Rays run posterior -> anterior (``lateral``: right -> left); trilinear
    samples every 2 pixels along the ray, summed times the step (mm), so the
    result is the line integral of the attenuation (per mm) -- or, for the
    two lung indicator channels, the path length through that lung in mm.
    """
    import torch
    import torch.nn.functional as F

    chans = _channels(vol)
    spacing = vol.spacing
    X, Y, Z = vol.shape
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
            R = rotation(yaw, pitch)
            res = np.zeros((N_CHANNELS, n_v, n_u), np.float32)
            step = 16
            for r0 in range(0, n_v, step):
                vv = v[r0:r0 + step]
                V, D, U = np.meshgrid(vv, d, u, indexing="ij")
                P = np.stack([D, U, V], -1) if lateral else np.stack([U, D, V], -1)
                P = P @ R.T
                g = 2 * (P + ext / 2) / ext - 1       # normalised, (x, y, z) order matches (W, H, D)
                grid = torch.from_numpy(g.astype(np.float32)).unsqueeze(0)
                s = F.grid_sample(t, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
                res[:, r0:r0 + len(vv)] = s[0].sum(dim=2).numpy() * step_mm
            out.append(res)
    finally:
        torch.set_num_threads(old)
    return np.stack(out)


def _world(idx, axis, vol):
    X = vol.shape[axis]
    return (np.asarray(idx, float) + 0.5) * vol.spacing[axis] - X * vol.spacing[axis] / 2


def _centre_line(mask, vol) -> list:
    """Per axial slice holding ``mask``: the centroid (x, y, z) in mm, feet -> head."""
    out = []
    for k in np.flatnonzero(mask.any(axis=(0, 1))):
        xs, ys = np.nonzero(mask[:, :, k])
        out.append([float(_world(xs.mean(), 0, vol)), float(_world(ys.mean(), 1, vol)), float(_world(k, 2, vol))])
    return out


def _box(mask, vol) -> list:
    """[[xmin, ymin, zmin], [xmax, ymax, zmax]] of ``mask`` in mm."""
    lo, hi = [], []
    for ax in range(3):
        keep = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != ax)))
        lo.append(float(_world(keep[0], ax, vol)))
        hi.append(float(_world(keep[-1], ax, vol)))
    return [lo, hi]


def landmarks(vol) -> dict:
    """3-D landmarks of the CT (mm, volume-centred) for placing devices."""
    from ..ct_source import LEFT_LOBES, RIGHT_LOBES

    lobes = vol.lobes
    body = vol.soft > 0
    has = body.any(axis=1)                                           # (X, Z)
    front = np.where(has, _world(body.shape[1] - 1 - np.argmax(body[:, ::-1], axis=1), 1, vol), np.nan)
    back = np.where(has, _world(np.argmax(body, axis=1), 1, vol), np.nan)
    out = {"lung_r": _box(np.isin(lobes, RIGHT_LOBES), vol), "lung_l": _box(np.isin(lobes, LEFT_LOBES), vol),
           "heart": _box(vol.mask("heart"), vol), "skin_front": front.tolist(), "skin_back": back.tolist(),
           "x_mm": _world(np.arange(vol.shape[0]), 0, vol).tolist(),
           "z_mm": _world(np.arange(vol.shape[2]), 2, vol).tolist()}
    for name in ("trachea", "svc", "brachiocephalic_vein_right", "brachiocephalic_vein_left"):
        out[name] = _centre_line(vol.mask(name), vol)
    for name in ("clavicle_right", "clavicle_left"):
        out[name] = _box(vol.mask(name), vol)
    return out


def _paths(d):
    stem = d / f"phantom-views-v{PHANTOM_VERSION}"
    return (stem.with_name(stem.name + "-frontal.npy"), stem.with_name(stem.name + "-lateral.npy"),
            stem.with_suffix(".json"))


def load_views(root: str | os.PathLike | None = None, progress=None) -> ViewBank:
    """The cached projection bank (computed once, ~30-60 s, after the CT is fetched).

    Safe to call from several processes: a file lock makes one compute it,
    the others wait and read it.
    """
    from ..ct_source import PREP_VERSION, _prep_dir, fetch_ct

    src = fetch_ct(root)
    d = _prep_dir(src, root)
    path_f, path_l, path_j = _paths(d)
    angles = [(y, p) for y in YAWS for p in PITCHES]
    if not (path_f.is_file() and path_l.is_file() and path_j.is_file()):
        from filelock import FileLock

        from ..ct_source import load_ct

        vol = load_ct(root, progress=progress)
        pixel_mm = float(vol.spacing[0])
        d.mkdir(parents=True, exist_ok=True)
        with FileLock(str(d / ".views.lock")):
            if not (path_f.is_file() and path_l.is_file() and path_j.is_file()):
                with Progress(progress, len(angles) + 1, "projecting the CT (once)") as p:
                    fr = []
                    for a in angles:
                        fr.append(_project(vol, [a], pixel_mm)[0])
                        p.update(1)
                    lat = _project(vol, [(0.0, 0.0)], pixel_mm, lateral=True)[0]
                    p.update(1)
                save_npy(path_l, lat)
                save_npy(path_f, np.stack(fr))
                write_json(path_j, {"angles": angles, "pixel_mm": pixel_mm, "prep_version": PREP_VERSION,
                                    "landmarks": landmarks(vol)})   # written last: marks the bank complete
    meta = json.loads(path_j.read_text())
    lm = {k: np.asarray(v, float) for k, v in meta["landmarks"].items()}
    return ViewBank(load_npy(path_f), load_npy(path_l), [tuple(a) for a in meta["angles"]], meta["pixel_mm"], lm)
