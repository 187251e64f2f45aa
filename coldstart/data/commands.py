"""CLI of the data stage: ``coldstart import <source> ...`` and ``coldstart datasets``."""

from __future__ import annotations

import time


def register(sub) -> None:
    """Add ``import`` (with one sub-command per source) and ``datasets`` to the ``coldstart`` parser."""
    imp = sub.add_parser("import", help="import a data source as a canonical dataset",
                         description="Import a data source into <data root>/<name>/ "
                                     "(manifest.parquet, images/, masks/, import_report.csv).")
    src = imp.add_subparsers(dest="source", metavar="SOURCE")
    imp.set_defaults(func=lambda a: (imp.print_help(), 1)[1])

    p = src.add_parser("phantom", help="simulated chest radiographs rendered from a real CT (default pool)")
    p.add_argument("--name", default="phantom")
    p.add_argument("--n", type=int, default=800, help="number of images (default 800)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256, help="image size in pixels (default 256)")
    p.add_argument("--pos-rate", type=float, default=0.20, help="fraction of pneumothorax images (default 0.20)")
    p.add_argument("--ood-fraction", type=float, default=0.0, help="fraction of out-of-distribution images")
    p.add_argument("--ambiguous-fraction", type=float, default=0.0, help="fraction of ambiguous images")
    p.set_defaults(func=_phantom)

    p = src.add_parser("folder", help="a folder of images (class sub-folders, or flat + labels CSV)")
    p.add_argument("path", metavar="PATH", help="folder with the images (searched recursively)")
    p.add_argument("--name", required=True)
    p.add_argument("--labels", metavar="CSV", help="CSV with columns filename,label")
    p.add_argument("--masks", metavar="DIR", help="folder of masks matched to images by file stem")
    p.add_argument("--seed", type=int, default=0, help="seed of the 70/10/20 split")
    p.set_defaults(func=_folder)

    p = src.add_parser("chestx-det", help="ChestX-Det official JSON annotations + image folder")
    p.add_argument("--json", nargs="+", required=True, metavar="FILE",
                   help="ChestX_Det_train.json and/or ChestX_Det_test.json")
    p.add_argument("--images", required=True, metavar="DIR", help="folder with the ChestX-Det PNG files")
    p.add_argument("--name", required=True)
    p.add_argument("--finding", default="Pneumothorax", help="positive finding (default Pneumothorax)")
    p.add_argument("--split", choices=["paper", "official"], default="paper",
                   help="paper (default): random 70:10:20 over the cohort, stratified by label, seeded, as in "
                        "the paper; official: the official train/test files (val carved from train)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (paper) or of the validation carve-out")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of the official train file used for validation (--split official)")
    p.set_defaults(func=_chestx_det)

    p = src.add_parser("siim", help="SIIM-ACR pneumothorax DICOM folder + train-rle.csv")
    p.add_argument("--dicom", required=True, metavar="DIR")
    p.add_argument("--rle", required=True, metavar="CSV")
    p.add_argument("--name", required=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the patient-grouped split")
    p.set_defaults(func=_siim)

    p = src.add_parser("medmnist", help="a MedMNIST .npz file (e.g. pneumoniamnist.npz)")
    p.add_argument("file", metavar="FILE.npz", nargs="?", help="the .npz file (omit with --download)")
    p.add_argument("--name", required=True)
    p.add_argument("--download", metavar="FLAG", help="fetch the official file first (needs `pip install medmnist`)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_medmnist)

    d = sub.add_parser("datasets", help="list imported datasets")
    d.set_defaults(func=_datasets)


def _done(ds, t0: float) -> int:
    from .importers import format_summary

    print(format_summary(ds))
    print(f"imported in {time.time() - t0:.1f} s")
    return 0


def _phantom(args) -> int:
    from .phantom import generate_phantom

    t0 = time.time()
    ds = generate_phantom(args.name, n=args.n, seed=args.seed, size=args.size, pos_rate=args.pos_rate,
                          ood_fraction=args.ood_fraction, ambiguous_fraction=args.ambiguous_fraction,
                          root=None, progress=True)
    return _done(ds, t0)


def _folder(args) -> int:
    from .importers import import_folder

    t0 = time.time()
    return _done(import_folder(args.path, args.name, labels=args.labels, masks=args.masks, seed=args.seed,
                               progress=True), t0)


def _chestx_det(args) -> int:
    from .importers import import_chestx_det

    t0 = time.time()
    return _done(import_chestx_det(args.json, args.images, args.name, finding=args.finding, split=args.split,
                                   val_fraction=args.val_fraction, seed=args.seed, progress=True), t0)


def _siim(args) -> int:
    from .importers import import_siim

    t0 = time.time()
    return _done(import_siim(args.dicom, args.rle, args.name, seed=args.seed, progress=True), t0)


def _medmnist(args) -> int:
    from ..errors import ColdstartError
    from .importers import download_medmnist, import_medmnist

    t0 = time.time()
    path, flag = args.file, None
    if args.download:
        flag = args.download.lower()
        path = download_medmnist(flag)
        print(f"downloaded {path}")
    if path is None:
        raise ColdstartError("give the .npz file (coldstart import medmnist FILE.npz --name NAME) "
                             "or --download pneumoniamnist")
    return _done(import_medmnist(path, args.name, flag=flag, seed=args.seed, progress=True), t0)


def datasets_table(root=None):
    """One row per imported dataset: name, n, classes, per-split counts, skipped count."""
    import pandas as pd

    from .dataset import Dataset, list_datasets

    rows = []
    for name in list_datasets(root):
        try:
            ds = Dataset(name, root)
        except Exception as e:  # a damaged dataset must not hide the others
            rows.append({"name": name, "n": None, "classes": f"unreadable: {e}"})
            continue
        rep = ds.report()
        sp = pd.Series(ds.splits).value_counts()
        rows.append({"name": name, "n": len(ds), "classes": ", ".join(ds.classes),
                     "train": int(sp.get("train", 0)), "val": int(sp.get("val", 0)),
                     "test": int(sp.get("test", 0)),
                     "skipped": int((rep["action"] == "skipped").sum()) if len(rep) else 0,
                     "source": ds.info.get("source", "")})
    return pd.DataFrame(rows, columns=["name", "n", "classes", "train", "val", "test", "skipped", "source"])


def _datasets(args) -> int:
    from ..paths import data_root

    tab = datasets_table()
    if tab.empty:
        print(f"no datasets under {data_root()}: import one, e.g. `coldstart import phantom`")
        return 0
    print(tab.to_string(index=False))
    return 0
