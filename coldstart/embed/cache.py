"""The embedding cache: ``<dataset>/cache/emb/<key>.npy`` + ``<key>.json``.

* A second request is a file read (:func:`cached_embeddings` never computes).
* The ``.json`` holds shape, dtype, manifest hash, embedder key and name,
  the weights file with its sha256, library versions and seconds; a changed
  manifest invalidates the entry.
* Work is done in chunks saved under ``<key>.parts/``, so an interrupted job
  resumes where it stopped; the final arrays are written atomically.
* A file lock (``<key>.lock``) serialises writers: a second process asking
  for the same key waits, then reads what the first one wrote.
* Compact storage: an embedder with ``store_dtype = "uint8"`` (raw pixels,
  8-bit by nature) is stored as ``round(value * store_scale)`` in uint8, a
  quarter of float32. Readers get float32 (converted chunk by chunk, never a
  float64 copy); :func:`embedding_chunks` yields float32 row blocks from the
  memory-mapped file for pools too large to hold as float32. Float32 caches
  written before this (no ``scale`` in their ``.json``) read as before.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from importlib import metadata

import numpy as np

from ..errors import ColdstartError
from ..io import atomic_path, load_npy, read_json, save_npy, write_json
from ..progress import Progress
from .base import check_batch_size
from .weights import record
from .registry import _as_dataset, get_embedder

DEFAULT_CHUNK = 256
CONVERT_BYTES = 64 << 20  # float32 bytes converted per step when reading a compact cache
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


def _read(ds, key: str, raw: bool = False):
    """The valid cache entry as float32 (or, with ``raw``, ``(stored memmap, scale)``), else None."""
    npy, js, _, _ = _paths(ds, key)
    if not (npy.is_file() and js.is_file()):
        return None
    try:
        meta = read_json(js)
    except (OSError, ValueError):
        return None
    if meta.get("key") != key or meta.get("manifest_hash") != ds.manifest_hash:
        return None
    scale = meta.get("scale")
    try:
        x = load_npy(npy, mmap=bool(scale) or raw)
    except (OSError, ValueError):
        return None
    if list(x.shape) != list(meta.get("shape", [])) or x.shape[0] != len(ds):
        return None
    if raw:
        return x, scale
    return _to_float(x, scale) if scale else x


def _step(x) -> int:
    return max(1, CONVERT_BYTES // (4 * max(1, int(np.prod(x.shape[1:])))))


def _to_float(x, scale: float) -> np.ndarray:
    """``x / scale`` as float32, converted ``CONVERT_BYTES`` at a time (no float64 copy)."""
    out = np.empty(x.shape, np.float32)
    for s in range(0, len(x), _step(x)):
        np.divide(x[s:s + _step(x)], np.float32(scale), out=out[s:s + _step(x)], dtype=np.float32)
    return out


def embedding_chunks(dataset, name: str, rows=None, chunk_rows: int | None = None):
    """Yield ``(row positions, float32 block)`` of the cached embeddings, without loading them whole.

    For large pools of compact (uint8) embeddings: at 224 px, 100,000 images are 5 GB on disk
    and would be 20 GB as one float32 matrix. ``rows`` (manifest positions, default all) keeps
    its order; ``chunk_rows`` defaults to blocks of about 64 MB of float32.

    Raises
    ------
    ColdstartError
        When the embeddings are not cached yet (compute them with :func:`load_embeddings`).
    """
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    got = _read(ds, e.key, raw=True) if e.available()[0] else None
    if got is None:
        raise ColdstartError(f"no cached {name} embeddings for {ds.name!r}: run `coldstart embed {ds.name} "
                             f"--embedder {name}` first")
    x, scale = got
    rows = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=int)
    step = int(chunk_rows) if chunk_rows else _step(x)
    for s in range(0, len(rows), step):
        r = rows[s:s + step]
        block = np.asarray(x[r], dtype=np.float32)
        yield r, (block / np.float32(scale) if scale else block)


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
    if not e.available()[0] or _read(ds, e.key, raw=True) is None:
        return None
    return read_json(_paths(ds, e.key)[1])


def load_embeddings(dataset, name: str, device=None, batch_size=None, progress=None,
                    chunk_size: int = DEFAULT_CHUNK, fill=None) -> np.ndarray:
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
    fill : callable, optional
        Computes the chunks not saved yet instead of this process: ``fill(ds, embedder, spans,
        save, device, batch_size, progress)`` calls ``save(start, stop, rows)`` for every
        ``(start, stop)`` of ``spans``. :func:`coldstart.embed.ray_embed.ray_fill` makes one that
        runs on Ray Data (the ``[scale]`` extra); the cache written is the same.

    Raises
    ------
    ColdstartError
        When the embedder is unavailable (the message says which file to put
        where) or its output is malformed.
    """
    ds = _as_dataset(dataset)
    info = ensure_embeddings(ds, name, device=device, batch_size=batch_size, progress=progress,
                             chunk_size=chunk_size, fill=fill)
    x = _read(ds, info["key"])
    if x is None:
        raise ColdstartError(f"the cached {name} embeddings of {ds.name!r} could not be read back: check the "
                             "disk (full?) and run the command again")
    return x


