"""Label: label images yourself and watch a model learn from your labels (teaching mode).

A thin view over :mod:`coldstart.label`: sessions, next image, saving, the curve and the reveal
all live there; this page only shows them and passes clicks on.
"""

from __future__ import annotations

import time
import zlib

import numpy as np
import pandas as pd
import streamlit as st

from coldstart.errors import ColdstartError
from coldstart.label import SESSION_STRATEGIES, LabelSession, compare_sessions, list_sessions
from coldstart.label.probe import waiting_for_classes
from coldstart.label.sessions import pick_orders
from coldstart.paths import safe_name
from coldstart.runs.defaults import usable_embedders
from coldstart.select.strata import stratifier_columns, stratum_values
from coldstart.ui.explore_map import coverage_panel
from coldstart.ui import common as ui
from coldstart.ui import export_view, loaders
from coldstart.ui import label_view as lv

ui.page_config("Label")
ds = ui.dataset_sidebar()
if ds is None:
    st.stop()

SESSION_KEY = "label_session"     # active session name
METHODS = {"Clustering (fast approximation of the paper's protocol, recommended)": "kmeans",
           "Random picks (for comparison)": "random"}

st.title("Label images yourself")
st.markdown(
    "**Teaching mode.** You label chest X-rays one at a time. After each label, a small model is "
    "trained on *your* labels and tested on images whose diagnosis is known. The curve shows how "
    "good it gets, next to the same model trained on **randomly** picked images.")


# ------------------------------------------------------------------ features
def _embedder_choices() -> list[str]:
    try:
        t = loaders.embedders_table(ds)
    except (ImportError, ColdstartError):
        return ["pixels"]
    return usable_embedders(t)


def _features(embedder: str):
    """The cached embedding; computed once (with a progress bar) when missing."""
    try:
        f = loaders.cached_features(ds, embedder)
        if f is None:
            st.caption(f"Preparing the images once for the feature set **{embedder}**…")
            f = loaders.compute_features(ds, embedder)
    except ColdstartError as e:
        ui.show_error(e, f"feature set {embedder!r}")
        st.stop()
    return np.asarray(f)


def _default_embedder(embs: list[str]) -> str:
    """The package's default embedder (a foundation model when its weights are present)."""
    name = loaders.default_embedder(ds)[0]
    return name if name in embs else embs[0]


# ------------------------------------------------------------------ start / continue
def start_panel() -> None:
    sessions = list_sessions(ds)
    left, right = st.columns(2, gap="large")
    with left.form("label_new"):
        st.subheader("Start a new session")
        who = st.text_input("Your name", key="label_student", placeholder="e.g. Alice",
                            help="Used to name your session so you (or your teacher) can find it later.")
        method = st.selectbox("How are the first images chosen?", list(METHODS), key="label_method")
        n_first = st.number_input("How many first images come from that method?", 2, 100, 10, step=1,
                                  key="label_n_first",
                                  help="After these, the model asks for the images it is least sure about.")
        with st.expander("Advanced settings"):
            embs = _embedder_choices()
            emb = st.selectbox("Image features", embs, index=embs.index(_default_embedder(embs)),
                               key="label_embedder",
                               help="What the clustering and the small model see. 'pixels' needs no model.")
            strategy = st.selectbox("Which image next (after the first ones)", list(SESSION_STRATEGIES),
                                    key="label_strategy", format_func=lambda s: f"{s}: {SESSION_STRATEGIES[s]}")
            seed = st.number_input("Seed", 0, 10_000, 0, key="label_seed")
        go = st.form_submit_button("Start labelling", type="primary")
    if go:
        if not who.strip():
            st.warning("Please type your name first.")
        else:
            feats = _features(emb)
            with ui.guarded("starting the session"):
                s = LabelSession.create(ds, safe_name(who, "session name", list_sessions(ds)["name"], "session"), feats, embedder=emb, coldstart=METHODS[method],
                                        n_coldstart=int(n_first), strategy=strategy, seed=int(seed),
                                        student=who.strip(), embedding_key=loaders.embedding_key(ds, emb))
                st.session_state[SESSION_KEY] = s.name
                st.rerun()
    with right:
        st.subheader("Continue a saved session")
        if sessions.empty:
            st.caption("No saved sessions yet for this dataset.")
        else:
            pick = st.selectbox("Session", sessions["name"], key="label_open_pick",
                                format_func=lambda n: _session_label(sessions, n))
            if st.button("Continue", key="label_open"):
                st.session_state[SESSION_KEY] = pick
                st.rerun()


