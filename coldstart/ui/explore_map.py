"""The Explore map as one Streamlit custom component that updates in place, and the stratum
coverage panel beside it.

Why a component: ``st.plotly_chart`` derives its element id from the figure, so every budget change
unmounted the chart and rebuilt its WebGL contexts (~0.7 s at 20,000 points). This component
(a static folder, ``explore_map_frontend/``, loaded with ``declare_component(path=...)``; no npm
build) keeps one iframe for the page's life:

- the pool is one ``scattergl`` trace with image ids in ``customdata``, redrawn only when the map,
  the pool or the colouring changes; its data is sent only until the frame reports (in its value)
  that it has drawn those keys, so a budget rerun carries a few kB, not the pool, and a colour
  change carries the colours alone;
- each method's picks are an SVG overlay of numbered markers with their own hover. Selections are
  nested, so the page sends each method's full order once and the slider *inside* the component
  shows any budget as a prefix, in the browser;
- after 150 ms without slider movement the budget comes back to Python with a sequence number
  (``ack`` in the next render), so the diagnostics, gallery and coverage panels follow; a render
  older than the slider's last move does not move it back;
- a selector that is not nested gets its picks for the current budget from the server
  (``MapLayer(nested=False, budget=b)``), still without a remount;
- lasso and box selections come back as image ids (:attr:`MapState.selected_ids`).

``plotly.min.js`` is copied from the installed plotly package into the folder at first use (never
committed); where the package folder is read-only the component is served from a copy in the
temp directory.

Usage (a page)::

    budget = emap.current_budget("explore_map", default=20, max_budget=200)
    state = emap.explore_map(xy, ids, color=emap.categorical(values, "subgroup"),
                             layers=[emap.MapLayer("A: kmeans", order, hover)],
                             budget=budget, max_budget=200, key="explore_map")
    emap.coverage_panel(values, {"A: kmeans": order}, state.budget, "subgroup")
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ..explore import nested_picks
from ..select.strata import compare_coverage, coverage_summary
from . import figures

FRONTEND = Path(__file__).with_name("explore_map_frontend")
PICK_COLORS = [s["color"] for s in figures.PICK_STYLES]
PICK_SYMBOLS = [s["symbol"] for s in figures.PICK_STYLES]


# ------------------------------------------------------------------ colours
def distinct_colors(n: int) -> list[str]:
    """``n`` distinct colours: Okabe-Ito up to 9, then two 24/26-colour qualitative sets (Plotly's
    Dark24 and Alphabet, 50 in all), then evenly spread hues (golden angle) in three lightnesses."""
    import plotly.express as px

    if n <= len(figures.PALETTE):
        return list(figures.PALETTE[:n])
    def far_from_picks(c: str) -> bool:  # the pick markers' red and purple stay unambiguous
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])
        return all(np.abs(rgb - np.array([int(p[i:i + 2], 16) for i in (1, 3, 5)])).sum() > 90
                   for p in PICK_COLORS)

    base = [c for c in dict.fromkeys(c.upper() for c in px.colors.qualitative.Dark24 + px.colors.qualitative.Alphabet)
            if far_from_picks(c)]
    out = base[:n]
    k = 0
    while len(out) < n:
        h = (k * 0.618033988749895) % 1.0
        r, g, b = colorsys.hls_to_rgb(h, (0.35, 0.55, 0.45)[k % 3], 0.75)
        c = "#{:02X}{:02X}{:02X}".format(round(r * 255), round(g * 255), round(b * 255))
        if c not in out and far_from_picks(c):
            out.append(c)
        k += 1
    return out


def categorical(values: Sequence, title: str, order: Sequence[str] | None = None) -> dict:
    """Colour payload for a categorical column: codes per point, categories, one distinct colour
    each (fixed colours for unlabelled/yes/no/splits, as on the other charts)."""
    cats_all = pd.Series(np.asarray(values, dtype=object)).fillna("(missing)").astype(str)
    counts = cats_all.value_counts()
    cats = [str(c) for c in order if str(c) in counts.index] if order is not None else \
        sorted(counts.index, key=lambda c: (c.lower() in ("unlabeled", "unknown", "none", "(missing)"), c))
    named = [c for c in cats if c.lower() in figures.NAMED]
    free = iter(distinct_colors(len(cats) - len(named)))
    colors = [figures.NAMED[c.lower()] if c.lower() in figures.NAMED else next(free) for c in cats]
    codes = pd.Categorical(cats_all, categories=cats).codes
    return {"kind": "categorical", "title": title, "cats": cats, "colors": colors,
            "counts": [int(counts[c]) for c in cats], "codes": codes.astype(int).tolist()}


def continuous(values: Sequence[float], title: str) -> dict:
    """Colour payload for a score per point (NaN shown as missing)."""
    v = np.asarray(values, dtype=np.float64)
    return {"kind": "continuous", "title": title,
            "values": [None if not np.isfinite(x) else round(float(x), 6) for x in v]}


def _info(info: Mapping[str, Sequence] | None) -> dict:
    out = {}
    for name, vals in (info or {}).items():
        codes, cats = pd.factorize(pd.Series(np.asarray(vals, dtype=object)).astype(str))
        out[name] = {"cats": [str(c) for c in cats], "codes": codes.tolist()}
    return out


# ------------------------------------------------------------------ component
@dataclass
class MapLayer:
    """One method's picks.

    ``positions`` are pool positions in pick order. A nested method sends its full order (the
    largest budget) and the browser shows the first ``budget``; a method that is not nested sends
    its picks for the server's current ``budget`` and sets ``nested=False``.
    """

    name: str
    positions: Sequence[int]
    hover: Sequence[str] = ()
    style: int = 0
    nested: bool = True
    budget: int | None = None


@dataclass
class MapState:
    """What the component reports: the budget (after the quiet period) and the lasso/box
    selection (``None`` until the user selects; ``[]`` after a deselect)."""

    budget: int
    selected_ids: list[str] | None = field(default=None)


def pick_layer(name: str, compute: Callable[[int], object], budget: int, max_budget: int,
               hover: Callable[[object], Sequence[str]] | None = None, style: int = 0):
    """A method's map layer and its picks at ``budget``.

    ``compute(b) -> Selection`` (cached by the caller). Selections are nested, so the largest
    budget is picked once and the layer carries that whole order: the browser shows any budget as a
    prefix. When the largest budget cannot be picked (:func:`coldstart.explore.nested_picks`: e.g. a
    selector that excludes outliers leaves fewer images), the layer holds the picks for ``budget``
    only and is marked not nested, so the server drives it. Errors at ``budget`` itself propagate.

    Returns
    -------
    (MapLayer, Selection) : the layer, and the picks at ``budget`` (a prefix when nested).
    """
    full: dict = {}

    def remember(b: int):
        sel = compute(b)
        if b == int(max_budget):
            full["sel"] = sel
        return sel

    picks = nested_picks(remember, int(budget), int(max_budget))  # the one fallback policy
    nested = "sel" in full
    order = full["sel"] if nested else picks
    layer = MapLayer(name, np.asarray(order.indices, dtype=np.int64), list(hover(order)) if hover else [],
                     style=style, nested=nested, budget=None if nested else len(picks))
    return layer, picks


def _copy_plotly(folder: Path) -> None:
    import plotly

    src = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
    dst = folder / "plotly.min.js"
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".plotly-", suffix=".tmp")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dst)  # atomic: a concurrent page never reads half a file


@functools.lru_cache(maxsize=1)
def _component():
    """Declare the component once per process, with plotly.min.js in place."""
    import streamlit.components.v1 as components

    folder = FRONTEND
    try:
        _copy_plotly(folder)
    except OSError:  # read-only install: serve a copy from the temp directory
        import plotly

        folder = Path(tempfile.gettempdir()) / f"coldstart-explore-map-{plotly.__version__}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in FRONTEND.iterdir():
            if f.is_file() and f.suffix in (".html", ".js") and f.name != "plotly.min.js":
                shutil.copyfile(f, folder / f.name)
        _copy_plotly(folder)
    return components.declare_component("explore_map", path=str(folder))


def _value(key: str) -> dict:
    v = st.session_state.get(key)
    return v if isinstance(v, dict) else {}


def current_budget(key: str, default: int, max_budget: int) -> int:
    """The budget the map's slider last reported (read before the map is drawn in this run),
    clamped to ``1..max_budget``; ``default`` before the first report. A report with an older
    sequence number than one already acknowledged is stale and ignored."""
    v, srv = _value(key), st.session_state.get(f"_{key}_server", {})
    if "budget" in v and int(v.get("seq", 0)) >= int(srv.get("ack", 0)):
        b = v["budget"]
    else:
        b = srv.get("budget", default)
    return int(max(1, min(int(max_budget), int(b))))


def current_selection(key: str) -> list[str] | None:
    """The image ids of the map's last lasso/box selection (None before any, [] after a deselect)."""
    sel = _value(key).get("selected")
    return None if sel is None else [str(s) for s in sel]


