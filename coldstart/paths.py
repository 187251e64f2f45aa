"""Where things live on disk: the data root, dataset folders and name validation."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ColdstartError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def data_root(override: str | os.PathLike | None = None) -> Path:
    """The data root: ``override``, else ``$COLDSTART_DATA``, else ``./data``."""
    root = override or os.environ.get("COLDSTART_DATA") or "data"
    return Path(root).expanduser().resolve()


def validate_name(name: str, what: str = "dataset name") -> str:
    """Return ``name`` if it is a safe folder name, else raise ColdstartError.

    Names come from the CLI and the browser, so they must never reach outside
    the data root (no ``/``, ``..``, leading dots or odd characters).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise ColdstartError(
            f"{what} {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. 'phantom' or 'chestx_det')."
        )
    return name


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Folder of dataset ``name`` under the data root (not checked for existence)."""
    return data_root(root) / validate_name(name)


def weights_dir() -> Path:
    """Local folder searched first for model weights: ``$COLDSTART_WEIGHTS`` or ``<data root>/weights``."""
    env = os.environ.get("COLDSTART_WEIGHTS")
    return Path(env).expanduser().resolve() if env else data_root() / "weights"
