"""Streamlit helpers shared by every page (only imported by ``app.py`` and ``pages/``).

:mod:`coldstart.ui.common` holds the sidebar, cached loaders, thumbnails and
error display; :mod:`coldstart.ui.figures` builds Plotly figures from plain
arrays (testable without Streamlit); :mod:`coldstart.ui.images` draws mask
outlines on thumbnails (no Streamlit either).
"""
