"""Converting the real public samples in ../shared/data (run by `make eval`).

Expected counts are computed independently here (plain ``json``/``pyarrow``,
no wildchat code) and compared with what the readers produce.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from wildchat.formats import detect_format, iter_batches, write_parquet
from wildchat.schema import Conversation, from_row, release_schema
from wildchat.skips import SkipReport

pytestmark = pytest.mark.realdata


def _convert(src: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Conversation], SkipReport]:
    """Convert ``src`` to ``out``; check the schema and that ``datasets`` loads it."""
    report = SkipReport()
    written = write_parquet(iter_batches([src], report=report), out)
    assert pq.read_schema(out).equals(release_schema())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    ds = datasets.load_dataset(
        "parquet", data_files=str(out), split="train", cache_dir=str(out.parent / "hf")
    )
    assert ds.num_rows == written
    convs = [from_row(Conversation, r) for r in pq.read_table(out).to_pylist()]
    assert len(convs) == written
    return convs, report


def test_lmsys(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
    assert detect_format(src) == "lmsys"
    source = [json.loads(line) for line in src.read_text().split("\n") if line.strip()]
    convs, report = _convert(src, tmp_path / "lmsys.parquet", monkeypatch)
    assert len(convs) == 191 and report.read == 191 and report.n_skipped == 0
    by_id = {c.conversation_id: c for c in convs}
    for rec in source:
        conv = by_id[rec["conversation_id"]]
        assert conv.turn == rec["turn"] and conv.model == rec["model"] and conv.language == rec["language"]
        assert [(t.role, t.content) for t in conv.conversation] == [
            (m["role"], m["content"]) for m in rec["conversation"]
        ]


def _independent_sharegpt_count(records: list[dict[str, Any]]) -> tuple[int, int]:
    """Join adjacent ``<base>_<k>``/``<base>_<k+1>`` records, drop leading assistant messages,
    then keep user-first alternating ones: ``(kept, kept only thanks to the drop)``."""
    roles = {
        "human": "u",
        "user": "u",
        "gpt": "a",
        "chatgpt": "a",
        "bing": "a",
        "bard": "a",
        "assistant": "a",
    }
    groups: list[list[str]] = []
    last: tuple[str, int] | None = None
    for rec in records:
        m = re.fullmatch(r"(.+)_(\d+)", rec["id"])
        key = (m.group(1), int(m.group(2))) if m else None
        seq = [
            roles.get(x["from"].lower(), "s" if x["from"] == "system" else "?") for x in rec["conversations"]
        ]
        if key and last and key[0] == last[0] and key[1] == last[1] + 1:
            groups[-1].extend(seq)
        else:
            groups.append(seq)
        last = key
    pattern = re.compile(r"s*(ua)+")
    kept = [g for g in groups if pattern.fullmatch("".join(g).lstrip("a"))]
    return len(kept), sum(1 for g in kept if g[0] == "a")


def test_sharegpt(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json"
    assert detect_format(src) == "sharegpt"
    records = json.loads(src.read_text())
    convs, report = _convert(src, tmp_path / "sharegpt.parquet", monkeypatch)
    assert report.read == 800
    expected, expected_repaired = _independent_sharegpt_count(records)
    # documented in docs/formats.md: 787 kept, 289 of them after dropping a leading assistant message
    assert (len(convs), report.n_repaired) == (expected, expected_repaired) == (787, 289)
    assert dict(report.repaired) == {"dropped_leading_assistant": expected_repaired}
    assert report.read - report.n_skipped == len(convs)  # this sample has no adjacent chunks to join
    assert all(c.conversation[0].role in ("user", "system") for c in convs)
    assert len({c.conversation_id for c in convs}) == len(convs)


def _assistant_leaves(msg: dict[str, Any]) -> int:
    """Recursive count of non-deleted leaves that are assistant messages."""
    if msg.get("deleted"):
        return 0
    live = [r for r in msg.get("replies", []) if not r.get("deleted")]
    if not live:
        return int(msg["role"] == "assistant")
    return sum(_assistant_leaves(r) for r in live)


def test_oasst(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_data / "oasst_sample_en100" / "en_100_tree.jsonl"
    assert detect_format(src) == "oasst"
    trees = [json.loads(line) for line in src.read_text().split("\n") if line.strip()]
    convs, report = _convert(src, tmp_path / "oasst.parquet", monkeypatch)
    assert report.read == len(trees) == 100
    assert len(convs) == sum(_assistant_leaves(t["prompt"]) for t in trees)
    assert all(c.conversation[-1].role == "assistant" and c.language == "English" for c in convs)


def test_alpaca(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_data / "alpaca_gpt4_en_demo" / "alpaca_en_demo.json"
    assert detect_format(src) == "alpaca"
    records = json.loads(src.read_text())
    convs, report = _convert(src, tmp_path / "alpaca.parquet", monkeypatch)
    assert len(convs) == len(records) == 999 and report.n_skipped == 0
    with_input = sum(1 for r in records if r["input"].strip())
    pairs = list(zip(convs, records, strict=True))
    assert sum(1 for c, r in pairs if c.conversation[0].content != r["instruction"]) == with_input == 412
    assert all(c.conversation[1].content == r["output"] for c, r in pairs)


def test_wildchat_firstturn(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (src,) = sorted((shared_data / "wildchat_firstturn").glob("*.parquet"))
    assert detect_format(src) == "wildchat"
    table = pq.read_table(src)
    convs, report = _convert(src, tmp_path / "wildchat.parquet", monkeypatch)
    assert len(convs) == table.num_rows == 1335 and report.n_skipped == 0
    assert Counter(c.language for c in convs) == Counter(table.column("language").to_pylist())
    assert all(t.language == c.language for c in convs for t in c.conversation)
    assert [c.conversation[0].content for c in convs] == table.column("prompt").to_pylist()
    assert all(c.timestamp is not None and c.timestamp.tzinfo is not None for c in convs)
