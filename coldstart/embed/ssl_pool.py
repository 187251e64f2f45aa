"""Self-supervised pool encoder: SimCLR (via ``lightly``) on the unlabeled pool itself.

A user with no foundation-model weights (and this offline demo) still gets a
learned embedding: :func:`pretrain_ssl` trains a small CNN with lightly's
``SimCLRTransform`` (1-channel normalisation) and ``NTXentLoss`` on the
dataset's ``train`` split (the pool; labels are never read), then saves

* ``<dataset>/models/<model-id>.pt``: the backbone's state dict;
* ``<dataset>/models/<model-id>.json``: the card (data, manifest hash,
  architecture, epochs, loss curve, seconds, versions).

The model is registered as embedder ``ssl-pool:<model-id>``; plain
``ssl-pool`` means the newest model of the dataset.
"""

from __future__ import annotations

import os
import platform
import random
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import ColdstartError
from ..io import atomic_path, read_json, write_json
from .torchrun import TorchEmbedder

KIND = "ssl-pool"

#: Training presets; every value can be overridden by a keyword of :func:`pretrain_ssl`.
# Augmentations are mild in geometry (a pool of radiographs is roughly aligned, and findings are
# small: aggressive crops would teach invariance to exactly what matters) and strong in intensity
# (exposure differs between films and should not drive the embedding).
_AUG = dict(min_scale=0.7, hf_prob=0.0, rr_prob=0.5, rr_degrees=5.0, cj_prob=0.8, cj_strength=0.8,
            gaussian_blur=0.3)
PRESETS: dict[str, dict] = {
    # the 800-image phantom pool in < 10 min on 2 CPU cores. The embedding is the *mid-level* map
    # (stage 2 of 4) average-pooled on a 4x4 grid: on both benchmark pools it agrees with the labels
    # much better than the last stage, which SimCLR makes invariant to the small, local findings
    # (benchmarks/ssl_agreement.py).
    "cpu": dict(arch="small-grid", input_size=64, batch_size=64, epochs=40, lr=2e-3, weight_decay=1e-6,
                temperature=0.2, features="stage2-grid4", **_AUG),
    "gpu": dict(arch="resnet18", input_size=128, batch_size=256, epochs=200, lr=2e-3, weight_decay=1e-6,
                temperature=0.2, features="final", **_AUG),
}
ARCHS = ("small", "small-grid", "resnet18", "tiny")
#: What the embedder returns: "final" = the backbone's pooled output; "stageK-gridG" (small and
#: small-grid only) = the output of stage K (1-4) average-pooled on a G x G grid.
FEATURES = ("final", "stage1-grid4", "stage1-grid8", "stage2-grid2", "stage2-grid4", "stage2-grid8",
            "stage3-grid2", "stage3-grid4", "stage4-grid2")
_STAGE_CH = {1: 32, 2: 64, 3: 128, 4: 256}


# ---- the network ------------------------------------------------------

def build_backbone(arch: str):
    """A 1-channel CNN whose forward returns pooled features.

    small: 256-d (global average), small-grid: 1024-d (2x2 average grid), resnet18: 512-d, tiny: 128-d.
    """
    from torch import nn

    if arch in ("small", "small-grid"):  # 4 stride-2 stages: the receptive field covers a 64 px image
        def conv(i, o, s=1):
            return [nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        layers = conv(1, 32)
        for i, o in ((32, 32), (32, 64), (64, 128), (128, 256)):
            layers += conv(i, o, 2) + conv(o, o)
        g = 2 if arch == "small-grid" else 1  # small-grid keeps a coarse 2x2 layout (radiographs are aligned)
        m = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(g), nn.Flatten())
        m.out_dim = 256 * g * g
        return m

    if arch == "resnet18":
        import torchvision

        m = torchvision.models.resnet18(weights=None)
        m.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        m.fc = nn.Identity()
        m.out_dim = 512
        return m
    if arch == "tiny":
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]
        m = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten())
        m.out_dim = 128
        return m
    raise ColdstartError(f"arch={arch!r} is not a known ssl-pool architecture: choose one of {list(ARCHS)}")


def _parse_features(features: str, arch: str) -> tuple[int, int] | None:
    """``(stage, grid)`` of a feature spec, or None for "final"; validates it for ``arch``."""
    if features not in FEATURES:
        raise ColdstartError(f"features={features!r} is unknown: choose one of {list(FEATURES)}")
    if features == "final":
        return None
    if arch not in ("small", "small-grid"):
        raise ColdstartError(f"features={features!r} needs arch 'small' or 'small-grid' (got {arch!r}): "
                             "use features='final'")
    st, gr = features.split("-")
    return int(st[len("stage"):]), int(gr[len("grid"):])


def feature_dim(backbone, features: str, arch: str) -> int:
    """Dimension of the embedding ``features`` of ``backbone``."""
    sg = _parse_features(features, arch)
    return backbone.out_dim if sg is None else _STAGE_CH[sg[0]] * sg[1] ** 2


def extract_features(backbone, x, features: str = "final", arch: str = "small-grid"):
    """Embedding of a batch ``x`` (N, 1, H, W): the pooled output, or a pooled mid-level map."""
    from torch.nn import functional as F

    sg = _parse_features(features, arch)
    if sg is None:
        return backbone(x)
    stage, grid = sg
    h = backbone[: 3 + 6 * stage](x)  # stem = 3 modules, each stage = 6 (two conv-bn-relu)
    return F.adaptive_avg_pool2d(h, grid).flatten(1)


