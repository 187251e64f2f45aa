"""The Explore page through Streamlit's AppTest: real page code, real coldstart modules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import make_blob_dataset

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Explore.py")


def _map(at) -> dict:
    """The Explore map component's arguments (the pool's coordinates decoded into ``xy``)."""
    comps = [c for c in at.get("component_instance") if c.proto.component_name.endswith("explore_map")]
    assert len(comps) == 1, "expected exactly one map component"
    args = json.loads(comps[0].proto.json_args)
    special = {sp.key: sp.bytes for sp in comps[0].proto.special_args}
    args["xy"] = np.frombuffer(special["xy"], dtype=np.float32).reshape(-1, 2)
    return args


def _n_images(node) -> int:
    """Thumbnails under ``node`` (a gallery is one image element holding all its images)."""
    return sum(len(e.proto.imgs) for e in node.get("image"))


def _layer(args, prefix):
    lay = [lay for lay in args["layers"] if lay["name"].startswith(prefix)]
    return lay[0] if lay else None


def _shown_ids(args, layer):
    """Ids of the picks the map shows at the server's budget (a prefix of a nested order)."""
    ids = args["ids"].split("\n")
    pos = layer["positions"][:args["budget"]] if layer["nested"] else layer["positions"]
    return [ids[p] for p in pos]


def _set_budget(at, budget, _seq=[0]):
    """What the map's slider reports once it rests (a later sequence number each time)."""
    _seq[0] += 1
    at.session_state["explore_map"] = {"budget": budget, "seq": _seq[0], "selected": None, "sel_seq": 0}
    return at.run()


@pytest.fixture
def explore_ds(data_root):
    """120 blob images with some OOD ones; pixel embeddings and a PCA map cached."""
    from coldstart import maps
    from coldstart.embed import get_embedder, load_embeddings

    ds = make_blob_dataset("blobs", data_root, n=120, ood_rate=0.1, seed=1)
    feats = load_embeddings(ds, "pixels")
    maps.load_or_compute_map(ds, feats, get_embedder("pixels", ds).key, "pca", 0)
    return ds


def _app(**state):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explore_map_method"] = "pca"
    for k, v in state.items():
        at.session_state[k] = v
    return at


def test_map_shows_pool_and_exact_picks(explore_ds):
    from coldstart.embed import cached_embeddings
    from coldstart.select import select
    from coldstart.select.dataset import pool_indices

    ds = explore_ds
    at = _app().run()
    assert not at.exception, at.exception
    args = _map(at)
    pool = pool_indices(ds, "train")
    assert args["xy"].shape == (len(pool), 2)
    assert args["ids"].split("\n") == list(ds.ids[pool])
    info = args["info"]["label"]
    assert [info["cats"][k] for k in info["codes"][:5]] == [ds.label_name(v) for v in ds.labels[pool[:5]]]
    # the picks are exactly coldstart.select's picks (kmeans on pixels, seed 0), in order; the map gets
    # the whole nested order once and shows the budget's prefix
    expect = select("kmeans", cached_embeddings(ds, "pixels")[pool], 20, 0).indices
    a = _layer(args, "A: kmeans on pixels")
    assert a["nested"] and len(a["positions"]) == args["max_budget"] and args["budget"] == 20
    assert _shown_ids(args, a) == list(ds.ids[pool[expect]])
    assert len(a["hover"]) == len(a["positions"]) and a["hover"][0].startswith("<b>pick #1</b>")
    # both embeddings are named in the title
    assert "PCA of <b>pixels</b>" in args["title"] and "kmeans on pixels" in args["title"]

    # the budget the slider reports reaches the panels below the map (nested prefix)
    _set_budget(at, 7)
    assert not at.exception
    args7 = _map(at)
    assert args7["budget"] == 7 and _shown_ids(args7, _layer(args7, "A: kmeans")) == list(ds.ids[pool[expect[:7]]])
    assert _layer(args7, "A: kmeans")["positions"] == a["positions"]  # same order: nothing new to draw
    picks_tab = [t for t in at.tabs if t.label.startswith("Picks of A")][0]
    assert _n_images(picks_tab) == 7
    _set_budget(at, 33)
    assert len(_shown_ids(_map(at), _layer(_map(at), "A: kmeans"))) == 33


