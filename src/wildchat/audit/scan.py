"""Scanning shards: every text field, tallied per kind, with bounded memory.

A job is one shard name: ``full/part-N`` and, when it exists, ``public/part-N``
(the writer derives both from the same rows).  Within a job:

* the full shard is scanned batch by batch: each turn's ``content`` and
  ``jailbreak_match`` (every role, ``system`` included), each turn's and the
  conversation's ``header.user-agent`` / ``header.accept-language``, and
  ``model``; short repeated fields (headers, model names) are scanned once
  per distinct value (a bounded cache);
* a public shard that is byte-identical to the full one (the writer copies it
  when every row is public) counts the full shard's findings again;
* otherwise its headers and model are scanned, and its turn texts are
  scanned unless the row is an exact copy of the full row with the same
  ``conversation_id`` -- checked with a BLAKE2b digest over every turn's
  role, content and ``jailbreak_match`` -- whose turn findings are then
  counted again under ``public``.  A public row that differs in any turn
  text is scanned in full.

Only ids of conversations with findings and their finding positions are kept
between the two passes; tallies keep counts and a few locations, never text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wildchat.audit.detect import KINDS, Detector, Finding
from wildchat.audit.release import SPLITS, AuditInputError

__all__ = ["MAX_LOCATIONS", "KindTally", "run_jobs", "shard_jobs"]

MAX_LOCATIONS = 5
COLUMNS = ["conversation_id", "model", "conversation", "header"]
_HEADER_FIELDS = ("user-agent", "accept-language")
_TURN_TEXT = ("content", "jailbreak_match")
_CACHE_MAX = 100_000

Where = tuple[int, int | None, str]  # row, turn index (None: conversation level), field


@dataclass
class KindTally:
    """Findings of one kind: counts per split and the first few locations (blocking first)."""

    count: int = 0
    blocking: int = 0
    by_split: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    locations: list[dict[str, Any]] = field(default_factory=list)

    def add(self, blocking: bool, where: dict[str, Any]) -> None:
        self.count += 1
        self.blocking += blocking
        self.by_split[where["split"]] += 1
        self._keep({**where, "blocking": blocking})

    def _keep(self, loc: dict[str, Any]) -> None:
        if len(self.locations) < MAX_LOCATIONS:
            self.locations.append(loc)
        elif loc["blocking"]:
            for i in range(len(self.locations) - 1, -1, -1):
                if not self.locations[i]["blocking"]:
                    self.locations[i] = loc
                    return

    def merge(self, other: KindTally, split: str | None = None) -> None:
        """Add ``other``; ``split`` relabels it (a public copy of a full shard)."""
        self.count += other.count
        self.blocking += other.blocking
        for name, n in other.by_split.items():
            self.by_split[split or name] += n
        for loc in other.locations:
            self._keep({**loc, "split": split or loc["split"]})


def new_tallies() -> dict[str, KindTally]:
    return {k: KindTally() for k in dict.fromkeys(KINDS.values())}


@dataclass
class _Rows:
    """One batch's text fields, flattened: ``texts[i]`` sits at ``where[i]``."""

    texts: list[str] = field(default_factory=list)
    langs: list[str | None] = field(default_factory=list)
    where: list[Where] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)  # per row: turn texts digest

    def add(self, text: str, lang: str | None, where: Where) -> None:
        self.texts.append(text)
        self.langs.append(lang)
        self.where.append(where)


def _rows(batch: pa.RecordBatch, skip: Callable[[int, bytes], bool]) -> _Rows:
    """Text fields of ``batch``; turn texts of rows where ``skip(row, digest)`` is true are left out."""
    conv = batch.column("conversation")
    flat = pc.list_flatten(conv)
    offs = conv.offsets.to_pylist()
    base = offs[0]
    roles = flat.field("role").to_pylist()
    turn_text = {name: flat.field(name).to_pylist() for name in _TURN_TEXT}
    headers = {f"header.{h}": flat.field("header").field(h).to_pylist() for h in _HEADER_FIELDS}
    langs = flat.field("language").to_pylist()
    out = _Rows()
    for row in range(len(batch)):
        lo, hi = offs[row] - base, offs[row + 1] - base
        h = hashlib.blake2b(digest_size=16)
        for k in range(lo, hi):
            h.update(
                f"{roles[k]}\x1e{turn_text['content'][k]}\x1e{turn_text['jailbreak_match'][k]}\x1f".encode()
            )
        digest = h.digest()
        out.digests.append(digest)
        skipped = skip(row, digest)
        for k in range(lo, hi):
            if not skipped:
                for name, values in turn_text.items():
                    if values[k]:
                        out.add(values[k], langs[k] if name == "content" else None, (row, k - lo, name))
            for name, values in headers.items():
                if values[k]:
                    out.add(values[k], None, (row, k - lo, name))
    conv_cols = {"model": batch.column("model").to_pylist()}
    conv_cols.update({f"header.{h}": batch.column("header").field(h).to_pylist() for h in _HEADER_FIELDS})
    for name, values in conv_cols.items():
        for row, v in enumerate(values):
            if v:
                out.add(v, None, (row, None, name))
    return out


