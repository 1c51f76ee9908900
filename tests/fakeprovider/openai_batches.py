"""OpenAI's Files and Batches API in the fake provider (what litellm's `acreate_file`,
`acreate_batch`, `aretrieve_batch`, `alist_batches` and `afile_content` call).

    provider.openai_batches.delay = 0.1                  # a batch completes this long after create
    provider.openai_batches.inject_result("errored")     # the next processed request fails (500)
    provider.openai_batches.inject_result("errored", status=400, code="invalid_request_error")
    provider.openai_batches.inject_result("expired")     # ... or is left undone (batch_expired)
    provider.openai_batches.fail_create(429, count=1)    # the next create answers HTTP 429
    provider.openai_batches.hold = True                  # batches stay in_progress until released
    provider.openai_batches.created                      # [{"id", "custom_ids", "metadata"}, ...]
    provider.openai_batches.files                        # file id -> bytes (uploads and outputs)

Each request line is answered by the provider's own chat completions responder, so
usage is what an immediate call reports. Output and error files list their lines
shuffled: a client must map them by custom_id. The real API's limits are enforced:
at most 50,000 requests and 200 MB per input file, unique custom ids, one model.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakeprovider.outcomes import OutcomeQueue

if TYPE_CHECKING:
    from fakeprovider.server import FakeProvider

__all__ = ["FakeOpenAIBatches"]

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
_CREATE_FAULTS = {
    400: ("invalid_request_error", "invalid batch"),
    401: ("invalid_request_error", "Incorrect API key provided"),
    429: ("rate_limit_exceeded", "Enqueued token limit reached"),
    500: ("server_error", "Internal server error"),
}


@dataclass
class _Outcome:
    kind: str  # errored | expired
    status: int = 500
    code: str = "server_error"
    custom_id: str | None = None


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created_at: int
    lines: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed_at: int | None = None
    counts: dict[str, int] = field(default_factory=dict)


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": kind, "param": None}}, status=status
    )


class FakeOpenAIBatches:
    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.delay = 0.05
        self.hold = False
        self.shuffle = True
        self.rng = random.Random(0)
        self.files: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self._lock = threading.Lock()
        self._batches: dict[str, _Batch] = {}
        self._outcomes: OutcomeQueue[_Outcome] = OutcomeQueue()
        self._create_faults: deque[int] = deque()
        self._created: list[dict[str, Any]] = []
        self._serial = 0

    # --- scripting and records --------------------------------------------
    def inject_result(
        self,
        kind: str,
        count: int = 1,
        *,
        status: int = 500,
        code: str = "server_error",
        custom_id: str | None = None,
    ) -> None:
        if kind not in ("errored", "expired"):
            raise ValueError(f"unknown result kind {kind!r}; choose errored or expired")
        self._outcomes.add(_Outcome(kind, status, code, custom_id) for _ in range(count))

    def fail_create(self, status: int, count: int = 1) -> None:
        if status not in _CREATE_FAULTS:
            raise ValueError(f"unknown create fault {status}; choose from {sorted(_CREATE_FAULTS)}")
        with self._lock:
            self._create_faults.extend([status] * count)

    def release(self) -> None:
        """Let held batches complete."""
        self.hold = False

    @property
    def created(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._created)

    def register(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_get("/v1/files/{id}", self._file)
        app.router.add_delete("/v1/files/{id}", self._delete)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches", self._list)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        app.router.add_post("/v1/batches/{id}/cancel", self._cancel)

    # --- files -------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._serial += 1
            return f"{prefix}-{self._serial:05d}{time.time_ns() % 10**6:06d}"

    def _file_view(self, file_id: str, purpose: str = "batch") -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.files.get(file_id, b"")),
            "created_at": int(time.time()),
            "filename": f"{file_id}.jsonl",
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        if refused := _unauthorised(request):
            return refused
        form = await request.post()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "file"):
            return _error(400, "invalid_request_error", "file is required")
        data = upload.file.read()
        if len(data) > MAX_BYTES:
            return _error(400, "invalid_request_error", f"file is larger than {MAX_BYTES} bytes")
        file_id = self._new_id("file")
        with self._lock:
            self.files[file_id] = data
        return web.json_response(self._file_view(file_id, str(form.get("purpose", "batch"))))

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        if file_id not in self.files:
            return _error(404, "invalid_request_error", f"No such File object: {file_id}")
        return web.json_response(self._file_view(file_id))

    async def _content(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        data = self.files.get(file_id)
        if data is None:
            return _error(404, "invalid_request_error", f"No such File object: {file_id}")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _delete(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        with self._lock:
            found = self.files.pop(file_id, None) is not None
            if found:
                self.deleted.append(file_id)
        return web.json_response({"id": file_id, "object": "file", "deleted": found})

    # --- batches -----------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        if refused := _unauthorised(request):
            return refused
        with self._lock:
            status = self._create_faults.popleft() if self._create_faults else None
        if status is not None:
            kind, message = _CREATE_FAULTS[status]
            response = _error(status, kind, message)
            if status == 429:
                response.headers["retry-after"] = "0"
            return response
        body = await request.json()
        data = self.files.get(str(body.get("input_file_id")))
        if data is None:
            return _error(400, "invalid_request_error", "input_file_id does not exist")
        lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        problem = _check_lines(lines, body.get("endpoint"))
        if problem:
            return _error(400, "invalid_request_error", problem)
        batch = _Batch(
            self._new_id("batch"),
            str(body["input_file_id"]),
            int(time.time()),
            lines,
            body.get("metadata"),
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._created.append(
                {
                    "id": batch.id,
                    "custom_ids": [line["custom_id"] for line in lines],
                    "models": sorted({line["body"]["model"] for line in lines}),
                    "metadata": batch.metadata,
                    "bytes": len(data),
                }
            )
        asyncio.get_running_loop().create_task(self._process(batch))
        return web.json_response(self._view(batch))

    async def _retrieve(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "invalid_request_error", "No such Batch")
        return web.json_response(self._view(batch))

    async def _cancel(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "invalid_request_error", "No such Batch")
        batch.status = "cancelled"
        return web.json_response(self._view(batch))

    async def _list(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", 20))
        ordered = sorted(self._batches.values(), key=lambda b: b.id, reverse=True)
        after = request.query.get("after")
        ids = [b.id for b in ordered]
        start = ids.index(after) + 1 if after in ids else 0
        page = ordered[start : start + limit]
        return web.json_response(
            {
                "object": "list",
                "data": [self._view(b) for b in page],
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(ordered),
            }
        )

    async def _process(self, batch: _Batch) -> None:
        await asyncio.sleep(self.delay)
        while self.hold:
            await asyncio.sleep(0.02)
        outputs, errors = [], []
        for line in batch.lines:
            answer = self._answer(line)
            (
                outputs
                if answer["response"] and answer["response"]["status_code"] == 200
                else errors
            ).append(answer)
        if self.shuffle:
            self.rng.shuffle(outputs)
            self.rng.shuffle(errors)
        batch.output_file_id = self._store_lines(outputs)
        batch.error_file_id = self._store_lines(errors)
        batch.counts = {"total": len(batch.lines), "completed": len(outputs), "failed": len(errors)}
        batch.status, batch.completed_at = "completed", int(time.time())

    def _store_lines(self, lines: list[dict[str, Any]]) -> str | None:
        if not lines:
            return None
        file_id = self._new_id("file")
        with self._lock:
            self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
        return file_id

    def _answer(self, line: dict[str, Any]) -> dict[str, Any]:
        cid = line["custom_id"]
        outcome = self._outcomes.take(cid)
        base: dict[str, Any] = {"id": f"batch_req_{time.time_ns()}", "custom_id": cid}
        if outcome is not None and outcome.kind == "expired":
            error = {"code": "batch_expired", "message": "This request could not be executed"}
            return {**base, "response": None, "error": error}
        if outcome is not None:
            body = {
                "error": {"message": "fake failure", "type": outcome.code, "code": outcome.code}
            }
            response = {"status_code": outcome.status, "request_id": "req", "body": body}
            return {**base, "response": response, "error": None}
        body = self.provider.openai_completion(line["body"])
        return {
            **base,
            "response": {"status_code": 200, "request_id": "req", "body": body},
            "error": None,
        }

    def _view(self, batch: _Batch) -> dict[str, Any]:
        counts = batch.counts or {"total": len(batch.lines), "completed": 0, "failed": 0}
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": batch.created_at,
            "in_progress_at": batch.created_at,
            "expires_at": batch.created_at + 24 * 3600,
            "finalizing_at": batch.completed_at,
            "completed_at": batch.completed_at,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": counts,
            "metadata": batch.metadata,
        }


def _unauthorised(request: web.Request) -> web.Response | None:
    if not request.headers.get("authorization", "").removeprefix("Bearer ").strip():
        return _error(401, "invalid_request_error", "You didn't provide an API key")
    return None


def _check_lines(lines: list[dict[str, Any]], endpoint: Any) -> str:
    if endpoint != "/v1/chat/completions":
        return f"endpoint {endpoint!r} is not supported here"
    if not lines:
        return "the input file has no requests"
    if len(lines) > MAX_REQUESTS:
        return f"the input file has more than {MAX_REQUESTS} requests"
    seen: set[str] = set()
    models = set()
    for line in lines:
        cid = line.get("custom_id")
        if not isinstance(cid, str) or cid in seen:
            return f"custom_id {cid!r} is missing or not unique"
        if line.get("url") != "/v1/chat/completions" or line.get("method") != "POST":
            return f"{cid}: url and method must be /v1/chat/completions and POST"
        seen.add(cid)
        models.add(line.get("body", {}).get("model"))
    if len(models) != 1:
        return f"a batch file must use one model, got {sorted(map(str, models))}"
    return ""
