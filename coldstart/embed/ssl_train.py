"""Pre-training of the ssl-pool encoder: SimCLR (via ``lightly``) on the dataset's unlabeled pool.

:func:`pretrain_ssl` trains a small CNN (:mod:`coldstart.embed.ssl_arch`) with lightly's
``SimCLRTransform`` (1-channel normalisation) and ``NTXentLoss`` on the ``train`` split
(labels are never read) and saves the backbone and its card under ``<dataset>/models/``
(see :mod:`coldstart.embed.ssl_pool`). Settings come from :data:`SSL_PRESETS`.
"""

from __future__ import annotations

import os
import platform
import random
import time
from datetime import datetime, timezone

import numpy as np

from ..errors import ColdstartError
from ..io import atomic_path, write_json
from ..params import Param, check_known_keys
from .ssl_arch import ARCHS, build_backbone, feature_dim, parse_features
from .ssl_pool import KIND, models_dir

#: Training presets; every value can be overridden by a keyword of :func:`pretrain_ssl`.
# Augmentations are mild in geometry (a pool of radiographs is roughly aligned, and findings are
# small: aggressive crops would teach invariance to exactly what matters) and strong in intensity
# (exposure differs between films and should not drive the embedding).
_AUG = dict(min_scale=0.7, hf_prob=0.0, rr_prob=0.5, rr_degrees=5.0, cj_prob=0.8, cj_strength=0.8,
            gaussian_blur=0.3)
SSL_PRESETS: dict[str, dict] = {
    # the 800-image phantom pool in < 10 min on 2 CPU cores. The embedding is the *mid-level* map
    # (stage 2 of 4) average-pooled on a 4x4 grid: on both benchmark pools it agrees with the labels
    # much better than the last stage, which SimCLR makes invariant to the small, local findings
    # (benchmarks/ssl_agreement.py).
    "cpu": dict(arch="small-grid", input_size=64, batch_size=64, epochs=40, lr=2e-3, weight_decay=1e-6,
                temperature=0.2, features="stage2-grid4", **_AUG),
    "gpu": dict(arch="resnet18", input_size=128, batch_size=256, epochs=200, lr=2e-3, weight_decay=1e-6,
                temperature=0.2, features="final", **_AUG),
}

#: Every pre-training setting, declared as data (:class:`coldstart.params.Param`): a bad value gets the
#: setting, the value and the fix. ``features`` is checked against the architecture by ``parse_features``.
SSL_PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("arch", str, "small-grid", "backbone architecture", choices=tuple(ARCHS)),
    Param("input_size", int, 64, "image side the encoder trains at", low=8),
    Param("batch_size", int, 64, "images per SimCLR batch (two views each)", low=2),
    Param("epochs", int, 40, "training epochs", low=1),
    Param("lr", float, 2e-3, "learning rate", low=0, low_open=True),
    Param("weight_decay", float, 1e-6, "weight decay", low=0),
    Param("temperature", float, 0.2, "NT-Xent temperature", low=0, low_open=True),
    Param("features", str, "stage2-grid4", "which layer the embedder returns (see FEATURES)"),
    Param("min_scale", float, 0.7, "smallest random-crop scale", low=0, high=1, low_open=True),
    Param("hf_prob", float, 0.0, "probability of a horizontal flip", low=0, high=1),
    Param("rr_prob", float, 0.5, "probability of a small random rotation", low=0, high=1),
    Param("rr_degrees", float, 5.0, "largest rotation in degrees", low=0),
    Param("cj_prob", float, 0.8, "probability of colour (intensity) jitter", low=0, high=1),
    Param("cj_strength", float, 0.8, "strength of the intensity jitter", low=0),
    Param("gaussian_blur", float, 0.3, "probability of a Gaussian blur", low=0, high=1),
)}


