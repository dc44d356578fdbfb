"""``GET /api/admin/export``: raw log v1 as JSON lines, behind a bearer token.

Off unless ``admin_token`` is configured (then 404, as if it did not exist).
The same records as ``wildchat export-logs``; ``?since=`` takes RFC 3339
with an offset or epoch seconds, and anything else (including numbers or
dates out of range) is a 400 before the stream starts.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from wildchat.collect.deps import AppServices
from wildchat.collect.errors import ApiError
from wildchat.collect.export import iter_records
from wildchat.formats.rawlog import raw_log_to_json
from wildchat.schema import RecordError, parse_timestamp

router = APIRouter(prefix="/api/admin")


def parse_since(since: str | None) -> datetime | None:
    """``?since=`` as an aware UTC datetime; :class:`ApiError` 400 for anything malformed."""
    if not since:
        return None
    try:
        value: str | float = since
        if since.isascii() and since.replace(".", "", 1).isdigit():
            value = float(since)
        return parse_timestamp(value, "since")
    except (RecordError, ValueError, OverflowError) as exc:
        raise ApiError(400, "invalid_request", "since: use RFC 3339 with an offset or epoch seconds") from exc


@router.get("/export", response_model=None)
def export(request: Request, services: AppServices, since: str | None = None) -> StreamingResponse:
    token = services.settings.admin_token
    if token is None:
        raise ApiError(404, "not_found", "Not Found")
    given = request.headers.get("authorization", "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, b"Bearer " + token.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "admin token required (Authorization: Bearer ...)")
    since_ts = parse_since(since)

    def lines() -> Iterator[bytes]:
        with Session(services.engine) as session:
            for record in iter_records(session, since_ts):
                yield orjson.dumps(raw_log_to_json(record)) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
