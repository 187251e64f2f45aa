"""Selection strategies (see :mod:`coldstart.select.base` for the contract)."""

from .base import REGISTRY, Selection, SelectorSpec, get_selector, list_selectors, register

_SELECTOR_MODULES: tuple[str, ...] = (
    "random_", "kmeans", "typiclust", "probcover", "coreset", "balanced", "ood", "uncertainty",
)


def _load_all() -> None:
    import importlib

    for m in _SELECTOR_MODULES:
        try:
            importlib.import_module(f"{__name__}.{m}")
        except ModuleNotFoundError as e:  # a module not written yet
            if e.name != f"{__name__}.{m}":
                raise


def select(name: str, features, budget: int, seed: int = 0, **params) -> Selection:
    """Run registered selector ``name``; see :class:`Selection`.

    Unknown parameters raise :class:`ColdstartError` naming the valid ones.
    """
    import inspect

    from ..errors import ColdstartError

    spec = get_selector(name)
    sig = inspect.signature(spec.func)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        valid = [p for p in list(sig.parameters)[3:]]
        bad = sorted(set(params) - set(valid))
        if bad:
            raise ColdstartError(f"selector {name!r} has no parameter {', '.join(bad)}: valid ones are "
                                 f"{', '.join(valid) or 'none'}")
    return spec.func(features, budget, seed, **params)


def ood_scores(features, k: int = 20, **kw):
    """Per-image OOD score (see :func:`coldstart.select.ood.ood_scores`)."""
    from .ood import ood_scores as _f

    return _f(features, k=k, **kw)


def query_uncertain(strategy, probs, candidates, size, seed=0, mc_probs=None, features=None):
    """Uncertainty-round picks (see :func:`coldstart.select.uncertainty.query_uncertain`)."""
    from .uncertainty import query_uncertain as _f

    return _f(strategy, probs, candidates, size, seed=seed, mc_probs=mc_probs, features=features)


__all__ = ["REGISTRY", "Selection", "SelectorSpec", "get_selector", "list_selectors", "ood_scores",
           "query_uncertain", "register", "select"]
