"""The notebook API: the main verbs of coldstart, a few lines from pool to result table.

>>> import coldstart as cs
>>> ds = cs.import_folder("my_pool", "mine", labels="labels.csv")     # doctest: +SKIP
>>> X = cs.embedding(ds, "pixels")                                   # doctest: +SKIP
>>> picks = cs.pick(ds, "kmeans-paper", embedder="pixels", budget=40)     # doctest: +SKIP
>>> result = cs.train_on(ds, picks, features=X)                      # doctest: +SKIP
>>> result.table()                                                   # doctest: +SKIP

Each verb is the function the CLI and the pages call; this module only gives them
one short name each and one argument order (the dataset first). The verbs are named
``embedding``, ``pick`` and ``train_on`` because ``coldstart.embed``, ``coldstart.select``
and ``coldstart.train`` are the sub-packages that implement them (a function of the same
name would be replaced by the sub-package as soon as it is imported). The array-level
selector call stays :func:`coldstart.select.select` (``select(name, X, budget, seed)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .errors import ColdstartError

if TYPE_CHECKING:  # heavy modules load only when a verb runs
    from .data import Dataset
    from .select import Selection
    from .train import TaskOutput


def open_dataset(name: str, root=None) -> "Dataset":
    """An imported dataset by name (see ``coldstart datasets``)."""
    from .data import open_dataset as _open

    return _open(name, root)


def phantom(root=None, progress=None) -> "Dataset":
    """The built-in default pool (simulated chest radiographs), built on first use."""
    from .data.phantom import ensure_phantom

    return ensure_phantom(root, progress=progress)


def import_folder(path, name: str, **options) -> "Dataset":
    """Import a folder of images (class sub-folders, or flat with ``labels=`` CSV; ``masks=`` folder).
    See :func:`coldstart.data.importers.import_folder` for the options."""
    from .data.importers import import_folder as _import

    return _import(path, name, **options)


def embedding(dataset, embedder: str | None = None, progress=None) -> np.ndarray:
    """The ``(N, D)`` embedding of every image, in manifest order (computed once, then cached).

    ``embedder=None`` uses the dataset's default embedder (see ``coldstart embedders DATASET``).
    """
    from .data import as_dataset
    from .embed import load_embeddings
    from .embed.registry import default_embedder

    ds = as_dataset(dataset)
    name = embedder if embedder is not None else default_embedder(ds)[0]
    return load_embeddings(ds, name, progress=progress)


def pick(dataset, selector: str, embedder: str | None = None, budget: int = 20, seed: int = 0,
         pool: str = "train", *, features=None, **params) -> "Selection":
    """Pick ``budget`` images from the pool (the train split by default).

    ``embedder`` names the embedding to select in; or pass ``features``, the ``(N, D)`` array of every
    image (e.g. from :func:`embedding` or your own model), as :func:`train_on` takes it. Returns a
    :class:`~coldstart.select.Selection` whose ``indices`` are **dataset rows** in pick order (nested:
    the first 20 are the budget-20 set); ``per_pick`` says why each was picked.
    """
    from .select.dataset import select_dataset

    if embedder is not None and features is not None:
        raise ColdstartError("pick() got both embedder= and features=: pass one (an embedder name, or the "
                             "feature array of every image)")
    return select_dataset(dataset, selector, embedder, budget=budget, seed=seed, pool=pool,
                          features=features, **params)


def train_on(dataset, picks, task: str = "probe", *, embedder: str | None = None, features=None,
          preset: str = "quick", seed: int = 0, labels=None, **overrides) -> "TaskOutput":
    """Train on the picked images and evaluate on the test split.

    Parameters
    ----------
    dataset : Dataset or str
    picks : Selection or int array
        The labeled dataset rows (a :func:`pick` result, or rows you chose).
    task : {"probe", "classification", "segmentation"}
    embedder, features
        What the probe trains on: an embedder name, or the ``(N, D)`` array of every image
        (e.g. from :func:`embedding` or your own model). Give one; neither means the dataset's
        default embedder. Ignored by the image tasks.
    labels : int array, optional
        The labels an annotator gave (default: the stored ones).

    Returns
    -------
    TaskOutput
        ``.metrics`` {name: (value, bootstrap SE)}; ``.table()`` shows them as a DataFrame.
    """
    from .data import as_dataset
    from .train import train_selection

    ds = as_dataset(dataset)
    rows = np.asarray(getattr(picks, "indices", picks), dtype=np.int64)
    if embedder is not None and features is not None:
        raise ColdstartError("train_on() got both embedder= and features=: pass one (an embedder name, or the "
                             "feature array of every image)")
    if task == "probe" and embedder is None and features is None:
        from .embed.registry import default_embedder

        embedder = default_embedder(ds)[0]
    return train_selection(ds, rows, task=task, embedder=embedder, features=features, preset=preset, seed=seed,
                           labels=labels, **overrides)


def list_runs(dataset: str | None = None):
    """Past and running experiment runs as a DataFrame (see ``coldstart runs``)."""
    from .runs import list_runs

    return list_runs(dataset)

