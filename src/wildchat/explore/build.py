"""Build (or bring up to date) an explorer index: incremental and resumable.

Every input argument is one dataset (named by ``dataset=``, else the release
folder's name or the file's stem); its files are *sources*.  Each source is
recorded with its fingerprint ``(path, size, mtime_ns)`` and committed in
batches, one transaction per batch that also stores ``done`` (conversations
committed so far).  So on the next run:

* complete source, same fingerprint -> skipped (nothing read);
* incomplete source, same fingerprint (a build was interrupted) -> the reader
  re-reads the file and skips the first ``done`` conversations (readers are
  deterministic), then continues -- nothing is indexed twice;
* changed fingerprint -> its rows (conversations, full-text, map points) are
  deleted and the file is indexed again.

Files of a ``reads_together`` format (raw logs: a conversation may span
files) are read together, so all of them in one input form one source
(:func:`wildchat.formats.group_files` plans the sources).

Ids: readers give every conversation an id (sources without one get
``<file name>-<row>``, stable across rebuilds).  An id already used by
*another* dataset is prefixed with ``<dataset>:``; a repeat within one
dataset is counted as a ``duplicate_conversation_id`` skip.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from wildchat.explore import prepare
from wildchat.explore.build_writer import BatchWriter
from wildchat.explore.engine import ensure_schema, make_engine
from wildchat.explore.prepare import PreparedStream
from wildchat.explore.stats import FACET_LIMIT, refresh_stats, report_from
from wildchat.explore.tables import conversations, datasets, sources
from wildchat.formats import FORMATS, expand_inputs, group_files
from wildchat.formats.inputs import dataset_name
from wildchat.formats.release import is_release, split_files
from wildchat.skips import SkipReport

__all__ = ["FACET_LIMIT", "BuildReport", "build_index"]


@dataclass
class BuildReport:
    """What one build did.  ``indexed`` counts conversations added per dataset this run."""

    indexed: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    sources_indexed: int = 0
    sources_unchanged: int = 0
    sources_resumed: int = 0
    sources_replaced: int = 0
    skips: SkipReport = field(default_factory=SkipReport)
    seconds: float = 0.0
    map_points: int = 0
    map_message: str | None = None

    def summary(self) -> str:
        added = sum(self.indexed.values())
        lines = [
            f"indexed {added:,} conversations in {self.seconds:.1f}s "
            f"({self.sources_indexed} files read, {self.sources_unchanged} unchanged, "
            f"{self.sources_resumed} resumed, {self.sources_replaced} replaced)",
            *(f"  {name}: {n:,} conversations" for name, n in sorted(self.totals.items())),
            f"map: {self.map_points:,} new points" + (f" ({self.map_message})" if self.map_message else ""),
        ]
        if self.skips.n_skipped:
            lines.append(self.skips.summary())
        return "\n".join(lines)


@dataclass
class _Source:
    dataset_id: int
    files: list[Path]
    format: str

    @property
    def path(self) -> str:
        return "|".join(str(f.resolve()) for f in self.files)

    def fingerprint(self) -> tuple[int, int]:
        stats = [f.stat() for f in self.files]
        return sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)


def _plan(
    item: str | Path, dataset_id: int, fmt: str | None, report: SkipReport, split: str = "public"
) -> list[_Source]:
    """One input's sources: the formats planner's groups (a ``reads_together`` format is one source)."""
    path = Path(item)
    files = split_files(path, split) if is_release(path) else expand_inputs([item])
    return [_Source(dataset_id, group, name) for name, group in group_files(files, fmt, report)]


def _dataset_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(datasets.c.id).where(datasets.c.name == name)).scalar()
    if found is not None:
        return int(found)
    new_id = int(conn.execute(select(func.coalesce(func.max(datasets.c.id), 0))).scalar_one()) + 1
    conn.execute(
        insert(datasets).values(id=new_id, name=name, conversations=0, turns=0, filters="[]", map_points=0)
    )
    return new_id


def _drop_stale(
    engine: Engine, writer: BatchWriter, dataset_id: int, folder: Path, plan: list[_Source]
) -> int:
    """Remove a release folder's sources that this build does not read (the other split, old shards).

    Switching ``split`` must not leave ``full/`` conversations served next to ``public/`` ones.
    """
    keep = {src.path for src in plan}
    prefix = str(folder.resolve()) + "/"
    with engine.begin() as conn:
        rows = conn.execute(select(sources.c.id, sources.c.path).where(sources.c.dataset_id == dataset_id))
        stale = [int(r.id) for r in rows if r.path not in keep and r.path.startswith(prefix)]
        for sid in stale:
            writer.delete_source(conn, sid)
            conn.execute(delete(sources).where(sources.c.id == sid))
    return len(stale)


def _claim_source(
    engine: Engine, writer: BatchWriter, src: _Source, report: BuildReport
) -> tuple[int, int] | None:
    """``(source id, conversations already done)`` to (re)index, or ``None`` when unchanged.

    A new source is registered; a changed one loses its rows and starts
    over; an interrupted one resumes after its ``done`` conversations.
    """
    size, mtime_ns = src.fingerprint()
    with engine.begin() as conn:
        row = conn.execute(
            select(sources).where(sources.c.dataset_id == src.dataset_id, sources.c.path == src.path)
        ).first()
        if row is not None and (row.size, row.mtime_ns) == (size, mtime_ns) and row.complete:
            report.sources_unchanged += 1
            report.skips.merge(report_from(row.skips))
            return None
        if row is None:
            source_id = int(conn.execute(select(func.coalesce(func.max(sources.c.id), 0))).scalar_one()) + 1
            conn.execute(
                insert(sources).values(
                    id=source_id,
                    dataset_id=src.dataset_id,
                    path=src.path,
                    format=src.format,
                    size=size,
                    mtime_ns=mtime_ns,
                    done=0,
                    complete=False,
                    skips="{}",
                )
            )
            return source_id, 0
        if (row.size, row.mtime_ns) != (size, mtime_ns):
            writer.delete_source(conn, int(row.id))
            conn.execute(
                update(sources)
                .where(sources.c.id == row.id)
                .values(size=size, mtime_ns=mtime_ns, format=src.format, done=0, complete=False)
            )
            report.sources_replaced += 1
            return int(row.id), 0
        report.sources_resumed += 1
        return int(row.id), int(row.done)


def _index_source(
    engine: Engine,
    writer: BatchWriter,
    stream: PreparedStream,
    src: _Source,
    dataset: str,
    report: BuildReport,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int | None:
    """Index one source as needed; returns its source id when anything was (re)indexed."""
    claimed = _claim_source(engine, writer, src, report)
    if claimed is None:
        return None
    source_id, done = claimed
    report.sources_indexed += 1
    skips = SkipReport()
    for batch in stream.batches(src.files, src.format, engine.dialect.name, done, batch_size, skips):
        with engine.begin() as conn:
            added = writer.write(conn, src, source_id, dataset, batch, skips)
            done += len(batch)
            conn.execute(update(sources).where(sources.c.id == source_id).values(done=done))
        report.indexed[dataset] = report.indexed.get(dataset, 0) + added
        if progress is not None:
            progress(added)
    with engine.begin() as conn:
        skips.written = int(
            conn.execute(select(func.count()).where(conversations.c.source_id == source_id)).scalar_one()
        )
        conn.execute(
            update(sources)
            .where(sources.c.id == source_id)
            .values(complete=True, skips=orjson.dumps(skips.to_dict()).decode())
        )
    report.skips.merge(skips)
    return source_id


def _plan_all(
    engine: Engine,
    inputs: Sequence[str | Path],
    dataset: str | None,
    format: str | None,
    split: str,
    report: BuildReport,
) -> tuple[list[tuple[str, list[_Source]]], list[tuple[int, Path, list[_Source]]]]:
    """Every input's dataset and sources, and the release folders among them."""
    plans: list[tuple[str, list[_Source]]] = []
    releases: list[tuple[int, Path, list[_Source]]] = []
    for item in inputs:
        name = dataset or dataset_name(item)
        with engine.begin() as conn:
            ds_id = _dataset_id(conn, name)
        plans.append((name, _plan(item, ds_id, format, report.skips, split)))
        if is_release(Path(item)):
            releases.append((ds_id, Path(item), plans[-1][1]))
    return plans, releases


