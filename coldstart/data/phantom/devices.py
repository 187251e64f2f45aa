"""Support devices as radio-opaque 3-D objects, projected through the film's own geometry.

Each device is a set of 3-D centre lines (splines through anatomical
landmarks of the CT, in mm) with a diameter and a linear attenuation. A
device is projected like the anatomy: rotated with the patient onto the bank
view's canvas, magnified by the divergent beam according to its own distance
from the detector (relative to the body's), and drawn as the exact chord
length of a cylinder of that diameter around the projected centre line. The
result is a line integral added to the anatomy's before the film's warp, so
the device follows the patient's deformation and the film's positioning.

Devices: ECG electrodes and leads, a central venous line (right internal
jugular or left subclavian, tip at the cavo-atrial junction), an
endotracheal tube (tip 3-6 cm above the carina), a pacemaker (can below the
left clavicle, lead into the right ventricle), and an intercostal chest
drain (5th intercostal space, mid-axillary line, tip towards the apex).
"""

from __future__ import annotations

import numpy as np

from .params import DEVICES

#: device names as they appear in the manifest's ``devices`` column
DEVICE_NAMES = ("ecg", "central_line", "et_tube", "pacemaker", "drain")


def spline(points, step_mm: float = 1.0, smooth_mm: float = 6.0) -> np.ndarray:
    """A smooth 3-D curve through ``points`` (N, 3), sampled every ``step_mm``.

    The polyline is resampled evenly and smoothed with a Gaussian of
    ``smooth_mm`` along its length (ends kept): tubes and wires bend
    smoothly and never overshoot the way an interpolating spline does.
    """
    from scipy import ndimage as ndi

    p = np.asarray(points, float)
    keep = np.r_[True, np.linalg.norm(np.diff(p, axis=0), axis=1) > 1e-6]
    p = p[keep]
    t = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]
    n = max(int(t[-1] / step_mm), 2)
    tt = np.linspace(0.0, t[-1], n)
    line = np.stack([np.interp(tt, t, p[:, k]) for k in range(3)], -1)
    if n > 4:
        line = ndi.gaussian_filter1d(line, smooth_mm / step_mm, axis=0, mode="nearest")
    return line


def _skin(lm, x, z, side="skin_front"):
    """Anterior (or posterior) skin depth y (mm) at (x, z)."""
    xs, zs = lm["x_mm"], lm["z_mm"]
    i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
    k = int(np.clip(np.searchsorted(zs, z), 0, len(zs) - 1))
    col = lm[side][:, k]
    if not np.isfinite(col[i]):                      # off the body: nearest column that has skin
        ok = np.flatnonzero(np.isfinite(col))
        i = ok[np.argmin(abs(ok - i))]
    return float(col[i])


def _line_through(lm, name, z_hi=None, z_lo=None):
    """A landmark's centre line, head -> feet, between ``z_lo`` and ``z_hi``."""
    p = np.asarray(lm[name])[::-1]
    keep = np.ones(len(p), bool)
    if z_hi is not None:
        keep &= p[:, 2] <= z_hi
    if z_lo is not None:
        keep &= p[:, 2] >= z_lo
    return p[keep][:: 4]


def _lung(lm, side):
    lo, hi = (np.asarray(a) for a in lm["lung_r" if side == "right" else "lung_l"])
    return lo, hi


