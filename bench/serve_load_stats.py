"""Pure figures for ``bench/serve_load.py``: percentiles, throughput, and the turn-by-turn check.

Nothing here does I/O, so the numbers in docs/benchmarks.md come from functions that can be
read (and tested) on their own.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, NamedTuple

from serve_load_client import Result


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


class Stored(NamedTuple):
    """One stored user turn of this run, joined with its assistant turn(s)."""

    marker: str
    assistant_id: int | None
    finish_reason: str | None
    reply_words: int


def verify(results: list[Result], rows: list[Stored], tokens: int) -> dict[str, Any]:
    """Match every accepted request to its stored turns (pure; see module doc).

    A reply stored as ``stop`` must hold all ``tokens`` words; hang-ups stored as ``stop`` are
    ones the server had finished sending before it saw the client go.
    """
    users = Counter(r.marker for r in rows)
    replies: dict[str, list[str | None]] = {}
    words: dict[str, list[int]] = {}
    for row in rows:
        if row.assistant_id is not None:
            replies.setdefault(row.marker, []).append(row.finish_reason)
            words.setdefault(str(row.finish_reason), []).append(row.reply_words)
    accepted = [r for r in results if r.status == 200]
    lost = [r.marker for r in accepted if users[r.marker] != 1 or len(replies.get(r.marker, [])) != 1]
    mismatch = [
        r.marker
        for r in accepted
        if r.outcome not in ("disconnect",) and replies.get(r.marker, [None])[0] != r.outcome
    ]
    refused = {r.marker for r in results if r.status != 200}
    return {
        "sent": len(results),
        "accepted": len(accepted),
        "stored_user_turns": sum(users.values()),
        "stored_assistant_turns": sum(len(v) for v in replies.values()),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "finish_reason_mismatch": len(mismatch),
        "stored_but_refused": sum(1 for m in refused if users[m]),
        "client_outcomes": dict(Counter(r.outcome for r in results)),
        "db_finish_reasons": dict(Counter(reason for v in replies.values() for reason in v)),
        "db_reasons_of_hangups": dict(
            Counter(replies.get(r.marker, [None])[0] for r in accepted if r.outcome == "disconnect")
        ),
        "reply_words_min_max": {k: [min(v), max(v)] for k, v in words.items()},
        "stop_incomplete": sum(1 for n in words.get("stop", []) if n != tokens),
    }


def summarize(results: list[Result], wall_s: float, delay_ms: float) -> dict[str, Any]:
    """Throughput and latency figures (pure)."""
    firsts = [r.first_delta_s * 1000 for r in results if r.first_delta_s is not None and r.status == 200]
    added = [f - delay_ms for f in firsts]
    heads = [r.headers_s * 1000 for r in results if r.headers_s is not None and r.status == 200]
    accepted = sum(1 for r in results if r.status == 200)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "wall_s": round(wall_s, 2),
        "logged_turns_per_s": round(accepted / wall_s, 1) if wall_s else None,
        "headers_ms": {"p50": ms(percentile(heads, 50)), "p99": ms(percentile(heads, 99))},
        "first_byte_ms": {"p50": ms(percentile(firsts, 50)), "p99": ms(percentile(firsts, 99))},
        "added_ms": {"p50": ms(percentile(added, 50)), "p99": ms(percentile(added, 99))},
    }
