"""Format registry and automatic detection.

``FORMATS`` maps a format name to its reader, ``reader(path, report) ->
Iterator[Conversation]`` (one file, streamed).  ``rawlog`` is the one format
whose files are read *together* (conversations span requests and files); see
:func:`wildchat.formats.iter_conversations`.

Detection looks only at the start of a file: the column names of a Parquet
file, or the keys of the first JSON object (first array element, or first
parseable line among the first 20 of a JSONL file), and applies
:func:`format_from_keys`.  Suffixes decide the container, never the format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from wildchat.formats import alpaca, dolly, lmsys, oasst, openai, sharegpt, wildchat
from wildchat.formats._io import Utf8Marked, first_char, is_parquet, open_binary
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

__all__ = ["FORMATS", "Reader", "UnknownFormatError", "detect_format", "format_from_keys"]

Reader = Callable[[Path, SkipReport], Iterator[Conversation]]


def _rawlog(path: Path, report: SkipReport) -> Iterator[Conversation]:
    from wildchat.formats.rawlog import read_conversations

    return read_conversations([path], report)


FORMATS: dict[str, Reader] = {
    "wildchat": wildchat.read,
    "lmsys": lmsys.read,
    "sharegpt": sharegpt.read,
    "oasst": oasst.read,
    "alpaca": alpaca.read,
    "dolly": dolly.read,
    "openai": openai.read,
    "rawlog": _rawlog,
}


class UnknownFormatError(ValueError):
    """A file whose format could not be recognised (the message names the file)."""


def format_from_keys(keys: Iterable[str]) -> str | None:
    """The format whose required keys appear in the first record, or ``None``.

    Rules, first match wins: ``request_id`` + ``messages`` -> rawlog;
    ``message_tree_id`` -> oasst; ``conversation_hash``, or ``prompt`` +
    ``response`` -> wildchat; ``conversation`` -> lmsys; ``conversations`` ->
    sharegpt; ``messages`` -> openai; ``instruction`` + ``output`` -> alpaca;
    ``instruction`` + ``response`` -> dolly.
    """
    k = set(keys)
    rules: list[tuple[str, set[str]]] = [
        ("rawlog", {"request_id", "messages"}),
        ("oasst", {"message_tree_id"}),
        ("wildchat", {"conversation_hash"}),
        ("wildchat", {"prompt", "response"}),
        ("lmsys", {"conversation"}),
        ("sharegpt", {"conversations"}),
        ("openai", {"messages"}),
        ("alpaca", {"instruction", "output"}),
        ("dolly", {"instruction", "response"}),
    ]
    return next((name for name, need in rules if need <= k), None)


def _first_json_keys(path: Path) -> list[str] | None:
    if first_char(path) == "[":
        import ijson

        with open_binary(path) as fh:
            for item in ijson.items(Utf8Marked(fh), "item"):
                return list(item) if isinstance(item, dict) else None
        return None
    with open_binary(path) as fh:
        for n, raw in enumerate(fh):
            if n >= 20:
                break
            try:
                obj: Any = orjson.loads(raw.lstrip(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return list(obj)
    return None


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path``; raises :class:`UnknownFormatError` naming the file."""
    path = Path(path)
    if is_parquet(path):
        import pyarrow.parquet as pq

        keys: list[str] | None = pq.read_schema(path).names
    else:
        try:
            keys = _first_json_keys(path)
        except OSError:  # unreadable (permissions, corrupt gzip): not a format question
            raise
        except Exception as exc:  # ijson raises its own error types on garbage
            raise UnknownFormatError(
                f"{path}: not JSON, JSON Lines or Parquet ({type(exc).__name__})"
            ) from exc
    name = format_from_keys(keys or [])
    if name is None:
        shown = ", ".join(sorted(keys)[:12]) if keys else "no JSON object found"
        raise UnknownFormatError(
            f"{path}: unknown chat-log format (fields: {shown}); pass --format, one of {', '.join(FORMATS)}"
        )
    return name
