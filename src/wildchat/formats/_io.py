"""Streaming record sources shared by every reader: JSONL, JSON arrays, Parquet.

Each generator yields ``(position, record)`` and never holds more than one
record (JSONL line, JSON array item, Parquet batch) in memory.  It counts every
source record in ``report.read`` and reports bad ones as skips with a stable
reason -- ``bad_utf8``, ``bad_json`` -- pointing at ``file:line`` (JSONL,
1-based line), ``file:item`` (JSON arrays, 1-based element index) or
``file:row`` (Parquet, 1-based row).  Skip messages never contain record text.

Errors that make the *rest* of a file unreadable (a syntax error inside a JSON
array, a corrupt Parquet page) propagate as exceptions; the caller
(:func:`wildchat.formats.iter_conversations`) turns them into one
``unreadable_file`` skip and moves on to the next file.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from wildchat.skips import SkipReport

__all__ = ["iter_json_array", "iter_jsonl", "iter_parquet_rows", "open_binary", "peek_bytes"]

_BOM = b"\xef\xbb\xbf"


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for binary reading, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def peek_bytes(path: Path, n: int = 65536) -> bytes:
    """The first ``n`` (decompressed) bytes of a file, without a UTF-8 BOM."""
    with open_binary(path) as fh:
        head = fh.read(n)
    return head[len(_BOM) :] if head.startswith(_BOM) else head


def iter_jsonl(path: Path, report: SkipReport) -> Iterator[tuple[int, Any]]:
    """Decoded JSON values of a JSON Lines file, one per non-blank line.

    Blank lines are not records and are ignored.  A line that is not valid
    UTF-8 is skipped as ``bad_utf8``; one that is not valid JSON as
    ``bad_json``.  Yields ``(line_number, value)``.
    """
    source = str(path)
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            report.read += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.skip("bad_utf8", f"invalid UTF-8 at byte {exc.start}", source, lineno)
                continue
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                report.skip("bad_json", f"invalid JSON at column {exc.colno}", source, lineno)
                continue
            yield lineno, value


def iter_json_array(path: Path, report: SkipReport) -> Iterator[tuple[int, Any]]:
    """Elements of a top-level JSON array, streamed with ``ijson``.

    Yields ``(item_number, value)`` (1-based).  The file is never loaded
    whole.  Invalid JSON or UTF-8 inside the array cannot be resynchronised,
    so it raises (``ijson.JSONError``) and the caller counts the file as
    ``unreadable_file`` after the items already yielded.
    """
    import ijson

    with open_binary(path) as fh:
        head = fh.read(len(_BOM))
        if head != _BOM:
            fh.seek(0)
        for n, value in enumerate(ijson.items(fh, "item", use_float=True), 1):
            report.read += 1
            yield n, value


def iter_parquet_rows(path: Path, report: SkipReport, batch_size: int = 1024) -> Iterator[tuple[int, Any]]:
    """Rows of a Parquet file as dicts, read one record batch at a time."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            n += 1
            report.read += 1
            yield n, row