class _Views:
    """Two random SimCLR views of each preloaded pool image."""

    def __init__(self, images: np.ndarray, transform):
        self.images = images  # uint8 (N, H, W)
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        v0, v1 = self.transform(Image.fromarray(self.images[i], mode="L"))
        return v0, v1


def _native_size(ds, rows) -> int | None:
    """Median image side of the pool (from the manifest's height/width columns), if known."""
    m = ds.manifest
    if "height" not in m.columns or "width" not in m.columns:
        return None
    hw = m.iloc[rows][["height", "width"]].astype(float).median()
    return None if hw.isna().any() else int(hw.max())


def _seed_worker(worker_id):
    import torch

    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def pretrain_ssl(dataset, preset: str = "cpu", epochs: int | None = None, seed: int = 0, device=None,
                 progress=None, **overrides) -> str:
    """Contrastive (SimCLR) pre-training of a small CNN on the dataset's unlabeled pool.

    Parameters
    ----------
    dataset : Dataset or str
        The dataset (or its name); its ``train`` split is the pool (all rows if
        there is no train split). Labels are not used.
    preset : {"cpu", "gpu"}
        Training settings (:data:`SSL_PRESETS`). When the pool's images are smaller
        than the preset's input size (e.g. 28 px MedMNIST), training runs at
        their size rounded up to a multiple of 16 unless ``input_size`` is given.
    epochs : int, optional
        Overrides the preset's epochs.
    seed : int
        Seeds weights, augmentations and batch order.
    device : str, optional
        ``None`` = CUDA when present, else CPU. On CUDA training uses AMP.
    progress : None, True or callable(done, total, message)
        Progress over epochs.
    **overrides
        Any preset key (arch, input_size, batch_size, lr, weight_decay,
        temperature, features (:data:`FEATURES`: which layer the embedder
        returns; "final" when an arch other than small/small-grid is chosen)
        and the augmentation settings min_scale, hf_prob, rr_prob,
        rr_degrees, cj_prob, cj_strength, gaussian_blur) or num_workers.

    Returns
    -------
    model_id : str
        Use it as ``ssl-pool:<model_id>``.
    """
    import torch
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from lightly.transforms import SimCLRTransform

    from ..data import as_dataset
    from ..progress import Progress
    from .base import resolve_device

    ds = as_dataset(dataset)
    if preset not in SSL_PRESETS:
        raise ColdstartError(f"preset={preset!r} is unknown: choose one of {sorted(SSL_PRESETS)}")
    cfg = dict(SSL_PRESETS[preset])
    num_workers = overrides.pop("num_workers", None)
    check_known_keys("pretrain setting", overrides, sorted(cfg) + ["num_workers"])
    cfg.update(overrides)
    if epochs is not None:
        cfg["epochs"] = epochs
    for k, v in cfg.items():
        SSL_PARAMS[k].check(v, preset, "ssl preset")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ColdstartError(f"seed={seed!r} must be an integer")
    if "features" not in overrides and cfg["arch"] not in ("small", "small-grid"):
        cfg["features"] = "final"  # mid-level maps are defined for the small CNNs only
    parse_features(cfg["features"], cfg["arch"])
    device = resolve_device(device)
    cuda = device.startswith("cuda")

    pool = ds.split_indices("train")
    split = "train"
    if len(pool) == 0:
        pool, split = np.arange(len(ds)), "all"
    bs = int(min(cfg["batch_size"], len(pool)))
    if bs < 2:
        raise ColdstartError(f"the pool of {ds.name!r} has {len(pool)} image(s): SimCLR needs at least 2")

    t0, c0 = time.time(), time.process_time()
    size = int(cfg["input_size"])
    native = _native_size(ds, pool)
    if "input_size" not in overrides and native and native < size:
        size = max(16, -(-native // 16) * 16)  # no point upsampling small images: train near their size
    cfg["input_size"] = size
    load = int(round(size * 1.15))  # a little margin for the random crops
    imgs = (ds.load_images(pool, size=load) * 255).round().astype(np.uint8)
    mean, std = float(imgs.mean() / 255), float(imgs.std() / 255) or 1.0
    transform = SimCLRTransform(
        input_size=size, cj_prob=cfg["cj_prob"], cj_strength=cfg["cj_strength"], cj_sat=0.0, cj_hue=0.0,
        min_scale=cfg["min_scale"], random_gray_scale=0.0, gaussian_blur=cfg["gaussian_blur"],
        hf_prob=cfg["hf_prob"], rr_prob=cfg["rr_prob"], rr_degrees=cfg["rr_degrees"],
        normalize={"mean": [mean], "std": [std]})

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    backbone = build_backbone(cfg["arch"])
    head = SimCLRProjectionHead(backbone.out_dim, backbone.out_dim, 128)
    net = torch.nn.Sequential(backbone, head).to(device)
    if cuda:
        net = net.to(memory_format=torch.channels_last)
    criterion = NTXentLoss(temperature=cfg["temperature"])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps_per_epoch = len(pool) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * steps_per_epoch,
                                                pct_start=0.1)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    gen = torch.Generator().manual_seed(seed)
    nw = (min(8, os.cpu_count() or 1) if cuda else 0) if num_workers is None else int(num_workers)
    loader = torch.utils.data.DataLoader(
        _Views(imgs, transform), batch_size=bs, shuffle=True, drop_last=True, generator=gen,
        num_workers=nw, worker_init_fn=_seed_worker, pin_memory=cuda, persistent_workers=nw > 0)

    curve = []
    net.train()
    with Progress(progress, cfg["epochs"], f"pretraining ssl-pool on {ds.name}") as p:
        for epoch in range(cfg["epochs"]):
            total, n = 0.0, 0
            for x0, x1 in loader:
                x = torch.cat([x0, x1]).to(device, non_blocking=cuda)
                if cuda:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
                    z = net(x)
                    loss = criterion(z[: len(x0)].float(), z[len(x0):].float())
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                total += float(loss.detach()) * len(x0)
                n += len(x0)
            curve.append(round(total / max(n, 1), 5))
            p.update(1, f"epoch {epoch + 1}/{cfg['epochs']} loss {curve[-1]:.4f}")
    seconds, cpu_seconds = time.time() - t0, time.process_time() - c0

    import lightly
    import torchvision

    now = datetime.now(timezone.utc)
    model_id = f"simclr-{cfg['arch']}-{size}px-e{cfg['epochs']}-s{seed}-{now:%Y%m%dT%H%M%S}"
    out = models_dir(ds)
    k = 1
    while (out / f"{model_id}.pt").exists():  # two runs in the same second
        k += 1
        model_id = f"simclr-{cfg['arch']}-{size}px-e{cfg['epochs']}-s{seed}-{now:%Y%m%dT%H%M%S}-{k}"
    state = {k_: v.detach().cpu() for k_, v in backbone.state_dict().items()}
    with atomic_path(out / f"{model_id}.pt", suffix=".pt") as tmp:
        torch.save(state, tmp)
    card = dict(kind=KIND, model_id=model_id, dataset=ds.name, manifest_hash=ds.manifest_hash,
                split=split, n_images=int(len(pool)), preset=preset, seed=int(seed), device=device,
                **{k_: cfg[k_] for k_ in sorted(cfg)}, batch_size_used=bs,
                dim=feature_dim(backbone, cfg["features"], cfg["arch"]),
                norm_mean=mean, norm_std=std, loss_curve=curve, seconds=round(seconds, 2),
                cpu_seconds=round(cpu_seconds, 2), threads=torch.get_num_threads(),
                created=now.isoformat(timespec="seconds"),
                versions=dict(torch=torch.__version__, torchvision=torchvision.__version__,
                              lightly=lightly.__version__, python=platform.python_version()))
    write_json(out / f"{model_id}.json", card)
    return model_id
