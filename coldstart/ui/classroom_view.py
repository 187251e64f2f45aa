"""Pieces of the Classroom page that are not Streamlit calls: the class's figures and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .label_view import PALETTE, guess_line, light_figure


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def group_curve_figure(curves: pd.DataFrame, prevalence: float | None = None, height: int = 380):
    """The class's test AP per method group: the mean across the group's students as a line, a band of
    one standard error either side (from :func:`coldstart.classroom.report.group_curves`)."""
    data = []
    for k, (method, c) in enumerate(curves.groupby("method", sort=True)):
        c = c.sort_values("n_labels")
        color = PALETTE[k % len(PALETTE)]
        x, lo, hi = c["n_labels"].to_numpy(), (c["mean"] - c["se"]).to_numpy(), (c["mean"] + c["se"]).to_numpy()
        data.append(dict(type="scatter", x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                         fill="toself", fillcolor=_rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
                         showlegend=False, name=f"{method} ± SE"))
        n = c["students"].to_numpy()
        data.append(dict(type="scatter", x=x, y=c["mean"].to_numpy(float), mode="lines+markers",
                         name=f"{method} (mean ± SE)", line=dict(color=color, width=3),
                         customdata=np.stack([c["se"].to_numpy(float), n], axis=1),
                         hovertemplate="%{x} labels: AP %{y:.3f} ± %{customdata[0]:.3f} "
                                       "(%{customdata[1]} students)<extra>" + str(method) + "</extra>"))
    return light_figure(data, dict(
        height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title=dict(text="number of labelled images"), rangemode="tozero"),
        yaxis=dict(title=dict(text="test AP (mean of the group)"), range=[0, 1.02]), **guess_line(prevalence)))


def strata_figure(strata: pd.DataFrame, column: str, height: int | None = None):
    """Share of each stratum among each method group's labels, beside the pool's share."""
    if strata.empty:
        return light_figure([], {})
    pool = strata.drop_duplicates("stratum")
    data = [dict(type="bar", name="pool", y=pool["stratum"].tolist(), x=pool["pool_share"].to_numpy(float),
                 orientation="h", marker=dict(color="#BBBBBB"))]
    for k, (method, g) in enumerate(strata.groupby("method", sort=True)):
        data.append(dict(type="bar", name=str(method), y=g["stratum"].tolist(), x=g["share"].to_numpy(float),
                         orientation="h", marker=dict(color=PALETTE[k % len(PALETTE)]),
                         customdata=g[["students_hit", "students"]].to_numpy(),
                         hovertemplate="%{x:.0%} of the labels; %{customdata[0]} of %{customdata[1]} students"
                                       "<extra>" + str(method) + "</extra>"))
    n = pool["stratum"].nunique() * (1 + strata["method"].nunique())
    return light_figure(data, dict(
        barmode="group", height=height or 140 + 14 * n, margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title=dict(text=f"share of labels by {column}"), tickformat=".0%"),
        yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.08)))


def progress_table(progress: pd.DataFrame) -> pd.DataFrame:
    """The teacher's per-student table with readable column names."""
    t = pd.to_datetime(progress["last_label"], errors="coerce", utc=True)
    out = progress.assign(last_label=t.dt.strftime("%H:%M:%S").fillna(""))  # the day is today's
    return out.rename(columns={"ap_now": "test AP now", "agreement": "agrees with truth",
                               "last_label": "last label (UTC)"})
