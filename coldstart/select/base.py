"""The selector contract: ``select(features, budget, seed, **params) -> Selection``, and the registry.

A *method* shown to users is a pair (embedder, selector). Selections are
nested: ``indices[:b]`` is the selection for budget ``b``.
Implementations register themselves in :data:`REGISTRY` with :func:`register`,
declaring their tunable parameters as :class:`Param` rows (the registry is
data: pages build widgets from it and :func:`select` validates against it).
:data:`BUILTIN` names the module and function of every built-in selector; a module is
imported when one of its names is first asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..errors import ColdstartError
from ..params import Param  # noqa: F401 (the selectors import it from here)

if TYPE_CHECKING:  # pandas is imported lazily: `import coldstart` / `coldstart --help` stay fast
    import pandas as pd

#: Every built-in selector: name -> the module of this package that registers it (a table, as
#: ``embed/registry.py``'s). A module is imported when one of its names is first asked for, and must register
#: that name with a function of its own (checked on import; tests/test_select.py checks the table both ways).
BUILTIN: dict[str, str] = {
    "random": "random_",
    "kmeans-paper": "kmeans",
    "kmeans": "kmeans",
    "typiclust": "typiclust",
    "probcover": "probcover",
    "coreset": "coreset",
    "balanced": "balanced",
    "ood-aware": "ood",
    "threshold": "uncertainty",
    "least-confidence": "uncertainty",
    "margin": "uncertainty",
    "entropy": "uncertainty",
    "bald": "uncertainty",
    "badge": "uncertainty",
}
# keyword inputs that are data, not tunable parameters (never shown as widgets, never in cache keys)
DATA_INPUTS: tuple[str, ...] = ("labeled", "probs", "labels", "mc_probs", "candidates")


def _empty_frame():
    import pandas as pd

    return pd.DataFrame()


@dataclass
class Selection:
    """An ordered, nested pick list plus the diagnostics that explain it.

    Attributes
    ----------
    indices : int array (budget,)
        Row indices into the pool/manifest, in pick order (rank 1 first).
    per_pick : DataFrame
        One row per pick, aligned with ``indices``: at least ``rank`` and
        ``index``; clustering selectors add ``cluster``, ``k`` (the k at which
        the pick was added), ``distance`` (to its centroid) and ``cluster_size``;
        others add what explains them (``score``, ``typicality``...).
    info : dict
        Whole-set diagnostics: ``selector``, ``params``, ``seed``, cluster sizes,
        ``coverage_mean`` / ``coverage_max`` (distance from every pool point to its
        nearest pick), timings.
    """

    indices: np.ndarray
    per_pick: "pd.DataFrame" = field(default_factory=_empty_frame)
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.indices)

    def prefix(self, budget: int) -> "Selection":
        """The nested selection for a smaller budget."""
        b = int(budget)
        return Selection(self.indices[:b].copy(), self.per_pick.iloc[:b].reset_index(drop=True),
                         dict(self.info, budget=b))


@dataclass(frozen=True)
class SelectorSpec:
    """A registry row: name, function, one-sentence "when to use it", what it needs, its parameters.

    ``params`` is None for a selector registered without declarations: then the names it accepts
    come from its signature (see :meth:`accepted`), and no widgets are offered.
    """

    name: str
    func: Callable[..., Selection]
    summary: str
    needs_features: bool = True
    kind: str = "cold-start"
    params: tuple[Param, ...] | None = None
    inputs: tuple[str, ...] = ("labeled",)
    extra_params: bool = False  # accepts further keyword parameters (passed on, e.g. to a base selector)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params or () if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """Declared parameters and their defaults."""
        return {p.name: p.default for p in self.params or ()}

    def accepted(self) -> list[str]:
        """Every keyword :func:`select` passes on (parameters, then data inputs)."""
        if self.params is None:
            import inspect

            return [p for p in list(inspect.signature(self.func).parameters)[3:]]
        return [p.name for p in self.params] + list(self.inputs)

    def check_params(self, params: dict[str, Any]) -> None:
        """Unknown names and invalid values raise :class:`ColdstartError` naming the valid ones."""
        if not self.extra_params:
            valid = self.accepted()
            bad = sorted(set(params) - set(valid))
            if bad:
                raise ColdstartError(f"selector {self.name!r} has no parameter {', '.join(bad)}: valid ones "
                                     f"are {', '.join(valid) or 'none'}")
        for k, v in params.items():
            p = self.param(k)
            if p is not None:
                p.check(v, self.name)


REGISTRY: dict[str, SelectorSpec] = {}


def register(name: str, summary: str, needs_features: bool = True, kind: str = "cold-start",
             params: tuple[Param, ...] | list[Param] | None = None, inputs: tuple[str, ...] = ("labeled",),
             extra_params: bool = False):
    """Decorator registering ``func(features, budget, seed, **params) -> Selection`` under ``name``."""

    def deco(func):
        REGISTRY[name] = SelectorSpec(name, func, summary, needs_features, kind,
                                      None if params is None else tuple(params), tuple(inputs), extra_params)
        return func

    return deco


def _load(name: str) -> None:
    """Import the module of built-in selector ``name`` (its ``@register`` adds the row)."""
    module = f"{__package__}.{BUILTIN[name]}"
    importlib.import_module(module)
    if name not in REGISTRY or REGISTRY[name].func.__module__ != module:
        raise ColdstartError(f"selector {name!r}: BUILTIN names module {BUILTIN[name]!r}, which does not register "
                             f"it: fix BUILTIN in {__name__}")


def load_all() -> None:
    """Import the module of every built-in selector, so :data:`REGISTRY` is complete."""
    for name in BUILTIN:
        if name not in REGISTRY:
            _load(name)


def _names() -> list[str]:
    """Built-ins in table order, then selectors registered from elsewhere in registration order."""
    load_all()
    return list(BUILTIN) + [n for n in REGISTRY if n not in BUILTIN]


def get_selector(name: str) -> SelectorSpec:
    """The registry row of ``name``; unknown names raise with the sorted list of valid ones."""
    if name in BUILTIN and name not in REGISTRY:
        _load(name)
    if name not in REGISTRY:
        raise ColdstartError(f"unknown selector {name!r}: choose one of {', '.join(sorted(_names()))}")
    return REGISTRY[name]


def list_selectors(kind: str | None = "cold-start") -> list[str]:
    """Registered selector names, sorted; ``kind`` filters ("cold-start" = usable before any model
    exists, "uncertainty" = active-learning round strategies needing model outputs, None = all)."""
    return sorted(n for n in _names() if kind is None or REGISTRY[n].kind == kind)


def selector_specs(kind: str | None = "cold-start") -> dict[str, SelectorSpec]:
    """Registry rows in :data:`BUILTIN` order (then others as registered), filtered by ``kind`` as in
    :func:`list_selectors`."""
    return {n: REGISTRY[n] for n in _names() if kind is None or REGISTRY[n].kind == kind}


def select(name: str, features, budget: int, seed: int = 0, **params) -> Selection:
    """Run registered selector ``name`` on an array (or, for ``random``, a pool size).

    Parameters are checked against the selector's declared :class:`Param` specs first:
    unknown names and out-of-range values raise :class:`ColdstartError` naming the valid ones.
    """
    spec = get_selector(name)
    spec.check_params(params)
    return spec.func(features, budget, seed, **params)
