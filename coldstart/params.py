"""Settings given by users: one unknown-key check and one ``KEY=VALUE`` parser for every config.

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

from typing import Iterable

from .errors import ColdstartError


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
