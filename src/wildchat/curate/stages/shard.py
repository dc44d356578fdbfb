"""The per-unit job every executor runs: read back, assemble, stages, write.

Kept apart from the executors so the local pool and Ray run the very same
code on the very same inputs -- which is what the parity test relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from wildchat.curate.link.assemble import assemble, log_text
from wildchat.curate.link.ingest import Unit, read_positions
from wildchat.curate.link.linkplan import UnitPlan
from wildchat.curate.release.writer import ShardSummary, write_shard
from wildchat.curate.stages.base import Stage, StageStats
from wildchat.curate.stages.batch import drop_tagged

__all__ = ["ShardJob", "WriteOptions", "build_batch", "run_shard", "run_stages"]


@dataclass(frozen=True)
class WriteOptions:
    out: Path
    public: str
    row_group_rows: int
    fingerprint: str


@dataclass
class ShardJob:
    unit: Unit
    plan: UnitPlan


def build_batch(job: ShardJob) -> pa.RecordBatch:
    """Read the unit's conversation-ending logs back and assemble its batch."""
    records = read_positions(job.unit, job.plan.pos.tolist())
    return assemble(job.plan, [log_text(r) for r in records])


def run_stages(
    stages: Sequence[Stage], batch: pa.RecordBatch
) -> tuple[pa.RecordBatch, dict[str, StageStats]]:
    """Apply ``stages`` in order; returns the kept rows and each stage's stats.

    Tagged rows leave through :func:`~wildchat.curate.stages.batch.drop_tagged`
    only: before a stage that wants kept rows only (``process_dropped``
    false) and once at the end, so cheap stages cost no copies and the writer
    receives kept rows only.  Each row is removed once.
    """
    stats: dict[str, StageStats] = {}
    for stage in stages:
        if not stage.process_dropped:
            batch = drop_tagged(batch)
        batch = stage(batch)
        stats[stage.name] = stage.take_stats()
    return drop_tagged(batch), stats


def run_shard(job: ShardJob, stages: Sequence[Stage], opts: WriteOptions) -> ShardSummary:
    batch, stats = run_stages(stages, build_batch(job))
    return write_shard(
        opts.out, job.unit.index, batch, opts.public, opts.row_group_rows, stats, opts.fingerprint
    )
