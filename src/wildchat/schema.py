"""The two records that flow through wildchat, defined once.

Every other part of the toolkit (readers, the collection server's export, the
curation pipeline, the analysis report) imports its record shapes from here:

* :class:`RawLog` -- *raw log, format v1*: one record per chat request, as a
  collector or any LLM gateway writes it.  Input of ``wildchat curate``.
* :class:`Conversation` -- *release conversation*: one record per
  conversation in exactly the WildChat-1M schema, plus three documented
  extensions (``conversation_id`` and the turn-level ``jailbreak`` /
  ``jailbreak_match``).

The record classes are plain dataclasses.  Their Arrow schemas are *derived*
from the dataclass type hints by :func:`arrow_schema`, so the Python shape and
the Parquet shape cannot drift apart.  Field metadata carries the two things a
type hint cannot say:

* ``name`` -- the on-disk field name where it is not a Python identifier
  (``accept-language``, ``harassment/threatening``);
* ``keys`` -- for ``dict`` fields stored as an Arrow *struct* with a fixed set
  of keys (moderation categories and scores, Detoxify scores);
* ``json`` -- for free-form objects (``params``, ``usage``) stored as a JSON
  string, because their keys vary by backend.

Conversion between records and Arrow-ready rows is done by :func:`to_row` and
:func:`from_row`; validation of untrusted raw-log input by
:func:`parse_raw_log`, which raises :class:`RecordError` with a short machine
reason and a human message.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import pyarrow as pa

__all__ = [
    "DETOXIFY_LABELS",
    "OPENAI_MODERATION_CATEGORIES",
    "ROLES",
    "Consent",
    "Conversation",
    "DetoxifyScores",
    "Header",
    "Message",
    "Moderation",
    "RawLog",
    "RecordError",
    "Turn",
    "arrow_schema",
    "from_row",
    "parse_raw_log",
    "parse_timestamp",
    "raw_log_schema",
    "release_schema",
    "to_row",
]

ROLES = ("system", "user", "assistant")

#: OpenAI Moderation categories exactly as WildChat-1M stores them: the API
#: answered with both the slash and the underscore spelling, and the release
#: kept both.
OPENAI_MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "harassment_threatening",
    "hate",
    "hate/threatening",
    "hate_threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "self_harm",
    "self_harm_instructions",
    "self_harm_intent",
    "sexual",
    "sexual/minors",
    "sexual_minors",
    "violence",
    "violence/graphic",
    "violence_graphic",
)

#: Detoxify's seven scores (the ``multilingual``/``unbiased`` heads).
DETOXIFY_LABELS: tuple[str, ...] = (
    "identity_attack",
    "insult",
    "obscene",
    "severe_toxicity",
    "sexual_explicit",
    "threat",
    "toxicity",
)


def _named(name: str, default: Any = None) -> Any:
    """A field whose on-disk name differs from its Python name."""
    return field(default=default, metadata={"name": name})


def _keyed(keys: tuple[str, ...]) -> Any:
    """A ``dict`` field stored as an Arrow struct with exactly these keys."""
    return field(default_factory=dict, metadata={"keys": keys})


def _json() -> Any:
    """A free-form object stored as JSON text (keys vary by backend)."""
    return field(default=None, metadata={"json": True})


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
# Raw log v1
# --------------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    """One message of the history sent to a model."""

    role: str
    content: str


@dataclass(slots=True)
class Consent:
    """The consent record a request was made under (``None`` = no consent)."""

    id: str
    version: str
    timestamp: datetime


@dataclass(slots=True)
class RawLog:
    """One chat request: the full history sent, and the reply streamed back.

    ``timestamp`` is when the reply finished (UTC).  ``messages`` ends with the
    user's message.  ``ip`` is the raw client IP and must never reach a
    release; ``hashed_ip`` is set instead when the source already
    pseudonymised it.  Fields a source sends that v1 does not know are kept in
    ``extra`` (values JSON-encoded), never dropped.
    """

    request_id: str
    timestamp: datetime
    model: str
    messages: list[Message]
    response: str = ""
    finish_reason: str | None = None
    conversation_id: str | None = None
    ip: str | None = None
    hashed_ip: str | None = None
    country: str | None = None
    state: str | None = None
    headers: dict[str, str] | None = None
    consent: Consent | None = None
    params: dict[str, Any] | None = _json()  # noqa: RUF009 (returns a dataclasses.field)
    usage: dict[str, Any] | None = _json()  # noqa: RUF009
    error: str | None = None
    extra: dict[str, str] | None = None


# --------------------------------------------------------------------------
# Release conversation (WildChat-1M schema + extensions)
# --------------------------------------------------------------------------


@dataclass(slots=True)
class Header:
    """The two request headers WildChat releases."""

    accept_language: str | None = _named("accept-language")
    user_agent: str | None = _named("user-agent")


@dataclass(slots=True)
class Turn:
    """One message of a released conversation.

    User turns carry ``country``/``state``/``hashed_ip``/``header``; assistant
    turns carry ``timestamp`` (when the reply finished).  ``turn_identifier``
    is a stable int64 per exchange, shared by its user and assistant turn.
    ``jailbreak``/``jailbreak_match`` are wildchat extensions (user turns).
    """

    content: str
    role: str
    language: str | None = None
    toxic: bool | None = None
    redacted: bool | None = None
    turn_identifier: int | None = None
    timestamp: datetime | None = None
    country: str | None = None
    state: str | None = None
    hashed_ip: str | None = None
    header: Header | None = None
    jailbreak: bool | None = None
    jailbreak_match: str | None = None


@dataclass(slots=True)
class Moderation:
    """OpenAI Moderation result for one turn."""

    categories: dict[str, bool] = _keyed(OPENAI_MODERATION_CATEGORIES)  # noqa: RUF009
    category_scores: dict[str, float] = _keyed(OPENAI_MODERATION_CATEGORIES)  # noqa: RUF009
    flagged: bool | None = None


@dataclass(slots=True)
class DetoxifyScores:
    """Detoxify's seven scores for one turn (field names are the labels)."""

    identity_attack: float | None = None
    insult: float | None = None
    obscene: float | None = None
    severe_toxicity: float | None = None
    sexual_explicit: float | None = None
    threat: float | None = None
    toxicity: float | None = None


