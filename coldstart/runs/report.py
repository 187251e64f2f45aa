"""The paper-layout report: rows = methods, columns = budgets, cells = mean (SE), best per column marked.

Means are over the *trainable* seeds of a cell; a cell where some seeds
could not train (one-class labeled set) shows the count, e.g. ``[4/5]``, and
the text/markdown output adds a footnote such as "1/5 seeds had no normal
image". SE combines the between-seed SE and the test-set bootstrap SE (see
:func:`coldstart.metrics.mean_se_over_seeds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ColdstartError
from ..metrics import LOWER_IS_BETTER, METRIC_ALIASES, SE_KINDS, mean_se_over_seeds, metric_label
from .store import OVERALL

FORMATS = ("text", "csv", "markdown", "latex")
#: What the (SE) of every table cell and every error bar is: one wording for the report and the pages.
SE_MEANING = "the SE combines the spread over seeds and the test-set bootstrap"


def run_se_kind(config: dict) -> str:
    """The bootstrap SE definition a run used (its ``train.se``; runs made before ``se`` existed used ``sd``)."""
    return str((config.get("train") or {}).get("se", "sd"))


def run_header(config: dict, run_id: str = "") -> str:
    """The report's header: the run's dataset, task, preset, seeds, random draws and SE definition.

    ``config`` is the run's stored config (``RunStore.raw_config``, as in config.json).
    """
    seeds = config.get("seeds") or []
    draws = ((config.get("selector_params") or {}).get("random") or {}).get("draws", 1)
    kind = run_se_kind(config)
    n_boot = config.get("n_bootstrap", 100)
    methods = config.get("methods") or []
    rnd = any(str(m).split(":")[-1] == "random" for m in methods)
    train = config.get("train") or {}
    task = config.get("task")
    setting = []
    if task != "probe" and "size" in train:
        setting.append(f"{train['size']} px, {train.get('epochs')} epochs")
    if task == "classification":  # runs made before the score setting scored with softmax
        setting.append(f"score {train.get('score', 'softmax')}")
    lines = [
        f"run {run_id or config.get('name', '')}: dataset {config.get('dataset')}, task {task}, "
        f"preset {config.get('preset') or 'quick (unnamed)'}" + "".join(f", {x}" for x in setting)
        + f"; seeds {', '.join(map(str, seeds))}"
        + (f"; random: {draws} draw{'s' if int(draws) != 1 else ''} per seed and budget, pooled" if rnd else ""),
        f"SE ({kind}): {SE_KINDS.get(kind, kind)}, over {n_boot} bootstrap resamples of the test set per "
        "model" + (" (pooled over the random draws)" if rnd and int(draws) > 1 else "")
        + ("; with several seeds, combined with the spread over seeds as sqrt(var(seeds)/n + mean(SE^2))"
           if len(seeds) > 1 else ""),
    ]
    return "\n".join(lines)


def summarize(results: pd.DataFrame, metric: str | None = None, stratum: str | None = "all") -> pd.DataFrame:
    """Long-form summary: one row per (phase, method, strategy, budget, metric, stratum).

    ``stratum``: "all" (default) keeps the overall rows; None keeps every stratum (runs with
    ``strata``); a value keeps that stratum. Columns: phase, round, method, strategy, budget, metric,
    stratum, mean, se, se_seeds, se_test, n_seeds, n_trainable, n_untrainable, untrainable_reasons,
    nan_reason (why a stratum has no value), wasted_mean, weights.
    """
    cols = ["phase", "round", "method", "strategy", "budget", "metric", "stratum", "mean", "se", "se_seeds",
            "se_test", "n_seeds", "n_trainable", "n_untrainable", "untrainable_reasons", "nan_reason",
            "wasted_mean", "weights"]
    if results is None or not len(results):
        return pd.DataFrame(columns=cols)
    metric = METRIC_ALIASES.get(metric, metric)
    results = results.assign(metric=results["metric"].replace(METRIC_ALIASES))
    if "stratum" not in results:
        results = results.assign(stratum=OVERALL)
    r = results if metric is None else results[results["metric"] == metric]
    if metric is not None and not len(r):
        raise ColdstartError(f"metric {metric!r} is not in this run: choose one of "
                             f"{', '.join(sorted(results['metric'].unique()))}")
    if stratum is not None:
        r = r[r["stratum"] == stratum]
    rows = []
    keys = ["phase", "method", "strategy", "budget", "metric", "stratum"]
    for k, g in r.groupby(keys, sort=False, dropna=False):
        ok = g[g["status"] == "ok"]
        m, se = mean_se_over_seeds(ok["value"].to_numpy(float), ok["se"].to_numpy(float))
        v = ok["value"].to_numpy(float)
        se_seeds = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
        se_test = float(np.sqrt(np.nanmean(ok["se"].to_numpy(float) ** 2))) if len(ok) else float("nan")
        bad = g[g["status"] != "ok"]
        nan = ok[ok["value"].isna()]
        rows.append(dict(zip(keys, k), round=int(g["round"].iloc[0]), mean=m, se=se, se_seeds=se_seeds,
                         se_test=se_test, n_seeds=int(g["seed"].nunique()), n_trainable=int(ok["seed"].nunique()),
                         n_untrainable=int(bad["seed"].nunique()),
                         untrainable_reasons="; ".join(sorted(set(bad["reason"].astype(str)))),
                         nan_reason="; ".join(sorted(set(nan["reason"].astype(str)) - {""})),
                         wasted_mean=float(g["n_wasted"].mean()),
                         weights=",".join(sorted(set(ok["weights"].astype(str)) - {""}))))
    return pd.DataFrame(rows, columns=cols)


def stratum_table(results: pd.DataFrame, metric: str = "ap", budget: int | None = None,
                  phase: str = "cold") -> pd.DataFrame:
    """Per-stratum means of ``metric`` at one budget: one row per method with the overall value, each
    stratum's value, and the worst stratum (lowest; highest for distances) and its value.

    ``budget`` None = the largest. Empty when the results have no per-stratum rows (a run without strata).
    """
    s = summarize(results, metric, stratum=None) if len(results) else pd.DataFrame()
    if not len(s) or set(s["stratum"]) == {"all"}:
        return pd.DataFrame()
    s = s[s["phase"] == phase]
    b = int(s["budget"].max()) if budget is None else int(budget)
    s = s[s["budget"] == b]
    wide = s.pivot_table(index="method", columns="stratum", values="mean", aggfunc="first", sort=False)
    strata = [c for c in wide.columns if c != "all"]
    per = wide[strata]
    lower = metric in LOWER_IS_BETTER
    wide["worst stratum"] = (per.idxmax(axis=1) if lower else per.idxmin(axis=1)) if len(strata) else ""
    wide["worst"] = (per.max(axis=1) if lower else per.min(axis=1)) if len(strata) else np.nan
    cols = (["all"] if "all" in wide.columns else []) + ["worst", "worst stratum"] + strata
    out = wide[cols].reset_index().rename(columns={"all": "overall"})
    out.insert(1, "budget", b)
    return out


def run_metrics(task: str, results: pd.DataFrame) -> list[str]:
    """The metrics of ``results`` in display order: the task's own (headline first), then any others."""
    from ..train.base import TASK_METRICS

    have = list(dict.fromkeys(results["metric"])) if len(results) else []
    own = [m for m in TASK_METRICS.get(task, ()) if m in have]
    return own + sorted(m for m in have if m not in own)


