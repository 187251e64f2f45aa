"""Simulated-annotator experiment: phantom pool with 10% OOD + 5% ambiguous images, 10% label noise.

AUPRC at budgets 20..100 for random, kmeans, typiclust, balanced and ood-aware (probe task,
5 seeds), plus the budget each method wasted on out-of-distribution picks. Writes tables
under ``benchmarks/out/phantom_oracle/``.

Usage (from the project root)::

    .venv/bin/python benchmarks/phantom_oracle.py [--ssl-epochs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchmarks/ holds scripts named like stdlib modules (select.py): keep it off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=str(HERE / "out" / "data"))
    ap.add_argument("--out", default=str(HERE / "out" / "phantom_oracle"))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--budgets", default="20,40,60,80,100")
    ap.add_argument("--noise", type=float, default=0.10)
    ap.add_argument("--ssl-epochs", type=int, default=0,
                    help="> 0: select in an ssl-pool (contrastive) space trained on the pool; else pixels")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    os.environ["COLDSTART_DATA"] = str(Path(a.data_root).resolve())
    import torch

    torch.set_num_threads(a.threads)
    from coldstart.data import Dataset, list_datasets
    from coldstart.data.phantom import generate_phantom
    from coldstart.embed import load_embeddings, pretrain_ssl
    from coldstart.runs import RunConfig, RunStore, report_table, start_run
    from coldstart.runs.report import _markdown, summarize

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t = time.time()
    name = "phantom-ood"
    if name not in list_datasets():
        generate_phantom(name, ood_fraction=0.10, ambiguous_fraction=0.05, progress=True)
    ds = Dataset(name)
    timings["phantom_s"] = time.time() - t
    t = time.time()
    load_embeddings(ds, "pixels")
    emb = "pixels"
    if a.ssl_epochs > 0:
        from coldstart.embed.ssl_pool import newest_model

        if newest_model(ds) is None:
            pretrain_ssl(ds, epochs=a.ssl_epochs, arch="tiny", input_size=64, seed=0, progress=True)
        emb = f"ssl-pool:{newest_model(ds)}"  # explicit: the newest model of this pool
        load_embeddings(ds, emb)
    timings["embed_s"] = time.time() - t
    methods = ["random"] + [f"{emb}:{s}" for s in ("kmeans", "typiclust", "balanced", "ood-aware")]
    t = time.time()
    rid = start_run(RunConfig(dataset=name, task="probe", methods=methods,
                              budgets=[int(b) for b in a.budgets.split(",")],
                              seeds=[int(s) for s in a.seeds.split(",")], probe_embedder=emb,
                              oracle={"noise": a.noise, "ood_policy": "waste", "ambiguous_policy": "random"},
                              name="bench-oracle"), background=False, progress=True)
    timings["grid_s"] = time.time() - t
    r = RunStore(name, rid).results()
    r.to_csv(out / "oracle_results.csv", index=False)
    s = summarize(r, "auprc")
    s.to_csv(out / "oracle_summary.csv", index=False)
    wasted = s.pivot_table(index="method", columns="budget", values="wasted_mean", sort=False)
    with open(out / "oracle_report.md", "w") as fh:
        fh.write(report_table(r, "auprc", "markdown") + "\n")
        fh.write("Mean images wasted (OOD picks: budget spent, no usable label)\n\n" + _markdown(wasted.map(lambda v: f"{v:.1f}").rename(columns=str)) + "\n")
    print(report_table(r, "auprc", "text"))
    print("wasted (mean over seeds):\n" + wasted.to_string())
    timings["run_id"] = rid
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
