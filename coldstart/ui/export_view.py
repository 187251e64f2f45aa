"""Download buttons for a selection (CSV, Label Studio JSON, class folders as ZIP) for any page.

Usage (e.g. on the Explore page)::

    from coldstart.ui.export_view import export_buttons
    export_buttons(ds, sel.indices, per_pick=sel.per_pick, key="explore_export", name="kmeans-20")
"""

from __future__ import annotations

import streamlit as st

from .. import export


def export_buttons(ds, indices, per_pick=None, labels=None, key: str = "export", name: str = "selection",
                   model_version: str = "coldstart") -> None:
    """Three download buttons plus a note on serving images to Label Studio.

    Parameters
    ----------
    ds : Dataset
    indices : sequence of int
        Rows in pick order.
    per_pick : DataFrame, optional
        Diagnostics aligned with ``indices`` (added to the CSV and the Label Studio task data).
    labels : sequence, optional
        Labels to export instead of the dataset's own.
    key : str
        Prefix of the widget keys (unique per page).
    name : str
        Start of the downloaded file names.
    """
    idx = [int(i) for i in indices]
    if not idx:
        st.caption("Nothing to export yet: make a selection first.")
        return
    base = f"{ds.name}-{name}"
    extra = None
    if per_pick is not None and len(per_pick):
        extra = per_pick.drop(columns=[c for c in ("index",) if c in per_pick.columns])
    c = st.columns(3)
    # the files are built when a button is clicked (callables), not on every rerun of the page
    c[0].download_button("Selection (CSV)", lambda: export.selection_csv(ds, idx, per_pick=per_pick, labels=labels),
                         f"{base}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:",
                         on_click="ignore",
                         help="One row per image: rank, id, file path, class, split, and why it was picked.")
    c[1].download_button("Label Studio tasks (JSON)",
                         lambda: export.label_studio_json(ds, idx, labels=labels, extra=extra,
                                                          model_version=model_version),
                         f"{base}-labelstudio.json", mime="application/json", key=f"{key}_ls",
                         icon=":material/download:", on_click="ignore",
                         help="Import into Label Studio; known classes and mask boxes come as pre-annotations.")
    c[2].download_button("Images in class folders (ZIP)",
                         lambda: export.export_zip(ds, idx, labels=labels, per_pick=per_pick), f"{base}-images.zip",
                         mime="application/zip", key=f"{key}_zip", icon=":material/download:", on_click="ignore",
                         help="One folder per class plus labels.csv; readable by ImageFolder-style tools.")
    with st.expander("How to open the Label Studio file"):
        st.code(export.SERVE_NOTE.format(root=ds.dir.parent, model_version=model_version), language="text")
