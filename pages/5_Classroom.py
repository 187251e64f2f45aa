"""Classroom: a whole class labels the same pool at once; the teacher watches the class learn.

A thin view over :mod:`coldstart.classroom`: joining, seats, the teacher's authority and every figure's
numbers live there. A student's page is ``?room=<code>&seat=<seat key>``: the seat key is the student's
secret, checked by the store on every label, so a reload or a server restart continues the same seat.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from coldstart import classroom as cr
from coldstart.classroom import report
from coldstart.errors import ColdstartError
from coldstart.label.probe import waiting_for_classes
from coldstart.label.sessions import pick_orders
from coldstart.runs.defaults import usable_embedders
from coldstart.select import selector_specs
from coldstart.select.strata import stratifier_columns, stratum_values
from coldstart.ui import classroom_view as cv
from coldstart.ui import common as ui
from coldstart.ui import export_view, loaders
from coldstart.ui import label_view as lv
from coldstart.ui.explore_map import coverage_panel

TEACHER_KEY = "cls_teacher"      # {"code", "token"} after the teacher password was checked
REFRESH_S = 5                    # the teacher's view refreshes itself this often
SEAT_KEY = "cls_seat"            # ((code, seat key), Seat): the student's seat, opened once per browser session
STUDENT_PART = "cls_student"     # the fragment a label reruns

ui.page_config("Classroom")


def _features(ds, embedder: str) -> np.ndarray:
    try:
        f = loaders.cached_features(ds, embedder)
        if f is None:
            st.caption(f"Preparing the images once for the feature set **{embedder}**…")
            f = loaders.compute_features(ds, embedder)
    except ColdstartError as e:
        ui.show_error(e, f"feature set {embedder!r}")
        st.stop()
    return np.asarray(f)


def _key(ds, embedder: str) -> str | None:
    try:
        return loaders.embedding_key(ds, embedder)
    except ColdstartError:
        return None


# ------------------------------------------------------------------ the student
def _on_label(seat: cr.Seat, index: int, label: int) -> None:
    try:
        shown = st.session_state.get("cls_shown_at")
        seat.session.add_label(index, label, seconds=time.time() - shown if shown else None)
        st.session_state["cls_msg"] = None
    except ColdstartError as e:
        st.session_state["cls_msg"] = str(e)


def _held_seat(code: str, key: str) -> cr.Seat:
    """The student's seat, opened once per browser session (the store still checks the key on every label)."""
    held = st.session_state.get(SEAT_KEY)
    if held is None or held[0] != (code, key):
        room = cr.lookup(code)
        ds = ui.load_dataset(room.dataset)
        held = ((code, key), cr.rejoin(ds, code, key, _features(ds, room.embedder)))
        st.session_state[SEAT_KEY] = held
    return held[1]


def student_view(code: str, key: str) -> None:
    try:
        seat = _held_seat(code, key)
    except ColdstartError as e:
        ui.show_error(e)
        if st.button("Join again", key="cls_leave"):
            st.query_params.clear()
            st.rerun()
        return
    st.title(f"Classroom · {seat.classroom.name}")
    student_part(code, key)


