"""Helpers for the analysis tests: release batches, a word counter (conversations: ``tests.builders``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from wildchat.schema import Conversation, release_schema, to_row


class WordCounter:
    """Token counter for hand-computable tests: a token = a whitespace word."""

    name = "words"

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def batch(convs: Sequence[Conversation]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([to_row(c) for c in convs], schema=release_schema())


def month(y: int, m: int) -> datetime:
    return datetime(y, m, 15, 12, tzinfo=UTC)
