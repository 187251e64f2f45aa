"""Explore: the pool on a 2-D map, the images a method would pick first, and why.

A thin view: embeddings, maps and selections come from ``coldstart`` (the same functions the CLI
runs: ``coldstart embed``, ``coldstart map``, ``coldstart select``), cached on disk and per session.
Everything below the controls (budget slider, map, diagnostics, galleries, exports) is one
``st.fragment``: a budget change or a lasso reruns only that part; selections are computed once at
the largest budget and sliced.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from coldstart import explore as ex
from coldstart import export, maps
from coldstart.embed.registry import QUICK
from coldstart.errors import ColdstartError
from coldstart.select import selector_specs
from coldstart.ui import common as ui
from coldstart.select.strata import stratifier_columns
from coldstart.ui import explore_map as emap
from coldstart.ui import figures, loaders, weights_view
from coldstart.ui.export_view import export_buttons

ui.page_config("Explore")
ds = ui.dataset_sidebar()
if ds is None:
    st.stop()

st.title("Explore the pool and the first picks")
st.caption("Each dot is an image; similar-looking images sit close together. The numbered markers "
           "are the images a method proposes to label first, in order. Hover a dot to see why it "
           "was picked; draw a lasso around dots to see those images below.")

emb_table = loaders.embedders_table(ds)
EMB_NAMES = emb_table["name"].tolist()
EMB_ROW = {r["name"]: r for r in emb_table.to_dict("records")}
SELECTORS = selector_specs("cold-start")  # uncertainty strategies need a trained model
NO_EMB = "(none needed)"


def embedder_box(label: str, key: str, default: str, disabled: bool = False):
    """Embedder picker; unavailable ones stay listed, and choosing one shows the reason."""
    if key not in st.session_state or st.session_state[key] not in EMB_NAMES:
        st.session_state[key] = default if default in EMB_NAMES else EMB_NAMES[0]
    name = st.selectbox(label, EMB_NAMES, key=key, disabled=disabled,
                        format_func=lambda n: n if EMB_ROW[n]["available"] else f"{n} (not available)",
                        help="How images are turned into vectors: similar vectors = similar images.")
    if disabled:
        return None
    row = EMB_ROW[name]
    if not row["available"]:
        st.warning(f"**{name}** is not available: {row['reason']}", icon=":material/block:")
        weights_view.offer_download(ds, name, key)
        return None
    st.caption(str(row["summary"]))
    return name


def selector_box(label: str, key: str, default: str):
    if key not in st.session_state or st.session_state[key] not in SELECTORS:
        st.session_state[key] = default if default in SELECTORS else next(iter(SELECTORS))
    name = st.selectbox(label, list(SELECTORS), key=key, help="The rule that chooses which images to label.")
    st.caption(f"**When to use it:** {SELECTORS[name].summary}")
    return name


def selector_params(name: str, key: str) -> dict:
    """Widgets for the selector's declared parameters (name, type, default, range, help come from
    the registry); only values that differ from the defaults are returned."""
    specs = [p for p in SELECTORS[name].params or () if p.default is not None]
    out = {}
    if not specs:
        return out
    with st.expander("Parameters"):
        for p in specs:
            k = f"{key}_{name}_{p.name}"
            lo = None if p.low is None else (p.type(p.low) + (1 if p.low_open and p.type is int else 0))
            hi = None if p.high is None else (p.type(p.high) - (1 if p.high_open and p.type is int else 0))
            if p.type is bool:
                v = st.checkbox(p.name, value=p.default, key=k, help=p.help)
            elif p.type is str:
                opts = list(p.choices or (p.default,))
                v = st.selectbox(p.name, opts, index=opts.index(p.default), key=k, help=p.help)
            elif p.type is int:
                v = int(st.number_input(p.name, value=p.default, min_value=lo, max_value=hi, step=1, key=k,
                                        help=p.help))
            else:  # open float bounds are checked by the selector, which names the parameter
                v = float(st.number_input(p.name, value=float(p.default), min_value=None if p.low_open else lo,
                                          max_value=None if p.high_open else hi, key=k, format="%.4g",
                                          help=p.help))
            if v != p.default:
                out[p.name] = v
    return out


def features_for(name: str | None, auto: bool) -> np.ndarray | None:
    """Cached features, or compute them (automatically for the quick weight-free embedders, else on a click)."""
    if name is None:
        return None
    x = loaders.cached_features(ds, name)
    if x is not None:
        return x
    if auto or st.button(f"Compute {name} embeddings for {len(ds):,} images", key=f"explore_embed_{name}",
                         icon=":material/play_arrow:"):
        with ui.guarded(f"embedding with {name}"):
            return loaders.compute_features(ds, name)
    else:
        st.info(f"{name} embeddings are not computed yet for this dataset "
                f"(or run `coldstart embed {ds.name} --embedder {name}`).")
    return None


def _show_umap() -> None:
    st.session_state["explore_map_method"] = "umap"
    st.session_state["explore_umap_pending"] = False


@st.fragment(run_every=4)
def umap_notice(emb: str, seed: int) -> None:
    """While the map is PCA: compute the UMAP map in the background and offer it when it is ready."""
    state = loaders.map_in_background(ds, emb, "umap", seed)
    if state == "computing":
        st.caption(":material/hourglass_top: Computing the UMAP map in the background (it shows clusters more "
                   "clearly; about a minute the first time on 2 cores, then cached). PCA until then.")
    elif state == "ready":
        if st.button("UMAP map ready: show it", key="explore_umap_ready", icon=":material/scatter_plot:",
                     on_click=_show_umap):
            st.rerun()


# ------------------------------------------------------------------ controls
c_map, c_a, c_b = st.columns(3, gap="large")
with c_map:
    st.subheader("Map", divider="gray")
    map_emb = embedder_box("Map embedding", "explore_map_emb", weights_view.default_note(ds))
    if "explore_map_method" not in st.session_state and map_emb is not None:
        # UMAP when it is cached, else PCA (instant) so the first paint is fast
        has_umap = loaders.cached_features(ds, map_emb) is not None and \
            loaders.cached_map(ds, map_emb, "umap", int(st.session_state.get("explore_seed", 0))) is not None
        st.session_state["explore_map_method"] = "umap" if has_umap else "pca"
        st.session_state["explore_umap_pending"] = not has_umap  # UMAP computes in the background meanwhile
    map_method = st.selectbox("Projection", list(maps.METHODS), key="explore_map_method",
                              format_func=lambda m: m.upper() if m != "tsne" else "t-SNE",
                              help="\n\n".join(maps.METHODS.values()))
    if map_method == "pca" and map_emb is not None and st.session_state.get("explore_umap_pending"):
        umap_notice(map_emb, int(st.session_state.get("explore_seed", 0)))
    elif map_method == "pca" and map_emb is not None and \
            loaders.cached_map(ds, map_emb, "umap", int(st.session_state.get("explore_seed", 0))) is None:
        st.caption("UMAP shows clusters more clearly: choose it to compute it once (about a minute the first "
                   f"time), or run `coldstart map {ds.name} --embedder {map_emb}`.")
    if "explore_pool" not in st.session_state:  # deep link: /Explore?pool=all
        qp = st.query_params.get("pool", "train")
        st.session_state["explore_pool"] = qp if qp in ex.POOLS else "train"
    pool_name = st.radio("Pool", list(ex.POOLS), key="explore_pool", horizontal=True,
                         format_func=lambda p: {"train": "train split", "all": "all images"}[p],
                         help="\n\n".join(f"**{k}**: {v}" for k, v in ex.POOLS.items()))
    STRATA = stratifier_columns(ds.manifest)
    color_options = list(ex.COLOR_OPTIONS) + [c for c in STRATA if c not in ex.COLOR_OPTIONS]
    if st.session_state.get("explore_color") not in color_options:  # open on the clinical strata when there are some
        st.session_state["explore_color"] = next((c for c in ("subgroup", "protocol") if c in STRATA), "label")
    color_by = st.selectbox("Colour by", color_options,
                            key="explore_color", help="A property of each image, or any categorical column "
                            "of the manifest (a stratum: subgroup, protocol, site, view...).")

with c_a:
    st.subheader("Method A", divider="red")
    sel_a = selector_box("Selector", "explore_sel_a", "kmeans")
    needs_a = SELECTORS[sel_a].needs_features
    emb_a = embedder_box("Selection embedding", "explore_emb_a", loaders.default_embedder(ds)[0],
                         disabled=not needs_a)
    params_a = selector_params(sel_a, "explore_pa")
    seed = int(st.number_input("Seed", min_value=0, value=0, step=1, key="explore_seed",
                               help="Same seed, same picks. Used by every random step."))

with c_b:
    st.subheader("Compare with", divider="violet")
    compare = st.toggle("Show a second method on the same map", key="explore_compare", value=False)
    sel_b = emb_b = None
    params_b: dict = {}
    if compare:
        sel_b = selector_box("Selector", "explore_sel_b", "random")
        needs_b = SELECTORS[sel_b].needs_features
        emb_b = embedder_box("Selection embedding", "explore_emb_b", loaders.default_embedder(ds)[0],
                             disabled=not needs_b)
        params_b = selector_params(sel_b, "explore_pb")

pool = ex.pool_indices(ds, pool_name)
n_pool = len(pool)
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
            mid = loaders.pretrain_ssl(ds, epochs=int(epochs), seed=seed)
            st.success(f"Trained {mid}: choose **ssl-pool:{mid}** as an embedding.")

# ------------------------------------------------------------------ data for the map
map_feats = features_for(map_emb, auto=map_emb in QUICK)
if map_feats is None:
    st.info("Choose an available map embedding (and compute it) to draw the map.")
    st.stop()
xy_all = loaders.cached_map(ds, map_emb, map_method, seed)
if xy_all is None:
    try:
        xy_all = loaders.compute_map(ds, map_emb, map_method, seed)
    except ColdstartError as e:
        ui.show_error(e)
        st.stop()
xy = np.asarray(xy_all, dtype=np.float32)[pool]
# diagnostics (coverage, near-duplicates, distances) are measured in the map embedding's PCA-50 space
space = loaders.reduced_features(ds, map_emb, pool_name)


def method(selector, embedder, params, needs, tag):
    """What a method needs to pick (its picks come from :func:`layer_of`); None if unavailable."""
    if selector is None or (needs and embedder is None):
        return None
    if needs and features_for(embedder, auto=embedder in QUICK) is None:
        return None
    emb = embedder if needs else None
    label = f"{tag}: {selector}" + (f" on {emb}" if emb else "")
    return {"selector": selector, "emb": emb, "params": params, "label": label}


def layer_of(m, budget, style):
    """A method's map layer and its picks at ``budget`` ((None, None) when it cannot pick): the layer
    carries the largest budget's order (computed once, cached on disk), see ``emap.pick_layer``."""
    if m is None:
        return None, None
    try:
        return emap.pick_layer(
            m["label"], lambda b: loaders.run_selection(ds, m["selector"], m["emb"], b, seed, pool_name, m["params"]),
            budget, max_budget, hover=lambda sel: ex.pick_hover(ds, pool, sel, m["label"]), style=style)
    except ColdstartError as e:
        ui.show_error(e, m["selector"])
        return None, None


