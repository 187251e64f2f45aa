"""Units of work of a run: one (phase, method, seed, budget/round) each, identified by ``Unit.key``.

The store, the runner and the report all plan and name units here, so reading a run never
depends on the code that executes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import RunConfig


@dataclass(frozen=True)
class Unit:
    """One unit of work; ``key`` is its identity in results and events."""

    phase: str  # "cold" | "al"
    method: str
    seed: int
    budget: int
    round: int = -1  # AL round (0 = initial selection); -1 for cold-start units

    @property
    def key(self) -> str:
        if self.phase == "cold":
            return f"cold|{self.method}|s{self.seed}|b{self.budget}"
        return f"al|{self.method}|s{self.seed}|r{self.round}"


def plan_units(cfg: RunConfig) -> list[Unit]:
    """All units in execution order: cold-start (seed, budget, method), then AL rounds (method, seed, round)."""
    units = []
    if cfg.cold_start:
        for s in cfg.seeds:
            for b in cfg.budgets:
                for m in cfg.methods:
                    units.append(Unit("cold", m, int(s), int(b)))
    if cfg.rounds:
        for s in cfg.seeds:
            for m in cfg.methods:
                for r, b in enumerate(cfg.al_budgets):
                    units.append(Unit("al", m, int(s), int(b), r))
    return units


class Schedule:
    """Which of a run's units may start now, for every executor: a unit waits for the selection of its
    (method, seed); an AL round waits for the previous round of its method and seed when that round is
    among the units to run (a round finished in an earlier session does not hold it back)."""

    def __init__(self, units: list[Unit]):
        rounds = {(u.method, u.seed, u.round): u.key for u in units if u.phase == "al"}
        self._prev = {u.key: rounds.get((u.method, u.seed, u.round - 1))
                      for u in units if u.phase == "al" and u.round > 0}
        self.selected: set[tuple[str, int]] = set()
        self.finished: set[str] = set()

    def ready(self, u: Unit) -> bool:
        if (u.method, u.seed) not in self.selected:
            return False
        prev = self._prev.get(u.key)
        return prev is None or prev in self.finished

    def record(self, kind: str, job, out, finished) -> None:
        """A job came back: a ``"select"`` job (method, seed) makes its units ready; a ``"unit"`` job is
        marked finished and reported through ``finished(unit, *out)``."""
        if kind == "select":
            self.selected.add(job)
        else:
            self.finished.add(job.key)
            finished(job, *out)
