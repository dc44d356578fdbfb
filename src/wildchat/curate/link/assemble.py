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
from typing import Any

import numpy as np
import pyarrow as pa

from wildchat.curate.stages.batch import pipeline_schema
from wildchat.curate.link.linkplan import UnitPlan
from wildchat.curate.link.scan import CONSENT_AFTER, CONSENT_MISSING
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


def assemble(plan: UnitPlan, texts: Sequence[LogText]) -> pa.RecordBatch:
    """One pipeline batch (schema :func:`~wildchat.curate.stages.batch.pipeline_schema`) for a unit."""
    schema = pipeline_schema()
    m = {name: plan.meta.column(name).to_pylist() for name in plan.meta.column_names}
    ts_list: list[int] = m["ts"]
    conv_ids, tid_arr = plan.release_ids()
    tids: list[int] = tid_arr.tolist()
    t_content: list[str] = []
    t_role: list[str] = []
    t_tid: list[int] = []
    t_ts: list[int | None] = []
    t_user: list[bool] = []
    t_ex: list[int] = []  # exchange row in plan.meta
    offsets = [0]
    ex0 = 0
    for (roles, contents, reply), n_ex in zip(texts, plan.n_exch.tolist(), strict=True):
        e = 0
        for role, content in zip(roles, contents, strict=True):
            row = ex0 + min(e, n_ex - 1)
            t_content.append(content)
            t_role.append(role)
            t_tid.append(tids[row])
            t_user.append(role == "user")
            t_ex.append(row)
            if role == "assistant":
                t_ts.append(ts_list[row])
                e += 1
            else:
                t_ts.append(None)
        row = ex0 + n_ex - 1
        t_content.append(reply)
        t_role.append("assistant")
        t_tid.append(tids[row])
        t_ts.append(ts_list[row])
        t_user.append(False)
        t_ex.append(row)
        offsets.append(len(t_content))
        ex0 += n_ex

    user = np.asarray(t_user, dtype=bool)
    ex = np.asarray(t_ex, dtype=np.int64)

    def user_field(name: str) -> list[Any]:
        col = m[name]
        return [col[r] if u else None for r, u in zip(t_ex, t_user, strict=True)]

    u_country, u_state, u_hip = user_field("country"), user_field("state"), user_field("hashed_ip")
    u_ua, u_al, u_ip = user_field("user_agent"), user_field("accept_language"), user_field("ip")
    conv_type = schema.field("conversation").type
    turn_type = conv_type.value_type
    header_type = turn_type.field("header").type
    n_turns = len(t_content)
    built = {
        "content": pa.array(t_content, pa.string()),
        "role": pa.array(t_role, pa.string()),
        "turn_identifier": pa.array(t_tid, pa.int64()),
        "timestamp": pa.array(t_ts, turn_type.field("timestamp").type),
        "country": pa.array(u_country, pa.string()),
        "state": pa.array(u_state, pa.string()),
        "hashed_ip": pa.array(u_hip, pa.string()),
        "header": pa.StructArray.from_arrays(
            [pa.array(u_al, pa.string()), pa.array(u_ua, pa.string())],
            fields=list(header_type),
            mask=pa.array(~user),
        ),
    }
    children = [built.get(f.name, pa.nulls(n_turns, f.type)) for f in turn_type]
    turns = pa.StructArray.from_arrays(children, fields=list(turn_type))
    off = pa.array(np.asarray(offsets, dtype=np.int32))
    conversation = pa.ListArray.from_arrays(off, turns, type=conv_type)
    ip_list = pa.ListArray.from_arrays(off, pa.array(u_ip, pa.string()))
    del ex

    n = len(texts)
    conv_country, conv_state, conv_hip, conv_header = [], [], [], []
    for i in range(n):
        lo, hi = offsets[i], offsets[i + 1]
        conv_country.append(most_frequent(u_country[lo:hi]))
        conv_state.append(most_frequent(u_state[lo:hi]))
        conv_hip.append(most_frequent(u_hip[lo:hi]))
        pairs = [(al, ua) for al, ua, u in zip(u_al[lo:hi], u_ua[lo:hi], t_user[lo:hi], strict=True) if u]
        best = most_frequent(pairs)
        conv_header.append(None if best is None else {"accept-language": best[0], "user-agent": best[1]})
    last = (np.cumsum(plan.n_exch.astype(np.int64)) - 1).tolist()
    values: dict[str, Any] = {
        "model": pa.array([m["model"][r] for r in last], pa.string()),
        "timestamp": pa.array([ts_list[r] for r in last], schema.field("timestamp").type),
        "conversation": conversation,
        "turn": pa.array(plan.n_exch.astype(np.int64)),
        "state": pa.array(conv_state, pa.string()),
        "country": pa.array(conv_country, pa.string()),
        "hashed_ip": pa.array(conv_hip, pa.string()),
        "header": pa.array(conv_header, schema.field("header").type),
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
