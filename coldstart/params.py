"""Settings given by users, declared as data: :class:`Param` (one tunable setting: type, bounds, help),
one unknown-key check and one ``KEY=VALUE`` parser for every config.

Selectors declare their parameters as ``Param`` rows (:mod:`coldstart.select.base`), and so do the
training presets (:data:`coldstart.train.presets.TRAINING_PARAMS`), in the spirit of scikit-learn's
``_parameter_constraints``: a bad value gets the parameter, the value and the fix.

Examples
--------
>>> parse_key_values(["k=20", "base=kmeans", "weights=[1, 2]"])
{'k': 20, 'base': 'kmeans', 'weights': [1, 2]}
>>> check_known_keys("training setting", {"epochs": 3}, ["epochs", "lr"])
>>> check_known_keys("run config key", {"budget": 3}, ["budgets"])
Traceback (most recent call last):
...
coldstart.errors.ColdstartError: unknown run config key(s) ['budget']: valid keys are budgets
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .errors import ColdstartError


@dataclass(frozen=True)
class Param:
    """One tunable setting (a selector parameter or a training setting), declared as data.

    ``type`` is int, float, bool or str; ``low``/``high`` bound numbers (``low_open``/``high_open``
    make a bound strict); ``choices`` lists the allowed strings (None: any string); ``optional``
    allows None (whose meaning ``help`` states).

    Examples
    --------
    >>> Param("epochs", int, 100, "training epochs", low=1).check(0, "classification", "task")
    Traceback (most recent call last):
    ...
    coldstart.errors.ColdstartError: epochs=0 must be >= 1 (task 'classification'; default 100)
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    optional: bool = False

    def range_text(self) -> str:
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return " and ".join(t for t in (lo, hi) if t)

    def check(self, value, owner_name: str, owner: str = "selector") -> None:
        """Raise :class:`ColdstartError` naming the parameter, the value and the fix when ``value`` is invalid.

        ``owner`` / ``owner_name`` say whose setting it is (``selector 'kmeans'``, ``task 'classification'``).
        """
        if value is None:
            if self.optional or self.default is None:
                return
            raise ColdstartError(f"{self.name}=None is not allowed for {owner} {owner_name!r}: give a "
                                 f"{self.type.__name__} (default {self.default!r})")
        where = f"{self.name}={value!r} for {owner} {owner_name!r}"
        if self.type is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ColdstartError(f"{where} must be true or false (default {self.default!r})")
            return
        if self.type is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                valid = f"one of {', '.join(self.choices)}" if self.choices else "a string"
                raise ColdstartError(f"{where} must be {valid} (default {self.default!r})")
            return
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if ok and self.type is int:
            ok = float(value).is_integer()
        if not ok:
            raise ColdstartError(f"{where} must be {'an integer' if self.type is int else 'a number'} "
                                 f"(default {self.default!r})")
        v = float(value)
        bad_lo = self.low is not None and (v <= self.low if self.low_open else v < self.low)
        bad_hi = self.high is not None and (v >= self.high if self.high_open else v > self.high)
        if bad_lo or bad_hi or not np.isfinite(v):
            raise ColdstartError(f"{self.name}={value!r} must be {self.range_text()} "
                                 f"({owner} {owner_name!r}; default {self.default!r})")


def check_known_keys(what: str, given: Iterable[str], valid: Iterable[str], where: str = "") -> None:
    """Raise :class:`ColdstartError` when ``given`` holds a key not in ``valid``.

    The message names the unknown keys (sorted), then ``where`` (e.g. `` for task 'probe'``), and lists
    the valid ones in their given order: ``unknown run config key(s) ['budget']: valid keys are dataset, ...``.
    """
    valid = list(valid)
    bad = sorted(set(given) - set(valid))
    if bad:
        raise ColdstartError(f"unknown {what}(s) {bad}{where}: valid keys are {', '.join(map(str, valid))}")


def parse_value(text: str):
    """One value as YAML reads it (``3`` -> 3, ``0.2`` -> 0.2, ``true`` -> True, ``[1, 2]`` -> list);
    text YAML cannot read, and the empty string, stay strings."""
    import yaml

    if text.strip() == "":
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_key_values(items: Iterable[str], option: str = "--set") -> dict:
    """``["k=20", "base=kmeans"]`` -> ``{"k": 20, "base": "kmeans"}`` (values read as YAML).

    Raises
    ------
    ColdstartError
        When an item has no ``=`` or an empty key; the message names ``option``.
    """
    out = {}
    for it in items:
        k, eq, v = str(it).partition("=")
        if not eq or not k.strip():
            raise ColdstartError(f"{option} {it!r} is not KEY=VALUE: write e.g. {option} epochs=3")
        out[k.strip()] = parse_value(v)
    return out
