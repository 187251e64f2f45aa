"""Explore's controls keep the page right whatever order its parts rerun in.

Streamlit folds keyed reruns that reach it together into one queue in arrival order, so the map can
run before method B's controls in the same rerun (the flaky "B: random (30)" never appeared in CI);
and it replays the ``on_change`` of a widget a fragment run removed (another selector's parameters)
when a request sent before the browser dropped it still carries its value.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from coldstart.select import selector_specs
from coldstart.ui import explore_controls as ctl


@pytest.fixture
def fake_st(monkeypatch):
    """``st`` for the controls module: a plain dict as session state, reruns recorded."""
    reruns: list = []
    fake = SimpleNamespace(session_state={}, rerun=lambda parts=None: reruns.append(parts), reruns=reruns)
    monkeypatch.setattr(ctl, "st", fake)
    return fake


def test_method_b_opens_on_random_before_its_controls_ran(fake_st):
    """Right after the toggle (B's select boxes not drawn yet), B is what its boxes will open on."""
    sels = selector_specs("cold-start")
    assert ctl.chosen("b", sels, ["pixels", "gist"], "gist") is None  # toggle off
    fake_st.session_state["explore_compare"] = True
    assert ctl.chosen("b", sels, ["pixels", "gist"], "gist") == ("random", None)  # no features needed
    fake_st.session_state["explore_sel_b"] = "kmeans"
    assert ctl.chosen("b", sels, ["pixels", "gist"], "gist") == ("kmeans", "gist")
    fake_st.session_state["explore_emb_b"] = "pixels"
    assert ctl.chosen("b", sels, ["pixels", "gist"], "gist") == ("kmeans", "pixels")
    fake_st.session_state["explore_sel_a"] = "no-such-selector"  # a stale value: the default again
    assert ctl.chosen("a", sels, ["pixels"], "gist") == (ctl.OPENS_ON["a"], "pixels")


def test_current_is_what_the_box_shows():
    assert ctl.current("k", ["x", "y"], "y") == "y"
    assert ctl.current("k", ["x", "y"], "z") == "x"  # a default not offered: the first option


def test_a_replayed_change_of_a_control_no_longer_shown_reruns_nothing(fake_st):
    parts = (ctl.CONTROLS_B, *ctl.PICK_PARTS)
    ctl.rerun(*parts, when=lambda: ctl.shown("b"))()  # B's box after the toggle went off
    assert fake_st.reruns == []
    fake_st.session_state["explore_compare"] = True
    ctl.rerun(*parts, when=lambda: ctl.shown("b"))()
    ctl.rerun()()  # no parts: the whole page
    assert fake_st.reruns == [list(parts), None]