meth_a = method(sel_a, emb_a, params_a, needs_a, "A")
meth_b = method(sel_b, emb_b, params_b, SELECTORS[sel_b].needs_features, "B") if compare and sel_b else None
label_a = meth_a["label"] if meth_a else f"A: {sel_a}"
label_b = (meth_b["label"] if meth_b else f"B: {sel_b}") if compare and sel_b else ""
proj = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}[map_method]
scores = loaders.ood_scores(ds, map_emb, pool_name) if color_by == "OOD score" else None
sel_space = loaders.reduced_features(ds, emb_a, pool_name) if (color_by == "cluster" and needs_a and emb_a) \
    else space
# the pool trace's per-point data (ids, hover fields, colours) is the same for every budget
pool_ids = ds.ids[pool]
mhash = ds.manifest_hash
pool_hover = ui.session_memo(("explore_pool_info", mhash, pool_name),
                             lambda: ex.pool_info(ds, pool, split=pool_name == "all"))


def strata_values(column: str) -> np.ndarray:
    """The pool's values of a manifest column (class names for ``label``)."""
    if column == "label":
        return ex.color_values("label", ds, pool)[0]
    return ds.manifest[column].to_numpy()[pool]


@st.fragment
def budget_view():
    """Map (with its budget slider), diagnostics, coverage, galleries and exports: the map shows any
    budget in the browser at once; after the slider rests, or after a lasso, only this part reruns."""
    budget = emap.current_budget("explore_map", default_budget, max_budget)
    layer_a, pick_a = layer_of(meth_a, budget, 0)
    layer_b, pick_b = layer_of(meth_b, budget, 1)
    layers = [lay for lay in (layer_a, layer_b) if lay is not None]

    # colours
    clusters = pick_dist = None
    if color_by == "cluster" and pick_a is not None:
        clusters, _ = ex.nearest_pick(sel_space, pick_a.indices)
    if color_by == "distance to nearest pick" and pick_a is not None:
        _, pick_dist = ex.nearest_pick(space, pick_a.indices)
    try:
        if color_by in ("cluster", "distance to nearest pick"):
            cvals, continuous, ctitle = ex.color_values(color_by, ds, pool, clusters=clusters,
                                                        ood_scores=scores, pick_distance=pick_dist)
        elif color_by not in ex.COLOR_OPTIONS:  # a manifest column (stratum)
            cvals, continuous, ctitle = strata_values(color_by), False, color_by
        else:  # the same for every budget
            cvals, continuous, ctitle = ui.session_memo(
                ("explore_colors", mhash, pool_name, color_by, map_emb),
                lambda: ex.color_values(color_by, ds, pool, ood_scores=scores))
    except ValueError:
        st.caption(f"Colour by {color_by!r} needs picks (or OOD scores); showing labels instead.")
        cvals, continuous, ctitle = ex.color_values("label", ds, pool)
    color = emap.continuous(cvals, ctitle) if continuous else emap.categorical(cvals, ctitle)

    find_id = st.session_state.get("explore_find") or ""
    title = f"Map: {proj} of <b>{map_emb}</b> embeddings ({n_pool:,} images)"
    if layers:
        title += "  ·  Picks " + "  ·  ".join(f"<b>{lay.name}</b>" for lay in layers) + f"  ·  seed {seed}"
    state = emap.explore_map(xy, pool_ids, budget=budget, max_budget=max_budget, color=color, info=pool_hover,
                             layers=layers, title=title, axis_name=proj, highlight_ids=[find_id] if find_id else [],
                             key="explore_map", height=620)
    lasso_rows = ex.ids_to_rows(ds, state.selected_ids or [])

    diagnostics_view(pick_a, pick_b, budget)
    coverage_view(layers, budget)
    galleries_view(pick_a, pick_b, lasso_rows, find_id)


