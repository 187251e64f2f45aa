"""Streamlit helpers shared by every page: page setup, the dataset sidebar, cached loaders,
thumbnail galleries, progress and error display.

Every page starts the same way::

    from coldstart.ui import common as ui

    ui.page_config("Explore")
    ds = ui.dataset_sidebar()          # None when there is no dataset yet (a message is shown)
    if ds is None:
        st.stop()

State shared between pages lives in ``st.session_state``:

- ``"dataset"``: the active dataset name (set by :func:`dataset_sidebar`);
- page-specific keys are prefixed with the page name (``"explore_..."``, ``"train_..."``).

Nothing here computes anything the CLI cannot: loaders call ``coldstart`` functions and
cache their results per Streamlit session (``st.cache_data``) or process (``st.cache_resource``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterable, Sequence

import numpy as np
import streamlit as st

from ..data.dataset import MANIFEST, Dataset, list_datasets
from ..errors import ColdstartError
from ..paths import data_root
from . import images, selcache

DATASET_KEY = "dataset"          # active dataset name, shared by all pages
_PICKER_KEY = "_dataset_picker"  # the sidebar widget's own key
DEFAULT_DATASET = "phantom"
APP_TITLE = "coldstart"


# ---------------------------------------------------------------- page setup
def page_config(title: str, icon: str = ":material/radiology:") -> None:
    """``st.set_page_config`` with the app's defaults (wide layout); call first on every page."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide",
                       initial_sidebar_state="expanded")


def show_error(e: BaseException, context: str | None = None) -> None:
    """Show a user-fixable :class:`ColdstartError` as a red box with its message (no traceback).

    Other exceptions are shown with Streamlit's exception display, since they are bugs.
    """
    if isinstance(e, ColdstartError):
        st.error(f"{context}: {e}" if context else str(e), icon=":material/error:")
    else:
        st.exception(e)


@contextmanager
def guarded(context: str | None = None):
    """``with ui.guarded("selection"): ...`` shows a ColdstartError instead of crashing the page."""
    try:
        yield
    except ColdstartError as e:
        show_error(e, context)


def progress_callback(text: str = "", container=None) -> Callable[[int, int, str], None]:
    """A ``progress(done, total, message)`` callable that drives an ``st.progress`` bar.

    Pass it as ``progress=`` to any long ``coldstart`` function (embedding, pretraining, maps).
    """
    bar = (container or st).progress(0.0, text=text or "working…")

    def update(done: int, total: int, message: str = "") -> None:
        frac = 0.0 if not total else min(1.0, max(0.0, done / total))
        label = message or text
        bar.progress(frac, text=f"{label} ({done}/{total})" if total else label)

    return update


def session_memo(key: tuple, compute: Callable):
    """``compute()``, remembered in this session under ``key`` (the last 16 keys are kept).

    For cheap-but-not-free values a page needs on every rerun (e.g. the map's per-point hover
    fields): same key, same object, so reruns neither recompute nor copy it.
    """
    memo = st.session_state.setdefault("_memo", {})
    if key not in memo:
        if len(memo) >= 16:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


# ---------------------------------------------------------------- datasets
def _stamp(name: str, root: str) -> int:
    """Manifest modification time: part of every cache key so a re-import is picked up."""
    try:
        return os.stat(os.path.join(root, name, MANIFEST)).st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(max_entries=16, show_spinner=False)
def _open_dataset(name: str, root: str, stamp: int) -> Dataset:
    return Dataset(name, root)


def load_dataset(name: str) -> Dataset:
    """The dataset ``name`` under the current data root, cached until its manifest changes."""
    root = str(data_root())
    return _open_dataset(name, root, _stamp(name, root))


def dataset_stamp(ds: Dataset) -> str:
    """A short string identifying the dataset version (name + manifest hash) for cache keys."""
    return f"{ds.name}:{ds.manifest_hash}"


def ensure_default_dataset() -> bool:
    """Create the built-in phantom pool on first launch, showing progress. Returns True if created."""
    if list_datasets():
        return False
    try:
        from ..data.phantom import ensure_phantom
    except ImportError:  # the phantom generator is not installed in this build
        return False
    with st.status("First launch: creating the built-in phantom chest X-ray pool…", expanded=True) as s:
        st.write("This happens once; later visits open it straight away.")
        cb = progress_callback("generating phantom images")
        try:
            ensure_phantom(progress=cb)
        except ColdstartError as e:
            s.update(label="Could not create the phantom pool", state="error")
            show_error(e)
            return False
        s.update(label="Phantom pool ready", state="complete", expanded=False)
    return True


