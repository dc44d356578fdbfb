"""OpenAssistant exports: message trees (one tree per JSONL line) or flat message lists.

Tree form: ``{message_tree_id, prompt: {message_id, text, role, lang, deleted,
model_name, created_date?, replies: [...]}}`` with role ``prompter`` or
``assistant``.  Flat form (``oasst1`` ``*.messages.jsonl``): one message per
line with ``message_id``/``parent_id``/``message_tree_id``; consecutive lines of
the same ``message_tree_id`` form one tree (only that tree is held in memory;
a message whose parent is not in its group is an ``orphan_message`` skip).

Flattening: every root-to-leaf path becomes one conversation, in depth-first
order of the replies.  A *leaf* is a message with no non-deleted replies.
Deleted messages are not walked (nor is anything below them) and each one is
counted as a ``deleted_message`` skip.  Paths whose leaf is a prompter
message (nobody answered) are counted as ``unanswered_path`` skips.
``conversation_id`` is the leaf's ``message_id``; ``model`` is the leaf's
``model_name``; ``lang`` codes become language names on every turn and the
conversation takes the most frequent one; ``created_date`` becomes the
assistant turns' ``timestamp`` and the conversation's (last message).  Both
turns of an exchange get ``turn_identifier`` derived from the assistant
message's id, so paths sharing a prefix share its identifiers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.formats._build import majority_language, make_conversation, req_dict, req_str, to_timestamp
from wildchat.formats._io import iter_records
from wildchat.formats.hashing import turn_identifier
from wildchat.schema import ROLE_ALIASES, Conversation, RecordError, Turn
from wildchat.schema.languages import language_name
from wildchat.skips import SkipReport

__all__ = ["leaf_paths", "read", "tree_from_messages"]

Message = dict[str, Any]


def _check(obj: Any) -> Message:
    msg: Message = req_dict(obj, "message")
    req_str(msg, "text")
    role = req_str(msg, "role")
    if role not in ("prompter", "assistant"):
        raise RecordError("bad_role", "message.role: expected prompter or assistant")
    replies = msg.get("replies") or []
    if not isinstance(replies, list):
        raise RecordError("bad_type", "message.replies: expected a list")
    return msg


def leaf_paths(root: Any) -> tuple[list[list[Message]], int]:
    """All root-to-leaf paths of non-deleted messages, and how many deleted messages were cut.

    Pure; raises ``RecordError`` on a malformed message.  Iterative, so deep
    trees cannot hit the recursion limit.
    """
    paths: list[list[Message]] = []
    deleted = 0
    stack: list[tuple[Message, list[Message]]] = [(root, [])]
    while stack:
        msg, prefix = stack.pop()
        msg = _check(msg)
        if msg.get("deleted"):
            deleted += 1
            continue
        path = [*prefix, msg]
        live = []
        for r in msg.get("replies") or []:
            if req_dict(r, "reply").get("deleted"):
                deleted += 1
            else:
                live.append(r)
        if not live:
            paths.append(path)
        stack.extend((r, path) for r in reversed(live))
    return paths, deleted


def _conversation(path: list[Message]) -> Conversation:
    turns: list[Turn] = []
    for i, m in enumerate(path):
        role = ROLE_ALIASES[m["role"]]
        ts = to_timestamp(m.get("created_date"), "created_date") if role == "assistant" else None
        turns.append(Turn(content=m["text"], role=role, language=language_name(m.get("lang")), timestamp=ts))
        if role == "assistant" and i > 0:
            tid = turn_identifier(str(m.get("message_id")), 0)
            turns[-1].turn_identifier = turns[-2].turn_identifier = tid
    leaf = path[-1]
    model = leaf.get("model_name")
    return make_conversation(
        turns,
        conversation_id=str(leaf.get("message_id")),
        model=model if isinstance(model, str) else None,
        timestamp=to_timestamp(leaf.get("created_date"), "created_date"),
        language=majority_language(t.language for t in turns),
    )


def _tree_conversations(root: Any, pos: int, path: Path, report: SkipReport) -> Iterator[Conversation]:
    source = str(path)
    try:
        paths, deleted = leaf_paths(root)
    except RecordError as exc:
        report.skip(exc.reason, str(exc), source, pos)
        return
    for _ in range(deleted):
        report.skip("deleted_message", "deleted message (and its replies) not flattened", source, pos)
    for p in paths:
        if p[-1]["role"] != "assistant":
            report.skip("unanswered_path", "path ends with a prompter message", source, pos)
            continue
        try:
            yield _conversation(p)
        except RecordError as exc:
            report.skip(exc.reason, str(exc), source, pos)


def tree_from_messages(messages: list[Message], report: SkipReport, source: str) -> list[Message]:
    """Flat messages of one tree -> root messages with nested ``replies`` (orphans skipped)."""
    by_id = {m.get("message_id"): {**m, "replies": []} for m in messages}
    roots = []
    for m in messages:
        node = by_id[m.get("message_id")]
        parent = m.get("parent_id")
        if parent is None:
            roots.append(node)
        elif parent in by_id:
            by_id[parent]["replies"].append(node)
        else:
            report.skip("orphan_message", "parent_id not found in its tree", source, m.get("_pos"))
    return roots


def _flush_flat(group: list[Message], path: Path, report: SkipReport) -> Iterator[Conversation]:
    for root in tree_from_messages(group, report, str(path)):
        yield from _tree_conversations(root, root["_pos"], path, report)


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream the flattened conversations of one OASST file (tree or flat form)."""
    group: list[Message] = []
    tree_id: Any = None
    for pos, obj in iter_records(path, report):
        if isinstance(obj, dict) and "prompt" in obj:
            yield from _tree_conversations(obj["prompt"], pos, path, report)
            continue
        if not isinstance(obj, dict) or "message_id" not in obj:
            report.skip("bad_type", "expected a message tree or an OASST message", str(path), pos)
            continue
        if group and obj.get("message_tree_id") != tree_id:
            yield from _flush_flat(group, path, report)
            group = []
        tree_id = obj.get("message_tree_id")
        group.append({**obj, "_pos": pos})
    if group:
        yield from _flush_flat(group, path, report)
