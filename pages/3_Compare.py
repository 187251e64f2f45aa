"""Compare: the paper-layout tables, metric vs budget with error bars, AL rounds, paired differences.

A thin view: tables come from :func:`coldstart.runs.report_frame` (the same table as
``coldstart report``), curves from :func:`coldstart.runs.summarize`, paired differences from
:func:`coldstart.compare.paired_vs_baseline`.
"""

from __future__ import annotations

import streamlit as st

from coldstart import compare
from coldstart.errors import ColdstartError
from coldstart.metrics import STRATUM_METRICS
from coldstart.runs import RunStore, list_runs, report_frame, report_table, run_metrics, stratum_table, summarize
from coldstart.runs.report import SE_MEANING, run_header
from coldstart.ui import common as ui
from coldstart.ui import loaders
from coldstart.ui import runs_view as rv

ui.page_config("Compare")
ds = ui.dataset_sidebar()
if ds is None:
    st.stop()

st.title("Compare selection methods")
st.markdown(
    "Rows are methods, columns are **budgets** (number of labelled images). Each cell is the mean over "
    "seeds with its standard error in brackets (the SE combines the spread over seeds and the test-set "
    "bootstrap); the best value per column is **bold**. A cell marked "
    "`[4/5]` means one seed could not be trained (e.g. its images held only one class).")

runs = list_runs(ds.name)
done = runs[runs["units_done"] > 0] if len(runs) else runs
if done.empty:
    st.info("No run has results yet. Start one on the **Train** page.")
    rv.page_link("pages/2_Train.py", "Go to Train", ":material/model_training:")
    st.stop()


def _desc(rid: str) -> str:
    r = done[done["run_id"] == rid].iloc[0]
    return f"{rid} · {r['task']} · {rv.status_text(r['status'])} · {r['methods']}"


ids = done["run_id"].tolist()
default = [i for i in st.session_state.get("compare_runs", []) if i in ids] or ids[:1]
picked = st.multiselect("Runs to compare", ids, default=default, key="compare_runs", format_func=_desc,
                        help="Pick several runs of the same task to put their methods side by side.")
if not picked:
    st.stop()
stores = [RunStore(ds.name, r) for r in picked]
tasks = {s.raw_config.get("task") for s in stores}
if len(tasks) > 1:
    st.error(f"The chosen runs have different tasks ({', '.join(sorted(map(str, tasks)))}): pick runs of one task.")
    st.stop()
task = tasks.pop()


@st.cache_data(ttl=5, show_spinner=False)
def _results(run_ids: tuple[str, ...], stamps: tuple[float, ...]):
    return compare.combine_results([RunStore(ds.name, r) for r in run_ids])


def _stamp(s: RunStore) -> float:
    return s.results_stamp()


results = _results(tuple(picked), tuple(_stamp(s) for s in stores))
if not len(results):
    st.info("These runs have no results yet.")
    st.stop()
if any(s.status() == "running" for s in stores):
    st.caption("A chosen run is still running: the tables show the parts finished so far.")

for run_store in stores:  # preset, seeds, random draws and the SE definition of each run
    st.caption(run_header(run_store.raw_config, run_store.run_id).replace("\n", "  \n"))
metrics = run_metrics(task, results)
name = "-".join(p[:15] for p in picked)
has_cold = (results["phase"] == "cold").any()
if has_cold and not results["method"].map(rv.is_random).any():
    st.warning("These runs have no random baseline: add 'random' to the methods so every method can be judged "
               "against it.")

strata_col = next((x.raw_config.get("strata") for x in stores if x.raw_config.get("strata")), None)


chance, ceiling = {}, {}
if task == "probe":  # the ceiling is the probe on every train label, comparable with probe runs only
    with ui.guarded("reference lines"):
        chance, ceiling = loaders.reference_levels(ds, stores[0].config.probe_embedding(
            stores[0].config.methods[0]), strata_col)

tabs = st.tabs([rv.metric_name(m) for m in metrics])
for m, tab in zip(metrics, tabs):
    with tab:
        try:
            rep = report_frame(results, m)
        except ColdstartError as e:
            ui.show_error(e)
            continue
        st.caption(rep.header)
        st.markdown(rep.markdown_table())
        for n in rep.notes:
            st.caption("⚠️ " + n)
        summ = summarize(results, m)
        if has_cold:
            refs = compare.reference_lines(ds, m, ceiling)
            st.plotly_chart(rv.budget_figure(summ, m, reference=refs), key=f"compare_budget_{m}", width="stretch")
            st.caption(f"Error bars: ± one standard error, as in the table ({SE_MEANING}). Grey dashed: random "
                       "picks. Dotted: chance and the full-label ceiling (the probe trained on every train label).")
        d = st.columns(3)
        d[0].download_button("Table (CSV)", report_table(results, m, "csv"), f"{name}-{m}.csv", "text/csv",
                             key=f"compare_dl_csv_{m}", icon=":material/download:")
        d[1].download_button("Table (Markdown)", rep.to_markdown(), f"{name}-{m}.md", "text/markdown",
                             key=f"compare_dl_md_{m}", icon=":material/download:")
        d[2].download_button("Table (LaTeX)", rep.to_latex(), f"{name}-{m}.tex", "text/x-tex",
                             key=f"compare_dl_tex_{m}", icon=":material/download:")

