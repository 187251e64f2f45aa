"""Segmentation metrics of boolean masks: Dice, the surface Hausdorff distances in pixels, and the
paper's Hausdorff distance (``hd_paper``, the rows of the 224 x 224 masks as points).

Re-exported by :mod:`coldstart.metrics`; every distance uses ``scipy`` (no hand-written pixel loops).

Examples
--------
>>> import numpy as np
>>> a = np.zeros((224, 224), bool); a[10, :3] = True
>>> round(hd_paper(a, np.zeros_like(a)), 3)  # the row with 3 ones is sqrt(3) from an empty row
1.732
"""

from __future__ import annotations

import numpy as np

#: The size the paper's Hausdorff distance is computed at: its code reshapes each prediction and mask
#: to 224 x 224 (``np.resize(binary, (224, 224))``) before ``hausdorff_distance``.
HD_PAPER_SIZE = 224


def dice(pred, target) -> float:
    """Dice similarity coefficient of two boolean masks.

    Both empty gives 1.0 (only the ``include_negatives`` protocol meets that case: the
    paper's segmentation cohort holds positive images only); an empty prediction
    against a non-empty target gives 0.0.
    """
    p = np.asarray(pred, bool)
    t = np.asarray(target, bool)
    denom = p.sum() + t.sum()
    if denom == 0:
        return 1.0
    return float(2.0 * np.logical_and(p, t).sum() / denom)


def _surface(m: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return m & ~ndimage.binary_erosion(m, border_value=0)


def image_diagonal(shape) -> float:
    """Length in pixels of the image diagonal: the largest possible distance in an image of ``shape``."""
    return float(np.hypot(*shape[-2:]))


def hausdorff(pred, target, percentile: float = 100.0) -> float:
    """Symmetric surface Hausdorff distance (pixels) between mask surfaces, via distance transforms.

    ``percentile=100`` is the surface HD (metric ``hd_surface``); ``percentile=95`` gives HD95
    (``hd95_surface``). Neither is the paper's number (that is :func:`hd_paper`). Both empty: 0.
    Exactly one empty: the image diagonal (:func:`image_diagonal`), the worst possible distance, so
    that a model that misses a finding (or predicts one where there is none) is penalised instead of
    being dropped from the mean; never NaN.
    """
    from scipy import ndimage

    p = np.asarray(pred, bool)
    t = np.asarray(target, bool)
    if not p.any() and not t.any():
        return 0.0
    if not p.any() or not t.any():
        return image_diagonal(p.shape)
    sp, st = _surface(p), _surface(t)
    dt_t = ndimage.distance_transform_edt(~st)
    dt_p = ndimage.distance_transform_edt(~sp)
    # max of the two directed distances (at the percentile), as MONAI's compute_hausdorff_distance
    return float(max(np.percentile(dt_t[sp], percentile), np.percentile(dt_p[st], percentile)))


def _at_paper_size(m: np.ndarray) -> np.ndarray:
    """A boolean mask at 224 x 224 (nearest neighbour when it has another size)."""
    if m.shape == (HD_PAPER_SIZE, HD_PAPER_SIZE):
        return m
    from scipy import ndimage

    zoom = (HD_PAPER_SIZE / m.shape[0], HD_PAPER_SIZE / m.shape[1])
    out = ndimage.zoom(m.astype(np.uint8), zoom, order=0, grid_mode=True, mode="nearest")
    return out[:HD_PAPER_SIZE, :HD_PAPER_SIZE].astype(bool)


def hd_paper(pred, target) -> float:
    """The Hausdorff distance as the paper reports it (metric ``hd_paper``).

    The authors' segmentation code (Han-Yuan-Med/constrained-learning,
    ``Segmentation_Functions_Constrained_Loss.py``, cited by the paper as [39]) calls the PyPI
    ``hausdorff`` package's ``hausdorff_distance(np.resize(binary, (224, 224)), np.resize(targets,
    (224, 224)))`` with ``binary = sigmoid >= 0.5``: the symmetric Hausdorff distance between the
    **rows** of the two 224 x 224 arrays, each row a point in 224-d space, Euclidean. It is not a
    distance in pixels: it can never exceed sqrt(224) (about 15.0). Masks of another size are
    resized to 224 x 224 (nearest neighbour) first. An empty prediction is not special-cased (as in
    their code): its rows are all zero, so the value is sqrt of the largest row count of the target
    (when the target has an empty row).
    """
    from scipy.spatial.distance import directed_hausdorff

    a = _row_set(_at_paper_size(np.asarray(pred, bool)))
    b = _row_set(_at_paper_size(np.asarray(target, bool)))
    return float(max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0]))


def _row_set(m: np.ndarray) -> np.ndarray:
    """The rows of ``m`` as float points with its empty rows kept once: a repeated point changes no
    Hausdorff distance, and most rows of a mask are empty (about 5x faster, benchmarks/hd_paper.py)."""
    nz = m.any(1)
    rows = m[nz] if nz.all() else np.vstack([m[nz], np.zeros((1, m.shape[1]), bool)])
    return rows.astype(np.float64)


#: per-image segmentation metrics in display order (``dice`` the headline)
SEG_METRICS = ("dice", "hd_paper", "hd_surface", "hd95_surface")


def segmentation_scores(pred_masks, target_masks) -> dict[str, np.ndarray]:
    """Per-image ``dice``, ``hd_paper`` (the paper's HD, rows of the 224 x 224 masks), ``hd_surface``
    (surface HD) and ``hd95_surface`` (HD95), the last two in pixels at the masks' size, plus
    ``positive`` (target not empty), for boolean masks (n, H, W)."""
    P = np.asarray(pred_masks, bool)
    Y = np.asarray(target_masks, bool)
    return dict(dice=np.array([dice(a, b) for a, b in zip(P, Y)]),
                hd_paper=np.array([hd_paper(a, b) for a, b in zip(P, Y)]),
                hd_surface=np.array([hausdorff(a, b) for a, b in zip(P, Y)]),
                hd95_surface=np.array([hausdorff(a, b, 95) for a, b in zip(P, Y)]),
                positive=Y.reshape(len(Y), -1).any(1))