@dataclass(slots=True)
class Conversation:
    """One released conversation, field for field the WildChat-1M schema.

    ``turn`` counts user->assistant exchanges.  ``conversation_hash`` is the
    first 32 hex characters of SHA-256 over the ``[{content, role}]`` list
    after redaction (not unique).  ``conversation_id`` is the wildchat
    extension that *is* unique.  Enrichment fields are ``None`` until a stage
    fills them.  ``openai_moderation``/``detoxify_moderation`` hold one entry
    per turn when present.
    """

    conversation_hash: str
    model: str | None
    timestamp: datetime | None
    conversation: list[Turn]
    turn: int
    language: str | None = None
    openai_moderation: list[Moderation] | None = None
    detoxify_moderation: list[DetoxifyScores] | None = None
    toxic: bool | None = None
    redacted: bool | None = None
    state: str | None = None
    country: str | None = None
    hashed_ip: str | None = None
    header: Header | None = None
    conversation_id: str | None = None


# --------------------------------------------------------------------------
# Arrow derivation
# --------------------------------------------------------------------------

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def _strip_optional(tp: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _disk_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("name", f.name))


def _arrow_type(tp: Any, meta: typing.Mapping[str, Any]) -> pa.DataType:
    tp = _strip_optional(tp)
    if meta.get("json"):
        return pa.string()
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return pa.struct(_arrow_fields(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return pa.list_(_arrow_type(args[0], {}))
    if origin is dict:
        value = _arrow_type(args[1], {})
        if "keys" in meta:
            return pa.struct([pa.field(k, value) for k in meta["keys"]])
        return pa.map_(pa.string(), value)
    raise TypeError(f"no Arrow type for {tp!r}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a record class (memoised: resolution is slow)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _arrow_fields(cls: type) -> list[pa.Field]:
    hints = _hints(cls)
    return [
        pa.field(_disk_name(f), _arrow_type(hints[f.name], f.metadata))
        for f in dataclasses.fields(cls)
    ]


@cache
def arrow_schema(cls: type) -> pa.Schema:
    """The Arrow schema of a record class (all fields nullable, as on the Hub)."""
    return pa.schema(_arrow_fields(cls))


def release_schema() -> pa.Schema:
    """Arrow schema of the release conversation (WildChat-1M + extensions)."""
    return arrow_schema(Conversation)


def raw_log_schema() -> pa.Schema:
    """Arrow schema of raw log v1."""
    return arrow_schema(RawLog)


# --------------------------------------------------------------------------
# Record <-> row
# --------------------------------------------------------------------------


def _value_to_row(value: Any, tp: Any, meta: typing.Mapping[str, Any]) -> Any:
    if value is None:
        return None
    tp = _strip_optional(tp)
    if meta.get("json"):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if dataclasses.is_dataclass(tp):
        return to_row(value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return [_value_to_row(v, args[0], {}) for v in value]
    if origin is dict and "keys" in meta:
        return {k: value.get(k) for k in meta["keys"]}
    if origin is dict:
        return list(value.items())
    return value


def to_row(record: Any) -> dict[str, Any]:
    """A record as a dict ready for ``pa.RecordBatch.from_pylist``."""
    hints = _hints(type(record))
    return {
        _disk_name(f): _value_to_row(getattr(record, f.name), hints[f.name], f.metadata)
        for f in dataclasses.fields(record)
    }


def _value_from_row(value: Any, tp: Any, meta: typing.Mapping[str, Any]) -> Any:
    if value is None:
        return None
    tp = _strip_optional(tp)
    if meta.get("json"):
        return json.loads(value) if isinstance(value, str) else value
    if dataclasses.is_dataclass(tp):
        return from_row(typing.cast(type, tp), value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return [_value_from_row(v, args[0], {}) for v in value]
    if origin is dict and "keys" in meta:  # absent keys read back as nulls
        return {k: v for k, v in value.items() if v is not None}
    if origin is dict:
        return dict(value)
    if tp is datetime and isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


R = TypeVar("R")


def from_row(cls: type[R], row: typing.Mapping[str, Any]) -> R:
    """Inverse of :func:`to_row` (e.g. for rows from ``Table.to_pylist()``)."""
    hints = _hints(cls)
    kwargs = {
        f.name: _value_from_row(row.get(_disk_name(f)), hints[f.name], f.metadata)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    return cls(**kwargs)


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
