"""Validation of untrusted raw-log input (JSON objects or Parquet rows) into :class:`RawLog`."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import UTC, datetime
from typing import Any

from wildchat.schema.records import ROLES, Consent, Message, RawLog


class RecordError(ValueError):
    """A record that does not fit the schema.

    ``reason`` is a short, stable code used to count skips
    (``missing_field``, ``bad_type``, ``bad_timestamp``, ``bad_role`` ...);
    the message says which field and why, never echoing record content.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------
# Validation of untrusted raw-log input
# --------------------------------------------------------------------------


def parse_timestamp(value: Any, field_name: str = "timestamp") -> datetime:
    """RFC 3339 with an offset, or epoch seconds -> aware UTC datetime.

    A timestamp without an offset is refused: guessing the zone of a log
    silently shifts consent checks and date windows.
    """
    if isinstance(value, bool):
        raise RecordError("bad_timestamp", f"{field_name}: a boolean is not a timestamp")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise RecordError("bad_timestamp", f"{field_name}: epoch out of range") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RecordError("bad_timestamp", f"{field_name}: datetime has no UTC offset")
        return value.astimezone(UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise RecordError("bad_timestamp", f"{field_name}: not RFC 3339") from exc
        if parsed.tzinfo is None:
            raise RecordError("bad_timestamp", f"{field_name}: RFC 3339 needs an offset")
        return parsed.astimezone(UTC)
    raise RecordError("bad_timestamp", f"{field_name}: expected a string or a number")


def _opt_str(obj: typing.Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordError("bad_type", f"{key}: expected a string or null")


def _req_str(obj: typing.Mapping[str, Any], key: str) -> str:
    if key not in obj or obj[key] is None:
        raise RecordError("missing_field", f"{key}: required")
    value = obj[key]
    if not isinstance(value, str) or (key != "response" and not value):
        raise RecordError("bad_type", f"{key}: expected a non-empty string")
    return value


def _opt_obj(obj: typing.Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise RecordError("bad_type", f"{key}: expected an object or null")


def _messages(value: Any) -> list[Message]:
    if value is None:
        raise RecordError("missing_field", "messages: required")
    if not isinstance(value, list) or not value:
        raise RecordError("bad_type", "messages: expected a non-empty list")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise RecordError("bad_type", f"messages[{i}]: expected an object")
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            raise RecordError("bad_role", f"messages[{i}].role: expected one of {ROLES}")
        if not isinstance(content, str):
            raise RecordError("bad_type", f"messages[{i}].content: expected a string")
        out.append(Message(role=role, content=content))
    if out[-1].role != "user":
        raise RecordError("bad_role", "messages: must end with the user's message")
    return out


def _headers(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError("bad_type", "headers: expected an object or null")
    out: dict[str, str] = {}
    for k, v in value.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise RecordError("bad_type", "headers: values must be strings")
        out[str(k).lower()] = v
    return out


def _map_or_dict(value: Any) -> Any:
    """Parquet map columns read back as ``[(key, value), ...]``."""
    return dict(value) if isinstance(value, list) else value


def _consent(value: Any) -> Consent | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError("bad_type", "consent: expected an object or null")
    cid, version = value.get("id"), value.get("version")
    if cid is None or version is None or value.get("timestamp") is None:
        raise RecordError("missing_field", "consent: needs id, version and timestamp")
    return Consent(
        id=str(cid),
        version=str(version),
        timestamp=parse_timestamp(value["timestamp"], "consent.timestamp"),
    )


_RAW_KEYS = frozenset(f.name for f in dataclasses.fields(RawLog))


def parse_raw_log(obj: Any) -> RawLog:
    """Validate one decoded JSON object (or Parquet row) as raw log v1.

    Raises :class:`RecordError` naming the first problem.  Unknown keys are
    kept in ``extra`` as JSON text.
    """
    if not isinstance(obj, dict):
        raise RecordError("bad_type", "record: expected a JSON object")
    if "timestamp" not in obj or obj["timestamp"] is None:
        raise RecordError("missing_field", "timestamp: required")
    extra = {k: json.dumps(v, ensure_ascii=False, default=str) for k, v in obj.items() if k not in _RAW_KEYS}
    old_extra = obj.get("extra")
    if isinstance(old_extra, dict):
        extra.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in old_extra.items()})
    elif isinstance(old_extra, list):  # a map column read back from Parquet
        extra.update({str(k): str(v) for k, v in old_extra})
    response = obj.get("response")
    if response is None:
        response = ""
    if not isinstance(response, str):
        raise RecordError("bad_type", "response: expected a string")
    params, usage = obj.get("params"), obj.get("usage")
    # Parquet rows carry params/usage as JSON text.
    params = json.loads(params) if isinstance(params, str) else params
    usage = json.loads(usage) if isinstance(usage, str) else usage
    checked = {"params": params, "usage": usage}
    return RawLog(
        request_id=_req_str(obj, "request_id"),
        timestamp=parse_timestamp(obj["timestamp"]),
        model=_req_str(obj, "model"),
        messages=_messages(obj.get("messages")),
        response=response,
        finish_reason=_opt_str(obj, "finish_reason"),
        conversation_id=_opt_str(obj, "conversation_id"),
        ip=_opt_str(obj, "ip"),
        hashed_ip=_opt_str(obj, "hashed_ip"),
        country=_opt_str(obj, "country"),
        state=_opt_str(obj, "state"),
        headers=_headers(_map_or_dict(obj.get("headers"))),
        consent=_consent(obj.get("consent")),
        params=_opt_obj(checked, "params"),
        usage=_opt_obj(checked, "usage"),
        error=_opt_str(obj, "error"),
        extra=extra or None,
    )
