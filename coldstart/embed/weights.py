"""Local-first lookup of model weight files.

Every weight file an embedder needs is described once (:data:`WEIGHTS`):
its exact file name, where it comes from and which folders may already hold
it. Lookup never touches the network; it searches, in order,

1. ``$COLDSTART_WEIGHTS`` (default ``<data root>/weights/``), the folder this
   project documents for users to drop files into;
2. the library's own cache: torchxrayvision's
   ``~/.torchxrayvision/models_data/`` or torch hub's ``<hub dir>/checkpoints/``.

When nothing is found, :func:`missing_reason` says exactly which file to put
where, and where to download it. :func:`download` is the only network path;
it writes to ``<file>.part`` and renames on success, so a torn download never
counts as present.

Note on file formats: the official torchxrayvision DenseNet files are whole
pickled ``nn.Module`` objects, not state dicts. They are first read with
``torch.load(weights_only=True)`` and an allow-list of the model's own
classes; only if that fails are they fully unpickled, and only from the
folders above (the user's own weights folders), never from a dataset or an
upload. Every other file (TXRV ResNet-50, autoencoder, torchvision DenseNet,
ssl-pool models) is a state dict loaded with ``weights_only=True``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ColdstartError
from ..paths import weights_dir


@dataclass(frozen=True)
class WeightsFile:
    """One weight file: exact name, source URL, format and library cache."""

    id: str
    filename: str
    url: str
    fmt: str  # "pickled-module" | "state-dict"
    library_cache: str  # "torchxrayvision" | "torch-hub"
    description: str = ""
    extra: dict = field(default_factory=dict)

    def folders(self) -> list[Path]:
        """Folders searched, in order (the first is where users should put the file)."""
        return [weights_dir(), _library_cache(self.library_cache)]

    def find(self) -> Path | None:
        """The first existing (non-empty) copy of the file, or None. No network."""
        for folder in self.folders():
            p = folder / self.filename
            if p.is_file() and p.stat().st_size > 0:
                return p
        return None

    def missing_reason(self) -> str:
        f = self.folders()
        return (f"weights not found: put {self.filename} in {f[0]} (or {f[1]}); "
                f"download it from {self.url}")


def _library_cache(lib: str) -> Path:
    if lib == "torchxrayvision":
        # torchxrayvision.utils.get_cache_dir(), without importing the library
        return Path(os.path.expanduser(os.path.join("~", ".torchxrayvision", "models_data")))
    if lib == "torch-hub":
        return Path(_torch_hub_dir()) / "checkpoints"
    raise ValueError(f"unknown library cache {lib!r}")


def _torch_hub_dir() -> str:
    # torch.hub.get_dir() without importing torch: $TORCH_HOME or $XDG_CACHE_HOME/torch or ~/.cache/torch
    home = os.environ.get("TORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
        home = os.path.join(xdg, "torch")
    return os.path.join(os.path.expanduser(home), "hub")


_TXRV = "https://github.com/mlmed/torchxrayvision/releases/download/v1/"

#: Registry of weight files, by id (a table, not code).
WEIGHTS: dict[str, WeightsFile] = {w.id: w for w in [
    WeightsFile("txrv-densenet121-res224-all",
                "nih-pc-chex-mimic_ch-google-openi-kaggle-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt",
                _TXRV + "nih-pc-chex-mimic_ch-google-openi-kaggle-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt",
                "pickled-module", "torchxrayvision", "TorchXRayVision DenseNet-121, all datasets, 224 px"),
    WeightsFile("txrv-resnet50-res512-all",
                "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt",
                _TXRV + "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt",
                "state-dict", "torchxrayvision", "TorchXRayVision ResNet-50, 512 px"),
    WeightsFile("txrv-resnet101-elastic",
                "nihpcrsnamimic_ch-resnet101-2-ae-test2-elastic-e250.pt",
                _TXRV + "nihpcrsnamimic_ch-resnet101-2-ae-test2-elastic-e250.pt",
                "state-dict", "torchxrayvision", "TorchXRayVision ResNet-101 autoencoder (elastic), 224 px"),
    WeightsFile("torchvision-densenet121-imagenet",
                "densenet121-a639ec97.pth",
                "https://download.pytorch.org/models/densenet121-a639ec97.pth",
                "state-dict", "torch-hub", "torchvision DenseNet-121 ImageNet-1k (IMAGENET1K_V1)"),
    # not an embedder: the ImageNet VGG-11 the training tasks can start from (found via this table)
    WeightsFile("torchvision-vgg11-imagenet",
                "vgg11-8a719046.pth",
                "https://download.pytorch.org/models/vgg11-8a719046.pth",
                "state-dict", "torch-hub", "torchvision VGG-11 ImageNet-1k (IMAGENET1K_V1)"),
]}


def get_weights(weights_id: str) -> WeightsFile:
    try:
        return WEIGHTS[weights_id]
    except KeyError:
        raise ColdstartError(f"unknown weights {weights_id!r}: choose one of {sorted(WEIGHTS)}") from None


def require(weights_id: str) -> Path:
    """Path of a present weight file, else ColdstartError saying what to put where."""
    w = get_weights(weights_id)
    p = w.find()
    if p is None:
        raise ColdstartError(w.missing_reason())
    return p


def download(weights_id: str, progress=None, timeout: float = 30.0) -> Path:
    """Download a weight file into ``$COLDSTART_WEIGHTS`` (needs internet).

    Writes ``<file>.part`` and renames it into place only when complete.
    Returns the local path; an existing copy is returned without any download.
    """
    w = get_weights(weights_id)
    have = w.find()
    if have is not None:
        return have
    import urllib.request

    from ..progress import Progress

    dest = weights_dir() / w.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(w.url, timeout=timeout) as r, open(part, "wb") as fh:
            total = int(r.headers.get("Content-Length") or 0)
            with Progress(progress, total, f"downloading {w.filename}") as p:
                while chunk := r.read(1 << 20):
                    fh.write(chunk)
                    p.update(len(chunk))
    except OSError as e:
        raise ColdstartError(f"could not download {w.url} ({e}); {w.missing_reason()}") from e
    os.replace(part, dest)
    return dest
