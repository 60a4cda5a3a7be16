"""The playground's message helpers: strict JSON values, state sequence numbers, the client of a connection and
request bodies read as a stream up to their limit."""
from __future__ import annotations

import math
from typing import Any

from fastapi import HTTPException, Request, WebSocket

import actlab
from actlab.web.guard import loads

__all__ = ["STEP_ERRORS", "read_json"]


def _clean(value: Any) -> Any:
    """JSON-ready, strict: non-finite floats → None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _seq(value: Any) -> int | None:
    """A state message's ``seq`` when it is a sane whole number (anything else is ignored)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53:
        return value
    return None


def _state_seq(text: str | None, max_bytes: int) -> int | None:
    """The ``seq`` of a state message the rate limit drops (None for any other message)."""
    if not text or len(text) > max_bytes:
        return None
    try:
        message = loads(text)
    except ValueError:
        return None
    return _seq(message.get("seq")) if isinstance(message, dict) and message.get("type") == "state" else None


STEP_ERRORS = (actlab.ActlabError, ArithmeticError, RuntimeError, ValueError)  # a net that cannot train on


def _client(connection: Request | WebSocket) -> str:
    """Who a request comes from, for the per-client shares: its address."""
    return connection.client.host if connection.client is not None else ""


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, read as a stream: refused (413) as soon as it passes ``limit`` bytes."""
    too_large = HTTPException(413, f"the request body is larger than {limit} bytes",
                              headers={"Connection": "close"})  # the rest of the body is not read
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    try:
        return loads(body)
    except ValueError as error:
        raise HTTPException(422, f"the request body is not valid JSON ({error})") from None
