"""Train: configure a comparison run, launch it in the background, watch it, cancel or resume it.

A thin view over :mod:`coldstart.runs`: the run executes in a separate process
(``python -m coldstart.runs.runner``) that writes events and results to disk; this page only
reads those files (polling with ``st.fragment(run_every=...)``), so closing the browser never
stops a run.
"""

from __future__ import annotations

import streamlit as st

from coldstart.errors import ColdstartError
from coldstart.runs import RunConfig, RunStore, cancel_run, defaults, list_runs, resume_run, run_metrics, start_run
from coldstart.runs.estimate import EPOCH_TASKS, estimate_run, live_eta, unit_words
from coldstart.runs.executors import default_workers
from coldstart.select.strata import stratifier_columns
from coldstart.train.presets import resolve_params
from coldstart.train.torchloop import pretrained_notice
from coldstart.ui import common as ui
from coldstart.ui import loaders, weights_view
from coldstart.ui import runs_view as rv

ui.page_config("Train")
ds = ui.dataset_sidebar()
if ds is None:
    st.stop()

WATCH_KEY = "train_run"  # run id shown in the live panel
TASK_HELP = {
    "probe": "Fast (seconds to minutes on a laptop): a simple model on image features. Good for comparing "
             "selection methods.",
    "classification": "The paper's setting: a VGG-11 network trained from the labelled images. Slow without a GPU.",
    "segmentation": "The paper's setting for outlining findings: a U-Net. Needs masks; slow without a GPU.",
}
weights_view.default_note(ds, st.sidebar)  # says which embedder new runs default to, and why
weights_view.unavailable_panel(ds, "train")

st.title("Train models on each selection")
st.markdown(
    "Each **method** chooses the first images to label; a model is trained on them and tested on "
    "held-out images. Repeating this for several **budgets** (how many images you can label) and "
    "**seeds** (repeats with different randomness) shows which method helps, and by how much. "
    "Random picks are always included as the reference.")


# ------------------------------------------------------------------ options
@st.cache_data(ttl=30, show_spinner=False)
def _options(stamp: str) -> tuple[list[str], list[str], dict]:
    try:
        embs = defaults.usable_embedders(loaders.embedders_table(ds))
    except (ImportError, ColdstartError):
        embs = ["pixels"]
    sels, summaries = defaults.cold_start_selectors()  # round strategies are not methods
    return embs, sels, {k: summaries[k] for k in ["random", *sels]}


embs, sels, sel_summary = _options(ui.dataset_stamp(ds))
n_pool = int((ds.splits == "train").sum())


@st.cache_data(ttl=30, show_spinner=False)
def _file_methods(stamp: str, path: str, mtime: float) -> tuple[str, list[str]]:
    return defaults.file_embedder_methods(ds, path, sels)  # validated once per file version


def _start(cfg: dict) -> None:
    try:
        with st.spinner("checking the settings and starting the run…"):
            run_id = start_run(RunConfig.from_dict(cfg), background=True)
        st.session_state[WATCH_KEY] = run_id
        st.session_state["train_started"] = st.session_state.get("train_started", 0) + 1  # a fresh tick box
        st.success(f"Run **{run_id}** started in the background. You can close this tab: it keeps going.")
    except ColdstartError as e:
        ui.show_error(e, "could not start the run")


# ------------------------------------------------------------------ quick demo
def _method_words(m: str) -> str:
    """A demo method in words, its name beside: what a clinician reads before the code."""
    emb, _, sel = m.rpartition(":")
    if not emb:
        return "random picks" if m == "random" else f"`{m}`"
    if emb.startswith("pixels"):
        return f"the naive clustering on raw pixels (`{m}`)"
    return f"the paper's clustering on `{emb}` features (`{m}`)" if sel == "kmeans-paper" else f"`{m}`"


demo = dict(defaults.quick_demo(ds, embs), dataset=ds.name)
with st.container(border=True):
    q1, q2 = st.columns([3, 1], vertical_alignment="center")
    demo_est = None
    with ui.guarded("the quick demo's estimate"):
        demo_est = estimate_run(RunConfig.from_dict(demo), dataset=ds)
    q1.markdown(
        f"**Quick demo**: the quick probe comparing {', '.join(map(_method_words, demo['methods'][:-1]))} and "
        f"{_method_words(demo['methods'][-1])} at budgets "
        f"{', '.join(map(str, demo['budgets']))} with {len(demo['seeds'])} seeds"
        + (f", results per `{demo['strata']}` stratum" if demo["strata"] else "")
        + (f": {rv.estimate_text(demo_est, short=True)}." if demo_est is not None else "."))
    demo_go = q2.button("Run the quick demo", key="train_demo", icon=":material/bolt:", width="stretch")