def explore_map(xy: np.ndarray, ids: Sequence[str], *, budget: int, max_budget: int,
                color: dict | None = None, info: Mapping[str, Sequence] | None = None,
                layers: Sequence[MapLayer] = (), title: str = "", axis_name: str = "",
                highlight_ids: Sequence[str] = (), key: str = "explore_map", height: int = 600,
                label_limit: int = 60, budget_label: str = "Budget: how many images to label first",
                on_change: Callable[[], None] | None = None) -> MapState:
    """Draw (or update in place) the Explore map; return the budget and the lasso selection.

    Parameters
    ----------
    xy : float array (n, 2)
        Map coordinates of the pool, sent as float32 bytes.
    ids : sequence of str (n,)
        Image ids (the pool trace's customdata; selections come back as these).
    budget, max_budget : int
        The server's budget (use :func:`current_budget`) and the slider's maximum.
    color : dict, optional
        :func:`categorical` or :func:`continuous` payload.
    info : dict name -> values (n,), optional
        Extra hover fields of the pool points.
    layers : list of MapLayer
        One or two methods' picks.
    highlight_ids : sequence of str
        Images to ring (an image found on the map).
    on_change : callable, optional
        Called when the map reports a new budget or selection (a page reruns the parts that
        depend on them, e.g. with ``st.rerun([...])``).
    """
    xy = np.ascontiguousarray(xy, dtype=np.float32)
    ids = [str(i) for i in ids]
    if xy.ndim != 2 or xy.shape[1] != 2 or len(ids) != len(xy):
        raise ValueError(f"xy must have shape (n, 2) with one id per row; got {xy.shape} and {len(ids)} ids")
    raw = xy.tobytes()
    joined = "\n".join(ids)
    info_payload = _info(info)
    pool_key = hashlib.blake2b(raw + joined.encode() + json.dumps(info_payload).encode(),
                               digest_size=12).hexdigest()
    color = color or {"kind": "none", "title": ""}
    color_key = hashlib.blake2b(json.dumps(color).encode(), digest_size=12).hexdigest()
    n = len(ids)
    payload_layers = []
    for lay in layers:
        pos = [int(p) for p in lay.positions]
        payload_layers.append({
            "name": lay.name, "positions": pos, "hover": [str(h) for h in lay.hover],
            "nested": bool(lay.nested), "budget": None if lay.nested else int(lay.budget or len(pos)),
            "color": PICK_COLORS[lay.style % len(PICK_COLORS)],
            "symbol": PICK_SYMBOLS[lay.style % len(PICK_SYMBOLS)],
            "key": hashlib.blake2b(json.dumps(pos).encode(), digest_size=8).hexdigest()})
    prev = _value(key)
    # the pool's data (and, apart from it, its colouring) travel only until the frame reports it
    # has drawn these keys: a colour change sends the colours, not the coordinates, ids and hover
    has_data = prev.get("pool_key") != pool_key
    has_color = has_data or prev.get("color_key") != color_key
    ack = max(int(prev.get("seq", 0)), int(st.session_state.get(f"_{key}_server", {}).get("ack", 0)))
    st.session_state[f"_{key}_server"] = {"ack": ack, "budget": int(budget)}
    value = _component()(
        xy=raw if has_data else b"", ids=joined if has_data else "", info=info_payload if has_data else {},
        color=color if has_color else {}, has_data=has_data, has_color=has_color, pool_key=pool_key,
        color_key=color_key,
        layers=payload_layers, budget=int(budget), max_budget=int(max_budget), ack=ack,
        sel_ack=int(prev.get("sel_seq", 0)), title=title, axis_name=axis_name,
        highlight=[str(h) for h in highlight_ids], height=int(height), label_limit=int(label_limit),
        point_size=7 if n <= 2000 else 5 if n <= 10000 else 3, budget_label=budget_label,
        key=key, default=None, on_change=on_change)
    sel = value.get("selected") if isinstance(value, dict) else None
    return MapState(budget=current_budget(key, budget, max_budget),
                    selected_ids=None if sel is None else [str(s) for s in sel])


