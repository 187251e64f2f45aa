"""The Explore page through Streamlit's AppTest: real page code, real coldstart modules."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import make_blob_dataset

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Explore.py")


def _arr(v):
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def _map_spec(at):
    charts = [c for c in at.get("plotly_chart") if "Map:" in c.proto.spec]
    assert len(charts) == 1, "expected exactly one map chart"
    return json.loads(charts[0].proto.spec)


def _ids(trace):
    """Image ids of a trace: customdata is the id, or a row whose first entry is the id."""
    return [c[0] if isinstance(c, list) else c for c in trace["customdata"]]


def _trace(spec, prefix):
    tr = [t for t in spec["data"] if str(t.get("name", "")).startswith(prefix)]
    return tr[0] if tr else None


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
    spec = _map_spec(at)
    pool = pool_indices(ds, "train")
    pool_tr = _trace(spec, "pool")
    assert pool_tr["type"] == "scattergl"
    assert len(_arr(pool_tr["x"])) == len(pool)
    assert _ids(pool_tr) == list(ds.ids[pool])
    assert [c[1] for c in pool_tr["customdata"][:5]] == [ds.label_name(v) for v in ds.labels[pool[:5]]]
    # the picks are exactly coldstart.select's picks (kmeans on pixels, seed 0), in order
    expect = select("kmeans", cached_embeddings(ds, "pixels")[pool], 20, 0).indices
    picks = _trace(spec, "A: kmeans on pixels")
    assert list(picks["customdata"]) == list(ds.ids[pool[expect]])
    assert list(picks["text"]) == [str(i) for i in range(1, 21)]
    # both embeddings are named in the title
    assert "PCA of <b>pixels</b>" in spec["layout"]["title"]["text"] and "kmeans on pixels" in \
        spec["layout"]["title"]["text"]

    # moving the budget changes the highlighted picks exactly (nested prefix)
    at.slider(key="explore_budget").set_value(7).run()
    assert not at.exception
    picks7 = _trace(_map_spec(at), "A: kmeans on pixels")
    assert list(picks7["customdata"]) == list(ds.ids[pool[expect[:7]]])
    at.slider(key="explore_budget").set_value(33).run()
    assert len(_trace(_map_spec(at), "A: kmeans on pixels")["customdata"]) == 33


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
    spec = _map_spec(at)
    assert _trace(spec, "pool") is not None and _trace(spec, "A:") is None


def test_compare_two_methods_and_diagnostics(explore_ds):
    at = _app(explore_compare=True, explore_sel_b="random").run()
    assert not at.exception, at.exception
    spec = _map_spec(at)
    a, b = _trace(spec, "A: kmeans on pixels"), _trace(spec, "B: random")
    assert a and b and len(a["customdata"]) == len(b["customdata"]) == 20
    overlap = len(set(a["customdata"]) & set(b["customdata"]))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Picked by both"] == f"{overlap} of 20"
    assert "OOD picked" in metrics and "Coverage distance" in metrics
    balance = [c for c in at.get("plotly_chart") if "Class balance" in c.proto.spec]
    assert balance, "class balance chart missing"
    assert "B: random" in spec["layout"]["title"]["text"]
    # each method's picks can be exported (CSV, Label Studio, class folders), named by method and budget
    labels = [b.proto.label for b in at.get("download_button")]
    for label in ("Selection (CSV)", "Label Studio bundle (ZIP)", "Images in class folders (ZIP)"):
        assert labels.count(label) == 2, label  # one set per method tab


def test_lasso_selection_gallery_and_find(explore_ds):
    at = _app().run()
    spec = _map_spec(at)
    rows = _trace(spec, "pool")["customdata"][:5]
    ids = [r[0] for r in rows]
    at.session_state["explore_map"] = {"selection": {
        "points": [{"curve_number": 0, "point_index": k, "customdata": r} for k, r in enumerate(rows)],
        "point_indices": list(range(5)), "box": [], "lasso": []}}
    at.run()
    assert not at.exception, at.exception
    assert any(h.value == "Selected on the map (5)" for h in at.subheader)
    picks_tab = [t for t in at.tabs if t.label.startswith("Picks of A")][0]
    assert len(at.get("image")) - len(picks_tab.get("image")) == 5  # the lasso gallery
    assert any(b.label == "Download these images as CSV" for b in at.get("download_button"))
    # find one of them on the map: a ring trace with that id
    at.selectbox(key="explore_find").set_value(ids[2]).run()
    assert not at.exception
    assert _trace(_map_spec(at), "found")["customdata"] == [ids[2]]


@pytest.mark.parametrize("colour", ["split", "cluster", "OOD flag", "distance to nearest pick"])
def test_colour_options(explore_ds, colour):
    at = _app(explore_color=colour, explore_pool="all").run()
    assert not at.exception, at.exception
    spec = _map_spec(at)
    pool_tr = _trace(spec, "pool")
    assert len(_arr(pool_tr["x"])) == len(explore_ds)
    if colour == "distance to nearest pick":
        assert pool_tr["marker"]["showscale"] is True
    else:
        assert any(t.get("legendgroup") == "colour" for t in spec["data"])


def test_random_selector_needs_no_embedding(explore_ds):
    at = _app(explore_sel_a="random").run()
    assert not at.exception, at.exception
    tr = _trace(_map_spec(at), "A: random")
    assert tr is not None and len(tr["customdata"]) == 20


def test_embeddings_computed_on_request(data_root):
    """No cached embeddings: pixels are computed automatically, with the map (PCA) after."""
    make_blob_dataset("fresh", data_root, n=50)
    at = _app().run()
    assert not at.exception, at.exception
    assert _trace(_map_spec(at), "pool") is not None


def test_every_cold_start_selector_draws_picks(data_root):
    from coldstart.embed import load_embeddings
    from coldstart.select import selector_specs

    ds = make_blob_dataset("small", data_root, n=70, seed=4)
    load_embeddings(ds, "pixels")
    names = list(selector_specs("cold-start"))  # what the page offers
    assert {"random", "kmeans", "typiclust", "probcover", "coreset"} <= set(names)
    assert "entropy" not in names  # needs a trained model, not a cold-start pick
    at = _app(explore_budget=12).run()
    for name in names:
        at.selectbox(key="explore_sel_a").set_value(name).run()
        assert not at.exception, (name, at.exception)
        assert not at.error, (name, [e.value for e in at.error])
        tr = _trace(_map_spec(at), f"A: {name}")
        assert tr is not None and len(tr["customdata"]) == 12, name


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
    tr = _trace(_map_spec(at), "A: typiclust")
    assert _ids(tr) == [str(i) for i in explore_ds.ids[pool[want]]]


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
    assert "UMAP" in json.dumps(_map_spec(at)["layout"])


def test_find_searches_the_whole_pool(explore_ds):
    at = _app().run()
    opts = at.selectbox(key="explore_find").options
    pool = explore_ds.split_indices("train")
    assert {str(i) for i in explore_ds.ids[pool]} <= set(opts)
