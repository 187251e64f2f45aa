"""The ``coldstart`` command: one sub-command per stage of the flow.

Each stage package registers its own sub-commands (``coldstart/<stage>/commands.py``
has ``register(subparsers)``; ``coldstart app`` is the dashboard's, in
``coldstart/ui/commands.py``); this module only wires them together, sets the
data root and turns :class:`ColdstartError` into a clear message (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .version import __version__
from .errors import ColdstartError

# Stage modules, in the order of the flow, then the dashboard's; each has register(subparsers).
COMMAND_MODULES = (
    "coldstart.data.commands",
    "coldstart.embed.commands",
    "coldstart.select.commands",
    "coldstart.runs.commands",
    "coldstart.export.commands",
    "coldstart.maps.commands",
    "coldstart.ui.commands",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="coldstart",
        description="Pick the first images to annotate, see why, train on them and compare methods.")
    p.add_argument("--version", action="version", version=f"coldstart {__version__}")
    p.add_argument("--data-dir", metavar="DIR",
                   help="data root (default: $COLDSTART_DATA or ./data)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ["COLDSTART_DATA"] = os.path.abspath(args.data_dir)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        rc = args.func(args)
    except ColdstartError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was finished is saved; run the same command again to continue",
              file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
