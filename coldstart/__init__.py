"""coldstart: cold-start active-learning selection, training and comparison.

The main verbs, for a notebook (see docs/notebook.md)::

    import coldstart as cs
    ds = cs.phantom()                                   # or cs.import_folder(path, name) / cs.open_dataset(name)
    picks = cs.pick(ds, "kmeans-paper", embedder="pixels", budget=40)
    cs.train_on(ds, picks, embedder="pixels").table()

They live in :mod:`coldstart.api` and load lazily, so ``import coldstart`` stays fast.
"""

from .version import __version__

_VERBS = ("open_dataset", "phantom", "import_folder", "embedding", "pick", "train_on", "list_runs")


def __getattr__(name):  # PEP 562: verbs load on first use
    if name in _VERBS:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'coldstart' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_VERBS))


__all__ = list(_VERBS)
