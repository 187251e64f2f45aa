"""Cold-start benchmark on real radiographs (../shared/data/pneumoniamnist).

Grid: random / naive (pixels + kmeans) / ssl-pool + kmeans / typiclust / probcover /
imbalance-aware (balanced) x budgets 20..100 x 5 seeds with the probe task; then the
VGG-11 task at ``quick`` settings on as many seeds as time allows; then uncertainty
rounds from 20 to 100. Writes, under ``benchmarks/out/pneumoniamnist/``, the report
tables (text, markdown, long CSV), per-seed learning-curve CSVs and ``timings.json``.

Usage (from the project root)::

    .venv/bin/python benchmarks/pneumoniamnist_coldstart.py                  # probe grid + AL
    .venv/bin/python benchmarks/pneumoniamnist_coldstart.py --cls-seeds 0,1  # + VGG-11 quick
    .venv/bin/python benchmarks/pneumoniamnist_coldstart.py --device cuda --cls-seeds 0,1,2,3,4 --cls-preset paper

Everything is cached: a second call reuses the import, embeddings and the SSL model.
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
ROOT = HERE.parent
NPZ = ROOT.parent / "shared" / "data" / "pneumoniamnist" / "pneumoniamnist.npz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--npz", default=str(NPZ))
    ap.add_argument("--data-root", default=str(HERE / "out" / "data"))
    ap.add_argument("--out", default=str(HERE / "out" / "pneumoniamnist"))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--budgets", default="20,40,60,80,100")
    ap.add_argument("--ssl-epochs", type=int, default=15, help="SimCLR epochs on the pool (0 = no ssl-pool methods)")
    ap.add_argument("--ssl-arch", default="tiny")
    ap.add_argument("--ssl-size", type=int, default=32)
    ap.add_argument("--probe-embedder", default=None, help="default: ssl-pool when trained, else pixels")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--strategy", default="least-confidence")
    ap.add_argument("--cls-seeds", default="", help="seeds of the VGG-11 grid ('' = skip)")
    ap.add_argument("--cls-methods", default="random,pixels:kmeans,ssl-pool:kmeans")
    ap.add_argument("--cls-preset", default="quick")
    ap.add_argument("--cls-pretrained", default="imagenet", choices=["imagenet", "none"],
                    help="initial VGG-11 weights (the paper: imagenet; the file must be present)")
    ap.add_argument("--cls-size", type=int, default=32, help="image size of the VGG-11 quick grid (images are 28 px)")
    ap.add_argument("--cls-budgets", default=None, help="budgets of the VGG-11 grid (default: --budgets)")
    ap.add_argument("--skip-probe", action="store_true", help="only the VGG-11 grid")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    os.environ["COLDSTART_DATA"] = str(Path(a.data_root).resolve())
    os.environ.setdefault("COLDSTART_THREADS", str(a.threads))
    import torch

    torch.set_num_threads(a.threads)
    from coldstart.data import Dataset, list_datasets
    from coldstart.data.importers.medmnist import import_medmnist
    from coldstart.embed import load_embeddings, pretrain_ssl
    from coldstart.runs import RunConfig, RunStore, report_table, start_run
    from coldstart.runs.report import learning_curves, summarize

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t = time.time()
    if "pneumoniamnist" not in list_datasets():
        import_medmnist(a.npz, "pneumoniamnist", flag="pneumoniamnist", seed=0)
    ds = Dataset("pneumoniamnist")
    timings["import_s"] = time.time() - t
    print(ds, ds.summary().to_string(), sep="\n", flush=True)

    t = time.time()
    load_embeddings(ds, "pixels")
    timings["embed_pixels_s"] = time.time() - t
    ssl = None
    if a.ssl_epochs > 0:
        t = time.time()
        if not _has_ssl(ds):
            pretrain_ssl(ds, preset="cpu" if a.device in ("auto", "cpu") and not torch.cuda.is_available() else "gpu",
                         epochs=a.ssl_epochs, seed=0, arch=a.ssl_arch, input_size=a.ssl_size, progress=True)
        timings["ssl_pretrain_s"] = time.time() - t
        t = time.time()
        from coldstart.embed.ssl_pool import newest_model

        ssl = f"ssl-pool:{newest_model(ds)}"  # explicit: the newest model of this pool
        load_embeddings(ds, ssl)
        timings["embed_ssl_s"] = time.time() - t
    feat = ssl or "pixels"
    methods = ["random", "pixels:kmeans"] + ([f"{ssl}:kmeans"] if ssl else []) + \
        [f"{feat}:typiclust", f"{feat}:probcover", f"{feat}:balanced"]
    probe_emb = a.probe_embedder or feat
    seeds = [int(s) for s in a.seeds.split(",")]
    budgets = [int(b) for b in a.budgets.split(",")]

    def record(tag, rid, metrics):
        st = RunStore("pneumoniamnist", rid)
        r = st.results()
        r.to_csv(out / f"{tag}_results.csv", index=False)
        with open(out / f"{tag}_report.md", "w") as fh:
            for m in metrics:
                fh.write(report_table(r, m, "markdown") + "\n")
        for m in metrics:
            (out / f"{tag}_{m}.txt").write_text(report_table(r, m, "text"))
        summarize(r).to_csv(out / f"{tag}_summary.csv", index=False)
        learning_curves(r, metrics[0]).to_csv(out / f"{tag}_learning_curve.csv", index=False)
        print(report_table(r, metrics[0], "text"), flush=True)

    # 1. probe grid (cold start)
    if a.skip_probe:
        a.rounds = 0
    t = time.time()
    if a.skip_probe:
        pass
    else:
        rid = start_run(RunConfig(dataset="pneumoniamnist", task="probe", methods=methods, budgets=budgets,
                                  seeds=seeds, probe_embedder=probe_emb, name="bench-probe"),
                        background=False, progress=True)
        timings["probe_grid_s"] = time.time() - t
        timings["probe_grid_units"] = len(methods) * len(budgets) * len(seeds)
        record("probe", rid, ["auprc", "auroc", "f1"])

    # 2. uncertainty rounds 20 -> 100 from each initial method (probe)
    if a.rounds:
        t = time.time()
        rid = start_run(RunConfig(dataset="pneumoniamnist", task="probe", methods=methods, budgets=budgets[:1],
                                  seeds=seeds, cold_start=False, rounds=a.rounds, query_size=20,
                                  strategy=a.strategy, probe_embedder=probe_emb, name="bench-al"),
                        background=False, progress=True)
        timings["probe_al_s"] = time.time() - t
        record("probe_al", rid, ["auprc", "auroc"])

    # 3. VGG-11 (quick on CPU, paper on a GPU)
    if a.cls_seeds:
        cm = [m.replace("ssl-pool", feat) if m == "ssl-pool:kmeans" else m
              for m in a.cls_methods.split(",")]
        cm = list(dict.fromkeys(cm))
        train = {"device": a.device, "pretrained": a.cls_pretrained}
        if a.cls_preset == "quick":
            train["size"] = a.cls_size
        t = time.time()
        cb = [int(b) for b in a.cls_budgets.split(",")] if a.cls_budgets else budgets
        rid = start_run(RunConfig(dataset="pneumoniamnist", task="classification", methods=cm, budgets=cb,
                                  seeds=[int(s) for s in a.cls_seeds.split(",")], preset=a.cls_preset,
                                  train=train, name="bench-vgg11"), background=False, progress=True)
        timings["vgg11_grid_s"] = time.time() - t
        timings["vgg11_units"] = len(cm) * len(cb) * len(a.cls_seeds.split(","))
        timings["vgg11_device"] = "cuda" if torch.cuda.is_available() and a.device != "cpu" else "cpu"
        record("vgg11", rid, ["auprc", "auroc", "f1"])

    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings, indent=2))
    return 0


def _has_ssl(ds) -> bool:
    from coldstart.embed.ssl_pool import newest_model

    return newest_model(ds) is not None


if __name__ == "__main__":
    sys.exit(main())
