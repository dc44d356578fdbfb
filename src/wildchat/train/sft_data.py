"""Chat messages for training: from release records, to and from the SFT file formats.

Three JSONL formats, one conversation per line (``wildchat export-sft``
writes them, ``wildchat train`` reads any of them, detected per line):

* ``messages`` -- ``{"messages": [{"role", "content"}...]}`` (the Hugging Face
  / TRL conversational format);
* ``openai`` -- the same shape, as OpenAI's chat fine-tuning API requires it:
  only ``system``/``user``/``assistant`` roles, string contents, at least one
  assistant message;
* ``sharegpt`` -- ``{"id", "conversations": [{"from": "human"|"gpt"|"system", "value"}...]}``
  (FastChat / Vicuna).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from wildchat.schema import ROLE_ALIASES, Conversation
from wildchat.skips import SkipReport

__all__ = [
    "FORMATS",
    "SftDataError",
    "check_sft_file",
    "conversation_messages",
    "drop_trailing_user",
    "read_sft_file",
    "structure_problem",
    "to_record",
]

FORMATS = ("messages", "sharegpt", "openai")

_TO_SHAREGPT = {"user": "human", "assistant": "gpt", "system": "system"}


class SftDataError(ValueError):
    """A training file that cannot be used at all (not JSONL, nothing usable)."""


def conversation_messages(conv: Conversation) -> list[dict[str, str]]:
    """A release record's turns as ``[{"role", "content"}]``, in order, unchanged."""
    return [{"role": t.role, "content": t.content} for t in conv.conversation]


def structure_problem(messages: Sequence[dict[str, str]]) -> str | None:
    """The skip reason that makes ``messages`` unusable for SFT, or ``None``.

    Reasons: ``no_assistant``; ``empty_assistant`` (an assistant message that
    is empty or whitespace); ``consecutive_roles`` (two user or two assistant
    messages in a row); ``bad_order`` (a system message after the first, the
    first non-system message not from the user, or an unknown role).
    Trailing user messages are not a problem here (callers drop them).
    """
    if not any(m["role"] == "assistant" for m in messages):
        return "no_assistant"
    prev: str | None = None
    for k, m in enumerate(messages):
        role = m["role"]
        if role not in ("system", "user", "assistant"):
            return "bad_order"
        if role == "system":
            if k != 0:
                return "bad_order"
        elif prev in (None, "system") and role != "user":
            return "bad_order"
        elif role == prev:
            return "consecutive_roles"
        if role == "assistant" and not m["content"].strip():
            return "empty_assistant"
        prev = role
    return None


def drop_trailing_user(messages: list[dict[str, str]]) -> bool:
    """Remove unanswered user messages at the end (in place); whether any were."""
    dropped = False
    while messages and messages[-1]["role"] == "user":
        messages.pop()
        dropped = True
    return dropped


def to_record(fmt: str, conv_id: str, messages: Sequence[dict[str, str]]) -> dict[str, Any]:
    """One output line of format ``fmt`` (see the module docstring)."""
    if fmt == "sharegpt":
        return {
            "id": conv_id,
            "conversations": [{"from": _TO_SHAREGPT[m["role"]], "value": m["content"]} for m in messages],
        }
    if fmt in ("messages", "openai"):
        return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
    raise ValueError(f"unknown SFT format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _messages_of(obj: Any) -> list[dict[str, str]]:
    """Messages of one parsed line; ``ValueError`` names the problem."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    if "messages" in obj:
        items, role_key, text_key, roles = obj["messages"], "role", "content", None
    elif "conversations" in obj:
        items, role_key, text_key, roles = obj["conversations"], "from", "value", ROLE_ALIASES
    else:
        raise ValueError("no 'messages' or 'conversations' list")
    if not isinstance(items, list):
        raise ValueError("messages: expected a list")
    out: list[dict[str, str]] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"message {k}: expected an object")
        role, text = item.get(role_key), item.get(text_key)
        if not isinstance(role, str) or not isinstance(text, str):
            raise ValueError(f"message {k}: {role_key!r} and {text_key!r} must be strings")
        role = roles.get(role.lower(), role) if roles is not None else role
        out.append({"role": role, "content": text})
    return out


def check_sft_file(path: Path) -> None:
    """Fail fast (:class:`SftDataError`) when ``path`` is missing or does not start like JSONL.

    Reads only up to the first non-empty line, so a run can refuse a wrong
    ``--data`` before loading a model.
    """
    path = Path(path)
    if not path.is_file():
        raise SftDataError(f"{path}: no such file")
    try:
        with _open(path) as fh:
            first = next((line for line in fh if line.strip()), None)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise SftDataError(f"{path}: not a readable UTF-8 JSONL file ({type(exc).__name__})") from exc
    if first is None:
        raise SftDataError(f"{path}: empty training file")
    try:
        json.loads(first)
    except json.JSONDecodeError as exc:
        raise SftDataError(
            f"{path}: not a JSONL training file (the first line is not JSON); "
            "make one with `wildchat export-sft`"
        ) from exc


def read_sft_file(path: Path, report: SkipReport) -> Iterator[list[dict[str, str]]]:
    """Message lists of a messages / ShareGPT / OpenAI JSONL file (``.gz`` too).

    Each line is counted in ``report.read``; a line that is not a JSON object
    with a message list (``bad_record``), or whose structure is unusable (see
    :func:`structure_problem`), is a counted skip.  Trailing user messages are
    dropped and counted as a ``trailing_user`` repair.  Raises
    :class:`SftDataError` when the file is missing or its first non-empty line
    is not JSON (not a JSONL file at all).
    """
    path = Path(path)
    if not path.is_file():
        raise SftDataError(f"{path}: no such file")
    first = True
    try:
        with _open(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    if first:
                        raise SftDataError(
                            f"{path}: not a JSONL training file (line {lineno} is not JSON); "
                            "make one with `wildchat export-sft`"
                        ) from exc
                    report.read += 1
                    report.skip("bad_record", "line is not valid JSON", str(path), lineno)
                    continue
                first = False
                report.read += 1
                try:
                    messages = _messages_of(obj)
                except ValueError as exc:
                    report.skip("bad_record", str(exc), str(path), lineno)
                    continue
                if drop_trailing_user(messages):
                    report.repair("trailing_user", "dropped trailing user message(s)", str(path), lineno)
                problem = structure_problem(messages)
                if problem is not None:
                    report.skip(problem, f"unusable conversation ({problem})", str(path), lineno)
                    continue
                yield messages
    except UnicodeDecodeError as exc:
        raise SftDataError(f"{path}: not a UTF-8 JSONL file ({exc.reason})") from exc
    except (OSError, EOFError) as exc:
        if isinstance(exc, gzip.BadGzipFile | EOFError):
            raise SftDataError(f"{path}: not a readable gzip file") from exc
        raise
