"""Second pass: conversation-ending logs + link plan -> a pipeline record batch.

Pure: takes the texts of the conversation-ending logs of one unit (read back
by position) and the unit's :class:`~wildchat.curate.link.linkplan.UnitPlan`, and
builds columns directly (no per-row dataclasses).  Turn fields follow
WildChat: user turns carry ``country``/``state``/``hashed_ip``/``header`` of
the request that sent them, assistant turns the ``timestamp`` of the reply;
both turns of an exchange share its ``turn_identifier``.  ``conversation_id``
and ``turn_identifier`` are the release's keyed ids (:meth:`UnitPlan.release_ids`),
never the internal content addresses.  A leading system
message becomes a ``system`` turn of the first exchange.  Conversation-level
``hashed_ip``/``country``/``state``/``header`` are the most frequent over the
user turns (ties: the earliest).  ``conversation_hash`` is left null: the
writer computes it after every stage, because redaction changes the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from wildchat.curate.link.linkplan import UnitPlan
from wildchat.curate.link.scan import CONSENT_AFTER, CONSENT_MISSING
from wildchat.curate.stages.batch import pipeline_schema
from wildchat.schema import RawLog

__all__ = ["CONSENT_NAMES", "LogText", "assemble", "log_text", "most_frequent"]

CONSENT_NAMES = {0: "ok", CONSENT_MISSING: "missing", CONSENT_AFTER: "after_log"}
LogText = tuple[list[str], list[str], str]


def log_text(record: Mapping[str, Any] | RawLog) -> LogText:
    """``(roles, contents, reply)`` of an already validated log (dict or :class:`RawLog`)."""
    if isinstance(record, RawLog):
        return [m.role for m in record.messages], [m.content for m in record.messages], record.response
    msgs = record["messages"]
    return [m["role"] for m in msgs], [m["content"] for m in msgs], record.get("response") or ""


def most_frequent(values: Sequence[Any]) -> Any:
    """Most frequent non-null value (ties: the earliest); fast when all agree."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    if vals.count(vals[0]) == len(vals):
        return vals[0]
    return Counter(vals).most_common(1)[0][0]


@dataclass
class _Turns:
    """Every turn of a unit's conversations, flattened, with the exchange row each belongs to."""

    content: list[str] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    tid: list[int] = field(default_factory=list)
    ts: list[int | None] = field(default_factory=list)
    user: list[bool] = field(default_factory=list)
    ex: list[int] = field(default_factory=list)  # exchange row in plan.meta
    offsets: list[int] = field(default_factory=lambda: [0])

    def add(self, content: str, role: str, row: int, tids: list[int], ts: int | None) -> None:
        self.content.append(content)
        self.role.append(role)
        self.tid.append(tids[row])
        self.ts.append(ts)
        self.user.append(role == "user")
        self.ex.append(row)


def _flatten(plan: UnitPlan, texts: Sequence[LogText], tids: list[int], ts_list: list[int]) -> _Turns:
    """Turns in order: each message of the conversation-ending log, then its reply."""
    t = _Turns()
    ex0 = 0
    for (roles, contents, reply), n_ex in zip(texts, plan.n_exch.tolist(), strict=True):
        e = 0
        for role, content in zip(roles, contents, strict=True):
            row = ex0 + min(e, n_ex - 1)
            if role == "assistant":
                t.add(content, role, row, tids, ts_list[row])
                e += 1
            else:
                t.add(content, role, row, tids, None)
        row = ex0 + n_ex - 1
        t.add(reply, "assistant", row, tids, ts_list[row])
        t.offsets.append(len(t.content))
        ex0 += n_ex
    return t