def device_parts(name: str, lm: dict, rng, side: str = "right") -> list:
    """The 3-D parts of device ``name``: a list of (centre line (N, 3) mm, diameter mm, mu per mm, hollow).

    A hollow part is a tube wall (the ring between the diameter and 0.75 of
    it); a negative ``mu`` is tissue displaced by an air-filled lumen.
    """
    P = DEVICES[name]
    lr_lo, lr_hi = _lung(lm, "right")
    ll_lo, ll_hi = _lung(lm, "left")
    top = min(lr_hi[2], ll_hi[2])
    base = max(lr_lo[2], ll_lo[2])
    parts = []
    if name == "ecg":
        spots = [(lr_lo[0] + 0.55 * (lr_hi[0] - lr_lo[0]), top - 25),
                 (ll_lo[0] + 0.45 * (ll_hi[0] - ll_lo[0]), top - 25),
                 (ll_hi[0] - 15, base + 40), (lr_lo[0] + 15, base + 40)]
        if rng.random() < 0.5:
            spots.append((ll_lo[0] + 0.2 * (ll_hi[0] - ll_lo[0]), base + 70))
        exit_x = lr_lo[0] - 80 if rng.random() < 0.5 else ll_hi[0] + 80
        for x, z in spots:
            x, z = x + rng.normal(0, 12), z + rng.normal(0, 12)
            y = _skin(lm, x, z) + 3
            rad = P["electrode_mm"] / 2
            ring = [(x + rad * np.cos(a), y, z + rad * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 25)]
            parts.append((np.array(ring), 1.2, P["snap_mu"] * 0.4, False))            # the electrode's rim
            parts.append((np.array([(x - 0.3, y, z), (x + 0.3, y, z)]), 4.0, P["snap_mu"], False))   # snap
            mids = [(x + (exit_x - x) * f, y + 10, z + rng.uniform(-50, 30)) for f in sorted(rng.uniform(0.15, 0.8, 2))]
            end = (exit_x, y + 20, base + rng.uniform(-40, 40))
            wire = spline([(x, y, z), *mids, end], 2.0, smooth_mm=25.0)     # a loose lead: gentle curves
            parts.append((wire, P["wire_mm"], P["wire_mu"], False))
    elif name == "central_line":
        svc = _line_through(lm, "svc")
        tip = svc[-1] + np.array([0, 0, -rng.uniform(0, 10)])
        if rng.random() < 0.6:                           # right internal jugular
            vein = _line_through(lm, "brachiocephalic_vein_right")
            start = vein[0] + np.array([5, 0, 60])
        else:                                            # left subclavian
            vein = _line_through(lm, "brachiocephalic_vein_left")
            start = np.array([ll_hi[0] - 20, _skin(lm, ll_hi[0] - 20, top) - 20, top - 10])
        pts = np.vstack([start[None], vein, svc[1:], tip[None]])
        pts = pts[np.r_[True, np.diff(pts[:, 2]) < 5]]   # keep the line running downwards
        parts.append((spline(pts, 2.0), P["diameter_mm"], P["mu"], False))
    elif name == "et_tube":
        tr = np.asarray(lm["trachea"])
        carina = tr[np.argmin(tr[:, 2])]
        tip_z = carina[2] + rng.uniform(*P["tip_above_carina_mm"])
        line = _line_through(lm, "trachea", z_lo=tip_z)
        line = np.vstack([line[:1] + np.array([0, 8, 80]), line])
        parts.append((spline(line, 2.0), P["diameter_mm"], P["wall_mu"], True))       # the tube's wall (in air)
        parts.append((spline(line, 2.0) + np.array([P["diameter_mm"] * 0.3, 0, 0]), P["stripe_mm"],
                      P["stripe_mu"], False))
    elif name == "pacemaker":
        w, h, d = P["can_mm"]
        cx = ll_lo[0] + 0.5 * (ll_hi[0] - ll_lo[0]) + rng.normal(0, 10)
        cz = top - 35 + rng.normal(0, 8)
        cy = _skin(lm, cx, cz) - 12
        # the titanium can: overlapping rods whose summed chords equal the can's thickness d
        rods = np.linspace(-h / 2 + d / 2, h / 2 - d / 2, 28)
        mu_rod = P["mu"] * d * (rods[1] - rods[0]) / (np.pi * (d / 2) ** 2)
        for dz in rods:
            parts.append((np.array([(cx - w / 2 + d / 2, cy, cz + dz), (cx + w / 2 - d / 2, cy, cz + dz)]),
                          d, mu_rod, False))
        hlo, hhi = (np.asarray(a) for a in lm["heart"])
        svc = _line_through(lm, "svc")
        ra = np.array([svc[-1][0] + 8, svc[-1][1], svc[-1][2] - 30])
        rv = np.array([hlo[0] + 0.75 * (hhi[0] - hlo[0]), hhi[1] - 25, hlo[2] + 25])
        lead = [(cx - 10, cy - 5, cz + 5), (cx - 40, cy - 25, cz + 12), *svc[1:], ra, rv]
        parts.append((spline(lead, 2.0), P["lead_mm"], P["lead_mu"], False))
    elif name == "drain":
        lo, hi = _lung(lm, side)
        out = -1.0 if side == "right" else 1.0           # lateral direction in x
        lateral = lo[0] if side == "right" else hi[0]
        zc = lo[2] + rng.uniform(0.38, 0.5) * (hi[2] - lo[2])
        ym = 0.5 * (lo[1] + hi[1]) + rng.uniform(-10, 20)
        pts = [(lateral + out * 90, ym - 20, zc - 60), (lateral + out * 25, ym, zc - 8), (lateral - out * 10, ym, zc),
               (lateral - out * rng.uniform(20, 40), ym + 25, zc + 0.45 * (hi[2] - zc)),
               (lateral - out * rng.uniform(35, 60), ym + 35, hi[2] - rng.uniform(20, 40))]
        line = spline(pts, 1.5)
        parts.append((line, P["diameter_mm"], P["wall_mu"], True))
        parts.append((line, 0.75 * P["diameter_mm"], -P["displaced_mu"], False))     # its lumen displaces tissue
        parts.append((line, P["stripe_mm"], P["stripe_mu"], False))
    else:
        raise KeyError(name)
    return parts


