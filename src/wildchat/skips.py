"""Counting what was read, kept and skipped -- and why.

Bad input never crashes a run and is never dropped silently: every reader,
writer and pipeline stage reports each skip here with a short reason code, and
the first few examples of each reason keep their ``file:line`` so a user can
find them.  Messages must not contain record content (it may hold PII): say
which field is wrong and how, not what it contains.

A *repair* is input that was fixed and kept rather than skipped (e.g. a
ShareGPT fragment whose leading assistant message was dropped); repairs are
counted by reason in ``repaired`` with their own examples, and are not skips.

Reports add up (:meth:`SkipReport.merge`), so parallel workers each keep their
own and the parent sums them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_EXAMPLES = 5


@dataclass
class SkipReport:
    """Counts of records read, written and skipped by reason, with examples."""

    read: int = 0
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    repaired: Counter[str] = field(default_factory=Counter)
    repair_examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, message: str, source: str | None = None, line: int | None = None) -> None:
        """Count one skipped record under ``reason`` and keep an example."""
        self.skipped[reason] += 1
        _example(self.examples, reason, message, source, line)

    def count(self, reason: str, n: int, message: str, source: str | None = None) -> None:
        """Count ``n`` records skipped together under ``reason``, with one example.

        For steps that learn how many records a rule dropped only after the
        fact (e.g. logs merged away by linking): one call, one example line
        ``source: message`` (the message should say how many).  ``n <= 0``
        counts nothing and keeps no example.
        """
        if n <= 0:
            return
        self.skipped[reason] += n
        _example(self.examples, reason, message, source, None)

    def repair(self, reason: str, message: str, source: str | None = None, line: int | None = None) -> None:
        """Count one record that was repaired and kept (not skipped) under ``reason``."""
        self.repaired[reason] += 1
        _example(self.repair_examples, reason, message, source, line)

    @property
    def n_repaired(self) -> int:
        return sum(self.repaired.values())

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def merge(self, other: SkipReport) -> SkipReport:
        """Add ``other`` into this report (in place) and return self."""
        self.read += other.read
        self.written += other.written
        self.skipped.update(other.skipped)
        self.repaired.update(other.repaired)
        for mine, theirs in ((self.examples, other.examples), (self.repair_examples, other.repair_examples)):
            for reason, items in theirs.items():
                bucket = mine.setdefault(reason, [])
                bucket.extend(items[: MAX_EXAMPLES - len(bucket)])
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and examples; :meth:`from_dict` reads it back."""
        return {
            "read": self.read,
            "written": self.written,
            "skipped": self.n_skipped,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
            "repaired": self.n_repaired,
            "repaired_by_reason": dict(sorted(self.repaired.items())),
            "repair_examples": {k: list(v) for k, v in sorted(self.repair_examples.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkipReport:
        """The report :meth:`to_dict` wrote (missing keys read as empty).

        Totals (``skipped``, ``repaired``) are derived from the per-reason
        counts, so a round trip gives an equal report.
        """
        return cls(
            read=int(data.get("read", 0)),
            written=int(data.get("written", 0)),
            skipped=Counter({str(k): int(v) for k, v in (data.get("skipped_by_reason") or {}).items()}),
            examples={str(k): list(v) for k, v in (data.get("examples") or {}).items()},
            repaired=Counter({str(k): int(v) for k, v in (data.get("repaired_by_reason") or {}).items()}),
            repair_examples={str(k): list(v) for k, v in (data.get("repair_examples") or {}).items()},
        )

    def summary(self) -> str:
        """A few human lines: read / written / skipped, then each reason (repairs only if any)."""
        lines = [f"read {self.read}, wrote {self.written}, skipped {self.n_skipped}"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  {reason}: {n}")
            lines.extend(f"    e.g. {ex}" for ex in self.examples.get(reason, [])[:2])
        if self.repaired:
            lines.append(f"repaired {self.n_repaired} (kept)")
            for reason, n in self.repaired.most_common():
                lines.append(f"  {reason}: {n}")
                lines.extend(f"    e.g. {ex}" for ex in self.repair_examples.get(reason, [])[:2])
        return "\n".join(lines)


def _example(
    examples: dict[str, list[str]], reason: str, message: str, source: str | None, line: int | None
) -> None:
    """Keep up to :data:`MAX_EXAMPLES` ``file:line: message`` examples per reason."""
    where = source or "<input>"
    if line is not None:
        where = f"{where}:{line}"
    bucket = examples.setdefault(reason, [])
    if len(bucket) < MAX_EXAMPLES:
        bucket.append(f"{where}: {message}")
