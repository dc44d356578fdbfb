"""Instruction datasets: Alpaca (``instruction``/``input``/``output``) and
Dolly (``instruction``/``context``/``response``/``category``).

Each record becomes one single-exchange conversation.  User content is the
instruction, followed by ``"\\n\\n"`` and the input/context when that is
non-empty (after stripping whitespace); assistant content is the
output/response.  An empty instruction or output is an ``empty_content`` skip.
Dolly's ``category`` has no place in the release schema and is dropped.
Alpaca/Dolly records have no ids, model or timestamp: ids are derived from the
file name and record position.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.formats._build import drive, make_conversation, opt_str, req_dict, req_str
from wildchat.formats._io import iter_records
from wildchat.schema import Conversation, Turn
from wildchat.skips import SkipReport

__all__ = ["instruction_conversation", "read", "read_dolly"]


def instruction_conversation(obj: Any, fallback_id: str, *, extra_key: str, answer_key: str) -> Conversation:
    """One instruction record -> a one-exchange Conversation (raises ``RecordError``)."""
    obj = req_dict(obj)
    instruction = req_str(obj, "instruction", allow_empty=False)
    extra = opt_str(obj, extra_key) or ""
    answer = req_str(obj, answer_key, allow_empty=False)
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    turns = [Turn(content=prompt, role="user"), Turn(content=answer, role="assistant")]
    return make_conversation(turns, conversation_id=fallback_id)


def _alpaca(obj: Any, fallback_id: str) -> Conversation:
    return instruction_conversation(obj, fallback_id, extra_key="input", answer_key="output")


def _dolly(obj: Any, fallback_id: str) -> Conversation:
    return instruction_conversation(obj, fallback_id, extra_key="context", answer_key="response")


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream an Alpaca file (JSON array or JSONL)."""
    return drive(iter_records(path, report), path, report, _alpaca)


def read_dolly(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream a Dolly file (JSONL or JSON array)."""
    return drive(iter_records(path, report), path, report, _dolly)
