"""The embedding cache: ``<dataset>/cache/emb/<key>.npy`` + ``<key>.json``.

* A second request is a file read (:func:`cached_embeddings` never computes).
* The ``.json`` holds shape, dtype, manifest hash, embedder key and name,
  the weights file with its sha256, library versions and seconds; a changed
  manifest invalidates the entry.
* Work is done in chunks saved under ``<key>.parts/``, so an interrupted job
  resumes where it stopped; the final arrays are written atomically.
* A file lock (``<key>.lock``) serialises writers: a second process asking
  for the same key waits, then reads what the first one wrote.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from importlib import metadata

import numpy as np

from ..errors import ColdstartError
from ..io import load_npy, read_json, save_npy, write_json
from ..progress import Progress
from .base import check_batch_size
from .weights import record
from .registry import _as_dataset, get_embedder

DEFAULT_CHUNK = 256
_VERSIONED = ("coldstart", "numpy", "torch", "torchvision", "torchxrayvision", "lightly")


def _paths(ds, key: str):
    d = ds.cache_dir("emb")
    return d / f"{key}.npy", d / f"{key}.json", d / f"{key}.parts", d / f"{key}.lock"


def _versions() -> dict:
    out = {}
    for p in _VERSIONED:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def _read(ds, key: str):
    npy, js, _, _ = _paths(ds, key)
    if not (npy.is_file() and js.is_file()):
        return None
    try:
        meta = read_json(js)
    except (OSError, ValueError):
        return None
    if meta.get("key") != key or meta.get("manifest_hash") != ds.manifest_hash:
        return None
    try:
        x = load_npy(npy)
    except (OSError, ValueError):
        return None
    if list(x.shape) != list(meta.get("shape", [])) or x.shape[0] != len(ds):
        return None
    return x


def cached_embeddings(dataset, name: str):
    """The cached embeddings of ``dataset`` by ``name``, or None. Never computes (fast page loads)."""
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    if not e.available()[0]:
        return None
    return _read(ds, e.key)


def cache_info(dataset, name: str) -> dict | None:
    """The ``.json`` of a valid cache entry, or None."""
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    if not e.available()[0] or _read(ds, e.key) is None:
        return None
    return read_json(_paths(ds, e.key)[1])


def load_embeddings(dataset, name: str, device=None, batch_size=None, progress=None,
                    chunk_size: int = DEFAULT_CHUNK, compute=None) -> np.ndarray:
    """Embeddings (float32, one row per manifest row): from the cache, else computed and cached.

    Parameters
    ----------
    dataset : Dataset or str
    name : str
        Embedder name (see :func:`coldstart.embed.list_embedders`).
    device : str, optional
        ``None`` = CUDA when present, else CPU.
    batch_size : int, optional
        Defaults to the embedder's own.
    progress : None, True or callable(done, total, message)
    chunk_size : int
        Images per saved chunk (the unit of resumption).
    compute : callable, optional
        What computes the chunks not saved yet, ``compute(ds, embedder, key, parts, device,
        batch_size, progress, chunk_size) -> (x, resumed_chunks)``; default: this process.
        :func:`coldstart.embed.ray_embed.ray_compute` returns one that uses Ray Data (the
        ``[scale]`` extra); the cache it writes is the same.

    Raises
    ------
    ColdstartError
        When the embedder is unavailable (the message says which file to put
        where) or its output is malformed.
    """
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    ok, reason = e.available()
    if not ok:
        raise ColdstartError(f"embedder {name!r} is unavailable: {reason}")
    key = e.key
    x = _read(ds, key)
    if x is not None:
        return x
    if batch_size is not None:
        batch_size = check_batch_size(batch_size)
    chunk_size = check_batch_size(chunk_size)
    from filelock import FileLock

    from .torchrun import TorchEmbedder

    if isinstance(e, TorchEmbedder):
        from .base import resolve_device

        device = resolve_device(device)

    npy, js, parts, lock = _paths(ds, key)
    with FileLock(str(lock)):
        x = _read(ds, key)  # another process may have finished while we waited
        if x is not None:
            return x
        t0 = time.time()
        x, resumed = (compute or _compute_chunks)(ds, e, key, parts, device, batch_size, progress, chunk_size)
        seconds = time.time() - t0
        save_npy(npy, x)
        wid = getattr(e, "weights_id", None)
        write_json(js, dict(
            weights=record(wid) if wid else None,  # which file (and its sha256) produced these
            key=key, name=e.name, dataset=ds.name, manifest_hash=ds.manifest_hash, shape=list(x.shape),
            dtype=str(x.dtype), seconds=round(seconds, 3), device=device, batch_size=batch_size,
            chunk_size=chunk_size, resumed_chunks=resumed, versions=_versions(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds")))
        shutil.rmtree(parts, ignore_errors=True)
    return x


def part_path(parts, start: int, stop: int):
    """The file of one saved chunk (rows ``start:stop``) under ``<key>.parts/``."""
    return parts / f"{start:09d}-{stop:09d}.npy"


def open_parts(ds, key, parts, chunk_size) -> None:
    """Make ``parts`` ready for chunks of this key, manifest and chunk size (stale parts are discarded)."""
    n = len(ds)
    marker = dict(key=key, manifest_hash=ds.manifest_hash, n=n, chunk_size=chunk_size)
    mfile = parts / "parts.json"
    if parts.exists():
        try:
            same = read_json(mfile) == marker
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if not mfile.exists():
        write_json(mfile, marker)


def _compute_chunks(ds, e, key, parts, device, batch_size, progress, chunk_size):
    n = len(ds)
    open_parts(ds, key, parts, chunk_size)
    chunks, resumed, dim = [], 0, None
    with Progress(progress, n, f"embedding {e.name}") as p:
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            f = part_path(parts, start, stop)
            y = None
            if f.is_file():
                try:
                    y = load_npy(f)
                    resumed += 1
                except (OSError, ValueError):
                    y = None
            if y is None:
                kw = {} if batch_size is None else {"batch_size": batch_size}
                y = e.embed(ds, device=device, progress=None, indices=np.arange(start, stop), **kw)
                y = check_chunk(e, y, stop - start)
                save_npy(f, y)
            if dim is not None and y.shape[1] != dim:
                raise ColdstartError(f"embedder {e.name!r} changed dimension between chunks ({dim} vs "
                                     f"{y.shape[1]}): delete {parts} and run again")
            dim = y.shape[1]
            chunks.append(y)
            p.update(stop - start)
    x = np.concatenate(chunks) if chunks else np.zeros((0, e.dim or 0), np.float32)
    return np.ascontiguousarray(x, dtype=np.float32), resumed


def check_chunk(e, y, rows: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[0] != rows:
        raise ColdstartError(f"embedder {e.name!r} returned shape {y.shape}, expected ({rows}, D)")
    y = y.astype(np.float32, copy=False)
    if not np.isfinite(y).all():
        raise ColdstartError(f"embedder {e.name!r} produced NaN/inf values: check its weights file "
                             "(a torn or wrong file?) or try --device cpu")
    return y


def clear_cache(dataset, name: str) -> int:
    """Delete the cache entry (and any partial chunks) of ``name``; returns files removed."""
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    removed = 0
    for p in _paths(ds, e.key)[:2]:
        if p.exists():
            p.unlink()
            removed += 1
    parts = _paths(ds, e.key)[2]
    if parts.exists():
        shutil.rmtree(parts)
        removed += 1
    return removed
