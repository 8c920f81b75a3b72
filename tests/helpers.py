"""Small helpers shared by the tests: converting fixture files, fake HTTP servers on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

from mulco.sources.base import BadRow, Rejected, Row


def convert_files(src: ModuleType, raw_dir: Path, files: list[Path]):
    """Run a source module over ``files``: (records, rejected units, (row, BadRow) pairs)."""
    records, rejected, bad = [], [], []
    for unit in src.read(raw_dir, files):
        if isinstance(unit, Rejected):
            rejected.append(unit)
            continue
        assert isinstance(unit, Row)
        try:
            records.extend(src.to_records(unit))
        except BadRow as e:
            bad.append((unit, e))
    return records, rejected, bad


class QuietJSONHandler(BaseHTTPRequestHandler):
    """Base of the fake servers' handlers: no access log on stderr, and JSON answers."""

    def log_message(self, *args):
        pass

    def send_json(self, code: int, obj=None, headers: dict | None = None) -> None:
        body = json.dumps(obj if obj is not None else {}, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def start_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Serve ``handler`` on 127.0.0.1 (a free port) from a daemon thread; the caller shuts it down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
