"""The Explore map component's Python side (coldstart.ui.explore_map), without a browser:
colour payloads, what is sent to the browser on each rerun (the pool only changes key when the
pool changes), the budget/selection round trip with stale values ignored, the coverage panel,
and serving plotly.min.js."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from coldstart.select.strata import compare_coverage
from coldstart.ui import explore_map as emap
from coldstart.ui import figures

APP = str(Path(__file__).resolve().parents[1] / "benchmarks" / "explore_map_app.py")


def _rgb(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.parametrize("n", [3, 9, 12, 40, 120])
def test_distinct_colors_never_repeat(n):
    cols = emap.distinct_colors(n)
    assert len(cols) == n and len(set(c.upper() for c in cols)) == n
    if n <= len(figures.PALETTE):
        assert cols == figures.PALETTE[:n]
    else:  # beyond the small palette: none can be mistaken for a pick marker
        for c in cols:
            assert all(np.abs(_rgb(c) - _rgb(p)).sum() > 90 for p in emap.PICK_COLORS)


def test_categorical_payload():
    vals = ["PTX + drain", "PA normal", None, "PA normal", "yes"]
    c = emap.categorical(vals, "subgroup")
    assert c["cats"] == ["PA normal", "PTX + drain", "yes", "(missing)"]  # missing last
    assert [c["cats"][k] for k in c["codes"]] == ["PTX + drain", "PA normal", "(missing)", "PA normal", "yes"]
    assert c["counts"] == [2, 1, 1, 1]
    assert c["colors"][2] == figures.NAMED["yes"]  # fixed colours as on the other charts
    assert len(set(c["colors"])) == 4
    k = emap.continuous([0.5, np.nan, 2.0], "OOD score")
    assert k["values"] == [0.5, None, 2.0] and k["kind"] == "continuous"


def _args(at) -> tuple[dict, dict]:
    proto = at.get("component_instance")[0].proto
    return json.loads(proto.json_args), {s.key: s.bytes for s in proto.special_args}


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.setenv("EXPLORE_POINTS", "600")
    monkeypatch.setenv("EXPLORE_NON_NESTED", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at) -> list[str]:
    return [m.value for m in at.markdown]


def test_payload_and_budget_round_trip(harness):
    at = harness
    args, special = _args(at)
    xy = np.frombuffer(special["xy"], dtype=np.float32).reshape(-1, 2)
    assert xy.shape == (600, 2) and len(args["ids"].split("\n")) == 600
    a, b = args["layers"]
    assert a["nested"] and len(a["positions"]) == args["max_budget"] == 200  # full order, once
    assert not b["nested"] and b["budget"] == len(b["positions"]) == 20
    assert args["budget"] == 20 and args["ack"] == 0
    assert "server budget: **20**" in _markdown(at)

    # the slider reported 57 (seq 3): the server follows, acknowledges seq 3, pool keys unchanged
    at.session_state["bench_map"] = {"budget": 57, "seq": 3, "selected": None, "sel_seq": 0}
    at.run()
    assert not at.exception, at.exception
    args2, special2 = _args(at)
    assert "server budget: **57**" in _markdown(at)
    assert args2["ack"] == 3 and args2["budget"] == 57
    assert args2["pool_key"] == args["pool_key"] and args2["color_key"] == args["color_key"]
    assert special2["xy"] == special["xy"]
    assert args2["layers"][0]["key"] == a["key"]  # nested order unchanged: nothing to redraw
    assert args2["layers"][1]["budget"] == len(args2["layers"][1]["positions"]) == 57

    # once the frame reports the keys it has drawn, the pool's data is no longer sent
    at.session_state["bench_map"] = {"budget": 57, "seq": 3, "selected": None, "sel_seq": 0,
                                     "pool_key": args["pool_key"], "color_key": args["color_key"]}
    at.run()
    args3, special3 = _args(at)
    assert not args3["has_data"] and args3["ids"] == "" and special3["xy"] == b"" and args3["color"] == {}
    assert args3["pool_key"] == args["pool_key"] and len(args3["layers"][0]["positions"]) == 200
    assert args["has_data"] and args2["has_data"]

    # a frame that has the pool but another colouring gets the colours alone (no coordinates)
    at.session_state["bench_map"] = {"budget": 57, "seq": 3, "selected": None, "sel_seq": 0,
                                     "pool_key": args["pool_key"], "color_key": "another"}
    at.run()
    args4, special4 = _args(at)
    assert not args4["has_data"] and args4["has_color"] and args4["color"] == args["color"]
    assert special4["xy"] == b"" and args4["ids"] == "" and args4["info"] == {}

    # a stale value (older sequence than already acknowledged) does not move the budget back
    at.session_state["bench_map"] = {"budget": 5, "seq": 2, "selected": None, "sel_seq": 0}
    at.run()
    assert "server budget: **57**" in _markdown(at)
    assert _args(at)[0]["ack"] == 3

    # out-of-range values are clamped; lasso ids come back as strings
    at.session_state["bench_map"] = {"budget": 900, "seq": 4, "selected": ["img000001", "img000007"],
                                     "sel_seq": 1}
    at.run()
    assert "server budget: **200**" in _markdown(at)
    assert "selected on the map: **2**" in _markdown(at)


def test_coverage_panel_matches_the_pure_function(harness):
    at = harness
    at.toggle(key="bench_cov").set_value(True).run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    args, _ = _args(at)
    cats = args["color"]["cats"]
    values = np.array([cats[k] for k in args["color"]["codes"]])
    order = args["layers"][0]["positions"]
    want = compare_coverage(values, {"A: nested": order}, 20)
    assert shown["stratum"].tolist() == want["stratum"].tolist()
    assert shown["A: nested picks"].tolist() == want["A: nested picks"].tolist()
    assert shown["A: nested first rank"].astype("Int64").tolist() == want["A: nested first rank"].tolist()
    hit = int((want["A: nested picks"] > 0).sum())
    assert at.metric[0].value == f"{hit} of {len(want)}"


def test_plotly_js_served_from_the_installed_package(tmp_path, monkeypatch):
    import plotly

    src = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
    emap._copy_plotly(tmp_path)
    assert (tmp_path / "plotly.min.js").read_bytes() == src.read_bytes()
    html = (emap.FRONTEND / "index.html").read_text()
    assert 'src="plotly.min.js"' in html and 'src="explore_map.js"' in html

    # a read-only package folder: the component is served from a copy in the temp directory
    real = emap._copy_plotly

    def refuse_package(folder):
        if Path(folder) == emap.FRONTEND:
            raise PermissionError("read-only")
        real(folder)

    monkeypatch.setattr(emap, "_copy_plotly", refuse_package)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    emap._component.cache_clear()
    try:
        comp = emap._component()
        served = Path(comp.path)
        assert served.parent == tmp_path
        assert {p.name for p in served.iterdir()} >= {"index.html", "explore_map.js", "plotly.min.js"}
    finally:
        emap._component.cache_clear()


def test_pick_layer_nested_and_fallback():
    from coldstart.errors import ColdstartError
    from coldstart.select import select

    X = np.random.default_rng(0).normal(size=(80, 4)).astype(np.float32)
    calls = []

    def compute(b):
        calls.append(b)
        return select("kmeans", X, b, seed=0)

    layer, picks = emap.pick_layer("A: kmeans", compute, 7, 30, hover=lambda s: [f"h{i}" for i in s.indices])
    assert calls == [30] and layer.nested and len(layer.positions) == 30 and len(layer.hover) == 30
    assert list(picks.indices) == list(layer.positions[:7])

    def capped(b):  # cannot pick more than 10 (like a selector that excludes outliers)
        if b > 10:
            raise ColdstartError(f"budget={b} is larger than the 10 usable images")
        return select("random", X, b, seed=1)

    layer, picks = emap.pick_layer("B: capped", capped, 6, 30, style=1)
    assert not layer.nested and layer.budget == 6 and len(layer.positions) == 6
    assert list(picks.indices) == list(layer.positions)
    with pytest.raises(ColdstartError, match="budget=12"):
        emap.pick_layer("B: capped", capped, 12, 30)
