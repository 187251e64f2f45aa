"""The dashboard's pages, in sidebar order: one table that ``app.py`` hands to ``st.navigation``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: (script under the project root, sidebar title, icon); the first is the landing page.
PAGES = (
    ("pages/0_Home.py", "Home", ":material/home:"),
    ("pages/1_Explore.py", "Explore", ":material/scatter_plot:"),
    ("pages/2_Train.py", "Train", ":material/model_training:"),
    ("pages/3_Compare.py", "Compare", ":material/bar_chart:"),
    ("pages/4_Label.py", "Label", ":material/label:"),
    ("pages/5_Classroom.py", "Classroom", ":material/groups:"),
)


def navigation():
    """The ``st.navigation`` object for :data:`PAGES` (Home first and default)."""
    import streamlit as st

    from .common import FAVICON

    st.set_page_config(page_icon=FAVICON)  # before the pages: their material icons would be fetched as favicons
    pages = [st.Page(str(ROOT / script), title=title, icon=icon, default=(k == 0))
             for k, (script, title, icon) in enumerate(PAGES)]
    return st.navigation(pages)
