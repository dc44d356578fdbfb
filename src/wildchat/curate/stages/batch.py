"""The record batches that flow between stages, and helpers to edit them.

A pipeline batch has every column of :func:`wildchat.schema.release_schema`
followed by the *pipeline columns* of :func:`pipeline_fields`:

* ``drop_reason`` -- null while the conversation is kept; a short reason code
  once a stage (or the link step) removes it.
* ``_ip`` -- per turn (aligned with ``conversation``), the raw client IP of
  the request that carried a user turn, else null.  Only the privacy stage
  reads it; the release writer never writes ``_`` columns, so raw IPs cannot
  reach a release even with privacy switched off.
* ``_source_conversation_id`` -- the ``conversation_id`` the logs carried.
* ``_consent`` -- ``ok``, ``missing`` (a log of the conversation had no
  consent record) or ``after_log`` (consent given after a log was written).
* ``_first_timestamp`` -- when the conversation's first linked log was written.
* ``_shard``, ``_row`` -- output shard and position in it (stable ordering).

Stages may add more ``_`` columns; they are dropped at write time.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wildchat.schema import release_schema

__all__ = [
    "conversation_ids",
    "drop_tagged",
    "kept_mask",
    "pipeline_fields",
    "pipeline_schema",
    "set_column",
    "tag",
    "turn_field",
    "turn_offsets",
    "with_turn_fields",
]

UTC_US = pa.timestamp("us", tz="UTC")


@cache
def pipeline_fields() -> tuple[pa.Field, ...]:
    return (
        pa.field("drop_reason", pa.string()),
        pa.field("_ip", pa.list_(pa.string())),
        pa.field("_source_conversation_id", pa.string()),
        pa.field("_consent", pa.string()),
        pa.field("_first_timestamp", UTC_US),
        pa.field("_shard", pa.int32()),
        pa.field("_row", pa.int64()),
    )


_B = TypeVar("_B", pa.RecordBatch, pa.Table)


@cache
def pipeline_schema() -> pa.Schema:
    """Release schema + pipeline columns: the schema of batches entering stage 1."""
    return pa.schema(list(release_schema()) + list(pipeline_fields()))


def kept_mask(batch: pa.RecordBatch) -> np.ndarray:
    """Boolean numpy mask of rows with no ``drop_reason``."""
    return np.asarray(pc.is_null(batch.column("drop_reason")).to_numpy(zero_copy_only=False), dtype=bool)


def drop_tagged(batch: _B) -> _B:
    """The rows of ``batch`` with no ``drop_reason`` (``batch`` itself when none is tagged).

    The one place tagged rows leave a batch: :func:`~wildchat.curate.stages.shard.run_stages`
    calls it before a stage that takes kept rows only and once at the end.
    """
    reasons = batch.column("drop_reason")
    if reasons.null_count == len(batch):
        return batch
    return batch.filter(pc.is_null(reasons))


def set_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    """Replace (or append) column ``name``; an existing column keeps its type."""
    idx = batch.schema.get_field_index(name)
    if idx < 0:
        return batch.append_column(name, values)
    ftype = batch.schema.field(idx).type
    if values.type != ftype:
        values = values.cast(ftype)
    return batch.set_column(idx, batch.schema.field(idx), values)


def tag(batch: pa.RecordBatch, mask: np.ndarray | pa.Array, reason: str) -> pa.RecordBatch:
    """Set ``drop_reason = reason`` where ``mask`` holds and no reason is set yet."""
    if isinstance(mask, pa.Array | pa.ChunkedArray):
        mask = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    current = batch.column("drop_reason")
    new = pc.if_else(pa.array(mask & kept_mask(batch)), pa.scalar(reason), current)
    return set_column(batch, "drop_reason", new)


def conversation_ids(batch: pa.RecordBatch) -> list[str | None]:
    return list(batch.column("conversation_id").to_pylist())


def turn_offsets(batch: pa.RecordBatch) -> np.ndarray:
    """Offsets into the flattened turns: conversation ``i`` is turns ``o[i]:o[i+1]``."""
    col = batch.column("conversation")
    offsets: np.ndarray = np.asarray(col.offsets.to_numpy(), dtype=np.int64)
    result: np.ndarray = offsets - offsets[0]
    return result


def turn_field(batch: pa.RecordBatch, name: str) -> pa.Array:
    """One field of every turn, flattened across conversations (see :func:`turn_offsets`)."""
    col = batch.column("conversation")
    flat = col.flatten()
    return flat.field(name)


def with_turn_fields(batch: pa.RecordBatch, updates: Mapping[str, pa.Array]) -> pa.RecordBatch:
    """Replace turn-level fields (flat arrays aligned with :func:`turn_field`)."""
    col = batch.column("conversation")
    flat = col.flatten()
    struct_type = col.type.value_type
    children = []
    for f in struct_type:
        if f.name in updates:
            values = updates[f.name]
            children.append(values.cast(f.type) if values.type != f.type else values)
        else:
            children.append(flat.field(f.name))
    structs = pa.StructArray.from_arrays(children, fields=list(struct_type))
    offsets = pa.array(turn_offsets(batch).astype(np.int32))
    new = pa.ListArray.from_arrays(offsets, structs, type=col.type, mask=col.is_null())
    return set_column(batch, "conversation", new)
