"""Training presets as data: ``paper`` (the paper's settings) and ``quick`` (CPU-sized).

``paper`` follows Yuan & Hong and the authors' code: SGD (lr 1e-3 classification,
1e-2 segmentation), momentum 0.9, batch 10, 100 epochs, LR halved after 10 epochs
without validation improvement, pixels divided by 255 (``normalize="none"``), VGG-11
from ImageNet weights, the segmentation cohort restricted to positive images, and AL
rounds that query the probabilities nearest the decision threshold (``threshold``).
docs/fidelity.md lists every element and how to switch it.

Every value is overridable through a run config's ``train`` mapping; unknown
keys are refused with the list of valid ones.
"""

from __future__ import annotations

from typing import Any

from ..errors import ColdstartError
from ..params import check_known_keys

TASKS = ("probe", "classification", "segmentation")

#: ``lr_patience``: epochs without validation improvement before the LR is multiplied by ``lr_factor``.
#: ``pretrained``: "imagenet" (the paper; the weights file must exist) or "none" (random initialisation).
#: ``normalize``: "none" (the paper: pixels / 255) or "imagenet" (ImageNet mean/std standardisation).
_TORCH_COMMON = dict(momentum=0.9, batch_size=10, lr_patience=10, lr_factor=0.5,
                     pretrained="imagenet", device="auto", amp=True, eval_batch_size=64, normalize="none")
#: classification: ``mc_samples`` = T, the MC-dropout passes of the ``bald`` round strategy.
_CLS = dict(mc_samples=20)
#: segmentation: ``include_negatives`` = False is the paper's cohort (positive images only).
_SEG = dict(include_negatives=False)

#: ``quick`` is CPU-sized: small images, few epochs, and for classification the VGG-11 features with a
#: global-average-pool linear head (``head="gap"``) instead of the 128M-parameter classifier
#: (``head="paper"``); set ``train: {head: paper}`` to keep the paper's head at quick sizes.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "probe": dict(C=1.0, max_iter=2000),
        "classification": dict(_TORCH_COMMON, **_CLS, size=224, epochs=100, lr=1e-3, head="paper"),
        "segmentation": dict(_TORCH_COMMON, **_SEG, size=256, epochs=100, lr=1e-2),
    },
    "quick": {
        "probe": dict(C=1.0, max_iter=2000),
        "classification": dict(_TORCH_COMMON, **_CLS, size=64, epochs=8, lr=1e-3, lr_patience=3, head="gap",
                               normalize="imagenet"),
        "segmentation": dict(_TORCH_COMMON, **_SEG, size=64, epochs=8, lr=1e-2, lr_patience=3, normalize="imagenet"),
    },
}

#: The AL round strategy a run uses when its config names none.
DEFAULT_STRATEGY = {"paper": "threshold", "quick": "least-confidence"}

#: The clustering selector of each preset's default methods: ``paper`` uses the paper's exact protocol
#: (``kmeans-paper``); ``kmeans`` is a fast approximation of it (docs/fidelity.md gives its coverage gap).
CLUSTERING = {"paper": "kmeans-paper", "quick": "kmeans"}


def default_methods(embedders, selectors, preset: str = "paper", foundation=()) -> list[str]:
    """The methods a new run starts with (at most 6): random, the naive clustering on raw pixels, and
    the first available ``foundation`` embedder with the preset's clustering and three other selectors
    (raw pixels with them when no foundation embedder is available).

    Examples
    --------
    >>> default_methods(["pixels", "txrv-densenet121"], ["kmeans", "kmeans-paper", "typiclust"], "paper",
    ...                 ["txrv-densenet121"])
    ['random', 'pixels:kmeans-paper', 'txrv-densenet121:kmeans-paper', 'txrv-densenet121:typiclust']
    """
    clu = CLUSTERING[preset]
    out = ["random", f"pixels:{clu}"]
    fm = next((e for e in foundation if e in embedders), None)
    if fm:
        out += [f"{fm}:{s}" for s in (clu, "typiclust", "probcover", "coreset") if s in selectors]
    else:
        others = [s for s in ("kmeans", "kmeans-paper") if s != clu]
        out += [f"pixels:{s}" for s in ("typiclust", "probcover", "coreset", *others) if s in selectors]
    return out[:6]


def resolve_params(task: str, preset: str = "quick", overrides: dict | None = None) -> dict[str, Any]:
    """The training settings of ``task`` under ``preset`` with ``overrides`` applied.

    Raises
    ------
    ColdstartError
        On an unknown task, preset or override key.
    """
    if task not in TASKS:
        raise ColdstartError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    if preset not in PRESETS:
        raise ColdstartError(f"unknown preset {preset!r}: choose one of {', '.join(sorted(PRESETS))}")
    params = dict(PRESETS[preset][task])
    check_known_keys("training setting", overrides or {}, sorted(params), f" for task {task!r}")
    params.update(overrides or {})
    if task == "segmentation" and int(params["size"]) % 32:
        raise ColdstartError(f"size={params['size']} for segmentation must be a multiple of 32 (U-Net): e.g. 64, 128, 256")
    _check_values(params)
    return params


def _check_values(params: dict) -> None:
    from .torchloop import NORMALIZE, PRETRAINED

    for k, valid in {"pretrained": PRETRAINED, "normalize": NORMALIZE}.items():
        if k in params and params[k] not in valid:
            extra = " ('auto' was removed: choose explicitly)" if params[k] == "auto" else ""
            raise ColdstartError(f"training setting {k}={params[k]!r}{extra}: choose one of {', '.join(valid)}")
    if "lr_patience" in params and int(params["lr_patience"]) < 1:
        raise ColdstartError(f"lr_patience={params['lr_patience']} must be >= 1 (epochs without validation "
                             "improvement before the LR is halved; the paper: 10)")
    if "mc_samples" in params and int(params["mc_samples"]) < 2:
        raise ColdstartError(f"mc_samples={params['mc_samples']} must be >= 2 (MC-dropout passes for 'bald')")
    if "include_negatives" in params and not isinstance(params["include_negatives"], bool):
        raise ColdstartError(f"include_negatives={params['include_negatives']!r} must be true or false")
