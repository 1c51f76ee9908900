"""A loopback fake of the Anthropic Messages and OpenAI chat APIs.

The real SDKs talk to it over HTTP, so tests exercise the clients' own request
building, parsing and error classes without reaching the internet. It runs an
aiohttp server on its own event loop in a background thread, which lets both
synchronous pytest code and asyncio code (or a benchmark script) drive it.

    provider = FakeProvider(latency=0.2).start()
    provider.inject("429", retry_after=2)      # the next request gets a 429
    ...                                        # point a client at provider.url
    provider.stop()

Account-level refusals as the real APIs give them: `provider.models = {...}`
answers any other model id with 404 not_found_error, `provider.api_keys = {...}`
answers any other key with 401. `provider.limit = RateLimit(...)` (limits.py)
enforces a hard rate limit and sends the rate-limit headers on every answer.

`provider.retold(share)` switches the answers to the "retold plots" mode (retold.py):
idea lists offer a few shared plots in a share of their items, and every draft re-tells
its idea's plot in fresh words; it returns the log of which plot each answer carries.

Fault kinds: "429", "529", "500", "400", "slow", "truncate", "malformed", and the
account-level refusals "401" (authentication), "402" (billing), "403" (permission),
"404" (not found: an unknown model id).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fakeprovider.batches import FakeBatches
from fakeprovider.gate import gate
from fakeprovider.limits import RateLimit
from fakeprovider.openai_batches import FakeOpenAIBatches
from fakeprovider.retold import Retold, RetoldLog
from fakeprovider.text import block_texts, default_text, user_prompt

__all__ = ["FAULT_KINDS", "FakeProvider", "Responder"]

Responder = Callable[[str, dict[str, Any]], str]
FAULT_KINDS = (
    "429",
    "529",
    "500",
    "400",
    "slow",
    "truncate",
    "malformed",
    "401",
    "402",
    "403",
    "404",
)
# Account-level refusals as each API types them: (Anthropic type, OpenAI type, message).
_ACCOUNT = {
    "401": ("authentication_error", "invalid_request_error", "invalid x-api-key"),
    "402": ("billing_error", "insufficient_quota", "Your credit balance is too low"),
    "403": ("permission_error", "invalid_request_error", "Your key may not use this model"),
    "404": ("not_found_error", "invalid_request_error", "model: not found"),
}
_SECRET_HEADERS = {"x-api-key", "authorization", "api-key"}
_CHARS_PER_TOKEN = 4


@dataclass
class _Fault:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


def _tokens(chars: int) -> int:
    return max(1, -(-chars // _CHARS_PER_TOKEN))


def _truncated(fault: _Fault | None, full: str) -> str | None:
    """The partial text a "truncate" fault asks for, else None."""
    if fault is None or fault.kind != "truncate":
        return None
    return str(fault.options.get("text", full[: len(full) // 3]))


def _limit(text: str, max_tokens: int, stops: list[str]) -> tuple[str, str, str | None]:
    """Cut `text` at the first stop sequence or at max_tokens: (text, reason, stop)."""
    hits = [(text.find(s), s) for s in stops if s and s in text]
    if hits:
        pos, seq = min(hits)
        return text[:pos], "stop_sequence", seq
    budget = max(1, max_tokens) * _CHARS_PER_TOKEN
    if len(text) > budget:
        return text[:budget], "max_tokens", None
    return text, "end_turn", None


def _error(status: int, kind: str, message: str, *, openai: bool) -> web.Response:
    if openai:
        body: dict[str, Any] = {"error": {"message": message, "type": kind, "code": None}}
    else:
        body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status)


class FakeProvider:
    """A scripted provider on 127.0.0.1; thread-safe, cheap per request."""

    def __init__(
        self,
        latency: float = 0.0,
        responder: Responder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.responder: Responder = responder or (
            lambda prompt, body: default_text(prompt, body.get("max_tokens"))
        )
        self.host = host
        self._port = port
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._requests: list[dict[str, Any]] = []
        self._seen_prefixes: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.batches = FakeBatches(self)
        self.openai_batches = FakeOpenAIBatches(self)
        self.models: set[str] | None = None  # None: any model id is served
        self.api_keys: set[str] | None = None  # None: any non-empty key is accepted
        self.limit: RateLimit | None = None
        # Long runs (the soak) keep only counts, not every request body.
        self.record_bodies = True
        self._count = 0
        self.faults_served = 0
        self._fault_rate, self._fault_kinds = 0.0, ("500",)
        self._rng = random.Random(0)

    # --- lifecycle -------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL without a path: Anthropic clients append /v1/messages."""
        return f"http://{self.host}:{self._port}"

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeProvider:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="fake-provider", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=10)
        if failure:
            raise RuntimeError("fake provider failed to start") from failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._bind())
        except BaseException as exc:  # surfaced to start() in the caller's thread
            failure.append(exc)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Handlers still asleep ("slow" faults, latency) would be destroyed pending.
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _bind(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[gate(self)])
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/chat/completions", self._openai)
        self.batches.register(app)
        self.openai_batches.register(app)
        # A short shutdown grace: "slow" handlers are asleep on purpose.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, backlog=2048)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    # --- scripting and records --------------------------------------------

    def inject(self, kind: str, count: int = 1, **options: Any) -> None:
        """Queue `count` faults of `kind`; each is consumed by one request.

        Options: retry_after (429, seconds), seconds ("slow", default 5),
        message ("400"), text ("truncate").
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {FAULT_KINDS}")
        with self._lock:
            self._faults.extend(_Fault(kind, dict(options)) for _ in range(count))

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def retold(self, share: float = 0.5) -> RetoldLog:
        """Answer in the "retold plots" mode from now on; the log of its plots."""
        responder = Retold(share)
        self.responder = responder
        return responder.log

    def random_faults(self, rate: float, kinds: tuple[str, ...], seed: int = 0) -> None:
        """From now on each request gets a fault of a random kind with probability `rate`."""
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {FAULT_KINDS}")
        with self._lock:
            self._fault_rate, self._fault_kinds = rate, kinds
            self._rng = random.Random(seed)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._count = 0
            self._seen_prefixes.clear()

    async def _admit(self, request: web.Request) -> tuple[dict[str, Any] | None, _Fault | None]:
        """Record the request and take the next fault; body None when not JSON."""
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = {
            "path": request.path,
            "body": body,
            "headers": {k: v for k, v in headers.items() if k not in _SECRET_HEADERS},
            "time": time.time(),
        }
        with self._lock:
            self._count += 1
            if self.record_bodies:
                self._requests.append(record)
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self._fault_rate and self._rng.random() < self._fault_rate:
                kind = self._rng.choice(self._fault_kinds)
                fault = _Fault(kind, {"retry_after": 0, "seconds": 2.0})
            if fault is not None and fault.kind != "truncate":
                self.faults_served += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        return (body if isinstance(body, dict) else None), fault

    async def _fault_response(self, fault: _Fault | None, *, openai: bool) -> web.Response | None:
        """A response for an error fault; None when the request proceeds."""
        if fault is None or fault.kind == "truncate":
            return None
        opts = fault.options
        if fault.kind == "slow":
            await asyncio.sleep(float(opts.get("seconds", 5.0)))
            return None
        if fault.kind == "malformed":
            return web.Response(
                status=200,
                text='{"id": "msg_broken", "content": [',
                content_type="application/json",
            )
        if fault.kind == "429":
            response = _error(
                429, "rate_limit_error", "Rate limited by fake provider", openai=openai
            )
            response.headers["retry-after"] = str(opts.get("retry_after", 1))
            return response
        if fault.kind == "529":
            return _error(529, "overloaded_error", "Overloaded", openai=openai)
        if fault.kind in _ACCOUNT:
            anthropic_type, openai_type, message = _ACCOUNT[fault.kind]
            kind = openai_type if openai else anthropic_type
            return _error(int(fault.kind), kind, str(opts.get("message", message)), openai=openai)
        if fault.kind == "500":
            return _error(500, "api_error", "Internal server error", openai=openai)
        message = str(opts.get("message", "max_tokens: value is out of range"))
        return _error(400, "invalid_request_error", message, openai=openai)

    # --- Anthropic Messages API -------------------------------------------

    def _cache_usage(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """(uncached chars, cache-creation tokens, cache-read tokens)."""
        blocks = block_texts(body.get("system", ""))
        for message in body.get("messages", []):
            blocks.extend(block_texts(message.get("content", "")))
        total = sum(len(t) for t, _ in blocks)
        running, cached, key, digest = 0, 0, "", hashlib.sha256()
        for text, marked in blocks:
            running += len(text)
            digest.update(text.encode("utf-8"))
            if marked:
                cached, key = running, digest.hexdigest()
        if not cached:
            return total, 0, 0
        with self._lock:
            seen = key in self._seen_prefixes
            self._seen_prefixes.add(key)
        tokens = _tokens(cached)
        return total - cached, (0 if seen else tokens), (tokens if seen else 0)

    async def _anthropic(self, request: web.Request) -> web.Response:
        body, fault = await self._admit(request)
        refused = _anthropic_refusal(request, body) or self._unknown_model(body, openai=False)
        if refused is not None or body is None:
            return refused or _error(400, "invalid_request_error", "no body", openai=False)
        failed = await self._fault_response(fault, openai=False)
        if failed is not None:
            return failed
        message = self.anthropic_message(body, fault)
        if body.get("stream"):
            return await _anthropic_stream(request, message)
        return web.json_response(message)

    def anthropic_message(
        self, body: dict[str, Any], fault: _Fault | None = None
    ) -> dict[str, Any]:
        """The Message object for one accepted request (also each batch request's result)."""
        prompt = user_prompt(body["messages"])
        full = self.responder(prompt, body)
        stops = list(body.get("stop_sequences") or [])
        text, reason, seq = _limit(full, int(body["max_tokens"]), stops)
        partial = _truncated(fault, full)
        if partial is not None:
            text, reason, seq = partial, "max_tokens", None
        plain, created, read = self._cache_usage(body)
        message_id = hashlib.sha1(f"{time.time_ns()}{prompt}".encode()).hexdigest()[:24]
        return {
            "id": f"msg_{message_id}",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "model": body["model"],
            "stop_reason": reason,
            "stop_sequence": seq,
            "usage": {
                "input_tokens": _tokens(plain),
                "output_tokens": _tokens(len(text)),
                "cache_creation_input_tokens": created,
                "cache_read_input_tokens": read,
            },
        }

    def _unknown_model(self, body: dict[str, Any] | None, *, openai: bool) -> web.Response | None:
        if self.models is None or body is None or body.get("model") in self.models:
            return None
        model = body.get("model")
        if openai:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return _error(404, "invalid_request_error", message, openai=True)
        return _error(404, "not_found_error", f"model: {model}", openai=False)

    # --- OpenAI chat completions ------------------------------------------

    async def _openai(self, request: web.Request) -> web.Response:
        body, fault = await self._admit(request)
        if body is None or "messages" not in body or "model" not in body:
            message = "model and messages are required"
            return _error(400, "invalid_request_error", message, openai=True)
        unknown = self._unknown_model(body, openai=True)
        if unknown is not None:
            return unknown
        failed = await self._fault_response(fault, openai=True)
        if failed is not None:
            return failed
        return web.json_response(self.openai_completion(body, fault))

    def openai_completion(
        self, body: dict[str, Any], fault: _Fault | None = None
    ) -> dict[str, Any]:
        """The chat.completion object for one accepted request (also each line of an
        OpenAI batch's output file)."""
        messages = body["messages"]
        full = self.responder(user_prompt(messages), body)
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 4096)
        text, reason, _ = _limit(full, max_tokens, stops)
        partial = _truncated(fault, full)
        if partial is not None:
            text, reason = partial, "max_tokens"
        prompt_chars = sum(len(t) for m in messages for t, _ in block_texts(m.get("content")))
        usage = {"prompt_tokens": _tokens(prompt_chars), "completion_tokens": _tokens(len(text))}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "length" if reason == "max_tokens" else "stop",
        }
        return {
            "id": f"chatcmpl-{time.time_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [choice],
            "usage": usage,
        }


