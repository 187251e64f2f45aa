"""The paper's classifier: torchvision VGG-11 (ImageNet weights local-first), 2-class head,
class-weighted cross-entropy, SGD; threshold by Youden's J on validation.

For the ``bald`` round strategy (``params["mc_dropout"]``, set by
:func:`coldstart.train.al.round_params`) the pool is also scored ``mc_samples`` times with
the classifier head's dropout active (MC dropout); the convolutional features are computed
once, so the T passes cost T head evaluations. The samples are returned in
``info["pool_mc_probs"]`` (T, n_pool, C).
"""

from __future__ import annotations

import numpy as np

from .. import metrics as M
from ..errors import ColdstartError
import coldstart.train.torchloop as T
from ..device import resolve_device, seed_everything
from .base import TaskInput, TaskOutput, classification_output
from .presets import HEADS, SCORES  # noqa: F401 (HEADS: the heads build_vgg11 accepts)


def score_head(score: str):
    """``logits (n, C) -> class-1 score (n,)`` for ``score`` in :data:`coldstart.train.presets.SCORES`:
    ``sigmoid`` of the class-1 logit (the authors') or the ``softmax`` probability of class 1."""
    import torch

    if score == "sigmoid":
        return lambda lg: torch.sigmoid(lg[:, 1]).cpu().numpy()
    return lambda lg: torch.softmax(lg, 1)[:, 1].cpu().numpy()


def build_vgg11(n_classes: int = 2, pretrained: str = "imagenet", head: str = "paper"):
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
    model, wlabel = build_vgg11(n_cls, params["pretrained"], params.get("head", "paper"))
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

    score = params.get("score", "softmax")
    prob1 = score_head(score)

    def val_fn(m):
        if len(Xv) == 0:
            return float("nan")
        return M.auprc(yv, T.predict(m, Xv, device, params, prob1))

    model, info = T.train(model, loss_fn, X, y, val_fn, params, inp.seed, device, inp.on_epoch)
    val_scores = T.predict(model, Xv, device, params, prob1) if len(Xv) else np.zeros(0)
    test_scores = T.predict(model, T.load_stack(inp.dataset, inp.test_idx, size), device, params, prob1)
    pool = None
    if inp.score_idx is not None:
        Xp = T.load_stack(inp.dataset, inp.score_idx, size)
        if score == "sigmoid":  # the round strategies see the same score as the threshold: (1 - s, s)
            p1 = T.predict(model, Xp, device, params, prob1)
            pool = np.stack([1 - p1, p1], axis=1)
        else:
            p = T.predict(model, Xp, device, params, lambda lg: torch.softmax(lg, 1).cpu().numpy())
            pool = p.reshape(len(inp.score_idx), -1)
        if params.get("mc_dropout"):
            info["pool_mc_probs"] = mc_dropout_probs(model, Xp, device, params, int(params["mc_samples"]),
                                                     inp.seed)
    state = T.clone_state(model)
    info.update(weights=wlabel, size=size, head=params.get("head", "paper"), score=score)
    return classification_output(inp, test_scores, val_scores, pool, state, info)


def mc_dropout_probs(model, X, device, params: dict, n_samples: int, seed: int = 0) -> np.ndarray:
    """Softmax outputs of ``n_samples`` passes with the classifier head's dropout on (MC dropout).

    The VGG-11 convolutional features are computed once in eval mode; each pass re-applies
    ``model.classifier`` in train mode (it holds only Linear, ReLU and Dropout layers, so train
    mode changes nothing but dropout). Seeded.

    Returns
    -------
    float32 array (n_samples, len(X), C)
    """
    import torch

    if not any(isinstance(m, torch.nn.Dropout) for m in model.classifier.modules()):
        raise ColdstartError("MC dropout needs dropout in the classifier head: use head='paper'")
    model.eval()
    cl = device.startswith("cuda")
    bs = int(params.get("eval_batch_size", 64))
    feats = []
    with torch.no_grad(), torch.autocast("cuda", enabled=cl and bool(params.get("amp", True))):
        for i in range(0, len(X), bs):
            x = T.to_input(X[i:i + bs], device, cl, params.get("normalize", "imagenet"))
            feats.append(torch.flatten(model.avgpool(model.features(x)), 1).float())
    F = torch.cat(feats) if feats else torch.zeros((0, 1), device=device)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(int(seed) + 7349)
    model.classifier.train()
    out = []
    try:
        with torch.no_grad():
            for _ in range(int(n_samples)):
                out.append(torch.softmax(model.classifier(F), 1).cpu().numpy())
    finally:
        model.classifier.eval()
        torch.random.set_rng_state(gen_state)
    return np.stack(out).astype(np.float32)