if demo_go:
    _start(demo)

with st.expander("Start a new run", expanded=not len(list_runs(ds.name))):
    # no st.form: Enter in a field must never start a run (a run can take days of CPU)
    task = st.radio("What should the model learn?", ["probe", "classification", "segmentation"],
                    key="train_task", horizontal=True,
                    format_func={"probe": "quick probe", "classification": "classification (VGG-11)",
                                 "segmentation": "segmentation (U-Net)"}.get)
    st.caption("  \n".join(f"**{k}**: {v}" for k, v in TASK_HELP.items()))
    file_methods: list[str] = []
    with st.popover("Your own embeddings (optional)", icon=":material/upload_file:"):
        byo = st.text_input("Embeddings file", key="train_file_embeddings",
                            placeholder="/path/to/embeddings.npy (.npz, .parquet or .csv with ids)",
                            help="Features of a model coldstart cannot run (CXR Foundation, REMEDIS...): a .npy "
                                 "(N, D) in manifest order, a .npz with 'id' and 'embeddings', or a "
                                 ".parquet/.csv with an 'id' column. Adds file:<path> methods below.")
        if byo.strip():
            from pathlib import Path

            p = Path(byo.strip().removeprefix("file:")).expanduser()
            try:
                fname, file_methods = _file_methods(ui.dataset_stamp(ds), str(p),
                                                    p.stat().st_mtime if p.is_file() else 0.0)
                st.success(f"Read and checked against the {len(ds):,} images: `{fname}`",
                           icon=":material/check_circle:")
            except ColdstartError as e:
                st.error(str(e), icon=":material/error:")
    all_methods = defaults.method_options(embs, sels) + file_methods
    methods = st.multiselect("Methods (features : how images are chosen)", all_methods,
                             default=defaults.default_run_methods(ds, embs, sels, "paper"), key="train_methods",
                             help="'random' is the reference. 'pixels:kmeans-paper' is the paper's naive "
                                  "clustering; a foundation model's features with kmeans-paper is the paper's "
                                  "method; 'kmeans' is a fast approximation of the paper's protocol.\n\n"
                                  + "\n".join(f"- **{k}**: {v}" for k, v in sel_summary.items()))
    c3, c4, c5, c6 = st.columns(4)
    budgets = c3.text_input("Budgets (images labelled)", "20,40,60,80,100", key="train_budgets",
                            help=f"Comma-separated, increasing. The pool has {n_pool} training images.")
    # the seeds follow the task and preset (the paper's 2024) until the user types their own
    auto_seeds = defaults.seeds_text(defaults.default_seeds(task, st.session_state.get("train_preset", "paper")))
    if st.session_state.get("train_seeds") in (None, st.session_state.get("_train_seeds_auto")):
        st.session_state["train_seeds"] = auto_seeds
    st.session_state["_train_seeds_auto"] = auto_seeds
    seeds_typed = c4.text_input("Seeds (repeats)", key="train_seeds",
                                help="Comma-separated, e.g. 0,1,2 or 2024 (the paper's seed); 0-4 is a range. "
                                     "More seeds give tighter error bars and take longer. Default: 2024 for "
                                     "network training with the paper's settings, else 0-4.")
    preset = c5.selectbox("Training settings", ["paper", "quick"], key="train_preset",
                          help="'paper': the paper's settings (SGD, 100 epochs, batch 10, pixels / 255, LR "
                               "halved after 10 epochs without improvement, ImageNet VGG-11 weights, "
                               "threshold-centred AL rounds, positive-only segmentation). 'quick': 8 epochs "
                               "at 64 px, sized for a computer without a GPU. The quick probe ignores this.")
    imagenet = True
    if task in EPOCH_TASKS:  # the probe uses no network weights: no toggle, no weights warning
        imagenet = st.toggle("Start VGG-11 / U-Net from ImageNet weights (the paper)", True, key="train_imagenet",
                             help="Off: random initialisation, reported in every table.")
        missing = pretrained_notice(task, resolve_params(task, preset, {"pretrained": "imagenet" if imagenet
                                                                        else "none"}))
        if missing:
            st.warning(missing[0].upper() + missing[1:] + ".", icon=":material/warning:")
    workers = c6.number_input("Parallel workers", 1, 64, default_workers(), key="train_workers",
                              help="Processes training parts at once (default: one per core). "
                                   "The results do not depend on it.")
    with st.popover("Run on a Ray cluster (optional)"):
        executor = st.radio("Units run", ["local", "ray"], horizontal=True, key="train_executor",
                            help="local: this machine. ray: one Ray task per part (pip install -e \".[scale]\"; "
                                 "docs/scale.md). The results do not depend on it.")
        address = st.text_input("Ray address", "", key="train_address", placeholder="auto or HOST:PORT",
                                help="Empty: a local Ray instance. The run folder must be on storage the "
                                     "cluster shares (COLDSTART_DATA).")
    strata_opts = ["(none)", *stratifier_columns(ds.manifest)]
    strata_col = st.selectbox("Per-stratum results (optional)", strata_opts, key="train_strata",
                              index=strata_opts.index(defaults.default_strata(ds) or "(none)"),
                              help="A manifest column such as 'subgroup' or 'protocol': each stratum's positive "
                                   "images are also scored against all negatives (hidden stratification).")
    with st.popover("Active learning after the first selection (optional)"):
        rounds = st.number_input("Rounds", 0, 20, 0, key="train_rounds",
                                 help="After the first budget, label this many more rounds chosen by "
                                      "the model's uncertainty. 0 = off.")
        query = st.number_input("Images per round", 1, 200, 20, key="train_query")
        from coldstart.train.al import ROUND_STRATEGIES as AL_STRATEGIES

        strategy = st.selectbox("Round strategy", list(AL_STRATEGIES), key="train_strategy",
                                help="'threshold' (the paper's): probabilities nearest the decision threshold.")
        ood_filter = st.number_input("Drop likely OOD images before each query (fraction)", 0.0, 0.5, 0.0,
                                     0.05, key="train_ood_filter")
    seeds, seeds_error = [], None
    try:
        seeds = defaults.parse_seeds(seeds_typed)
    except ColdstartError as e:
        seeds_error = e
    cfg = dict(dataset=ds.name, task=task, methods=methods, budgets=budgets, seeds=seeds,
               preset=preset, rounds=int(rounds), query_size=int(query), strategy=strategy, workers=int(workers),
               executor=executor, address=address.strip() or None,
               strata=None if strata_col == "(none)" else strata_col,
               ood_filter=float(ood_filter))
    if task != "probe":
        cfg["train"] = {"pretrained": "imagenet" if imagenet else "none"}
    est, ok = None, seeds_error is None
    if seeds_error is not None:
        st.error(str(seeds_error), icon=":material/error:")
    else:
        try:
            built = RunConfig.from_dict(cfg)
            est = estimate_run(built, dataset=ds)
            st.caption(rv.preset_text(built))
        except ColdstartError as e:
            ok = False
            st.error(str(e), icon=":material/error:")
    if est is not None:
        st.markdown(f"**Estimate:** {rv.estimate_text(est)}")
    sure = True
    if est is not None and est.needs_confirmation:
        sure = st.checkbox(f"Start anyway: {rv.estimate_text(est, short=True)}",
                           key=f"train_confirm_{st.session_state.get('train_started', 0)}",
                           help="Runs over 5 minutes (or network training with no earlier run to measure "
                                "from) need this tick, so that no long run starts by accident.")
    go = st.button("Start run", type="primary", icon=":material/play_arrow:", key="train_start",
                   disabled=not (ok and sure))

