"""Device choice: CUDA (with AMP and channels_last) when present, else CPU."""

from __future__ import annotations


def resolve_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when available, else ``"cpu"``."""
    import torch

    if device and device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            from ..errors import ColdstartError

            raise ColdstartError(f"device={device!r} requested but CUDA is not available: use device='cpu' or 'auto'")
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and make CPU kernels deterministic where cheap."""
    import torch

    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))
