"""Old home of :mod:`coldstart.select.cache` (ui/common still imports it from here)."""

from ..select.cache import load, save, selection_key  # noqa: F401
