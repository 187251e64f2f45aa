"""Seeding torch for a training (the device choice is :func:`coldstart.device.resolve_device`)."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and make CPU kernels deterministic where cheap."""
    import torch

    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))
