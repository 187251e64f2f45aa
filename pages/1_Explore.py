"""Explore: the pool on a 2-D map, the images a method would pick first, and why.

A thin view over ``coldstart`` (the functions ``coldstart embed``, ``map`` and ``select`` run), cached
on disk and per session. The page is a set of fragments (``coldstart.ui.explore_controls``): a control
reruns only the parts that depend on it (colour: the map; a method: its column and the picks' parts; the
map's budget or lasso: the panels below it); each part reads the controls from session state. Only the
dataset, the pool and the map embedding rerun the whole page.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from coldstart import explore as ex
from coldstart import maps
from coldstart.errors import ColdstartError
from coldstart.select import selector_specs
from coldstart.select.strata import stratifier_columns
from coldstart.ui import common as ui
from coldstart.ui import explore_controls as ctl
from coldstart.ui import explore_map as emap
from coldstart.ui import explore_panels as panels
from coldstart.ui import loaders, weights_view

ui.page_config("Explore")
ds = ui.dataset_sidebar()
if ds is None:
    st.stop()

st.title("Explore the pool and the first picks")
st.caption("Each dot is an image; similar-looking images sit close together. The numbered markers "
           "are the images a method proposes to label first, in order. Hover a dot to see why it "
           "was picked; draw a lasso around dots to see those images below.")

EMB_ROW = {r["name"]: r for r in loaders.embedders_table(ds).to_dict("records")}
SELECTORS = selector_specs("cold-start")  # uncertainty strategies need a trained model
DEFAULT_EMB = loaders.default_embedder(ds)[0]
STRATA = stratifier_columns(ds.manifest)
PROJ = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
ss = st.session_state
seed_now = lambda: int(ss.get("explore_seed", 0))  # noqa: E731
ON_METHOD = {"a": (ctl.CONTROLS_A, *ctl.PICK_PARTS), "b": (ctl.CONTROLS_B, *ctl.PICK_PARTS)}
ON_METHOD_B = ctl.rerun(*ON_METHOD["b"])
ON_SEED = ctl.rerun(ctl.CONTROLS_A, ctl.MAP_CONTROLS, *ctl.PICK_PARTS)  # the seed makes the UMAP map too
FULL = ctl.rerun()


def usable(name: str | None) -> str | None:
    """``name`` if it is available and its embeddings are cached (what the picks and map need)."""
    ok = name in EMB_ROW and EMB_ROW[name]["available"] and loaders.cached_features(ds, name) is not None
    return name if ok else None


def method(tag: str) -> dict | None:
    """Method ``tag`` ("a"/"b") as the controls say now (or open on, when a part runs before them in
    the same rerun): selector, embedder, parameters, label."""
    got = ctl.chosen(tag, SELECTORS, list(EMB_ROW), DEFAULT_EMB)
    spec, emb = (SELECTORS[got[0]], usable(got[1])) if got else (None, None)
    if spec is None or (spec.needs_features and emb is None):
        return None
    label = f"{tag.upper()}: {spec.name}" + (f" on {emb}" if emb else "")
    return {"selector": spec.name, "emb": emb, "params": ctl.params_from_state(spec, f"explore_p{tag}"),
            "label": label, "export_name": spec.name + (f"-{emb}" if emb else "")}


def method_label(tag: str) -> str:
    sel = ctl.current(f"explore_sel_{tag}", list(SELECTORS), ctl.OPENS_ON[tag])
    return (method(tag) or {}).get("label") or f"{tag.upper()}: {sel}"


def _show_umap() -> None:
    ss["explore_map_method"], ss["explore_umap_pending"] = "umap", False
    st.rerun([ctl.MAP_CONTROLS, ctl.MAP])


@st.fragment(run_every=4)
def umap_notice(emb: str, seed: int) -> None:
    """While the map is PCA: compute the UMAP map in the background and offer it when it is ready."""
    state = loaders.map_in_background(ds, emb, "umap", seed)
    if state == "computing":
        st.caption(":material/hourglass_top: Computing the UMAP map in the background (it shows clusters more "
                   "clearly; about a minute the first time on 2 cores, then cached). PCA until then.")
    elif state == "ready":
        st.button("UMAP map ready: show it", key="explore_umap_ready", icon=":material/scatter_plot:",
                  on_click=_show_umap)


# ------------------------------------------------------------------ controls
@ctl.part(ctl.MAP_CONTROLS)
def map_controls() -> None:
    st.subheader("Map", divider="gray")
    emb = ctl.embedder_box("Map embedding", "explore_map_emb", EMB_ROW, weights_view.default_note(ds), on_change=FULL,
                           offer_download=lambda n: weights_view.offer_download(ds, n, "explore_map_emb"))
    if emb is not None and ctl.ensure_features(ds, emb) and "explore_map_method" not in ss:
        # UMAP when it is cached, else PCA (instant) so the first paint is fast
        has_umap = loaders.cached_map(ds, emb, "umap", seed_now()) is not None
        ss["explore_map_method"] = "umap" if has_umap else "pca"
        ss["explore_umap_pending"] = not has_umap  # UMAP computes in the background meanwhile
    ss.setdefault("explore_map_method", "pca")
    m = st.selectbox("Projection", list(maps.METHODS), key="explore_map_method", on_change=ctl.rerun(
        ctl.MAP_CONTROLS, ctl.MAP), format_func=PROJ.get, help="\n\n".join(maps.METHODS.values()))
    if m == "pca" and usable(emb):
        if ss.get("explore_umap_pending"):
            umap_notice(emb, seed_now())
        elif loaders.cached_map(ds, emb, "umap", seed_now()) is None:
            st.caption("UMAP shows clusters more clearly: choose it to compute it once (about a minute the "
                       f"first time), or run `coldstart map {ds.name} --embedder {emb}`.")
    if "explore_pool" not in ss:  # deep link: /Explore?pool=all
        qp = st.query_params.get("pool", "train")
        ss["explore_pool"] = qp if qp in ex.POOLS else "train"
    st.radio("Pool", list(ex.POOLS), key="explore_pool", horizontal=True, on_change=FULL,
             format_func=lambda p: {"train": "train split", "all": "all images"}[p],
             help="\n\n".join(f"**{k}**: {v}" for k, v in ex.POOLS.items()))
    options = list(ex.COLOR_OPTIONS) + [c for c in STRATA if c not in ex.COLOR_OPTIONS]
    if ss.get("explore_color") not in options:  # open on the clinical strata when there are some
        ss["explore_color"] = next((c for c in ("subgroup", "protocol") if c in STRATA), "label")
    st.selectbox("Colour by", options, key="explore_color", on_change=ctl.rerun(ctl.MAP),
                 help="A property of each image, or any categorical column of the manifest (a stratum: "
                      "subgroup, protocol, site, view...).")


def method_controls(tag: str) -> None:
    """Method ``tag``'s selector, embedding and parameters; a replayed change of a control no longer
    shown (B's after the toggle went off, another selector's parameters) reruns nothing."""
    on_change = ctl.rerun(*ON_METHOD[tag], when=lambda: ctl.shown(tag))
    key = f"explore_sel_{tag}"
    spec = SELECTORS[ctl.selector_box("Selector", key, SELECTORS, ctl.OPENS_ON[tag], on_change=on_change)]
    emb = ctl.embedder_box("Selection embedding", f"explore_emb_{tag}", EMB_ROW, DEFAULT_EMB,
                           disabled=not spec.needs_features, on_change=on_change,
                           offer_download=lambda n: weights_view.offer_download(ds, n, f"explore_emb_{tag}"))
    if spec.needs_features:
        ctl.ensure_features(ds, emb)
    ctl.selector_params(spec, f"explore_p{tag}", on_change=ctl.rerun(
        *ON_METHOD[tag], when=lambda: ctl.shown(tag) and ss.get(key) == spec.name))


@ctl.part(ctl.CONTROLS_A)
def controls_a() -> None:
    st.subheader("Method A", divider="red")
    method_controls("a")
    st.number_input("Seed", min_value=0, value=0, step=1, key="explore_seed", on_change=ON_SEED,
                    help="Same seed, same picks (and the same UMAP map). Used by every random step.")


@ctl.part(ctl.CONTROLS_B)
def controls_b() -> None:
    st.subheader("Compare with", divider="violet")
    st.toggle("Show a second method on the same map", key="explore_compare", value=False, on_change=ON_METHOD_B)
    if ss.get("explore_compare"):
        method_controls("b")


for col, part in zip(st.columns(3, gap="large"), (map_controls, controls_a, controls_b)):
    with col:
        part()

pool_name = ss["explore_pool"]
pool = ex.pool_indices(ds, pool_name)
n_pool, pool_ids = len(pool), ds.ids[pool]
if n_pool < 3:
    st.info(f"The pool has {n_pool} image(s): a map and a selection need at least 3. "
            "Import more images (home page) or choose **all images** as the pool.")
    st.stop()
max_budget, default_budget = ex.budget_range(n_pool)

weights_view.unavailable_panel(ds, "explore")
with st.sidebar.expander("Pre-train an encoder on this pool (ssl-pool)", icon=":material/model_training:"):
    st.caption("Self-supervised (SimCLR) training on the pool's own images, no labels needed. "
               "About 9 s per epoch for 800 images on a laptop CPU.")
    epochs = st.number_input("Epochs", min_value=1, max_value=500, value=20, key="explore_ssl_epochs")
    if st.button("Pre-train ssl-pool", key="explore_ssl_go", icon=":material/play_arrow:"):
        with ui.guarded("pre-training ssl-pool"):
            mid = loaders.pretrain_ssl(ds, epochs=int(epochs), seed=seed_now())
            st.success(f"Trained {mid}: choose **ssl-pool:{mid}** as an embedding.")

# ------------------------------------------------------------------ what every part shares
map_emb = usable(ss.get("explore_map_emb"))
if map_emb is None:
    st.info("Choose an available map embedding (and compute it) to draw the map.")
    st.stop()
# diagnostics (coverage, near-duplicates, distances) are measured in the map embedding's PCA-50 space
space = loaders.reduced_features(ds, map_emb, pool_name)
pool_hover = ui.session_memo(("explore_pool_info", ds.manifest_hash, pool_name),
                             lambda: ex.pool_info(ds, pool, split=pool_name == "all"))


def budget_now() -> int:  # the budget the map's slider last reported
    return emap.current_budget("explore_map", default_budget, max_budget)


def picks(tag: str, budget: int, style: int):
    """Method ``tag``'s map layer and its picks at ``budget`` ((None, None) when it cannot pick): the
    layer carries the largest budget's order (computed once, cached on disk), see ``emap.pick_layer``."""
    m = method(tag)
    if m is None:
        return None, None
    key = (ds.manifest_hash, pool_name, m["label"], m["selector"], m["emb"], tuple(sorted(m["params"].items())),
           seed_now(), budget, max_budget, style)  # remembered: every part asks, hover text costs
    try:
        return ui.session_memo(key, lambda: emap.pick_layer(
            m["label"], lambda b: loaders.run_selection(ds, m["selector"], m["emb"], b, seed_now(), pool_name,
                                                        m["params"]),
            budget, max_budget, hover=lambda sel: ex.pick_hover(ds, pool, sel, m["label"]), style=style),
            store="_explore_picks", size=32)
    except ColdstartError as e:
        ui.show_error(e, m["selector"])
        return None, None


