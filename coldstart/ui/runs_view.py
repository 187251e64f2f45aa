"""Figures and small tables for the Train and Compare pages (Plotly, no Streamlit calls)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import metrics as M
RANDOM_COLOR = "#7f7f7f"
PALETTE = ["#1f6feb", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#bcbd22", "#8c564b"]


def metric_name(m: str) -> str:
    """The metric in words (:data:`coldstart.metrics.METRIC_LABELS`, one naming for report and pages)."""
    return M.metric_label(m)


def is_random(method: str) -> bool:
    return str(method).split(" [")[0].split(":")[-1] == "random"


def method_colors(methods) -> dict[str, str]:
    """Random is always grey; other methods get stable colours in the order given."""
    out, k = {}, 0
    for m in methods:
        if is_random(m):
            out[m] = RANDOM_COLOR
        else:
            out[m] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def _ordered(methods) -> list[str]:
    """Random first (drawn underneath), then the others in their order."""
    methods = list(dict.fromkeys(methods))
    return [m for m in methods if is_random(m)] + [m for m in methods if not is_random(m)]


def budget_figure(summary: pd.DataFrame, metric: str, title: str = "", height: int = 420,
                  reference: dict | None = None):
    """Metric vs labeled budget, mean ± SE error bars per method; random dashed grey (the reference).

    ``summary`` is :func:`coldstart.runs.summarize` output (cold-start rows are used); ``reference``
    ``{label: value}`` draws horizontal lines (chance, full-label ceiling).
    """
    import plotly.graph_objects as go

    s = summary[(summary["phase"] == "cold") & (summary["metric"] == metric)]
    fig = go.Figure()
    order = _ordered(s["method"])
    colors = method_colors(order)
    budgets = sorted(s["budget"].unique()) if len(s) else [0]
    step = min(np.diff(budgets)) if len(budgets) > 1 else max(budgets[0], 1)
    dodge = 0.06 * step / max(len(order) - 1, 1)  # spread the error bars of one budget apart
    for k, m in enumerate(order):
        g = s[s["method"] == m].sort_values("budget")
        rnd = is_random(m)
        fig.add_trace(go.Scatter(
            x=g["budget"] + (k - (len(order) - 1) / 2) * dodge, y=g["mean"], text=g["budget"].astype(str), name=f"{m} (reference)" if rnd else m, mode="lines+markers",
            error_y=dict(type="data", array=g["se"].fillna(0).to_numpy(float), visible=True, thickness=1.5, width=5),
            line=dict(color=colors[m], width=2 if rnd else 3, dash="dash" if rnd else "solid"),
            customdata=np.stack([g["se"].to_numpy(float), g["n_trainable"].to_numpy(int),
                                 g["n_seeds"].to_numpy(int)], axis=1) if "n_trainable" in g else None,
            hovertemplate=(f"<b>{m}</b><br>%{{text}} labelled images<br>{metric_name(metric)} %{{y:.3f}} "
                           "± %{customdata[0]:.3f} (SE)<br>%{customdata[1]}/%{customdata[2]} seeds trained"
                           "<extra></extra>")))
    _layout(fig, "number of labelled images (budget)", metric, title, height)
    for label, v in (reference or {}).items():
        if v is not None and np.isfinite(v):
            fig.add_hline(y=float(v), line_dash="dot", line_color=RANDOM_COLOR, annotation_text=label,
                          annotation_position="top left")
    if len(s):
        # half a step of margin (a whole budget for one budget), so one budget's bars stay together
        fig.update_xaxes(tickvals=budgets, range=[budgets[0] - step / 2, budgets[-1] + step / 2])
    refs = [float(v) for v in (reference or {}).values() if v is not None and np.isfinite(v)]
    rng = y_range(np.concatenate([s["mean"] - s["se"].fillna(0), s["mean"] + s["se"].fillna(0), refs])
                  if len(s) else refs, metric)
    if rng:  # the error bars and the reference lines, inside [0, 1] for bounded metrics
        fig.update_yaxes(range=rng)
    return fig


def strata_figure(table: pd.DataFrame, metric: str, chance: dict | None = None, height: int = 400,
                  ceiling: dict | None = None):
    """Per-stratum bars (one group per stratum, one bar per method) from
    :func:`coldstart.runs.stratum_table`, with the overall value first and each stratum's chance
    level (a random scorer's AP) as a grey tick."""
    import plotly.graph_objects as go

    fig = go.Figure()
    strata = [c for c in table.columns if c not in ("method", "budget", "worst", "worst stratum")]
    order = _ordered(table["method"])
    colors = method_colors(order)
    for m in order:
        row = table[table["method"] == m].iloc[0]
        fig.add_trace(go.Bar(x=strata, y=[row[c] for c in strata], name=f"{m} (reference)" if is_random(m) else m,
                             marker_color=colors[m],
                             hovertemplate=f"<b>{m}</b><br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    if chance and metric in ("ap", "auprc"):
        xs = [c for c in strata if (c if c != "overall" else "all") in chance]
        fig.add_trace(go.Scatter(x=xs, y=[chance[c if c != "overall" else "all"] for c in xs], mode="markers",
                                 name="chance (random scorer)", marker=dict(symbol="line-ew-open", size=40,
                                                                            color=RANDOM_COLOR, line_width=2)))
    elif M.chance_level(metric, []) is not None:  # a chance level that does not depend on the labels (AUROC)
        fig.add_hline(y=M.chance_level(metric, []), line_dash="dot", line_color=RANDOM_COLOR, annotation_text="chance")
    if ceiling:
        key = {c: c if c != "overall" else "all" for c in strata}
        xs = [c for c in strata if metric in ceiling.get(key[c], {})]
        fig.add_trace(go.Scatter(x=xs, y=[ceiling[key[c]][metric] for c in xs], mode="markers",
                                 name="full-label ceiling (probe on every train label)",
                                 marker=dict(symbol="line-ew-open", size=40, color="#000000", line_width=2)))
    fig.update_layout(barmode="group")
    _layout(fig, "stratum (its positives against all negatives)", metric, "", height)
    return fig


def al_figure(summary: pd.DataFrame, metric: str, title: str = "", height: int = 380):
    """Active-learning rounds: metric vs labeled images per (method -> strategy), mean ± SE."""
    import plotly.graph_objects as go

    s = summary[(summary["phase"] == "al") & (summary["metric"] == metric)]
    fig = go.Figure()
    colors = method_colors(_ordered(s["method"]))
    for m in _ordered(s["method"]):
        for strat, g in s[s["method"] == m].groupby("strategy", sort=False):
            g = g.sort_values("round")
            fig.add_trace(go.Scatter(
                x=g["budget"], y=g["mean"], name=f"{m} → {strat}", mode="lines+markers",
                error_y=dict(type="data", array=g["se"].fillna(0).to_numpy(float), visible=True),
                line=dict(color=colors[m], dash="dash" if is_random(m) else "solid"),
                hovertemplate=f"<b>{m} → {strat}</b><br>round %{{text}}: %{{x}} labels<br>"
                              f"{metric_name(metric)} %{{y:.3f}}<extra></extra>",
                text=g["round"].astype(str)))
    _layout(fig, "labelled images (initial selection + rounds)", metric, title, height)
    return fig


#: Metrics bounded to [0, 1] (the y-axis never leaves that range for them).
UNIT_METRICS = ("ap", "auprc", "auprc_trapz", "auroc", "f1", "dice", "dice_pos")


def chance_level(metric: str, test_labels) -> tuple[float, str] | None:
    """:func:`coldstart.metrics.chance_level` on the test labels with its explanation for a figure;
    None when not defined."""
    p = M.chance_level(metric, test_labels)
    if p is None:
        return None
    why = " (the share of positives)" if M.METRIC_ALIASES.get(metric, metric) != "auroc" else ""
    return p, f"random guess: {p:.2f}{why}"


def y_range(values, metric: str, chance: float | None = None) -> list[float] | None:
    """A y-axis range around the values (and the chance level), inside [0, 1] for bounded metrics."""
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if chance is not None:
        v = np.append(v, chance)
    if not len(v):
        return None
    lo, hi = float(v.min()), float(v.max())
    pad = max(0.05 * (hi - lo), 0.05 if metric in UNIT_METRICS else 0.05 * max(abs(hi), 1.0))
    lo, hi = lo - pad, hi + pad
    if metric in UNIT_METRICS:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    elif metric in M.LOWER_IS_BETTER:  # distances are never negative
        lo = max(lo, 0.0)
    return [lo, hi]


def _draw_chance(fig, chance) -> None:
    if chance is not None:
        fig.add_hline(y=chance[0], line=dict(color="#999", dash="dot"), annotation_text=chance[1],
                      annotation_position="bottom right")


def live_figure(results: pd.DataFrame, metric: str, height: int = 340, chance: tuple[float, str] | None = None,
                ceiling: float | None = None):
    """Learning curves of a running run from its partial results (per-seed dots + mean line).

    ``chance``: (level, text) from :func:`chance_level`, drawn as a dotted line; ``ceiling``: the
    full-label ceiling (the probe on every train label), drawn as a dotted line above.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    r = results[(results["metric"] == metric) & (results["status"] == "ok")] if len(results) else results
    if len(r) and "stratum" in r:
        r = r[r["stratum"] == "all"]
    if len(r):
        r = r.assign(x=r["budget"],
                     label=np.where(r["phase"] == "al", r["method"] + " → " + r["strategy"].astype(str) + " (AL)",
                                    r["method"]))
        colors = method_colors(_ordered(r["method"]))
        for lab in _ordered(r["label"]):
            g = r[r["label"] == lab]
            m = g["method"].iat[0]
            mean = g.groupby("x")["value"].mean()
            fig.add_trace(go.Scatter(x=g["x"], y=g["value"], mode="markers", showlegend=False,
                                     marker=dict(color=colors[m], size=6, opacity=0.35),
                                     hovertemplate=f"{lab}<br>seed %{{text}}: %{{y:.3f}}<extra></extra>",
                                     text=g["seed"].astype(str)))
            fig.add_trace(go.Scatter(x=mean.index, y=mean.values, mode="lines+markers", name=lab,
                                     line=dict(color=colors[m], dash="dash" if is_random(m) else "solid")))
    _layout(fig, "number of labelled images", metric, "", height)
    if len(r):
        fig.update_xaxes(tickvals=sorted(r["budget"].unique()))
    _draw_chance(fig, chance)
    if ceiling is not None and np.isfinite(ceiling):
        fig.add_hline(y=ceiling, line=dict(color="#444", dash="dot"), annotation_text="full-label ceiling",
                      annotation_position="top right")
    refs = [v for v in (chance[0] if chance else None, ceiling) if v is not None and np.isfinite(v)]
    rng = y_range(list(r["value"]) + refs if len(r) else refs, metric, chance[0] if chance else None)
    if rng:
        fig.update_yaxes(range=rng)
    return fig


def paired_figure(paired: pd.DataFrame, baseline: str, metric: str, height: int | None = None):
    """Forest plot: difference to the baseline with its 95% CI; filled markers where the CI excludes 0."""
    import plotly.graph_objects as go

    p = paired.copy()
    p["row"] = p["method"].astype(str) + " @ " + p["budget"].astype(str)
    fig = go.Figure()
    for excl, sym, name in ((True, "diamond", "interval excludes 0 (a real difference)"),
                            (False, "diamond-open", "interval includes 0 (could be chance)")):
        g = p[p["excludes_zero"] == excl]
        if not len(g):
            continue
        fig.add_trace(go.Scatter(
            x=g["diff"], y=g["row"], mode="markers", name=name,
            marker=dict(symbol=sym, size=11, color=(np.where(g["better"], "#2ca02c", "#d62728").tolist()
                                                    if excl else "#7f7f7f")),
            error_x=dict(type="data", symmetric=False, array=(g["hi"] - g["diff"]).to_numpy(float),
                         arrayminus=(g["diff"] - g["lo"]).to_numpy(float), color="#555"),
            hovertemplate="%{y}<br>difference %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#999", dash="dot"))
    fig.update_layout(height=height or max(260, 28 * len(p) + 120), template="plotly_white",
                      margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.2),
                      xaxis_title=f"{metric_name(metric)}: method minus {baseline} (95% CI)",
                      yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=p["row"].tolist()))
    return fig


def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """:func:`coldstart.compare.al_gains` for display: rounded, and a blank gain for round 0 (not "None")."""
    out = gains.round(3)
    out["gain"] = [f"{g:+.3f}" if pd.notna(g) else "" for g in gains["gain"]]
    return out


def paired_table(paired: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The paired comparison as a readable table."""
    def verdict(r):
        if not np.isfinite(r["lo"]):
            return "not enough data"
        if not r["excludes_zero"]:
            return "no clear difference"
        return "better than " + baseline if r["better"] else "worse than " + baseline

    return pd.DataFrame({
        "method": paired["method"], "budget": paired["budget"], "seeds": paired["n_seeds"],
        "difference": paired["diff"].round(3),
        "95% CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(paired["lo"], paired["hi"])],
        "verdict": [verdict(r) for _, r in paired.iterrows()]})


def _layout(fig, xtitle: str, metric: str, title: str, height: int) -> None:
    lower = M.METRIC_ALIASES.get(metric, metric) in M.LOWER_IS_BETTER
    fig.update_layout(title=title or None, height=height, template="plotly_white",
                      margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      xaxis_title=xtitle,
                      yaxis_title=f"{metric_name(metric)} ({'lower' if lower else 'higher'} is better)",
                      legend=dict(orientation="h", y=-0.22), hovermode="closest")


def estimate_text(est, short: bool = False) -> str:
    """A run estimate (:class:`coldstart.runs.estimate.Estimate`) in words."""
    if est.seconds is None:
        return (f"{est.parts} parts, time unknown" if short else
                f"{est.parts} parts; no time estimate yet ({est.basis}). Network training can take "
                "minutes to hours per part on a CPU.")
    if short:
        return f"{est.parts} parts, about {eta_text(est.seconds)}"
    return f"{est.parts} parts, about {eta_text(est.seconds)} ({est.basis})."


def eta_text(seconds) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


STATUS_TEXT = {"running": "running…", "finished": "finished", "failed": "FAILED", "cancelled": "cancelled",
               "interrupted": "interrupted", "starting": "starting…"}
STATUS_COLOR = {"running": "blue", "finished": "green", "failed": "red", "cancelled": "gray",
                "interrupted": "orange", "starting": "blue"}


def status_text(status: str) -> str:
    """Plain-text status (no emoji: they do not render on every system)."""
    return STATUS_TEXT.get(status, status)


def status_markdown(status: str) -> str:
    """Status as coloured bold Markdown, e.g. ``:green[**finished**]``."""
    return f":{STATUS_COLOR.get(status, 'gray')}[**{status_text(status)}**]"


#: what to do about a failed run, by the error's kind (:data:`coldstart.errors.ERROR_KINDS`)
ERROR_ADVICE = {
    "weights": ("A model file is missing. Put the weights file where the message says (or choose the "
                "'pixels' features), then press Resume."),
    "budget": "Choose smaller budgets (they must fit in the training pool) and start a new run.",
    "memory": "The computer ran out of memory: use a smaller image size or batch size, then press Resume.",
}
_GENERIC_ADVICE = ("Read the message above; fix the cause, then press Resume: finished parts are kept and not "
                   "recomputed.")


def error_advice(kind: str | None, log_tail: str = "") -> str:
    """What to do about a failed run, in plain words, from its error's ``kind`` (the ``error_kind`` of
    :meth:`coldstart.runs.RunStore.progress`); a log tail saying the process was killed means memory."""
    if kind not in ERROR_ADVICE and "killed" in (log_tail or "").lower():
        kind = "memory"
    return ERROR_ADVICE.get(kind, _GENERIC_ADVICE)


def page_link(page: str, label: str, icon: str | None = None, container=None) -> None:
    """``st.page_link`` that degrades to a plain link when the page is not registered
    (e.g. a page run on its own under AppTest)."""
    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    c = container or st
    try:
        c.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        slug = page.rsplit("/", 1)[-1].removesuffix(".py").split("_", 1)[-1]
        c.markdown(f"[{label}](/{slug})")


def preset_text(cfg) -> str:
    """The training preset a built :class:`coldstart.runs.RunConfig` uses and what it means, in one line."""
    p = cfg.params
    if cfg.task == "probe":
        return (f"Training preset **{cfg.preset}**: not used by the quick probe, a logistic regression on the "
                f"features (C={p.get('C')}, up to {p.get('max_iter')} iterations).")
    bits = [f"{p.get('size')} px", f"{p.get('epochs')} epochs", f"SGD lr {p.get('lr'):g}, momentum {p.get('momentum')}",
            f"batch {p.get('batch_size')}",
            f"LR x{p.get('lr_factor')} after {p.get('lr_patience')} epochs without validation improvement",
            f"weights {p.get('pretrained')}", f"pixels normalised: {p.get('normalize')}"]
    if "head" in p:
        bits.append(f"head {p['head']}")
    return f"Training preset **{cfg.preset}**: " + ", ".join(bits) + f"; active-learning rounds by {cfg.strategy}."
