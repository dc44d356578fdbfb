"""Reading untrusted JSON bodies: bounded size, strict UTF-8, clear errors."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from wildchat.collect.errors import ApiError

__all__ = ["read_json"]


async def read_json(request: Request, max_bytes: int, media_error_status: int = 415) -> Any:
    """The decoded JSON body, or :class:`ApiError` (413 too large, 400 not UTF-8 / not JSON).

    The body is read in chunks and abandoned as soon as it passes
    ``max_bytes``, whatever ``Content-Length`` claims.
    """
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ApiError(media_error_status, "unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "body_too_large", f"request body is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"request body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_utf8", "request body is not valid UTF-8") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from exc
