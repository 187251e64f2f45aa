"""Pieces of the Classroom page that are not Streamlit calls: the class's figures and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .label_view import PALETTE


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def group_curve_figure(curves: pd.DataFrame, prevalence: float | None = None, height: int = 380):
    """The class's test AP per method group: the mean across the group's students as a line, a band of
    one standard error either side (from :func:`coldstart.classroom.report.group_curves`)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, (method, c) in enumerate(curves.groupby("method", sort=True)):
        c = c.sort_values("n_labels")
        color = PALETTE[k % len(PALETTE)]
        x, lo, hi = c["n_labels"].to_numpy(), (c["mean"] - c["se"]).to_numpy(), (c["mean"] + c["se"]).to_numpy()
        fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                                 fillcolor=_rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
                                 showlegend=False, name=f"{method} ± SE"))
        n = c["students"].to_numpy()
        fig.add_trace(go.Scatter(x=x, y=c["mean"], mode="lines+markers", name=f"{method} (mean ± SE)",
                                 line=dict(color=color, width=3), customdata=np.stack([c["se"], n], axis=1),
                                 hovertemplate="%{x} labels: AP %{y:.3f} ± %{customdata[0]:.3f} "
                                               "(%{customdata[1]} students)<extra>" + str(method) + "</extra>"))
    if prevalence is not None and np.isfinite(prevalence):
        fig.add_hline(y=prevalence, line=dict(color="#bbbbbb", dash="dot"),
                      annotation_text=f"guessing ({prevalence:.2f})", annotation_position="bottom right")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      xaxis_title="number of labelled images", yaxis_title="test AP (mean of the group)",
                      yaxis=dict(range=[0, 1.02]), legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(rangemode="tozero"))
    return fig


def strata_figure(strata: pd.DataFrame, column: str, height: int | None = None):
    """Share of each stratum among each method group's labels, beside the pool's share."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if strata.empty:
        return fig
    pool = strata.drop_duplicates("stratum")
    fig.add_bar(name="pool", y=pool["stratum"], x=pool["pool_share"], orientation="h", marker_color="#BBBBBB")
    for k, (method, g) in enumerate(strata.groupby("method", sort=True)):
        fig.add_bar(name=str(method), y=g["stratum"], x=g["share"], orientation="h",
                    marker_color=PALETTE[k % len(PALETTE)], customdata=g[["students_hit", "students"]],
                    hovertemplate="%{x:.0%} of the labels; %{customdata[0]} of %{customdata[1]} students"
                                  "<extra>" + str(method) + "</extra>")
    n = pool["stratum"].nunique() * (1 + strata["method"].nunique())
    fig.update_layout(barmode="group", height=height or 140 + 14 * n, template="plotly_white",
                      margin=dict(l=10, r=10, t=30, b=10), xaxis=dict(title=f"share of labels by {column}",
                                                                    tickformat=".0%"),
                      yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.08))
    return fig


def progress_table(progress: pd.DataFrame) -> pd.DataFrame:
    """The teacher's per-student table with readable column names."""
    return progress.rename(columns={"student": "student", "method": "method", "labels": "labels",
                                    "ap_now": "test AP now", "agreement": "agrees with truth",
                                    "last_label": "last label (UTC)"})
