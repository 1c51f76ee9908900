"""The Message Batches endpoints of the fake provider.

    provider.batches.delay = 0.2                 # a batch ends this long after create
    provider.batches.inject_result("expired")    # the next processed request expires
    provider.batches.inject_result("errored", error_type="invalid_request_error",
                                   custom_id="...")   # or target one custom id
    provider.batches.created                     # [{"id", "custom_ids", "time"}, ...]
    provider.batches.fail_create(529, count=3)   # the next 3 creates answer HTTP 529

Each request of a batch is answered by the provider's normal Messages
responder (`FakeProvider.anthropic_message`), so usage and cache fields are the
same as immediate calls. Results come back shuffled: clients must map them by
custom_id. `expire_next = n`: the next n batches expire as a whole instead of
being processed (the real API expires what it has not processed in 24 hours).
`forget_next = n`: the next n batches are forgotten right after create (the API then
answers 404 for them, as for a batch deleted or lost on the provider's side).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakeprovider.gate import account_refusal
from fakeprovider.outcomes import OutcomeQueue

if TYPE_CHECKING:
    from fakeprovider.server import FakeProvider

__all__ = ["FakeBatches"]

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_REQUESTS = 100_000
_RESULT_KINDS = ("errored", "expired", "canceled")


@dataclass
class _Outcome:
    kind: str
    error_type: str = "api_error"
    message: str = "Internal server error"
    custom_id: str | None = None


@dataclass
class _Batch:
    id: str
    created_at: float
    requests: list[dict[str, Any]]
    status: str = "in_progress"
    results: list[dict[str, Any]] = field(default_factory=list)
    ended_at: float | None = None
    cancel_at: float | None = None
    task: asyncio.Task[None] | None = None


# HTTP status -> (error type, message), as the Messages Batches API answers them.
_CREATE_FAULTS = {
    400: ("invalid_request_error", "requests: invalid request"),
    429: ("rate_limit_error", "Rate limited by fake provider"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status=status
    )


class FakeBatches:
    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.delay = 0.05
        self.expire_next = 0
        self.forget_next = 0
        self.shuffle = True
        self.rng = random.Random(0)
        self._lock = threading.Lock()
        self._batches: dict[str, _Batch] = {}
        self._outcomes: OutcomeQueue[_Outcome] = OutcomeQueue()
        self._created: list[dict[str, Any]] = []
        self._serial = 0
        self._create_faults: deque[int] = deque()

    # --- scripting and records --------------------------------------------
    def inject_result(
        self,
        kind: str,
        count: int = 1,
        *,
        error_type: str = "api_error",
        message: str = "Internal server error",
        custom_id: str | None = None,
    ) -> None:
        """The next `count` processed requests (or the one with `custom_id`) get `kind`."""
        if kind not in _RESULT_KINDS:
            raise ValueError(f"unknown result kind {kind!r}; choose from {_RESULT_KINDS}")
        self._outcomes.add(_Outcome(kind, error_type, message, custom_id) for _ in range(count))

    def fail_create(self, status: int, count: int = 1) -> None:
        """The next `count` creates are refused with HTTP `status` (as the real API
        types it) and create nothing."""
        if status not in _CREATE_FAULTS:
            raise ValueError(f"unknown create fault {status}; choose from {sorted(_CREATE_FAULTS)}")
        with self._lock:
            self._create_faults.extend([status] * count)

    @property
    def created(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._created)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._created)

    def register(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages/batches", self._create)
        app.router.add_get("/v1/messages/batches", self._list)
        app.router.add_get("/v1/messages/batches/{id}", self._retrieve)
        app.router.add_get("/v1/messages/batches/{id}/results", self._results)
        app.router.add_post("/v1/messages/batches/{id}/cancel", self._cancel)

    # --- handlers ------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        refused = _refusal(request) or account_refusal(self.provider, request)
        if refused is not None:
            return refused
        with self._lock:
            status = self._create_faults.popleft() if self._create_faults else None
        if status is not None:
            return _error(status, *_CREATE_FAULTS[status])
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        entries = body.get("requests") if isinstance(body, dict) else None
        problem = _check_entries(entries)
        if problem:
            return _error(400, "invalid_request_error", problem)
        assert isinstance(entries, list)
        with self._lock:
            self._serial += 1
            batch = _Batch(
                f"msgbatch_{self._serial:04d}{time.time_ns() % 10**8:08d}", time.time(), entries
            )
            self._batches[batch.id] = batch
            self._created.append(
                {
                    "id": batch.id,
                    "time": batch.created_at,
                    "custom_ids": [e["custom_id"] for e in entries],
                    "entries": entries,
                    "bytes": len(json.dumps(body)),
                }
            )
        view = self._view(request, batch)
        with self._lock:
            forget, self.forget_next = self.forget_next > 0, max(0, self.forget_next - 1)
            if forget:
                del self._batches[batch.id]
        if not forget:
            batch.task = asyncio.get_running_loop().create_task(self._process(batch))
        return web.json_response(view)

    async def _retrieve(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["id"])
        if refused := _refusal(request):
            return refused
        if batch is None:
            return _error(404, "not_found_error", "batch not found")
        return web.json_response(self._view(request, batch))

    async def _results(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["id"])
        if refused := _refusal(request):
            return refused
        if batch is None:
            return _error(404, "not_found_error", "batch not found")
        if batch.status != "ended":
            return _error(400, "invalid_request_error", "batch is still processing")
        lines = "".join(json.dumps(r) + "\n" for r in batch.results)
        return web.Response(text=lines, content_type="application/binary")

    async def _cancel(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["id"])
        if refused := _refusal(request):
            return refused
        if batch is None:
            return _error(404, "not_found_error", "batch not found")
        if batch.status == "in_progress":
            batch.cancel_at = time.time()
            if batch.task is not None:
                batch.task.cancel()
            self._finish(batch, [self._cancelled(e) for e in batch.requests])
        return web.json_response(self._view(request, batch))

    async def _list(self, request: web.Request) -> web.Response:
        if refused := _refusal(request):
            return refused
        limit = int(request.query.get("limit", 20))
        ordered = sorted(self._batches.values(), key=lambda b: b.created_at, reverse=True)
        ids = [b.id for b in ordered]
        after = request.query.get("after_id")
        start = ids.index(after) + 1 if after in ids else 0
        page = ordered[start : start + limit]
        return web.json_response(
            {
                "data": [self._view(request, b) for b in page],
                "has_more": start + limit < len(ordered),
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            }
        )

    # --- processing ----------------------------------------------------------
    async def _process(self, batch: _Batch) -> None:
        with self._lock:
            expire, self.expire_next = self.expire_next > 0, max(0, self.expire_next - 1)
        if expire:
            await asyncio.sleep(self.delay)
            self._finish(
                batch,
                [
                    {"custom_id": e["custom_id"], "result": {"type": "expired"}}
                    for e in batch.requests
                ],
            )
            return
        await asyncio.sleep(self.delay)
        self._finish(batch, [self._answer(e) for e in batch.requests])

    def _answer(self, entry: dict[str, Any]) -> dict[str, Any]:
        cid = entry["custom_id"]
        outcome = self._outcomes.take(cid)
        if outcome is not None:
            result: dict[str, Any] = {"type": outcome.kind}
            if outcome.kind == "errored":
                result["error"] = {
                    "type": "error",
                    "error": {"type": outcome.error_type, "message": outcome.message},
                }
            return {"custom_id": cid, "result": result}
        params = entry["params"]
        missing = [k for k in ("model", "max_tokens", "messages") if k not in params]
        models = self.provider.models
        if missing or (models is not None and params["model"] not in models):
            error = {"type": "invalid_request_error", "message": f"missing field(s): {missing}"}
            if not missing:
                error = {"type": "not_found_error", "message": f"model: {params['model']}"}
            return {
                "custom_id": cid,
                "result": {"type": "errored", "error": {"type": "error", "error": error}},
            }
        message = self.provider.anthropic_message(params)
        return {"custom_id": cid, "result": {"type": "succeeded", "message": message}}

    @staticmethod
    def _cancelled(entry: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": entry["custom_id"], "result": {"type": "canceled"}}

    def _finish(self, batch: _Batch, results: list[dict[str, Any]]) -> None:
        if self.shuffle:
            self.rng.shuffle(results)
        batch.results, batch.status, batch.ended_at = results, "ended", time.time()

    def _view(self, request: web.Request, batch: _Batch) -> dict[str, Any]:
        counts = {k: 0 for k in ("processing", "succeeded", "errored", "canceled", "expired")}
        if batch.status == "ended":
            for r in batch.results:
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        base = f"{request.scheme}://{request.host}"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + 24 * 3600),
            "ended_at": _iso(batch.ended_at),
            "cancel_initiated_at": _iso(batch.cancel_at),
            "archived_at": None,
            "results_url": (
                f"{base}/v1/messages/batches/{batch.id}/results"
                if batch.status == "ended"
                else None
            ),
        }


def _refusal(request: web.Request) -> web.Response | None:
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return _error(401, "authentication_error", "x-api-key header is required")
    if not request.headers.get("anthropic-version"):
        return _error(400, "invalid_request_error", "anthropic-version header is required")
    return None


def _check_entries(entries: Any) -> str:
    if not isinstance(entries, list) or not entries:
        return "requests: must be a non-empty list"
    if len(entries) > _MAX_REQUESTS:
        return f"requests: at most {_MAX_REQUESTS} per batch"
    seen: set[str] = set()
    for entry in entries:
        cid = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or not _CUSTOM_ID.match(cid):
            return f"custom_id {cid!r} does not match ^[a-zA-Z0-9_-]{{1,64}}$"
        if cid in seen:
            return f"custom_id {cid!r} is not unique in this batch"
        if not isinstance(entry.get("params"), dict):
            return f"{cid}: params must be an object"
        seen.add(cid)
    return ""
