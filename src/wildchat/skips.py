"""Counting what was read, kept and skipped -- and why.

Bad input never crashes a run and is never dropped silently: every reader,
writer and pipeline stage reports each skip here with a short reason code, and
the first few examples of each reason keep their ``file:line`` so a user can
find them.  Messages must not contain record content (it may hold PII): say
which field is wrong and how, not what it contains.

Reports add up (:meth:`SkipReport.merge`), so parallel workers each keep their
own and the parent sums them.
"""

from __future__ import annotations

from collections import Counter
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

    def skip(self, reason: str, message: str, source: str | None = None, line: int | None = None) -> None:
        """Count one skipped record under ``reason`` and keep an example."""
        self.skipped[reason] += 1
        where = source or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < MAX_EXAMPLES:
            bucket.append(f"{where}: {message}")

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def merge(self, other: SkipReport) -> SkipReport:
        """Add ``other`` into this report (in place) and return self."""
        self.read += other.read
        self.written += other.written
        self.skipped.update(other.skipped)
        for reason, items in other.examples.items():
            bucket = self.examples.setdefault(reason, [])
            bucket.extend(items[: MAX_EXAMPLES - len(bucket)])
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "written": self.written,
            "skipped": self.n_skipped,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
        }

    def summary(self) -> str:
        """A few human lines: read / written / skipped, then each reason."""
        lines = [f"read {self.read}, wrote {self.written}, skipped {self.n_skipped}"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  {reason}: {n}")
            lines.extend(f"    e.g. {ex}" for ex in self.examples.get(reason, [])[:2])
        return "\n".join(lines)
