"""The paper's segmenter: ``segmentation_models_pytorch.Unet('vgg11')`` (encoder ImageNet
weights local-first), Dice loss, SGD lr 1e-2; schedule and checkpoint on validation Dice.

Protocol (the paper's, the default): the segmentation cohort holds **positive images
only**: "negative samples ... excluded and the positive samples retained". The selection
pool, validation and test sets are restricted to positives (:func:`cohort`), and

- ``dice`` (the headline) is the mean per-image Dice over positive test images;
- ``hd_paper`` is the Hausdorff distance as the paper reports it (the authors' code: the rows of
  the binarised 224 x 224 masks as points, :func:`coldstart.metrics.hd_paper`; at most sqrt(224));
- ``hd_surface`` (surface HD) and ``hd95_surface`` (HD95) are in pixels at the evaluation
  size (the preset's ``size``: 224 in ``paper``), averaged over positive test images; an empty
  prediction against a non-empty mask scores the image diagonal (never dropped as NaN);
- the best checkpoint is the epoch with the best mean Dice over positive validation images.

The other protocol, ``train: {include_negatives: true}``, keeps images without a finding
(empty masks) in the pool, validation and test. The headline metrics stay over positive
test images; ``dice_all`` adds the mean Dice over every test image, where an empty
prediction on an empty mask counts 1.0 (that convention is why a model predicting nothing
scored about 0.76 on a mostly negative test set).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import metrics as M
from ..errors import ColdstartError
import coldstart.train.torchloop as T
from ..device import resolve_device, seed_everything
from .base import TaskInput, TaskOutput


def cohort(dataset, indices, include_negatives: bool = False) -> np.ndarray:
    """The rows of ``indices`` in the segmentation cohort.

    Paper protocol (default): positive images only (label > 0). ``include_negatives=True``
    (the other protocol): every row of ``indices``.
    """
    idx = np.asarray(indices, int)
    if include_negatives:
        return idx
    return idx[dataset.labels[idx] > 0]


def check_masks(dataset) -> None:
    """Raise ColdstartError when positive images lack masks (segmentation cannot train on them)."""
    labels = dataset.labels
    has = dataset.manifest["mask"].notna().to_numpy()
    pos = labels > 0
    missing = int((pos & ~has).sum())
    if not has.any() or missing:
        raise ColdstartError(
            f"segmentation needs a mask for every positive image: {missing} of {int(pos.sum())} positives in "
            f"dataset {dataset.name!r} have none. Import masks (e.g. ChestX-Det polygons or the phantom) "
            "or use task 'classification' or 'probe'.")


def load_masks(dataset, indices, size: int) -> np.ndarray:
    out = np.zeros((len(indices), 1, size, size), np.float32)
    for k, i in enumerate(np.asarray(indices, int)):
        m = dataset.load_mask(int(i), size)
        if m is not None:
            out[k, 0] = m
    return out


def build_unet(pretrained: str = "imagenet"):
    """U-Net with a VGG-11 encoder; returns ``(model, weights_label)``."""
    import segmentation_models_pytorch as smp
    import torch

    path, label = T.resolve_pretrained(pretrained)
    model = smp.Unet("vgg11", encoder_weights=None, in_channels=3, classes=1)
    if path is not None:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        feats = {k: v for k, v in sd.items() if k.startswith("features.")}
        missing, _ = model.encoder.load_state_dict(feats, strict=False)
        if any(k.startswith("features.") for k in missing):
            raise ColdstartError(f"{path} does not match the VGG-11 encoder: replace it with the torchvision file")
    return model, label


def fit_segmenter(inp: TaskInput, params: dict) -> TaskOutput:
    import segmentation_models_pytorch as smp
    import torch

    T.set_threads()
    seed_everything(inp.seed)
    device = resolve_device(params.get("device"))
    model, wlabel = build_unet(params["pretrained"])
    if inp.init_state is not None:
        model.load_state_dict(inp.init_state)
    size = int(params["size"])
    X = T.load_stack(inp.dataset, inp.train_idx, size)
    Y = load_masks(inp.dataset, inp.train_idx, size)
    dice_loss = smp.losses.DiceLoss("binary", from_logits=True)
    Xv = T.load_stack(inp.dataset, inp.val_idx, size)
    Yv = load_masks(inp.dataset, inp.val_idx, size)[:, 0] > 0.5
    val_pos = Yv.reshape(len(Yv), -1).any(1)

    def head(lg):
        return torch.sigmoid(lg).cpu().numpy()

    def val_fn(m):
        """Mean Dice over positive validation images (the checkpoint criterion)."""
        if not val_pos.any():
            return float("nan")
        p = T.predict(m, Xv[val_pos], device, params, head)[:, 0] > 0.5
        return float(np.mean([M.dice(a, b) for a, b in zip(p, Yv[val_pos])]))

    model, info = T.train(model, dice_loss, X, Y, val_fn, params, inp.seed, device, inp.on_epoch)
    Yt = load_masks(inp.dataset, inp.test_idx, size)[:, 0] > 0.5
    pt = T.predict(model, T.load_stack(inp.dataset, inp.test_idx, size), device, params, head)[:, 0] > 0.5
    mets, preds, draws = evaluate_masks(pt, Yt, inp.test_idx, inp.n_bootstrap, inp.seed, inp.se_kind,
                                        with_draws=True)
    pool = None
    if inp.score_idx is not None:
        # image-level pseudo-probabilities (1 - c, c) with c = mean pixel confidence, so the
        # classification strategies (least-confidence, margin, entropy) rank images by it.
        ps = []
        for i in range(0, len(inp.score_idx), 64):
            chunk = T.load_stack(inp.dataset, inp.score_idx[i:i + 64], size)
            pp = T.predict(model, chunk, device, params, head)
            ps.append(_pixel_uncertainty(pp))
        p1 = np.concatenate(ps)
        pool = np.stack([1 - p1, p1], axis=1)
    info.update(weights=wlabel, size=size, threshold=0.5)
    return TaskOutput(mets, preds, pool, T.clone_state(model), info, draws=draws)


def evaluate_masks(pred, target, test_idx, n_bootstrap: int = 100, seed: int = 0, se_kind: str = "sd",
                   with_draws: bool = False):
    """Test metrics and per-image predictions of boolean masks (n, H, W).

    Returns
    -------
    metrics : dict
        ``dice``, ``hd_paper``, ``hd_surface``, ``hd95_surface`` over positive test images (value,
        bootstrap SE of kind ``se_kind``); ``dice_all`` over every test image when the test set holds negatives.
    predictions : DataFrame
        Per test image ``index``, ``y`` (positive), one column per metric (NaN on negative images,
        which the headline does not count), ``dice_all`` and ``pred_area``.
    draws : dict, only with ``with_draws``
        {metric: bootstrap draws (n_bootstrap,)} behind each SE.
    """
    sc = M.segmentation_scores(pred, target)
    pos = sc["positive"]
    if not pos.any():
        raise ColdstartError("the test set has no positive image (no mask): segmentation metrics need "
                             "images with a finding; re-import the dataset with masks")
    preds = pd.DataFrame({"index": np.asarray(test_idx, int), "y": pos.astype(int)})
    mets, draws = {}, {}
    W_pos = M.bootstrap_weights(int(pos.sum()), n_bootstrap, seed)
    for name in M.SEG_METRICS:
        v = np.where(pos, sc[name], np.nan)
        preds[name] = v
        draws[name] = M.weighted_metric("mean", v[pos], v[pos], W_pos)
        mets[name] = (M.mean_of(None, v), M.se_of_draws(draws[name], se_kind) if pos.sum() > 1 else np.nan)
    preds["dice_all"] = sc["dice"]
    if not pos.all():
        d = sc["dice"]
        draws["dice_all"] = M.weighted_metric("mean", d, d, M.bootstrap_weights(len(d), n_bootstrap, seed))
        mets["dice_all"] = (M.mean_of(None, d), M.se_of_draws(draws["dice_all"], se_kind))
    preds["pred_area"] = np.asarray(pred, bool).reshape(len(pos), -1).mean(1)
    return (mets, preds, draws) if with_draws else (mets, preds)


def _pixel_uncertainty(p: np.ndarray) -> np.ndarray:
    """Per-image pseudo-probability whose confidence max(p, 1-p) is the mean pixel confidence."""
    conf = np.maximum(p, 1 - p).reshape(len(p), -1).mean(1)
    return conf  # (1 - conf, conf): least confidence = 1 - mean pixel confidence
