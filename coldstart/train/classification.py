"""The paper's classifier: torchvision VGG-11 (ImageNet weights local-first), 2-class head,
class-weighted cross-entropy, SGD; threshold by Youden's J on validation."""

from __future__ import annotations

import numpy as np

from .. import metrics as M
from ..errors import ColdstartError
import coldstart.train.torchloop as T
from ..device import resolve_device
from .device import seed_everything
from .base import TaskInput, TaskOutput, classification_output


HEADS = ("paper", "gap")


def build_vgg11(n_classes: int = 2, pretrained: str = "auto", head: str = "paper"):
    """VGG-11; returns ``(model, weights_label)``.

    ``head="paper"``: the torchvision classifier with its last layer replaced by ``n_classes``
    outputs (as in the paper; 128M parameters, slow on CPU). ``head="gap"``: the VGG-11
    convolutional features, global average pooling and one linear layer (9M parameters), the
    ``quick`` preset's CPU-sized variant.
    """
    import torch
    import torchvision

    if head not in HEADS:
        raise ColdstartError(f"head={head!r}: choose one of {', '.join(HEADS)}")
    path, label = T.resolve_pretrained(pretrained)
    model = torchvision.models.vgg11(weights=None)
    if path is not None:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    if head == "paper":
        model.classifier[-1] = torch.nn.Linear(model.classifier[-1].in_features, n_classes)
    else:
        model.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        model.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(512, n_classes))
    return model, label


def fit_classifier(inp: TaskInput, params: dict) -> TaskOutput:
    import torch

    T.set_threads()
    seed_everything(inp.seed)
    device = resolve_device(params.get("device"))
    n_cls = max(len(inp.dataset.classes), 2)
    model, wlabel = build_vgg11(n_cls, params.get("pretrained", "auto"), params.get("head", "paper"))
    # head init depends on the seed set above; warm start replaces everything
    if inp.init_state is not None:
        model.load_state_dict(inp.init_state)
    size = int(params["size"])
    X = T.load_stack(inp.dataset, inp.train_idx, size)
    y = np.asarray(inp.train_labels, np.int64)
    counts = np.bincount(y, minlength=n_cls).astype(np.float32)
    w = np.where(counts > 0, len(y) / (n_cls * np.maximum(counts, 1)), 0.0).astype(np.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.as_tensor(w).to(device))
    Xv = T.load_stack(inp.dataset, inp.val_idx, size)
    yv = np.asarray(inp.val_labels, int)

    def prob1(logits):
        return torch.softmax(logits, 1)[:, 1].cpu().numpy()

    def val_fn(m):
        if len(Xv) == 0:
            return float("nan")
        return M.auprc(yv, T.predict(m, Xv, device, params, prob1))

    model, info = T.train(model, loss_fn, X, y, val_fn, params, inp.seed, device, inp.on_epoch)
    val_scores = T.predict(model, Xv, device, params, prob1) if len(Xv) else np.zeros(0)
    test_scores = T.predict(model, T.load_stack(inp.dataset, inp.test_idx, size), device, params, prob1)
    pool = None
    if inp.score_idx is not None:
        p = T.predict(model, T.load_stack(inp.dataset, inp.score_idx, size), device, params,
                      lambda lg: torch.softmax(lg, 1).cpu().numpy())
        pool = p.reshape(len(inp.score_idx), -1)
    state = T.clone_state(model)
    info.update(weights=wlabel, size=size, head=params.get("head", "paper"))
    return classification_output(inp, test_scores, val_scores, pool, state, info)
