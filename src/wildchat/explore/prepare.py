"""Reading sources into index-ready rows, optionally in a worker process.

A *prepared* conversation is ``(conversation_id, fields, record, body)``:
filter columns (:func:`wildchat.explore.rows.row_fields`), the compressed
release-schema record, and the full-text body the backend stores
(:meth:`Dialect.prepare_body`).  Preparing is pure CPU (decode, JSON,
compress, CJK expansion); the build's other half is the database's
single-writer insert.  On two cores the two run in parallel: a worker
process prepares batches while the parent writes (:class:`PreparedStream`),
for inputs above :data:`WORKER_MIN_BYTES` (below that, process start-up
costs more than it saves).

Release Parquet fast path: a Parquet file with exactly the release schema
(curated releases, benchmark files) is read row dict by row dict and a row
is taken as is when it certainly is what :mod:`wildchat.formats.wildchat`
would produce -- valid roles, a 32-hex ``conversation_hash``, ``turn``
consistent, an id, every turn id present, moderation lists of the right
length.  Any other row goes through the reader's own conversion, which then
returns the identical record or raises the identical skip.  So the fast path
can only decline, never decide differently.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.explore.dialects import dialect_for
from wildchat.explore.rows import encode_record, record_text, row_fields
from wildchat.formats import iter_conversations
from wildchat.formats._build import check_roles
from wildchat.formats.arrow import conversation_row
from wildchat.formats.hashing import derived_id
from wildchat.schema import RecordError, release_schema
from wildchat.skips import SkipReport

__all__ = ["WORKER_MIN_BYTES", "Prepared", "PreparedStream", "prepared_batches"]

Prepared = tuple[str, dict[str, Any], bytes, str]
#: Inputs at least this large are prepared in a worker process.
WORKER_MIN_BYTES = 64 * 1024 * 1024
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _is_release_parquet(path: Path) -> bool:
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    import pyarrow.parquet as pq

    try:
        same: bool = pq.read_schema(path).equals(release_schema(), check_metadata=False)
    except Exception:  # unreadable: the generic reader reports it as a skip
        return False
    return same


def _accepts(row: dict[str, Any]) -> bool:
    """True when ``row`` is certainly kept unchanged by the wildchat reader."""
    turns = row.get("conversation")
    if not isinstance(turns, list) or not turns or not isinstance(row.get("conversation_id"), str):
        return False
    if not row["conversation_id"] or not _HEX32.match(row.get("conversation_hash") or ""):
        return False
    roles = [t.get("role") for t in turns]
    try:
        check_roles(roles)  # type: ignore[arg-type]
    except RecordError:
        return False
    if row.get("turn") != roles.count("user"):
        return False
    if any(t.get("turn_identifier") is None or not isinstance(t.get("content"), str) for t in turns):
        return False
    return all(
        row.get(k) is None or len(row[k]) == len(turns) for k in ("openai_moderation", "detoxify_moderation")
    )


def _release_rows(path: Path, report: SkipReport) -> Iterator[tuple[dict[str, Any], bool]]:
    """``(row, accepted)`` of a release Parquet file; declined rows are re-read by the reader's rules."""
    import pyarrow.parquet as pq

    from wildchat.formats.wildchat import to_conversation

    pos = 0
    # pre_buffer=False: the default caches every byte range read until the file closes (GBs at 1M rows)
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            pos += 1
            report.read += 1
            if _accepts(row):
                yield row, True
                continue
            try:
                conv = to_conversation(row, derived_id(path.name, pos))
            except RecordError as exc:
                report.skip(exc.reason, str(exc), str(path), pos)
                continue
            yield conversation_row(conv), False


def _rows(files: list[Path], fmt: str | None, report: SkipReport) -> Iterator[dict[str, Any]]:
    if len(files) == 1 and fmt in (None, "wildchat") and _is_release_parquet(files[0]):
        for row, _ in _release_rows(files[0], report):
            yield row
        return
    for conv in iter_conversations(files, fmt, report):
        yield conversation_row(conv)


def prepared_batches(
    files: list[Path], fmt: str | None, dialect: str, skip_first: int, batch_size: int, report: SkipReport
) -> Iterator[list[Prepared]]:
    """Prepared conversations of one source in batches, after the first ``skip_first`` (a resume)."""
    prep = dialect_for(dialect).prepare_body
    rows = _rows(files, fmt, report)
    if skip_first > 0:
        for n, _ in enumerate(rows, start=1):  # already committed by an interrupted build
            if n >= skip_first:
                break
    batch: list[Prepared] = []
    for row in rows:
        batch.append((row["conversation_id"], row_fields(row), encode_record(row), prep(record_text(row))))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _worker(jobs: Any, out: Any) -> None:
    """Worker process: one job per source, answered by ``batch`` messages and a final ``done``."""
    while (job := jobs.get()) is not None:
        files, fmt, dialect, skip_first, batch_size = job
        report = SkipReport()
        try:
            for batch in prepared_batches(files, fmt, dialect, skip_first, batch_size, report):
                out.put(("batch", batch))
        except BaseException as exc:  # reported to the parent, which re-raises
            out.put(("error", f"{type(exc).__name__}: {exc}"))
            continue
        out.put(("done", report))


class PreparedStream:
    """Prepared batches of sources, from a worker process (``use_worker``) or in-process."""

    def __init__(self, use_worker: bool) -> None:
        self._proc: Any = None
        self._busy = False
        if use_worker:
            ctx = mp.get_context("spawn")
            self._jobs: Any = ctx.Queue()
            self._out: Any = ctx.Queue(maxsize=4)
            self._proc = ctx.Process(target=_worker, args=(self._jobs, self._out), daemon=True)
            self._proc.start()

    def batches(
        self,
        files: list[Path],
        fmt: str | None,
        dialect: str,
        skip_first: int,
        batch_size: int,
        report: SkipReport,
    ) -> Iterator[list[Prepared]]:
        """Batches of one source; ``report`` receives the source's skips when it is exhausted."""
        if self._proc is None:
            yield from prepared_batches(files, fmt, dialect, skip_first, batch_size, report)
            return
        self._jobs.put((files, fmt, dialect, skip_first, batch_size))
        self._busy = True
        while True:
            try:
                kind, payload = self._out.get(timeout=5)
            except queue.Empty:
                if not self._proc.is_alive():
                    raise RuntimeError("explore build worker died") from None
                continue
            if kind == "batch":
                yield payload
            elif kind == "done":
                report.merge(payload)
                self._busy = False
                return
            else:
                raise RuntimeError(f"reading {files[0]}: {payload}")

    def close(self) -> None:
        """Stop the worker; one abandoned mid-source (the build failed) is terminated at once."""
        if self._proc is not None:
            if not self._busy:
                self._jobs.put(None)
                self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=10)
            self._proc = None
