"""Stratified sampling of release turns for one review task, with recorded stratum weights.

Contract:

* **Unbiased.**  Every turn of the task's population (see
  :mod:`wildchat.review.tasks`) falls in exactly one stratum; each stratum's
  population ``N_h`` and sample size ``n_h`` are recorded, so an item stands
  for ``N_h / n_h`` turns.  Inside a stratum the sample is a simple random
  sample without replacement.
* **Re-runnable.**  The random draw is *bottom-k by hash*: each turn gets the
  key ``blake2b(seed, task, conversation_id, turn)`` and a stratum keeps its
  ``n_h`` smallest keys.  The same release, task, size and seed give the same
  items whatever the shard layout or file order.
* **Bounded memory.**  One pass over the Parquet files; each fine stratum
  keeps at most ``size`` candidates in a heap.
* **Allocation.**  ``n_h`` proportional to ``sqrt(N_h)`` (capped at ``N_h``,
  the remainder handed on): rare strata (flagged turns, engine
  disagreements) get far more than their share, for precision, while the big
  "not flagged" stratum that decides recall still gets the most items.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.review import TASKS
from wildchat.review.rescore import OfflineRescorer
from wildchat.review.tasks import STRATA, ReleaseConfig, judge_turn, merge_strata

__all__ = ["Item", "ReleaseError", "Sample", "Stratum", "allocate", "draw_sample", "release_files"]

READ_COLUMNS = (
    "conversation_id",
    "conversation_hash",
    "conversation",
    "openai_moderation",
    "detoxify_moderation",
)
CONTEXT_BEFORE, CONTEXT_AFTER, CONTEXT_CHARS = 4, 1, 4000
MIN_PER_STRATUM = 10


class ReleaseError(ValueError):
    """The release cannot be read (missing, no Parquet files, not the release schema)."""


@dataclass
class Item:
    """One sampled turn, as the queue stores it."""

    key: int
    conversation_id: str
    turn: int
    role: str
    text: str
    stratum: str
    detectors: dict[str, Any]
    predictions: dict[str, Any]
    context: list[dict[str, Any]]


@dataclass
class Stratum:
    name: str
    population: int
    sampled: int

    @property
    def weight(self) -> float | None:
        """Turns each sampled item stands for (None for an empty or unsampled stratum)."""
        return self.population / self.sampled if self.sampled else None


@dataclass
class Sample:
    task: str
    seed: int
    size: int
    split: str
    strata: list[Stratum]
    items: list[Item]
    meta: dict[str, Any] = field(default_factory=dict)


def release_files(release: Path, split: str) -> list[Path]:
    """The Parquet files of ``split`` (``RELEASE/split/*.parquet``; a bare folder or file also works)."""
    if release.is_file() and release.suffix == ".parquet":
        return [release]
    if not release.is_dir():
        raise ReleaseError(f"release not found: {release}")
    sub = release / split
    files = sorted(sub.glob("*.parquet")) if sub.is_dir() else sorted(release.glob("*.parquet"))
    if not files:
        raise ReleaseError(f"no Parquet files under {sub if sub.is_dir() else release}")
    return files


def release_config(release: Path) -> tuple[ReleaseConfig, dict[str, Any], dict[str, Any] | None]:
    """Detector settings from ``stats.json`` (defaults when absent), the queue meta, and the stats."""
    path = release / "stats.json" if release.is_dir() else release.parent / "stats.json"
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stats = None
    cfg = ReleaseConfig.from_stats(stats)
    return (
        cfg,
        {
            "toxic_engines": list(cfg.toxic_engines),
            "detoxify_threshold": cfg.detoxify_threshold,
            "jailbreak_sources": list(cfg.jailbreak_sources),
            "stats_json": stats is not None,
        },
        stats,
    )


def _batches(files: list[Path]) -> Iterator[list[dict[str, Any]]]:
    import pyarrow.parquet as pq

    for path in files:
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        if "conversation" not in names:
            raise ReleaseError(f"{path.name}: not a release file (no 'conversation' column)")
        cols = [c for c in READ_COLUMNS if c in names]
        start = 0
        for batch in pf.iter_batches(columns=cols, batch_size=512):
            rows = batch.to_pylist()
            for k, row in enumerate(rows):
                if not row.get("conversation_id"):
                    row["conversation_id"] = f"{row.get('conversation_hash') or ''}@{path.name}:{start + k}"
            start += len(rows)
            yield rows


def _rows(files: list[Path], rescorer: OfflineRescorer | None) -> Iterator[dict[str, Any]]:
    for rows in _batches(files):
        if rescorer is not None:
            rescorer.annotate(rows)
        yield from rows


def sample_key(seed: int, task: str, conversation_id: str, turn: int) -> int:
    """The turn's position in the seeded random order (smaller = drawn first)."""
    h = hashlib.blake2b(f"{seed}\x00{task}\x00{conversation_id}\x00{turn}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big")


def _context(conv: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    lo, hi = max(0, i - CONTEXT_BEFORE), min(len(conv), i + 1 + CONTEXT_AFTER)
    return [
        {
            "index": j,
            "role": conv[j].get("role") or "",
            "text": (conv[j].get("content") or "")[:CONTEXT_CHARS],
        }
        for j in range(lo, hi)
        if j != i
    ]


def allocate(population: Mapping[str, int], size: int) -> dict[str, int]:
    """Square-root allocation: ``n_h`` proportional to ``sqrt(N_h)``, capped at ``N_h``, rest handed on.

    The compromise between equal shares (best for rare strata, e.g. precision
    of a rare flag) and proportional shares (best for the big "not flagged"
    stratum that drives recall).  Largest-remainder rounding; sums to
    ``min(size, sum(N_h))``.  Every non-empty stratum first gets a floor of
    ``min(N_h, 10, size / (2 * strata))`` items (at least one), so no
    stratum of the population is left without labels.
    """
    open_ = [s for s in population if population[s] > 0]
    floor = max(1, min(MIN_PER_STRATUM, size // (2 * max(1, len(open_)))))
    alloc = {s: min(population[s], floor) if s in open_ else 0 for s in population}
    if sum(alloc.values()) > size:  # more strata than items: the first ``size`` strata get one each
        alloc = {s: 1 if s in open_[:size] else 0 for s in population}
    open_ = [s for s in open_ if alloc[s] < population[s]]
    left = min(size, sum(population.values())) - sum(alloc.values())
    while left > 0 and open_:
        roots = {s: math.sqrt(population[s]) for s in open_}
        total = sum(roots.values())
        want = {s: left * roots[s] / total for s in open_}
        give = {s: min(int(want[s]), population[s] - alloc[s]) for s in open_}
        rest = left - sum(give.values())
        for s in sorted(open_, key=lambda s: (-(want[s] - int(want[s])), s)):
            if rest <= 0:
                break
            if give[s] < population[s] - alloc[s]:
                give[s] += 1
                rest -= 1
        for s in open_:
            alloc[s] += give[s]
        left = min(size, sum(population.values())) - sum(alloc.values())
        open_ = [s for s in open_ if alloc[s] < population[s]]
    return alloc


def draw_sample(
    release: Path, task: str, size: int = 400, seed: int = 0, split: str = "full", *, rescore: bool = True
) -> Sample:
    """Draw the stratified sample (see the module docstring for the contract).

    ``rescore``: for ``toxicity`` on a release whose ``toxic`` the offline
    engine decided, recompute its scores to fill ``near_threshold``
    (:mod:`wildchat.review.rescore`).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (one of {', '.join(TASKS)})")
    if size < 1:
        raise ValueError("size must be at least 1")
    files = release_files(release, split)
    cfg, meta, stats = release_config(release)
    rescorer: OfflineRescorer | None = None
    if task == "toxicity":
        rescorer, why = OfflineRescorer.for_release(stats) if rescore else (None, "--no-rescore")
        meta["rescore"] = {"skipped": why} if rescorer is None else {}
    counts: Counter[str] = Counter()
    heaps: dict[str, list[tuple[int, int, Item]]] = {}
    for row in _rows(files, rescorer):
        conv = row["conversation"] or []
        for i, turn in enumerate(conv):
            judged = judge_turn(task, row, i, cfg)
            if judged is None:
                continue
            counts[judged.stratum] += 1
            key = sample_key(seed, task, row["conversation_id"], i)
            heap = heaps.setdefault(judged.stratum, [])
            if len(heap) >= size and -heap[0][0] <= key:
                continue
            item = Item(
                key,
                row["conversation_id"],
                i,
                turn.get("role") or "",
                turn.get("content") or "",
                judged.stratum,
                judged.detectors,
                judged.predictions,
                _context(conv, i),
            )
            entry = (-key, len(heap), item)
            if len(heap) >= size:
                heapq.heapreplace(heap, entry)
            else:
                heapq.heappush(heap, entry)
    if rescorer is not None:
        meta["rescore"] = rescorer.summary()
    return _finish(task, size, seed, split, counts, heaps, meta)


def _finish(
    task: str,
    size: int,
    seed: int,
    split: str,
    counts: Counter[str],
    heaps: dict[str, list[tuple[int, int, Item]]],
    meta: dict[str, Any],
) -> Sample:
    """Merge fine strata, allocate, keep each stratum's ``n_h`` smallest keys."""
    mapping = merge_strata(task, counts)
    population: Counter[str] = Counter({s: 0 for s in STRATA[task]})
    pools: dict[str, list[Item]] = {}
    for fine, final in mapping.items():
        population[final] += counts[fine]
        pools.setdefault(final, []).extend(e[2] for e in heaps.get(fine, []))
    order = [s for s in STRATA[task] if s in population] + sorted(
        s for s in population if s not in STRATA[task]
    )
    alloc = allocate({s: population[s] for s in order}, size)
    items: list[Item] = []
    for s in order:
        chosen = sorted(pools.get(s, []), key=lambda it: it.key)[: alloc[s]]
        for it in chosen:
            it.stratum = s
        items.extend(chosen)
    strata = [Stratum(s, population[s], alloc[s]) for s in order]
    return Sample(task, seed, size, split, strata, items, meta)
