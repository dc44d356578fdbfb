"""Readers and writers for the chat-log formats users hold.

Every reader yields :class:`wildchat.schema.Conversation` records in the
release schema (enrichment fields ``None`` where the source does not say).
Public API, which other parts of wildchat code against:

* :data:`FORMATS` -- name -> :class:`Format` (a reader over a group of files,
  and whether the format's files are read together);
* :func:`detect_format` -- a file's format from its first bytes/record;
* :func:`group_files` -- files -> ``(format, files)`` groups in reading order;
* :func:`expand_inputs` -- files, globs, folders -> sorted file list;
* :func:`iter_conversations` / :func:`iter_batches` -- streamed records / Arrow batches;
* :func:`write_parquet` -- batches -> Parquet in exactly ``release_schema()``.

Raw log v1 files are validated and written by :mod:`wildchat.formats.rawlog`;
turning them into conversations (linking) is the curation package's job, so
the ``rawlog`` format is registered from above through an entry point
(:mod:`wildchat.formats.registry`).
Everything streams: memory stays bounded however large the input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from wildchat.formats.arrow import batches_from_conversations, write_parquet
from wildchat.formats.inputs import expand_inputs
from wildchat.formats.registry import FORMATS, Format, UnknownFormatError, detect_format, group_files
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

__all__ = [
    "FORMATS",
    "Format",
    "UnknownFormatError",
    "detect_format",
    "expand_inputs",
    "group_files",
    "iter_batches",
    "iter_conversations",
    "write_parquet",
]


def iter_conversations(
    inputs: Sequence[str | Path], format: str | None = None, report: SkipReport | None = None
) -> Iterator[Conversation]:
    """All conversations of ``inputs``, file by file, streamed.

    ``format`` forces one format for every file; otherwise each file's format
    is detected (an undetectable file is one ``unknown_format`` skip).  A file
    that cannot be read (any further) is one ``unreadable_file`` skip; other
    files continue.  Files of a ``reads_together`` format (raw logs) are read
    together, at the position of the first one, so requests of one
    conversation may span files (:func:`group_files`).  Raises
    ``FileNotFoundError`` for an input that matches nothing and ``ValueError``
    for an unknown ``format`` name.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    report = report if report is not None else SkipReport()
    for name, group in group_files(expand_inputs(inputs), format, report):
        yield from FORMATS[name].read(group, report)


def iter_batches(
    inputs: Sequence[str | Path],
    format: str | None = None,
    report: SkipReport | None = None,
    batch_size: int = 1024,
) -> Iterator[pa.RecordBatch]:
    """:func:`iter_conversations` as Arrow record batches in ``release_schema()``."""
    return batches_from_conversations(iter_conversations(inputs, format, report), batch_size)
