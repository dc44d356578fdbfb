"""Request parameters -> :class:`SearchQuery`, and the opaque paging cursor.

:func:`parse_search_params` is what the web app calls with the raw query
string: every value is validated and every problem is a :class:`QueryError`
whose message names the parameter (the app answers 400 with it).  Unknown
parameters are ignored (links may carry page state of the UI).

Cursors are keyset positions, not offsets, so a page is as fast as the first
and rows never shift between pages: base64url of a small JSON object holding
the sort, the last row's sort key and id, and a fingerprint of the query, so
a cursor used with another query or sort is refused instead of paging
something else.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from wildchat.explore.model import MAX_LIMIT, QueryError, SearchQuery
from wildchat.explore.tokens import parse_terms

__all__ = [
    "MAX_TEXT_CHARS",
    "decode_cursor",
    "decode_position",
    "encode_cursor",
    "parse_search_params",
    "query_fingerprint",
]

#: Longest accepted query text.
MAX_TEXT_CHARS = 1000
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_STR_FILTERS = ("dataset", "model", "language", "country", "state", "hashed_ip", "conversation_id")
_BOOL_FILTERS = ("toxic", "redacted", "jailbreak")


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise QueryError(f"{name}: expected 1/0 or true/false")


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise QueryError(f"{name}: expected an integer") from None
    if not lo <= value <= hi:
        raise QueryError(f"{name}: must be between {lo} and {hi}")
    return value


def _datetime(name: str, raw: str, end_of_day: bool) -> datetime:
    """ISO date or datetime; a bare date means its start (``since``) or end (``until``), UTC."""
    value = raw.strip()
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            t = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return t.replace(hour=23, minute=59, second=59, microsecond=999999) if end_of_day else t
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}: expected an ISO date (YYYY-MM-DD) or datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _opt(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    raw = str(raw)
    return raw if raw.strip() else None


def parse_search_params(params: Mapping[str, str]) -> SearchQuery:
    """Validate raw request parameters (all strings) into a :class:`SearchQuery`.

    Empty values mean "not set".  Raises :class:`QueryError` for a bad
    integer, boolean, date, sort or cursor, ``limit`` outside 1..MAX_LIMIT,
    ``min_turns > max_turns``, ``since > until`` or text over
    :data:`MAX_TEXT_CHARS` characters.
    """
    fields: dict[str, Any] = {}
    text = params.get("q", params.get("text", "")) or ""
    if len(text) > MAX_TEXT_CHARS:
        raise QueryError(f"q: longer than {MAX_TEXT_CHARS} characters")
    if "\x00" in text:
        raise QueryError("q: contains a NUL character")
    fields["text"] = text.strip()
    if (raw := _opt(params, "phrase")) is not None:
        fields["phrase"] = _bool("phrase", raw)
    for name in _STR_FILTERS:
        if (raw := _opt(params, name)) is not None:
            if len(raw) > 500 or "\x00" in raw:
                raise QueryError(f"{name}: not a valid value")
            fields[name] = raw.strip()
    for name in _BOOL_FILTERS:
        if (raw := _opt(params, name)) is not None and raw.strip().lower() not in {"any", "all"}:
            fields[name] = _bool(name, raw)
    for name in ("min_turns", "max_turns"):
        if (raw := _opt(params, name)) is not None:
            fields[name] = _int(name, raw, 0, 1_000_000)
    if (raw := _opt(params, "since")) is not None:
        fields["since"] = _datetime("since", raw, end_of_day=False)
    if (raw := _opt(params, "until")) is not None:
        fields["until"] = _datetime("until", raw, end_of_day=True)
    if (raw := _opt(params, "sort")) is not None:
        if raw not in ("relevance", "time"):
            raise QueryError("sort: expected 'relevance' or 'time'")
        fields["sort"] = raw
    if (raw := _opt(params, "limit")) is not None:
        fields["limit"] = _int("limit", raw, 1, MAX_LIMIT)
    if (raw := _opt(params, "cursor")) is not None:
        fields["cursor"] = raw.strip()
    query = SearchQuery(**fields)
    validate_query(query)
    return query


def validate_query(query: SearchQuery) -> None:
    """Cross-field checks shared by :func:`parse_search_params` and :meth:`Index.search`."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise QueryError(f"limit: must be between 1 and {MAX_LIMIT}")
    if len(query.text) > MAX_TEXT_CHARS:
        raise QueryError(f"q: longer than {MAX_TEXT_CHARS} characters")
    for name in ("text", *_STR_FILTERS):
        value = getattr(query, name)
        if value is not None and "\x00" in value:  # PostgreSQL cannot even compare text with NUL
            raise QueryError(f"{name}: contains a NUL character")
    if query.min_turns is not None and query.max_turns is not None and query.min_turns > query.max_turns:
        raise QueryError("min_turns: must not exceed max_turns")
    if query.since is not None and query.until is not None and query.since > query.until:
        raise QueryError("since: must not be after until")
    if query.sort not in ("relevance", "time"):
        raise QueryError("sort: expected 'relevance' or 'time'")
    if query.cursor is not None:
        decode_cursor(query.cursor, query_fingerprint(query))
    try:
        parse_terms(query.text, query.phrase)
    except ValueError as exc:
        raise QueryError(f"q: {exc}") from None


def query_fingerprint(query: SearchQuery) -> str:
    """Short hash of everything but the page (``limit``/``cursor``) -- ties a cursor to its query."""
    data = dataclasses.asdict(query)
    data.pop("limit")
    data.pop("cursor")
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:12]


def encode_cursor(fingerprint: str, key: float | int, row_id: int, phase: int = 0) -> str:
    """Cursor after the row ``(key, row_id)``; ``phase`` 1 = in the tail after a ranked window.

    (Phase 0 cursors carry no ``p``, so they read as before.)
    """
    data: dict[str, Any] = {"f": fingerprint, "k": key, "i": row_id}
    if phase:
        data["p"] = phase
    raw = orjson.dumps(data)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[float | int, int]:
    """``(sort key, row id)`` of a cursor made for the query with ``fingerprint``; else QueryError."""
    key, row_id, _phase = decode_position(cursor, fingerprint)
    return key, row_id


def decode_position(cursor: str, fingerprint: str) -> tuple[float | int, int, int]:
    """``(sort key, row id, phase)`` of a cursor (see :func:`encode_cursor`); else QueryError."""
    if len(cursor) > 200:
        raise QueryError("cursor: not a valid cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise QueryError("cursor: not a valid cursor") from None
    if not isinstance(data, dict) or set(data) - {"p"} != {"f", "k", "i"} or data.get("p", 0) not in (0, 1):
        raise QueryError("cursor: not a valid cursor")
    key, row_id = data["k"], data["i"]
    if (
        not isinstance(row_id, int)
        or isinstance(row_id, bool)
        or not isinstance(key, int | float)
        or isinstance(key, bool)
    ):
        raise QueryError("cursor: not a valid cursor")
    if data["f"] != fingerprint:
        raise QueryError("cursor: belongs to another query or sort; start from the first page")
    return key, row_id, int(data.get("p", 0))
