"""Embedders (registry, local-first weights, on-disk cache) and the ssl-pool encoder.

Public API
----------
get_embedder(name, dataset=None)
list_embedders(dataset=None) -> DataFrame (name, available, reason, dim, summary, weights, default)
default_embedder(dataset=None) -> (name, reason)
load_embeddings(dataset, name, device=None, batch_size=None, progress=None) -> float32 (N, D)
ensure_embeddings(dataset, name, ...) -> cache .json (computes and caches, loads nothing)
cached_embeddings(dataset, name) -> array or None (never computes)
embedding_chunks(dataset, name, rows=None, chunk_rows=None) -> (rows, float32 block) ... (large pools)
pretrain_ssl(dataset, preset="cpu", epochs=None, seed=0, device=None, progress=None) -> model_id

Heavy libraries (torch, torchxrayvision, lightly) are imported only when an
embedder actually runs.
"""

from .cache import cache_info, cached_embeddings, clear_cache, embedding_chunks, ensure_embeddings, load_embeddings
from .registry import default_embedder, get_embedder, list_embedders, names


def pretrain_ssl(dataset, preset="cpu", epochs=None, seed=0, device=None, progress=None, **overrides):
    """See :func:`coldstart.embed.ssl_train.pretrain_ssl`."""
    from .ssl_train import pretrain_ssl as _pretrain

    return _pretrain(dataset, preset=preset, epochs=epochs, seed=seed, device=device, progress=progress,
                     **overrides)


__all__ = ["cache_info", "cached_embeddings", "clear_cache", "default_embedder", "embedding_chunks", "ensure_embeddings", "get_embedder", "list_embedders",
           "load_embeddings", "names", "pretrain_ssl"]
