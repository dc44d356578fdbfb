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

import codecs
import gzip
import typing
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson
import pyarrow as pa

from wildchat.skips import SkipReport

__all__ = [
    "BAD_UTF8_MARK",
    "Utf8Marked",
    "describe_error",
    "first_char",
    "guard",
    "is_file_error",
    "is_parquet",
    "iter_json_array",
    "iter_jsonl",
    "iter_parquet_rows",
    "iter_records",
    "open_binary",
]

_BOM = b"\xef\xbb\xbf"


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for binary reading, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return typing.cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


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


#: Stands in for each invalid UTF-8 byte sequence inside a JSON array (a Unicode
#: noncharacter, never found in real text), so the element holding it can be
#: skipped as ``bad_utf8`` while the rest of the array is still read.
BAD_UTF8_MARK = "\U0010fffe"


_ERRORS = "wildchat.mark_bad_utf8"


def _mark_bad_utf8(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return BAD_UTF8_MARK, exc.end


class Utf8Marked:
    """A binary stream re-encoded as valid UTF-8, invalid sequences replaced by :data:`BAD_UTF8_MARK`."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        codecs.register_error(_ERRORS, _mark_bad_utf8)  # idempotent; done here, not at import
        self._decoder = codecs.getincrementaldecoder("utf-8")(_ERRORS)
        self.errors = False

    def read(self, size: int = 65536) -> bytes:
        chunk = self._raw.read(size)
        text = self._decoder.decode(chunk, final=not chunk)
        if BAD_UTF8_MARK in text:
            self.errors = True
        return text.encode("utf-8")


def _has_mark(value: Any) -> bool:
    if isinstance(value, str):
        return BAD_UTF8_MARK in value
    if isinstance(value, dict):
        return any(_has_mark(k) or _has_mark(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_mark(v) for v in value)
    return False


def iter_json_array(path: Path, report: SkipReport) -> Iterator[tuple[int, Any]]:
    """Elements of a top-level JSON array, streamed with ``ijson``.

    Yields ``(item_number, value)`` (1-based).  The file is never loaded
    whole.  An element containing invalid UTF-8 is skipped as ``bad_utf8``
    (``file:item``) and reading goes on.  Invalid JSON inside the array cannot
    be resynchronised, so it raises (``ijson.JSONError``) and the caller
    counts the file as ``unreadable_file`` after the items already yielded.
    """
    import ijson

    source = str(path)
    with open_binary(path) as fh:
        head = fh.read(len(_BOM))
        if head != _BOM:
            fh.seek(0)
        stream = Utf8Marked(fh)
        for n, value in enumerate(ijson.items(stream, "item", use_float=True), 1):
            report.read += 1
            if stream.errors and _has_mark(value):
                report.skip("bad_utf8", "invalid UTF-8 in this element", source, n)
                continue
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


def is_parquet(path: Path) -> bool:
    """Parquet is recognised by suffix (``.parquet``, ``.pq``) or its ``PAR1`` magic."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    if path.suffix == ".gz":
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"


def first_char(path: Path) -> str:
    """First non-whitespace character of a text file ('' when empty)."""
    with open_binary(path) as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip(_BOM).lstrip()
            if stripped:
                return chr(stripped[0])
    return ""


def iter_records(path: Path, report: SkipReport) -> Iterator[tuple[int, Any]]:
    """Records of any container: Parquet rows, JSON array items or JSON Lines values."""
    if is_parquet(path):
        return iter_parquet_rows(path, report)
    if first_char(path) == "[":
        return iter_json_array(path, report)
    return iter_jsonl(path, report)


T = TypeVar("T")


def _file_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this file cannot be read (any further)"."""
    import ijson

    return (OSError, EOFError, zlib.error, pa.ArrowException, ijson.JSONError, UnicodeDecodeError)


def describe_error(exc: BaseException) -> str:
    """A short, content-free description (parser messages may quote the file, so only OS errors say more)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def guard(path: Path, report: SkipReport, records: Iterator[T]) -> Iterator[T]:
    """Yield from ``records``; a file-level failure becomes one ``unreadable_file`` skip, then stop.

    The skip names the file and says how many of its records had been read.
    """
    before = report.read
    try:
        yield from records
    except _file_errors() as exc:
        report.skip(
            "unreadable_file",
            f"{describe_error(exc)}; stopped after {report.read - before} records of this file",
            str(path),
        )


def is_file_error(exc: BaseException) -> bool:
    """Whether ``exc`` means a file cannot be read (see :func:`guard`)."""
    return isinstance(exc, _file_errors())