def _on_pick() -> None:
    st.session_state[DATASET_KEY] = st.session_state[_PICKER_KEY]


def dataset_sidebar(create_default: bool = True) -> Dataset | None:
    """The active-dataset picker in the sidebar; returns the chosen :class:`Dataset`.

    The choice is stored in ``st.session_state["dataset"]`` and shared by all pages.
    On first launch (no dataset under the data root) the phantom pool is created with a
    visible progress display. Returns None (after showing a hint) when there is no dataset.
    """
    names = list_datasets()
    if not names and create_default:
        ensure_default_dataset()
        names = list_datasets()
    st.sidebar.markdown(f"### {APP_TITLE}")
    if not names:
        st.sidebar.info("No dataset yet.")
        st.info(f"No dataset found under `{data_root()}`. Import one on the home page "
                "or run `coldstart import phantom --name phantom`.")
        return None
    current = st.session_state.get(DATASET_KEY)
    if current not in names:
        current = DEFAULT_DATASET if DEFAULT_DATASET in names else names[0]
    # Seed the widget from the shared key: widget state does not survive page switches.
    st.session_state[_PICKER_KEY] = current
    choice = st.sidebar.selectbox("Active dataset", names, key=_PICKER_KEY, on_change=_on_pick,
                                  help="All pages work on this dataset. Import more on the home page.")
    st.session_state[DATASET_KEY] = choice
    try:
        ds = load_dataset(choice)
    except ColdstartError as e:
        show_error(e)
        return None
    n_lab = int((ds.labels >= 0).sum())
    st.sidebar.caption(f"{len(ds):,} images · classes: {', '.join(ds.classes) or 'none'} · "
                       f"{n_lab:,} labelled{' · masks' if ds.has_masks else ''}")
    return ds


def active_dataset_name() -> str | None:
    """The name stored by :func:`dataset_sidebar` (None before it ran)."""
    return st.session_state.get(DATASET_KEY)


# ---------------------------------------------------------------- thumbnails
@st.cache_data(max_entries=2000, show_spinner=False)
def _thumb(name: str, root: str, stamp: int, i: int, size: int, outline: bool,
           highlight: bool) -> np.ndarray:
    ds = _open_dataset(name, root, stamp)
    img = ds.load_image(i, size)
    m = ds.load_mask(i, size) if outline else None
    return images.overlay(img, m, fill_alpha=0.15 if m is not None else 0.0,
                          frame=images.HIGHLIGHT_RGB if highlight else None)


def thumbnails(ds: Dataset, indices: Iterable[int], size: int = 128, outline: bool = True,
               highlight: Iterable[int] = ()) -> list[np.ndarray]:
    """RGB uint8 thumbnails of ``indices`` with mask outlines (each cached per dataset version)."""
    root = str(ds.dir.parent)
    stamp = _stamp(ds.name, root)
    hl = {int(i) for i in highlight}
    return [_thumb(ds.name, root, stamp, int(i), int(size), bool(outline), int(i) in hl)
            for i in indices]


def caption(ds: Dataset, i: int, extra: str = "") -> str:
    """``id · label`` (+ extra) caption for image ``i``."""
    lab = ds.label_name(int(ds.labels[int(i)]))
    s = f"{ds.ids[int(i)]} · {lab}"
    return f"{s} · {extra}" if extra else s


def image_grid(ds: Dataset, indices: Sequence[int], captions: Sequence[str] | None = None,
               cols: int = 6, size: int = 128, outline: bool = True,
               highlight: Iterable[int] = ()) -> None:
    """A gallery of thumbnails with mask outlines, ``cols`` per row, captioned by id and label."""
    indices = [int(i) for i in indices]
    if not indices:
        st.caption("No images to show.")
        return
    thumbs = thumbnails(ds, indices, size=size, outline=outline, highlight=highlight)
    captions = list(captions) if captions is not None else [caption(ds, i) for i in indices]
    for start in range(0, len(indices), cols):
        row = st.columns(cols)
        for col, img, cap in zip(row, thumbs[start:start + cols], captions[start:start + cols]):
            col.image(img, caption=cap, width="stretch", output_format="PNG")


