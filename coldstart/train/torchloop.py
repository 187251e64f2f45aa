"""The shared PyTorch training loop of the paper models.

SGD with momentum, batch 10, fixed number of epochs, LR halved after
``lr_patience`` epochs without validation improvement (the paper: 10; torch's
``ReduceLROnPlateau(patience=p)`` reduces after p + 1 such epochs, so it gets
``lr_patience - 1``), best-validation checkpoint kept. CUDA: AMP + channels_last.
Seeded (CPU runs reproduce).

Input scaling (``normalize``): ``"none"`` is the paper's (pixels divided by 255, i.e. the
[0, 1] images as loaded, repeated to 3 channels); ``"imagenet"`` also subtracts the
ImageNet mean and divides by its standard deviation.

Initial weights (``pretrained``) are an explicit choice: ``"imagenet"`` (the paper; the
file must exist, else a ColdstartError names it and where to put it) or ``"none"``
(random initialisation, reported as ``random-init`` in the results' ``weights`` column,
the CLI's warning, the Train page's notice and the report's footnote).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..paths import weights_dir

VGG11_FILE = "vgg11-8a719046.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def find_vgg11_weights() -> Path | None:
    """Local ImageNet VGG-11 weights: the embed package's lookup if it has one, else
    ``<weights_dir>/vgg11-8a719046.pth`` or the torch hub checkpoint folder."""
    try:  # the embed package's weights table, when it lists this file
        from ..embed.weights import WEIGHTS

        for w in WEIGHTS.values():
            if w.filename == VGG11_FILE:
                p = w.find()
                if p is not None:
                    return Path(p)
    except Exception:  # noqa: BLE001 - optional integration
        pass
    cands = [weights_dir() / VGG11_FILE]
    try:
        import torch

        cands.append(Path(torch.hub.get_dir()) / "checkpoints" / VGG11_FILE)
    except Exception:  # noqa: BLE001
        pass
    for c in cands:
        if c.is_file():
            return c
    return None


PRETRAINED = ("imagenet", "none")
NORMALIZE = ("none", "imagenet")


def resolve_pretrained(pretrained: str) -> tuple[Path | None, str]:
    """``(path or None, label)``: label is 'imagenet' or 'random-init' (recorded in results).

    Raises
    ------
    ColdstartError
        On a value other than 'imagenet' / 'none', or 'imagenet' when the file is absent.
    """
    from ..errors import ColdstartError, MissingWeightsError

    if pretrained not in PRETRAINED:
        raise ColdstartError(f"pretrained={pretrained!r}: choose 'imagenet' (the paper: ImageNet VGG-11 "
                             "weights) or 'none' (random initialisation)")
    if pretrained == "none":
        return None, "random-init"
    p = find_vgg11_weights()
    if p is None:
        raise MissingWeightsError(
            f"pretrained='imagenet' but {VGG11_FILE} was not found: put it in {weights_dir()} "
            "(or the torch hub checkpoints folder), or set the training setting pretrained=none "
            "(random initialisation, e.g. --set pretrained=none)")
    return p, "imagenet"


def pretrained_notice(task: str, params: dict) -> str | None:
    """A sentence for the CLI (warning) and the Train page (notice) when the model will not start
    from the paper's ImageNet weights, or would fail because their file is missing; None otherwise."""
    if task == "probe":
        return None
    if params.get("pretrained") == "none":
        return ("training starts from random initialisation (pretrained=none); the paper starts VGG-11 from "
                "ImageNet weights, so results are not comparable to it")
    if find_vgg11_weights() is None:
        return (f"the ImageNet VGG-11 weights ({VGG11_FILE}) are missing, so VGG-11 and U-Net runs that start "
                f"from them will be refused: put the file in {weights_dir()}, or choose random initialisation "
                "explicitly (pretrained=none; on the Train page, switch off 'Start ... from ImageNet weights')")
    return None


def weights_footnote(results) -> str:
    """The report's footnote naming the initial weights of the trained models in ``results``
    (a results table with a ``weights`` column); empty when no model used weights."""
    if results is None or "weights" not in getattr(results, "columns", ()):
        return ""
    used = sorted({str(w) for w in results["weights"].dropna() if str(w) not in ("", "n/a")})
    if not used:
        return ""
    names = {"imagenet": f"ImageNet VGG-11 ({VGG11_FILE})", "random-init": "random initialisation (no pretrained file)"}
    return "Initial weights: " + "; ".join(names.get(w, w) for w in used) + "."