if go:
    if "random" not in methods:
        st.warning("Random picks are not in the methods: the Compare page will have no reference.")
    _start(cfg)


# ------------------------------------------------------------------ watching
LIVE = ("running", "starting")
runs = list_runs(ds.name)
if runs.empty:
    st.info("No runs yet for this dataset. Start one above: the quick probe with the defaults is a good first run.")
    st.stop()
live_at_start = frozenset(runs.loc[runs["status"].isin(LIVE), "run_id"])
test_labels = ds.labels[ds.splits == "test"]


def live_panel(store: RunStore, p: dict) -> None:
    status, task = p["status"], store.raw_config.get("task", "probe")
    total, done = p["units_total"] or 0, p["units_done"]
    epochs = task in EPOCH_TASKS
    cols = st.columns([2, 1, 1] if epochs else [2, 1])
    cols[0].markdown(f"**{store.run_id}**  \n{rv.status_markdown(status)}")
    cols[1].metric("Parts done", f"{done} / {total}",
                   help="One part = one method x budget x seed (or one active-learning round).")
    if epochs:
        cols[2].metric("Current epoch", f"{p['epoch']} / {p['epochs']}" if p.get("epoch") else "—")
    st.progress(done / total if total else 0.0,
                text=f"now: {unit_words(p['current_unit'])}" if p.get("current_unit") else None)
    if status == "running":
        eta, basis = live_eta(store, p)
        st.caption(f"Time left: about {rv.eta_text(eta)} ({basis})" if eta is not None else
                   "Time left: measured once the first part (or, for network training, the first epoch) ends.")
    if status == "failed":
        st.error(f"The run stopped with an error: {p['error'] or 'see runner.log'}", icon=":material/error:")
        st.info(rv.error_advice(p.get("error_kind")), icon=":material/lightbulb:")
    elif status == "interrupted":
        st.warning("The run was interrupted (the computer restarted or the process was killed). "
                   "Press Resume: finished parts are kept.")
    res = store.results()
    if len(res):
        m = run_metrics(task, res)[0]
        ceiling = None
        if task == "probe" and m in ("ap", "auroc"):  # the probe on every train label: what a cold start tends to
            with ui.guarded("the full-label ceiling"):
                cfg = store.config
                ceiling = loaders.reference_levels(ds, cfg.probe_embedding(cfg.methods[0]))[1].get("all", {}).get(m)
        st.plotly_chart(rv.live_figure(res, m, chance=rv.chance_level(m, test_labels), ceiling=ceiling),
                        key=f"train_live_{store.run_id}", width="stretch")
        st.caption(f"{rv.metric_name(m)} on the test images for each finished part (dots: seeds; line: mean; "
                   "dotted: a random guess and, for the probe, the full-label ceiling). The curves grow as parts "
                   "finish.")
    elif status in LIVE:
        st.caption("Training the first part: the curve appears when it ends." if epochs else
                   "Waiting for the first part to finish (embedding the images may come first)…")


