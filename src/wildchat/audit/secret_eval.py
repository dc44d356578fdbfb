"""How well the secret detector does: planted-key recall and real-text touch rate.

``python -m wildchat.audit.secret_eval [SHARED_DATA]`` (default ``$WILDCHAT_SHARED_DATA``,
else ``../shared/data`` beside the checkout) prints both figures
of docs/quality.md ("Secrets"):

* **recall**: 40 realistic requests per credential format
  (:mod:`wildchat.audit.planted`) go through the full redactor under both
  policies (``wildchat`` and ``strict``; NER off, it cannot affect secrets);
  a key counts as removed when no 10-character piece of it survives;
* **touch rate**: the share of ordinary turns from public chat datasets
  (WildChat first turns and replies, LMSYS-Chat-1M, ShareGPT, ToxicChat) in
  which :func:`~wildchat.enrich.pii.secrets.find_secrets` finds anything.
  Some of those are real credentials people pasted (which is the point);
  the per-format counts say which.

Exit status 1 when a planted key survives or the touch rate exceeds 0.1 %.
Prints counts only, never a matched value.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wildchat.audit.planted import FORMATS, planted, survives

__all__ = ["TouchRate", "planted_recall", "real_turns", "touch_rate"]

MAX_TOUCH_RATE = 0.001


def planted_recall(n: int = 40) -> dict[str, dict[str, int]]:
    """``{format: {"planted": n, "wildchat": removed, "strict": removed}}``."""
    from wildchat.enrich.pii import Redactor, pii_config

    redactors = {p: Redactor(pii_config(p, ner=False)) for p in ("wildchat", "strict")}
    table: dict[str, dict[str, int]] = {}
    for kind in FORMATS:
        samples = planted(kind, n)
        row = {"planted": len(samples)}
        for policy, red in redactors.items():
            outs = red.redact_many([s.text for s in samples])
            row[policy] = sum(not survives(s.value, o.text) for s, o in zip(samples, outs, strict=True))
        table[kind] = row
    return table


def _wildchat(path: Path) -> Iterator[str]:
    import pyarrow.parquet as pq

    for col in ("prompt", "response"):
        yield from (t for t in pq.read_table(path, columns=[col]).column(col).to_pylist() if t)


def _lmsys(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield from (t["content"] for t in json.loads(line)["conversation"] if t.get("content"))


def _sharegpt(path: Path) -> Iterator[str]:
    for conv in json.loads(path.read_text(encoding="utf-8")):
        yield from (t["value"] for t in conv["conversations"] if t.get("value"))


def _toxicchat(path: Path) -> Iterator[str]:
    yield from (
        r["instance"] for r in json.loads(path.read_text(encoding="utf-8"))["instances"] if r["instance"]
    )


_SOURCES = {
    "wildchat_firstturn": ("wildchat_firstturn/wildchat_clean_1335rows.parquet", _wildchat),
    "lmsys": ("lmsys_chat_1m_sample191/lmsys_1000.jsonl", _lmsys),
    "sharegpt": ("sharegpt_v3_sample/sharegpt_v3_sample800.json", _sharegpt),
    "toxicchat": ("toxicchat/toxic_chat_train.json", _toxicchat),
}


def real_turns(shared: Path) -> dict[str, list[str]]:
    """Every non-empty turn of each public sample, by source."""
    return {name: list(read(shared / rel)) for name, (rel, read) in _SOURCES.items()}


@dataclass
class TouchRate:
    """Turns in which the detector found something, per source and per format."""

    turns: Counter[str]
    touched: Counter[str]
    formats: Counter[str]

    @property
    def rate(self) -> float:
        return sum(self.touched.values()) / max(sum(self.turns.values()), 1)


def touch_rate(shared: Path) -> TouchRate:
    from wildchat.enrich.pii.secrets import find_secrets

    turns: Counter[str] = Counter()
    touched: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    for source, texts in real_turns(shared).items():
        for text in texts:
            turns[source] += 1
            spans = find_secrets(text)
            if spans:
                touched[source] += 1
                formats.update({s.source for s in spans})
    return TouchRate(turns, touched, formats)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    default = os.environ.get("WILDCHAT_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data")
    shared = Path(args[0]) if args else Path(default)
    table = planted_recall()
    print(f"{'format':22} {'planted':>7} {'wildchat':>9} {'strict':>7}")
    missed = 0
    for kind, row in table.items():
        missed += 2 * row["planted"] - row["wildchat"] - row["strict"]
        print(f"{kind:22} {row['planted']:7d} {row['wildchat']:9d} {row['strict']:7d}")
    n = 2 * sum(r["planted"] for r in table.values())
    print(f"planted keys removed: {n - missed}/{n} ({100 * (n - missed) / n:.1f}%), {len(table)} formats")
    tr = touch_rate(shared)
    for source in tr.turns:
        print(f"{source:22} turns {tr.turns[source]:6d}  touched {tr.touched[source]:3d}")
    print(
        f"ordinary turns touched: {sum(tr.touched.values())}/{sum(tr.turns.values())} ({100 * tr.rate:.3f}%)"
    )
    print("touched by format: " + ", ".join(f"{k} {v}" for k, v in tr.formats.most_common()))
    return 0 if missed == 0 and tr.rate <= MAX_TOUCH_RATE else 1


if __name__ == "__main__":
    raise SystemExit(main())