def project_devices(names, views, view: int, rng, side: str, rel_mag, centre_rc, shape) -> np.ndarray:
    """The devices' line integral on view ``view``'s canvas (H, W).

    ``rel_mag(depth_mm)`` is a point's magnification relative to the body's,
    applied about the central ray at canvas point ``centre_rc``.
    """
    out = np.zeros(shape, np.float32)
    px = views.pixel_mm
    for name in names:
        for line, diam, mu, lumen in device_parts(name, views.landmarks, rng, side):
            rcd = views.to_canvas(line, view)
            m = rel_mag(rcd[:, 2])[:, None]
            rc = np.asarray(centre_rc) + (rcd[:, :2] - np.asarray(centre_rc)) * m
            _draw_tube(out, rc, diam / px, mu * px, lumen)
    return out


def _draw_tube(out, rc, diameter_px, mu_px, lumen):
    """Add the chord length x mu of a cylinder (``diameter_px`` wide) around the polyline ``rc`` (rows, cols)."""
    from scipy.spatial import cKDTree

    r = diameter_px / 2
    r_eff = max(r, 0.7)                                      # thin wires: spread over ~1.4 px, same total
    H, W = out.shape
    seg = np.linalg.norm(np.diff(rc, axis=0), axis=1)
    n = np.maximum(np.ceil(seg / 0.3).astype(int), 1)
    dense = np.vstack([rc[:-1][k] + np.outer(np.arange(n[k]) / n[k], rc[k + 1] - rc[k]) for k in range(len(seg))]
                      + [rc[-1:]])
    pad = int(np.ceil(r_eff)) + 1
    r0, c0 = np.maximum(np.floor(dense.min(0)).astype(int) - pad, 0)
    r1, c1 = np.minimum(np.ceil(dense.max(0)).astype(int) + pad, (H, W))
    if r1 <= r0 or c1 <= c0:
        return
    yy, xx = np.mgrid[r0:r1, c0:c1]
    dist, _ = cKDTree(dense).query(np.c_[yy.ravel(), xx.ravel()], distance_upper_bound=r_eff + 0.5)
    dist = np.minimum(dist, r_eff + 1.0).reshape(yy.shape)
    chord = 2 * np.sqrt(np.clip(r_eff ** 2 - dist ** 2, 0.0, None)) * (r / r_eff) ** 2
    if lumen:                                                # hollow tube: the wall ring only
        ri = 0.75 * r_eff
        chord = chord - 2 * np.sqrt(np.clip(ri ** 2 - dist ** 2, 0.0, None))
    out[r0:r1, c0:c1] += chord * mu_px