@st.fragment(key=STUDENT_PART)
def student_part(code: str, key: str) -> None:
    """Everything a label changes: a click on a label button reruns this part only."""
    seat = _held_seat(code, key)
    room = cr.lookup(code)  # closed or revealed since the last click?
    s = seat.session
    if s.store.label_count(s.session_id) != len(s):
        s.refresh()  # another tab of this student labelled
    ds = s.dataset
    spec = selector_specs(None).get(seat.method)
    on = f" on **{room.embedder}** features" if spec is None or spec.needs_features else ""
    st.markdown(f"**{seat.display_name}** · {len(s)} images labelled · your images are chosen by "
                f"**{seat.method}**{on}, then by your model's uncertainty.")
    st.caption(f"Your seat key is **{seat.key}**: keep it to continue from another tab or computer "
               f"(classroom code **{room.code}**). This page's address holds it too.")
    if not room.is_open:
        st.warning("The teacher has closed this classroom: you can look at your results, but not label.")
    if st.session_state.get("cls_msg"):
        st.info(st.session_state["cls_msg"])
    left, right = st.columns([5, 6], gap="large")
    nxt = s.next_item()
    with left:
        if nxt is None:
            st.success("You have labelled every image in the pool.")
        else:
            i = int(nxt["index"])
            if st.session_state.get("cls_current") != i:
                st.session_state["cls_shown_at"] = time.time()
            st.session_state["cls_current"] = i
            st.image(ui.thumbnails(ds, [i], size=448, outline=False)[0], width="stretch",
                     caption=f"Image {ds.ids[i]} (#{len(s) + 1} for you)")
            st.markdown(f"#### {room.question}")
            cols = st.columns(len(ds.classes) or 2)
            for k, cname in enumerate(ds.classes):
                cols[k].button(cname, key=f"cls_btn_{k}", type="primary", width="stretch",
                               on_click=_on_label, args=(seat, i, k), disabled=not room.is_open)
            st.caption(f"Why this image: {nxt['reason']}.")
    with right:
        curve, rnd = s.curve(), s.random_curve()
        mine = curve["ap"].to_numpy(float)[-1] if len(curve) else float("nan")
        rnow = rnd["ap"].to_numpy(float)[-1] if len(rnd) else float("nan")
        m = st.columns(3)
        m[0].metric("Images you labelled", len(s))
        m[1].metric("Your model (AP)", f"{mine:.3f}" if np.isfinite(mine) else "—",
                    help="Average precision on the test images: 1 is perfect.")
        m[2].metric("Random picks", f"{rnow:.3f}" if np.isfinite(rnow) else "—",
                    delta=f"{mine - rnow:+.3f} for you" if np.isfinite(rnow) and np.isfinite(mine) else None)
        waiting = waiting_for_classes(s.labels["label"], ds.classes)
        if waiting:
            st.info(waiting, icon=":material/hourglass_empty:")
        st.plotly_chart(lv.curve_figure(pd.concat([curve.assign(session="your model"), rnd], ignore_index=True),
                                        s.prevalence), width="stretch", key="cls_curve")
        st.caption("Blue: a model trained on your labels only. Grey dashed: the same model trained on as many "
                   "randomly picked images with their true labels. Both are scored on test images whose "
                   "diagnosis is known.")
        cols = stratifier_columns(ds.manifest)
        if cols and len(s):
            # lazy: the strata are computed only while the student keeps this open
            box = st.expander("Which strata do your labels cover?", icon=":material/stacks:", key="cls_strata_open",
                              on_change="rerun")
            if box.open:
                with box:
                    col = st.selectbox("Stratify by", cols, key="cls_strata_col",
                                       index=cols.index("subgroup") if "subgroup" in cols else 0)
                    coverage_panel(stratum_values(ds.manifest, col)[s.pool], _strata_orders(s, seat.method),
                                   len(s), col, key="cls_strata", show_table=False)
        if room.revealed:
            _revealed(ds, room, seat)


def _strata_orders(s, method: str) -> dict:
    """The student's labels beside their method's own first picks and random picks (short names: they head
    narrow columns); a student of the random method gets no second random order."""
    o = pick_orders(s)
    mine, own, rnd = o["your labels"], o[f"{s.config.coldstart} suggestions"], o["random picks"]
    return {"you": mine, "random picks": rnd} if method == "random" else {
        "you": mine, f"{method} alone": own, "random picks": rnd}


def _revealed(ds, room, seat) -> None:
    st.subheader("Revealed by your teacher")
    rv = seat.session.reveal()
    known = rv["match"].dropna()
    if len(known):
        st.metric("Your labels that agree with the ground truth",
                  f"{int(known.sum())} of {len(known)} ({known.mean():.0%})")
        st.dataframe(lv.reveal_table(rv), hide_index=True, width="stretch", key="cls_reveal_table")
    with ui.guarded("the class view"):
        curves = report.class_view_for_student(ds, room.code, seat.key)
        st.plotly_chart(cv.group_curve_figure(curves, seat.session.prevalence), width="stretch",
                        key="cls_class_curves")
        st.caption("The whole class: each line is a method group's mean test AP, the band one standard error.")


