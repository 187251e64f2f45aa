"""Training presets as data: ``paper`` (the paper's settings) and ``quick`` (CPU-sized).

``paper`` follows Yuan & Hong and the authors' code: SGD (lr 1e-3 classification,
1e-2 segmentation), momentum 0.9, batch 10, 100 epochs, LR halved after 10 epochs
without validation improvement, pixels divided by 255 (``normalize="none"``), VGG-11
from ImageNet weights, films scored by the sigmoid of the class-1 logit (``score="sigmoid"``),
segmentation at 224 px, the segmentation cohort restricted to positive images, the authors'
bootstrap SE (``se="ci95"``), 10 pooled random draws, and AL rounds that query the
probabilities nearest the decision threshold (``threshold``).
docs/fidelity.md lists every element and how to switch it.

Every setting is declared in :data:`TRAINING_PARAMS` (type, bounds, help) and overridable through a
run config's ``train`` mapping; unknown keys are refused with the list of valid ones, bad values
with the setting, the value and the fix.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ColdstartError
from ..metrics import SE_KINDS
from ..params import Param, check_known_keys
from .torchloop import NORMALIZE, PRETRAINED

TASKS = ("probe", "classification", "segmentation")
#: VGG-11 classifier heads: ``paper`` (the torchvision classifier, last layer replaced) or ``gap``.
HEADS = ("paper", "gap")
#: How a film is scored from the 2-output head: ``sigmoid`` of the class-1 logit (the authors' code,
#: ``torch.sigmoid(outputs)[:, 1]``; the ``paper`` preset) or the ``softmax`` probability of class 1
#: (a proper probability; the ``quick`` preset). They rank films differently.
SCORES = ("sigmoid", "softmax")

#: Every training setting, declared as data (type, bounds, help); :func:`resolve_params` checks each
#: value against its row, so a bad one gets the setting, the value and the fix.
TRAINING_PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("C", float, 1.0, "probe: inverse L2 regularisation strength of the logistic regression",
          low=0, low_open=True),
    Param("max_iter", int, 2000, "probe: iterations of the logistic regression solver", low=1),
    Param("size", int, 224, "image side in pixels the network trains and is evaluated at "
          "(segmentation: a multiple of 32)", low=8),
    Param("epochs", int, 100, "training epochs (the best validation epoch is kept)", low=1),
    Param("lr", float, 1e-3, "SGD learning rate (the paper: 1e-3 classification, 1e-2 segmentation)",
          low=0, low_open=True),
    Param("momentum", float, 0.9, "SGD momentum", low=0, high=1, high_open=True),
    Param("batch_size", int, 10, "training batch size (the paper's text: 10)", low=1),
    Param("lr_patience", int, 10, "epochs without validation improvement before the LR is multiplied by "
          "lr_factor (the paper: 10)", low=1),
    Param("lr_factor", float, 0.5, "factor the LR is multiplied by on a plateau (the paper: 0.5)",
          low=0, high=1, low_open=True, high_open=True),
    Param("pretrained", str, "imagenet", "initial weights: imagenet (the paper; the file must exist) or none "
          "(random initialisation)", choices=PRETRAINED),
    Param("device", str, "auto", "where to train: auto, cpu, cuda, cuda:N or mps"),
    Param("amp", bool, True, "mixed precision on CUDA"),
    Param("eval_batch_size", int, 64, "batch size when scoring validation, test and pool images", low=1),
    Param("normalize", str, "none", "input scaling: none (the paper: pixels / 255) or imagenet (mean/std)",
          choices=NORMALIZE),
    Param("mc_samples", int, 20, "MC-dropout passes of the 'bald' round strategy", low=2),
    Param("head", str, "paper", "VGG-11 head: paper (the torchvision classifier) or gap (CPU-sized)",
          choices=HEADS),
    Param("score", str, "sigmoid", "how a film is scored: sigmoid of the class-1 logit (the authors' code) "
          "or softmax probability of class 1", choices=SCORES),
    Param("include_negatives", bool, False, "segmentation: keep images without a finding in pool, "
          "validation and test (the paper: false, positives only)"),
    Param("se", str, "ci95", "the bootstrap SE: ci95 (the authors': (P97.5 - P2.5) / 3.92) or sd "
          "(standard deviation of the draws)", choices=tuple(SE_KINDS)),
)}

#: ``lr_patience``: epochs without validation improvement before the LR is multiplied by ``lr_factor``.
#: ``pretrained``: "imagenet" (the paper; the weights file must exist) or "none" (random initialisation).
#: ``normalize``: "none" (the paper: pixels / 255) or "imagenet" (ImageNet mean/std standardisation).
_TORCH_COMMON = dict(momentum=0.9, batch_size=10, lr_patience=10, lr_factor=0.5,
                     pretrained="imagenet", device="auto", amp=True, eval_batch_size=64, normalize="none")
#: classification: ``mc_samples`` = T, the MC-dropout passes of the ``bald`` round strategy.
_CLS = dict(mc_samples=20)
#: segmentation: ``include_negatives`` = False is the paper's cohort (positive images only).
_SEG = dict(include_negatives=False)

#: ``paper``: the paper's settings (classification scored by the sigmoid of the class-1 logit, as the
#: authors' code; segmentation at 224 px, the size their code assumes; the authors' bootstrap SE).
#: ``quick`` is CPU-sized: small images, few epochs, and for classification the VGG-11 features with a
#: global-average-pool linear head (``head="gap"``) instead of the 128M-parameter classifier
#: (``head="paper"``); set ``train: {head: paper}`` to keep the paper's head at quick sizes.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "probe": dict(C=1.0, max_iter=2000, se="ci95"),
        "classification": dict(_TORCH_COMMON, **_CLS, size=224, epochs=100, lr=1e-3, head="paper",
                               score="sigmoid", se="ci95"),
        "segmentation": dict(_TORCH_COMMON, **_SEG, size=224, epochs=100, lr=1e-2, se="ci95"),
    },
    "quick": {
        "probe": dict(C=1.0, max_iter=2000, se="sd"),
        "classification": dict(_TORCH_COMMON, **_CLS, size=64, epochs=8, lr=1e-3, lr_patience=3, head="gap",
                               normalize="imagenet", score="softmax", se="sd"),
        "segmentation": dict(_TORCH_COMMON, **_SEG, size=64, epochs=8, lr=1e-2, lr_patience=3, normalize="imagenet",
                             se="sd"),
    },
}

#: The preset a run gets when its config names none. ``quick`` (CPU-sized) so that a first run on a
#: laptop finishes; it is never silent: the CLI prints it, the report header and config.json name it,
#: and a classification or segmentation run that names no preset gets :func:`preset_notice` once.
DEFAULT_PRESET = "quick"

#: Random draws a run trains and pools per seed and budget for method ``random`` when its
#: ``selector_params`` name none: the authors average 10 draws (their random-sampling script).
RANDOM_DRAWS = {"paper": 10, "quick": 1}

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


def resolve_params(task: str, preset: str = DEFAULT_PRESET, overrides: dict | None = None) -> dict[str, Any]:
    """The training settings of ``task`` under ``preset`` with ``overrides`` applied, each checked
    against its :data:`TRAINING_PARAMS` row.

    Raises
    ------
    ColdstartError
        On an unknown task, preset or override key, or a value outside its declaration.
    """
    if task not in TASKS:
        raise ColdstartError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    if preset not in PRESETS:
        raise ColdstartError(f"unknown preset {preset!r}: choose one of {', '.join(sorted(PRESETS))}")
    params = dict(PRESETS[preset][task])
    check_known_keys("training setting", overrides or {}, sorted(params), f" for task {task!r}")
    params.update(overrides or {})
    for k, v in params.items():
        if k == "pretrained" and v == "auto":
            raise ColdstartError(f"training setting pretrained='auto' was removed: choose one of {', '.join(PRETRAINED)} explicitly")
        replace(TRAINING_PARAMS[k], default=PRESETS[preset][task][k]).check(v, task, f"preset {preset!r}, task")
    if task == "segmentation" and int(params["size"]) % 32:
        raise ColdstartError(f"size={params['size']} for segmentation must be a multiple of 32 (U-Net): e.g. 64, 128, 224")
    return params


def preset_summary(preset: str, task: str) -> str:
    """One line naming ``preset`` and what it means for ``task`` (the CLI prints it at the start of a run;
    the Train page can show it).

    Examples
    --------
    >>> preset_summary("quick", "classification")[:60]
    'preset quick (CPU-sized, not the paper\'s protocol): size=64, '
    """
    p = PRESETS[preset][task]
    what = "the paper's protocol" if preset == "paper" else "CPU-sized, not the paper's protocol"
    keys = [k for k in ("size", "epochs", "lr", "batch_size", "lr_patience", "head", "score", "normalize") if k in p]
    keys = keys or ["C", "max_iter"]
    return (f"preset {preset} ({what}): " + ", ".join(f"{k}={p[k]}" for k in keys)
            + f", SE {p['se']}; clustering {CLUSTERING[preset]}, AL rounds {DEFAULT_STRATEGY[preset]}, "
            f"random draws {RANDOM_DRAWS[preset]}")


def preset_notice(task: str) -> str:
    """The one-time notice of a classification or segmentation run that names no preset."""
    return (f"no preset named, so this {task} run uses the default {preset_summary(DEFAULT_PRESET, task)}. "
            "For the paper's protocol give --preset paper (or preset: paper in the run config)")


def default_seeds(preset: str) -> list[int]:
    """The seeds a new run of ``preset`` starts with: the paper fixes every seed at 2024."""
    return [2024] if preset == "paper" else [0, 1, 2, 3, 4]
