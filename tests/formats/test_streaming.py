"""Readers stream: memory stays far below the input size, and records come before the file ends."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from wildchat.formats import iter_batches, iter_conversations
from wildchat.skips import SkipReport

N_RECORDS = 6000
FILLER = "lorem ipsum dolor sit amet " * 40  # ~1 KB per message


def _sharegpt_records() -> Iterator[bytes]:
    for i in range(N_RECORDS):
        rec = {
            "id": f"id{i // 3}_{i % 3}",  # three chunks per conversation
            "conversations": [{"from": "human", "value": f"{i} {FILLER}"}, {"from": "gpt", "value": FILLER}],
        }
        yield json.dumps(rec).encode()


def _write_array(path: Path) -> int:
    with path.open("wb") as fh:
        fh.write(b"[\n")
        for i, rec in enumerate(_sharegpt_records()):
            fh.write((b",\n" if i else b"") + rec)
        fh.write(b"\n]\n")
    return path.stat().st_size


@pytest.mark.slow
def test_json_array_is_read_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    size = _write_array(path)
    assert size > 10_000_000
    # Warm up first: pyarrow imports optional modules on its first conversion, which tracemalloc would count.
    small = tmp_path / "small.json"
    small.write_text(json.dumps([json.loads(next(_sharegpt_records()))]))
    assert sum(b.num_rows for b in iter_batches([small])) == 1
    report = SkipReport()
    tracemalloc.start()
    try:
        rows = sum(b.num_rows for b in iter_batches([path], report=report, batch_size=64))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == N_RECORDS // 3 and report.read == N_RECORDS and report.n_skipped == 0
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte file"


@pytest.mark.slow
def test_jsonl_is_read_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        for i in range(N_RECORDS):
            conv = [{"role": "user", "content": f"{i} {FILLER}"}, {"role": "assistant", "content": FILLER}]
            fh.write(json.dumps({"conversation_id": str(i), "conversation": conv}).encode() + b"\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_conversations([path]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == N_RECORDS
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_reader_is_lazy(tmp_path: Path) -> None:
    """The first conversation arrives before the reader has seen the end of the array."""
    path = tmp_path / "open-ended.json"
    first = json.dumps({"instruction": "i", "input": "", "output": "o"})
    path.write_text(f'[{first}, {first}, {{"instruction": ')  # the array never closes
    report = SkipReport()
    it = iter_conversations([path], report=report)
    conv = next(it)
    assert conv.conversation[1].content == "o"
    assert report.n_skipped == 0  # the broken tail has not been reached yet
    assert len(list(it)) == 1
    assert dict(report.skipped) == {"unreadable_file": 1}
