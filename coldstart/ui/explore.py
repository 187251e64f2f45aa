"""Streamlit glue for the Explore page: reading the map's selection events.

The pure computations the page shows (diagnostics, hover text, colours) are in :mod:`coldstart.explore`.
"""

from __future__ import annotations

from ..select.dataset import pool_indices  # noqa: F401  (old home; ui/common still imports it from here)


def selected_ids(event) -> list[str]:
    """Image ids from a ``st.plotly_chart(on_select=...)`` event (any trace: pool, picks, found)."""
    if not event:
        return []
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    out = []
    for p in points or []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is not None:
            out.append(str(cd))
    return out
