"""Selection strategies (see :mod:`coldstart.select.base` for the contract)."""

from .base import REGISTRY, Selection, SelectorSpec, get_selector, register

_SELECTOR_MODULES: tuple[str, ...] = ()  # filled in as selector modules are written


def _load_all() -> None:
    import importlib

    for m in _SELECTOR_MODULES:
        importlib.import_module(f"{__name__}.{m}")


def select(name: str, features, budget: int, seed: int = 0, **params) -> Selection:
    """Run registered selector ``name``; see :class:`Selection`."""
    return get_selector(name).func(features, budget, seed, **params)


__all__ = ["REGISTRY", "Selection", "SelectorSpec", "get_selector", "register", "select"]
