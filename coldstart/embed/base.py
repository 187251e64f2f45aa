"""The embedder contract.

An embedder has a ``key`` (name + weights id + preprocessing version + input
size: the cache key), ``available() -> (ok, reason)`` and
``embed(dataset, device, batch_size, progress) -> float32 (N, D)``.
A registry maps names to factories; ``ssl-pool:<model-id>`` and
``file:<path>`` are parameterised names.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    key: str
    dim: int | None
    summary: str

    def available(self) -> tuple[bool, str]: ...

    def embed(self, dataset, device: str = "cpu", batch_size: int = 32, progress=None) -> np.ndarray: ...