def ensure_embeddings(dataset, name: str, device=None, batch_size=None, progress=None,
                      chunk_size: int = DEFAULT_CHUNK, fill=None) -> dict:
    """Compute and cache the embeddings if needed, without loading them; returns the cache's ``.json``.

    Same parameters as :func:`load_embeddings`. Use it (and :func:`embedding_chunks`) for pools
    too large to hold as one float32 matrix: memory stays at one chunk.
    """
    ds = _as_dataset(dataset)
    e = get_embedder(name, ds)
    ok, reason = e.available()
    if not ok:
        raise ColdstartError(f"embedder {name!r} is unavailable: {reason}")
    key = e.key
    npy, js, parts, lock = _paths(ds, key)
    if _read(ds, key, raw=True) is not None:
        return read_json(js)
    if batch_size is not None:
        batch_size = check_batch_size(batch_size)
    chunk_size = check_batch_size(chunk_size)
    from filelock import FileLock

    from .torchrun import TorchEmbedder

    if isinstance(e, TorchEmbedder):
        from .base import resolve_device

        device = resolve_device(device)

    with FileLock(str(lock)):
        if _read(ds, key, raw=True) is not None:  # another process finished while we waited
            return read_json(js)
        t0 = time.time()
        shape, dtype, resumed = _compute_chunks(ds, e, key, parts, npy, device, batch_size, progress,
                                                chunk_size, fill)
        seconds = time.time() - t0
        wid = getattr(e, "weights_id", None)
        write_json(js, dict(
            weights=record(wid) if wid else None,  # which file (and its sha256) produced these
            scale=getattr(e, "store_scale", None) if dtype != "float32" else None,
            key=key, name=e.name, dataset=ds.name, manifest_hash=ds.manifest_hash, shape=list(shape),
            dtype=dtype, seconds=round(seconds, 3), device=device, batch_size=batch_size,
            chunk_size=chunk_size, resumed_chunks=resumed, versions=_versions(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds")))
        shutil.rmtree(parts, ignore_errors=True)
    return read_json(js)


def _compute_chunks(ds, e, key, parts, npy, device, batch_size, progress, chunk_size, fill=None):
    """Embed in saved chunks (resumable), then assemble them into ``npy`` atomically.

    Returns ``(shape, stored dtype, resumed chunk count)``. The assembly writes into a
    memory-mapped file, so the whole matrix is never held in memory.
    """
    n = len(ds)
    store = np.dtype(getattr(e, "store_dtype", None) or np.float32)
    marker = dict(key=key, manifest_hash=ds.manifest_hash, n=n, chunk_size=chunk_size, dtype=str(store))
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

    made = set()
    if fill is not None:  # another engine (Ray Data) saves the missing chunks; the loop below assembles
        made = {(s, min(n, s + chunk_size)) for s in range(0, n, chunk_size)
                if not part_path(parts, s, min(n, s + chunk_size)).is_file()}

        def save(start: int, stop: int, y) -> None:
            save_npy(part_path(parts, start, stop), _encode(e, _check_chunk(e, y, stop - start), store))

        fill(ds, e, sorted(made), save, device, batch_size, progress)
        progress = None
    files, resumed, dim = [], 0, None
    with Progress(progress, n, f"embedding {e.name}") as p:
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            f = part_path(parts, start, stop)
            y = None
            if f.is_file():
                try:
                    y = load_npy(f, mmap=True)
                    resumed += (start, stop) not in made
                except (OSError, ValueError):
                    y = None
            if y is None:
                kw = {} if batch_size is None else {"batch_size": batch_size}
                y = e.embed(ds, device=device, progress=None, indices=np.arange(start, stop), **kw)
                y = _encode(e, _check_chunk(e, y, stop - start), store)
                save_npy(f, y)
            if dim is not None and y.shape[1] != dim:
                raise ColdstartError(f"embedder {e.name!r} changed dimension between chunks ({dim} vs "
                                     f"{y.shape[1]}): delete {parts} and run again")
            dim = y.shape[1]
            files.append(f)
            p.update(stop - start)
    shape = (n, dim if dim is not None else (e.dim or 0))
    with atomic_path(npy, suffix=".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=store, shape=shape)
        row = 0
        for f in files:
            y = load_npy(f, mmap=True)
            out[row:row + len(y)] = y
            row += len(y)
        out.flush()
        del out
    return shape, str(store), resumed


def part_path(parts, start: int, stop: int):
    """The saved chunk of rows ``start:stop`` under ``<key>.parts/``."""
    return parts / f"{start:09d}-{stop:09d}.npy"


def _encode(e, y: np.ndarray, store: np.dtype) -> np.ndarray:
    """The chunk as stored: float32 as is; an integer type as ``round(y * e.store_scale)``."""
    if store == np.float32:
        return y
    return np.clip(np.rint(y * np.float32(e.store_scale)), 0, np.iinfo(store).max).astype(store)


def _check_chunk(e, y, rows: int) -> np.ndarray:
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
