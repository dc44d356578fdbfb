"""Executors schedule scan and shard jobs; they never change results.

``local`` (:mod:`.local`, processes) and ``ray`` (:mod:`.ray`, Ray Data; the
only module that imports ``ray``) both implement :class:`Executor`, the one
interface :mod:`wildchat.curate.pipeline` codes against;
:func:`make_executor` picks one from the config.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wildchat.curate.link.ingest import Unit
    from wildchat.curate.link.scan import ScanChunk
    from wildchat.curate.release.writer import ShardSummary
    from wildchat.curate.stages.base import Stage
    from wildchat.curate.stages.config import CurateConfig
    from wildchat.curate.stages.shard import ShardJob, WriteOptions

__all__ = ["Executor", "make_executor"]


class Executor(Protocol):
    """Runs the two passes of a curation run somewhere (this machine's processes, a Ray cluster).

    Contract: results come back in input order and are exactly what
    :func:`wildchat.curate.link.scan.scan_unit` and
    :func:`wildchat.curate.stages.shard.run_shard` return for each item, so
    the executor never changes a release (the parity tests check this).
    """

    name: str

    def scan(self, units: Sequence[Unit], failed: frozenset[str], limit: int | None) -> Iterator[ScanChunk]:
        """First-pass chunks in unit order; may stop early once ``limit`` logs are in."""
        ...

    def run_shards(
        self, jobs: Iterable[ShardJob], n_jobs: int, stages: list[Stage], opts: WriteOptions
    ) -> Iterator[ShardSummary]:
        """Assemble, stage and write each job's shard; one summary per job, in job order."""
        ...

    def close(self) -> None:
        """Release what the executor started (pools, a local Ray)."""
        ...


def make_executor(cfg: CurateConfig) -> Executor:
    """The executor ``cfg`` names (``executor.name``), configured from ``cfg``."""
    if cfg.executor == "ray":
        from wildchat.curate.executors.ray import RayExecutor

        return RayExecutor(address=cfg.ray_address or None, num_cpus=cfg.ray_cpus, fuse=cfg.ray_fuse)
    from wildchat.curate.executors.local import LocalExecutor

    return LocalExecutor(cfg.workers)
