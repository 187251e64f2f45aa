"""Warm Explore's first visit in the background when the app builds a pool.

:func:`start` runs :func:`coldstart.explore.warm` (embeddings, PCA map, the default picks, UMAP
map, all into the disk caches) in a daemon thread, once per dataset version and server process;
the thread calls only the package, never ``st.*``. :func:`state` says how far it got.

Usage (where the app has just built the default pool)::

    from coldstart.ui import explore_warm
    explore_warm.start(ds)
"""

from __future__ import annotations

import threading

import streamlit as st

from ..data.dataset import Dataset


@st.cache_resource(max_entries=8, show_spinner=False)
def _warming(name: str, root: str, manifest_hash: str) -> dict:
    from .. import explore

    status: dict = {"done": {}, "error": None}

    def run() -> None:
        try:
            explore.warm(Dataset(name, root), log=lambda step, s: status["done"].update({step: s}))
        except Exception as e:  # noqa: BLE001 - a failed warm-up only means a slower first visit
            status["error"] = f"{type(e).__name__}: {e}"

    status["thread"] = threading.Thread(target=run, name=f"coldstart-warm-explore-{name}", daemon=True)
    status["thread"].start()
    return status


def start(ds: Dataset) -> dict:
    """Start warming ``ds``'s Explore page (once per dataset version and process); returns its status
    (``done``: step -> seconds, ``error``, ``thread``)."""
    return _warming(ds.name, str(ds.dir.parent), ds.manifest_hash)


def state(ds: Dataset) -> str:
    """``"warming"``, ``"ready"`` or ``"failed: <why>"`` for a dataset whose warming was started."""
    s = start(ds)
    if s["thread"].is_alive():
        return "warming"
    return f"failed: {s['error']}" if s["error"] else "ready"