def join_form() -> None:
    st.title("Join a class")
    st.markdown("Type the code your teacher shows and the name the teacher will see. No account needed.")
    with st.form("cls_join"):
        code = st.text_input("Classroom code", key="cls_code", max_chars=12, placeholder="e.g. K7QX2M")
        name = st.text_input("Your name", key="cls_name", max_chars=cr.room.MAX_NAME, placeholder="e.g. Alice")
        key = st.text_input("Seat key (only to continue an earlier seat)", key="cls_seat_key", max_chars=16)
        go = st.form_submit_button("Join", type="primary")
    if not go:
        return
    try:
        room = cr.lookup(code)
        ds = ui.load_dataset(room.dataset)
        feats = _features(ds, room.embedder)
        seat = (cr.rejoin(ds, code, key, feats) if key.strip() else
                cr.join(ds, code, name, feats, embedding_key=_key(ds, room.embedder)))
    except ColdstartError as e:
        ui.show_error(e)
        return
    st.query_params.update({"room": seat.classroom.code, "seat": seat.key})
    st.rerun()


# ------------------------------------------------------------------ the teacher
def teacher_gate(ds) -> None:
    st.title("Teach a class")
    left, right = st.columns(2, gap="large")
    with left.form("cls_create"):
        st.subheader("Create a classroom")
        title = st.text_input("Classroom title (shown to students)", key="cls_new_name",
                              placeholder="e.g. Monday radiology")
        question = st.text_input("Label question", key="cls_new_question", value=cr.room.DEFAULT_QUESTION)
        try:
            embs = usable_embedders(loaders.embedders_table(ds))
        except (ImportError, ColdstartError):
            embs = ["pixels"]
        default = loaders.default_embedder(ds)[0]
        emb = st.selectbox("Image features", embs, index=embs.index(default) if default in embs else 0,
                           key="cls_new_embedder")
        assignment = st.radio("How students get their images", list(cr.ASSIGNMENTS), key="cls_new_assignment", index=1,
                              format_func=lambda a: f"{a}: {cr.ASSIGNMENTS[a]}")
        from coldstart.select import list_selectors
        methods = st.multiselect("Methods", list_selectors(), default=list(cr.DEFAULT_METHODS),
                                 key="cls_new_methods")
        n_first = st.number_input("First images from the method", 2, 100, 10, key="cls_new_n")
        pw = st.text_input("Teacher password", type="password", key="cls_new_pw")
        go = st.form_submit_button("Create classroom", type="primary")
    if go:
        with ui.guarded("creating the classroom"):
            room = cr.create_classroom(ds, title, pw, embedder=emb, question=question, assignment=assignment,
                                       methods=methods, n_coldstart=int(n_first))
            st.session_state[TEACHER_KEY] = {"code": room.code, "token": cr.teacher_login(ds, room.code, pw)}
            st.rerun()
    with right.form("cls_login"):
        st.subheader("Open your classroom")
        code = st.text_input("Classroom code", key="cls_login_code")
        pw2 = st.text_input("Teacher password", type="password", key="cls_login_pw")
        go2 = st.form_submit_button("Open")
    if go2:
        with ui.guarded("opening the classroom"):
            room = cr.lookup(code)
            st.session_state[TEACHER_KEY] = {"code": room.code,
                                             "token": cr.teacher_login(ui.load_dataset(room.dataset), code, pw2)}
            st.rerun()