def _session_label(sessions, name: str) -> str:
    r = sessions[sessions["name"] == name].iloc[0]
    return f"{r['student'] or name} · {r['labels']} labels · {r['coldstart']} · {str(r['created'])[:16]}"


def open_active():
    name = st.session_state.get(SESSION_KEY)
    if not name:
        return None
    row = list_sessions(ds)
    row = row[row["name"] == name]
    if row.empty:
        st.session_state.pop(SESSION_KEY, None)
        return None
    emb = str(row["embedder"].iat[0])
    # reopened from disk on every run (labels are files; nothing cached is ever mutated)
    return LabelSession.open(ds, name, _features(emb))


# ------------------------------------------------------------------ labelling
def _on_label(s: LabelSession, label: int) -> None:
    idx = st.session_state.get("label_current")
    if idx is None:
        return
    if int(idx) in set(s.refresh().labeled_rows().tolist()):
        return  # a double click on an image already saved: nothing to do
    ok = st.session_state.get("label_mask_ok", "not checked")
    mask_ok = None if ok == "not checked" else ok == "yes"
    shown = st.session_state.get("label_shown_at")
    try:
        s.add_label(int(idx), int(label), mask_ok=mask_ok,
                    seconds=time.time() - shown if shown is not None else None)
        st.session_state["label_msg"] = None
    except ColdstartError as e:
        st.session_state["label_msg"] = str(e)
    st.session_state["label_mask_ok"] = "not checked"


def _on_undo(s: LabelSession) -> None:
    last = s.undo()
    st.session_state["label_msg"] = (f"Removed your label for image {last['id']}." if last else None)


def label_panel(s: LabelSession) -> None:
    top = st.columns([4, 1])
    who = s.config.student if s.config.student == s.name else f"{s.config.student} (`{s.name}`)"
    top[0].markdown(f"**Session:** {who} · **{len(s)} images labelled** · "
                    f"first {s.config.n_coldstart} chosen by **{s.config.coldstart}**, then by the model's "
                    "uncertainty")
    if top[1].button("Switch session", key="label_switch"):
        st.session_state.pop(SESSION_KEY, None)
        st.rerun()
    if st.session_state.get("label_msg"):
        st.info(st.session_state["label_msg"])

    left, right = st.columns([5, 6], gap="large")
    nxt = s.next_item()
    with left:
        if nxt is None:
            st.session_state["label_current"] = None
            st.success("You have labelled every image in the pool. Look at your curve, or export your labels.")
        else:
            i = int(nxt["index"])
            if st.session_state.get("label_current") != i:
                st.session_state["label_shown_at"] = time.time()  # the time-to-label clock
            st.session_state["label_current"] = i
            has_mask = ds.mask_path(i) is not None
            show_mask = False
            if ds.has_masks:
                show_mask = st.toggle("Show the marked region (red outline)", key="label_show_mask",
                                      help="Some images come with a drawn region; check whether it is right.")
            img = ui.thumbnails(ds, [i], size=448, outline=show_mask)[0]
            st.image(img, caption=f"Image {ds.ids[i]} (#{len(s) + 1} for you)", width="stretch")
            st.markdown("#### What does this image show?")
            cols = st.columns(len(ds.classes) or 2)
            for k, cname in enumerate(ds.classes):
                cols[k].button(cname, key=f"label_btn_{k}", type="primary", width="stretch",
                               on_click=_on_label, args=(s, k))
            if show_mask and has_mask:
                st.radio("Is the outlined region right?", ["not checked", "yes", "no"], horizontal=True,
                         key="label_mask_ok")
            st.caption(f"Why this image? {nxt['reason']}.")
        st.button("Undo my last label", key="label_undo", on_click=_on_undo, args=(s,),
                  disabled=len(s) == 0)

    with right:
        curve = s.curve()
        rnd = s.random_curve()
        fig = lv.curve_figure(pd.concat([curve, rnd], ignore_index=True), s.prevalence)
        m = st.columns(3)
        m[0].metric("Images you labelled", len(s))
        m[1].metric("Your model (AP)", f"{curve['ap'].iat[-1]:.3f}"
                    if len(curve) and np.isfinite(curve["ap"].iat[-1]) else "—",
                    help="Area under the precision-recall curve on the test images: 1 is perfect.")
        rnow = rnd["ap"].to_numpy(float)[-1] if len(rnd) else float("nan")
        mine = curve["ap"].to_numpy(float)[-1] if len(curve) else float("nan")
        m[2].metric("Random picks", f"{rnow:.3f}" if np.isfinite(rnow) else "—",
                    delta=f"{mine - rnow:+.3f} for you" if np.isfinite(rnow) and np.isfinite(mine) else None,
                    help="The same model trained on as many randomly picked images with their true labels. "
                         "'—' while those random picks hold only one class.")
        waiting = waiting_for_classes(s.labels["label"], ds.classes)
        if waiting:
            st.info(waiting, icon=":material/hourglass_empty:")
        st.plotly_chart(fig, width="stretch", key="label_curve")
        st.caption(
            f"Blue: a model trained only on your labels. Grey dashed: the same model trained on the same "
            f"number of randomly picked images with their true labels. Both are tested on {len(s.test)} "
            "images with a known diagnosis. A gap in the blue line means all your labels so far are the "
            "same class (a model needs both).")
        if not s.has_ground_truth:
            st.caption("This dataset has no ground truth for the pool, so the random reference is not shown.")
        strata_cols = stratifier_columns(ds.manifest)
        if strata_cols and len(s):
            with st.expander("Which strata do your labels cover?", icon=":material/stacks:"):
                col = st.selectbox("Stratify by", strata_cols, key="label_strata_col",
                                   index=strata_cols.index("subgroup") if "subgroup" in strata_cols else 0,
                                   help="Any categorical column of the dataset (e.g. acquisition protocol or "
                                        "clinical subgroup): does your set reach the rare ones?")
                coverage_panel(stratum_values(ds.manifest, col)[s.pool], pick_orders(s), len(s), col,
                               key="label_strata")
        if st.toggle("Reveal: compare my labels with the ground truth", key="label_reveal"):
            if len(s) == 0:
                st.caption("Label an image first.")
            else:
                rv = s.reveal()
                known = rv["match"].dropna()
                if len(known):
                    st.metric("Your labels that agree with the ground truth",
                              f"{int(known.sum())} of {len(known)} ({known.mean():.0%})")
                st.dataframe(lv.reveal_table(rv), hide_index=True, width="stretch")