def download_csv(df, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for a DataFrame as CSV."""
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=key, icon=":material/download:")


# ---------------------------------------------------------------- cached coldstart loaders
@st.cache_data(max_entries=8, show_spinner=False)
def list_embedders_table(name: str, root: str, stamp: int):
    """``coldstart.embed.list_embedders`` for a dataset (name, available, reason, dim, summary, cached)."""
    from ..embed import list_embedders

    return list_embedders(_open_dataset(name, root, stamp))


def embedders_table(ds: Dataset):
    root = str(ds.dir.parent)
    return list_embedders_table(ds.name, root, _stamp(ds.name, root))


def embedding_key(ds: Dataset, embedder: str) -> str:
    """The embedder's cache key for this dataset (``ssl-pool`` resolves to the newest model)."""
    from ..embed import get_embedder

    return get_embedder(embedder, ds).key


@st.cache_resource(max_entries=8, show_spinner=False)
def _features(name: str, root: str, stamp: int, embedder: str, key: str):
    from ..embed import cached_embeddings

    x = cached_embeddings(_open_dataset(name, root, stamp), embedder)
    if x is not None:
        x.setflags(write=False)  # shared between sessions: never mutate
    return x


def cached_features(ds: Dataset, embedder: str) -> np.ndarray | None:
    """Embeddings from the on-disk cache (read-only array), or None when not computed yet.

    Never computes; the array is shared between reruns and sessions (no copy).
    """
    root = str(ds.dir.parent)
    return _features(ds.name, root, _stamp(ds.name, root), embedder, embedding_key(ds, embedder))


def compute_features(ds: Dataset, embedder: str) -> np.ndarray:
    """Compute (or load) embeddings with a progress bar; caches on disk and refreshes the loaders."""
    from ..embed import load_embeddings

    ph = st.empty()
    cb = progress_callback(f"embedding {len(ds):,} images with {embedder} (saved for later visits)",
                           container=ph)
    load_embeddings(ds, embedder, progress=cb)
    ph.empty()
    _features.clear()
    list_embedders_table.clear()
    return cached_features(ds, embedder)


@st.cache_resource(max_entries=8, show_spinner=False)
def _map(name: str, root: str, stamp: int, key: str, method: str, seed: int):
    from .. import maps

    y = maps.cached_map(_open_dataset(name, root, stamp), key, method, seed)
    if y is not None:
        y.setflags(write=False)
    return y


def cached_map(ds: Dataset, embedder: str, method: str, seed: int = 0) -> np.ndarray | None:
    """The 2-D map of every image from the disk cache, or None (never computes)."""
    root = str(ds.dir.parent)
    return _map(ds.name, root, _stamp(ds.name, root), embedding_key(ds, embedder), method, int(seed))


def compute_map(ds: Dataset, embedder: str, method: str, seed: int = 0) -> np.ndarray:
    """Compute the map (with a progress display) and cache it on disk."""
    from .. import maps

    feats = cached_features(ds, embedder)
    if feats is None:
        raise ColdstartError(f"no cached {embedder} embeddings for {ds.name!r}: compute them first")
    note = " (the first UMAP in a fresh server compiles for ~30 s)" if method == "umap" else ""
    with st.status(f"Computing the {method.upper()} map of {len(ds):,} images{note}…",
                   expanded=True) as s:
        cb = progress_callback(f"{method} map")
        maps.load_or_compute_map(ds, feats, embedding_key(ds, embedder), method, seed, progress=cb)
        s.update(label=f"{method.upper()} map ready (cached for later visits)", state="complete",
                 expanded=False)
    _map.clear()
    return cached_map(ds, embedder, method, seed)


@st.cache_resource(max_entries=8, show_spinner=False)
def _reduced(name: str, root: str, stamp: int, embedder: str, key: str, pool: str, dims: int):
    from .explore import pool_indices

    ds = _open_dataset(name, root, stamp)
    x = _features(name, root, stamp, embedder, key)
    if x is None:
        return None
    X = np.asarray(x, dtype=np.float32)[pool_indices(ds, pool)]
    if X.shape[1] <= dims or len(X) <= dims:
        z = X - X.mean(axis=0)
    else:  # fit on <= 2,000 rows (seeded), project all: ~10x faster than a full PCA, same picture
        from sklearn.decomposition import PCA
        from threadpoolctl import threadpool_limits

        fit = X if len(X) <= 2000 else X[np.random.default_rng(0).choice(len(X), 2000, replace=False)]
        with threadpool_limits(1):  # small BLAS work: threads only add overhead on a busy server
            z = PCA(n_components=dims, svd_solver="randomized", random_state=0).fit(fit).transform(X)
    z = np.ascontiguousarray(z, dtype=np.float32)
    z.setflags(write=False)
    return z


def reduced_features(ds: Dataset, embedder: str, pool: str = "train", dims: int = 50) -> np.ndarray | None:
    """The pool's cached embeddings reduced by PCA to ``dims`` (seed 0), for fast diagnostics."""
    root = str(ds.dir.parent)
    return _reduced(ds.name, root, _stamp(ds.name, root), embedder, embedding_key(ds, embedder), pool, int(dims))


@st.cache_data(max_entries=32, show_spinner="Selecting images (saved for later visits)…")
def _selection(name: str, root: str, stamp: int, embedder: str | None, key: str | None,
               selector: str, params: tuple, seed: int, pool: str, budget: int):
    from ..select import get_selector, select
    from .explore import pool_indices

    ds = _open_dataset(name, root, stamp)
    rows = pool_indices(ds, pool)
    spec = get_selector(selector)
    if embedder is None:
        feats = len(rows)
    else:
        x = _features(name, root, stamp, embedder, key)
        if x is None:
            raise ColdstartError(f"no cached {embedder} embeddings: compute them first")
        feats = np.asarray(x)[rows]
    if spec.needs_features and embedder is None:
        raise ColdstartError(f"selector {selector!r} needs features: choose an embedding for it")
    skey = selcache.selection_key(ds.manifest_hash, key, selector, dict(params), seed, pool, budget)
    sel = selcache.load(ds, skey)
    if sel is None:
        sel = select(selector, feats, budget, seed, **dict(params))
        selcache.save(ds, skey, sel)
    return sel


def run_selection(ds: Dataset, selector: str, embedder: str | None, budget: int, seed: int,
                  pool: str = "train", params: dict | None = None):
    """``coldstart.select.select`` on the pool's cached features, cached per session.

    Compute once at the largest budget and take prefixes (selections are nested), so moving the
    budget slider costs nothing.
    """
    root = str(ds.dir.parent)
    key = embedding_key(ds, embedder) if embedder else None
    return _selection(ds.name, root, _stamp(ds.name, root), embedder, key, selector,
                      tuple(sorted((params or {}).items())), int(seed), pool, int(budget))


@st.cache_data(max_entries=8, show_spinner=False)
def _ood(name: str, root: str, stamp: int, embedder: str, key: str, pool: str):
    from ..select.ood import ood_scores
    from .explore import pool_indices

    ds = _open_dataset(name, root, stamp)
    x = _features(name, root, stamp, embedder, key)
    return None if x is None else np.asarray(ood_scores(np.asarray(x)[pool_indices(ds, pool)]), np.float32)


def ood_scores(ds: Dataset, embedder: str, pool: str = "train") -> np.ndarray | None:
    """OOD scores of the pool in an embedding (``coldstart.select.ood_scores``), or None if unavailable."""
    try:
        from ..select.ood import ood_scores as _f  # noqa: F401
    except ImportError:
        return None
    root = str(ds.dir.parent)
    return _ood(ds.name, root, _stamp(ds.name, root), embedder, embedding_key(ds, embedder), pool)


def needs_model(spec) -> bool:
    """True for selectors that rank by a trained model's outputs (uncertainty sampling rounds).

    They take ``probs`` / ``mc_probs`` from a model and cannot make a *cold-start* pick, so the
    Explore page does not offer them (the Train page uses them for the later rounds).
    """
    import inspect

    return "mc_probs" in inspect.signature(spec.func).parameters


def selectors_table(cold_start_only: bool = True):
    """Registered selectors: name -> SelectorSpec (all selector modules loaded), registry order.

    With ``cold_start_only`` the model-based uncertainty strategies are left out (see :func:`needs_model`).
    """
    from ..select import REGISTRY, _load_all

    _load_all()
    return {k: v for k, v in REGISTRY.items() if not (cold_start_only and needs_model(v))}


def pretrain_ssl(ds: Dataset, epochs: int, seed: int = 0, preset: str = "cpu") -> str:
    """Pre-train the ssl-pool encoder on this pool with a progress bar; returns the model id."""
    from ..embed import pretrain_ssl as _pretrain

    cb = progress_callback(f"pre-training ssl-pool for {epochs} epochs")
    model_id = _pretrain(ds, preset=preset, epochs=int(epochs), seed=int(seed), progress=cb)
    list_embedders_table.clear()
    _features.clear()
    return model_id


# ---------------------------------------------------------------- import form
def import_form() -> None:
    """The home page's import form (folder, ChestX-Det, MedMNIST, SIIM); see :mod:`coldstart.ui.importing`."""
    from .importing import import_form as _form

    _form()