# ---- model files --------------------------------------------------------

def models_dir(dataset) -> Path:
    return dataset.subdir("models")


def list_models(dataset) -> list[dict]:
    """Cards of the dataset's ssl-pool models, newest first."""
    d = dataset.dir / "models"
    if not d.is_dir():
        return []
    cards = []
    for p in d.glob("*.json"):
        try:
            c = read_json(p)
        except (OSError, ValueError):
            continue
        if c.get("kind") == KIND and (d / f"{c.get('model_id')}.pt").is_file():
            cards.append(c)
    return sorted(cards, key=lambda c: (c.get("created", ""), c["model_id"]), reverse=True)


def newest_model(dataset) -> str | None:
    cards = list_models(dataset)
    return cards[0]["model_id"] if cards else None


# ---- pre-training ---------------------------------------------------------

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
        Training settings (:data:`PRESETS`). When the pool's images are smaller
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
        Use it as ``ssl-pool:<model_id>`` (or plain ``ssl-pool`` for the newest).
    """
    import torch
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from lightly.transforms import SimCLRTransform

    from ..data import Dataset
    from ..progress import Progress
    from .base import resolve_device

    ds = Dataset(dataset) if isinstance(dataset, str) else dataset
    if preset not in PRESETS:
        raise ColdstartError(f"preset={preset!r} is unknown: choose one of {sorted(PRESETS)}")
    cfg = dict(PRESETS[preset])
    num_workers = overrides.pop("num_workers", None)
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise ColdstartError(f"unknown pretrain settings {unknown}: valid ones are {sorted(cfg)}")
    cfg.update(overrides)
    if epochs is not None:
        cfg["epochs"] = epochs
    if isinstance(cfg["epochs"], bool) or not isinstance(cfg["epochs"], (int, np.integer)) or cfg["epochs"] < 1:
        raise ColdstartError(f"epochs={cfg['epochs']!r} must be a positive integer")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ColdstartError(f"seed={seed!r} must be an integer")
    if cfg["arch"] not in ARCHS:
        raise ColdstartError(f"arch={cfg['arch']!r} is not a known ssl-pool architecture: choose one of {list(ARCHS)}")
    if "features" not in overrides and cfg["arch"] not in ("small", "small-grid"):
        cfg["features"] = "final"  # mid-level maps are defined for the small CNNs only
    _parse_features(cfg["features"], cfg["arch"])
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


# ---- the embedder ---------------------------------------------------------

class SslPoolEmbedder(TorchEmbedder):
    """Backbone of a :func:`pretrain_ssl` model; pooled features of the whole (resized) image.

    Which features is the card's ``features`` setting (see :func:`extract_features`).

    Parameters
    ----------
    model_id : str or None
        A model of ``dataset``; None = the newest one.
    dataset : Dataset or None
        Where the model lives (``<dataset>/models/``). Without it the embedder
        is listed but unavailable.
    """

    default_batch_size = 64

    def __init__(self, model_id: str | None = None, dataset=None):
        super().__init__()
        self.dataset = dataset
        self.requested = model_id
        self.model_id = model_id if model_id else (newest_model(dataset) if dataset is not None else None)
        self.name = f"ssl-pool:{self.model_id}" if self.model_id else "ssl-pool"
        self.key = f"ssl-pool-{self.model_id}" if self.model_id else "ssl-pool"
        self.card = self._card()
        self.dim = self.card.get("dim") if self.card else None
        self.load_size = int(self.card["input_size"]) if self.card else None
        self.summary = ("SimCLR CNN pre-trained on this dataset's own pool (`coldstart pretrain`), "
                        "no external weights")
        if self.card:
            self.summary = (f"SimCLR {self.card['arch']} at {self.card['input_size']} px, "
                            f"{self.card['epochs']} epochs on {self.card['n_images']} pool images "
                            f"(final loss {self.card['loss_curve'][-1]:.3f})")

    def _paths(self):
        d = self.dataset.dir / "models"
        return d / f"{self.model_id}.pt", d / f"{self.model_id}.json"

    def _card(self):
        if self.dataset is None or not self.model_id:
            return None
        pt, js = self._paths()
        if not (pt.is_file() and js.is_file()):
            return None
        return read_json(js)

    def available(self) -> tuple[bool, str]:
        if self.dataset is None:
            return False, "pre-train on a dataset first: run `coldstart pretrain DATASET`"
        if not self.model_id:
            return False, f"no ssl-pool model for {self.dataset.name!r} yet: run `coldstart pretrain {self.dataset.name}`"
        if self.card is None:
            have = [c["model_id"] for c in list_models(self.dataset)]
            return False, (f"ssl-pool model {self.model_id!r} not found in {self.dataset.dir / 'models'}: "
                           + (f"choose one of {have}" if have else f"run `coldstart pretrain {self.dataset.name}`"))
        return True, f"model: {self._paths()[0]}"

    def build_model(self):
        import torch

        ok, reason = self.available()
        if not ok:
            raise ColdstartError(reason)
        m = build_backbone(self.card["arch"])
        m.load_state_dict(torch.load(self._paths()[0], map_location="cpu", weights_only=True))
        return m

    def preprocess(self, img):
        return ((img.astype(np.float32) - self.card["norm_mean"]) / self.card["norm_std"])[None]

    def forward(self, model, x):
        # cards written before the "features" setting existed used the backbone's pooled output
        return extract_features(model, x, self.card.get("features", "final"), self.card["arch"])
