"""The paper's segmenter: ``segmentation_models_pytorch.Unet('vgg11')`` (encoder ImageNet
weights local-first), Dice loss, SGD lr 1e-2; schedule and checkpoint on validation Dice.

Images without a mask are "empty mask" (normal). Metrics on the test split:
per-image Dice (1.0 when both prediction and target are empty) and HD95 in
pixels at the training size (NaN when exactly one is empty; averaged over the
defined ones); ``dice_pos`` is the mean Dice over positive (non-empty) test masks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import metrics as M
from ..errors import ColdstartError
import coldstart.train.torchloop as T
from ..device import resolve_device
from .device import seed_everything
from .base import TaskInput, TaskOutput


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


def build_unet(pretrained: str = "auto"):
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
    model, wlabel = build_unet(params.get("pretrained", "auto"))
    if inp.init_state is not None:
        model.load_state_dict(inp.init_state)
    size = int(params["size"])
    X = T.load_stack(inp.dataset, inp.train_idx, size)
    Y = load_masks(inp.dataset, inp.train_idx, size)
    dice_loss = smp.losses.DiceLoss("binary", from_logits=True)
    Xv = T.load_stack(inp.dataset, inp.val_idx, size)
    Yv = load_masks(inp.dataset, inp.val_idx, size) > 0.5

    def head(lg):
        return torch.sigmoid(lg).cpu().numpy()

    def val_fn(m):
        if len(Xv) == 0:
            return float("nan")
        p = T.predict(m, Xv, device, params, head) > 0.5
        return float(np.mean([M.dice(a, b) for a, b in zip(p, Yv)]))

    model, info = T.train(model, dice_loss, X, Y, val_fn, params, inp.seed, device, inp.on_epoch)
    Xt = T.load_stack(inp.dataset, inp.test_idx, size)
    Yt = load_masks(inp.dataset, inp.test_idx, size) > 0.5
    pt = T.predict(model, Xt, device, params, head) > 0.5
    d = np.array([M.dice(a[0], b[0]) for a, b in zip(pt, Yt)])
    h = np.array([M.hausdorff(a[0], b[0], 95) for a, b in zip(pt, Yt)])
    pos = Yt.reshape(len(Yt), -1).any(1)
    n, seed = inp.n_bootstrap, inp.seed
    mets = {
        "dice": (M.mean_of(None, d), M.bootstrap_se(M.mean_of, d, d, n, seed)),
        "dice_pos": (M.mean_of(None, d[pos]), M.bootstrap_se(M.mean_of, d[pos], d[pos], n, seed)),
        "hausdorff95": (M.mean_of(None, h), M.bootstrap_se(M.mean_of, h, h, n, seed)),
    }
    preds = pd.DataFrame({"index": np.asarray(inp.test_idx, int), "y": pos.astype(int), "dice": d,
                          "hausdorff95": h, "pred_area": pt.reshape(len(pt), -1).mean(1)})
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
    return TaskOutput(mets, preds, pool, T.clone_state(model), info)


def _pixel_uncertainty(p: np.ndarray) -> np.ndarray:
    """Per-image pseudo-probability whose confidence max(p, 1-p) is the mean pixel confidence."""
    conf = np.maximum(p, 1 - p).reshape(len(p), -1).mean(1)
    return conf  # (1 - conf, conf): least confidence = 1 - mean pixel confidence
