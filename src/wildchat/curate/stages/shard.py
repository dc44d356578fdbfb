"""The per-unit job every executor runs: read back, assemble, stages, write.

Kept apart from the executors so the local pool and Ray run the very same
code on the very same inputs -- which is what the parity test relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from wildchat.curate.link.assemble import assemble, log_text
from wildchat.curate.link.ingest import Unit, read_positions
from wildchat.curate.link.linkplan import UnitPlan
from wildchat.curate.stages.base import Stage, StageStats
from wildchat.curate.release.writer import ShardSummary, write_shard

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
    """Apply ``stages`` in order; returns the batch and each stage's stats.

    Tagged rows are filtered out only before a stage that wants kept rows
    only (``process_dropped`` false), so cheap stages cost no copies; the
    writer leaves any remaining tagged rows out.
    """
    stats: dict[str, StageStats] = {}
    for stage in stages:
        if not stage.process_dropped and batch.column("drop_reason").null_count != len(batch):
            batch = batch.filter(pc.is_null(batch.column("drop_reason")))
        batch = stage(batch)
        stats[stage.name] = stage.take_stats()
    return batch, stats


def run_shard(job: ShardJob, stages: Sequence[Stage], opts: WriteOptions) -> ShardSummary:
    batch, stats = run_stages(stages, build_batch(job))
    return write_shard(
        opts.out, job.unit.index, batch, opts.public, opts.row_group_rows, stats, opts.fingerprint
    )
