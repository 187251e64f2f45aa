"""Weight downloads through the real code path, from a local HTTP server the tests start (no internet).

The served file is a real torchvision DenseNet-121 state dict; its table entry is pointed at the
local server, with the sha256 prefix of the test-made file in its name (torchvision's convention),
so the hash-prefix check, the loading code and the embedder all run for real.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from coldstart.errors import ColdstartError

from conftest import make_blob_dataset

WID = "torchvision-densenet121-imagenet"
EXPLORE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Explore.py")


@pytest.fixture(scope="module")
def weight_bytes() -> bytes:
    import torch
    import torchvision

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(torchvision.models.densenet121(weights=None).state_dict(), buf)
    return buf.getvalue()


class _Server:
    """Serves ``files[path] = (bytes, mode)``; mode ok | truncate | slow. Counts GETs per path."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.gets: dict[str, int] = {}
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.gets[self.path] = srv.gets.get(self.path, 0) + 1
                if self.path not in srv.files:
                    self.send_error(404, "Not Found")
                    return
                data, mode = srv.files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    return
                step = 1 << 20
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    if mode == "slow":
                        time.sleep(0.05)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture
def entry(data_root, tmp_path, monkeypatch, server, weight_bytes):
    """Point the DenseNet table entry at the local server; empty library caches."""
    from coldstart.embed import weights

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    sha = hashlib.sha256(weight_bytes).hexdigest()
    name = f"densenet121-{sha[:8]}.pth"
    w = replace(weights.WEIGHTS[WID], filename=name, url=server.url("/" + name))
    monkeypatch.setitem(weights.WEIGHTS, WID, w)
    server.files["/" + name] = (weight_bytes, "ok")
    return w


def _nothing_left(w) -> None:
    from coldstart.paths import weights_dir

    left = [p.name for p in weights_dir().glob(w.filename + "*") if not p.name.endswith(".lock")]
    assert left == [], left
    assert w.find() is None


def test_cli_download_then_the_embedder_runs_and_the_cache_records_the_sha256(entry, data_root, weight_bytes,
                                                                             capsys):
    from coldstart.cli import main
    from coldstart.embed import get_embedder

    ds = make_blob_dataset("tiny", data_root, n=6)
    assert not get_embedder("imagenet-densenet121").available()[0]
    assert main(["embed", "tiny", "-e", "imagenet-densenet121", "--download", "--device", "cpu"]) == 0
    assert entry.find() is not None and entry.find().read_bytes() == weight_bytes
    assert get_embedder("imagenet-densenet121").available()[0]
    meta = json.loads(next(ds.cache_dir("emb").glob("imagenet-densenet121*.json")).read_text())
    assert meta["weights"]["sha256"] == hashlib.sha256(weight_bytes).hexdigest()
    assert meta["weights"]["file"] == str(entry.find()) and meta["shape"] == [6, 1024]
    # `coldstart weights` lists it as present
    capsys.readouterr()
    assert main(["weights"]) == 0
    assert f"present {entry.find()}" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["truncated", "wrong-hash", "wrong-size", "404", "refused"])
def test_failures_leave_no_file_and_say_what_to_do(entry, server, monkeypatch, case, weight_bytes):
    from coldstart.embed import weights

    w = entry
    want = {"truncated": "stopped after", "wrong-hash": "does not start with", "wrong-size": "expected 123",
            "404": "HTTP 404", "refused": "could not reach"}[case]
    if case == "truncated":
        server.files["/" + w.filename] = (weight_bytes, "truncate")
    elif case == "wrong-hash":
        server.files["/" + w.filename] = (weight_bytes[:-1] + b"x", "ok")
    elif case == "wrong-size":
        w = replace(w, size=123)
        monkeypatch.setitem(weights.WEIGHTS, WID, w)
    elif case == "404":
        server.files.clear()
    else:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        w = replace(w, url=f"http://127.0.0.1:{port}/{w.filename}")
        monkeypatch.setitem(weights.WEIGHTS, WID, w)
    with pytest.raises(ColdstartError) as e:
        weights.download(WID, timeout=10)
    msg = str(e.value)
    assert want in msg, msg
    # the manual alternative is filled in: file, folder, URL
    assert w.filename in msg and str(w.folders()[0]) in msg and w.url in msg, msg
    if case in ("wrong-hash", "wrong-size"):
        assert "deleted" in msg
    _nothing_left(w)


def test_two_concurrent_downloads_give_one_good_file(entry, server, weight_bytes):
    from coldstart.embed import download_jobs, weights

    server.files["/" + entry.filename] = (weight_bytes, "slow")
    out, errors = [], []

    def go():
        try:
            out.append(weights.download(WID, timeout=30))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=go) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors and len(out) == 2 and out[0] == out[1]
    assert out[0].read_bytes() == weight_bytes
    assert server.gets["/" + entry.filename] == 1  # the second waited on the lock, then found the file
    # the page's background jobs: a second start while one runs returns the same job
    entry.find().unlink()
    a = download_jobs.start(WID)
    b = download_jobs.start(WID)
    assert a is b
    assert a.wait(120).state == "done" and a.path.read_bytes() == weight_bytes and a.done == len(weight_bytes)
    download_jobs.forget(WID)


def test_download_button_on_the_explore_page(entry, data_root, weight_bytes):
    from streamlit.testing.v1 import AppTest

    from coldstart.embed import download_jobs, get_embedder

    ds = make_blob_dataset("blobs", data_root, n=24)
    at = AppTest.from_file(EXPLORE, default_timeout=300)
    at.session_state["explore_map_method"] = "pca"
    at.run()
    assert not at.exception
    buttons = [b for b in at.button if b.key == f"explore_{WID}"]
    assert len(buttons) == 1 and buttons[0].label == "Download"
    assert any(entry.filename in c.value for c in at.caption)  # the file, its size and source
    buttons[0].click().run()
    job = download_jobs.get(WID)
    assert job is not None
    assert job.wait(120).state == "done", job.error
    at.run()
    assert not at.exception
    assert get_embedder("imagenet-densenet121").available()[0]
    assert any("imagenet-densenet121" in s.value and "available now" in s.value for s in at.success)
    assert not [b for b in at.button if b.key == f"explore_{WID}"]  # no Download button any more
    # the page offers to embed the pool with it
    at.button(key=f"explore_embed_{WID}").click().run()
    assert not at.exception and not at.error
    from coldstart.embed import cached_embeddings

    x = cached_embeddings(ds, "imagenet-densenet121")
    assert x is not None and x.shape == (24, 1024)
    download_jobs.forget(WID)