def teacher_view(code: str, token: str) -> None:
    try:
        room = cr.lookup(code)
        ds = ui.load_dataset(room.dataset)
        cr.check_teacher(ds, code, token)
    except ColdstartError as e:
        ui.show_error(e)
        st.session_state.pop(TEACHER_KEY, None)
        return
    top = st.columns([3, 2, 2])
    top[0].title(f"{room.name}")
    top[1].markdown(f"### Code: `{room.code}`")
    top[1].caption(f"{'open' if room.is_open else 'closed'} · {room.assignment}: {', '.join(room.methods)}")
    reveal = top[2].toggle("Reveal to students", value=room.revealed, key="cls_reveal",
                           help="Students then see the ground truth of their labels and the class's curves.")
    if reveal != room.revealed:
        cr.set_state(ds, code, token, revealed=reveal)
    act = top[2].columns(2)
    if act[0].button("Close classroom" if room.is_open else "Reopen", key="cls_close"):
        cr.set_state(ds, code, token, open_=not room.is_open)
        st.rerun()
    if act[1].button("Log out", key="cls_logout"):
        st.session_state.pop(TEACHER_KEY, None)
        st.rerun()
    st.markdown(f"Students open this page, choose **Join a class** and type the code **{room.code}** and "
                "their name.")
    live = st.toggle(f"Refresh every {REFRESH_S} s", value=True, key="cls_live")
    st.fragment(run_every=REFRESH_S if live else None)(_dashboard)(ds, code, token)


def _dashboard(ds, code: str, token: str) -> None:
    t0 = time.perf_counter()
    labels = report.class_labels(ds, code, token)
    prog = report.progress(ds, code, token, labels)
    st.subheader(f"{len(prog)} students · {len(labels)} labels")
    st.dataframe(cv.progress_table(prog), hide_index=True, width="stretch", key="cls_progress",
                 column_config={"agrees with truth": st.column_config.NumberColumn(format="percent"),
                                "test AP now": st.column_config.NumberColumn(format="%.3f")})
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**The class's curves per method** (mean test AP, band: one standard error across students)")
        prev = float((ds.labels[ds.splits == "test"] == 1).mean()) if len(ds.classes) == 2 else None
        st.plotly_chart(cv.group_curve_figure(report.group_curves(labels), prev), width="stretch",
                        key="cls_group_curves")
    with right:
        cols = stratifier_columns(ds.manifest)
        if cols and len(labels):
            st.markdown("**Which strata each method's labels cover** (share of the group's labels; grey: the "
                        "pool)")
            col = st.selectbox("Strata by", cols, key="cls_t_strata",
                               index=cols.index("subgroup") if "subgroup" in cols else 0)
            st.plotly_chart(cv.strata_figure(report.group_strata(ds, labels, col), col), width="stretch",
                            key="cls_group_strata")
    box = st.expander("Export the whole class", icon=":material/download:", key="cls_export_open",
                      on_change="rerun")
    if box.open:  # lazy: the exports are built only while the teacher keeps this open
        with box:
            ui.download_csv(labels, f"{ds.name}-classroom-{code}.csv", "Every label of every student (CSV)",
                            key="cls_dl_csv")
            maj = report.majority_labels(labels)
            if len(maj):
                st.caption("Label Studio and folder exports hold each labelled image once, with the class's "
                           "majority label, the number of votes and their consensus.")
                export_view.export_panel(ds, maj["row"], key="cls_export", labels=maj["label"].to_numpy(int),
                                         per_pick=maj[["votes", "consensus", "students"]],
                                         name=f"classroom-{code}", model_version=f"coldstart-classroom-{code}")
    st.caption(f"Refreshed in {time.perf_counter() - t0:.2f} s at {time.strftime('%H:%M:%S')}.")


# ------------------------------------------------------------------ layout
qp = st.query_params
if qp.get("room") and qp.get("seat"):
    student_view(qp["room"], qp["seat"])
elif st.session_state.get(TEACHER_KEY):
    t = st.session_state[TEACHER_KEY]
    teacher_view(t["code"], t["token"])
else:
    st.markdown("**Classroom mode**: a whole class labels one pool through this server. Students join with "
                "the teacher's code, each on their own laptop; the teacher sees every student's learning curve.")
    who = st.radio("I am", ["a student", "the teacher"], horizontal=True, key="cls_who")
    if who == "a student":
        join_form()
    else:
        ds = ui.dataset_sidebar()
        if ds is not None:
            teacher_gate(ds)
