"""The global link step: which raw logs become conversations, and from what.

Input: the first-pass :class:`~wildchat.curate.link.scan.ScanChunk` of every unit,
in input order.  Everything here is vectorised numpy over 64-bit keys; no
message text is in memory.  Rules, applied in this order (each drop counted):

1. ``duplicate_request_id`` -- a ``request_id`` seen earlier in input order.
2. ``duplicate_log`` -- same session and same full content as an earlier log
   (by timestamp, then input order): counted once.
3. ``prefix_log`` -- the log's full exchange is a prefix of a longer log of
   the same session (its key is one of that log's inner boundary keys).
4. ``failed_retried`` -- ``finish_reason`` marks a failed/partial reply and a
   later log of the session has the same history: the retry wins.
5. Branches -- surviving logs of a session that share their first user
   message form a family.  ``keep``: each is a conversation; ``longest``:
   keep the one with most exchanges (then latest), drop others as
   ``branch_shorter``; ``drop``: drop every member of a family that branched
   (``branch``), for datasets that must hold only linear chats.

Each surviving log ends a conversation.  Exchange ``j`` of it takes its
timestamp, IP, headers and geo from the log whose full key equals the
conversation's boundary key ``j``; when that log is missing (a lost link) the
next exchange's log is used, and the gap is counted (``missing_links``).

Ids: plans carry the *internal* addresses (``conv_addr``, ``turn_keys``) and
the release's id key; :meth:`UnitPlan.release_ids` turns them into the
published, keyed ids (:func:`wildchat.curate.link.address.release_ids`) in the
worker that assembles the unit, so keying costs the main process nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from wildchat.curate.link.address import release_ids
from wildchat.curate.link.scan import ScanChunk
from wildchat.skips import MAX_EXAMPLES

__all__ = ["BRANCH_POLICIES", "LinkOptions", "LinkResult", "UnitPlan", "link"]

BRANCH_POLICIES = ("keep", "longest", "drop")
DEFAULT_FAILED = ("error", "timeout", "client_disconnect", "incomplete")  # incomplete: wildchat.collect


@dataclass(frozen=True)
class LinkOptions:
    branches: str = "keep"
    failed_finish_reasons: tuple[str, ...] = DEFAULT_FAILED

    def __post_init__(self) -> None:
        if self.branches not in BRANCH_POLICIES:
            raise ValueError(f"link.branches must be one of {BRANCH_POLICIES}, not {self.branches!r}")


@dataclass
class UnitPlan:
    """What the second pass builds from one unit: its conversation-ending logs."""

    unit: int
    pos: np.ndarray  # positions of the ending logs, input order
    n_exch: np.ndarray  # int32 per conversation
    conv_addr: list[bytes]  # internal 16-byte address per conversation (never published)
    turn_keys: np.ndarray  # uint64 internal boundary key per exchange (flat; never published)
    consent: np.ndarray  # int8 per conversation (worst over its logs)
    first_ts: np.ndarray  # int64 us per conversation
    meta: pa.Table  # one row per exchange: META_FIELDS + ts
    id_key: bytes | None = None  # ids_key() of the release; None only outside releases

    def release_ids(self) -> tuple[list[str], np.ndarray]:
        """``conversation_id`` per conversation and ``turn_identifier`` per exchange, as published."""
        return release_ids(self.id_key, self.conv_addr, self.turn_keys)


@dataclass
class LinkResult:
    logs: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    conversations: int = 0
    exchanges: int = 0
    missing_links: int = 0
    plans: dict[int, UnitPlan] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logs_in": self.logs,
            "conversations_out": self.conversations,
            "exchanges_out": self.exchanges,
            "dropped": dict(sorted(self.dropped.items())),
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
            "missing_links": self.missing_links,
        }


def _segments(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Flat indices of the ranges ``[starts[i], starts[i] + lens[i])``."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    seg_off = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return np.repeat(starts - seg_off, lens) + np.arange(total, dtype=np.int64)


def _first_in_order(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Of ``idx`` (already in priority order), the first index per distinct key."""
    _, first = np.unique(keys[idx], return_index=True)
    return np.asarray(idx[np.sort(first)])


def link(
    chunks: Sequence[ScanChunk],
    options: LinkOptions,
    sources: Sequence[str] = (),
    id_key: bytes | None = None,
) -> LinkResult:
    """Decide every log's fate; see the module docstring for the rules.

    ``id_key`` (:func:`wildchat.curate.link.address.ids_key` of the release key)
    goes into every plan; ``None`` leaves the ids unkeyed (not for releases).
    """
    res = LinkResult()
    cat = _concat(chunks)
    n = len(cat["pos"])
    res.logs = n
    if n == 0:
        return res
    order = np.lexsort((np.arange(n), cat["ts"]))  # by time, then input order
    reason = np.full(n, "", dtype=object)

    valid = np.zeros(n, dtype=bool)
    valid[_first_in_order(cat["rid"], np.arange(n))] = True
    reason[~valid] = "duplicate_request_id"

    rep = np.zeros(n, dtype=bool)
    rep[_first_in_order(cat["full"], order[valid[order]])] = True
    reason[valid & ~rep] = "duplicate_log"

    owner = np.repeat(np.arange(n), np.diff(cat["inner_off"]))
    prefix = rep & np.isin(cat["full"], cat["inner"][valid[owner]])
    reason[prefix] = "prefix_log"

    r = np.flatnonzero(rep)
    _, hist_id = np.unique(cat["hist"][r], return_inverse=True)
    o = r[np.lexsort((r, cat["ts"][r], hist_id))]
    same_next = cat["hist"][o][:-1] == cat["hist"][o][1:]
    retried = np.zeros(n, dtype=bool)
    retried[o[:-1][same_next & cat["failed"][o][:-1]]] = True
    retried &= rep & ~prefix
    reason[retried] = "failed_retried"

    cat["rep"] = rep
    terminal = rep & ~prefix & ~retried
    _branches(cat, terminal, reason, options.branches)
    terminal &= reason == ""

    for g in np.flatnonzero(reason != ""):
        why = str(reason[g])
        res.dropped[why] += 1
        bucket = res.examples.setdefault(why, [])
        if len(bucket) < MAX_EXAMPLES:
            u = int(cat["unit"][g])
            src = sources[u] if u < len(sources) else f"unit {u}"
            bucket.append(f"{src}:{int(cat['line'][g])}")
    _plan(cat, np.flatnonzero(terminal), res, id_key)
    return res


