"""CLI of the maps stage: ``coldstart map`` (precompute a 2-D map for the Explore page)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("map", help="compute the 2-D map (UMAP/PCA/t-SNE) the Explore page shows",
                       description="Project the embeddings of DATASET to 2-D and cache the result in "
                                   "<data>/<DATASET>/cache/map/, so the Explore page opens instantly. "
                                   "Embeddings are computed first when they are not cached.")
    p.add_argument("dataset")
    p.add_argument("--embedder", "-e", default=None, metavar="NAME",
                   help="embedder whose features are projected (default: the dataset's default embedder, "
                        "marked * in `coldstart embedders`)")
    p.add_argument("--method", "-m", default="umap", choices=["umap", "pca", "tsne"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="recompute even when cached")
    p.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    import time

    from .. import maps
    from ..data import Dataset
    from ..embed import get_embedder, load_embeddings

    ds = Dataset(args.dataset)
    maps.check_method(args.method)
    if args.embedder is None:
        from ..embed.registry import default_embedder

        args.embedder = default_embedder(ds)[0]
    key = get_embedder(args.embedder, ds).key
    feats = load_embeddings(ds, args.embedder, progress=True)
    t0 = time.perf_counter()
    y = maps.load_or_compute_map(ds, feats, key, args.method, args.seed, progress=True, force=args.force)
    print(f"{args.method} map of {args.embedder} for {ds.name}: {y.shape[0]} points "
          f"({time.perf_counter() - t0:.1f} s) in {ds.cache_dir('map')}")
    return 0