# ------------------------------------------------------------------ stratum coverage panel
def coverage_panel(strata: Sequence, orders: Mapping[str, Sequence[int]], budget: int, column: str,
                   key: str = "coverage", show_table: bool = True) -> pd.DataFrame:
    """Stratum coverage of one or two methods at ``budget``, side by side: strata hit, the rank at
    which each stratum first appears, and each stratum's share among the picks against the pool.
    ``orders`` are pool positions in pick order (a nested method's full order is fine: only the
    first ``budget`` count for hits and shares; a third order gets a third colour). ``show_table``: show the
    numbers under the chart too. Returns the table."""
    import plotly.graph_objects as go

    table = compare_coverage(strata, orders, budget)
    cols = st.columns(max(1, len(orders)))
    for col, (name, order) in zip(cols, orders.items()):
        t = table.rename(columns={f"{name} picks": "picks", f"{name} share": "pick_share",
                                  f"{name} first rank": "first_rank"})
        s = coverage_summary(t.assign(hit=t["picks"] > 0))
        col.metric(f"{name}: strata hit", f"{s['strata_hit']} of {s['n_strata']}",
                   help=f"Values of `{column}` with at least one of the first {budget} picks.")
        if s["missed"]:
            col.caption("Not yet picked: " + ", ".join(s["missed"][:8]) + (" …" if len(s["missed"]) > 8 else ""))
    colors = [*PICK_COLORS, "#2CA02C", "#FF7F0E"]
    fig = go.Figure()
    fig.add_bar(name="pool", y=table["stratum"], x=table["pool_share"], orientation="h", marker_color="#BBBBBB")
    for k, name in enumerate(orders):
        fig.add_bar(name=name, y=table["stratum"], x=table[f"{name} share"], orientation="h",
                    marker_color=colors[k % len(colors)])
    fig.update_layout(barmode="group", height=150 + 28 * len(table) * (1 + len(orders)) // 2,
                      margin=dict(l=10, r=10, t=30, b=10), xaxis=dict(title="share", tickformat=".0%"),
                      yaxis=dict(autorange="reversed"),  # the legend under the axis: above, it hid the title
                      legend=dict(orientation="h", yanchor="top", y=-0.16, xanchor="left", x=0),
                      title=dict(text=f"Share of each <b>{column}</b> stratum: pool vs first {budget} picks",
                                 font=dict(size=13)))
    st.plotly_chart(fig, key=f"{key}_chart", width="stretch", config={"displaylogo": False})
    if not show_table:
        return table
    shown = table.copy()
    fmt = {c: st.column_config.NumberColumn(c, format="percent") for c in shown.columns if c.endswith("share")}
    st.dataframe(shown, hide_index=True, width="stretch", column_config=fmt, key=f"{key}_table")
    return table
