"""The dashboard's pages, in sidebar order: one table that ``app.py`` hands to ``st.navigation``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The browser tab's icon. An emoji, which Streamlit draws as an inline ``data:`` SVG: a ``:material/...:``
#: favicon is fetched from fonts.gstatic.com, which fails offline (a request leaving the machine).
FAVICON = "🩻"

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

    st.set_page_config(page_icon=FAVICON)  # before the pages: their material icons would be fetched as favicons
    pages = [st.Page(str(ROOT / script), title=title, icon=icon, default=(k == 0))
             for k, (script, title, icon) in enumerate(PAGES)]
    return st.navigation(pages)



def through_app() -> None:
    """Rerun a page that Streamlit started without ``app.py``, so its sidebar is :data:`PAGES`.

    While a ``pages/`` folder sits beside the main script, Streamlit (``PagesManager.uses_pages_directory``)
    runs a page opened by its own URL (``/Classroom``, the link students get) straight from ``pages/``,
    under its old automatic sidebar ("app", then the file names, no icons), until ``st.navigation`` has
    run once in the server process. Called first on every page (``common.page_config``): on a session's
    first run in that mode it switches the mode off and reruns, which goes through ``app.py`` to the same
    page, query parameters kept. Only the first run: a later rerun would drop the widget events it carries
    (``AppTest`` puts every run back in that mode).
    """
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    first = "_coldstart_page_seen" not in st.session_state
    st.session_state["_coldstart_page_seen"] = True
    if first and getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
