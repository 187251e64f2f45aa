"""Pieces of the Label page that are not Streamlit calls: figures and tables (testable without a browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd

USER_COLOR = "#1f6feb"
RANDOM_COLOR = "#8c8c8c"
PALETTE = ["#1f6feb", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#bcbd22"]
RANDOM_NAME = "random sampling"


def curve_figure(curves: pd.DataFrame, prevalence: float | None = None, title: str = "",
                 height: int = 360):
    """Test AP vs number of labels: one line per session, random sampling dashed grey.

    Parameters
    ----------
    curves : DataFrame with ``session, n_labels, ap``
    prevalence : float, optional
        Share of positives in the test set: the AP of guessing, drawn as a dotted line.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    sessions = [s for s in dict.fromkeys(curves["session"]) if s != RANDOM_NAME] if len(curves) else []
    for k, name in enumerate(sessions):
        c = curves[curves["session"] == name]
        fig.add_trace(go.Scatter(x=c["n_labels"], y=c["ap"], mode="lines+markers", name=str(name),
                                 line=dict(color=PALETTE[k % len(PALETTE)], width=3),
                                 hovertemplate="%{x} labels: AP %{y:.3f}<extra>" + str(name) + "</extra>"))
    if len(curves) and (curves["session"] == RANDOM_NAME).any():
        c = curves[curves["session"] == RANDOM_NAME]
        fig.add_trace(go.Scatter(x=c["n_labels"], y=c["ap"], mode="lines", name="random picks (reference)",
                                 line=dict(color=RANDOM_COLOR, width=2, dash="dash"),
                                 hovertemplate="%{x} random labels: AP %{y:.3f}<extra>random</extra>"))
    if prevalence is not None and np.isfinite(prevalence):
        fig.add_hline(y=prevalence, line=dict(color="#bbbbbb", dash="dot"),
                      annotation_text=f"guessing ({prevalence:.2f})", annotation_position="bottom right")
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      xaxis_title="number of labelled images", yaxis_title="test AP (higher is better)",
                      yaxis=dict(range=[0, 1.02]), legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(tickmode="linear", tick0=0, rangemode="tozero",
                                 dtick=max(1, int(np.ceil((curves["n_labels"].max() if len(curves) else 1) / 10)))),
                      template="plotly_white")
    return fig


def reveal_table(reveal: pd.DataFrame) -> pd.DataFrame:
    """The reveal as a small readable table: #, image id, your label, truth, ✓/✗."""
    mark = reveal["match"].map(lambda m: "—" if pd.isna(m) else ("✓ agrees" if m else "✗ differs"))
    return pd.DataFrame({"#": reveal["step"], "image": reveal["id"], "your label": reveal["label_name"],
                         "ground truth": reveal["truth_name"], "check": mark,
                         "picked by": reveal["source"]})
