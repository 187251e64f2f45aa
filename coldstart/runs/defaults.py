"""What the Train page (and a new user) starts from: the methods offered and the default comparison."""

from __future__ import annotations

import pandas as pd

#: Foundation-model embedders, best first: the default comparison uses the first one available.
FOUNDATION = ("txrv-densenet121", "txrv-resnet50", "ssl-pool", "imagenet-densenet121")


def usable_embedders(table: pd.DataFrame) -> list[str]:
    """Available embedders of a :func:`coldstart.embed.list_embedders` table (``file`` needs a path, so not
    offered); ``["pixels"]`` when none is."""
    names = [str(n) for n, ok in zip(table["name"], table["available"]) if ok and str(n) != "file"]
    return names or ["pixels"]


def cold_start_selectors() -> tuple[list[str], dict[str, str]]:
    """Selectors usable before any model exists (random excluded: it needs no features), and every
    selector's one-line summary."""
    from ..select import REGISTRY, list_selectors

    names = [s for s in list_selectors("cold-start") if s != "random"]
    return names, {k: v.summary for k, v in REGISTRY.items()}


def method_options(embedders: list[str], selectors: list[str]) -> list[str]:
    """Every method the page offers: ``random`` and each embedder:selector pair."""
    return ["random"] + [f"{e}:{s}" for e in embedders for s in selectors]


def default_methods(embedders: list[str], selectors: list[str]) -> list[str]:
    """Random, naive clustering, and the best available foundation embedding with four selectors (6 methods).

    Without a foundation embedding, pixels with four other selectors.
    """
    out = ["random", "pixels:kmeans"]
    fm = next((e for e in FOUNDATION if e in embedders), None)
    if fm:
        out += [f"{fm}:{s}" for s in ("kmeans", "typiclust", "probcover", "coreset") if s in selectors]
    else:
        out += [f"pixels:{s}" for s in ("typiclust", "probcover", "coreset", "kmeans-paper") if s in selectors]
    return out[:6]
