"""Role order: user/assistant alternation after an optional leading system message."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import set_column, tag, turn_offsets

__all__ = ["RolesStage", "roles_ok"]


def roles_ok(roles: list[str]) -> bool:
    """``[system] user assistant (user assistant)*`` -- what WildChat released."""
    start = 1 if roles and roles[0] == "system" else 0
    body = roles[start:]
    if not body or len(body) % 2:
        return False
    return all(r == ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(body))


def _merge_plan(roles: list[str], lo: int) -> list[list[int]]:
    """Groups of consecutive same-role turns (flat indices), in order."""
    groups: list[list[int]] = []
    for k, role in enumerate(roles):
        if groups and roles[groups[-1][-1] - lo] == role:
            groups[-1].append(lo + k)
        else:
            groups.append([lo + k])
    return groups


@register_stage
class RolesStage(Stage):
    """Non-alternating roles: ``drop`` the conversation (WildChat) or ``repair`` it.

    Repair merges each run of consecutive same-role turns into its first turn
    (contents joined with ``joiner``; other fields of the first turn kept) and
    recounts ``turn``; a conversation still out of order after merging (a
    system message in the middle, an assistant speaking first) is dropped.
    """

    name = "roles"
    process_dropped = True
    description = (
        "roles must alternate user/assistant after an optional system message: drop or repair (bad_roles)"
    )
    defaults: ClassVar[dict[str, Any]] = {"mode": "drop", "joiner": "\n\n"}
    reasons = ("bad_roles",)

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        if self.config["mode"] not in ("drop", "repair"):
            raise StageConfigError(f"roles.mode must be 'drop' or 'repair', not {self.config['mode']!r}")

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        conv = batch.column("conversation")
        flat = conv.flatten()
        roles = flat.field("role").to_pylist()
        off = turn_offsets(batch).tolist()
        bad = np.array([not roles_ok(roles[off[i] : off[i + 1]]) for i in range(len(batch))], dtype=bool)
        if not bad.any():
            return batch
        if self.config["mode"] == "drop":
            return tag(batch, bad, "bad_roles")
        contents = flat.field("content").to_pylist()
        take: list[int] = []
        merged: list[str] = []
        new_off = [0]
        still_bad = np.zeros(len(batch), dtype=bool)
        for i in range(len(batch)):
            groups = _merge_plan(roles[off[i] : off[i + 1]], off[i])
            for g in groups:
                take.append(g[0])
                merged.append(self.config["joiner"].join(contents[k] for k in g))
            new_off.append(len(take))
            still_bad[i] = not roles_ok([roles[g[0]] for g in groups])
        idx = pa.array(take, pa.int64())
        turns = flat.take(idx)
        children = [
            pa.array(merged, pa.string()) if f.name == "content" else turns.field(f.name) for f in turns.type
        ]
        turns = pa.StructArray.from_arrays(children, fields=list(turns.type))
        offsets = pa.array(np.asarray(new_off, dtype=np.int32))
        batch = set_column(batch, "conversation", pa.ListArray.from_arrays(offsets, turns, type=conv.type))
        ips = batch.column("_ip").flatten().take(idx)
        batch = set_column(batch, "_ip", pa.ListArray.from_arrays(offsets, ips))
        new_roles = [roles[k] for k in take]
        turn_counts = [
            sum(1 for r in new_roles[new_off[i] : new_off[i + 1]] if r == "assistant")
            for i in range(len(batch))
        ]
        batch = set_column(batch, "turn", pa.array(turn_counts, pa.int64()))
        return tag(batch, still_bad, "bad_roles")
