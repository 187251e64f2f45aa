"""Phantom segmentation benchmark: U-Net (VGG-11 encoder) at ``quick`` settings on the default phantom pool.

Methods random / naive (pixels + kmeans) / ssl-pool + kmeans (when an ssl-pool model
exists or ``--ssl-epochs`` > 0) x budgets x a few seeds. Writes Dice (SE) tables, the long
CSV and timings under ``benchmarks/out/phantom_seg/``.

Usage (from the project root)::

    .venv/bin/python benchmarks/phantom_seg.py --budgets 20,100 --seeds 0,1,2
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
    ap.add_argument("--out", default=str(HERE / "out" / "phantom_seg"))
    ap.add_argument("--budgets", default="20,100")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="random,pixels:kmeans")
    ap.add_argument("--ssl-epochs", type=int, default=0, help="> 0: pretrain ssl-pool and add ssl-pool:kmeans")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--pretrained", default="imagenet", choices=["imagenet", "none"],
                    help="initial U-Net encoder weights (the paper: imagenet; the file must be present)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    os.environ["COLDSTART_DATA"] = str(Path(a.data_root).resolve())
    os.environ.setdefault("COLDSTART_THREADS", str(a.threads))
    import torch

    torch.set_num_threads(a.threads)
    from coldstart.data import Dataset, list_datasets
    from coldstart.data.phantom import generate_phantom
    from coldstart.embed import load_embeddings, pretrain_ssl
    from coldstart.runs import RunConfig, RunStore, report_table, start_run
    from coldstart.runs.report import summarize

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t = time.time()
    if "phantom" not in list_datasets():
        generate_phantom("phantom", progress=True)
    ds = Dataset("phantom")
    timings["phantom_s"] = time.time() - t
    t = time.time()
    load_embeddings(ds, "pixels")
    methods = a.methods.split(",")
    if a.ssl_epochs > 0:
        from coldstart.embed.ssl_pool import newest_model

        if newest_model(ds) is None:
            pretrain_ssl(ds, epochs=a.ssl_epochs, arch="tiny", input_size=64, seed=0, progress=True)
        emb = f"ssl-pool:{newest_model(ds)}"  # explicit: the newest model of this pool
        load_embeddings(ds, emb)
        methods.append(f"{emb}:kmeans")
    timings["embed_s"] = time.time() - t
    train = {"device": a.device, "pretrained": a.pretrained}
    if a.preset == "quick":
        train["size"] = a.size
    if a.epochs:
        train["epochs"] = a.epochs
    budgets = [int(b) for b in a.budgets.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    t = time.time()
    rid = start_run(RunConfig(dataset="phantom", task="segmentation", methods=methods, budgets=budgets,
                              seeds=seeds, preset=a.preset, train=train, name="bench-seg"),
                    background=False, progress=True)
    timings["seg_grid_s"] = time.time() - t
    timings["units"] = len(methods) * len(budgets) * len(seeds)
    timings["device"] = "cuda" if torch.cuda.is_available() and a.device != "cpu" else "cpu"
    r = RunStore("phantom", rid).results()
    r.to_csv(out / "seg_results.csv", index=False)
    summarize(r).to_csv(out / "seg_summary.csv", index=False)
    with open(out / "seg_report.md", "w") as fh:
        for m in ("dice", "hd_paper", "hd_surface", "hd95_surface"):
            fh.write(report_table(r, m, "markdown") + "\n")
            print(report_table(r, m, "text"), flush=True)
    timings["run_id"] = rid
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