def _row_label(phase: str, method: str, strategy: str) -> str:
    return method if phase == "cold" else f"{method} -> {strategy} (AL)"


@dataclass
class ReportTable:
    """The paper-layout table of one metric as data.

    Attributes
    ----------
    metric : str
    cells : DataFrame
        Index ``method`` (row labels), one column per budget; cell text ``mean (SE)`` plus ``[k/n]``
        when some seeds could not train, ``- [0/n]`` when none could.
    best : DataFrame of bool
        Same shape: the best cell of each budget column (lowest for distances), per phase.
    notes : list of str
        One footnote per cell with untrainable seeds.
    """

    metric: str
    cells: pd.DataFrame
    best: pd.DataFrame
    notes: list = field(default_factory=list)
    n_seeds: list = field(default_factory=list)  # how many seeds the cells average (one value when all agree)

    @property
    def header(self) -> str:
        lower = self.metric in LOWER_IS_BETTER
        n = "/".join(map(str, self.n_seeds))
        over = f"over {n} seed{'s' if self.n_seeds != [1] else ''}" if n else "over seeds"
        return (f"{metric_label(self.metric)} [{self.metric}]: mean (SE) {over}; {SE_MEANING}; columns = labeled "
                "budget; " + ("lowest" if lower else "best") + " per column marked")

    def marked(self, fmt: str) -> pd.DataFrame:
        """The cells with the best ones marked for ``fmt`` (text ``*``, markdown bold, LaTeX bold)."""
        mark = {"text": "*{}", "markdown": "**{}**", "latex": "\\textbf{{{}}}"}[fmt]
        return self.cells.where(~self.best, self.cells.map(mark.format))

    def to_text(self) -> str:
        return "\n".join([self.header, self.marked("text").to_string(), *self.notes]) + "\n"

    def to_markdown(self) -> str:
        return "\n".join([self.header, self.markdown_table(), *self.notes]) + "\n"

    def markdown_table(self) -> str:
        t = self.marked("markdown")
        head = "| method | " + " | ".join(t.columns) + " |"
        sep = "|---|" + "---|" * len(t.columns)
        rows = [f"| {i} | " + " | ".join(r) + " |" for i, r in zip(t.index, t.values.tolist())]
        return "\n".join([head, sep] + rows)

    def to_latex(self) -> str:
        return self.marked("latex").to_latex(escape=False)


