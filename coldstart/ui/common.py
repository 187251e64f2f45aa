"""Streamlit helpers shared by every page: page setup, the dataset sidebar, thumbnail
galleries, progress and error display (the cached loaders are in :mod:`coldstart.ui.loaders`).

Every page starts the same way::

    from coldstart.ui import common as ui

    ui.page_config("Explore")
    ds = ui.dataset_sidebar()          # None when there is no dataset yet (a message is shown)
    if ds is None:
        st.stop()

State shared between pages lives in ``st.session_state``:

- ``"dataset"``: the active dataset name (set by :func:`dataset_sidebar`);
- page-specific keys are prefixed with the page name (``"explore_..."``, ``"train_..."``).

Nothing here computes anything the CLI cannot: it calls ``coldstart`` functions and caches
their results per Streamlit session (``st.cache_data``) or process (``st.cache_resource``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterable, Sequence

import numpy as np
import streamlit as st

from ..data import thumbnails as images
from ..data.dataset import MANIFEST, Dataset, list_datasets
from ..errors import ColdstartError
from ..paths import data_root
from .navigation import FAVICON, through_app

DATASET_KEY = "dataset"          # active dataset name, shared by all pages
_PICKER_KEY = "_dataset_picker"  # the sidebar widget's own key
DEFAULT_DATASET = "phantom"
APP_TITLE = "coldstart"


# ---------------------------------------------------------------- page setup


def page_config(title: str, icon: str = FAVICON) -> None:
    """``st.set_page_config`` with the app's defaults (wide layout); call first on every page."""
    through_app()
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


def session_memo(key: tuple, compute: Callable, store: str = "_memo", size: int = 16):
    """``compute()``, remembered in this session under ``key`` (the last ``size`` keys of ``store``).

    For cheap-but-not-free values a page needs on every rerun (e.g. the map's per-point hover
    fields): same key, same object, so reruns neither recompute nor copy it. A separate ``store``
    keeps many small entries (one per budget) from evicting a few large ones.
    """
    memo = st.session_state.setdefault(store, {})
    if key not in memo:
        if len(memo) >= size:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


# ---------------------------------------------------------------- datasets
def manifest_stamp(name: str, root: str) -> int:
    """Manifest modification time: part of every cache key so a re-import is picked up."""
    try:
        return os.stat(os.path.join(root, name, MANIFEST)).st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_dataset(name: str, root: str, stamp: int) -> Dataset:
    """The :class:`Dataset` ``name`` under ``root``, one per process and manifest ``stamp``."""
    return Dataset(name, root)


def load_dataset(name: str) -> Dataset:
    """The dataset ``name`` under the current data root, cached until its manifest changes."""
    root = str(data_root())
    return cached_dataset(name, root, manifest_stamp(name, root))


def dataset_stamp(ds: Dataset) -> str:
    """A short string identifying the dataset version (name + manifest hash) for cache keys."""
    return f"{ds.name}:{ds.manifest_hash}"


def ensure_default_dataset() -> bool:
    """Create the built-in phantom pool on first launch, showing progress, and start computing the
    default comparison's selections in the background (:func:`coldstart.runs.warm.warm_in_background`).
    Returns True if created."""
    if list_datasets():
        return False
    from ..data.phantom import ensure_phantom

    with st.status("First launch: creating the built-in phantom chest X-ray pool…", expanded=True) as s:
        st.write("This happens once; later visits open it straight away.")
        cb = progress_callback("generating phantom images")
        try:
            ds = ensure_phantom(progress=cb)
        except ColdstartError as e:
            s.update(label="Could not create the phantom pool", state="error")
            show_error(e)
            return False
        s.update(label="Phantom pool ready", state="complete", expanded=False)
    from ..runs.warm import warm_in_background

    warm_in_background(ds)  # the default comparison's selections, so that a first run only trains
    from . import explore_warm  # Explore's first visit then only draws

    explore_warm.start(ds)
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
    n_lab = int(ds.is_labeled().sum())
    st.sidebar.caption(f"{len(ds):,} images · classes: {', '.join(ds.classes) or 'none'} · "
                       f"ground truth for {n_lab:,} (scores methods; selection never sees it)"
                       f"{' · masks' if ds.has_masks else ''}")
    return ds


def active_dataset_name() -> str | None:
    """The name stored by :func:`dataset_sidebar` (None before it ran)."""
    return st.session_state.get(DATASET_KEY)


# ---------------------------------------------------------------- thumbnails
@st.cache_data(max_entries=2000, show_spinner=False)
def _thumb(name: str, root: str, stamp: int, i: int, size: int, outline: bool,
           highlight: bool) -> np.ndarray:
    ds = cached_dataset(name, root, stamp)
    img = ds.load_image(i, size)
    m = ds.load_mask(i, size) if outline else None
    return images.overlay(img, m, fill_alpha=0.15 if m is not None else 0.0,
                          frame=images.HIGHLIGHT_RGB if highlight else None)


def thumbnails(ds: Dataset, indices: Iterable[int], size: int = 128, outline: bool = True,
               highlight: Iterable[int] = ()) -> list[np.ndarray]:
    """RGB uint8 thumbnails of ``indices`` with mask outlines (each cached per dataset version)."""
    root = str(ds.dir.parent)
    stamp = manifest_stamp(ds.name, root)
    hl = {int(i) for i in highlight}
    return [_thumb(ds.name, root, stamp, int(i), int(size), bool(outline), int(i) in hl)
            for i in indices]


@st.cache_data(max_entries=4000, show_spinner=False)
def _thumb_png(name: str, root: str, stamp: int, i: int, size: int, outline: bool, highlight: bool) -> bytes:
    """A thumbnail encoded once as PNG: a gallery's rerun then hands Streamlit bytes, not arrays to encode."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_thumb(name, root, stamp, i, size, outline, highlight)).save(buf, format="PNG")
    return buf.getvalue()


def caption(ds: Dataset, i: int, extra: str = "") -> str:
    """``id · label`` (+ extra) caption for image ``i``."""
    lab = ds.label_name(int(ds.labels[int(i)]))
    s = f"{ds.ids[int(i)]} · {lab}"
    return f"{s} · {extra}" if extra else s


def image_grid(ds: Dataset, indices: Sequence[int], captions: Sequence[str] | None = None,
               size: int = 128, outline: bool = True, highlight: Iterable[int] = ()) -> None:
    """A gallery of ``size``-pixel thumbnails with mask outlines (``highlight``: framed), captioned by
    id and label, as many per row as fit the container: one ``st.image`` element for the whole gallery,
    so a rerun sends and the browser diffs one element, not a row of columns per few images."""
    indices = [int(i) for i in indices]
    if not indices:
        st.caption("No images to show.")
        return
    root = str(ds.dir.parent)
    stamp, hl = manifest_stamp(ds.name, root), {int(i) for i in highlight}
    pngs = [_thumb_png(ds.name, root, stamp, i, int(size), bool(outline), i in hl) for i in indices]
    captions = list(captions) if captions is not None else [caption(ds, i) for i in indices]
    st.image(pngs, caption=captions, width=int(size), output_format="PNG")


def download_csv(df, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for a DataFrame as CSV."""
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=key, icon=":material/download:")