def layers_at(budget: int) -> list:
    return [lay for lay in (picks("a", budget, 0)[0], picks("b", budget, 1)[0]) if lay is not None]


def strata_values(column: str) -> np.ndarray:
    """The pool's values of a manifest column (class names for ``label``)."""
    if column == "label":
        return ex.color_values("label", ds, pool)[0]
    return ds.manifest[column].to_numpy()[pool]


def map_colour(color_by: str, pick_a) -> dict:
    """The pool's colour payload; the ones that do not depend on the picks are built once per session."""
    if color_by in ("cluster", "distance to nearest pick"):
        if pick_a is None:
            st.caption(f"Colour by {color_by!r} needs picks; showing labels instead.")
            return map_colour("label", None)
        a = method("a")
        sel_space = loaders.reduced_features(ds, a["emb"], pool_name) if color_by == "cluster" and a["emb"] \
            else space
        near, dist = ex.nearest_pick(sel_space, pick_a.indices)
        cvals, continuous, title = ex.color_values(color_by, ds, pool, clusters=near, pick_distance=dist)
        return emap.continuous(cvals, title) if continuous else emap.categorical(cvals, title)

    def build():
        if color_by not in ex.COLOR_OPTIONS:  # a manifest column (stratum)
            return emap.categorical(strata_values(color_by), color_by)
        scores = loaders.ood_scores(ds, map_emb, pool_name) if color_by == "OOD score" else None
        cvals, continuous, title = ex.color_values(color_by, ds, pool, ood_scores=scores)
        return emap.continuous(cvals, title) if continuous else emap.categorical(cvals, title)
    return ui.session_memo(("explore_colour", ds.manifest_hash, pool_name, color_by, map_emb), build)