def coverage_view(layers, budget):
    st.subheader("Stratum coverage")
    if not STRATA or not layers:
        st.caption("No categorical column to stratify by in this dataset's manifest." if not STRATA else "")
        return
    default = next((c for c in ("subgroup", "protocol", "drain", "label") if c in STRATA), STRATA[0])
    if st.session_state.get("explore_strata") not in STRATA:
        st.session_state["explore_strata"] = default
    column = st.selectbox("Stratify by", STRATA, key="explore_strata",
                          help="Any categorical column of the manifest. Which of its values (strata) the picks "
                               "reach at this budget, how soon, and in what share against the pool.")
    emap.coverage_panel(strata_values(column), {lay.name: lay.positions for lay in layers}, budget, column,
                        key="explore_coverage")


def diagnostics_view(pick_a, pick_b, budget):
    st.subheader("Why these picks? Side by side")
    picks = [(label_a, pick_a, 0)] + ([(label_b, pick_b, 1)] if compare else [])
    picks = [(name, p, s) for name, p, s in picks if p is not None]
    if not picks:
        return
    diag = {name: ex.diagnostics(ds, pool, p.indices, space, scores) for name, p, _ in picks}
    cols = st.columns(len(picks) + 1)
    for col, (name, p, _) in zip(cols, picks):
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
        if compare and len(picks) == 2:
            ov = ex.overlap(picks[0][1].indices, picks[1][1].indices)
            st.metric("Picked by both", f"{ov} of {budget}")
        if ds.classes and (ds.labels[pool] >= 0).any():
            ref = [int((ds.labels[pool] == k).sum()) for k in range(len(ds.classes))]
            st.plotly_chart(figures.balance_figure(ds.classes, {n: diag[n]["class_counts"] for n, _, _ in picks},
                                                   ref, height=260), width="stretch", key="explore_balance")