@st.fragment(run_every=2.0 if live_at_start else None)
def watch_section() -> None:
    """Run picker, live panel, buttons and past runs: all refreshed together while a run is live."""
    runs = list_runs(ds.name)
    if frozenset(runs.loc[runs["status"].isin(LIVE), "run_id"]) != live_at_start:
        st.rerun()  # a run started or ended: refresh the whole page (polling, buttons)
    ids = runs["run_id"].tolist()
    if st.session_state.get(WATCH_KEY) not in ids:
        running = runs[runs["status"].isin(LIVE)]
        st.session_state[WATCH_KEY] = running["run_id"].iat[0] if len(running) else ids[0]
    desc = {r.run_id: f"{r.run_id} · {r.task} · {rv.status_text(r.status)} · {r.units_done}/{r.units_total}"
            for r in runs.itertuples()}
    st.subheader("Run")
    st.selectbox("Which run to watch", ids, key=WATCH_KEY, format_func=desc.get)
    store = RunStore(ds.name, st.session_state[WATCH_KEY])
    p = store.progress()
    live = p["status"] in LIVE
    live_panel(store, p)

    b = st.columns([1, 1, 1, 3])
    if b[0].button("Cancel run", key="train_cancel", disabled=not live, icon=":material/stop:"):
        with ui.guarded("cancel"):
            s = cancel_run(ds.name, store.run_id)  # waits until the runner has recorded it
            st.toast(f"Run {store.run_id}: {s}")
            st.rerun()
    if b[1].button("Resume run", key="train_resume", icon=":material/replay:",
                   disabled=live or p["status"] == "finished"):
        with ui.guarded("resume"):
            resume_run(ds.name, store.run_id, background=True)  # "starting" until the runner takes over
            st.toast(f"Run {store.run_id} resumed in the background")
            st.rerun()
    if p["status"] == "finished":
        rv.page_link("pages/3_Compare.py", "Compare results", ":material/bar_chart:", b[2])

    st.subheader("Past runs")
    show = runs.assign(status=runs["status"].map(rv.status_text),
                       progress=[f"{d}/{t}" for d, t in zip(runs["units_done"], runs["units_total"])])
    st.dataframe(show[["run_id", "status", "progress", "task", "created", "methods"]], hide_index=True,
                 width="stretch")


watch_section()
