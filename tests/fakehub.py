"""A loopback stand-in for the Hugging Face Hub's upload API, for `sdf-corpus push`.

It answers the four calls huggingface_hub makes for a dataset commit: create the
repo, validate the card's YAML (really parsed), ask how each file goes up
(always "regular": content travels inline in the commit, so no LFS or Xet
server is needed), and the commit itself (NDJSON, possibly gzip). It records
every request's headers and stores the committed files by path.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                hub.headers.append(dict(self.headers))
                hub.bodies.append(raw)
                status, body = hub.route(self.path, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if path == "/api/repos/create":
            req = json.loads(raw)
            repo = f"{req.get('organization') or 'user'}/{req['name']}"
            self.repos[repo] = req
            return 200, {"url": f"{self.url}/datasets/{repo}", "name": repo}
        if path == "/api/validate-yaml":
            text = json.loads(raw)["content"]
            try:
                yaml.safe_load(text.split("---\n", 2)[1])
            except (IndexError, yaml.YAMLError) as exc:
                return 400, {"errors": [{"message": str(exc)}]}
            return 200, {}
        parts = path.split("/")  # /api/datasets/ns/name/(preupload|commit)/rev
        repo = "/".join(parts[3:5])
        if parts[5] == "preupload":
            files = json.loads(raw)["files"]
            return 200, {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in files
                ]
            }
        stored = self.files.setdefault(repo, {})
        for line in raw.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                stored[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        oid = "0" * 40
        return 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{oid}", "commitOid": oid}
