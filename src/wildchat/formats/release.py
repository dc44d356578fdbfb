"""Reading a curated release folder: the one place that decides which files a command reads.

A release folder (written by ``wildchat curate``) holds two splits,
``full/`` and ``public/`` (Parquet shards in the release schema), plus
``stats.json`` with the count of each.  Every command that reads datasets
(``analyze``, ``explore``, ``export-sft``, ``eval nll``, ``convert``) passes
its inputs through :func:`resolve_inputs` with its split: ``public`` by
default for ``explore`` (a shared explorer should show what may be shown),
``full`` for the others, ``--split full|public`` on each.  Other inputs
(files, folders of other formats, globs) pass through unchanged.

A folder is a release when it has a ``full/`` or ``public/`` sub-folder, or
a ``stats.json`` with a ``release`` section.  Such a folder is checked before
anything is read, and every problem is a :class:`ReleaseError` naming the
file: a missing split (unless ``stats.json`` says it is empty), a shard that
is not readable Parquet or not in the release schema, a split whose row
count differs from ``stats.json`` (a partial copy, or shards of two
releases).  Reading never globs both splits, so no conversation is counted
twice.

Raw logs are the other thing worth a word: no consent, PII or key step has
run on them, so :func:`raw_log_inputs` finds them and commands print
:data:`RAW_LOG_WARNING` once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = [
    "RAW_LOG_WARNING",
    "SPLITS",
    "ReleaseError",
    "is_release",
    "iter_release_batches",
    "raw_log_inputs",
    "release_stats",
    "resolve_inputs",
    "split_files",
]

SPLITS = ("full", "public")

RAW_LOG_WARNING = (
    "reading raw logs: no consent, PII-redaction or release-key step has run on them (raw IPs, un-redacted "
    "text, unkeyed ids); run `wildchat curate` before sharing anything made from them"
)


class ReleaseError(ValueError):
    """A release folder that cannot be read as one (the message names the file)."""


def is_release(path: Path) -> bool:
    """Whether ``path`` is a release folder (see the module docstring)."""
    if not path.is_dir():
        return False
    if any((path / s).is_dir() for s in SPLITS):
        return True
    stats = path / "stats.json"
    if not stats.is_file():
        return False
    try:
        return isinstance(json.loads(stats.read_text(encoding="utf-8")).get("release"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def release_stats(folder: Path) -> dict[str, Any] | None:
    """``stats.json`` of a release folder, ``None`` when it has none."""
    path = folder / "stats.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path}: not readable JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("release"), dict):
        raise ReleaseError(f"{path}: not a release's stats.json (no 'release' section)")
    return data


def _check_shard(path: Path) -> int:
    """Rows of one shard; raises :class:`ReleaseError` when it is not a release-schema Parquet file."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        rows = pf.metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise ReleaseError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    idx = schema.get_field_index("conversation")
    typ = schema.field(idx).type if idx >= 0 else None
    ok = (
        typ is not None
        and (pa.types.is_list(typ) or pa.types.is_large_list(typ))
        and pa.types.is_struct(typ.value_type)
        and {"role", "content"} <= {typ.value_type.field(i).name for i in range(typ.value_type.num_fields)}
    )
    if not ok:
        raise ReleaseError(f"{path}: not in the release schema (no conversation list of role/content turns)")
    return int(rows)


def split_files(folder: Path, split: str, check: bool = True) -> list[Path]:
    """The checked Parquet shards of one split of a release folder (may be empty when stats says 0).

    ``check=False`` only lists them (for :func:`wildchat.formats.expand_inputs`,
    whose readers count an unreadable file as a skip instead).
    """
    if split not in SPLITS:
        raise ReleaseError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not is_release(folder):
        raise ReleaseError(f"{folder}: not a release folder (no full/ or public/ split, no stats.json)")
    if not check:
        return sorted((folder / split).glob("*.parquet"))
    stats = release_stats(folder)
    expected = stats["release"].get(split) if stats is not None else None
    files = sorted((folder / split).glob("*.parquet"))
    if not files:
        if expected == 0:
            return []
        raise ReleaseError(f"{folder / split}: missing split (no Parquet shards)")
    rows = sum(_check_shard(f) for f in files)
    if isinstance(expected, int) and rows != expected:
        raise ReleaseError(
            f"{folder / split}: holds {rows} conversations but {folder / 'stats.json'} says {expected} "
            "(a partial copy, or shards of two releases)"
        )
    return files


def resolve_inputs(inputs: Sequence[str | Path], split: str = "full", default: str = "full") -> list[Path]:
    """Each release folder among ``inputs`` -> its ``split``'s shards; other inputs unchanged.

    ``default`` is the calling command's default split: asking for another
    split of a folder that is not a release has no meaning, so it is a
    :class:`ReleaseError` naming the folder rather than a silent read of
    everything in it.
    """
    if split not in SPLITS:
        raise ReleaseError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if is_release(path):
            out.extend(split_files(path, split))
            continue
        if split != default and path.is_dir():
            raise ReleaseError(
                f"{path}: not a release folder (no full/ or public/ split, no stats.json), "
                f"so --split {split} cannot be applied to it"
            )
        out.append(path)
    return out


def iter_release_batches(
    files: Sequence[Path], batch_size: int = 1024, columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream shards as batches (bounded memory).

    A read failure is a :class:`ReleaseError` naming the file.
    """
    import pyarrow.parquet as pq

    for f in files:
        try:
            # pre_buffer=False: pre-buffered ranges stay cached until close (memory grows with the file)
            pf = pq.ParquetFile(f, pre_buffer=False)
            cols = [c for c in columns if c in pf.schema_arrow.names] if columns is not None else None
            yield from pf.iter_batches(batch_size=batch_size, columns=cols, use_threads=False)
        except (OSError, pa.ArrowException) as exc:
            raise ReleaseError(f"{f}: cannot be read ({type(exc).__name__}: corrupt Parquet?)") from None


def raw_log_inputs(inputs: Sequence[str | Path], fmt: str | None = None) -> list[Path]:
    """The raw-log files among ``inputs`` (release folders never hold any); stops at the first found."""
    from wildchat.formats.inputs import expand_inputs
    from wildchat.formats.registry import detect_format

    if fmt is not None:
        return [Path(i) for i in inputs] if fmt == "rawlog" else []
    for item in inputs:
        if is_release(Path(item)):
            continue
        try:
            files = expand_inputs([item])
        except OSError:
            continue
        for f in files:
            try:
                if detect_format(f) == "rawlog":
                    return [f]
            except Exception:  # undetectable or unreadable: the reader reports it
                continue
    return []
