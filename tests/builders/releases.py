"""Releases and release-schema shards written with the production Parquet writer.

A release folder is ``full/`` and ``public/``, each with one ``part-00000.parquet``,
plus an optional ``stats.json`` and card (``README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from wildchat.formats import write_parquet
from wildchat.formats.arrow import batches_from_conversations
from wildchat.schema import Conversation


def write_shard(path: Path, conversations: Iterable[Conversation], *, drop_ids: bool = False) -> Path:
    """``conversations`` as one release-schema Parquet file; ``drop_ids`` clears ``conversation_id``."""
    convs = list(conversations)
    if drop_ids:
        for c in convs:
            c.conversation_id = None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(batches_from_conversations(convs), path)
    return path


def write_release(
    root: Path,
    full: Sequence[Conversation],
    public: Sequence[Conversation] | None = None,
    *,
    stats: dict[str, Any] | None = None,
    card: str | None = None,
) -> Path:
    """A release folder of ``full`` and ``public`` (None: the same rows), with ``stats`` and ``card``."""
    for split, convs in (("full", full), ("public", full if public is None else public)):
        write_shard(root / split / "part-00000.parquet", convs)
    if stats is not None:
        (root / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    if card is not None:
        (root / "README.md").write_text(card, encoding="utf-8")
    return root
