"""Reading raw-log files in *units*: the pieces workers scan independently.

A unit is a whole Parquet file, a gzip JSONL file, or a byte range of a plain
JSONL file (a line belongs to the unit its first byte lies in).  Units are
numbered in input order; each becomes one output shard, which is what makes
re-runs byte-identical and resumable.

Records are yielded with a *position* (byte offset for JSONL, row index for
Parquet) so that the second pass can read back only the logs it needs.
Decoding problems are counted with the same reasons as
:mod:`wildchat.formats` (``bad_utf8``, ``bad_json``); a unit that cannot be
read at all raises, and the scanner turns that into ``unreadable_file``.
"""

from __future__ import annotations

import gzip
import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from wildchat.skips import SkipReport

__all__ = ["Unit", "expand", "iter_unit", "plan_units", "read_positions"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Unit:
    """One independently readable piece of input (see the module docstring)."""

    index: int
    path: str
    kind: str  # "jsonl" | "jsonl.gz" | "parquet"
    start: int = 0
    end: int = -1

    @property
    def source(self) -> str:
        """Label for skip examples: the path, plus the byte range for split files."""
        if self.kind == "jsonl" and (self.start > 0 or self.end >= 0):
            return f"{self.path}[bytes {self.start}-{self.end}]"
        return self.path


def expand(inputs: Sequence[str | Path]) -> list[Path]:
    """Files named by ``inputs`` (files, globs, directories), via :mod:`wildchat.formats`."""
    from wildchat.formats import expand_inputs

    return list(expand_inputs(list(inputs)))


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".gz"):
        return "jsonl.gz"
    return "jsonl"


def plan_units(paths: Sequence[Path], chunk_bytes: int) -> list[Unit]:
    """Split inputs into units of at most ~``chunk_bytes`` (plain JSONL only)."""
    units: list[Unit] = []
    for path in paths:
        kind = _kind(path)
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        if kind != "jsonl" or size <= chunk_bytes:
            units.append(Unit(len(units), str(path), kind))
            continue
        for start in range(0, size, chunk_bytes):
            units.append(Unit(len(units), str(path), kind, start, min(start + chunk_bytes, size)))
    return units


def _decode(raw: bytes, report: SkipReport, source: str, line: int) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            report.skip("bad_utf8", f"invalid UTF-8 at byte {uexc.start}", source, line)
            return None
        report.skip("bad_json", f"invalid JSON at column {exc.colno}", source, line)
        return None


def _jsonl_lines(fh: Any, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for lines starting in ``[start, end)`` (``end < 0``: to EOF)."""
    pos = 0
    if start > 0:
        fh.seek(start - 1)
        if fh.read(1) != b"\n":
            fh.readline()
        pos = fh.tell()
    while end < 0 or pos < end:
        raw = fh.readline()
        if not raw:
            return
        yield pos, raw
        pos += len(raw)


def iter_unit(unit: Unit, report: SkipReport) -> Iterator[tuple[int, int, Any]]:
    """``(position, line_number, decoded_object)`` for each record of ``unit``."""
    source = unit.source
    if unit.kind == "parquet":
        yield from _iter_parquet(unit, report)
        return
    opener = gzip.open if unit.kind == "jsonl.gz" else open
    with opener(unit.path, "rb") as fh:
        for lineno, (pos, raw) in enumerate(_jsonl_lines(fh, unit.start, unit.end), 1):
            if pos == 0 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            report.read += 1
            obj = _decode(raw, report, source, lineno)
            if obj is not None:
                yield pos, lineno, obj


def _iter_parquet(unit: Unit, report: SkipReport) -> Iterator[tuple[int, int, Any]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(unit.path)
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            report.read += 1
            yield n, n + 1, row
            n += 1


def read_positions(unit: Unit, positions: Sequence[int]) -> list[Any]:
    """The decoded records at ``positions`` (sorted) of ``unit``, in that order.

    Only called for records the first pass already decoded, so errors here
    mean the file changed between passes: they raise.
    """
    if not positions:
        return []
    if unit.kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(unit.path).read()
        return list(table.take(list(positions)).to_pylist())
    out: list[Any] = []
    if unit.kind == "jsonl.gz":
        wanted = set(positions)
        with gzip.open(unit.path, "rb") as fh:
            for pos, raw in _jsonl_lines(fh, 0, -1):
                if pos in wanted:
                    out.append(orjson.loads(raw[len(_BOM) :] if pos == 0 and raw.startswith(_BOM) else raw))
        return out
    # one read-only map instead of a seek + buffered readline per record
    with open(unit.path, "rb") as raw_fh, mmap.mmap(raw_fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        find, size = mm.find, len(mm)
        for pos in positions:
            end = find(b"\n", pos)
            raw = mm[pos : size if end < 0 else end + 1]
            out.append(orjson.loads(raw[len(_BOM) :] if pos == 0 and raw.startswith(_BOM) else raw))
    return out
