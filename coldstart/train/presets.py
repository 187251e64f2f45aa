"""Training presets as data: ``paper`` (the paper's settings) and ``quick`` (CPU-sized).

Every value is overridable through a run config's ``train`` mapping; unknown
keys are refused with the list of valid ones.
"""

from __future__ import annotations

from typing import Any

from ..errors import ColdstartError
from ..params import check_known_keys

TASKS = ("probe", "classification", "segmentation")

_TORCH_COMMON = dict(momentum=0.9, batch_size=10, lr_patience=10, lr_factor=0.5,
                     pretrained="auto", device="auto", amp=True, eval_batch_size=64)

#: ``quick`` is CPU-sized: small images, few epochs, and for classification the VGG-11 features with a
#: global-average-pool linear head (``head="gap"``) instead of the 128M-parameter classifier
#: (``head="paper"``); set ``train: {head: paper}`` to keep the paper's head at quick sizes.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "probe": dict(C=1.0, max_iter=2000),
        "classification": dict(_TORCH_COMMON, size=224, epochs=100, lr=1e-3, head="paper"),
        "segmentation": dict(_TORCH_COMMON, size=256, epochs=100, lr=1e-2),
    },
    "quick": {
        "probe": dict(C=1.0, max_iter=2000),
        "classification": dict(_TORCH_COMMON, size=64, epochs=8, lr=1e-3, lr_patience=3, head="gap"),
        "segmentation": dict(_TORCH_COMMON, size=64, epochs=8, lr=1e-2, lr_patience=3),
    },
}


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
    return params