def test_unavailable_embedder_shows_reason(explore_ds):
    from coldstart.embed import list_embedders

    table = list_embedders(explore_ds)
    missing = table[~table["available"]]
    assert len(missing), "expected at least one embedder without weights in a test data root"
    name, reason = missing.iloc[0]["name"], missing.iloc[0]["reason"]
    at = _app(explore_emb_a=name).run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert name in warnings and reason[:40] in warnings
    # the map is still drawn (on pixels), just without picks from the unavailable embedding
    args = _map(at)
    assert len(args["xy"]) > 0 and _layer(args, "A:") is None


def test_compare_two_methods_and_diagnostics(explore_ds):
    at = _app(explore_compare=True, explore_sel_b="random").run()
    assert not at.exception, at.exception
    args = _map(at)
    a, b = _layer(args, "A: kmeans on pixels"), _layer(args, "B: random")
    a, b = _shown_ids(args, a), _shown_ids(args, b)
    assert len(a) == len(b) == 20
    overlap = len(set(a) & set(b))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Picked by both"] == f"{overlap} of 20"
    assert "OOD picked" in metrics and "Coverage distance" in metrics
    balance = [c for c in at.get("plotly_chart") if "Class balance" in c.proto.spec]
    assert balance, "class balance chart missing"
    assert "B: random" in args["title"]
    # each method's picks can be exported (CSV, Label Studio, class folders), named by method and budget
    labels = [b.proto.label for b in at.get("download_button")]
    for label in ("Selection (CSV)", "Label Studio bundle (ZIP)", "Images in class folders (ZIP)"):
        assert labels.count(label) == 2, label  # one set per method tab


def test_lasso_selection_gallery_and_find(explore_ds):
    at = _app().run()
    ids = _map(at)["ids"].split("\n")[:5]
    at.session_state["explore_map"] = {"budget": 20, "seq": 0, "selected": ids, "sel_seq": 1}
    at.run()
    assert not at.exception, at.exception
    assert any(h.value == "Selected on the map (5)" for h in at.subheader)
    picks_tab = [t for t in at.tabs if t.label.startswith("Picks of A")][0]
    assert _n_images(at) - _n_images(picks_tab) == 5  # the lasso gallery
    lasso = [e for e in at.get("image") if e not in picks_tab.get("image")]
    assert len(lasso) == 1, "one st.image element per gallery"
    assert [im.caption.split(" · ")[0] for im in lasso[0].proto.imgs] == ids
    assert any(b.label == "Download these images as CSV" for b in at.get("download_button"))
    # find an image on the map: any image of the pool, not only picks and selected ones
    find = at.selectbox(key="explore_find")
    assert len(find.options) == len(_map(at)["ids"].split("\n")) + 1
    last = _map(at)["ids"].split("\n")[-1]
    find.set_value(last).run()
    assert not at.exception
    assert _map(at)["highlight"] == [last]


@pytest.mark.parametrize("colour", ["split", "cluster", "OOD flag", "distance to nearest pick", "ood"])
def test_colour_options(explore_ds, colour):
    at = _app(explore_color=colour, explore_pool="all").run()
    assert not at.exception, at.exception
    args = _map(at)
    assert len(args["xy"]) == len(explore_ds)
    color = args["color"]
    if colour == "distance to nearest pick":
        assert color["kind"] == "continuous" and len(color["values"]) == len(explore_ds)
    else:
        assert color["kind"] == "categorical" and len(color["codes"]) == len(explore_ds)
        assert len(set(color["colors"])) == len(color["cats"])  # one distinct colour per category
    if colour == "ood":  # any categorical manifest column is a colour (a stratifier)
        assert sorted(color["cats"]) == sorted(explore_ds.manifest["ood"].astype(str).unique())