def _file_digest(path: Path) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


class Scanner:
    """Scans the shards of jobs with one :class:`Detector` (one per worker process)."""

    def __init__(self, detector: Detector, batch_size: int) -> None:
        self.detector = detector
        self.batch_size = batch_size
        self._cache: dict[str, list[Finding]] = {}

    def _scan(self, rows: _Rows) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in rows.texts]
        todo = []
        for i, (text, (_, _, name)) in enumerate(zip(rows.texts, rows.where, strict=True)):
            cached = None if name in _TURN_TEXT else self._cache.get(text)
            if cached is None:
                todo.append(i)
            else:
                out[i] = cached
        found = self.detector.scan([rows.texts[i] for i in todo], [rows.langs[i] for i in todo])
        for i, res in zip(todo, found, strict=True):
            out[i] = res
            if rows.where[i][2] not in _TURN_TEXT:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[rows.texts[i]] = res
        return out

    def _split(
        self, path: Path, split: str, tallies: dict[str, KindTally], full_rows: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Scan one shard into ``tallies``; returns ``{cid: (digest, turn findings)}`` for a full shard."""
        seen: dict[str, Any] = {}
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_size, columns=COLUMNS):
                ids = batch.column("conversation_id").to_pylist()

                def skip(row: int, digest: bytes, ids: list[Any] = ids) -> bool:
                    twin = full_rows.get(ids[row]) if full_rows is not None else None
                    return twin is not None and twin[0] == digest

                rows = _rows(batch, skip)
                turn_hits: dict[int, list[tuple[str, bool, int | None, str]]] = {}
                for (row, turn, name), findings in zip(rows.where, self._scan(rows), strict=True):
                    for f in findings:
                        tallies[f.kind].add(f.blocking, _loc(split, ids[row], turn, name))
                        if name in _TURN_TEXT:
                            turn_hits.setdefault(row, []).append((f.kind, f.blocking, turn, name))
                for row, digest in enumerate(rows.digests):
                    if full_rows is None:
                        seen[ids[row]] = (digest, turn_hits.get(row, []))
                    elif skip(row, digest):
                        for kind, blocking, turn, name in full_rows[ids[row]][1]:
                            tallies[kind].add(blocking, _loc(split, ids[row], turn, name))
        except (OSError, pa.ArrowException) as exc:
            raise AuditInputError(f"{path}: corrupt Parquet ({type(exc).__name__})") from exc
        return seen

    def job(self, full: Path | None, public: Path | None) -> dict[str, KindTally]:
        """Tallies of one shard name over both splits (see the module docstring)."""
        tallies = new_tallies()
        full_rows = self._split(full, "full", tallies, None) if full is not None else None
        if public is None:
            return tallies
        same_size = full is not None and full.stat().st_size == public.stat().st_size
        if full is not None and same_size and _file_digest(full) == _file_digest(public):
            for tally in tallies.values():
                copy = KindTally()
                copy.merge(tally, split="public")
                tally.merge(copy)
            return tallies
        self._split(public, "public", tallies, full_rows)
        return tallies


def _loc(split: str, cid: Any, turn: int | None, name: str) -> dict[str, Any]:
    return {"split": split, "conversation_id": cid, "turn": turn, "field": name}


def shard_jobs(full: list[Path], public: list[Path]) -> list[tuple[Path | None, Path | None]]:
    """Pair ``full/part-N`` with ``public/part-N``; unpaired shards are jobs of their own."""
    by_name = {p.name: p for p in public}
    jobs: list[tuple[Path | None, Path | None]] = [(p, by_name.pop(p.name, None)) for p in full]
    jobs.extend((None, p) for p in by_name.values())
    return jobs


_WORKER: dict[str, Scanner] = {}


def _init_worker(strict: bool, names: bool, batch_size: int) -> None:
    _WORKER["scanner"] = Scanner(Detector(strict=strict, names=names), batch_size)


def _job(job: tuple[Path | None, Path | None]) -> dict[str, KindTally]:
    return _WORKER["scanner"].job(*job)


def run_jobs(
    jobs: list[tuple[Path | None, Path | None]],
    detector: Detector,
    opts: tuple[bool, bool, int],
    workers: int,
    say: Callable[[str], None],
) -> dict[str, KindTally]:
    """Tallies over every job; ``workers`` > 1 runs jobs in that many processes (same result)."""
    total = new_tallies()
    results: Iterator[dict[str, KindTally]]
    if workers <= 1 or len(jobs) <= 1:
        scanner = Scanner(detector, opts[2])
        results = (scanner.job(*j) for j in jobs)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=opts)
        results = pool.map(_job, jobs)
    try:
        for (full, public), tallies in zip(jobs, results, strict=True):
            say(f"scanned {full.name if full is not None else public.name if public is not None else ''}")
            for kind, tally in tallies.items():
                total[kind].merge(tally)
    finally:
        if workers > 1 and len(jobs) > 1:
            pool.shutdown(cancel_futures=True)
    return total