# ------------------------------------------------------------------ the parts
def _after_map_change() -> None:
    """The map reported a budget or a lasso: rerun the map (it acknowledges the report) and the
    panels the change affects (a lasso: only its gallery)."""
    if budget_now() != ss.get("_explore_panels_budget"):
        st.rerun(list(ctl.PICK_PARTS))
    st.rerun([ctl.MAP, ctl.LASSO])


@ctl.part(ctl.MAP)
def map_view() -> None:
    budget, method_name = budget_now(), ss["explore_map_method"]
    xy_all = loaders.cached_map(ds, map_emb, method_name, seed_now())
    if xy_all is None:
        try:
            xy_all = loaders.compute_map(ds, map_emb, method_name, seed_now())
        except ColdstartError as e:
            ui.show_error(e)
            return
    layers = layers_at(budget)
    color = map_colour(ss["explore_color"], picks("a", budget, 0)[1])
    find_id = ss.get("explore_find") or ""
    title = f"Map: {PROJ[method_name]} of <b>{map_emb}</b> embeddings ({n_pool:,} images)"
    if layers:
        title += "  ·  Picks " + "  ·  ".join(f"<b>{lay.name}</b>" for lay in layers) + f"  ·  seed {seed_now()}"
    emap.explore_map(np.asarray(xy_all, dtype=np.float32)[pool], pool_ids, budget=budget, max_budget=max_budget,
                     color=color, info=pool_hover, layers=layers, title=title, axis_name=PROJ[method_name],
                     highlight_ids=[find_id] if find_id else [], key="explore_map", height=620,
                     on_change=_after_map_change)


