"""Torch set-up for every torch step (embedding, training): the device (CUDA when present, else CPU) and the seed."""

from __future__ import annotations

from .errors import ColdstartError


def resolve_device(device: str | None = None) -> str:
    """``None``/``"auto"`` -> ``"cuda"`` when a GPU is present else ``"cpu"``; explicit names are validated.

    Raises
    ------
    ColdstartError
        When the device is not a torch device or is not present (CUDA, MPS).
    """
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ColdstartError(f"device={device!r} but no CUDA GPU is visible: use device 'cpu' or 'auto'")
    if device.startswith("mps") and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ColdstartError(f"device={device!r} but MPS is not available: use device 'cpu' or 'auto'")
    try:
        torch.device(device)
    except RuntimeError:
        raise ColdstartError(f"device={device!r} is not a torch device: use cpu, cuda or cuda:N") from None
    return device


def seed_everything(seed: int) -> None:
    """Seed torch's CPU generator and, when a GPU is present, every CUDA generator with ``seed``."""
    import torch

    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))
