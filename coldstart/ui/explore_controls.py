"""Explore's control widgets: embedder and selector pickers, a selector's declared parameters, and
the keyed reruns that make each control redraw only the parts of the page that depend on it.

The page is split into fragments (Streamlit >= 1.5x ``@st.fragment(key=...)``); a control's
``on_change`` calls :func:`rerun`, which reruns exactly the named parts (``st.rerun([...])`` from a
callback) instead of the whole page. Parts read the controls' current values from
``st.session_state`` (never from arguments captured at the last full run), so any subset can rerun.

Two rules keep that true whatever order the parts run in (Streamlit folds the keyed reruns that
reach it together into one queue, in arrival order, so a part can run before the controls in the
same rerun):

- a part reads a select box's value with :func:`current`, which gives the option the box opens on
  before the box was ever drawn (method B's selector right after the toggle);
- a callback of a control that is no longer shown does nothing (``rerun(..., when=...)``): Streamlit
  replays the ``on_change`` of a widget removed by a fragment run when a request sent before the
  browser dropped it (a ``run_every`` tick) still carries its value.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Callable, Mapping, Sequence

import streamlit as st

from ..embed.registry import QUICK
from ..select.base import Param

#: the page's parts, in page order (fragment keys)
MAP_CONTROLS, CONTROLS_A, CONTROLS_B = "ex_ctl_map", "ex_ctl_a", "ex_ctl_b"
MAP, DIAGNOSTICS, COVERAGE, FIND, LASSO, GALLERIES = "ex_map", "ex_diag", "ex_cov", "ex_find", "ex_lasso", "ex_gal"
#: what each kind of change redraws
PICK_PARTS = (MAP, DIAGNOSTICS, COVERAGE, LASSO, GALLERIES)  # the picks changed (method, seed, budget)


#: set to 1 to log each part's run time on the server's stderr (``benchmarks/explore_render.py`` does)
TIMING_ENV = "COLDSTART_EXPLORE_TIMING"


def part(key: str):
    """``@st.fragment(key=key)``, and with ``$COLDSTART_EXPLORE_TIMING=1`` a line
    ``explore-part <key> <ms> <unix time at its end>`` on stderr each time the part runs (the
    benchmark sums them, and waits for the last)."""
    def wrap(fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if os.environ.get(TIMING_ENV) != "1":
                return fn(*args, **kwargs)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                print(f"explore-part {key} {(time.perf_counter() - t) * 1000:.1f} {time.time():.3f}", file=sys.stderr,
                      flush=True)
        return st.fragment(timed, key=key)
    return wrap


def rerun(*parts: str, when: Callable[[], bool] | None = None) -> Callable[[], None]:
    """An ``on_change`` callback that reruns only ``parts`` (fragment keys); no parts: the whole page.
    With ``when``, only while ``when()`` is true (the control is shown): a stale replay does nothing."""
    def callback() -> None:
        if when is not None and not when():
            return
        st.rerun(list(parts)) if parts else st.rerun()
    return callback


#: the selector each method opens on, before its box is touched
OPENS_ON = {"a": "kmeans", "b": "random"}


def shown(tag: str) -> bool:
    """Whether method ``tag``'s controls are on the page (A always; B while the toggle is on)."""
    return tag == "a" or bool(st.session_state.get("explore_compare"))


def chosen(tag: str, selectors: Mapping, embedders: Sequence[str], default_emb: str) -> tuple[str, str | None] | None:
    """``(selector, embedder)`` method ``tag`` picks with now (embedder None when the selector needs
    no features), from the controls' state or what they open on; None while B is off."""
    if not shown(tag):
        return None
    sel = current(f"explore_sel_{tag}", list(selectors), OPENS_ON[tag])
    return sel, current(f"explore_emb_{tag}", list(embedders), default_emb) if selectors[sel].needs_features else None


def current(key: str, options: Sequence[str], default: str) -> str:
    """The value select box ``key`` shows: its state, or, before it was drawn, the option it opens
    on (``default`` when offered, else the first)."""
    v = st.session_state.get(key)
    if v in options:
        return v
    return default if default in options else next(iter(options))


