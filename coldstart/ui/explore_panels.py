"""Explore's panels below the map: the side-by-side diagnostics, the lasso gallery and a method's
picks (gallery, table, export). Each draws from what the page's part hands it; the parts (fragments)
and what reruns them are in ``pages/1_Explore.py`` and :mod:`coldstart.ui.explore_controls`.
"""

from __future__ import annotations

import streamlit as st

from .. import explore as ex
from .. import export
from . import common as ui
from . import export_view, figures

#: thumbnails per gallery, and their size in pixels (one ``st.image`` call per gallery)
PICKS_SHOWN, LASSO_SHOWN, THUMB = 40, 48, 112


def diagnostics_panel(ds, pool, found: list, space, map_emb: str, budget: int) -> None:
    """Coverage, classes, OOD and near-duplicate metrics per method (``found``: (label, picks)), the
    overlap of two methods and their class balance against the pool."""
    diag = {name: ex.diagnostics(ds, pool, p.indices, space) for name, p in found}
    cols = st.columns(len(found) + 1)
    for col, (name, p) in zip(cols, found):
        d = diag[name]
        with col:
            st.markdown(f"**{name}**")
            m1, m2 = st.columns(2)
            m1.metric("Classes covered", f"{d['classes_covered']} of {len(ds.classes)}",
                      help="Classes with at least one pick (labels known only in benchmark data).")
            m2.metric("Coverage distance", f"{d['coverage_mean']:.3g}",
                      help=f"Mean distance from every pool image to its nearest pick in the map's "
                           f"{map_emb} space (PCA to 50 dims); lower = the picks cover the pool better.")
            m3, m4 = st.columns(2)
            m3.metric("OOD picked", d["ood_picked"],
                      help="Picks flagged as not belonging to the task (wasted labels).")
            m4.metric("Near-duplicate pairs", len(d["duplicates"]),
                      help="Pairs of picks much closer than typical pool images (< 10% of the "
                           "median distance): repeats waste labels.")
            if len(d["duplicates"]):
                st.warning("Near-duplicates: " + ", ".join(
                    f"#{r.rank_a} {r.id_a} ~ #{r.rank_b} {r.id_b}" for r in d["duplicates"].head(5).itertuples()),
                    icon=":material/content_copy:")
    with cols[-1]:
        if len(found) == 2:
            st.metric("Picked by both", f"{ex.overlap(found[0][1].indices, found[1][1].indices)} of {budget}")
        if ds.classes and ds.is_labeled()[pool].any():
            ref = [int((ds.labels[pool] == k).sum()) for k in range(len(ds.classes))]
            st.plotly_chart(figures.balance_figure(ds.classes, {n: diag[n]["class_counts"] for n, _ in found},
                                                   ref, height=260), width="stretch", key="explore_balance")


def lasso_panel(ds, pool, rows, pick_a, find_id: str) -> None:
    """The images of the map's lasso/box selection (``rows``: dataset rows), numbered where they are
    method A's picks, and their CSV."""
    st.subheader(f"Selected on the map ({len(rows)})")
    if not len(rows):
        st.caption("Draw a lasso (or pick the box tool in the chart's toolbar) around dots on the map to "
                   "see those images here, with their masks outlined in red.")
        return
    show = rows[:LASSO_SHOWN]
    rank_a = {int(pool[i]): k + 1 for k, i in enumerate(pick_a.indices)} if pick_a is not None else {}
    caps = [ui.caption(ds, r, f"pick #{rank_a[r]}" if r in rank_a else "") for r in show]
    ui.image_grid(ds, show, caps, size=THUMB, highlight=[r for r in show if find_id and ds.ids[r] == find_id])
    if len(rows) > len(show):
        st.caption(f"Showing {LASSO_SHOWN} of {len(rows)} selected images; the CSV has all of them.")
    st.download_button("Download these images as CSV", lambda: export.selection_csv(ds, rows, absolute_paths=False),
                       f"{ds.name}-lasso-selection.csv", mime="text/csv", key="explore_dl_lasso",
                       icon=":material/download:", on_click="ignore")


def picks_tab(ds, pool, pick, meth: dict | None, key: str, find_id: str) -> None:
    """A method's first picks as a numbered gallery, their table and the export panel."""
    if pick is None or meth is None:
        st.caption("No picks yet (choose an available embedding).")
        return
    rows = pool[pick.indices]
    show = rows[:PICKS_SHOWN]
    ui.image_grid(ds, show, [ui.caption(ds, r, f"#{k + 1}") for k, r in enumerate(show)], size=THUMB,
                  highlight=[r for r in show if find_id and ds.ids[r] == find_id])
    per_pick = pick.per_pick.assign(method=meth["label"], embedder=meth["emb"] or "", seed=pick.info.get("seed"))
    st.dataframe(export.selection_table(ds, rows, per_pick=per_pick, absolute_paths=False), width="stretch",
                 hide_index=True, height=240)
    export_view.export_panel(ds, rows, per_pick=per_pick, key=f"{key}_export", name=f"{meth['export_name']}-b{len(rows)}")
