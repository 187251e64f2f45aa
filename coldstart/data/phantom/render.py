"""Rendering one film: a patient, an acquisition protocol, devices and a finding, through one geometry.

The steps, each physically motivated (see :mod:`.anatomy`, :mod:`.devices`
and :mod:`.physics`):

1. the protocol's positioning picks the bank view (patient yaw / pitch);
2. the patient's components are mixed on that view's canvas: depth gain,
   bone weight, lung density, breasts, pneumothorax band, devices;
3. one inverse map takes each output pixel to the canvas: the film's
   in-plane tilt, centring and field of view, the divergent beam's
   magnification ``SID / (SID - OID)`` of the body's mid-plane (and, for the
   heart and each device, of their own distance from the detector), then the
   patient's deformation;
4. exposure, scatter, noise and processing of the protocol; collimator
   edges and the lead side marker are burned into the film.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import ColdstartError
from .anatomy import Patient, breasts, canvas_frame, draw_patient, heart_inverse, inverse_map
from .anatomy import uniform as _u
from .bank import BONE, DEPTH_L, DEPTH_R, HEART, LUNG_L, LUNG_R, SOFT, ViewBank, load_views
from .devices import DEVICE_NAMES, project_devices
from .params import ANATOMY, PNEUMOTHORAX, PROTOCOLS
from .physics import collimate, develop, pneumothorax, resize, smooth_noise, stamp_text

CLASSES = ["normal", "pneumothorax"]
OOD_KINDS = ("lateral", "abdomen", "inverted", "corrupted")
PTX_KINDS = ("pneumothorax", "small pneumothorax")
KINDS = ("normal",) + PTX_KINDS + OOD_KINDS
_INTERNAL = 256                           # images are rendered at 256 px, then resized


@dataclass
class PhantomImage:
    """One rendered film: ``image`` float32 [0, 1], ``mask`` (positives) and ``lung`` silhouettes (bool)."""

    image: np.ndarray
    mask: np.ndarray | None
    lung: np.ndarray
    meta: dict = field(default_factory=dict)


def _magnification(sid, oid):
    return sid / np.maximum(sid - oid, 1.0)


def render_phantom(kind: str = "normal", seed=0, size: int = 256, views: ViewBank | None = None, root=None,
                   protocol: str = "PA erect", patient: Patient | int | None = None, devices=(),
                   side: str | None = None) -> PhantomImage:
    """Render one simulated film.

    Parameters
    ----------
    kind : {'normal', 'pneumothorax', 'small pneumothorax', 'lateral', 'abdomen', 'inverted', 'corrupted'}
        What to draw; the last four are out-of-distribution (not a frontal chest film).
    seed : int or sequence of int
        Seed of this film's random variations (positioning, exposure, device routes).
    size : int
        Output side in pixels.
    views : ViewBank, optional
        The projection bank (loaded with :func:`load_views` when omitted).
    protocol : {'PA erect', 'AP portable'}
        Acquisition protocol (geometry, positioning, exposure, processing).
    patient : Patient or int, optional
        The anatomy (an int draws patient ``int``); default: drawn from ``seed``.
    devices : sequence of str
        Any of ``ecg``, ``central_line``, ``et_tube``, ``pacemaker``, ``drain``.
    side : {'right', 'left'}, optional
        Side of the pneumothorax and of the drain (default: drawn from ``seed``).

    Returns
    -------
    PhantomImage
    """
    from scipy import ndimage as ndi

    if kind not in KINDS:
        raise ColdstartError(f"kind={kind!r} is not a phantom kind: choose one of {list(KINDS)}")
    if protocol not in PROTOCOLS:
        raise ColdstartError(f"protocol={protocol!r} is not a phantom protocol: choose one of {list(PROTOCOLS)}")
    bad = [d for d in devices if d not in DEVICE_NAMES]
    if bad:
        raise ColdstartError(f"devices={list(devices)!r}: unknown {bad}; choose from {list(DEVICE_NAMES)}")
    if views is None:
        views = load_views(root)
    # independent streams: the same seed gives the same geometry and film whatever the finding or devices,
    # so a pneumothorax film and the normal film of the same seed differ only by the pneumothorax
    rng, rng_ptx, rng_geo, rng_film, rng_dev = (np.random.default_rng(s)
                                                for s in np.random.SeedSequence(seed).spawn(5))
    if not isinstance(patient, Patient):
        patient = draw_patient(str(patient), [7, *np.atleast_1d(seed if patient is None else patient).tolist()])
    P = PROTOCOLS[protocol]
    if side is None:
        side = "right" if rng_ptx.random() < 0.5 else "left"
    yaw, pitch = _u(rng, P["yaw_deg"]), _u(rng, P["pitch_deg"])
    vi = views.view_index(yaw, pitch)
    yaw, pitch = views.angles[vi]
    comp = views.lateral if kind == "lateral" else views.frontal[vi]
    H, W = comp.shape[1:]
    px = views.pixel_mm
    lm = views.landmarks
    frame = canvas_frame(views.frontal[vi], lm, views, vi)

    # --- the divergent beam: magnification of the body's mid-plane, the heart's and each device's
    sid = P["sid_mm"]
    front, back = np.nanmedian(lm["skin_front"]), np.nanmedian(lm["skin_back"])
    half = 0.5 * (front - back) * patient.depth

    def oid(y_mm):      # distance from the detector of a point at depth y (mm, volume-centred)
        y = (np.asarray(y_mm, float) - 0.5 * (front + back)) * patient.depth
        return half - y if P["detector"] == "anterior" else half + y

    m_body = float(_magnification(sid, oid(0.5 * (front + back))))
    hlo, hhi = lm["heart"]
    m_heart = float(_magnification(sid, oid(0.5 * (hlo[1] + hhi[1])))) / m_body

    # --- attenuation mix on the canvas
    bone_k = _u(rng_film, P["bone_k"])
    lung_k = patient.lung_density * (0.92 if protocol == "AP portable" else 1.0)
    a = patient.depth
    T = a * (comp[SOFT] + patient.heart * comp[HEART] + lung_k * (comp[LUNG_R] + comp[LUNG_L]))
    T_bone = a * bone_k * comp[BONE]
    sil_r, sil_l = comp[DEPTH_R] > 4.0, comp[DEPTH_L] > 4.0
    lung = sil_r | sil_l
    band = None
    meta: dict = {"side": "none", "ptx_size": 0.0}
    if kind in PTX_KINDS:
        sil = sil_r if side == "right" else sil_l
        lung_mu = comp[LUNG_R] if side == "right" else comp[LUNG_L]
        small = kind == "small pneumothorax"
        treated = "drain" in devices
        rng_c = PNEUMOTHORAX["collapse_small" if small else "collapse_treated" if treated else "collapse_untreated"]
        strength = _u(rng_ptx, PNEUMOTHORAX["pleura"]) * (0.6 if small else 1.0)
        band, ridge = pneumothorax(rng_ptx, comp[DEPTH_R if side == "right" else DEPTH_L], sil, strength,
                                   _u(rng_ptx, rng_c))
        faint = rng_ptx.uniform(0.45, 0.75) if small else 1.0      # faint: part of the air is still lung
        # the band's lung tissue is not lost: the collapsed lung keeps its mass, so it grows denser
        moved = float((lung_mu * band).sum()) * faint
        rest = sil & ~band
        denser = moved / max(float(lung_mu[rest].sum()), 1e-6)
        T = T - a * lung_k * lung_mu * (band * faint - rest * denser) + ridge * faint
        meta.update(side=side, ptx_size=round(float(band.sum() / max(sil.sum(), 1)), 4))
    if kind != "lateral":
        cols = np.flatnonzero(lung.any(0))
        b = breasts(patient, frame, (H, W), (cols[0], cols[-1]))
        if b is not None:
            T = T + b
    # --- geometry: field of view, in-plane rotation, centring, elastic deformation
    n = _INTERNAL
    shift = P["shift_mm"] / px
    if kind == "abdomen":                              # a film of the CT's lower (abdominal) slab
        fov = rng_geo.uniform(190, 230)
        cy, cx = H - 0.5 * fov / px, W / 2 + rng_geo.uniform(-10, 10) / px
    else:
        fov = _u(rng_geo, P["fov_mm"]) / m_body        # object-plane field of view (mm)
        fov = min(fov, 318.0)                          # stays inside the CT's 332 mm
        cy = 0.5 * fov / px + rng_geo.uniform(0, max(322 - fov, 0.0)) / px
        cx = W / 2 + rng_geo.uniform(-shift, shift)
    if devices and kind != "lateral":
        def rel(y_mm):
            return _magnification(sid, oid(y_mm)) / m_body

        T = T + project_devices(devices, views, vi, rng_dev, side, rel, (cy, cx), (H, W))

    s = fov / n / px                                   # canvas px per output px
    roll = np.radians(_u(rng_geo, P["roll_deg"]))
    oy, ox = np.mgrid[:n, :n].astype(np.float32)
    oy -= n / 2
    ox -= n / 2
    el = _u(rng_geo, ANATOMY["elastic_mm"]) / px
    cr, sr = np.cos(roll), np.sin(roll)
    qy = cy + s * (cr * oy - sr * ox) + smooth_noise(rng_geo, (n, n), 5, el)
    qx = cx + s * (sr * oy + cr * ox) + smooth_noise(rng_geo, (n, n), 5, el)
    if kind not in ("lateral", "abdomen"):
        diaphragm = _u(rng, P["diaphragm_mm"])
        qy, qx = inverse_map(patient, frame, qy, qx, diaphragm)
        qy = _frame_inside(qy, H)
    bone = ndi.map_coordinates(T_bone, [qy, qx], order=1, mode="nearest")
    if kind != "lateral":                              # the heart grows and is magnified by its own depth
        qy, qx = heart_inverse(frame, qy, qx, patient.heart * m_heart)
    img_T = bone + ndi.map_coordinates(T, [qy, qx], order=1, mode="nearest")
    iy, ix = np.rint(qy).astype(np.intp), np.rint(qx).astype(np.intp)
    inside = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    iy, ix = np.clip(iy, 0, H - 1), np.clip(ix, 0, W - 1)
    lung_o = lung[iy, ix] & inside
    mask = None if band is None else band[iy, ix] & inside

    # --- exposure, scatter, development; collimation and markers
    img = develop(img_T, rng_film, _u(rng_film, (0.85, 1.15)), _u(rng_film, P["contrast"]), _u(rng_film, P["noise"]),
                  _u(rng_film, P["sharpen"]), scatter=_u(rng_film, P["scatter"]), equalize=_u(rng_film, P["equalize"]))
    img = img ** _u(rng_film, P["gamma"])
    if kind not in OOD_KINDS or kind == "inverted":
        if rng_film.random() < P["collimation"]:
            img = collimate(img, rng_film)
        mark = str(rng_film.choice(P["marker"]))
        img = stamp_text(img, mark, "t" + ("r" if mark == "L" else "l"), rng_film, 0.08)
        if protocol == "AP portable":
            img = stamp_text(img, "AP PORTABLE", "t" + ("l" if mark == "L" else "r"), rng_film, 0.045, 0.9)
    if kind == "inverted":
        img = 1.0 - img
    elif kind == "corrupted":
        img = _corrupt(img, rng_film)
    if kind in OOD_KINDS:
        lung_o = np.zeros_like(lung_o)
    if size != n:
        how = "box" if size < n else "bilinear"
        img = np.clip(resize(img, (size, size), how), 0.0, 1.0)
        lung_o = resize(lung_o, (size, size), how) > 0.5
        if mask is not None:   # a lower threshold keeps thin bands at small sizes; the lung then covers them
            cover = resize(mask, (size, size), how)
            mask = cover > 0.3
            if not mask.any():     # tiny films: keep the pixel the band covers most
                mask = (cover >= cover.max()) & (cover > 0)
            lung_o |= mask
    meta.update({"yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": round(float(np.degrees(roll)), 2),
                 "magnification": round(m_body, 3), "heart_scale": round(patient.heart * m_heart, 3)})
    return PhantomImage(img.astype(np.float32), mask, lung_o, meta)


def _frame_inside(qy, H):
    """Re-centre (and if need be shrink) the field vertically so it stays on the CT (the radiographer's framing)."""
    lo, hi = float(qy.min()), float(qy.max())
    if hi - lo > H - 1:
        mid = 0.5 * (lo + hi)
        qy = mid + (qy - mid) * (H - 1) / (hi - lo)
        lo, hi = float(qy.min()), float(qy.max())
    return qy - max(hi - (H - 1), 0.0) + max(-lo, 0.0)


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
