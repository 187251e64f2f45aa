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


def safe_name(text, what: str = "name", taken=(), fallback: str = "unnamed") -> str:
    """``text`` made into a name :func:`validate_name` accepts: other characters become ``-``, at most
    64 characters, ``fallback`` when nothing is left; with ``taken``, the first of ``name``, ``name-2``,
    ``name-3``... not in it. Session names, export folder and file names all go through it.

    >>> safe_name("Alice Smith"), safe_name("../x"), safe_name("bob", taken={"bob"})
    ('Alice-Smith', 'x', 'bob-2')
    """
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text).strip())
    base = re.sub(r"\.{2,}", ".", base).strip("-._")[:56].strip("-._") or fallback
    taken = set(taken)
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return validate_name(name, what)


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Folder of dataset ``name`` under the data root (not checked for existence)."""
    return data_root(root) / validate_name(name)


def weights_dir() -> Path:
    """Local folder searched first for model weights: ``$COLDSTART_WEIGHTS`` or ``<data root>/weights``."""
    env = os.environ.get("COLDSTART_WEIGHTS")
    return Path(env).expanduser().resolve() if env else data_root() / "weights"
