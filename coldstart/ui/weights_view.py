"""Model weights in the pages: Download buttons with progress, and which embedder is in use and why.

Every page calls one function:

- :func:`unavailable_panel` (sidebar of Explore, Train): the embedders that cannot run here,
  each with its reason, and a **Download** button when only its weights file is missing;
- :func:`offer_download` under a chosen but unavailable embedder (Explore's pickers);
- :func:`default_note` says which embedder a map or a new run uses by default, and why.

The download itself runs in a background thread (:mod:`coldstart.embed.download_jobs`),
so it survives a page rerun; the page polls it in a fragment and reruns when it ends.
"""

from __future__ import annotations

import streamlit as st

from ..data.dataset import Dataset
from ..embed import download_jobs as jobs
from ..embed.weights import get_weights
from . import loaders
from .common import guarded

_DISMISSED = "_weights_dismissed"  # session: finished downloads whose message was dismissed


def offer_download(ds: Dataset, embedder: str, key: str) -> None:
    """Under an unavailable embedder: its weights file, size, source and a Download button.

    Shows nothing when the embedder needs no weights file or has it (it is unavailable for
    another reason, which the caller shows).
    """
    row = loaders.embedders_table(ds).set_index("name").loc[embedder]
    wid = row["weights"]
    if not isinstance(wid, str) or get_weights(wid).find() is not None:
        return
    _download_widget(wid, f"{key}_{wid}", embedder)


def unavailable_panel(ds: Dataset, key: str, container=None) -> None:
    """An expander listing the embedders not available here, with Download buttons where they help."""
    box = container or st.sidebar
    table = loaders.embedders_table(ds)
    dismissed = st.session_state.setdefault(_DISMISSED, set())
    # one message and one button per weights file (two embedders can share one, e.g. imagenet-densenet121[-relu])
    for r in table[table["available"] & table["weights"].notna()].drop_duplicates("weights").itertuples():
        job = jobs.get(r.weights)
        if job is None or job.state != "done" or r.weights in dismissed:
            continue
        box.success(f"Downloaded {job.path.name}: **{r.name}** is available now.",
                    icon=":material/check_circle:")
        if box.button(f"Embed the {len(ds):,} images with {r.name}", key=f"{key}_embed_{r.weights}",
                      icon=":material/play_arrow:", type="primary"):
            with box, guarded(f"embedding with {r.name}"):
                loaders.compute_features(ds, r.name)
                dismissed.add(r.weights)
                st.rerun()
        elif box.button("Not now", key=f"{key}_dismiss_{r.weights}"):
            dismissed.add(r.weights)
            st.rerun()
    missing = table[~table["available"]]
    with box.expander(f"Embedders not available here ({len(missing)})", icon=":material/info:"):
        offered = set()
        for r in missing.itertuples():
            st.markdown(f"**{r.name}**: {r.reason}")
            if isinstance(r.weights, str) and r.weights not in offered and get_weights(r.weights).find() is None:
                offered.add(r.weights)
                _download_widget(r.weights, f"{key}_{r.weights}", r.name)


def default_note(ds: Dataset, container=None) -> str:
    """Show (as a caption) which embedder is the default here and why; returns its name."""
    name, why = loaders.default_embedder(ds)
    (container or st).caption(f"Default embedder: **{name}**, {why}.")
    return name


def _download_widget(wid: str, key: str, embedder: str) -> None:
    w = get_weights(wid)
    size = f"about {w.approx_mb} MB" if w.approx_mb else "size unknown"
    st.caption(f"`{w.filename}` ({size}) from {w.url}")
    job = jobs.get(wid)
    if job is not None and job.state == "running":
        _progress(wid, embedder)
        return
    if job is not None and job.state == "failed":
        st.error(f"Download failed: {job.error}", icon=":material/error:")
    label = "Try again" if job is not None and job.state == "failed" else "Download"
    if st.button(label, key=key, icon=":material/download:",
                 help=f"Fetch {w.filename} into the weights folder (checked before it counts as present)"):
        jobs.start(wid)
        st.rerun()


@st.fragment(run_every=1.0)
def _progress(wid: str, embedder: str) -> None:
    job = jobs.get(wid)
    if job is None:
        return
    if job.state == "running":
        total = f" of {job.total / 1e6:.1f} MB" if job.total else ""
        st.progress(job.fraction, text=f"downloading {embedder} weights: {job.done / 1e6:.1f} MB{total}")
        return
    st.rerun(scope="app")  # the embedder tables are keyed on which weight files are present


def similarity_words(ds: Dataset | None) -> str:
    """Which embedder makes the map's similarity on ``ds`` and what it is, in a clinician's words: the
    pool's default (:func:`coldstart.embed.default_embedder`) with its registry summary."""
    if ds is None:
        return ("a foundation model trained on many chest X-rays when its weights are present, else a "
                "descriptor computed from the images themselves")
    name, why = loaders.default_embedder(ds)
    table = loaders.embedders_table(ds).set_index("name")
    summary = str(table.loc[name, "summary"]) if name in table.index else name
    if name.startswith(("txrv", "imagenet")):
        return f"**{name}**, a foundation model: {summary}. It is used because it is {why}"
    return (f"**{name}**, which is not a foundation model but a descriptor computed from each image "
            f"itself: {summary}. It is used because it is {why}. The paper uses a chest X-ray foundation "
            "model; download one (sidebar of Explore or Train) to use it here")