@ctl.part(ctl.DIAGNOSTICS)
def diagnostics_view() -> None:
    st.subheader("Why these picks? Side by side")
    budget = ss["_explore_panels_budget"] = budget_now()
    found = [(method_label(t), picks(t, budget, k)[1]) for k, t in enumerate("ab") if method(t) or t == "a"]
    found = [(name, p) for name, p in found if p is not None]
    if found:
        panels.diagnostics_panel(ds, pool, found, space, map_emb, budget)


@ctl.part(ctl.COVERAGE)
def coverage_view() -> None:
    st.subheader("Stratum coverage")
    budget = budget_now()
    layers = layers_at(budget)
    if not STRATA or not layers:
        st.caption("No categorical column to stratify by in this dataset's manifest." if not STRATA else "")
        return
    if ss.get("explore_strata") not in STRATA:
        ss["explore_strata"] = next((c for c in ("subgroup", "protocol", "drain", "label") if c in STRATA), STRATA[0])
    column = st.selectbox("Stratify by", STRATA, key="explore_strata",
                          help="Any categorical column of the manifest. Which of its values (strata) the picks "
                               "reach at this budget, how soon, and in what share against the pool.")
    emap.coverage_panel(strata_values(column), {lay.name: lay.positions for lay in layers}, budget, column,
                        key="explore_coverage")


@ctl.part(ctl.FIND)
def find_box() -> None:
    """Every image of the pool can be found (type to search); its own part, so that the galleries'
    reruns do not send the pool's ids again."""
    options = [""] + [str(i) for i in pool_ids]
    if ss.get("explore_find") not in options:
        ss["explore_find"] = ""
    st.selectbox("Find an image on the map (ringed in black; type an id)", options, key="explore_find",
                 format_func=lambda v: v or "(none)", on_change=ctl.rerun(ctl.MAP, ctl.LASSO, ctl.GALLERIES))


@ctl.part(ctl.LASSO)
def lasso_view() -> None:
    """The lasso's images (its own part: a lasso reruns neither the picks' galleries nor tables)."""
    rows = ex.ids_to_rows(ds, emap.current_selection("explore_map") or [])
    panels.lasso_panel(ds, pool, rows, picks("a", budget_now(), 0)[1] if len(rows) else None,
                       ss.get("explore_find") or "")


@ctl.part(ctl.GALLERIES)
def galleries_view() -> None:
    budget, find_id = budget_now(), ss.get("explore_find") or ""
    st.subheader("The picks")
    label_b = method_label("b") if ss.get("explore_compare") else ""
    tab_a, tab_b = st.tabs([f"Picks of {method_label('a')}", f"Picks of {label_b}" if label_b else "Picks of B"])
    with tab_a:
        panels.picks_tab(ds, pool, picks("a", budget, 0)[1], method("a"), "explore_dl_a", find_id)
    with tab_b:
        if label_b:
            panels.picks_tab(ds, pool, picks("b", budget, 1)[1], method("b"), "explore_dl_b", find_id)
        else:
            st.caption("Turn on **Compare with** to pick with a second method.")


map_view()
diagnostics_view()
coverage_view()
find_box()
lasso_view()
galleries_view()
