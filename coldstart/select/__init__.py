"""Selection strategies (see :mod:`coldstart.select.base` for the contract and the registry).

``select(name, X, budget, seed, **params)`` works on arrays (positions into ``X``);
``select_dataset(dataset, selector, embedder, budget, ...)`` works on a dataset's pool, returns
dataset rows and reuses the on-disk selection cache (:mod:`coldstart.select.cache`).
"""

from .base import (BUILTIN, REGISTRY, Param, Selection, SelectorSpec, get_selector, list_selectors, load_all,
                   register, select, selector_specs)

_LAZY = {"ood_scores": "ood", "query_uncertain": "uncertainty", "select_dataset": "dataset",
         "pool_indices": "dataset", "cached_select": "cache",
         "coverage": "diagnostics"}


def __getattr__(name: str):
    """Lazy re-exports (their modules import pandas/scipy, which ``import coldstart.select`` avoids)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BUILTIN", "REGISTRY", "Param", "Selection", "SelectorSpec", "cached_select", "coverage", "get_selector",
           "list_selectors", "load_all", "ood_scores", "pool_indices", "query_uncertain", "register", "select",
           "select_dataset", "selector_specs"]
