"""A lean loopback Anthropic Messages endpoint, for throughput benchmarks only.

`server.FakeProvider` answers every request through aiohttp and builds a fresh
document for it: about 0.6 ms of CPU per request. A client benchmark on a
2-core machine shares those cores with the server, so that cost (which a real
provider spends on its own machines) caps what a second client process can
show. This server answers `POST /v1/messages` from a plain asyncio protocol
with keep-alive, and builds each distinct answer once: a numbered idea list
when asked for one, otherwise a document (`text.default_text`), cached by
kind, `max_tokens` and the AI the prompt names, with a per-request first line
so no two answers are equal. No faults, rate limits, batches or streaming: use
`FakeProvider` for behaviour, this for speed.

With a fixed latency, requests sent together come back together, so a client's
answers arrive in synchronised waves that no real API produces; `--jitter`
spreads each delay uniformly around the latency (seeded, so runs repeat).

    python -m fakeprovider.lean --port 0 --latency 0.2 [--jitter 0.5]   # prints its URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
from typing import Any

from fakeprovider.text import ai_named, default_text, user_prompt, wants_list

__all__ = ["serve"]

_CHARS_PER_TOKEN = 4
_HEAD_END = b"\r\n\r\n"
_ids = itertools.count(1)
_random = random.Random(0).random  # seeded: the same delays in every run
_answers: dict[tuple[bool, int, str], str] = {}


def _answer(body: dict[str, Any]) -> tuple[int, bytes]:
    """Status and JSON body for one request."""
    if not all(k in body for k in ("model", "max_tokens", "messages")):
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": "fields"}}
        return 400, json.dumps(error).encode()
    prompt = user_prompt(body["messages"])
    listing = wants_list(prompt)
    max_tokens = int(body["max_tokens"])
    key = (listing, max_tokens, "" if listing else ai_named(prompt))
    text = _answers.get(key)
    if text is None:
        text = _answers[key] = default_text(prompt, max_tokens)[: max_tokens * _CHARS_PER_TOKEN]
    n = next(_ids)
    if not listing:
        text = f"Answer {n}.\n\n{text}"
    message = {
        "id": f"msg_lean{n:016d}",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "model": body["model"],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": max(1, len(prompt) // _CHARS_PER_TOKEN),
            "output_tokens": max(1, len(text) // _CHARS_PER_TOKEN),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    return 200, json.dumps(message).encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: requests one after another (clients do not pipeline)."""

    def __init__(self, latency: float, jitter: float = 0.0) -> None:
        self.latency = latency
        self.jitter = jitter
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(_HEAD_END)
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = dict(
                (k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in head[1:])
            )
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._respond(head[0], body)

    def _respond(self, request_line: str, raw: bytes) -> None:
        method, path = [*request_line.split(" "), "", ""][:2]
        if method != "POST" or not path.startswith("/v1/messages"):
            status, body = 404, b'{"type":"error","error":{"type":"not_found_error"}}'
        else:
            try:
                status, body = _answer(json.loads(raw))
            except (ValueError, TypeError, AttributeError):
                status, body = 400, b'{"type":"error","error":{"type":"invalid_request_error"}}'
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nrequest-id: req_lean\r\n\r\n"
        ).encode()
        delay = self.latency * (1 + self.jitter * (2 * _random() - 1))
        asyncio.get_running_loop().call_later(delay, self._send, head + body)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


async def serve(host: str, port: int, latency: float, jitter: float = 0.0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(latency, jitter), host, port, backlog=1024
    )
    bound = server.sockets[0].getsockname()
    print(f"http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the lean benchmark provider on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="each answer waits latency x (1 +/- up to this fraction), uniformly (0: fixed)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.latency, args.jitter))


if __name__ == "__main__":
    main()