def report_frame(results: pd.DataFrame, metric: str = "ap") -> ReportTable:
    """The paper-layout table of ``metric`` (rows methods, columns budgets) as a :class:`ReportTable`."""
    if results is None or not len(results):
        raise ColdstartError("this run has no results yet: wait for its first unit or resume it")
    metric = METRIC_ALIASES.get(metric, metric)
    s = summarize(results, metric)
    s = s.assign(row=[_row_label(p, m, st) for p, m, st in zip(s["phase"], s["method"], s["strategy"])])
    budgets = sorted(s["budget"].unique())
    row_order = list(dict.fromkeys(s["row"]))
    lower = metric in LOWER_IS_BETTER
    best = {}
    for b in budgets:
        for phase in ("cold", "al"):
            col = s[(s["budget"] == b) & (s["phase"] == phase)]["mean"].dropna()
            if len(col):
                best[(phase, b)] = col.min() if lower else col.max()
    cells: dict[tuple[str, int], str] = {}
    is_best: dict[tuple[str, int], bool] = {}
    notes = []
    for _, x in s.iterrows():
        if not np.isfinite(x["mean"]):
            txt = f"- [0/{x['n_seeds']}]"
        else:
            txt = f"{x['mean']:.3f} ({x['se']:.3f})" if np.isfinite(x["se"]) else f"{x['mean']:.3f}"
            if x["n_untrainable"]:
                txt += f" [{x['n_trainable']}/{x['n_seeds']}]"
            is_best[(x["row"], x["budget"])] = bool(np.isclose(x["mean"], best.get((x["phase"], x["budget"]), np.nan)))
        cells[(x["row"], x["budget"])] = txt
        if x["n_untrainable"]:
            rest = "mean over the other seeds" if x["n_trainable"] else "no trainable seed"
            notes.append(f"{x['row']} @ {x['budget']}: {x['n_untrainable']}/{x['n_seeds']} seeds "
                         f"untrainable ({x['untrainable_reasons']}); {rest}")
    cols = [str(b) for b in budgets]
    table = pd.DataFrame([[cells.get((r, b), "") for b in budgets] for r in row_order], index=row_order, columns=cols)
    mask = pd.DataFrame([[is_best.get((r, b), False) for b in budgets] for r in row_order], index=row_order,
                        columns=cols)
    table.index.name = mask.index.name = "method"
    from ..train.torchloop import weights_footnote

    foot = weights_footnote(results)
    seeds = sorted({int(n) for n in s["n_seeds"].dropna()}) if "n_seeds" in s and len(s) else []
    return ReportTable(metric, table, mask, notes + ([foot] if foot else []), seeds)


