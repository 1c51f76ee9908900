"""The fake provider's gate: account checks and the hard rate limit, ahead of every
sampling call (a middleware, so both APIs and the batch create share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from fakeprovider.server import FakeProvider

__all__ = ["account_refusal", "gate"]


def _error(status: int, kind: str, message: str, *, openai: bool) -> web.Response:
    from fakeprovider.server import _error as error

    return error(status, kind, message, openai=openai)


def gate(provider: FakeProvider) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        sampling = request.path.endswith(("/messages", "/chat/completions"))
        refused = account_refusal(provider, request) if sampling else None
        if refused is not None:
            return refused
        limit = provider.limit
        if limit is None or not sampling:
            return await handler(request)
        wait = limit.admit(max(1, len(await request.read()) // 4))
        openai = "chat" in request.path
        if wait > 0:
            response: web.StreamResponse = _error(
                429, "rate_limit_error", "Rate limit exceeded", openai=openai
            )
            response.headers["retry-after"] = str(max(1, round(wait)))
        else:
            response = await handler(request)
        response.headers.update(limit.headers(openai=openai))
        return response

    return middleware


def account_refusal(provider: FakeProvider, request: web.Request) -> web.Response | None:
    """401 for a key outside `provider.api_keys` (when that is set), as each API words it."""
    openai = "chat" in request.path
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    key = key.removeprefix("Bearer ").strip()
    if provider.api_keys is not None and key and key not in provider.api_keys:
        message = "Incorrect API key provided" if openai else "invalid x-api-key"
        kind = "invalid_request_error" if openai else "authentication_error"
        return _error(401, kind, message, openai=openai)
    return None
