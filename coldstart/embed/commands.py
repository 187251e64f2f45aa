"""CLI: ``coldstart embed``, ``coldstart embedders``, ``coldstart pretrain``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ColdstartError


def register(sub) -> None:
    p = sub.add_parser("embed", help="embed a dataset with one embedder (cached on disk)",
                       description="Embed every image of DATASET; the result is cached in "
                                   "<data>/<DATASET>/cache/emb/<key>.npy and an interrupted run resumes.")
    p.add_argument("dataset")
    p.add_argument("--embedder", "-e", default=None, metavar="NAME",
                   help="see `coldstart embedders`; file:PATH for your own, ssl-pool:MODEL-ID (default: the "
                        "dataset's default embedder, marked in `coldstart embedders DATASET`)")
    p.add_argument("--out", metavar="FILE.npy", default=None,
                   help="also write the embedding matrix (float32, rows in manifest order) to FILE.npy")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda when present)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--ray", action="store_true", help='compute on Ray Data (pip install -e ".[scale]"; docs/scale.md)')
    p.add_argument("--address", default=None, help="Ray cluster for --ray: auto, HOST:PORT, ray://HOST:PORT "
                   "(default: a local Ray instance)")
    p.add_argument("--concurrency", type=int, default=None, help="model actors for --ray (default: one per GPU, else 1)")
    p.add_argument("--force", action="store_true",
                   help="discard this embedder's cached result (and partial chunks) and compute again")
    p.add_argument("--download", action="store_true",
                   help="download missing weights into $COLDSTART_WEIGHTS first (needs internet)")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("embedders", help="table of embedders, whether they can run here and why not")
    p.add_argument("dataset", nargs="?", help="also list this dataset's ssl-pool models")
    p.set_defaults(func=cmd_embedders)

    p = sub.add_parser("weights", help="model weight files: where they are looked for, and download them",
                       description="Without arguments: one row per weight file (present or not, where to "
                                   "put it, its URL). `coldstart weights download ID` fetches one into "
                                   "$COLDSTART_WEIGHTS with progress and checks it.")
    p.add_argument("action", nargs="?", choices=["list", "download"], default="list")
    p.add_argument("weights_id", nargs="?", metavar="ID", help="a weights id (see the list)")
    p.set_defaults(func=cmd_weights)

    p = sub.add_parser("pretrain", help="self-supervised (SimCLR) pre-training on a dataset's own pool",
                       description="Train the ssl-pool encoder on the unlabeled pool of DATASET; "
                                   "then use --embedder ssl-pool:MODEL-ID (`coldstart embedders DATASET` lists them).")
    p.add_argument("dataset")
    p.add_argument("--preset", choices=["cpu", "gpu"], default=None,
                   help="training settings (default: gpu when CUDA is present, else cpu)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.set_defaults(func=cmd_pretrain)


def cmd_embed(args: argparse.Namespace) -> int:
    from ..data import Dataset
    from . import get_embedder

    ds = Dataset(args.dataset)
    if args.embedder is None:
        from . import default_embedder

        args.embedder, why = default_embedder(ds)
        print(f"embedder: {args.embedder} ({why})")
    if args.download:
        from .weights import download

        wid = getattr(get_embedder(args.embedder, ds), "weights_id", None)
        if wid:
            print(f"weights: {download(wid, progress=True)}")
    if args.force:
        from . import clear_cache

        clear_cache(ds, args.embedder)
    from . import embedding_chunks, ensure_embeddings

    fill = None
    if getattr(args, "ray", False):  # callers may build the Namespace themselves
        from .ray_embed import ray_fill

        fill = ray_fill(address=getattr(args, "address", None), concurrency=getattr(args, "concurrency", None))
    info = ensure_embeddings(ds, args.embedder, device=args.device, batch_size=args.batch_size, progress=True,
                             fill=fill)
    n, d = info["shape"]
    print(f"{args.embedder}: {n} x {d} ({info['dtype']} on disk) -> {ds.cache_dir('emb') / (info['key'] + '.npy')}")
    if args.out:
        import numpy as np

        from ..io import atomic_path

        out = Path(args.out).expanduser()
        if out.suffix != ".npy":
            raise ColdstartError(f"--out {args.out!r} must end in .npy: the matrix is written with numpy.save")
        with atomic_path(out, suffix=".npy") as tmp:  # block by block: never the whole float32 matrix
            y = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, d))
            for rows, block in embedding_chunks(ds, args.embedder):
                y[rows[0]:rows[-1] + 1] = block
            y.flush()
            del y
        print(f"wrote {out} (float32, {n} rows in manifest order, ids in {ds.dir / 'manifest.parquet'})")
    return 0


def cmd_embedders(args: argparse.Namespace) -> int:
    from . import default_embedder, list_embedders

    df = list_embedders(args.dataset)
    w = max(len(n) for n in df["name"]) + 2
    print(f"{'name':<{w}}  {'ready':<5}  {'dim':>5}  reason")
    for r in df.itertuples():
        dim = "" if r.dim is None or str(r.dim) == "<NA>" else str(r.dim)
        name = f"{r.name} *" if r.default else r.name
        print(f"{name:<{w}}  {'yes' if r.available else 'no':<5}  {dim:>5}  {r.reason}")
    name, why = default_embedder(args.dataset, df)
    print(f"* default: {name} ({why})")
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    from .weights import WEIGHTS, download, get_weights

    if args.action == "download":
        if not args.weights_id:
            raise ColdstartError(f"give the weights id to download: one of {sorted(WEIGHTS)}")
        w = get_weights(args.weights_id)
        print(f"{w.id}: {download(w.id, progress=True)}")
        return 0
    for w in WEIGHTS.values():
        p = w.find()
        print(f"{w.id:<34} {'present ' + str(p) if p else 'missing: ' + w.manual()}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from ..data import Dataset
    from ..io import read_json
    from . import pretrain_ssl

    ds = Dataset(args.dataset)
    preset = args.preset
    if preset is None:
        import torch

        preset = "gpu" if torch.cuda.is_available() and (args.device or "cuda").startswith("cuda") else "cpu"
    model_id = pretrain_ssl(ds, preset=preset, epochs=args.epochs, seed=args.seed, device=args.device,
                            progress=True)
    card = read_json(ds.dir / "models" / f"{model_id}.json")
    print(f"model {model_id}: {card['epochs']} epochs on {card['n_images']} images in {card['seconds']:.0f} s, "
          f"loss {card['loss_curve'][0]:.3f} -> {card['loss_curve'][-1]:.3f}")
    print(f"use it: coldstart embed {ds.name} --embedder ssl-pool:{model_id}")
    return 0
