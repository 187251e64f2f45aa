"""CLI: ``coldstart run``, ``runs``, ``resume``, ``cancel``, ``report``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ColdstartError


def register(sub) -> None:
    p = sub.add_parser("run", help="train and compare selection methods (a run)",
                       description="Run a config file, or the same settings given as flags. Prints the run id.")
    p.add_argument("config", nargs="?", help="YAML run config (flags below override its values)")
    p.add_argument("--dataset")
    p.add_argument("--task", choices=["probe", "classification", "segmentation"])
    p.add_argument("--methods", help="comma-separated embedder:selector, e.g. random,pixels:kmeans")
    p.add_argument("--budgets", help="comma-separated, e.g. 20,40,60,80,100")
    p.add_argument("--seeds", help="comma-separated, e.g. 0,1,2 (default 0,1,2,3,4; the paper's 2024 for a "
                   "classification or segmentation run under --preset paper)")
    p.add_argument("--preset", choices=["quick", "paper"],
                   help="training settings: paper (the paper's protocol: 224 px, 100 epochs, sigmoid score, the "
                        "authors' SE, 10 random draws) or quick (CPU-sized); default quick, printed at the start")
    p.add_argument("--rounds", type=int, help="active-learning rounds after the first budget")
    p.add_argument("--query-size", type=int, dest="query_size")
    p.add_argument("--strategy", help="AL round strategy (threshold, least-confidence, margin, entropy, bald, "
                                      "badge, balanced, random); default: the preset's (paper: threshold)")
    p.add_argument("--ood-filter", type=float, dest="ood_filter",
                   help="AL rounds: drop this fraction of unlabeled images with the highest OOD score before "
                        "each query, e.g. 0.1")
    p.add_argument("--no-cold-start", action="store_true", help="only the AL continuation")
    p.add_argument("--warm-start", action="store_true")
    p.add_argument("--val-mode", choices=["split", "holdout"], dest="val_mode")
    p.add_argument("--probe-embedder", dest="probe_embedder")
    p.add_argument("--noise", type=float, help="oracle label-noise rate (symmetric)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="training override, e.g. --set epochs=3 --set size=32")
    p.add_argument("--strata", help="categorical manifest column for per-stratum metrics, e.g. subgroup")
    p.add_argument("--workers", type=int, help="processes training units at once (default: one per core)")
    p.add_argument("--executor", choices=["local", "ray"], help="where units run: this machine (default) or a "
                   'Ray cluster (pip install -e ".[scale]"; docs/scale.md)')
    p.add_argument("--address", help="Ray cluster for --executor ray: auto, HOST:PORT or ray://HOST:PORT "
                   "(default: a local Ray instance)")
    p.add_argument("--background", action="store_true", help="run detached; follow with `coldstart runs`")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("runs", help="list runs with their status")
    p.add_argument("dataset", nargs="?")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("resume", help="continue a stopped run from its last finished unit")
    p.add_argument("run")
    p.add_argument("--background", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("cancel", help="stop a running run (finished units are kept)")
    p.add_argument("run")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("report", help="paper-layout table of a run (rows methods, columns budgets)")
    p.add_argument("run")
    p.add_argument("--metric", default=None, help="one metric, e.g. ap (AUPRC as average precision), auprc_trapz "
                   "(the paper's trapezoid AUPRC), f1, dice, hd_paper (the paper's HD), hd_surface (surface HD in "
                   "px); default: every metric of the run, after a header naming preset, seeds and SE")
    p.add_argument("--format", default="text", choices=["text", "csv", "markdown", "latex"])
    p.set_defaults(func=cmd_report)


def config_from_args(args) -> dict:
    import yaml

    d: dict = {}
    if args.config:
        from pathlib import Path

        p = Path(args.config)
        if not p.is_file():
            raise ColdstartError(f"config file {p} not found: give a YAML run config or use --dataset ... flags")
        try:
            d = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ColdstartError(f"{p} is not valid YAML: {e}") from None
        if not isinstance(d, dict):
            raise ColdstartError(f"{p}: a run config must be a mapping of settings (key: value lines), "
                                 f"got {type(d).__name__}")
    for k in ("dataset", "task", "methods", "budgets", "seeds", "preset", "rounds", "query_size", "strategy",
              "val_mode", "probe_embedder", "ood_filter", "workers", "strata", "executor", "address"):
        v = getattr(args, k)
        if v is not None:
            d[k] = v
    if args.no_cold_start:
        d["cold_start"] = False
    if args.warm_start:
        d["warm_start"] = True
    if args.noise is not None:
        d.setdefault("oracle", {})["noise"] = args.noise
    if args.set:
        from ..params import parse_key_values

        d.setdefault("train", {}).update(parse_key_values(args.set, "--set"))
    if "dataset" not in d:
        raise ColdstartError("which dataset? give --dataset NAME or a config file with 'dataset:'")
    return d


def cmd_run(args) -> int:
    from .config import RunConfig
    from .runner import create_run, execute, _spawn

    from ..train.torchloop import pretrained_notice

    import warnings

    from ..train.presets import preset_summary
    from .config import PresetNotice

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PresetNotice)
        cfg = RunConfig.from_dict(config_from_args(args))
    for w in caught:
        if issubclass(w.category, PresetNotice):
            print(f"notice: {w.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print(f"{preset_summary(cfg.preset, cfg.task)}; seeds {','.join(map(str, cfg.seeds))}", flush=True)
    notice = pretrained_notice(cfg.task, cfg.params)
    if notice:
        print(f"warning: {notice}", file=sys.stderr, flush=True)
    d = create_run(cfg)
    print(f"run id: {d.name}", flush=True)
    if args.background:
        pid = _spawn(d)
        print(f"running in the background (pid {pid}); follow with `coldstart runs {cfg.dataset}`, "
              f"report with `coldstart report {d.name}`")
        return 0
    execute(d, progress=True)
    from .store import RunStore

    st = RunStore.from_dir(d)
    print(f"run {d.name}: {st.status()}; table with `coldstart report {d.name}`")
    return 0


def cmd_runs(args) -> int:
    from .store import list_runs

    df = list_runs(args.dataset)
    if not len(df):
        print("no runs yet: start one with `coldstart run --dataset NAME ...`")
        return 0
    print(df.to_string(index=False))
    return 0


def cmd_resume(args) -> int:
    from .runner import resume_run

    resume_run(None, args.run, background=args.background, progress=None if args.background else True)
    print(f"run {args.run}: " + ("resumed in the background" if args.background else "done"))
    return 0


def cmd_cancel(args) -> int:
    from .runner import cancel_run

    print(f"run {args.run}: {cancel_run(None, args.run)}")
    return 0


def cmd_report(args) -> int:
    from .report import report_table
    from .store import RunStore, find_run

    ds, d = find_run(args.run)
    st = RunStore.from_dir(d)
    sys.stdout.write(report_table(st.results(), args.metric, args.format, st.raw_config, st.run_id))
    return 0
