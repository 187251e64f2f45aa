"""Every prevalence and parameter of the phantom pool, with its source or reasoning.

One table, read by the planner (:mod:`.pool`), the anatomy (:mod:`.anatomy`),
the devices (:mod:`.devices`) and the renderer (:mod:`.render`). A value is
either a number or a ``(low, high)`` range drawn uniformly. Change a value
here, bump ``PHANTOM_VERSION`` in :mod:`.bank`, and the pool changes; nothing
else holds a magic number about the population.

Sources
-------
[OR20]  Oakden-Rayner, Dunnmon, Carneiro, Re. Hidden stratification causes
        clinically meaningful failures in machine learning for medical
        imaging. ACM CHIL 2020: in NIH ChestX-ray14, ~80% of pneumothorax
        films carry a chest drain; classifiers learn the drain.
[SIIM]  SIIM-ACR Pneumothorax Segmentation (2019): ~22% of films positive.
[NIH]   Wang et al., ChestX-ray8, CVPR 2017; its Pneumothorax label is 4.7%
        of films, AP films ~40% of the set (View Position column).
[CXR]   Standard radiography texts (e.g. Clark's Positioning in
        Radiography): PA erect at 180 cm source-image distance (SID), AP
        portable at ~100 cm, anti-scatter grid on PA, often none on
        portables, lead side marker on every film.
[CTR]   Cardiothoracic ratio > 0.5 on a PA film = cardiomegaly; the heart
        looks ~15-20% larger on AP films because of magnification.
[ICU]   ICU chest-film series (e.g. Rubinowitz et al., AJR 2007): most ICU
        patients carry ECG leads and a central venous catheter, about a
        third are intubated; pacemakers in a few percent of adults.
"""

from __future__ import annotations

#: the population: shares of the default pool (in-distribution images)
PREVALENCE = {
    # [SIIM] 22% positive; a pool built around the finding, as a cold-start project would be
    "pneumothorax": 0.20,
    # [OR20] ~80% of pneumothorax films show a drain (treated); the rest are the rare, important stratum:
    # 0.20 * 0.20 = 4% of the pool (a rare stratum: under 5%)
    "treated_given_ptx": 0.80,
    # [NIH] ~40% AP; an ICU-heavy pool (where pneumothoraces are treated) -> 45%
    "ap_portable": 0.45,
    # treated pneumothoraces are mostly ICU / ward follow-up films taken at the bedside (AP)
    "ap_given_treated_ptx": 0.65,
    # untreated ones are mostly found on departmental (ED / outpatient) PA films
    "ap_given_untreated_ptx": 0.30,
    # a drain stays in a few days after the lung has re-expanded: normal films with a drain (confounder)
    "drain_given_ap_normal": 0.04,
    # [CTR] cardiomegaly among adults having chest films
    "cardiomegaly": 0.15,
    # half the patients are women: breast soft-tissue shadows over the lower zones
    "female": 0.5,
}

#: films per patient: ICU patients have serial portable films, department patients one or two
FILMS_PER_PATIENT = {"AP portable": 2.5, "PA erect": 1.3}   # means of a 1 + Poisson draw

#: devices by protocol: probability that a film of that protocol shows the device [ICU]
DEVICE_RATES = {
    "AP portable": {"ecg": 0.75, "central_line": 0.50, "et_tube": 0.35, "pacemaker": 0.06},
    # outpatients: a port / PICC or a pacemaker now and then, ECG electrodes left on from the ED
    "PA erect": {"ecg": 0.05, "central_line": 0.06, "et_tube": 0.0, "pacemaker": 0.05},
}
#: what counts as "lines" in the subgroup names (ECG electrodes alone do not)
LINES = ("central_line", "et_tube", "pacemaker")