def test_stratum_coverage_panel(explore_ds):
    from coldstart.select.dataset import pool_indices
    from coldstart.select.strata import compare_coverage

    at = _app(explore_compare=True, explore_sel_b="random", explore_strata="ood").run()
    assert not at.exception, at.exception
    args = _map(at)
    pool = pool_indices(explore_ds, "train")
    values = explore_ds.manifest["ood"].to_numpy()[pool]
    orders = {lay["name"]: lay["positions"] for lay in args["layers"]}
    want = compare_coverage(values, orders, 20)
    metrics = {m.label: m.value for m in at.metric}
    for name in orders:
        hit = int((want[f"{name} picks"] > 0).sum())
        assert metrics[f"{name}: strata hit"] == f"{hit} of {len(want)}"
    shown = [d.value for d in at.dataframe if "pool_share" in d.value.columns][0]
    assert shown[f"{args['layers'][0]['name']} picks"].tolist() == want[f"{args['layers'][0]['name']} picks"].tolist()


def test_random_selector_needs_no_embedding(explore_ds):
    at = _app(explore_sel_a="random").run()
    assert not at.exception, at.exception
    args = _map(at)
    assert len(_shown_ids(args, _layer(args, "A: random"))) == 20


def test_embeddings_computed_on_request(data_root):
    """No cached embeddings: pixels are computed automatically, with the map (PCA) after."""
    make_blob_dataset("fresh", data_root, n=50)
    at = _app().run()
    assert not at.exception, at.exception
    args = _map(at)
    assert 0 < len(args["xy"]) == len(args["ids"].split("\n")) <= 50


def test_every_cold_start_selector_draws_picks(data_root):
    from coldstart.embed import load_embeddings
    from coldstart.select import selector_specs

    ds = make_blob_dataset("small", data_root, n=70, seed=4)
    load_embeddings(ds, "pixels")
    names = list(selector_specs("cold-start"))  # what the page offers
    assert {"random", "kmeans", "typiclust", "probcover", "coreset"} <= set(names)
    assert "entropy" not in names  # needs a trained model, not a cold-start pick
    at = _app(explore_map={"budget": 12, "seq": 1}).run()
    for name in names:
        at.selectbox(key="explore_sel_a").set_value(name).run()
        assert not at.exception, (name, at.exception)
        assert not at.error, (name, [e.value for e in at.error])
        args = _map(at)
        assert args["budget"] == 12 and len(_shown_ids(args, _layer(args, f"A: {name}"))) == 12, name


def test_parameter_widgets_come_from_declared_specs(explore_ds):
    """The Parameters expander shows the selector's declared specs; a changed value reaches the selector."""
    from coldstart.embed import load_embeddings
    from coldstart.select import get_selector, select
    from coldstart.select.dataset import pool_indices

    at = _app(explore_sel_a="typiclust").run()
    assert not at.exception, at.exception
    spec = get_selector("typiclust")
    boxes = {n.label: n for n in at.number_input if n.key.startswith("explore_pa_typiclust_")}
    assert set(boxes) == {p.name for p in spec.params if p.type in (int, float)}
    checks = {c.label for c in at.checkbox if c.key.startswith("explore_pa_typiclust_")}
    assert checks == {p.name for p in spec.params if p.type is bool}
    assert boxes["horizon"].value == 100 and boxes["horizon"].min == 1
    boxes["horizon"].set_value(4).run()
    assert not at.exception, at.exception
    pool = pool_indices(explore_ds, "train")
    want = select("typiclust", load_embeddings(explore_ds, "pixels")[pool], 20, 0, horizon=4).indices
    args = _map(at)
    assert _shown_ids(args, _layer(args, "A: typiclust")) == [str(i) for i in explore_ds.ids[pool[want]]]


