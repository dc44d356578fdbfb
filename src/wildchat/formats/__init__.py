"""Readers and writers for the chat-log formats users hold.

Every reader yields :class:`wildchat.schema.Conversation` records in the
release schema (enrichment fields ``None`` where the source does not say).
Public API, which other parts of wildchat code against:

* :data:`FORMATS` -- name -> reader ``(path, report) -> Iterator[Conversation]``;
* :func:`detect_format` -- a file's format from its first bytes/record;
* :func:`expand_inputs` -- files, globs, folders -> sorted file list;
* :func:`iter_conversations` / :func:`iter_batches` -- streamed records / Arrow batches;
* :func:`write_parquet` -- batches -> Parquet in exactly ``release_schema()``.

Raw log v1 files have their own reader/writer in :mod:`wildchat.formats.rawlog`.
Everything streams: memory stays bounded however large the input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from wildchat.formats._io import describe_error, guard, is_file_error
from wildchat.formats.arrow import batches_from_conversations, write_parquet
from wildchat.formats.inputs import expand_inputs
from wildchat.formats.registry import FORMATS, UnknownFormatError, detect_format
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

__all__ = [
    "FORMATS",
    "UnknownFormatError",
    "detect_format",
    "expand_inputs",
    "iter_batches",
    "iter_conversations",
    "write_parquet",
]


def _read_group(name: str, files: list[Path], report: SkipReport) -> Iterator[Conversation]:
    """One format's reader over ``files``; file-level failures become ``unreadable_file`` skips."""
    if name == "rawlog":  # read together (linking spans files); each file is guarded inside
        from wildchat.formats.rawlog import read_conversations

        yield from read_conversations(files, report)
        return
    for path in files:
        yield from guard(path, report, FORMATS[name](path, report))


def iter_conversations(
    inputs: Sequence[str | Path], format: str | None = None, report: SkipReport | None = None
) -> Iterator[Conversation]:
    """All conversations of ``inputs``, file by file, streamed.

    ``format`` forces one format for every file; otherwise each file's format
    is detected (an undetectable file is one ``unknown_format`` skip).  A file
    that cannot be read (any further) is one ``unreadable_file`` skip; other
    files continue.  Raw-log files are read together, at the position of the
    first one, so requests of one conversation may span files.  Raises
    ``FileNotFoundError`` for an input that matches nothing and ``ValueError``
    for an unknown ``format`` name.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    report = report if report is not None else SkipReport()
    files = expand_inputs(inputs)
    plan: list[tuple[str, list[Path]]] = []
    rawlog_files: list[Path] = []
    for path in files:
        try:
            name = format or detect_format(path)
        except UnknownFormatError as exc:
            report.skip("unknown_format", str(exc).removeprefix(f"{path}: "), str(path))
            continue
        except Exception as exc:
            if not is_file_error(exc):
                raise
            report.skip("unreadable_file", describe_error(exc), str(path))
            continue
        if name == "rawlog":
            if not rawlog_files:
                plan.append((name, rawlog_files))
            rawlog_files.append(path)
        else:
            plan.append((name, [path]))
    for name, group in plan:
        yield from _read_group(name, group, report)


def iter_batches(
    inputs: Sequence[str | Path],
    format: str | None = None,
    report: SkipReport | None = None,
    batch_size: int = 1024,
) -> Iterator[pa.RecordBatch]:
    """:func:`iter_conversations` as Arrow record batches in ``release_schema()``."""
    return batches_from_conversations(iter_conversations(inputs, format, report), batch_size)
