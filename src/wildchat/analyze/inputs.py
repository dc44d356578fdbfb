"""Turning the DATASET arguments into named streams of release-schema batches.

Reading is delegated to :func:`wildchat.formats.iter_batches` (every
supported format, auto-detected).  One shape is handled here because it is
not a chat log at all: *prompts-only* benchmark files -- Arena-Hard /
MT-Bench ``question.jsonl`` lines ``{"question_id", "turns": [{"content"}]}``
or ``{"turns": ["..."]}`` -- become conversations of user turns only, so the
report can put prompt sets next to chat logs (assistant statistics are then
reported as missing).

Fast path: Parquet files already in the release schema (a curated release,
WildChat-1M's own shards) are streamed straight from Parquet row groups as
Arrow batches -- no per-row Python objects, which is what keeps a
million-conversation report within minutes.  The statistics tolerate
missing or extra columns, so no row validation is needed there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from wildchat.formats.hashing import conversation_hash
from wildchat.formats.inputs import dataset_name
from wildchat.formats.questions import question_prompts
from wildchat.schema import Conversation, Turn, release_schema, to_row
from wildchat.skips import SkipReport

__all__ = [
    "PROMPTS_FORMAT",
    "dataset_names",
    "is_prompts_file",
    "iter_dataset",
    "iter_prompt_batches",
    "iter_release_parquet",
    "parquet_rows",
    "release_parquet_files",
]

PROMPTS_FORMAT = "prompts"


def dataset_names(paths: Sequence[Path], names: Sequence[str] | None = None) -> list[str]:
    """Names for the datasets: given ones, else :func:`~wildchat.formats.inputs.dataset_name` made unique."""
    if names:
        if len(names) != len(paths):
            raise ValueError(f"--names has {len(names)} names for {len(paths)} datasets")
        if len(set(names)) != len(names):
            raise ValueError("--names must be distinct")
        return list(names)
    out: list[str] = []
    for p in paths:
        stem = dataset_name(p)
        name, k = stem or "dataset", 2
        while name in out:
            name, k = f"{stem}-{k}", k + 1
        out.append(name)
    return out


def _prompt_turns(obj: Any) -> list[str] | None:
    """The prompts of one question record (:func:`~wildchat.formats.questions.question_prompts`),
    or ``None`` if it is not one -- a chat log that also has ``turns`` (with a ``conversation``) is not."""
    if isinstance(obj, dict) and "conversation" in obj:
        return None
    return question_prompts(obj)


def is_prompts_file(path: Path) -> bool:
    """A ``.jsonl`` whose first record is a question with ``turns`` of prompts."""
    if not path.is_file() or not path.name.endswith(".jsonl"):
        return False
    try:
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    return bool(_prompt_turns(json.loads(line)))
    except (OSError, ValueError):
        return False
    return False


def release_parquet_files(path: Path, split: str = "full") -> list[Path] | None:
    """Parquet files of a release-schema file/folder, or ``None`` if not one.

    A curated release folder gives exactly its ``split``'s shards
    (:func:`wildchat.formats.release.split_files`, which raises
    :class:`~wildchat.formats.release.ReleaseError` for a broken release);
    never both splits.
    """
    import pyarrow.parquet as pq

    from wildchat.formats.release import is_release, split_files

    if is_release(path):
        return split_files(path, split)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or any(f.suffix != ".parquet" for f in files):
        return None
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException):
            return None
        idx = schema.get_field_index("conversation")
        if idx < 0:
            return None
        typ = schema.field(idx).type
        if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)) or not pa.types.is_struct(
            typ.value_type
        ):
            return None
        names = {typ.value_type.field(i).name for i in range(typ.value_type.num_fields)}
        if not {"role", "content"} <= names:
            return None
    return files


def parquet_rows(path: Path, split: str = "full") -> int | None:
    """Conversations in a release-schema Parquet file/folder (from metadata), else ``None``."""
    import pyarrow.parquet as pq

    files = release_parquet_files(path, split) if path.exists() else None
    if files is None:
        return None
    return int(sum(pq.ParquetFile(f).metadata.num_rows for f in files))


def iter_release_parquet(files: list[Path], report: SkipReport, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream release-schema Parquet files as batches (bounded memory; see
    :func:`wildchat.formats.release.iter_release_batches`)."""
    from wildchat.formats.release import iter_release_batches

    for batch in iter_release_batches(files, batch_size):
        report.read += batch.num_rows
        report.written += batch.num_rows
        yield batch


def iter_prompt_batches(path: Path, report: SkipReport, batch_size: int = 1024) -> Iterator[pa.RecordBatch]:
    """Read a prompts-only JSONL file as release batches (user turns only)."""
    schema = release_schema()
    rows: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            report.read += 1
            try:
                obj = json.loads(line)
            except ValueError:
                report.skip("bad_json", "line is not JSON", str(path), line_no)
                continue
            prompts = _prompt_turns(obj)
            if not prompts:
                report.skip("bad_type", "expected turns: a list of prompts", str(path), line_no)
                continue
            qid = obj.get("question_id")
            turns = [Turn(content=p, role="user") for p in prompts]
            conv = Conversation(
                conversation_hash=conversation_hash(turns),
                model=None,
                timestamp=None,
                conversation=turns,
                turn=len(prompts),
                conversation_id=str(qid) if qid is not None else None,
            )
            rows.append(to_row(conv))
            report.written += 1
            if len(rows) >= batch_size:
                yield pa.RecordBatch.from_pylist(rows, schema=schema)
                rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def iter_dataset(
    path: Path, fmt: str | None, report: SkipReport, batch_size: int = 1024, split: str = "full"
) -> Iterator[pa.RecordBatch]:
    """Batches of one dataset (a release folder: its ``split``); raises ``OSError``/``ValueError``
    when unreadable (:class:`~wildchat.formats.release.ReleaseError` for a broken release)."""
    from wildchat.formats.release import is_release, split_files

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if is_release(path):
        yield from iter_release_parquet(split_files(path, split), report, batch_size)
        return
    if fmt == PROMPTS_FORMAT or (fmt is None and is_prompts_file(path)):
        yield from iter_prompt_batches(path, report, batch_size)
        return
    if fmt is None:
        files = release_parquet_files(path, split)
        if files is not None:
            yield from iter_release_parquet(files, report, batch_size)
            return
    from wildchat import formats

    reader = getattr(formats, "iter_batches", None)
    if reader is None:  # pragma: no cover - only while the formats package is being built
        raise ValueError(f"{path}: no reader available (wildchat.formats.iter_batches missing)")
    yield from reader([path], format=fmt, report=report, batch_size=batch_size)
