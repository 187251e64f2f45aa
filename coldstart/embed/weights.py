"""Local-first lookup of model weight files.

Every weight file an embedder needs is described once (:data:`WEIGHTS`):
its exact file name, where it comes from and which folders may already hold
it. Lookup never touches the network; it searches, in order,

1. ``$COLDSTART_WEIGHTS`` (default ``<data root>/weights/``), the folder this
   project documents for users to drop files into;
2. the library's own cache: torchxrayvision's
   ``~/.torchxrayvision/models_data/`` or torch hub's ``<hub dir>/checkpoints/``.

When nothing is found, :func:`missing_reason` says exactly which file to put
where, and where to download it. :func:`download` is the only network path:
under a file lock (two sessions clicking at once get one good file) it writes
``<file>.part``, checks the byte count against ``Content-Length``, the
recorded size and sha256 where the table has them, and for torchvision files
the sha256 prefix in the file name (``torch.hub.download_url_to_file(...,
hash_prefix=...)`` semantics); only a file that passes is renamed into place,
and one that fails is deleted with a message saying why.

Note on file formats: the official torchxrayvision DenseNet files are whole
pickled ``nn.Module`` objects, not state dicts. They are first read with
``torch.load(weights_only=True)`` and an allow-list of the model's own
classes; only if that fails are they fully unpickled, and only from the
folders above (the user's own weights folders), never from a dataset or an
upload. Every other file (TXRV ResNet-50, autoencoder, torchvision DenseNet,
ssl-pool models) is a state dict loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ColdstartError, MissingWeightsError
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
    approx_mb: int | None = None  # shown before a download starts (the server's length is checked)
    size: int | None = None  # exact byte count, where the project records one
    sha256: str | None = None  # full sha256, where the project records one
    extra: dict = field(default_factory=dict)

    @property
    def hash_prefix(self) -> str | None:
        """The sha256 prefix torchvision puts in its file names (``densenet121-a639ec97.pth``)."""
        if self.library_cache != "torch-hub":
            return None
        m = _HASH_IN_NAME.search(self.filename)
        return m.group(1) if m else None

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
        return f"weights not found: {self.manual()}"

    def manual(self) -> str:
        """The manual alternative to a download: which file, into which folder, from where."""
        f = self.folders()
        size = f" (about {self.approx_mb} MB)" if self.approx_mb else ""
        return (f"put {self.filename} in {f[0]} (the $COLDSTART_WEIGHTS folder; {f[1]} works too): "
                f"download it from {self.url}{size} on a machine with internet, or press Download "
                f"in the app, or run `coldstart weights download {self.id}`")


_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


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
                "pickled-module", "torchxrayvision", "TorchXRayVision DenseNet-121, all datasets, 224 px",
                approx_mb=28),
    WeightsFile("txrv-resnet50-res512-all",
                "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt",
                _TXRV + "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt",
                "state-dict", "torchxrayvision", "TorchXRayVision ResNet-50, 512 px", approx_mb=95),
    WeightsFile("txrv-resnet101-elastic",
                "nihpcrsnamimic_ch-resnet101-2-ae-test2-elastic-e250.pt",
                _TXRV + "nihpcrsnamimic_ch-resnet101-2-ae-test2-elastic-e250.pt",
                "state-dict", "torchxrayvision", "TorchXRayVision ResNet-101 autoencoder (elastic), 224 px",
                approx_mb=200),
    WeightsFile("torchvision-densenet121-imagenet",
                "densenet121-a639ec97.pth",
                "https://download.pytorch.org/models/densenet121-a639ec97.pth",
                "state-dict", "torch-hub", "torchvision DenseNet-121 ImageNet-1k (IMAGENET1K_V1)", approx_mb=31),
    # not an embedder: the ImageNet VGG-11 the training tasks can start from (found via this table)
    WeightsFile("torchvision-vgg11-imagenet",
                "vgg11-8a719046.pth",
                "https://download.pytorch.org/models/vgg11-8a719046.pth",
                "state-dict", "torch-hub", "torchvision VGG-11 ImageNet-1k (IMAGENET1K_V1)", approx_mb=507),
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
        raise MissingWeightsError(w.missing_reason())
    return p


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while b := fh.read(chunk):
            h.update(b)
    return h.hexdigest()


def verify(w: WeightsFile, path: Path) -> str | None:
    """None when ``path`` passes every check the table allows for ``w``, else the reason."""
    n = path.stat().st_size
    if n == 0:
        return "the file is empty"
    if w.size is not None and n != w.size:
        return f"it has {n:,} bytes, expected {w.size:,}"
    if w.sha256 is None and w.hash_prefix is None:
        return None
    digest = sha256_of(path)
    if w.sha256 is not None and digest != w.sha256:
        return f"its sha256 is {digest}, expected {w.sha256}"
    if w.hash_prefix is not None and not digest.startswith(w.hash_prefix):
        return (f"its sha256 {digest[:16]}... does not start with {w.hash_prefix}, "
                "the hash prefix in the file name")
    return None


def record(weights_id: str) -> dict | None:
    """``{id, file, sha256, bytes}`` of the present file, for the metadata of what it produced."""
    w = get_weights(weights_id)
    p = w.find()
    if p is None:
        return None
    return dict(id=w.id, file=str(p), sha256=sha256_of(p), bytes=p.stat().st_size)


def download(weights_id: str, progress=None, timeout: float = 30.0) -> Path:
    """Download a weight file into ``$COLDSTART_WEIGHTS`` (the only network path; needs internet).

    Parameters
    ----------
    weights_id : str
        A key of :data:`WEIGHTS`.
    progress : None, True or callable(done_bytes, total_bytes, message)
        True = a tqdm bar (CLI); a callable drives a page's progress bar.
    timeout : float
        Seconds without data before the connection counts as failed.

    Returns
    -------
    Path
        The local file; an existing copy is returned without any download.

    Raises
    ------
    ColdstartError
        Offline, proxy or HTTP errors, a truncated transfer, or a file failing
        its check; the message names the manual alternative, and nothing
        half-written is left behind.
    """
    w = get_weights(weights_id)
    have = w.find()
    if have is not None:
        return have
    from filelock import FileLock

    dest = weights_dir() / w.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        have = w.find()  # another process or session finished while we waited
        if have is not None:
            return have
        part = dest.with_name(dest.name + ".part")
        try:
            _fetch(w, part, progress, timeout)
            bad = verify(w, part)
            if bad:
                raise ColdstartError(f"the downloaded {w.filename} failed its check ({bad}) and was "
                                     f"deleted: try again, or {w.manual()}")
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
    return dest


def _fetch(w: WeightsFile, part: Path, progress, timeout: float) -> None:
    """Stream ``w.url`` into ``part``; a transfer shorter than announced is an error."""
    import http.client
    import urllib.error
    import urllib.request

    from ..progress import Progress

    req = urllib.request.Request(w.url, headers={"User-Agent": "coldstart"})
    done = 0
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r, open(part, "wb") as fh:
            total = int(r.headers.get("Content-Length") or 0)
            with Progress(progress, total, f"downloading {w.filename}", unit="B") as bar:
                while chunk := r.read(1 << 20):
                    fh.write(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise ColdstartError(f"the server answered HTTP {e.code} {e.reason} for {w.url}: nothing was "
                             f"saved; {w.manual()}") from None
    except urllib.error.URLError as e:
        why = str(e.reason)
        hint = ("a proxy refused the connection (check $HTTPS_PROXY / $HTTP_PROXY)" if "proxy" in why.lower()
                or "tunnel" in why.lower() else "no internet here, or a firewall blocks it")
        raise ColdstartError(f"could not reach {w.url} ({why}): {hint}. Nothing was saved; "
                             f"{w.manual()}") from None
    except (OSError, http.client.HTTPException) as e:
        raise ColdstartError(f"the download of {w.url} failed after {done:,} bytes ({type(e).__name__}: "
                             f"{e}): the partial file was deleted; {w.manual()}") from None
    if total and done != total:
        raise ColdstartError(f"the download of {w.url} stopped after {done:,} of {total:,} bytes: the "
                             f"partial file was deleted; try again, or {w.manual()}")
