"""Runs: configs, the run store, the (background) runner and the paper-layout report.

Public API (used by the CLI and the pages)
------------------------------------------
RunConfig(dataset, task, methods, budgets, seeds, preset, train, cold_start, rounds, query_size,
          strategy, ood_filter, warm_start, oracle, probe_embedder, val_mode, selector_params, n_bootstrap,
          workers, strata)
    ``RunConfig.from_dict(d)`` / ``from_yaml(path)`` refuse unknown keys (naming the valid ones);
    ``config.validate()`` checks budgets vs pool, embedders, selectors and masks before any work.
start_run(config, background=True) -> run_id
    Writes ``<data>/<dataset>/runs/<run_id>/config.json``; background = detached process
    ``python -m coldstart.runs.runner <run dir>`` (pid in ``runner.pid``).
resume_run(dataset, run_id, background=True) -> run_id      (dataset may be None: found by scan)
cancel_run(dataset, run_id) -> status
list_runs(dataset=None) -> DataFrame (dataset, run_id, created, task, methods, status, units_done, units_total)
    status: running / finished / failed / cancelled / interrupted (killed) / starting.
RunStore(dataset, run_id): .config, .events(), .results(), .progress(), .predictions(unit),
    .selection(method, seed), .status()
report_table(results, metric="ap"|None, fmt="text"|"csv"|"markdown"|"latex", config=None, run_id="") -> str
    (with the run's config: after run_header(config), naming preset, seeds, random draws and SE; None: every metric)
report_frame(results, metric="ap") -> ReportTable (cells, best, notes as data; .to_markdown() ...)
summarize(results, metric=None, stratum="all") -> long-form DataFrame (method, budget, metric, stratum,
    mean, se, n_seeds, n_untrainable, phase, round, ...);  learning_curves(results, metric) -> per-seed rows.
stratum_table(results, metric, budget) -> per-method overall, worst stratum and each stratum (runs with strata).
paired_comparison(store, method_a, method_b, budget, seed, metric="ap", n=1000, phase="cold")
    -> dict(diff, lo, hi, excludes_zero, n_test, unit_a, unit_b), from the stored per-test-sample
    predictions (``RunStore.predictions(unit)``; unit keys ``cold|<method>|s<seed>|b<budget>``,
    ``al|<method>|s<seed>|r<round>``).

Modules: config (RunConfig), units (Unit, plan_units), store (the run folder; the only writer of
results), runner (process control: lock, spawn, cancel, resume), work (one unit's experiment
logic), executors (serial / local process pool: run units, report each finished one), report,
defaults (what the Train page offers).

The probe trains, by default, on one fixed embedding for all methods of a run
(see :mod:`coldstart.runs.config`, "Fair comparison").
"""

from .config import RunConfig, parse_method
from .report import ReportTable, learning_curves, paired_comparison, report_frame, report_table, run_metrics, stratum_table, summarize
from .runner import cancel_run, execute, resume_run, start_run
from .store import RunStore, find_run, list_runs
from .units import Unit, plan_units

__all__ = ["RunConfig", "parse_method", "start_run", "resume_run", "cancel_run", "execute", "plan_units", "Unit",
           "list_runs", "RunStore", "find_run", "report_table", "report_frame", "ReportTable", "run_metrics", "stratum_table", "summarize", "learning_curves", "paired_comparison"]
