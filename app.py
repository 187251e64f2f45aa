"""coldstart dashboard entry point: ``streamlit run app.py`` (or ``make app``).

It only lists the pages (``coldstart.ui.navigation.PAGES``: Home, Explore, Train, Compare,
Label, Classroom) and runs the one the user chose; each page lives in ``pages/``.
"""

from coldstart.ui.navigation import navigation

navigation().run()
