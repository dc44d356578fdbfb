"""The one planner of every reader: files -> (format, files) groups in reading order."""

from __future__ import annotations

from pathlib import Path

import orjson

from wildchat.formats import group_files
from wildchat.skips import SkipReport

RAW = {"request_id": "r1", "timestamp": "2024-05-01T12:00:00+00:00", "model": "m", "messages": []}
SHAREGPT = {"conversations": [{"from": "human", "value": "hi"}]}


def _jsonl(path: Path, obj: dict[str, object]) -> Path:
    path.write_bytes(orjson.dumps(obj) + b"\n")
    return path


def test_reads_together_files_form_one_group_at_the_first_position(tmp_path: Path) -> None:
    a = _jsonl(tmp_path / "a.jsonl", SHAREGPT)
    r1 = _jsonl(tmp_path / "r1.jsonl", RAW)
    b = _jsonl(tmp_path / "b.jsonl", SHAREGPT)
    r2 = _jsonl(tmp_path / "r2.jsonl", RAW)
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b'{"unrelated": 1}\n')
    report = SkipReport()
    plan = group_files([a, r1, b, junk, r2], None, report)
    assert plan == [("sharegpt", [a]), ("rawlog", [r1, r2]), ("sharegpt", [b])]
    assert dict(report.skipped) == {"unknown_format": 1}


def test_a_forced_format_groups_by_that_format(tmp_path: Path) -> None:
    a = _jsonl(tmp_path / "a.jsonl", SHAREGPT)
    b = _jsonl(tmp_path / "b.jsonl", SHAREGPT)
    assert group_files([a, b], "rawlog", SkipReport()) == [("rawlog", [a, b])]
    assert group_files([a, b], "sharegpt", SkipReport()) == [("sharegpt", [a]), ("sharegpt", [b])]
