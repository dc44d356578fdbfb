"""Ray executor: Ray tasks for the first pass, Ray Data for the shards.

The only module that imports ``ray`` (the ``[ray]`` extra).  Second pass:
``from_items`` (one item per unit job) -> ``map_batches(build)`` (read back +
assemble, as tasks) -> one ``map_batches`` per stage with the stage object
inside a *callable actor* -- by default one actor pool runs the whole stage
list (``fuse``); ``executor.ray_fuse = false`` gives every stage its own
actor pool, which scales stages separately on a cluster but needs a CPU
share per pool (on a 2-core machine it can stall) -> the driver receives batches in order
(``preserve_order``) and writes each shard with the same writer as the local
executor.  Stage stats travel inside the data (``_stage_stats``, a JSON list
on the first row of each batch), so they survive actors on other machines.

Local use starts Ray with ``num_cpus`` and a private temp folder, usage
stats off; ``address`` attaches to an existing cluster instead.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from wildchat.curate.link.ingest import Unit
from wildchat.curate.link.scan import ScanChunk, scan_unit
from wildchat.curate.release.writer import ShardSummary, write_shard
from wildchat.curate.stages.base import Stage, StageStats
from wildchat.curate.stages.batch import drop_tagged, set_column
from wildchat.curate.stages.shard import ShardJob, WriteOptions, build_batch, run_stages

__all__ = ["RayExecutor"]

STATS_COL = "_stage_stats"


def _build(batch: dict[str, Any]) -> pa.Table:
    tables = []
    for blob in batch["job"]:
        rb = build_batch(pickle.loads(blob))
        rb = rb.append_column(STATS_COL, pa.nulls(len(rb), pa.string()))
        tables.append(pa.Table.from_batches([rb]))
    return pa.concat_tables(tables)


class _StageActor:
    """Callable actor around one or more stages (set up once per actor).

    Returns only the rows still kept (tagged rows are counted, never
    written).  Stats carried in by earlier actors and this actor's own are
    put on the first row; if every row was dropped, one row tagged
    ``_stats_carrier`` carries them instead.
    """

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = stages

    def __call__(self, table: pa.Table) -> pa.Table:
        if table.num_rows == 0:
            return table
        batch = table.combine_chunks().to_batches()[0]
        carried: list[Any] = []
        for text in batch.column(STATS_COL).to_pylist():
            carried.extend(json.loads(text) if text else [])
        kept, stats = run_stages(self.stages, batch)
        carried.extend({"name": name, **st.to_dict()} for name, st in stats.items())
        if len(kept) == 0:
            kept = set_column(batch.slice(0, 1), "drop_reason", pa.array(["_stats_carrier"], pa.string()))
        values = [json.dumps(carried)] + [None] * (len(kept) - 1)
        return pa.Table.from_batches([set_column(kept, STATS_COL, pa.array(values, pa.string()))])


class RayExecutor:
    """Runs scan tasks and the shard dataflow on Ray (local or ``address``)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int = 2, fuse: bool = True) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.fuse = fuse
        self._tmp: str | None = None  # set when this executor started a local Ray

    def _ray(self) -> Any:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                self._tmp = tempfile.mkdtemp(prefix="wcray-", dir="/tmp")  # short: Ray's socket paths
                ray.init(
                    num_cpus=self.num_cpus, include_dashboard=False, _temp_dir=self._tmp, log_to_driver=False
                )
        return ray

    def close(self) -> None:
        """Stop the local Ray this executor started (and remove its temp folder); keep others."""
        if self._tmp is None:
            return
        import ray

        ray.shutdown()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None

    def scan(self, units: Sequence[Unit], failed: frozenset[str], limit: int | None) -> Iterator[ScanChunk]:
        ray = self._ray()
        task = ray.remote(num_cpus=1)(scan_unit)
        window: deque[Any] = deque()
        total = 0
        for unit in units:
            window.append(task.remote(unit, failed, limit))
            if len(window) >= 2 * self.num_cpus:
                chunk = ray.get(window.popleft())
                total += len(chunk)
                yield chunk
                if limit is not None and total >= limit:
                    return
        while window:
            chunk = ray.get(window.popleft())
            total += len(chunk)
            yield chunk
            if limit is not None and total >= limit:
                return

    def run_shards(
        self, jobs: Iterable[ShardJob], n_jobs: int, stages: list[Stage], opts: WriteOptions
    ) -> Iterator[ShardSummary]:
        if n_jobs == 0:
            return
        ray = self._ray()
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        ctx.op_resource_reservation_enabled = False  # many small actor pools on few CPUs otherwise starve
        items = [{"job": pickle.dumps(job)} for job in jobs]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(_build, batch_size=1, batch_format="numpy", num_cpus=1)
        groups = [stages] if self.fuse else [[s] for s in stages]
        share = max(0.1, self.num_cpus / (len(groups) + 1)) if not self.address else 1
        for group in groups:
            ds = ds.map_batches(
                _StageActor,
                fn_constructor_args=(group,),
                batch_format="pyarrow",
                batch_size=None,
                compute=ray.data.ActorPoolStrategy(size=1),
                num_cpus=min(1.0, share),
                zero_copy_batch=True,
            )
        pending: list[pa.Table] = []
        current: int | None = None
        for table in ds.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=1):
            shards = np.asarray(table.column("_shard").to_numpy(), dtype=np.int64)
            cuts = [0, *(np.flatnonzero(np.diff(shards)) + 1).tolist(), len(shards)]
            for lo, hi in itertools.pairwise(cuts):
                if hi <= lo:
                    continue
                unit = int(shards[lo])
                if current is not None and unit != current:
                    yield self._write(current, pending, opts)
                    pending = []
                current = unit
                pending.append(table.slice(lo, hi - lo))
        if current is not None:
            yield self._write(current, pending, opts)

    @staticmethod
    def _write(unit: int, parts: list[pa.Table], opts: WriteOptions) -> ShardSummary:
        table = pa.concat_tables(parts)
        stats: dict[str, StageStats] = {}
        for text in table.column(STATS_COL).to_pylist():
            for item in json.loads(text) if text else []:
                name = item.pop("name")
                stats.setdefault(name, StageStats()).merge(StageStats.from_dict(item))
        table = drop_tagged(table.drop_columns([STATS_COL]))  # the _stats_carrier rows
        return write_shard(opts.out, unit, table, opts.public, opts.row_group_rows, stats, opts.fingerprint)
