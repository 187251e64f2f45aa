"""CLI: ``coldstart select`` (pick images to annotate) and ``coldstart selectors`` (the registry)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("select", help="pick the first images to annotate (writes rank,index,id CSV)",
                       description="Run one selector on a dataset's cached embedding and write the picks "
                                   "as a CSV (rank 1 = first pick, index = manifest row).")
    p.add_argument("dataset")
    p.add_argument("--embedder", "-e", metavar="NAME",
                   help="embedding to select in (see `coldstart embedders`); not needed for random")
    p.add_argument("--selector", "-s", default="kmeans", metavar="NAME",
                   help="see `coldstart selectors` (default: kmeans, a fast approximation of the paper's "
                        "protocol; kmeans-paper is the paper's)")
    p.add_argument("--budget", "-b", type=int, required=True, help="number of images to pick")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train",
                   help="pool to pick from: a split name (default: train, so val/test stay untouched) or 'all'")
    p.add_argument("--out", "-o", metavar="CSV",
                   help="output file (default: <data>/<dataset>/selections/<embedder>_<selector>_b<B>_s<seed>.csv)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="selector parameter, repeatable (e.g. --param exclude=0.2)")
    p.add_argument("--backend", choices=["auto", "numpy", "faiss"], default=None,
                   help="kNN/KMeans backend (default auto: faiss from 100,000 images when installed; docs/scale.md)")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("selectors", help="list the registered selectors")
    p.set_defaults(func=cmd_selectors)


def parse_params(items: list[str]) -> dict:
    """``["k=20", "base=kmeans"]`` -> ``{"k": 20, "base": "kmeans"}`` (values read as YAML, else strings)."""
    from ..params import parse_key_values

    return parse_key_values(items, "--param")


def cmd_select(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..data import Dataset
    from ..errors import ColdstartError
    from ..io import atomic_path, write_json
    from .base import get_selector, select

    if args.backend:
        import os

        os.environ["COLDSTART_SELECT_BACKEND"] = args.backend
    ds = Dataset(args.dataset)
    spec = get_selector(args.selector)
    params = parse_params(args.param)
    if args.split == "all":
        pool = np.arange(len(ds.manifest))
    else:
        pool = np.flatnonzero(ds.manifest["split"].astype(str).to_numpy() == args.split)
        if len(pool) == 0:
            have = sorted(ds.manifest["split"].astype(str).unique())
            raise ColdstartError(f"dataset {ds.name!r} has no {args.split!r} images: choose --split "
                                 f"{' / '.join(have + ['all'])}")
    if args.embedder:
        from ..embed import load_embeddings

        X = load_embeddings(ds, args.embedder, progress=True)
        if len(X) != len(ds.manifest):
            raise ColdstartError(f"the {args.embedder!r} embedding has {len(X)} rows but the dataset has "
                                 f"{len(ds.manifest)}: re-run `coldstart embed {ds.name} --embedder {args.embedder}`")
        feats = X[pool]
    elif spec.needs_features:
        raise ColdstartError(f"selector {args.selector!r} needs features: add --embedder NAME "
                             f"(see `coldstart embedders`; pixels always works)")
    else:
        feats = len(pool)
    sel = select(args.selector, feats, args.budget, args.seed, **params)

    rows = pool[sel.indices]
    df = pd.DataFrame({"rank": sel.per_pick["rank"].to_numpy(), "index": rows,
                       "id": ds.manifest["id"].to_numpy()[rows]})
    for c in sel.per_pick.columns:
        if c not in ("rank", "index"):
            df[c] = sel.per_pick[c].to_numpy()
    out = args.out
    if not out:
        emb = (args.embedder or "none").replace(":", "-").replace("/", "-")
        out = ds.subdir("selections") / f"{emb}_{args.selector}_b{args.budget}_s{args.seed}.csv"
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False)
    info = {k: v for k, v in sel.info.items() if k != "coverage_curve"}
    info.update(dataset=ds.name, embedder=args.embedder, split=args.split, manifest_hash=ds.manifest_hash)
    write_json(str(out) + ".json", info)

    print(f"{args.selector} picked {len(rows)} of {len(pool)} {args.split} images "
          f"(embedder {args.embedder or 'none'}, seed {args.seed}) in {sel.info.get('time_s', 0):.2f} s -> {out}")
    labels, known = ds.labels[rows], ds.is_labeled()[rows]
    if known.any():
        counts = pd.Series(labels[known]).value_counts().sort_index()
        parts = [f"{ds.label_name(int(c))} {n}" for c, n in counts.items()]
        unk = int((~known).sum())
        print("class balance of picks: " + ", ".join(parts) + (f", unlabeled {unk}" if unk else ""))
    if "ood" in ds.manifest.columns and ds.ood[rows].any():
        print(f"out-of-distribution images among picks: {int(ds.ood[rows].sum())}")
    if "coverage_mean" in sel.info:
        print(f"coverage: mean {sel.info['coverage_mean']:.4g}, max {sel.info['coverage_max']:.4g} "
              f"(distance from each pool image to its nearest pick)")
    return 0


def cmd_selectors(args: argparse.Namespace) -> int:
    from .base import REGISTRY, list_selectors

    names = list_selectors(None)
    w = max(len(n) for n in names)
    for kind in ("cold-start", "uncertainty"):
        print(f"[{kind}]")
        for n in list_selectors(kind):
            print(f"  {n:<{w}}  {REGISTRY[n].summary}")
            for p in REGISTRY[n].params or ():  # the declared parameters (--param NAME=VALUE)
                rng = p.range_text() or (", ".join(p.choices) if p.choices else "")
                print(f"  {'':<{w}}    {p.name}={p.default!r} ({p.type.__name__}{'; ' + rng if rng else ''}"
                      f"{'; None allowed' if p.optional else ''}): {p.help}")
    return 0