def _branches(cat: dict[str, Any], terminal: np.ndarray, reason: np.ndarray, policy: str) -> None:
    if policy == "keep":
        return
    t = np.flatnonzero(terminal)
    if len(t) == 0:
        return
    _, fam = np.unique(cat["first"][t], return_inverse=True)
    sizes = np.bincount(fam)
    multi = sizes[fam] > 1
    if policy == "drop":
        reason[t[multi]] = "branch"
        return
    # longest: most exchanges, then latest, then first in input order
    o = np.lexsort((t, -cat["ts"][t], -cat["n_exch"][t].astype(np.int64), fam))
    first_of_fam = np.ones(len(o), dtype=bool)
    first_of_fam[1:] = fam[o][1:] != fam[o][:-1]
    reason[t[o][~first_of_fam]] = "branch_shorter"


def _concat(chunks: Sequence[ScanChunk]) -> dict[str, Any]:
    keys = ("pos", "line", "full", "hist", "first", "rid", "full16", "n_exch", "ts", "consent", "failed")
    cat: dict[str, Any] = {}
    for k in keys:
        parts = [getattr(c, k) for c in chunks]
        cat[k] = np.concatenate(parts) if parts else np.zeros(0)
    cat["unit"] = np.concatenate([np.full(len(c), c.unit, dtype=np.int64) for c in chunks]) if chunks else []
    cat["inner"] = np.concatenate([c.inner for c in chunks]) if chunks else np.zeros(0, np.uint64)
    sizes = np.concatenate([np.diff(c.inner_off) for c in chunks]) if chunks else np.zeros(0, np.int64)
    cat["inner_off"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    metas = [c.meta for c in chunks if c.meta.num_rows]
    cat["meta"] = pa.concat_tables(metas) if metas else None
    return cat


def _plan(cat: dict[str, Any], t: np.ndarray, res: LinkResult, id_key: bytes | None) -> None:
    """Boundary keys and exchange metadata of every conversation-ending log."""
    n_ex = cat["n_exch"][t].astype(np.int64)
    out_off = np.concatenate([[0], np.cumsum(n_ex)])
    bkeys = np.empty(int(out_off[-1]), dtype=np.uint64)
    last = out_off[1:] - 1
    inner_pos = np.ones(len(bkeys), dtype=bool)
    inner_pos[last] = False
    bkeys[inner_pos] = cat["inner"][_segments(cat["inner_off"][t], n_ex - 1)]
    bkeys[last] = cat["full"][t]

    reps = np.flatnonzero(cat["rep"])
    sk_order = np.argsort(cat["full"][reps], kind="stable")
    sk = cat["full"][reps][sk_order]
    at = np.minimum(np.searchsorted(sk, bkeys), max(len(sk) - 1, 0))
    found = sk[at] == bkeys if len(sk) else np.zeros(len(bkeys), dtype=bool)
    src = np.where(found, reps[sk_order][at], -1)
    src[last] = t  # a conversation's last exchange is its own log
    res.missing_links = int((src < 0).sum())
    idx = np.where(src >= 0, np.arange(len(src)), len(src))
    nearest = np.minimum.accumulate(idx[::-1])[::-1]
    src = src[nearest]

    consent = np.maximum.reduceat(cat["consent"][src], out_off[:-1]) if len(t) else np.zeros(0, np.int8)
    first_ts = np.minimum.reduceat(cat["ts"][src], out_off[:-1]) if len(t) else np.zeros(0, np.int64)
    res.conversations, res.exchanges = len(t), len(bkeys)
    res.plans = {}
    units = cat["unit"][t]
    for u in np.unique(units):
        sel = np.flatnonzero(units == u)
        ex = _segments(out_off[sel], n_ex[sel])
        meta = cat["meta"].take(pa.array(src[ex])).append_column("ts", pa.array(cat["ts"][src[ex]]))
        res.plans[int(u)] = UnitPlan(
            unit=int(u),
            pos=cat["pos"][t[sel]],
            n_exch=n_ex[sel].astype(np.int32),
            conv_addr=cat["full16"][t[sel]].tolist(),
            turn_keys=bkeys[ex],
            consent=consent[sel].astype(np.int8),
            first_ts=first_ts[sel],
            meta=meta,
            id_key=id_key,
        )
