"""A fast path for validating the common shape of a raw log v1 record.

:func:`fast_fields` accepts only records that :func:`wildchat.schema.parse_raw_log`
certainly accepts -- plain JSON types, RFC 3339 timestamps, no
``params``/``usage``/``extra`` given as text -- and returns just the fields
linking needs, without building dataclasses.  Anything else returns ``None``
and the caller falls back to ``parse_raw_log`` itself, which then either
raises the exact ``RecordError`` or gives the record.  So the rules cannot
drift: the fast path can only decline, never decide differently (a property
test in ``tests/curate`` checks this on generated records).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from wildchat.schema import ROLES, RecordError, parse_timestamp

__all__ = ["FastLog", "fast_fields"]

_OPT_STR = ("finish_reason", "conversation_id", "ip", "hashed_ip", "country", "state", "error")
_ROLES = frozenset(ROLES)
_CONSENT_TS: dict[str, Any] = {}  # consent.timestamp text -> parsed (valid ones only)


class FastLog(NamedTuple):
    request_id: str
    ts: Any  # aware datetime
    model: str
    roles: list[str]
    contents: list[str]
    response: str
    finish_reason: str | None
    conversation_id: str | None
    ip: str | None
    hashed_ip: str | None
    country: str | None
    state: str | None
    user_agent: str | None
    accept_language: str | None
    consent_ts: Any  # aware datetime, or None when there is no consent record


_DECLINE: Any = object()  # a helper's "not plainly valid" answer


def _messages(msgs: Any) -> tuple[list[str], list[str]] | None:
    """Roles and contents of a plain, non-empty message list ending with a user turn."""
    if type(msgs) is not list or not msgs:
        return None
    roles: list[str] = []
    contents: list[str] = []
    for m in msgs:
        if type(m) is not dict:
            return None
        role, content = m.get("role"), m.get("content")
        if type(role) is not str or role not in _ROLES or type(content) is not str:
            return None
        roles.append(role)
        contents.append(content)
    if roles[-1] != "user":
        return None
    return roles, contents


def _plain_optionals(get: Any) -> bool:
    """Optional strings are strings and ``params``/``usage``/``extra`` are objects, when given."""
    for key in _OPT_STR:
        v = get(key)
        if v is not None and type(v) is not str:
            return False
    for key in ("params", "usage", "extra"):
        v = get(key)
        if v is not None and type(v) is not dict:
            return False
    return True


def _headers(headers: Any) -> tuple[str | None, str | None] | None:
    """``(user-agent, accept-language)`` of a plain header object (``None`` = decline)."""
    ua = al = None
    if headers is None:
        return ua, al
    if type(headers) is not dict:
        return None
    for k, v in headers.items():
        if v is None:
            continue
        if type(v) is not str:
            return None
        lk = k.lower()
        if lk == "user-agent":
            ua = v
        elif lk == "accept-language":
            al = v
    return ua, al


def _consent_ts(consent: Any) -> Any:
    """The consent time (``None`` without a record), or :data:`_DECLINE`."""
    if consent is None:
        return None
    if type(consent) is not dict or consent.get("id") is None or consent.get("version") is None:
        return _DECLINE
    c_ts = consent.get("timestamp")
    if type(c_ts) is not str:
        return _DECLINE
    parsed = _CONSENT_TS.get(c_ts)
    if parsed is None:  # a user's logs repeat their consent time: parse each text once
        try:
            parsed = parse_timestamp(c_ts, "consent.timestamp")
        except RecordError:
            return _DECLINE
        if len(_CONSENT_TS) > 100_000:
            _CONSENT_TS.clear()
        _CONSENT_TS[c_ts] = parsed
    return parsed


def fast_fields(obj: Any) -> FastLog | None:
    """The linking fields of a plainly valid record, or ``None`` (use ``parse_raw_log``)."""
    if type(obj) is not dict:
        return None
    get = obj.get
    rid, model, ts_raw = get("request_id"), get("model"), get("timestamp")
    if type(rid) is not str or not rid or type(model) is not str or not model or type(ts_raw) is not str:
        return None
    messages = _messages(get("messages"))
    if messages is None:
        return None
    response = get("response")
    if response is None:
        response = ""
    elif type(response) is not str:
        return None
    if not _plain_optionals(get):
        return None
    headers = _headers(get("headers"))
    if headers is None:
        return None
    consent_ts = _consent_ts(get("consent"))
    if consent_ts is _DECLINE:
        return None
    try:
        ts = parse_timestamp(ts_raw)
    except RecordError:
        return None
    return FastLog(
        rid,
        ts,
        model,
        *messages,
        response,
        get("finish_reason"),
        get("conversation_id"),
        get("ip"),
        get("hashed_ip"),
        get("country"),
        get("state"),
        *headers,
        consent_ts,
    )
