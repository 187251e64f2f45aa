"""What the Train page offers: usable embedders, cold-start selectors and their methods.

The default comparison itself is :func:`coldstart.train.presets.default_methods` (it depends on the preset).
"""

from __future__ import annotations

import pandas as pd

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


def default_run_methods(dataset, embedders: list[str], selectors: list[str], preset: str = "paper") -> list[str]:
    """The methods a new run on ``dataset`` starts with: random, the naive clustering on raw pixels, and
    the dataset's default embedder (a paper foundation model whose weights are present, else the
    dataset's own default, e.g. ``gist`` on the phantom pool) with the preset's clustering and three
    other selectors. See :func:`coldstart.train.presets.default_methods`."""
    from ..embed.registry import FOUNDATION, default_embedder
    from ..train.presets import default_methods

    name = default_embedder(dataset)[0]
    features = (name,) if name != "pixels" else FOUNDATION
    return default_methods(embedders, selectors, preset, features)
