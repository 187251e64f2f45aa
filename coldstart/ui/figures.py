"""Plotly figure builders for the Explore page: pure functions of arrays -> ``go.Figure`` (no Streamlit,
unit-testable), and the colours every chart and the Explore map component share.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

# Okabe-Ito: distinguishable for colour-blind readers, calm on a white background.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999"]
NAMED = {"unlabeled": "#BBBBBB", "unknown": "#BBBBBB", "no": "#9DB4CF", "yes": "#D55E00",
         "train": "#0072B2", "val": "#E69F00", "test": "#009E73"}
PICK_STYLES = [  # method A, method B
    {"color": "#D62728", "symbol": "circle", "name_suffix": ""},
    {"color": "#6A3D9A", "symbol": "diamond", "name_suffix": ""},
]


def balance_figure(class_names: Sequence[str], counts: dict[str, Sequence[int]],
                   reference: Sequence[int] | None = None, title: str = "Class balance of the picks",
                   height: int = 300) -> go.Figure:
    """Grouped bars: share of each class among each method's picks (and in the pool, for reference).

    Parameters
    ----------
    class_names : sequence of str
    counts : dict name -> counts per class (same order as ``class_names``)
    reference : counts per class in the whole pool, drawn as grey bars
    """
    fig = go.Figure()
    series = ([("pool", reference, "#BBBBBB")] if reference is not None else []) + \
        [(name, c, PICK_STYLES[k % len(PICK_STYLES)]["color"]) for k, (name, c) in enumerate(counts.items())]
    for name, c, col in series:
        c = np.asarray(c, dtype=float)
        tot = c.sum()
        share = c / tot * 100 if tot else np.zeros_like(c)
        fig.add_trace(go.Bar(x=list(class_names), y=share, name=name, marker_color=col,
                             text=[f"{int(v)}" for v in c], textposition="outside",
                             hovertemplate="%{x}: %{y:.0f}% (%{text} images)<extra>" + name + "</extra>"))
    fig.update_layout(barmode="group", title=dict(text=title, x=0, font=dict(size=14)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(title="% of images", rangemode="tozero"),
                      plot_bgcolor="white", legend=dict(orientation="h", y=-0.2))
    return fig
