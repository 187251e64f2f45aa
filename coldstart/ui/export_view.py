"""The export panel of any page: CSV, Label Studio bundle and class-folder zip downloads.

Usage (Explore, Label)::

    from coldstart.ui.export_view import export_panel
    export_panel(ds, rows, key="explore_export", per_pick=sel.per_pick, name="kmeans-20")

The files come from :func:`coldstart.export.download`, the same builder as ``coldstart export``.
Each button gets a callable, so a file is built only when clicked, and nothing is stored
in Streamlit's media store that a rerun could delete under the browser (no "Download
Button source error - 404" after reruns).
"""

from __future__ import annotations

import streamlit as st

from .. import export

URL_MODE_LABELS = {"local": "Label Studio's local storage (no extra server)",
                   "http": "an HTTP server (coldstart serve-images)"}


@st.fragment
def export_panel(dataset, rows, key: str, per_pick=None, labels=None, name: str = "selection",
                 model_version: str = "coldstart") -> None:
    """Three download buttons, the Label Studio URL mode, and the filled-in serving note.

    A fragment: choosing the URL mode or typing a prefix reruns only this panel.

    Parameters
    ----------
    dataset : Dataset
    rows : sequence of int
        Manifest rows in pick order.
    key : str
        Prefix of the widget keys (unique per page and panel).
    per_pick : DataFrame, optional
        Diagnostics aligned with ``rows`` (added to the CSV and the Label Studio task data).
    labels : sequence, optional
        Labels to export instead of the dataset's own (e.g. a labeling session's).
    name : str
        Start of the downloaded file names (after the dataset's name), given by the caller (e.g.
        ``kmeans-gist-b20``), never parsed out of a display label.
    model_version : str
        Name of the pre-annotations in Label Studio.
    """
    rows = [int(i) for i in rows]
    if not rows:
        st.caption("Nothing to export yet: make a selection first.")
        return
    c = st.columns([2, 3])
    mode = c[0].radio("Label Studio reaches the images through", list(URL_MODE_LABELS),
                      format_func=URL_MODE_LABELS.get, key=f"{key}_url_mode",
                      help="Local storage needs Label Studio started with local file serving; the HTTP server "
                           "is one command in a second terminal. The note in the bundle says what to do.")
    prefix = export.DEFAULT_URL_PREFIX
    if mode == "http":
        prefix = c[1].text_input("Image URL prefix", export.DEFAULT_URL_PREFIX, key=f"{key}_url_prefix",
                                 help="Where `coldstart serve-images` (or another server with CORS) serves "
                                      "the dataset folder.").strip()
    bad_prefix = not prefix.startswith(("http://", "https://"))
    if bad_prefix:
        c[1].error(f"Image URL prefix {prefix!r} must start with http:// or https://, "
                   f"e.g. {export.DEFAULT_URL_PREFIX}")
        prefix = export.DEFAULT_URL_PREFIX

    def build(fmt: str):
        def make() -> bytes:
            return export.download(dataset, rows, fmt, name=name, labels=labels, per_pick=per_pick,
                                   url_mode=mode, url_prefix=prefix, model_version=model_version).data
        return make

    base = f"{dataset.name}-{name}"
    b = st.columns(3)
    b[0].download_button("Selection (CSV)", build("csv"), f"{base}.csv", mime="text/csv", key=f"{key}_csv",
                         icon=":material/download:", on_click="ignore",
                         help="One row per image: rank, id, file path, class, split, and why it was picked.")
    b[1].download_button("Label Studio bundle (ZIP)", build("label-studio"), f"{base}-labelstudio.zip",
                         mime="application/zip", key=f"{key}_ls", icon=":material/download:", on_click="ignore",
                         disabled=bad_prefix,
                         help="tasks.json, label_config.xml and HOW_TO_SERVE.txt: known classes and mask "
                              "boxes come as pre-annotations.")
    b[2].download_button("Images in class folders (ZIP)", build("zip"), f"{base}-images.zip",
                         mime="application/zip", key=f"{key}_zip", icon=":material/download:", on_click="ignore",
                         help="One folder per class plus labels.csv and selection.csv; opens in torchvision's "
                              "ImageFolder and FiftyOne (ImageClassificationDirectoryTree).")
    with st.expander("How to open the Label Studio bundle"):
        st.code(export.serve_note(dataset, len(rows), mode, prefix, model_version), language="text")