def number_bounds(p: Param) -> tuple[float | None, float | None]:
    """``(min_value, max_value)`` for a number widget of ``p``, from the Param's own bounds.

    Closed bounds are used as they are; an open integer bound moves one step inwards (``low=0,
    low_open`` -> ``min_value=1``); an open float bound is left to the selector's check (which names
    the parameter), since a widget cannot exclude an endpoint.

    >>> number_bounds(Param("k", int, 5, "", low=0, low_open=True, high=10))
    (1, 10)
    >>> number_bounds(Param("q", float, 0.5, "", low=0.0, high=1.0, high_open=True))
    (0.0, None)
    """
    def bound(v, is_open: bool, step: int):
        if v is None or (is_open and p.type is not int):
            return None
        return p.type(v) + (step if is_open else 0)
    return bound(p.low, p.low_open, 1), bound(p.high, p.high_open, -1)


def widget_params(spec) -> list[Param]:
    """The declared parameters a page offers widgets for (those with a default)."""
    return [p for p in spec.params or () if p.default is not None]


def param_key(prefix: str, selector: str, name: str) -> str:
    return f"{prefix}_{selector}_{name}"


def params_from_state(spec, prefix: str) -> dict:
    """The parameters set in the widgets (session state) that differ from their defaults."""
    out = {}
    for p in widget_params(spec):
        v = st.session_state.get(param_key(prefix, spec.name, p.name), p.default)
        if v != p.default:
            out[p.name] = v
    return out


def selector_params(spec, prefix: str, on_change: Callable | None = None) -> dict:
    """Widgets for a selector's declared parameters (name, type, default, bounds and help come from
    its :class:`Param` rows); returns the values that differ from the defaults."""
    specs = widget_params(spec)
    if not specs:
        return {}
    with st.expander("Parameters"):
        for p in specs:
            k = param_key(prefix, spec.name, p.name)
            kw = dict(key=k, help=p.help, on_change=on_change)
            if p.type is bool:
                st.checkbox(p.name, value=p.default, **kw)
            elif p.type is str:
                opts = list(p.choices or (p.default,))
                st.selectbox(p.name, opts, index=opts.index(p.default), **kw)
            else:
                lo, hi = number_bounds(p)
                if p.type is int:
                    st.number_input(p.name, value=p.default, min_value=lo, max_value=hi, step=1, **kw)
                else:
                    st.number_input(p.name, value=float(p.default), min_value=lo, max_value=hi,
                                    format="%.4g", **kw)
    return params_from_state(spec, prefix)


def selector_box(label: str, key: str, selectors: Mapping, default: str, on_change=None) -> str:
    """A selector picker with its one-line "when to use it"."""
    if st.session_state.get(key) not in selectors:
        st.session_state[key] = current(key, list(selectors), default)
    name = st.selectbox(label, list(selectors), key=key, on_change=on_change,
                        help="The rule that chooses which images to label.")
    st.caption(f"**When to use it:** {selectors[name].summary}")
    return name


def embedder_box(label: str, key: str, rows: Mapping[str, dict], default: str, disabled: bool = False,
                 on_change=None, offer_download: Callable[[str], None] | None = None) -> str | None:
    """An embedder picker; unavailable ones stay listed, and choosing one shows the reason (and the
    weights download, through ``offer_download(name)``). Returns the name, or None if unusable."""
    names: Sequence[str] = list(rows)
    if st.session_state.get(key) not in names:
        st.session_state[key] = current(key, names, default)
    name = st.selectbox(label, names, key=key, disabled=disabled, on_change=on_change,
                        format_func=lambda n: n if rows[n]["available"] else f"{n} (not available)",
                        help="How images are turned into vectors: similar vectors = similar images.")
    if disabled:
        return None
    row = rows[name]
    if not row["available"]:
        st.warning(f"**{name}** is not available: {row['reason']}", icon=":material/block:")
        if offer_download is not None:
            offer_download(name)
        return None
    st.caption(str(row["summary"]))
    return name


def ensure_features(ds, name: str | None) -> bool:
    """True when ``name``'s embeddings are cached; computes the quick weight-free ones at
    once and offers a button for the others (a computation reruns the page)."""
    from . import common as ui
    from . import loaders

    if name is None or loaders.cached_features(ds, name) is not None:
        return name is not None
    if name in QUICK or st.button(f"Compute {name} embeddings for {len(ds):,} images",
                                  key=f"explore_embed_{name}", icon=":material/play_arrow:"):
        with ui.guarded(f"embedding with {name}"):
            loaders.compute_features(ds, name)
            st.rerun()
    st.info(f"{name} embeddings are not computed yet for this dataset "
            f"(or run `coldstart embed {ds.name} --embedder {name}`).")
    return False
