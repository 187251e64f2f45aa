"""Patients: distinct anatomies made from the one CT by smooth 3-D deformations.

Why a 2-D warp of the cached projections is exact: a deformation that moves
each point in the coronal plane by a smooth map ``(x, z) -> phi(x, z)`` and
scales its depth by ``a(x, z)`` (``y -> a y``) turns the parallel line
integral ``P f`` into ``a * (P f)(phi^-1)``: the same warp applied to the
projection, times the depth gain. Body width and height, mediastinal width,
diaphragm height and the residual elastic field are such deformations; body
thickness is the depth gain. The heart grows about its own centre: a
radial coronal expansion (by the heart's scale inside the heart, fading to
none at 2.5 heart radii, so the lungs around it are pushed aside, not
overlapped) applied to every channel but bone, plus a depth gain on the
heart's own channel. Breasts are added as soft-tissue ellipsoids, projected
analytically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import ANATOMY, PREVALENCE


@dataclass(frozen=True)
class Patient:
    """One patient's anatomy (scales are relative to the CT; ``breast`` is (half-size mm, depth mm) or None)."""

    patient_id: str
    width: float
    height: float
    depth: float
    heart: float
    cardiomegaly: bool
    mediastinum: float
    lung_density: float
    female: bool
    breast: tuple | None


def uniform(rng, lo_hi) -> float:
    """One draw from a ``(low, high)`` range of the parameter table."""
    lo, hi = lo_hi
    return float(rng.uniform(lo, hi))


def draw_patient(patient_id: str, seed) -> Patient:
    """The anatomy of patient ``patient_id``, drawn from ``seed`` (same seed, same anatomy)."""
    rng = np.random.default_rng(seed)
    cardio = bool(rng.random() < PREVALENCE["cardiomegaly"])
    female = bool(rng.random() < PREVALENCE["female"])
    width = uniform(rng, ANATOMY["width"]) * (0.97 if female else 1.0)
    breast = None
    if female:
        size_mm, depth_mm = ANATOMY["breast_mm"]
        breast = (uniform(rng, size_mm), uniform(rng, depth_mm))
    return Patient(
        patient_id=patient_id, width=width, height=uniform(rng, ANATOMY["height"]),
        depth=uniform(rng, ANATOMY["depth"]),
        heart=uniform(rng, ANATOMY["heart_cardiomegaly"] if cardio else ANATOMY["heart"]), cardiomegaly=cardio,
        mediastinum=uniform(rng, ANATOMY["mediastinum"]), lung_density=uniform(rng, ANATOMY["lung_density"]),
        female=female, breast=breast)


@dataclass
class CanvasFrame:
    """Where the anatomy sits on a bank view's canvas (pixels): midline, lung apex and base rows, heart centre."""

    mid_col: float
    apex_row: float
    base_row: float
    heart_rc: tuple
    heart_radius: float
    px_mm: float


def canvas_frame(comp, landmarks, views, view: int) -> CanvasFrame:
    from .bank import DEPTH_L, DEPTH_R

    lung = (comp[DEPTH_R] > 4.0) | (comp[DEPTH_L] > 4.0)
    rows = np.flatnonzero(lung.any(1))
    cols = np.flatnonzero(lung.any(0))
    lo, hi = (np.asarray(a) for a in landmarks["heart"])
    hc = views.to_canvas([(lo + hi) / 2], view)[0]
    radius = 0.25 * ((hi[0] - lo[0]) + (hi[2] - lo[2])) / views.pixel_mm
    return CanvasFrame(float((cols[0] + cols[-1]) / 2), float(rows[0]), float(rows[-1]),
                       (float(hc[0]), float(hc[1])), float(radius), float(views.pixel_mm))


def inverse_map(p: Patient, f: CanvasFrame, qy, qx, diaphragm_mm: float):
    """Deformed-patient canvas points (qy, qx) -> the CT canvas points they come from.

    Applies, inverted: body width (about the midline) and height (about the
    apex), widening of the upper mediastinum, and the diaphragm's height
    (positive = higher: the lung bases move up, the abdomen with them).
    """
    dx = qx - f.mid_col
    ry = f.apex_row + (qy - f.apex_row) / p.height
    # upper mediastinum: content near the midline, above the heart, appears wider
    w = 28.0 / f.px_mm
    upper = np.clip((f.heart_rc[0] - ry) / max(f.heart_rc[0] - f.apex_row, 1.0), 0.0, 1.0)
    dx = dx / p.width
    dx = dx * (1.0 - p.mediastinum * np.exp(-(dx / w) ** 2) * upper)
    # diaphragm: a shift that grows from the apex to the base and fades out over the abdomen below it
    ramp = np.clip((ry - f.apex_row) / max(f.base_row - f.apex_row, 1.0), 0.0, 1.0)
    ramp = ramp * np.clip(1.0 - (ry - f.base_row) / (120.0 / f.px_mm), 0.0, 1.0)
    ry = ry + diaphragm_mm / f.px_mm * ramp
    return ry, f.mid_col + dx


def heart_inverse(f: CanvasFrame, ry, rx, scale: float):
    """Canvas points -> where they come from when the heart (and what touches it) grows by ``scale``."""
    hy, hx = f.heart_rc
    dy, dx = ry - hy, rx - hx
    rho = np.sqrt(dy * dy + dx * dx) / f.heart_radius
    t = np.clip((rho - 1.0) / 1.5, 0.0, 1.0)
    k = 1.0 / scale + (1.0 - 1.0 / scale) * t * t * (3 - 2 * t)     # 1/scale inside, 1 beyond 2.5 radii
    return hy + dy * k, hx + dx * k


def breasts(p: Patient, f: CanvasFrame, shape, lung_cols) -> np.ndarray | None:
    """Line integral (per mm units) of two soft-tissue ellipsoids over the lower chest, or None."""
    if p.breast is None:
        return None
    from ..ct_source import MU_WATER

    half, depth = p.breast
    H, W = shape
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    out = np.zeros(shape, np.float32)
    cz = f.apex_row + 0.78 * (f.base_row - f.apex_row)        # over the lower zones
    a, c = half / f.px_mm, 0.85 * half / f.px_mm
    for cx in (lung_cols[0] + 0.32 * (lung_cols[1] - lung_cols[0]) * 0.5,
               lung_cols[1] - 0.32 * (lung_cols[1] - lung_cols[0]) * 0.5):
        r2 = ((xx - cx) / a) ** 2 + ((yy - cz) / c) ** 2
        chord = 2 * depth * np.sqrt(np.clip(1.0 - r2, 0.0, None))
        # the upper half merges into the chest wall: fade it; the lower edge (inframammary fold) stays sharp
        fade = np.clip((yy - (cz - c)) / (1.2 * c), 0.0, 1.0)
        out += 0.9 * MU_WATER * chord * fade          # mostly fat: ~0.9 of water
    return out