def load_stack(dataset, indices, size: int) -> np.ndarray:
    """Images (n, 1, size, size) float32 in [0, 1]."""
    return dataset.load_images(np.asarray(indices, int), size=int(size))[:, None]


def to_input(x, device, channels_last: bool, normalize: str = "imagenet"):
    """Grayscale (n,1,H,W) in [0, 1] -> 3-channel tensor on ``device``; ``normalize="imagenet"``
    standardises with the ImageNet mean/std, ``"none"`` keeps pixels / 255 (the paper)."""
    import torch

    t = torch.as_tensor(x, dtype=torch.float32).repeat(1, 3, 1, 1)
    if normalize == "imagenet":
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        t = (t - mean) / std
    t = t.to(device)
    if channels_last:
        t = t.contiguous(memory_format=torch.channels_last)
    return t


def predict(model, X: np.ndarray, device, params, head) -> np.ndarray:
    """Apply ``model`` to ``X`` in eval mode in batches; ``head`` maps logits to numpy outputs."""
    import torch

    model.eval()
    out = []
    cl = device.startswith("cuda")
    bs = int(params.get("eval_batch_size", 64))
    with torch.no_grad(), torch.autocast("cuda", enabled=cl and bool(params.get("amp", True))):
        for i in range(0, len(X), bs):
            out.append(head(model(to_input(X[i:i + bs], device, cl, params.get("normalize", "imagenet"))).float()))
    return np.concatenate(out) if out else np.zeros((0,))


def plateau_scheduler(opt, params: dict):
    """``ReduceLROnPlateau`` that multiplies the LR by ``lr_factor`` once ``lr_patience`` epochs in
    a row brought no validation improvement (torch counts ``patience`` + 1 such epochs)."""
    import torch

    p = int(params["lr_patience"])
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=float(params["lr_factor"]),
                                                      patience=max(p - 1, 0))


def train(model, loss_fn, X, Y, val_fn, params: dict, seed: int, device: str, on_epoch=None):
    """Train ``model`` on (X, Y); ``val_fn(model) -> float`` (higher is better, NaN = unknown).

    Returns the best-validation weights loaded into ``model`` and an info dict.
    """
    import torch

    cuda = device.startswith("cuda")
    model.to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=float(params["lr"]), momentum=float(params["momentum"]))
    sched = plateau_scheduler(opt, params)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and bool(params.get("amp", True)))
    rng = np.random.default_rng(int(seed))
    bs = int(params["batch_size"])
    epochs = int(params["epochs"])
    best, best_state, best_epoch = -np.inf, None, 0
    t0 = time.time()
    Yt = torch.as_tensor(np.array(Y))  # a writable copy
    for ep in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(X))
        losses = []
        for i in range(0, len(order), bs):
            b = order[i:i + bs]
            if len(b) < 2 and len(order) > 1:  # BatchNorm cannot train on one sample
                continue
            xb = to_input(X[b], device, cuda, params.get("normalize", "imagenet"))
            yb = Yt[b].to(device)
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", enabled=cuda and bool(params.get("amp", True))):
                loss = loss_fn(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss.detach()))
        v = float(val_fn(model))
        score = v if np.isfinite(v) else -float(np.mean(losses) if losses else 0.0)
        sched.step(score)
        if score > best:
            best, best_epoch = score, ep
            best_state = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}
        if on_epoch:
            on_epoch(ep, epochs, dict(val=v, loss=float(np.mean(losses)) if losses else None,
                                      lr=opt.param_groups[0]["lr"]))
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, dict(best_epoch=best_epoch, best_val=float(best), train_s=time.time() - t0,
                       device=device, epochs=epochs)


def set_threads() -> None:
    """Respect ``COLDSTART_THREADS`` (CPU threads for torch) when set."""
    n = os.environ.get("COLDSTART_THREADS")
    if n:
        import torch

        torch.set_num_threads(int(n))


def clone_state(model) -> dict:
    """A CPU copy of the model's weights (for warm starts)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