def galleries_view(pick_a, pick_b, lasso_rows, find_id):
    # every image of the pool can be found (type to search): the picks first, then the lassoed, then the rest
    find_options = [""] + ([str(i) for i in ds.ids[pool[pick_a.indices]]] if pick_a is not None else []) + \
        [str(i) for i in ds.ids[lasso_rows]] + [str(i) for i in ds.ids[pool]]
    find_options = list(dict.fromkeys(find_options))
    if st.session_state.get("explore_find") not in find_options:
        st.session_state["explore_find"] = ""
    st.selectbox("Find an image on the map (ringed in black; type an id)", find_options, key="explore_find",
                 format_func=lambda v: v or "(none)")

    st.subheader(f"Selected on the map ({len(lasso_rows)})")
    if not len(lasso_rows):
        st.caption("Draw a lasso (or pick the box tool in the chart's toolbar) around dots on the map to "
                   "see those images here, with their masks outlined in red.")
    else:
        show = lasso_rows[:48]
        rank_a = {int(pool[i]): k + 1 for k, i in enumerate(pick_a.indices)} if pick_a is not None else {}
        caps = [ui.caption(ds, r, f"pick #{rank_a[r]}" if r in rank_a else "") for r in show]
        ui.image_grid(ds, show, caps, cols=8, size=112,
                      highlight=[r for r in show if find_id and ds.ids[r] == find_id])
        if len(lasso_rows) > len(show):
            st.caption(f"Showing 48 of {len(lasso_rows)} selected images; the CSV has all of them.")
        st.download_button("Download these images as CSV",
                           lambda: export.selection_csv(ds, lasso_rows, absolute_paths=False),
                           f"{ds.name}-lasso-selection.csv", mime="text/csv", key="explore_dl_lasso",
                           icon=":material/download:", on_click="ignore")

    st.subheader("The picks")
    tab_a, tab_b = st.tabs([f"Picks of {label_a}", f"Picks of {label_b}" if label_b else "Picks of B"])
    with tab_a:
        picks_tab(pick_a, label_a, meth_a, "explore_dl_a", find_id)
    with tab_b:
        if compare:
            picks_tab(pick_b, label_b, meth_b, "explore_dl_b", find_id)
        else:
            st.caption("Turn on **Compare with** to pick with a second method.")


def picks_tab(pick, label, meth, key, find_id):
    if pick is None:
        st.caption("No picks yet (choose an available embedding).")
        return
    rows = pool[pick.indices]
    show = rows[:40]
    ui.image_grid(ds, show, [ui.caption(ds, r, f"#{k + 1}") for k, r in enumerate(show)], cols=8, size=112,
                  highlight=[r for r in show if find_id and ds.ids[r] == find_id])
    per_pick = pick.per_pick.assign(method=label, embedder=meth["emb"] or "", seed=pick.info.get("seed"))
    st.dataframe(export.selection_table(ds, rows, per_pick=per_pick, absolute_paths=False), width="stretch",
                 hide_index=True, height=240)
    name = f"{label.split(':')[1].strip().replace(' ', '_')}-b{len(rows)}"
    export_buttons(ds, rows, per_pick=per_pick, key=f"{key}_export", name=name)


budget_view()
