"""The selector contract: ``select(features, budget, seed, **params) -> Selection``.

A *method* shown to users is a pair (embedder, selector). Selections are
nested: ``indices[:b]`` is the selection for budget ``b``.
Implementations register themselves in :data:`REGISTRY` with :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ColdstartError

if TYPE_CHECKING:  # pandas is imported lazily: `import coldstart` / `coldstart --help` stay fast
    import pandas as pd


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
    """A registry row: name, factory, one-sentence "when to use it", and what it needs."""

    name: str
    func: Callable[..., Selection]
    summary: str
    needs_features: bool = True
    params: dict[str, Any] = field(default_factory=dict)


REGISTRY: dict[str, SelectorSpec] = {}


def register(name: str, summary: str, needs_features: bool = True, **params):
    """Decorator registering ``func(features, budget, seed, **params) -> Selection``."""

    def deco(func):
        REGISTRY[name] = SelectorSpec(name, func, summary, needs_features, params)
        return func

    return deco


def get_selector(name: str) -> SelectorSpec:
    from . import _load_all  # noqa: F401  (imports every selector module once)

    _load_all()
    if name not in REGISTRY:
        raise ColdstartError(f"unknown selector {name!r}: choose one of {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def list_selectors(kind: str | None = "cold-start") -> list[str]:
    """Registered selector names, sorted; ``kind`` filters ("cold-start" = usable before any model
    exists, "uncertainty" = active-learning round strategies needing model outputs, None = all)."""
    from . import _load_all

    _load_all()
    return sorted(n for n, s in REGISTRY.items() if kind is None or s.params.get("kind", "cold-start") == kind)
