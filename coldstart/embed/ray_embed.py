"""Embedding a large pool with Ray Data (the ``[scale]`` extra), into the ordinary embedding cache.

``load_embeddings(ds, name, fill=ray_fill(address=..., concurrency=...))`` keeps everything
the cache does (key, metadata, file lock, atomic writes, chunks under ``<key>.parts/`` that an
interrupted job resumes from) and only replaces *who computes the missing chunks*:

1. the manifest rows of the missing chunks become a Ray Dataset;
2. ``map_batches`` tasks decode and preprocess images (``Dataset.load_image`` + the embedder's
   own ``preprocess``), in parallel on every node;
3. a pool of ``concurrency`` actors runs the model, one model per actor (one GPU each when the
   cluster has GPUs and ``device`` is not cpu);
4. this process gathers rows by manifest index and saves each chunk as soon as it is complete
   (checked and encoded as the local path does); the cache then assembles the chunks as usual.

Embedders that are not torch models (``pixels``, ``file:``) run their own ``embed`` inside the
``map_batches`` tasks, so a Ray-made cache is bit-identical to a local one for ``pixels``; a torch
model on CPU agrees within float tolerance (batches are cut differently).
Workers read images from the dataset folder: it must be on storage every node sees
(``COLDSTART_DATA``; docs/scale.md).
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ColdstartError
from ..progress import Progress


def ray_fill(address: str | None = None, concurrency: int | None = None, batch_size: int | None = None):
    """A ``fill`` for :func:`coldstart.embed.load_embeddings` that computes missing chunks on Ray Data.

    Parameters
    ----------
    address : str, optional
        Ray cluster (see :func:`coldstart.ray_cluster.connect`); None starts or reuses a local instance.
    concurrency : int, optional
        Model actors (default: one per GPU of the cluster, else one).
    batch_size : int, optional
        Images per model batch (default: the embedder's own).
    """
    from ..ray_cluster import check_address

    check_address(address)
    if concurrency is not None and (isinstance(concurrency, bool) or int(concurrency) < 1):
        raise ColdstartError(f"concurrency={concurrency!r} must be a positive number of model actors (e.g. 2)")
    return functools.partial(fill_chunks, address=address, concurrency=concurrency, ray_batch_size=batch_size)


def _decode(batch: dict, ds, e) -> dict:
    """map_batches step (tasks) of a torch embedder: decoded, preprocessed images (N, C, H, W) float32.

    Tasks, not an actor pool: they run in the worker processes Ray starts with the instance, so the
    pipeline pays one actor start-up (the model's), not two (benchmarks/scale.py embed measured the
    decode actor's start at several seconds of a 256-image job on 2 busy cores)."""
    idx = np.asarray(batch["data"], np.int64)
    x = np.stack([np.ascontiguousarray(e.preprocess(ds.load_image(int(i), e.load_size)), dtype=np.float32)
                  for i in idx])
    return {"index": idx, "x": x}


class _Model:
    """Actor of the model pool: the embedder's network, loaded once per actor."""

    def __init__(self, e, device: str, threads: int):
        import torch

        if device == "cpu":
            torch.set_num_threads(max(1, int(threads)))
        self.e, self.device = e, device
        self.model = e.model(device)

    def __call__(self, batch: dict) -> dict:
        import torch

        with torch.inference_mode():
            y = self.e.run_batch(self.model, torch.from_numpy(np.asarray(batch["x"], np.float32)), self.device,
                                 self.device.startswith("cuda"))
        return {"index": np.asarray(batch["index"], np.int64), "emb": y}


def _embed(batch: dict, ds, e) -> dict:
    """map_batches step (tasks) of an embedder that is not a torch model: its own ``embed`` on the rows."""
    idx = np.asarray(batch["data"], np.int64)
    return {"index": idx, "emb": np.asarray(e.embed(ds, indices=idx), np.float32)}


def fill_chunks(ds, e, spans, save, device, batch_size, progress, *, address=None, concurrency=None,
                ray_batch_size=None) -> dict | None:
    """Compute the chunks ``spans`` on Ray Data and ``save(start, stop, rows)`` each as soon as it is complete.

    Returns the seconds until the first batch arrived (actor start-up included) and Ray Data's own
    ``Dataset.stats()`` text (per-operator wall, CPU and block figures), for benchmarks/scale.py embed.
    """
    from ..ray_cluster import connect
    from .torchrun import TorchEmbedder

    if not spans:
        return None
    ray = connect(address)
    bs = int(ray_batch_size or batch_size or getattr(e, "default_batch_size", 64))
    rows = np.concatenate([np.arange(s, t, dtype=np.int64) for s, t in spans])
    # rows per block: one chunk, but at least 16 blocks for a small job (down to one model batch), so
    # the model's first batch waits for one small block's decoding, not a whole chunk's
    chunk = max(t - s for s, t in spans)
    per_block = max(bs, min(chunk, -(-len(rows) // 16)))
    blocks = np.array_split(rows, max(1, -(-len(rows) // per_block)))
    data = ray.data.from_numpy(blocks)  # one column, "data": the manifest rows (no rename: one operator less)
    if isinstance(e, TorchEmbedder):
        cpus = int(ray.cluster_resources().get("CPU", 1))
        gpus = int(ray.cluster_resources().get("GPU", 0)) if str(device).startswith("cuda") else 0
        actors = int(concurrency or gpus or 1)
        pool = ray.data.ActorPoolStrategy
        data = data.map_batches(_decode, fn_kwargs=dict(ds=ds, e=e), batch_size=bs, num_cpus=1,
                                compute=ray.data.TaskPoolStrategy(size=max(1, cpus - 1)))
        # a CPU actor reserves no CPU slot (it would starve the decode tasks on a small machine);
        # it runs torch on cpus // actors threads
        data = data.map_batches(_Model, fn_constructor_args=(e, "cuda" if gpus else "cpu", max(1, cpus // actors)),
                                batch_size=bs, compute=pool(size=actors), num_gpus=1 if gpus else 0,
                                num_cpus=1 if gpus else 0)
    else:
        data = data.map_batches(_embed, fn_kwargs=dict(ds=ds, e=e), batch_size=bs)
    with Progress(progress, int(sum(t - s for s, t in spans)), f"embedding {e.name} (Ray Data)") as bar:
        first, first_rows = _gather(data, spans, save, bar)
    return {"first_batch_s": first, "first_batch_rows": first_rows, "stats": data.stats()}


def _gather(data, spans, save, bar) -> tuple[float, int]:
    """Collect the streamed rows by manifest index; save each chunk once all its rows arrived.

    Returns the seconds until the first batch arrived and its rows."""
    import time

    t0, first, first_rows = time.perf_counter(), None, 0
    start_of = np.full(spans[-1][1], -1, np.int64)
    for s, t in spans:
        start_of[s:t] = s
    bufs: dict[int, np.ndarray] = {}
    left = {s: t - s for s, t in spans}
    stop = dict(spans)
    for batch in data.iter_batches(batch_size=None, batch_format="numpy"):
        idx = np.asarray(batch["index"], np.int64)
        if first is None:
            first, first_rows = time.perf_counter() - t0, len(idx)
        y = np.asarray(batch["emb"], np.float32)
        for s in np.unique(start_of[idx]):
            m = start_of[idx] == s
            if s not in bufs:
                bufs[s] = np.empty((stop[s] - s, y.shape[1]), np.float32)
            bufs[s][idx[m] - s] = y[m]
            left[s] -= int(m.sum())
            if left[s] == 0:
                save(int(s), int(stop[s]), bufs.pop(s))
        bar.update(len(idx))
    missing = [s for s in left if left[s]]
    if missing:
        raise ColdstartError(f"Ray Data returned no rows for {len(missing)} chunks: run again (saved chunks are kept)")
    return float(first or 0.0), int(first_rows)
