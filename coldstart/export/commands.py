"""CLI: ``coldstart export`` (picks to CSV / Label Studio / class folders / zip) and ``coldstart serve-images``."""

from __future__ import annotations

import argparse

from .labelstudio import DEFAULT_PORT, DEFAULT_URL_PREFIX, URL_MODES


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="write picks as CSV, a Label Studio bundle, class folders or a zip",
        description="Turn a picks file (what `coldstart select --out` writes: one image id per row, in pick "
                    "order) into the files the app's download buttons give. --out must be a new or empty folder.")
    p.add_argument("dataset")
    p.add_argument("--picks", required=True, metavar="CSV", help="picks file with an 'id' column")
    p.add_argument("--format", "-f", required=True, choices=["csv", "label-studio", "folders", "zip"],
                   help="csv: selection.csv; label-studio: tasks.json + label_config.xml + HOW_TO_SERVE.txt; "
                        "folders: <class>/<id>.png + labels.csv + selection.csv; zip: the same in one zip")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="new or empty folder to write into")
    p.add_argument("--url-mode", choices=URL_MODES, default="local",
                   help="label-studio: how Label Studio reaches the images: its local storage (default) or "
                        "http (`coldstart serve-images`)")
    p.add_argument("--url-prefix", default=DEFAULT_URL_PREFIX, metavar="URL",
                   help=f"label-studio with --url-mode http: where the images are served (default {DEFAULT_URL_PREFIX})")
    p.add_argument("--model-version", default="coldstart", help="label-studio: name of the pre-annotations")
    p.add_argument("--link", action="store_true", help="folders: symlink the images instead of copying them")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "serve-images", help="serve a dataset's images to Label Studio (static server with CORS)",
        description="Serve <data>/DATASET/images and masks over HTTP with Access-Control-Allow-Origin, for "
                    "Label Studio tasks exported with --url-mode http. Stop with Ctrl-C. No authentication: "
                    "keep the default address 127.0.0.1 unless the network is trusted.")
    p.add_argument("dataset")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument("--address", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.set_defaults(func=cmd_serve_images)


def cmd_export(args: argparse.Namespace) -> int:
    from ..data import Dataset
    from . import check_out_dir, read_picks, write_export

    ds = Dataset(args.dataset)
    check_out_dir(args.out)  # before any work
    rows, per_pick = read_picks(ds, args.picks)
    files = write_export(ds, rows, args.format, args.out, labels=None, per_pick=per_pick, url_mode=args.url_mode,
                         url_prefix=args.url_prefix, model_version=args.model_version, link=args.link)
    print(f"exported {len(rows)} images of {ds.name} as {args.format}: {len(files)} files in {args.out}")
    if args.format == "label-studio":
        print(f"next: read {args.out}/HOW_TO_SERVE.txt, then import tasks.json into Label Studio")
    return 0


def cmd_serve_images(args: argparse.Namespace) -> int:
    from ..data import Dataset
    from .serve import make_server

    ds = Dataset(args.dataset)
    server = make_server(ds, args.port, args.address)
    host, port = server.server_address[:2]
    print(f"serving {ds.dir}/images and /masks at http://{host}:{port}/ (with CORS); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