def report_table(results: pd.DataFrame, metric: str = "ap", fmt: str = "text", config: dict | None = None,
                 run_id: str = "") -> str:
    """The paper-layout table of ``metric`` as text, csv (long form), markdown or latex.

    With the run's ``config`` (text and markdown) the table follows :func:`run_header`; ``metric=None``
    gives every metric of the run (:func:`run_metrics`), one named table each.

    Parameters
    ----------
    results : DataFrame
        ``RunStore.results()`` (one row per unit x metric).
    metric : str
        e.g. "ap", "auprc_trapz", "auroc", "f1", "dice", "hd_paper", "hd_surface", "hd95_surface"; None = all.
    fmt : {"text", "csv", "markdown", "latex"}
        "csv" is long form (method, budget, metric, mean, se, n_seeds, n_untrainable, phase, round...).
    """
    if fmt not in FORMATS:
        raise ColdstartError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if results is None or not len(results):
        raise ColdstartError("this run has no results yet: wait for its first unit or resume it")
    if fmt == "csv":  # long form, every stratum ("all" = overall)
        return summarize(results, metric, stratum=None).to_csv(index=False, float_format="%.6g")
    task = (config or {}).get("task") or (str(results["task"].iloc[0]) if "task" in results else "")
    metrics = [metric] if metric else run_metrics(task, results)
    parts = []
    for m in metrics:
        rep = report_frame(results, m)
        parts.append({"text": rep.to_text, "markdown": rep.to_markdown, "latex": rep.to_latex}[fmt]())
    if config is not None and fmt in ("text", "markdown"):
        head = run_header(config, run_id)
        parts.insert(0, head.replace("\n", "  \n") + "\n" if fmt == "markdown" else head + "\n")
    return "\n".join(parts)


def learning_curves(results: pd.DataFrame, metric: str = "ap") -> pd.DataFrame:
    """Per-seed values for plotting: phase, method, strategy, seed, round, budget, value, status."""
    r = results[results["metric"] == METRIC_ALIASES.get(metric, metric)]
    if "stratum" in r:
        r = r[r["stratum"] == OVERALL]
    return r[["phase", "method", "strategy", "seed", "round", "budget", "value", "se", "status",
              "n_wasted"]].reset_index(drop=True)


def paired_comparison(store, method_a: str, method_b: str, budget: int, seed: int, metric: str = "ap",
                      n: int = 1000, phase: str = "cold", boot_seed: int = 0) -> dict:
    """Paired bootstrap of ``metric(method_a) - metric(method_b)`` on the shared test set of one run.

    Uses the per-test-sample predictions of the two units (same budget, seed and phase). For
    segmentation metrics ("dice", "hd_paper", "hd_surface", ...) the per-image values are averaged.

    Returns
    -------
    dict
        diff, lo, hi (95% CI), excludes_zero, n_test, unit_a, unit_b.
    """
    from .. import metrics as M
    from .units import Unit

    def key(m):
        if phase == "cold":
            return Unit("cold", m, int(seed), int(budget)).key
        cfg = store.config
        if int(budget) not in cfg.al_budgets:
            raise ColdstartError(f"budget {budget} is not an AL round of this run: choose one of {cfg.al_budgets}")
        return Unit("al", m, int(seed), int(budget), cfg.al_budgets.index(int(budget))).key

    ua, ub = key(method_a), key(method_b)
    a, b = store.predictions(ua), store.predictions(ub)
    if not (a["index"].to_numpy() == b["index"].to_numpy()).all():
        raise ColdstartError(f"units {ua} and {ub} were scored on different test sets: compare units of one run")
    from ..compare import sample_values

    name, va = sample_values(metric, a)
    _, vb = sample_values(metric, b)
    y = a["y"].to_numpy()
    diff, lo, hi, sig = M.paired_bootstrap(y, va, vb, name, n=n, seed=boot_seed)
    return dict(diff=diff, lo=lo, hi=hi, excludes_zero=sig, n_test=len(y), unit_a=ua, unit_b=ub)
