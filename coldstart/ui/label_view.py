"""Pieces of the Label page that are not Streamlit calls: figures and tables (testable without a browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd

USER_COLOR = "#1f6feb"
RANDOM_COLOR = "#8c8c8c"
PALETTE = ["#1f6feb", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#bcbd22"]
RANDOM_NAME = "random sampling"


def _template() -> dict:
    global _TEMPLATE
    if _TEMPLATE is None:
        import plotly.io as pio

        _TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
    return _TEMPLATE


_TEMPLATE = None


def light_figure(data: list[dict], layout: dict):
    """A plotly Figure from trace and layout dicts in the white template, without plotly's property checks.

    The Label and Classroom figures are redrawn after every label of every student; plotly's validation
    (and the template copy it makes) costs ~18 ms a figure, building from plain dicts ~1 ms.
    """
    import plotly.graph_objects as go

    return go.Figure(data=data, layout={"template": _template(), **layout}, _validate=False)


def guess_line(prevalence: float | None) -> dict:
    """Layout entries for the dotted 'guessing' line at the test prevalence (none when it is unknown)."""
    if prevalence is None or not np.isfinite(prevalence):
        return {}
    return {"shapes": [dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=prevalence, y1=prevalence,
                            line=dict(color="#bbbbbb", dash="dot"))],
            "annotations": [dict(text=f"guessing ({prevalence:.2f})", xref="x domain", x=1, xanchor="right",
                                 yref="y", y=prevalence, yanchor="top", showarrow=False)]}


def curve_figure(curves: pd.DataFrame, prevalence: float | None = None, title: str = "",
                 height: int = 360):
    """Test AP vs number of labels: one line per session, random sampling dashed grey.

    Parameters
    ----------
    curves : DataFrame with ``session, n_labels, ap``
    prevalence : float, optional
        Share of positives in the test set: the AP of guessing, drawn as a dotted line.
    """
    data = []
    sessions = [s for s in dict.fromkeys(curves["session"]) if s != RANDOM_NAME] if len(curves) else []
    for k, name in enumerate(sessions):
        c = curves[curves["session"] == name]
        data.append(dict(type="scatter", x=c["n_labels"].to_numpy(), y=c["ap"].to_numpy(float),
                         mode="lines+markers", name=str(name), line=dict(color=PALETTE[k % len(PALETTE)], width=3),
                         hovertemplate="%{x} labels: AP %{y:.3f}<extra>" + str(name) + "</extra>"))
    if len(curves) and (curves["session"] == RANDOM_NAME).any():
        c = curves[curves["session"] == RANDOM_NAME]
        data.append(dict(type="scatter", x=c["n_labels"].to_numpy(), y=c["ap"].to_numpy(float), mode="lines",
                         name="random picks (reference)", line=dict(color=RANDOM_COLOR, width=2, dash="dash"),
                         hovertemplate="%{x} random labels: AP %{y:.3f}<extra>random</extra>"))
    top = curves["n_labels"].max() if len(curves) else 1
    return light_figure(data, dict(
        title=dict(text=title) if title else None, height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10), yaxis=dict(title=dict(text="test AP (higher is better)"),
                                                                          range=[0, 1.02]),
        legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title=dict(text="number of labelled images"), tickmode="linear", tick0=0, rangemode="tozero",
                   dtick=max(1, int(np.ceil(top / 10)))),
        **guess_line(prevalence)))


def reveal_table(reveal: pd.DataFrame) -> pd.DataFrame:
    """The reveal as a small readable table: #, image id, your label, truth, ✓/✗."""
    mark = reveal["match"].map(lambda m: "—" if pd.isna(m) else ("✓ agrees" if m else "✗ differs"))
    return pd.DataFrame({"#": reveal["step"], "image": reveal["id"], "your label": reveal["label_name"],
                         "ground truth": reveal["truth_name"], "check": mark,
                         "picked by": reveal["source"]})
