"""Streamlit helpers shared by every page (only imported by ``app.py`` and ``pages/``).

:mod:`coldstart.ui.common` holds page setup, the dataset sidebar, thumbnails and error
display; :mod:`coldstart.ui.loaders` the cached loaders (embeddings, maps, selections);
:mod:`coldstart.ui.importing` the home page's import form; :mod:`coldstart.ui.weights_view`
the Download buttons for model weights and the default-embedder note. The CLI imports only
:mod:`coldstart.ui.commands` (``coldstart app``, which starts the dashboard; no Streamlit import).
"""