# ------------------------------------------------------------------ compare / export
def compare_panel(active) -> None:
    sessions = list_sessions(ds)
    sessions = sessions[sessions["labels"] > 0]
    if sessions.empty:
        st.caption("No session has labels yet.")
        return
    emb = active.config.embedder if active is not None else str(sessions["embedder"].iat[0])
    same = sessions[sessions["embedder"] == emb]
    st.markdown(f"Sessions on **{ds.name}** that use the feature set **{emb}** (curves are comparable).")
    names = same["name"].tolist()
    default = ([active.name] if active is not None and active.name in names else []) + \
        [n for n in names if active is None or n != active.name]
    # the key follows the options, so a session that gets its first label joins the comparison
    pick = st.multiselect("Sessions to compare", names, default=default[:8],
                          key=f"label_compare_pick_{zlib.crc32('|'.join(names).encode())}")
    if not pick:
        return
    feats = _features(emb)
    with ui.guarded("comparing sessions"):
        curves, summ = compare_sessions(ds, pick, feats)
        prev = LabelSession.open(ds, pick[0], feats).prevalence
        st.plotly_chart(lv.curve_figure(curves, prev), width="stretch", key="label_compare_chart")
        show = summ.rename(columns={"session": "session", "student": "student", "labels": "labels",
                                    "agreement": "agrees with truth", "last_ap": "AP now",
                                    "best_ap": "best AP", "median_seconds": "sec / image",
                                    "positives_found": "positives found", "coldstart": "first images by"})
        st.dataframe(show.drop(columns=["embedder"]), hide_index=True, width="stretch",
                     column_config={"agrees with truth": st.column_config.NumberColumn(format="percent")})
        ui.download_csv(curves, f"{ds.name}-sessions-curves.csv", "Download the curves (CSV)",
                        key="label_dl_curves")


def export_panel(s: LabelSession | None) -> None:
    if s is None or len(s) == 0:
        st.caption("Start or continue a session and label some images to export them.")
        return
    st.markdown(f"Export the **{len(s)} labels** of session `{s.name}`.")
    # the files are built only when a button is clicked (coldstart.ui.export_view)
    export_view.export_panel(ds, s.labeled_rows(), key="label_export", labels=s.labels["label"].to_numpy(int),
                             per_pick=s.export_columns(), name=f"{s.name}-labels",
                             model_version=f"coldstart-session-{s.name}")
    st.dataframe(s.export_table(), hide_index=True, width="stretch")


tab_label, tab_compare, tab_export = st.tabs(["Label", "Compare students", "Export"])
with tab_label:
    active = open_active()
    if active is None:
        start_panel()
    else:
        label_panel(active)
with tab_compare:
    compare_panel(active)
with tab_export:
    export_panel(active)