# ------------------------------------------------------------------ strata
if "stratum" in results and (results["stratum"] != "all").any():
    st.header("Per stratum (hidden stratification)")
    column = strata_col
    st.markdown(f"Each stratum of **{column}**: its positive images against all negative images. The worst "
                "stratum is the one a model serves least; compare it with the overall value.")
    s_metrics = [m for m in STRATUM_METRICS if m in set(results.loc[results["stratum"] != "all", "metric"])]
    c = st.columns(2)
    sm = c[0].selectbox("Metric  ", s_metrics, key="compare_strata_metric", format_func=rv.metric_name)
    s_budgets = sorted(results.loc[results["phase"] == "cold", "budget"].unique())
    sb = c[1].select_slider("Budget", s_budgets, value=s_budgets[-1], key="compare_strata_budget") \
        if len(s_budgets) > 1 else (s_budgets[0] if s_budgets else None)
    table = stratum_table(results, sm, sb)
    if len(table):
        st.plotly_chart(rv.strata_figure(table, sm, chance or None, ceiling=ceiling or None),
                        key="compare_strata", width="stretch")
        st.dataframe(table.round(3), hide_index=True, width="stretch")
        st.caption("Grey ticks: chance (a random scorer's AUPRC = the positives' share); black ticks: the "
                   "full-label ceiling. NaN: the stratum has no positive image in the test split.")

# ------------------------------------------------------------------ AL rounds
if (results["phase"] == "al").any():
    st.header("Active-learning rounds")
    m = st.selectbox("Metric", metrics, key="compare_al_metric", format_func=rv.metric_name)
    summ = summarize(results, m)
    st.plotly_chart(rv.al_figure(summ, m), key="compare_al", width="stretch")
    gains = compare.al_gains(summ)
    st.caption("Gain = change since the previous round. When gains shrink towards 0, more labels stop paying off.")
    st.dataframe(rv.gains_table(gains), hide_index=True, width="stretch")

# ------------------------------------------------------------------ untrainable seeds
bad = compare.untrainable_summary(results)
if len(bad):
    with st.expander(f"Seeds that could not be trained ({len(bad)} cells)"):
        st.dataframe(bad, hide_index=True, width="stretch")

# ------------------------------------------------------------------ paired comparison
st.header("Is the difference real?")
st.markdown(
    "Each method minus the chosen baseline, on the **same test images and seeds**. The bar is a 95% "
    "interval; when it does not cross 0 (filled marker), the difference is unlikely to be chance.")
methods = list(dict.fromkeys(results.loc[results["phase"] == "cold", "method"]))
if len(methods) < 2:
    st.caption("Needs at least two methods with cold-start results.")
else:
    base_default = next((i for i, x in enumerate(methods) if rv.is_random(x)), 0)
    c = st.columns(3)
    baseline = c[0].selectbox("Baseline", methods, index=base_default, key="compare_baseline")
    pm = c[1].selectbox("Metric ", metrics, key="compare_paired_metric", format_func=rv.metric_name)
    n_boot = c[2].select_slider("Bootstrap draws", [200, 500, 1000, 2000], value=1000, key="compare_nboot")

    @st.cache_data(ttl=60, show_spinner="computing paired differences…")
    def _paired(run_ids, stamps, metric, base, n):
        st_ = [RunStore(ds.name, r) for r in run_ids]
        return compare.paired_vs_baseline(st_, metric, base, n_boot=n, seed=0)

    with ui.guarded("paired comparison"):
        paired = _paired(tuple(picked), tuple(_stamp(s) for s in stores), pm, baseline, int(n_boot))
        if len(paired):
            st.plotly_chart(rv.paired_figure(paired, baseline, pm), key="compare_paired", width="stretch")
            tbl = rv.paired_table(paired, baseline)
            st.dataframe(tbl, hide_index=True, width="stretch")
            ui.download_csv(paired, f"{name}-{pm}-vs-{baseline}.csv", "Paired differences (CSV)",
                            key="compare_dl_paired")
        else:
            st.caption("No seed was trained by both the method and the baseline.")
