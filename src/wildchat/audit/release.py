"""Open a release folder for auditing, or say exactly why it is not one.

A release (see :mod:`wildchat.curate.release.writer`) is ``full/`` and ``public/``
Parquet shards in the release schema plus ``stats.json`` and ``README.md``.
Before anything is scanned, every check below runs, so bad input fails fast
with an error naming the file and nothing is written:

* ``stats.json`` exists, is JSON, and was written by ``wildchat curate``
  (``wildchat_version`` and ``release`` counts present) in a release format
  this version reads (``release_format`` >= 2: keyed ids; older releases
  published unkeyed ids and must be re-curated);
* both splits exist (``public/`` may be empty of files only when
  ``stats.json`` says it holds 0 conversations);
* every shard opens as Parquet, has the release schema's columns, and the
  row counts add up to ``stats.json``'s (a missing or truncated shard is an
  incomplete release, not a clean one).

"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wildchat.schema import release_schema

__all__ = ["SPLITS", "AuditInputError", "Release", "open_release"]

SPLITS: tuple[str, ...] = ("full", "public")
#: ``stats.json`` ``release_format`` this audit understands: 2 = keyed ids, counts-only stats
#: (``wildchat.curate.pipeline.RELEASE_FORMAT``; not imported: audit sits beside curate).
MIN_RELEASE_FORMAT = 2


class AuditInputError(ValueError):
    """The folder is not an auditable release (the CLI exits 2 with this message)."""


@dataclass
class Release:
    """A validated release: its folder, ``stats.json`` and shards per split."""

    root: Path
    stats: dict[str, Any]
    shards: dict[str, list[Path]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def batches(self, split: str, columns: list[str], batch_size: int = 2048) -> Iterator[pa.RecordBatch]:
        """Record batches of ``columns`` over the split's shards, in shard order (bounded memory)."""
        for path in self.shards[split]:
            try:
                yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise AuditInputError(f"{path}: corrupt Parquet ({type(exc).__name__})") from exc


def _stats(root: Path) -> dict[str, Any]:
    path = root / "stats.json"
    if not path.is_file():
        raise AuditInputError(f"{root}: not a release (no stats.json; run `wildchat curate` to make one)")
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuditInputError(f"{path}: not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(stats, dict) or "wildchat_version" not in stats:
        raise AuditInputError(f"{path}: not written by `wildchat curate` (no wildchat_version)")
    rel = stats.get("release")
    if not isinstance(rel, dict) or not all(isinstance(rel.get(s), int) for s in SPLITS):
        raise AuditInputError(
            f"{path}: written by an older wildchat version (no release counts); re-curate the logs"
        )
    fmt = stats.get("release_format")
    if not isinstance(fmt, int) or fmt < MIN_RELEASE_FORMAT:
        raise AuditInputError(
            f"{path}: written by an older wildchat version (release_format {fmt}, need >= "
            f"{MIN_RELEASE_FORMAT}: unkeyed ids); re-curate the logs"
        )
    return stats


def _check_shard(path: Path, need: set[str]) -> int:
    try:
        meta = pq.ParquetFile(path)
        names = set(meta.schema_arrow.names)
        rows = meta.metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise AuditInputError(f"{path}: corrupt Parquet ({type(exc).__name__})") from exc
    missing = sorted(need - names)
    if "conversation_id" in missing:
        raise AuditInputError(f"{path}: written by an older wildchat version (no conversation_id column)")
    if missing:
        raise AuditInputError(f"{path}: not in the release schema (missing columns {missing})")
    return int(rows)


def open_release(root: str | Path) -> Release:
    """Validate ``root`` as a release (see the module docstring) or raise :class:`AuditInputError`."""
    root = Path(root)
    if not root.is_dir():
        raise AuditInputError(f"{root}: not a folder")
    stats = _stats(root)
    need = set(release_schema().names)
    release = Release(root, stats)
    for split in SPLITS:
        folder = root / split
        expected = int(stats["release"][split])
        if not folder.is_dir():
            raise AuditInputError(f"{folder}: missing split (stats.json says {expected} conversations)")
        shards = sorted(folder.glob("*.parquet"))
        rows = sum(_check_shard(p, need) for p in shards)
        if rows != expected:
            raise AuditInputError(
                f"{folder}: holds {rows} conversations but stats.json says {expected} (incomplete release)"
            )
        release.shards[split], release.rows[split] = shards, rows
    return release
