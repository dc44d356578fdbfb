"""Arrow schemas derived from the record classes' type hints, and record <-> row conversion."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import pyarrow as pa

from wildchat.schema.records import Conversation, RawLog

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
