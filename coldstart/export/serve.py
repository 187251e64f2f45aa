"""A small static server for a dataset's images that Label Studio's page may load (CORS).

``python -m http.server`` sends no ``Access-Control-Allow-Origin`` header, so Label Studio
shows "There was an issue loading URL from $image value". This server sends it, serves
only the dataset's ``images/`` and ``masks/`` folders (no listings, nothing else of the
data root), and listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import functools
import posixpath
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from ..errors import ColdstartError

SERVED_FOLDERS = ("images", "masks")


class ImageHandler(SimpleHTTPRequestHandler):
    """Static files under ``images/`` and ``masks/`` of the served folder, with a CORS header."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def do_OPTIONS(self) -> None:  # CORS preflight
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.end_headers()

    def send_head(self):
        path = posixpath.normpath(unquote(urlsplit(self.path).path))
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] not in SERVED_FOLDERS or ".." in parts:
            self.send_error(404, "only images/ and masks/ files are served")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(404, "no directory listings")
        return None

    def log_message(self, format, *args) -> None:  # quieter than the default: one line per request
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(dataset, port: int = 8081, address: str = "127.0.0.1", quiet: bool = False) -> ThreadingHTTPServer:
    """A server for ``dataset``'s images (not started: call ``serve_forever()``; ``port=0`` picks a free one)."""
    if not (0 <= int(port) <= 65535):
        raise ColdstartError(f"--port {port} is not a TCP port: choose one in 1..65535, e.g. 8081")
    handler = functools.partial(ImageHandler, directory=str(dataset.dir.resolve()))
    try:
        server = ThreadingHTTPServer((address, int(port)), handler)
    except OSError as e:
        raise ColdstartError(f"cannot listen on {address}:{port} ({e.strerror}): choose another --port "
                             "(and pass the matching URL prefix when exporting)") from None
    server.daemon_threads = True
    server.quiet = quiet
    return server
