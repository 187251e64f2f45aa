"""Shared machinery for neural embedders: a DataLoader over the dataset, batched inference.

A :class:`TorchEmbedder` subclass says how to build its model
(:meth:`build_model`), how to turn one float32 [0, 1] image into a network
input (:meth:`preprocess`, run in DataLoader workers) and how to get pooled
features from a batch (:meth:`forward`). This module does the rest:
workers, ``torch.inference_mode``, and on CUDA AMP (float16), channels_last
and pinned memory with non-blocking copies.
"""

from __future__ import annotations

import os

import numpy as np

from ..progress import Progress
from .base import check_batch_size, resolve_device


class _ImageSet:
    """Map-style dataset: decode row ``indices[k]`` at ``load_size`` and preprocess it."""

    def __init__(self, dataset, indices, load_size, preprocess):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=int)
        self.load_size = load_size
        self.preprocess = preprocess

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, k):
        img = self.dataset.load_image(int(self.indices[k]), self.load_size)
        return np.ascontiguousarray(self.preprocess(img), dtype=np.float32)


def default_workers(device: str, n: int) -> int:
    """Loader workers: several on GPU; on CPU one spare worker when there are >2 cores."""
    cpus = os.cpu_count() or 1
    if n <= 64:
        return 0
    if device.startswith("cuda"):
        return max(1, min(8, cpus - 1))
    return 0 if cpus <= 2 else min(4, cpus // 2)


def _collate(items):
    import torch

    return torch.from_numpy(np.stack(items))


def make_loader(dataset, indices, load_size, preprocess, batch_size, device, num_workers=None):
    import torch

    ds = _ImageSet(dataset, indices, load_size, preprocess)
    nw = default_workers(device, len(ds)) if num_workers is None else int(num_workers)
    return torch.utils.data.DataLoader(
        ds, batch_size=batch_size, shuffle=False, num_workers=nw,
        pin_memory=device.startswith("cuda"), persistent_workers=False,
        prefetch_factor=4 if nw > 0 else None,
        collate_fn=_collate)


class TorchEmbedder:
    """Base class for model embedders (see module docstring)."""

    name: str = ""
    key: str = ""
    dim: int | None = None
    summary: str = ""
    weights_id: str | None = None
    load_size: int | None = None  # size asked from Dataset.load_image (None = native)
    default_batch_size: int = 16

    def __init__(self):
        self._models: dict[str, object] = {}

    # -- to implement --------------------------------------------------
    def build_model(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def preprocess(self, img: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, model, x):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- protocol ------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        if self.weights_id is None:
            return True, "ready"
        from .weights import get_weights

        w = get_weights(self.weights_id)
        p = w.find()
        return (True, f"weights: {p}") if p is not None else (False, w.missing_reason())

    def model(self, device: str = "cpu"):
        """The loaded model on ``device`` in eval mode (built once per embedder object)."""
        if device not in self._models:
            import torch

            m = self._build_checked().eval().to(device)
            if device.startswith("cuda"):
                m = m.to(memory_format=torch.channels_last)
            self._models[device] = m
        return self._models[device]

    def _build_checked(self):
        """:meth:`build_model`, turning an unreadable or unsafe weights file into a ColdstartError."""
        import pickle

        try:
            return self.build_model()
        except (pickle.UnpicklingError, EOFError, RuntimeError) as e:
            if self.weights_id is None:
                raise
            from ..errors import ColdstartError
            from .weights import get_weights

            w = get_weights(self.weights_id)
            if isinstance(e, pickle.UnpicklingError):
                why = "it names Python objects outside the allowed weight types"
            else:
                why = (str(e).strip().splitlines() or [""])[0][:160]
            raise ColdstartError(
                f"the weights file {w.find()} of {self.name!r} cannot be loaded safely ({type(e).__name__}: "
                f"{why}): it is torn, belongs to another model, or would need unsafe unpickling. Replace it "
                f"with the official {w.filename} from {w.url}") from None

    def embed(self, dataset, device=None, batch_size=None, progress=None, indices=None,
              num_workers=None) -> np.ndarray:
        import torch

        device = resolve_device(device)
        batch_size = check_batch_size(batch_size or self.default_batch_size)
        indices = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=int)
        model = self.model(device)
        loader = make_loader(dataset, indices, self.load_size, self.preprocess, batch_size, device,
                             num_workers)
        out = []
        cuda = device.startswith("cuda")
        with Progress(progress, len(indices), f"embedding {self.name}") as p, torch.inference_mode():
            for x in loader:
                out.append(self.run_batch(model, x, device, cuda))
                p.update(len(x))
        if not out:
            return np.zeros((0, self.dim or 0), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def run_batch(self, model, x, device: str, cuda: bool) -> np.ndarray:
        """Features of one preprocessed batch (also used by the benchmark's bare-forward timing)."""
        import torch

        if cuda:
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.float16):
                f = self.forward(model, x)
        else:
            f = self.forward(model, x.to(device))
        return f.float().cpu().numpy()
