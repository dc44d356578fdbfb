"""Release writer: one Parquet shard per input unit, plus completion markers.

Layout of an output folder ``OUT``::

    OUT/full/part-00000.parquet     every kept conversation (release schema)
    OUT/public/part-00000.parquet   the public subset (see ``public_mask``)
    OUT/stats.json                  counts per stage (+ timings: the only place they live)
    OUT/README.md                   dataset card
    OUT/.state/                     fingerprint and per-shard completion markers

Determinism: rows keep input order (``_row``), Parquet settings are fixed
(:data:`PARQUET_OPTIONS`), and nothing time-dependent is written into data
files or markers' data, so the same input and config give byte-identical
shards.  Files are written to a temporary name and renamed; the marker is
written last, so a shard with a marker is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wildchat.curate.stages.base import StageStats
from wildchat.schema import release_schema

__all__ = ["PARQUET_OPTIONS", "ShardSummary", "finalize", "public_mask", "shard_name", "write_shard"]

PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": False,  # free text: dictionary attempts cost more than they save
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


def shard_name(unit: int) -> str:
    return f"part-{unit:05d}"


@dataclass
class ShardSummary:
    """What one shard holds; kept in its marker so a resumed run can total it."""

    unit: int
    full: int = 0
    public: int = 0
    toxic_null: int = 0
    models: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    min_ts: str | None = None
    max_ts: str | None = None
    stages: dict[str, StageStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "full": self.full,
            "public": self.public,
            "toxic_null": self.toxic_null,
            "models": dict(sorted(self.models.items())),
            "languages": dict(sorted(self.languages.items())),
            "min_ts": self.min_ts,
            "max_ts": self.max_ts,
            "stages": {k: v.to_dict() for k, v in self.stages.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShardSummary:
        return cls(
            unit=int(d["unit"]),
            full=int(d["full"]),
            public=int(d["public"]),
            toxic_null=int(d["toxic_null"]),
            models=Counter(d["models"]),
            languages=Counter(d["languages"]),
            min_ts=d["min_ts"],
            max_ts=d["max_ts"],
            stages={k: StageStats.from_dict(v) for k, v in d["stages"].items()},
        )


def _hashes(table: pa.Table) -> pa.Array:
    """``conversation_hash`` per row: exactly :func:`wildchat.formats.hashing.conversation_hash`.

    Builds the same ``json.dumps`` text directly from the escaped strings
    (no per-turn dicts); ``tests/curate`` checks it against the definition.
    """
    conv = table.column("conversation").combine_chunks()
    flat = conv.flatten()
    contents = flat.field("content").to_pylist()
    roles = flat.field("role").to_pylist()
    offs = conv.offsets.to_pylist()
    base = offs[0] if offs else 0
    esc = encode_basestring_ascii
    sha = hashlib.sha256
    out = []
    for i in range(len(table)):
        lo, hi = offs[i] - base, offs[i + 1] - base
        text = (
            "["
            + ", ".join(
                '{"content": ' + esc(c) + ', "role": ' + esc(r) + "}"
                for c, r in zip(contents[lo:hi], roles[lo:hi], strict=True)
            )
            + "]"
        )
        out.append(sha(text.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return pa.array(out, pa.string())


def finalize(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Kept rows in ``_row`` order, release columns only, ``conversation_hash`` filled.

    ``batch`` holds kept rows only (tagged rows left in
    :func:`~wildchat.curate.stages.shard.run_stages`); a tagged row here is a
    bug and raises ``ValueError`` rather than being published or silently lost.
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    if table.column("drop_reason").null_count != len(table):
        raise ValueError("finalize: the batch still holds rows tagged with a drop_reason")
    if "_row" in table.column_names and len(table) > 1:
        rows = table.column("_row").to_numpy()
        if (rows[1:] < rows[:-1]).any():
            table = table.sort_by([("_row", "ascending")])
    schema = release_schema()
    table = table.set_column(
        table.schema.get_field_index("conversation_hash"), "conversation_hash", _hashes(table)
    )
    table = table.select(schema.names)
    if table.schema != schema:
        table = table.cast(schema)
    return table.combine_chunks()


def public_mask(table: pa.Table, rule: str) -> pa.ChunkedArray | pa.Array:
    """``strict``: ``toxic == false``; ``not_flagged``: ``toxic`` is not true (null passes)."""
    toxic = table.column("toxic")
    if rule == "strict":
        return pc.fill_null(pc.equal(toxic, False), False)
    return pc.invert(pc.fill_null(toxic, False))


def _write(table: pa.Table, path: Path, row_group_rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, row_group_size=row_group_rows, **PARQUET_OPTIONS)
    os.replace(tmp, path)


def _ts_text(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def write_shard(
    out: Path,
    unit: int,
    batch: pa.RecordBatch | pa.Table,
    rule: str,
    row_group_rows: int,
    stages: dict[str, StageStats],
    fingerprint: str,
) -> ShardSummary:
    """Write ``full``/``public`` shards for ``unit`` and then its completion marker."""
    table = finalize(batch)
    name = shard_name(unit)
    mask = public_mask(table, rule)
    everyone = bool(pc.all(mask).as_py()) if len(table) else False
    public = table if everyone else table.filter(mask)
    for sub, part in (("full", table), ("public", public)):
        path = out / sub / f"{name}.parquet"
        if sub == "public" and everyone:  # same rows, same bytes: copy instead of encoding twice
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / "full" / f"{name}.parquet", path.with_suffix(".parquet.tmp"))
            os.replace(path.with_suffix(".parquet.tmp"), path)
        elif len(part):
            _write(part, path, row_group_rows)
        elif path.exists():
            path.unlink()
    toxic = table.column("toxic")
    summary = ShardSummary(
        unit=unit,
        full=len(table),
        public=len(public),
        toxic_null=int(pc.sum(pc.is_null(toxic)).as_py() or 0) if len(table) else 0,
        models=Counter(v for v in table.column("model").to_pylist() if v is not None),
        languages=Counter(v for v in table.column("language").to_pylist() if v is not None),
        stages=stages,
    )
    if len(table):
        mm = pc.min_max(table.column("timestamp")).as_py()
        summary.min_ts, summary.max_ts = _ts_text(mm["min"]), _ts_text(mm["max"])
    marker = out / ".state" / "shards" / f"{name}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, **summary.to_dict()}, sort_keys=True, indent=1))
    os.replace(tmp, marker)
    return summary


def read_marker(out: Path, unit: int, fingerprint: str) -> ShardSummary | None:
    """The summary of a finished shard, or ``None`` if it must be (re)done."""
    marker = out / ".state" / "shards" / f"{shard_name(unit)}.json"
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != fingerprint:
        return None
    summary = ShardSummary.from_dict(data)
    for sub, n in (("full", summary.full), ("public", summary.public)):
        path = out / sub / f"{shard_name(unit)}.parquet"
        if n and not path.exists():
            return None
        if n:
            try:
                if pq.ParquetFile(path).metadata.num_rows != n:
                    return None
            except (OSError, pa.ArrowException):
                return None
    return summary