def _index_all(
    engine: Engine,
    writer: BatchWriter,
    plans: list[tuple[str, list[_Source]]],
    report: BuildReport,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> list[int]:
    """Index every planned source; the ids of those (re)indexed."""
    total_bytes = sum(f.stat().st_size for _, plan in plans for src in plan for f in src.files)
    stream = PreparedStream(use_worker=total_bytes >= prepare.WORKER_MIN_BYTES)
    touched: list[int] = []
    try:
        for name, plan in plans:
            report.indexed.setdefault(name, 0)
            for src in plan:
                sid = _index_source(engine, writer, stream, src, name, report, batch_size, progress)
                if sid is not None:
                    touched.append(sid)
    finally:
        stream.close()
    return touched


def _totals(engine: Engine, report: BuildReport) -> None:
    with engine.connect() as conn:
        names = {r.id: r.name for r in conn.execute(select(datasets.c.id, datasets.c.name))}
        for r in conn.execute(
            select(conversations.c.dataset_id, func.count()).group_by(conversations.c.dataset_id)
        ):
            report.totals[names[r[0]]] = int(r[1])


def build_index(
    inputs: Sequence[str | Path],
    url: str,
    *,
    dataset: str | None = None,
    format: str | None = None,
    map: bool = True,
    map_sample: int = 100_000,
    embed_model: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
    split: str = "public",
) -> BuildReport:
    """Index ``inputs`` into the index at ``url`` (created if needed); see the module docstring.

    ``progress`` is called with the number of conversations just added (an
    increment, once per batch).  ``map`` adds embedding-map points for a
    seeded sample of at most ``map_sample`` of the conversations (re)indexed
    by this run (:mod:`wildchat.explore.mapcoords`); without the ``embed``
    extra the map is skipped and ``map_message`` says why.  A release folder
    contributes its ``split`` (:mod:`wildchat.formats.release`; default
    ``public``, what a shared explorer may show), and sources of its other
    split are removed from the index.  Raises
    ``FileNotFoundError`` for an input that matches nothing and
    ``ValueError`` for an unknown ``format``.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    started = time.monotonic()
    report = BuildReport()
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        plans, releases = _plan_all(engine, inputs, dataset, format, split, report)
        writer = BatchWriter(engine)
        removed = sum(_drop_stale(engine, writer, ds_id, folder, plan) for ds_id, folder, plan in releases)
        touched = _index_all(engine, writer, plans, report, batch_size, progress)
        if map and touched:
            from wildchat.explore.mapcoords import add_map_points

            report.map_points, report.map_message = add_map_points(engine, touched, map_sample, embed_model)
        elif not map:
            report.map_message = "map disabled"
        if touched or removed or report.sources_unchanged == 0:
            refresh_stats(engine)
        _totals(engine, report)
    finally:
        engine.dispose()
    report.seconds = time.monotonic() - started
    return report
