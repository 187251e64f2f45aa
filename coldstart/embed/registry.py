"""The embedder registry: a table of names -> factories (+ parameterised ``file:`` / ``ssl-pool:``)."""

from __future__ import annotations

import importlib

import pandas as pd

from ..errors import ColdstartError

#: name -> "module:Class" (imported only when the embedder is asked for)
BUILTIN: dict[str, str] = {
    "pixels": "coldstart.embed.pixels:InputPixelsEmbedder",  # the paper's naive input (224 px, <= native)
    "pixels-32": "coldstart.embed.pixels:PixelsEmbedder",  # a cheap 32 px thumbnail
    "gist": "coldstart.embed.gist:GistEmbedder",
    "txrv-densenet121": "coldstart.embed.txrv:TxrvDenseNet",
    "txrv-resnet50": "coldstart.embed.txrv:TxrvResNet50",
    "txrv-autoencoder": "coldstart.embed.txrv:TxrvAutoencoder",
    "imagenet-densenet121": "coldstart.embed.imagenet:ImagenetDenseNet",  # the paper's: no final ReLU
    "imagenet-densenet121-relu": "coldstart.embed.imagenet:ImagenetDenseNetReLU",
}
#: built-ins whose settings depend on the dataset (their size follows the images')
PER_DATASET = ("pixels",)
#: parameterised names, listed as-is in the table
PARAMETRISED = ("file", "ssl-pool")
#: embedders that need no weights and take seconds per thousand images on a CPU: pages compute them without asking
QUICK = ("pixels", "pixels-32", "gist")
#: the paper's chest X-ray foundation models, in order of preference for the default embedder
FOUNDATION = ("txrv-densenet121", "txrv-resnet50", "txrv-autoencoder")


def names() -> list[str]:
    """All registry names, in display order."""
    return list(BUILTIN) + list(PARAMETRISED)


def _load(target: str):
    mod, _, cls = target.partition(":")
    return getattr(importlib.import_module(mod), cls)


def _as_dataset(dataset):
    """No dataset (``None``), or :func:`coldstart.data.as_dataset` of it."""
    if dataset is None:
        return None
    from ..data import as_dataset

    return as_dataset(dataset)


def get_embedder(name: str, dataset=None):
    """The embedder called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`, or ``file:<path>``, or ``ssl-pool:<model-id>``.
    dataset : Dataset or str, optional
        Needed to resolve ``ssl-pool`` models (they live in the dataset's
        ``models/`` folder); plain ``ssl-pool`` names no model and is
        unavailable, its reason listing the trained ids.

    Raises
    ------
    ColdstartError
        For an unknown name, listing the valid ones.
    """
    if not isinstance(name, str) or not name:
        raise ColdstartError(f"embedder name {name!r} must be a non-empty string: choose one of {names()}")
    if name in BUILTIN:
        return _load(BUILTIN[name])(_as_dataset(dataset)) if name in PER_DATASET else _load(BUILTIN[name])()
    head, sep, arg = name.partition(":")
    if head == "file":
        from .file import FileEmbedder

        return FileEmbedder(arg or None)
    if head == "ssl-pool":
        from .ssl_pool import SslPoolEmbedder

        return SslPoolEmbedder(arg or None, _as_dataset(dataset))
    raise ColdstartError(
        f"unknown embedder {name!r}: choose one of {sorted(names())} "
        "(or file:PATH for your own embeddings, ssl-pool:MODEL-ID for a pre-trained pool model)")


def list_embedders(dataset=None) -> pd.DataFrame:
    """Table of embedders: name, available, reason, dim, summary, weights, default.

    ``weights`` is the weights id when the embedder needs a weights file (see
    :mod:`coldstart.embed.weights`); ``default`` marks :func:`default_embedder`.

    With a ``dataset``, its ssl-pool models are listed one per row (after the
    plain ``ssl-pool`` row, which is unavailable and lists them).
    """
    ds = _as_dataset(dataset)
    entries = [(n, get_embedder(n, ds)) for n in names()]
    if ds is not None:
        from .ssl_pool import list_models

        entries += [(None, get_embedder(f"ssl-pool:{c['model_id']}", ds)) for c in list_models(ds)]
    rows = []
    for listed, e in entries:
        ok, reason = e.available()
        rows.append(dict(name=listed or e.name, available=bool(ok), reason=reason, dim=e.dim,
                         summary=e.summary, weights=getattr(e, "weights_id", None)))
    df = pd.DataFrame(rows, columns=["name", "available", "reason", "dim", "summary", "weights"])
    df["dim"] = df["dim"].astype("Int64")
    df["default"] = df["name"] == default_embedder(ds, df)[0]
    return df


def default_embedder(dataset=None, table: pd.DataFrame | None = None) -> tuple[str, str]:
    """The embedder a map, a new run or ``coldstart embed`` uses when none is named, and why.

    A paper foundation model whose weights are present comes first (:data:`FOUNDATION`,
    TXRV DenseNet-121 first); then the dataset's own ``default_embedder`` (from its
    ``dataset.json``) when it can run; then raw ``pixels``.

    Returns
    -------
    (name, reason) : tuple of str
    """
    ds = _as_dataset(dataset)
    ok = None if table is None else dict(zip(table["name"], table["available"]))

    def runs(name: str) -> bool:
        return bool(ok[name]) if ok is not None and name in ok else get_embedder(name, ds).available()[0]

    for name in FOUNDATION:
        if runs(name):
            return name, "a chest X-ray foundation model of the paper whose weights are present here"
    own = ds.info.get("default_embedder") if ds is not None else None
    if own:
        if runs(own):
            return own, f"the default of dataset {ds.name!r} (its dataset.json); no foundation-model weights here"
        why = f"dataset {ds.name!r} names {own!r}, which cannot run here"
    else:
        why = "no foundation-model weights here"
    return "pixels", f"raw pixels at the task's input size (the paper's naive baseline); {why}: download one to use it"