#: acquisition protocols: geometry, positioning, exposure and processing [CXR]
PROTOCOLS = {
    "PA erect": {
        "sid_mm": 1800.0,            # source-image distance
        "detector": "anterior",      # chest against the detector
        "yaw_deg": (-3.0, 3.0),      # rotation about the long axis: a cooperative standing patient
        "pitch_deg": (-2.5, 2.5),
        "roll_deg": (-2.0, 2.0),     # in-plane tilt
        "shift_mm": 8.0,             # centring error
        "diaphragm_mm": (-12.0, 6.0),   # deep inspiration (negative = lower diaphragm)
        "fov_mm": (330.0, 360.0),    # 35 x 43 cm cassette, cropped to the chest
        "bone_k": (1.2, 1.6),        # high kVp: bones show less
        "contrast": (4.2, 5.2),      # grid: little scatter, crisp film
        "scatter": (0.02, 0.05),     # scatter fraction reaching the detector
        "noise": (0.0012, 0.0025),
        "sharpen": (0.5, 0.9),       # unsharp-mask processing
        "equalize": (0.45, 0.6),     # dynamic-range compression: lungs mid-grey, abdomen not burnt out
        "gamma": (0.9, 1.1),
        "collimation": 0.15,         # share of films with visible collimator edges
        "marker": ("L",),
    },
    "AP portable": {
        "sid_mm": 1000.0,            # bedside: the tube as far as the room allows
        "detector": "posterior",     # cassette behind the back: the heart is far from it, magnified
        "yaw_deg": (-6.0, 6.0),      # rotated, semi-recumbent patients
        "pitch_deg": (-5.0, 5.0),    # lordotic / kyphotic projection
        "roll_deg": (-5.0, 5.0),
        "shift_mm": 18.0,
        "diaphragm_mm": (8.0, 28.0),     # supine / poor inspiration: diaphragm higher
        "fov_mm": (360.0, 400.0),    # loosely collimated, more of the neck and abdomen
        "bone_k": (1.5, 2.1),        # lower kVp
        "contrast": (2.6, 3.6),      # no grid: scatter veils the film
        "scatter": (0.12, 0.25),
        "noise": (0.003, 0.006),     # low mAs from a mobile unit
        "sharpen": (0.2, 0.5),
        "equalize": (0.3, 0.45),
        "gamma": (1.0, 1.3),
        "collimation": 0.6,
        "marker": ("L", "R"),        # placed on either side, with the PORTABLE / AP label
    },
}

#: patient anatomy: smooth deformations of the one CT (see :mod:`.anatomy` for why each is exact)
ANATOMY = {
    "width": (0.88, 1.12),           # body habitus, left-right scale
    "height": (0.93, 1.07),          # thorax length, head-feet scale
    "depth": (0.85, 1.25),           # antero-posterior thickness (scales every path length)
    "heart": (0.95, 1.12),           # heart scale, normal hearts
    "heart_cardiomegaly": (1.22, 1.45),
    "mediastinum": (0.0, 0.18),      # widening of the upper mediastinum (fraction)
    "lung_density": (0.8, 1.25),     # inspiration depth: air content of the lungs
    "breast_mm": ((60.0, 85.0), (18.0, 32.0)),   # semi-axes (mm): half-width and height, half-depth
    "elastic_mm": (1.5, 3.5),        # residual smooth deformation
}

#: pneumothorax: collapse fraction of the lung towards its hilum
PNEUMOTHORAX = {
    "collapse_untreated": (0.08, 0.32),  # presenting pneumothoraces: moderate to large
    "collapse_treated": (0.04, 0.16),    # with a drain: partly re-expanded
    "collapse_small": (0.025, 0.06),     # the ambiguous (small / faint) kind
    "pleura": (0.05, 0.12),              # visceral pleural line: a few mm of tissue seen edge-on
}

#: devices as 3-D objects: diameter (mm) and linear attenuation (per mm) of their radio-opaque part
DEVICES = {
    "ecg": {"electrode_mm": 10.0, "snap_mu": 0.35, "wire_mm": 1.0, "wire_mu": 0.6},     # metal snap, copper lead
    "central_line": {"diameter_mm": 2.2, "mu": 0.2},         # barium-loaded polyurethane
    "et_tube": {"diameter_mm": 8.0, "wall_mu": 0.025, "stripe_mm": 1.2, "stripe_mu": 1.2,
                "tip_above_carina_mm": (30, 60)},                     # PVC tube with a barium line
    "pacemaker": {"can_mm": (48.0, 44.0, 7.0), "mu": 0.25, "lead_mm": 2.0, "lead_mu": 0.5},  # titanium can
    # 28 F PVC tube (wall ~1.2 x water) with a barium stripe, the most conspicuous line on most films
    "drain": {"diameter_mm": 9.0, "wall_mu": 0.025, "stripe_mm": 1.5, "stripe_mu": 1.2,
              "displaced_mu": 0.012},        # its air-filled lumen replaces ~60% water-equivalent tissue
}
