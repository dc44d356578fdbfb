"""Local executor: worker processes over units, a bounded number in flight.

Both passes fan units out to a process pool (``forkserver``: safe after
threads or Ray were started in the parent) and consume results in input
order; at most ``2 x workers`` units are in flight, so memory is bounded by
the unit size, not the input size.  With one worker (or one unit) everything
runs in this process, which is also what the tests use.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from wildchat.curate.link.ingest import Unit
from wildchat.curate.link.scan import ScanChunk, scan_unit
from wildchat.curate.release.writer import ShardSummary
from wildchat.curate.stages.base import Stage
from wildchat.curate.stages.shard import ShardJob, WriteOptions, run_shard

__all__ = ["LocalExecutor"]

T = TypeVar("T")
R = TypeVar("R")

_PRELOAD = ("wildchat.curate.executors.local", "wildchat.curate.stages.privacy", "pandas")
_WORKER_STAGES: list[Stage] = []
_WORKER_OPTS: list[WriteOptions] = []


def _init_worker(stages: list[Stage], opts: WriteOptions | None) -> None:
    _WORKER_STAGES[:] = stages
    _WORKER_OPTS[:] = [opts] if opts is not None else []


def _shard_in_worker(job: ShardJob) -> ShardSummary:
    return run_shard(job, _WORKER_STAGES, _WORKER_OPTS[0])


def _scan_in_worker(args: tuple[Unit, frozenset[str], int | None]) -> ScanChunk:
    return scan_unit(*args)


class LocalExecutor:
    """Schedules scan and shard jobs on ``workers`` processes (0 = CPU count)."""

    name = "local"

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)

    def _map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        n_items: int,
        init: tuple[Any, ...],
        stop: Callable[[R], bool] | None = None,
    ) -> Iterator[R]:
        if self.workers == 1 or n_items <= 1:
            _init_worker(*init)
            for item in items:
                result = fn(item)
                yield result
                if stop is not None and stop(result):
                    return
            return
        ctx = mp.get_context("forkserver")
        # import the worker code (pyarrow, numpy and the pandas shim pyarrow loads on
        # first use) once in the fork server, not again in every worker of both passes
        ctx.set_forkserver_preload(list(_PRELOAD))
        with ctx.Pool(min(self.workers, n_items), initializer=_init_worker, initargs=init) as pool:
            window: deque[Any] = deque()
            it = iter(items)
            for item in it:
                window.append(pool.apply_async(fn, (item,)))
                if len(window) >= 2 * self.workers:
                    result = window.popleft().get()
                    yield result
                    if stop is not None and stop(result):
                        return
            while window:
                result = window.popleft().get()
                yield result
                if stop is not None and stop(result):
                    return

    def close(self) -> None:
        """Nothing to release: pools are closed after each pass."""

    def scan(self, units: Sequence[Unit], failed: frozenset[str], limit: int | None) -> Iterator[ScanChunk]:
        """First-pass chunks in unit order (stops early once ``limit`` logs are in)."""
        total = 0

        def enough(chunk: ScanChunk) -> bool:
            nonlocal total
            total += len(chunk)
            return limit is not None and total >= limit

        args = ((u, failed, limit) for u in units)
        yield from self._map(_scan_in_worker, args, len(units), ([], None), enough)

    def run_shards(
        self, jobs: Iterable[ShardJob], n_jobs: int, stages: list[Stage], opts: WriteOptions
    ) -> Iterator[ShardSummary]:
        """Assemble, stage and write each job's shard; summaries in job order."""
        yield from self._map(_shard_in_worker, jobs, n_jobs, (stages, opts))
