"""The embedder contract.

An embedder has a ``key`` (name + weights id + preprocessing version + input
size: the cache key), ``available() -> (ok, reason)`` and
``embed(dataset, device, batch_size, progress, indices=None) -> float32 (N, D)``.
A registry maps names to factories; ``ssl-pool:<model-id>`` and
``file:<path>`` are parameterised names.

``indices`` (added for the chunked, resumable cache) restricts the embedding
to those manifest rows, in that order; None means every row.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..errors import ColdstartError


class Embedder(Protocol):
    name: str
    key: str
    dim: int | None
    summary: str

    def available(self) -> tuple[bool, str]: ...

    def embed(self, dataset, device: str = "cpu", batch_size: int = 32, progress=None,
              indices=None) -> np.ndarray: ...


def resolve_device(device: str | None) -> str:
    """``None`` -> ``"cuda"`` when a GPU is present else ``"cpu"``; validates explicit names."""
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ColdstartError(f"device={device!r} but no CUDA GPU is visible: use --device cpu")
    if device.startswith("mps") and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ColdstartError(f"device={device!r} but MPS is not available: use --device cpu")
    try:
        torch.device(device)
    except RuntimeError:
        raise ColdstartError(f"device={device!r} is not a torch device: use cpu, cuda or cuda:N") from None
    return device


def check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ColdstartError(f"batch_size={batch_size!r} must be a positive integer (e.g. 32)")
    return int(batch_size)