def _user_fields(t: _Turns, m: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Request fields carried by user turns only (``None`` on the others)."""
    names = ("country", "state", "hashed_ip", "user_agent", "accept_language", "ip")
    return {name: [m[name][r] if u else None for r, u in zip(t.ex, t.user, strict=True)] for name in names}


def _conversation_column(t: _Turns, u: dict[str, list[Any]], schema: pa.Schema) -> tuple[pa.Array, pa.Array]:
    """The ``conversation`` list-of-turns column and the in-memory ``_ip`` list column."""
    conv_type = schema.field("conversation").type
    turn_type = conv_type.value_type
    header_type = turn_type.field("header").type
    built = {
        "content": pa.array(t.content, pa.string()),
        "role": pa.array(t.role, pa.string()),
        "turn_identifier": pa.array(t.tid, pa.int64()),
        "timestamp": pa.array(t.ts, turn_type.field("timestamp").type),
        "country": pa.array(u["country"], pa.string()),
        "state": pa.array(u["state"], pa.string()),
        "hashed_ip": pa.array(u["hashed_ip"], pa.string()),
        "header": pa.StructArray.from_arrays(
            [pa.array(u["accept_language"], pa.string()), pa.array(u["user_agent"], pa.string())],
            fields=list(header_type),
            mask=pa.array(~np.asarray(t.user, dtype=bool)),
        ),
    }
    children = [built.get(f.name, pa.nulls(len(t.content), f.type)) for f in turn_type]
    turns = pa.StructArray.from_arrays(children, fields=list(turn_type))
    off = pa.array(np.asarray(t.offsets, dtype=np.int32))
    return pa.ListArray.from_arrays(off, turns, type=conv_type), pa.ListArray.from_arrays(
        off, pa.array(u["ip"], pa.string())
    )


def _session_fields(t: _Turns, u: dict[str, list[Any]], n: int) -> dict[str, list[Any]]:
    """Conversation-level country, state, hashed_ip and header: the most frequent over user turns."""
    out: dict[str, list[Any]] = {"country": [], "state": [], "hashed_ip": [], "header": []}
    for i in range(n):
        lo, hi = t.offsets[i], t.offsets[i + 1]
        for name in ("country", "state", "hashed_ip"):
            out[name].append(most_frequent(u[name][lo:hi]))
        pairs = [
            (al, ua)
            for al, ua, is_user in zip(
                u["accept_language"][lo:hi], u["user_agent"][lo:hi], t.user[lo:hi], strict=True
            )
            if is_user
        ]
        best = most_frequent(pairs)
        out["header"].append(None if best is None else {"accept-language": best[0], "user-agent": best[1]})
    return out


def assemble(plan: UnitPlan, texts: Sequence[LogText]) -> pa.RecordBatch:
    """One pipeline batch (schema :func:`~wildchat.curate.stages.batch.pipeline_schema`) for a unit."""
    schema = pipeline_schema()
    m = {name: plan.meta.column(name).to_pylist() for name in plan.meta.column_names}
    ts_list: list[int] = m["ts"]
    conv_ids, tid_arr = plan.release_ids()
    turns = _flatten(plan, texts, tid_arr.tolist(), ts_list)
    user = _user_fields(turns, m)
    conversation, ip_list = _conversation_column(turns, user, schema)
    n = len(texts)
    conv = _session_fields(turns, user, n)
    last = (np.cumsum(plan.n_exch.astype(np.int64)) - 1).tolist()
    values: dict[str, Any] = {
        "model": pa.array([m["model"][r] for r in last], pa.string()),
        "timestamp": pa.array([ts_list[r] for r in last], schema.field("timestamp").type),
        "conversation": conversation,
        "turn": pa.array(plan.n_exch.astype(np.int64)),
        "state": pa.array(conv["state"], pa.string()),
        "country": pa.array(conv["country"], pa.string()),
        "hashed_ip": pa.array(conv["hashed_ip"], pa.string()),
        "header": pa.array(conv["header"], schema.field("header").type),
        "conversation_id": pa.array(conv_ids, pa.string()),
        "_ip": ip_list,
        "_source_conversation_id": pa.array([m["conversation_id"][r] for r in last], pa.string()),
        "_consent": pa.array([CONSENT_NAMES[int(c)] for c in plan.consent], pa.string()),
        "_first_timestamp": pa.array(plan.first_ts, schema.field("_first_timestamp").type),
        "_shard": pa.array(np.full(n, plan.unit, dtype=np.int32)),
        "_row": pa.array(np.arange(n, dtype=np.int64)),
    }
    arrays = [values.get(f.name, pa.nulls(n, f.type)) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
