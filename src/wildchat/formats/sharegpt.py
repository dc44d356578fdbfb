"""ShareGPT: ``[{id, conversations: [{from, value}]}]`` (JSON array, or one record per JSONL line).

Roles: ``human``/``user`` -> user; ``gpt``/``chatgpt``/``bing``/``bard``/
``assistant`` -> assistant; ``system`` -> system (case-insensitive); others
are ``bad_role`` skips.

Chunk joining.  Long ShareGPT conversations were split into records
``<base>_<k>`` (k = 0, 1, 2 ...).  A *run* is a maximal sequence of
**consecutive** records with the same ``<base>`` whose ``k`` increase by
exactly 1; each run becomes one conversation with the chunks' messages
concatenated in order.  Its ``conversation_id`` is ``<base>`` when the run
starts at ``k = 0`` and ``<base>_<k0>`` otherwise (a fragment whose start is
missing), so ids stay unique.  Only the current run is held in memory.  A
record that fails validation is skipped and ends the run.  Ids without a
``_<digits>`` suffix are never joined.  The joined conversation must then
follow the role rule of :mod:`wildchat.formats._build` (starts with the user,
alternates, ends with the assistant), else it is one
``non_alternating_roles`` skip reported at its first record.

Leading assistant messages.  A run that starts with one or more assistant
messages (typically a fragment ``k > 0`` whose question sits in an absent
earlier chunk -- about a third of the public v3 sample) has those messages
dropped, as FastChat's own cleaning does; if the rest follows the role rule it
is kept and counted as a ``dropped_leading_assistant`` *repair* (not a skip).
If nothing valid remains it is a ``missing_earlier_chunk`` skip when ``k > 0``,
else the skip the conversation as written would have had.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.formats._build import make_conversation, req_dict
from wildchat.formats._io import iter_records
from wildchat.formats._messages import turns_from_messages
from wildchat.formats.hashing import derived_id
from wildchat.schema import Conversation, RecordError, Turn
from wildchat.skips import SkipReport

__all__ = ["read", "split_id"]

_CHUNK = re.compile(r"^(.+)_(\d+)$")


def split_id(record_id: str) -> tuple[str, int | None]:
    """``"abc_3"`` -> ``("abc", 3)``; ``"abc"`` -> ``("abc", None)``."""
    m = _CHUNK.match(record_id)
    return (m.group(1), int(m.group(2))) if m else (record_id, None)


@dataclass
class _Run:
    base: str
    first_k: int | None
    last_k: int | None
    pos: int
    turns: list[Turn] = field(default_factory=list)

    def continues(self, base: str, k: int | None) -> bool:
        return k is not None and self.last_k is not None and base == self.base and k == self.last_k + 1

    def conversation_id(self) -> str:
        return self.base if self.first_k in (None, 0) else f"{self.base}_{self.first_k}"


def _parse(obj: Any, pos: int, path: Path) -> tuple[str, int | None, list[Turn]]:
    obj = req_dict(obj)
    rid = obj.get("id")
    if rid is not None and not isinstance(rid, str | int):
        raise RecordError("bad_type", "id: expected a string")
    base, k = split_id(str(rid)) if rid is not None else (derived_id(path.name, pos), None)
    turns = turns_from_messages(
        obj.get("conversations"), list_key="conversations", role_key="from", text_key="value"
    )
    return base, k, turns


def _finish(run: _Run, path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Validate a run; repair a leading-assistant start (FastChat's cleaning) or skip it."""
    turns = run.turns
    n_lead = next((i for i, t in enumerate(turns) if t.role != "assistant"), len(turns))
    try:
        conv = make_conversation(turns[n_lead:] if n_lead else turns, conversation_id=run.conversation_id())
    except RecordError as exc:
        reason, message = exc.reason, str(exc)
        if n_lead and run.first_k not in (None, 0):
            reason = "missing_earlier_chunk"
            message = f"run starts at chunk {run.first_k} with an assistant message; earlier chunks absent"
        elif n_lead:  # report what is wrong with the conversation as written
            try:
                make_conversation(turns, conversation_id=run.conversation_id())
            except RecordError as orig:
                reason, message = orig.reason, str(orig)
        report.skip(reason, message, str(path), run.pos)
        return
    if n_lead:
        report.repair(
            "dropped_leading_assistant",
            f"dropped {n_lead} leading assistant message(s); conversation kept",
            str(path),
            run.pos,
        )
    yield conv


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream the (chunk-joined) conversations of one ShareGPT file."""
    run: _Run | None = None
    for pos, obj in iter_records(path, report):
        try:
            base, k, turns = _parse(obj, pos, path)
        except RecordError as exc:
            report.skip(exc.reason, str(exc), str(path), pos)
            if run is not None:
                yield from _finish(run, path, report)
                run = None
            continue
        if run is not None and run.continues(base, k):
            run.turns.extend(turns)
            run.last_k = k
            continue
        if run is not None:
            yield from _finish(run, path, report)
        run = _Run(base=base, first_k=k, last_k=k, pos=pos, turns=turns)
    if run is not None:
        yield from _finish(run, path, report)
