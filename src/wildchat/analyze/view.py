"""A flattened, column-oriented view of one release-schema record batch.

Every statistic works on the same view: the ``conversation`` list column is
flattened once into per-turn arrays, with ``parent`` mapping each turn to its
conversation row.  Columns absent from a batch (a reader that produced only a
subset of the schema) read as all-null, so aggregators never special-case
them.  Nothing here converts whole columns to Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BatchView", "toxic_flags"]

BoolArr = npt.NDArray[np.bool_]
IntArr = npt.NDArray[np.int64]


def _nulls(n: int, type_: pa.DataType = pa.string()) -> pa.Array:
    return pa.nulls(n, type=type_)


@dataclass
class BatchView:
    """Per-conversation and per-turn accessors over one batch."""

    batch: pa.RecordBatch

    @property
    def n(self) -> int:
        return int(self.batch.num_rows)

    def col(self, name: str) -> pa.Array:
        """Conversation-level column (all-null when the batch lacks it)."""
        idx = self.batch.schema.get_field_index(name)
        return self.batch.column(idx) if idx >= 0 else _nulls(self.n)

    @cached_property
    def _conv(self) -> pa.ListArray:
        conv = self.col("conversation")
        if not pa.types.is_list(conv.type):
            return pa.array([[]] * self.n, type=pa.list_(pa.struct([("role", pa.string())])))
        return conv

    @cached_property
    def turns(self) -> pa.Array:
        """All turns of the batch, in order (``StructArray``)."""
        return self._conv.flatten()

    @cached_property
    def parent(self) -> IntArr:
        """Row of the conversation each turn belongs to."""
        return np.asarray(pc.list_parent_indices(self._conv), dtype=np.int64)

    @property
    def n_turns(self) -> int:
        return len(self.turns)

    def turn(self, name: str) -> pa.Array:
        """A field of every turn (all-null when absent)."""
        if self.turns.type.get_field_index(name) < 0:
            return _nulls(self.n_turns)
        return pc.struct_field(self.turns, name)

    @cached_property
    def roles(self) -> npt.NDArray[np.object_]:
        return np.asarray(self.turn("role").fill_null("").to_numpy(zero_copy_only=False), dtype=object)

    @cached_property
    def is_user(self) -> BoolArr:
        return np.asarray(self.roles == "user", dtype=bool)

    @cached_property
    def is_assistant(self) -> BoolArr:
        return np.asarray(self.roles == "assistant", dtype=bool)

    @cached_property
    def exchanges(self) -> IntArr:
        """User->assistant exchanges per conversation = its number of user turns."""
        return np.bincount(self.parent[self.is_user], minlength=self.n).astype(np.int64)

    @cached_property
    def first_user(self) -> tuple[IntArr, IntArr]:
        """``(rows, turn_indices)`` of each conversation's first user turn."""
        user_idx = np.flatnonzero(self.is_user)
        rows, first = np.unique(self.parent[user_idx], return_index=True)
        return rows.astype(np.int64), user_idx[first].astype(np.int64)

    def conv_or_first_user(self, name: str) -> pa.Array:
        """Conversation field, falling back to the first user turn's field.

        WildChat repeats ``hashed_ip``/``country``/``language`` at both levels;
        other sources fill only one of them.
        """
        conv = self.col(name)
        if conv.null_count == 0 or self.turns.type.get_field_index(name) < 0:
            return conv
        rows, idx = self.first_user
        values = self.turn(name).take(pa.array(idx, type=pa.int64())).to_pylist()
        by_row: list[object] = [None] * self.n
        for r, v in zip(rows.tolist(), values, strict=True):
            by_row[r] = v
        fallback = pa.array(by_row, type=conv.type if not pa.types.is_null(conv.type) else None)
        if pa.types.is_null(conv.type):
            return fallback
        return pc.coalesce(conv, fallback.cast(conv.type))

    def aligned(self, name: str) -> tuple[BoolArr, pa.Array]:
        """A per-turn list column (``openai_moderation``...) aligned to turns.

        Returns ``(known, values)``: ``known`` marks turns whose conversation
        carries exactly one entry per turn; ``values`` holds those entries, in
        turn order.  Conversations with a missing or mismatched list count as
        unknown for every turn.
        """
        col = self.col(name)
        if not pa.types.is_list(col.type):
            return np.zeros(self.n_turns, dtype=bool), pa.array([], type=pa.null())
        same = pc.fill_null(pc.equal(pc.list_value_length(col), pc.list_value_length(self._conv)), False)
        rows_ok = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
        known = rows_ok[self.parent] if self.n_turns else np.zeros(0, dtype=bool)
        values = col.filter(pa.array(rows_ok)).flatten()
        return known, values


def toxic_flags(values: pa.Array, field: str, threshold: float | None = None) -> BoolArr:
    """Boolean per entry of a flattened moderation array (null entries -> False)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    arr = pc.struct_field(values, field)
    if threshold is not None:
        arr = pc.greater(arr, threshold)
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
