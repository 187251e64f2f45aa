"""Import a `coldstart export --format label-studio` bundle into a real Label Studio and check the images load.

Not a test (it needs Label Studio, which is not a dependency). Run it by hand:

    python3 -m venv /tmp/lsvenv && /tmp/lsvenv/bin/pip install label-studio
    PYTHONPATH=. python scripts/check_label_studio.py --label-studio /tmp/lsvenv/bin/label-studio

It builds a small dataset in a temporary data root, exports 12 picks in both URL modes,
starts Label Studio on 127.0.0.1 following HOW_TO_SERVE.txt (document root = data root,
local storage = the dataset folder), imports the tasks through the API, fetches every
image URL as Label Studio serves it, and checks that the document root itself is refused
as a storage path (the reason the note names the dataset folder). For the http mode it
runs `serve-images` and checks each URL answers with the CORS header. Everything runs on
localhost and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _wait(url: str, timeout: float) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label-studio", default="label-studio", help="path of the label-studio executable")
    ap.add_argument("--port", type=int, default=8090)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lscheck-"))
    root = tmp / "data"
    os.environ["COLDSTART_DATA"] = str(root)
    from conftest import make_blob_dataset

    from coldstart.cli import main as cs

    ds = make_blob_dataset("blobs", root, n=40)
    picks = tmp / "picks.csv"
    assert cs(["select", "blobs", "--selector", "random", "--budget", "12", "--out", str(picks)]) == 0
    assert cs(["export", "blobs", "--picks", str(picks), "--format", "label-studio", "--out", str(tmp / "local")]) == 0
    assert cs(["export", "blobs", "--picks", str(picks), "--format", "label-studio", "--out", str(tmp / "http"),
               "--url-mode", "http", "--url-prefix", "http://127.0.0.1:8081/"]) == 0

    token = "0123456789abcdef0123456789abcdef01234567"
    env = dict(os.environ, LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
               LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(root), LABEL_STUDIO_BASE_DATA_DIR=str(tmp / "ls-home"),
               LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true")
    cmd = [args.label_studio, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(args.port),
           "--username", "check@example.com", "--password", "check-pass-123", "--user-token", token, "--enable-legacy-api-token"]
    log = open(tmp / "ls.log", "wb")
    ls = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    serve = None
    ok = True
    try:
        base = f"http://127.0.0.1:{args.port}"
        _wait(base + "/health", 600)
        s = requests.Session()
        s.headers["Authorization"] = f"Token {token}"
        config = (tmp / "local" / "label_config.xml").read_text()
        for mode in ("local", "http"):
            p = s.post(base + "/api/projects", json={"title": f"coldstart {mode}", "label_config": config})
            p.raise_for_status()
            pid = p.json()["id"]
            tasks = json.loads((tmp / mode / "tasks.json").read_text())
            if mode == "local":
                before = s.get(base + tasks[0]["data"]["image"]).status_code
                print(f"local: an image URL before any storage is added: HTTP {before}")
                ok &= before == 404
                bad = s.post(base + "/api/storages/localfiles", json={"project": pid, "path": str(root),
                                                                      "title": "root", "use_blob_urls": False})
                print(f"storage at the document root itself: HTTP {bad.status_code} {bad.text[-200:]}")
                ok &= bad.status_code == 400
                good = s.post(base + "/api/storages/localfiles", json={"project": pid, "path": str(ds.dir.resolve()),
                                                                       "title": "blobs", "use_blob_urls": False})
                print(f"storage at the dataset folder: HTTP {good.status_code}")
                ok &= good.status_code in (200, 201)
            r = s.post(base + f"/api/projects/{pid}/import", json=tasks)
            r.raise_for_status()
            back = s.get(base + f"/api/projects/{pid}").json()
            print(f"{mode}: imported {back.get('task_number')} tasks, {back.get('total_predictions_number')} predictions")
            ok &= back.get("task_number") == 12
            if mode == "local":
                codes = [s.get(base + t["data"]["image"]).status_code for t in tasks]
                print(f"local: image URLs served by Label Studio: {codes.count(200)}/{len(codes)} answer 200")
                ok &= codes.count(200) == len(codes)
            else:
                serve = subprocess.Popen([sys.executable, "-c", "from coldstart.cli import main; main()",
                                          "serve-images", "blobs", "--port", "8081"], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
                _wait("http://127.0.0.1:8081/images/", 60)
                heads = [requests.get(t["data"]["image"], headers={"Origin": base}, timeout=5) for t in tasks]
                cors = sum(h.status_code == 200 and h.headers.get("Access-Control-Allow-Origin") == "*" for h in heads)
                print(f"http: image URLs served by serve-images with CORS: {cors}/{len(heads)}")
                ok &= cors == len(heads)
    finally:
        for proc in (serve, ls):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    print("OK" if ok else f"FAILED (Label Studio log: {tmp / 'ls.log'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
