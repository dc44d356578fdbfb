"""Raw log v1 files: read (validated, streamed) and write (JSONL or Parquet).

Raw log v1 is :class:`wildchat.schema.RawLog`, one record per chat request.
Two on-disk forms, chosen by file suffix:

* ``*.jsonl`` (optionally ``.jsonl.gz``): one JSON object per line; timestamps
  as RFC 3339 UTC with microseconds (``2024-05-01T12:00:00.123456+00:00``);
  ``params``/``usage``/``headers``/``extra``/``consent`` as JSON objects.
* ``*.parquet``: exactly :func:`wildchat.schema.raw_log_schema`.

Reading validates every record with :func:`wildchat.schema.parse_raw_log`;
bad records become counted skips (its ``RecordError.reason``), never crashes.
Turning raw logs into conversations (linking + prefix dedup) belongs to the
curation package (:mod:`wildchat.curate.link.logs`), which registers the
``rawlog`` format from above; nothing here imports it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from wildchat.formats._io import is_parquet, iter_jsonl, iter_parquet_rows
from wildchat.schema import RawLog, RecordError, parse_raw_log, raw_log_schema, to_row
from wildchat.skips import SkipReport

__all__ = ["RawLogWriter", "iter_raw_logs", "raw_log_to_json"]


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def iter_raw_logs(path: str | Path, report: SkipReport) -> Iterator[RawLog]:
    """Validated raw logs of one JSONL or Parquet file, streamed.

    Each invalid line/row is skipped under the ``RecordError`` reason
    (``missing_field``, ``bad_type``, ``bad_timestamp``, ``bad_role`` ...), or
    ``bad_json``/``bad_utf8``, with ``file:line``.  A ``request_id`` already
    seen earlier in the same file is skipped as ``duplicate_request_id`` (the
    first occurrence wins).  Memory: one record plus a 16-byte digest per
    distinct ``request_id`` of the file.
    """
    path = Path(path)
    source = str(path)
    rows = iter_parquet_rows(path, report) if is_parquet(path) else iter_jsonl(path, report)
    seen: set[bytes] = set()
    for line, obj in rows:
        try:
            log = parse_raw_log(obj)
        except RecordError as exc:
            report.skip(exc.reason, str(exc), source, line)
            continue
        key = hashlib.blake2b(log.request_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in seen:
            report.skip("duplicate_request_id", "request_id repeats an earlier record", source, line)
            continue
        seen.add(key)
        yield log


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def raw_log_to_json(log: RawLog) -> dict[str, Any]:
    """A raw log as the JSON object written to ``*.jsonl`` (inverse of ``parse_raw_log``)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(log):
        value = getattr(log, f.name)
        if f.name == "timestamp":
            value = _ts(value)
        elif f.name == "messages":
            value = [{"role": m.role, "content": m.content} for m in value]
        elif f.name == "consent" and value is not None:
            value = {"id": value.id, "version": value.version, "timestamp": _ts(value.timestamp)}
        out[f.name] = value
    return out


class RawLogWriter:
    """Write raw logs to ``*.jsonl`` or ``*.parquet`` (chosen by suffix).

    Use as a context manager; the file is complete only after ``close()``
    (Parquet needs its footer).  Parquet rows are buffered ``row_group_size``
    at a time, so memory stays bounded.  An existing file is replaced.
    """

    def __init__(self, path: str | Path, row_group_size: int = 4096) -> None:
        self.path = Path(path)
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        self._row_group_size = row_group_size
        self._jsonl: IO[bytes] | None = None
        self._parquet: Any = None
        if _is_parquet(self.path):
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(self.path, raw_log_schema(), compression="zstd")
        elif self.path.name.endswith(".jsonl"):
            self._jsonl = self.path.open("wb")
        else:
            raise ValueError(f"{self.path}: raw logs are written as .jsonl or .parquet")

    def write(self, log: RawLog) -> None:
        """Append one record."""
        if self._jsonl is not None:
            self._jsonl.write(orjson.dumps(raw_log_to_json(log)) + b"\n")
        elif self._parquet is not None:
            self._rows.append(to_row(log))
            if len(self._rows) >= self._row_group_size:
                self._flush()
        else:
            raise ValueError(f"{self.path}: writer is closed")
        self.count += 1

    def write_all(self, logs: Iterable[RawLog]) -> int:
        """Write every record of ``logs``; returns how many."""
        n = 0
        for log in logs:
            self.write(log)
            n += 1
        return n

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows and self._parquet is not None:
            self._parquet.write_batch(pa.RecordBatch.from_pylist(self._rows, schema=raw_log_schema()))
            self._rows = []

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self._parquet is not None:
            self._flush()
            self._parquet.close()
            self._parquet = None

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
