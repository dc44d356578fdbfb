"""Format registry and automatic detection.

``FORMATS`` maps a format name to its :class:`Format`: ``read(files,
report) -> Iterator[Conversation]`` over a group of files (streamed, each
file's failure one ``unreadable_file`` skip) and ``reads_together``.  Most
formats read file by file (:func:`per_file`).  A format whose records span
files (raw logs: a conversation is linked across requests and exports) sets
``reads_together``; :func:`group_files` then hands all of its files to one
``read`` call.

Readers that live above this package register through the
``wildchat.formats`` entry-point group (the entry point names a
:class:`Format` object); the registry loads them on first lookup.  That is how
``rawlog`` arrives: linking belongs to :mod:`wildchat.curate.link`, which the
readers may not import.

Detection looks only at the start of a file: the column names of a Parquet
file, or the keys of the first JSON object (first array element, or first
parseable line among the first 20 of a JSONL file), and applies
:func:`format_from_keys`.  Suffixes decide the container, never the format.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from wildchat.formats import alpaca, dolly, lmsys, oasst, openai, sharegpt, wildchat
from wildchat.formats._io import (
    Utf8Marked,
    describe_error,
    first_char,
    guard,
    is_file_error,
    is_parquet,
    open_binary,
)
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

__all__ = [
    "ENTRY_POINT_GROUP",
    "FORMATS",
    "Format",
    "GroupReader",
    "Reader",
    "UnknownFormatError",
    "detect_format",
    "format_from_keys",
    "group_files",
    "per_file",
]

#: one file -> its conversations
Reader = Callable[[Path, SkipReport], Iterator[Conversation]]
#: a group of files -> their conversations (each file guarded)
GroupReader = Callable[[Sequence[Path], SkipReport], Iterator[Conversation]]

ENTRY_POINT_GROUP = "wildchat.formats"


@dataclass(frozen=True)
class Format:
    """How one format's files become conversations.

    ``read`` takes a group of files; a file that cannot be read (any further)
    is one ``unreadable_file`` skip and the others continue.
    ``reads_together``: every file of this format in one input is one group,
    read at the position of the first (records of one conversation may span
    files); otherwise every file is its own group.
    """

    read: GroupReader
    reads_together: bool = False


def per_file(reader: Reader) -> Format:
    """A :class:`Format` reading ``files`` one by one with ``reader``, each file guarded."""

    def read(files: Sequence[Path], report: SkipReport) -> Iterator[Conversation]:
        for path in files:
            yield from guard(path, report, reader(path, report))

    return Format(read)


class _Registry(Mapping[str, Format]):
    """Name -> :class:`Format`; the built-ins, plus entry-point formats loaded on first lookup."""

    def __init__(self, builtin: dict[str, Format]) -> None:
        self._formats = dict(builtin)
        self._loaded = False

    def _load(self) -> dict[str, Format]:
        if not self._loaded:
            self._loaded = True
            for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                if ep.name in self._formats:
                    continue
                fmt = ep.load()
                if not isinstance(fmt, Format):
                    raise TypeError(f"entry point {ep.name}={ep.value} is not a wildchat.formats.Format")
                self._formats[ep.name] = fmt
        return self._formats

    def __getitem__(self, name: str) -> Format:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


FORMATS: Mapping[str, Format] = _Registry(
    {
        "wildchat": per_file(wildchat.read),
        "lmsys": per_file(lmsys.read),
        "sharegpt": per_file(sharegpt.read),
        "oasst": per_file(oasst.read),
        "alpaca": per_file(alpaca.read),
        "dolly": per_file(dolly.read),
        "openai": per_file(openai.read),
    }
)


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
    if name is not None and name not in FORMATS:
        raise UnknownFormatError(
            f"{path}: {name} files need a reader from the {ENTRY_POINT_GROUP!r} entry points "
            "(is wildchat installed, e.g. pip install -e .?)"
        )
    if name is None:
        shown = ", ".join(sorted(keys)[:12]) if keys else "no JSON object found"
        raise UnknownFormatError(
            f"{path}: unknown chat-log format (fields: {shown}); pass --format, one of {', '.join(FORMATS)}"
        )
    return name


def _reader_name(path: Path, format: str | None, report: SkipReport) -> str | None:
    try:
        return format or detect_format(path)
    except UnknownFormatError as exc:
        report.skip("unknown_format", str(exc).removeprefix(f"{path}: "), str(path))
    except Exception as exc:
        if not is_file_error(exc):
            raise
        report.skip("unreadable_file", describe_error(exc), str(path))
    return None


def group_files(
    files: Iterable[Path], format: str | None, report: SkipReport
) -> list[tuple[str, list[Path]]]:
    """``files`` as ``(format, group)`` pairs in reading order; the one planner for every reader.

    ``format`` forces one format; otherwise each file's is detected (an
    undetectable file is one ``unknown_format`` skip, a file that cannot be
    opened one ``unreadable_file`` skip).  Files of a ``reads_together``
    format form one group at the position of the first of them; every other
    file is a group of its own.
    """
    plan: list[tuple[str, list[Path]]] = []
    together: dict[str, list[Path]] = {}
    for path in files:
        name = _reader_name(path, format, report)
        if name is None:
            continue
        if not FORMATS[name].reads_together:
            plan.append((name, [path]))
        elif name in together:
            together[name].append(path)
        else:
            together[name] = [path]
            plan.append((name, together[name]))
    return plan
