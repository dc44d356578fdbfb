"""Turning command-line inputs (files, globs, folders) into a file list."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DATA_SUFFIXES", "dataset_name", "expand_inputs"]

#: File endings picked up when a folder is given (explicit files are always taken).
DATA_SUFFIXES = (".parquet", ".pq", ".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")


def _data_files(folder: Path) -> list[Path]:
    from wildchat.formats.release import is_release, split_files

    if is_release(folder):  # one rule for every reader: wildchat.formats.release
        return split_files(folder, "full", check=False)
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name.lower().endswith(DATA_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files, globs and folders -> one sorted, de-duplicated file list.

    A folder contributes its data files (``DATA_SUFFIXES``, recursively,
    hidden entries ignored); a curated release folder contributes exactly its
    ``full/`` shards (:func:`wildchat.formats.release.split_files`; commands
    that offer ``--split`` resolve and check release folders before this).
    A glob (``*``, ``?``, ``[``) is expanded recursively (``**``).  An input
    that matches nothing raises ``FileNotFoundError`` naming it.
    """
    found: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.update(_data_files(path))
        elif path.is_file():
            found.add(path)
        elif any(c in str(item) for c in "*?["):
            matches = [Path(m) for m in glob.glob(str(item), recursive=True)]
            if not matches:
                raise FileNotFoundError(f"{item}: glob matches no file")
            for m in matches:
                found.update(_data_files(m) if m.is_dir() else [m])
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return sorted(found)


def dataset_name(item: str | Path) -> str:
    """Default dataset name of one input: a folder's name, a file's stem, a glob's folder.

    The one naming rule of every command that names datasets after their
    inputs (``analyze``, ``explore``, ``eval nll``): ``a/b/c.jsonl.gz`` ->
    ``c``, ``data/*.parquet`` -> ``data``, a folder -> its (resolved) name.
    """
    text = str(item)
    if any(ch in text for ch in "*?["):
        parts = [p for p in Path(text).parts if not any(ch in p for ch in "*?[")]
        return Path(*parts).name if parts else "dataset"
    path = Path(text)
    if path.is_dir():
        return path.resolve().name
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".ndjson", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name or path.name
