"""The stage contract: one small class per curation step.

Every per-batch step of ``wildchat curate`` (cleaning rules, privacy, and the
enrichment stages: language, moderation, PII, jailbreaks) is a :class:`Stage`.
Executors (local processes, Ray actors) only schedule stages; stages never do
I/O.  The contract below is stable -- other packages code against it.

**Class attributes** (set by each subclass):

* ``name`` -- registry key and TOML table: ``[stages.<name>]``.
* ``description`` -- one line, shown by ``wildchat curate --list-stages``.
* ``defaults`` -- every config key with its default value.  Unknown keys in a
  config are an error (a typo must not silently disable a rule).
* ``reasons`` -- the ``drop_reason`` values this stage may set (documentation
  and stats; reasons should be unique to a stage).
* ``requires`` -- importable module names the stage needs; :meth:`check_requirements`
  fails early with ``install_hint``.
* ``secret_keys`` -- config keys never printed in the card or ``stats.json``.
* ``count_keys`` -- config keys published as a count only (``"<N values>"``):
  lists that name held-out items or people (hold-out hashes, dev accounts).
* ``process_dropped`` -- ``True`` for cheap vectorised stages that may be
  handed rows already dropped (their results on those rows are ignored:
  :func:`~wildchat.curate.stages.batch.tag` never overwrites a reason).  Saves the
  filter/merge copies; leave it ``False`` for expensive stages.

**Self-description** (the pipeline and the card never name a stage):

* ``protects`` -- what the release loses without this stage: :data:`PII`
  (text redaction), :data:`IP` (the release's own IP pseudonyms) or
  :data:`CONSENT`; ``""`` for none.  The run refuses to write without the
  :data:`REQUIRED` protections unless told otherwise.
* ``release_key_config`` -- the config key that, left empty, takes the run's
  release key from the :class:`RunContext` (the config itself is never
  written to); ``""`` when the stage needs no key.
* ``card_counters`` -- the counters the dataset card shows (exact keys, or
  ``prefix:`` for a whole breakdown); :meth:`card_engines` says what ran and
  :meth:`card_redaction` where a :data:`PII` stage redacts.

**Lifecycle.** ``__init__(**config)`` only merges config over ``defaults`` (no
heavy work): an instance must be picklable *before* :meth:`setup`.
:meth:`setup` loads heavy things (models, databases) once per worker process
or Ray actor; it is idempotent.

**Transform.** :meth:`process` is pure: ``pa.RecordBatch -> pa.RecordBatch``.
Input rows are release conversations: every field of
:func:`wildchat.schema.release_schema` (enrichment fields null until a stage
fills them), plus pipeline columns (see :mod:`wildchat.curate.stages.batch`):
``drop_reason`` (string, null = kept) and columns whose names start with
``_`` (never written to the release).  :meth:`process` receives only rows
that are still kept; it returns the *same rows in the same order*, may replace
column values (keeping each column's type), may add ``_`` columns, and
removes a row only by *tagging* it: setting ``drop_reason`` (helpers:
:func:`wildchat.curate.stages.batch.tag`).  :meth:`__call__` is what executors call:
it runs :meth:`process` on the kept rows, merges dropped rows back in their
places and counts :class:`StageStats` (rows in/out, drops by reason with
example conversation ids, seconds).

**Counters.** A stage may count what it did beyond rows (turns judged per
engine, entities redacted by type, matches per family ...) with
:meth:`Stage.count`; they live in ``StageStats.counters`` (``dict[str, int]``,
added up like the rest when stats merge across batches, workers and Ray
actors) and appear per stage in ``stats.json``.  Keys are short ASCII names,
``kind:value`` for breakdowns (``judged:openai``, ``entity:EMAIL_ADDRESS``);
they never hold record content.  Stats written before counters existed read
back with empty counters.
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from wildchat.curate.stages.batch import kept_mask

__all__ = [
    "CONSENT",
    "IP",
    "MAX_DROP_EXAMPLES",
    "PII",
    "REQUIRED",
    "RunContext",
    "Stage",
    "StageConfigError",
    "StageStats",
]

MAX_DROP_EXAMPLES = 5

#: ``Stage.protects`` values: text redaction, the release's own IP pseudonyms, consent
PII, IP, CONSENT = "pii", "ip", "consent"
#: protections without which ``public/`` is not safe to publish, in the order messages name them
REQUIRED = (IP, PII)


@dataclass(frozen=True)
class RunContext:
    """What one run knows that no stage config holds: handed to every stage, never written.

    ``release_key`` is the secret the release's IP pseudonyms and ids are keyed
    with (kept out of ``repr``); ``out`` the release folder.  Stages read it
    through :attr:`Stage.context`; a stage built outside a run has none.
    """

    release_key: str = field(default="", repr=False)
    out: Path | None = None


class StageConfigError(ValueError):
    """A stage config that cannot be used (unknown key, bad value, missing dependency)."""


@dataclass
class StageStats:
    """What one stage did: additive across batches, workers and actors."""

    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    batches: int = 0
    counters: Counter[str] = field(default_factory=Counter)

    def merge(self, other: StageStats) -> StageStats:
        """Add ``other`` into this (in place) and return self."""
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.dropped.update(other.dropped)
        for reason, items in other.examples.items():
            # the smallest ids, not the first seen: the same whatever the batch or merge order
            self.examples[reason] = sorted({*self.examples.get(reason, []), *items})[:MAX_DROP_EXAMPLES]
        self.seconds += other.seconds
        self.batches += other.batches
        self.counters.update(other.counters)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
            "examples": {k: sorted(v) for k, v in sorted(self.examples.items())},
            "seconds": round(self.seconds, 6),
            "batches": self.batches,
            "counters": {k: int(v) for k, v in sorted(self.counters.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StageStats:
        return cls(
            rows_in=int(d.get("rows_in", 0)),
            rows_out=int(d.get("rows_out", 0)),
            dropped=Counter({str(k): int(v) for k, v in dict(d.get("dropped", {})).items()}),
            examples={str(k): list(v) for k, v in dict(d.get("examples", {})).items()},
            seconds=float(d.get("seconds", 0.0)),
            batches=int(d.get("batches", 0)),
            counters=Counter({str(k): int(v) for k, v in dict(d.get("counters") or {}).items()}),
        )


class Stage:
    """Base class of every per-batch curation step (see the module docstring)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {}
    reasons: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()
    install_hint: ClassVar[str] = "pip install 'wildchat[enrich]'"
    secret_keys: ClassVar[tuple[str, ...]] = ()
    count_keys: ClassVar[tuple[str, ...]] = ()
    process_dropped: ClassVar[bool] = False
    protects: ClassVar[str] = ""
    release_key_config: ClassVar[str] = ""
    card_counters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **config: Any) -> None:
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            raise StageConfigError(f"stage {self.name!r}: unknown config key(s) {unknown}")
        self.config: dict[str, Any] = {**dict(self.defaults), **config}
        self.stats = StageStats()
        self.context: RunContext | None = None
        self._ready = False

    # -- self-description ---------------------------------------------------

    @classmethod
    def needs_release_key(cls) -> bool:
        """Whether this stage takes the run's release key (see ``release_key_config``)."""
        return bool(cls.release_key_config)

    @classmethod
    def card_engines(cls, config: Mapping[str, Any]) -> str:
        """What ran, from the stage's public config, for the card ("" = nothing to say)."""
        return ""

    @classmethod
    def card_redaction(cls, config: Mapping[str, Any]) -> str:
        """Where a :data:`PII` stage redacts, completing "redacted by the `<name>` stage ..."."""
        return ""

    def bind(self, context: RunContext) -> None:
        """Give this stage the run's :class:`RunContext` (before it is shipped to workers)."""
        self.context = context

    def release_key(self) -> str:
        """The key this stage uses: its own config value, else the run's release key."""
        own = self.config.get(self.release_key_config) if self.release_key_config else None
        if own:
            return str(own)
        return self.context.release_key if self.context is not None else ""

    # -- lifecycle --------------------------------------------------------

    @classmethod
    def check_requirements(cls) -> None:
        """Raise :class:`StageConfigError` with an install hint if a dependency is missing."""
        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing:
            raise StageConfigError(f"stage {cls.name!r} needs {missing}: {cls.install_hint}")

    def setup(self) -> None:
        """Load heavy resources once per worker (override; keep it idempotent)."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def __getstate__(self) -> dict[str, Any]:
        # Ship config only: heavy state is rebuilt by setup() in the worker.
        return {"config": self.config, "stats": self.stats, "context": self.context}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self.stats = state["stats"]
        self.context = state.get("context")
        self._ready = False

    # -- transform --------------------------------------------------------

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Pure transform of kept rows; override.  Same rows, same order."""
        raise NotImplementedError

    def public_config(self) -> dict[str, Any]:
        """Config with ``secret_keys`` masked and ``count_keys`` counted, for the card and ``stats.json``."""

        def shown(k: str, v: Any) -> Any:
            if k == self.release_key_config and self.release_key():
                return "<secret>"
            if k in self.secret_keys and v:
                return "<secret>"
            if k in self.count_keys and v:
                return f"<{len(v)} values>" if isinstance(v, list | tuple | set) else "<set>"
            return v

        return {k: shown(k, v) for k, v in sorted(self.config.items())}

    @property
    def counters(self) -> Counter[str]:
        """Counters since the last :meth:`take_stats` (``self.stats.counters``)."""
        return self.stats.counters

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to counter ``key`` (zero adds nothing, so absent means zero)."""
        if n:
            self.stats.counters[key] += int(n)

    def take_stats(self) -> StageStats:
        """Return the stats counted so far and start a fresh count."""
        stats, self.stats = self.stats, StageStats()
        return stats

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Run :meth:`process` on the still-kept rows of ``batch`` and count."""
        self.ensure_setup()
        start = time.perf_counter()
        kept = kept_mask(batch)
        n_in = int(kept.sum())
        if n_in == len(batch) or (self.process_dropped and n_in):
            out = self._checked(batch)
        elif n_in == 0:
            out = batch
        else:  # called directly on a mixed batch: the pipeline hands kept rows only (run_stages)
            out = _merge_back(
                self._checked(batch.filter(pa.array(kept))), batch.filter(pa.array(~kept)), kept
            )
        self._count(out, kept, n_in)
        self.stats.seconds += time.perf_counter() - start
        self.stats.batches += 1
        return out

    def _checked(self, inp: pa.RecordBatch) -> pa.RecordBatch:
        if len(inp) == 0:
            return inp
        out = self.process(inp)
        if len(out) != len(inp):
            raise RuntimeError(f"stage {self.name!r} changed the row count ({len(inp)} -> {len(out)})")
        return out

    def _count(self, out: pa.RecordBatch, kept_before: np.ndarray, n_in: int) -> None:
        reasons = out.column("drop_reason").to_numpy(zero_copy_only=False)
        newly = kept_before & np.array([r is not None for r in reasons], dtype=bool)
        self.stats.rows_in += n_in
        self.stats.rows_out += n_in - int(newly.sum())
        if not newly.any():
            return
        ids = out.column("conversation_id").to_pylist()
        found: dict[str, list[str]] = {}
        for i in np.flatnonzero(newly):
            reason = str(reasons[i])
            self.stats.dropped[reason] += 1
            if ids[i] is not None:
                found.setdefault(reason, []).append(str(ids[i]))
        for reason, items in found.items():
            self.stats.examples[reason] = sorted({*self.stats.examples.get(reason, []), *items})[
                :MAX_DROP_EXAMPLES
            ]


def _merge_back(kept_out: pa.RecordBatch, dropped: pa.RecordBatch, kept: np.ndarray) -> pa.RecordBatch:
    """Interleave processed kept rows and untouched dropped rows back into input order."""
    schema = kept_out.schema
    cols = []
    for f in schema:
        idx = dropped.schema.get_field_index(f.name)
        col = dropped.column(idx) if idx >= 0 else pa.nulls(len(dropped), f.type)
        cols.append(col.cast(f.type) if col.type != f.type else col)
    dropped_aligned = pa.RecordBatch.from_arrays(cols, schema=schema)
    positions = np.concatenate([np.flatnonzero(kept), np.flatnonzero(~kept)])
    table = pa.Table.from_batches([kept_out, dropped_aligned], schema=schema)
    merged = table.take(pa.array(np.argsort(positions, kind="stable"))).combine_chunks()
    return merged.to_batches()[0]
