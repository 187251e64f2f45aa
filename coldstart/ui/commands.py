"""CLI of the dashboard: ``coldstart app`` (start the Streamlit app these helpers serve)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("app", help="start the dashboard (streamlit run app.py)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default=None,
                   help="interface to listen on (default from .streamlit/config.toml: localhost only)")
    p.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parents[2] / "app.py"
    if not app.exists():
        from ..errors import ColdstartError

        raise ColdstartError(f"{app} not found: run `coldstart app` from a source checkout "
                             "(pip install -e .) or `streamlit run app.py` in the project folder")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port)]
    if args.address:
        cmd += ["--server.address", args.address]
    return subprocess.call(cmd, cwd=app.parent, env=dict(os.environ))
