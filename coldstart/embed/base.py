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

from ..device import resolve_device  # noqa: F401 - the embedders' import of the one device choice
from ..errors import ColdstartError


class Embedder(Protocol):
    name: str
    key: str
    dim: int | None
    summary: str

    def available(self) -> tuple[bool, str]: ...

    def embed(self, dataset, device: str = "cpu", batch_size: int = 32, progress=None,
              indices=None) -> np.ndarray: ...


def check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ColdstartError(f"batch_size={batch_size!r} must be a positive integer (e.g. 32)")
    return int(batch_size)
