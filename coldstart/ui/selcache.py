"""A disk cache of selections for the pages: ``<dataset>/cache/sel/<key>.parquet`` + ``.json``.

Selecting 100 of 5,000 images with nested KMeans takes tens of seconds on a laptop CPU; the
Explore page computes a selection once (at its largest budget; selections are nested) and later
visits read it back in milliseconds. The key covers everything that changes the picks: the
manifest hash, the embedder's cache key, selector, parameters, seed, pool and budget.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from .. import __version__
from ..io import read_json, write_json, write_parquet
from ..select.base import Selection


def selection_key(manifest_hash: str, embedding_key: str | None, selector: str, params: dict,
                  seed: int, pool: str, budget: int) -> str:
    spec = {"manifest": manifest_hash, "embedding": embedding_key, "selector": selector,
            "params": {k: params[k] for k in sorted(params)}, "seed": int(seed), "pool": pool,
            "budget": int(budget), "coldstart": __version__}
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{selector}-{h}"


def _paths(dataset, key: str):
    d = dataset.cache_dir("sel")
    return d / f"{key}.parquet", d / f"{key}.json"


def load(dataset, key: str) -> Selection | None:
    """The cached selection, or None (missing or unreadable)."""
    pq, js = _paths(dataset, key)
    if not (pq.exists() and js.exists()):
        return None
    try:
        per = pd.read_parquet(pq)
        info = read_json(js)
    except (OSError, ValueError):
        return None
    return Selection(per["index"].to_numpy(dtype=np.int64), per, info.get("info", {}))


def save(dataset, key: str, sel: Selection) -> None:
    pq, js = _paths(dataset, key)
    per = sel.per_pick.copy()
    if "index" not in per.columns:
        per["index"] = np.asarray(sel.indices)
    write_parquet(pq, per)
    info = json.loads(json.dumps(sel.info, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    write_json(js, {"key": key, "info": info})