async def _anthropic_stream(request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
    """The same Message as server-sent events, as the Messages API streams it
    (Inspect's anthropic provider always streams)."""
    text = message["content"][0]["text"]
    usage = message["usage"]
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    head["usage"] = {**usage, "output_tokens": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": head}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for name, data in events:
        await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
    await response.write_eof()
    return response


def _anthropic_refusal(request: web.Request, body: dict[str, Any] | None) -> web.Response | None:
    """The error the real API gives for a request it would not accept, else None."""
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return _error(401, "authentication_error", "x-api-key header is required", openai=False)
    if not request.headers.get("anthropic-version"):
        message = "anthropic-version header is required"
        return _error(400, "invalid_request_error", message, openai=False)
    missing = [k for k in ("model", "max_tokens", "messages") if body is None or k not in body]
    if missing:
        return _error(400, "invalid_request_error", f"missing field(s): {missing}", openai=False)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake LLM provider on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--retold",
        type=float,
        default=None,
        metavar="SHARE",
        help="retold plots mode: this share of idea items offers one of six shared plots",
    )
    args = parser.parse_args(argv)
    provider = FakeProvider(latency=args.latency, host=args.host, port=args.port).start()
    if args.retold is not None:
        provider.retold(args.retold)
    print(provider.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()


if __name__ == "__main__":
    main()