def test_opens_on_pca_while_umap_computes_in_the_background_then_offers_it(explore_ds, monkeypatch):
    """No cached UMAP: the page opens on PCA at once, says UMAP is computing, and offers it when ready."""
    import threading
    import time

    from streamlit.testing.v1 import AppTest

    from coldstart import maps
    from coldstart.embed import get_embedder

    gate = threading.Event()
    real = maps.compute_map

    def slow_umap(features, method="umap", seed=0, progress=None, **params):
        if method == "umap":  # stands in for UMAP's minute: waits for the test, then maps quickly
            gate.wait(60)
            return real(features, "pca", seed)
        return real(features, method, seed, progress=progress, **params)

    monkeypatch.setattr(maps, "compute_map", slow_umap)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.session_state["explore_map_method"] == "pca"
    assert any("Computing the UMAP map in the background" in c.value for c in at.caption)
    gate.set()
    key = get_embedder("pixels", explore_ds).key
    for _ in range(120):
        if maps.cached_map(explore_ds, key, "umap", 0) is not None:
            break
        time.sleep(0.5)
    at.run()
    at.button(key="explore_umap_ready").click().run()
    assert not at.exception, at.exception
    assert at.session_state["explore_map_method"] == "umap"
    assert _map(at)["axis_name"] == "UMAP" and "UMAP of <b>pixels</b>" in _map(at)["title"]


def test_find_searches_the_whole_pool(explore_ds):
    at = _app().run()
    opts = at.selectbox(key="explore_find").options
    pool = explore_ds.split_indices("train")
    assert {str(i) for i in explore_ds.ids[pool]} <= set(opts)


def test_number_bounds_come_from_the_param():
    from coldstart.select.base import Param
    from coldstart.ui.explore_controls import number_bounds

    assert number_bounds(Param("k", int, 5, "", low=0, low_open=True, high=10, high_open=True)) == (1, 9)
    assert number_bounds(Param("k", int, 5, "", low=1)) == (1, None)
    assert number_bounds(Param("q", float, 0.5, "", low=0.0, high=1.0, high_open=True)) == (0.0, None)
    assert number_bounds(Param("q", float, 0.5, "", low=0.0, low_open=True)) == (None, None)
    # every declared number parameter's default lies inside the widget's bounds
    from coldstart.select import selector_specs

    for spec in selector_specs("cold-start").values():
        for p in spec.params or ():
            if p.type in (int, float) and p.default is not None:
                lo, hi = number_bounds(p)
                assert (lo is None or p.default >= lo) and (hi is None or p.default <= hi), (spec.name, p)


def test_export_name_comes_from_the_method_not_its_label(explore_ds, monkeypatch):
    """The picks' export files are named after selector, embedder and budget (no label parsing)."""
    from coldstart.ui import export_view

    names = []
    monkeypatch.setattr(export_view, "export_panel", lambda ds, rows, **kw: names.append((kw["name"], len(rows))))
    at = _app(explore_compare=True, explore_sel_b="random").run()
    assert not at.exception, at.exception
    assert sorted(names) == [("kmeans-pixels-b20", 20), ("random-b20", 20)]


def test_warm_fills_what_the_first_visit_reads(data_root):
    """explore.warm caches embedding, maps and the default picks at the slider's largest budget; the
    page then opens without computing (the map and the picks come from the disk caches)."""
    from coldstart import explore, maps
    from coldstart.embed import get_embedder
    from coldstart.select import cache as selcache
    from coldstart.select.dataset import pool_indices

    ds = make_blob_dataset("warmblobs", data_root, n=150, seed=4)
    steps = []
    got = explore.warm(ds, "pixels", log=lambda step, s: steps.append(step))
    assert list(got) == steps == list(explore.WARM_STEPS)
    key = get_embedder("pixels", ds).key
    assert maps.cached_map(ds, key, "pca", 0) is not None and maps.cached_map(ds, key, "umap", 0) is not None
    hi, _ = explore.budget_range(len(pool_indices(ds, "train")))
    skey = selcache.selection_key(ds.manifest_hash, key, "kmeans", {}, 0, "train")
    sel = selcache.load(ds, skey, hi)
    assert sel is not None and len(sel.indices) == hi
    again = explore.warm(ds, "pixels")  # all cached now: read, not recomputed
    assert again["selection"] < max(1.0, got["selection"])
    with pytest.raises(Exception, match="steps=.*unknown"):
        explore.warm(ds, "pixels", steps=("tsne map",))
