"""Detection, input expansion, hashing, Parquet output and whole-file failures."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wildchat.formats import (
    FORMATS,
    UnknownFormatError,
    detect_format,
    expand_inputs,
    iter_batches,
    iter_conversations,
    write_parquet,
)
from wildchat.formats.hashing import canonical_turns_json, conversation_hash, turn_identifier
from wildchat.schema import Turn, release_schema
from wildchat.skips import SkipReport

Writer = Callable[[str, list[Any]], Path]

SAMPLES: dict[str, dict[str, Any]] = {
    "wildchat": {"conversation_hash": "0" * 32, "conversation": [], "turn": 0},
    "lmsys": {"conversation_id": "x", "conversation": [], "model": "m"},
    "sharegpt": {"id": "x_0", "conversations": []},
    "oasst": {"message_tree_id": "t", "prompt": {}},
    "alpaca": {"instruction": "i", "input": "", "output": "o"},
    "dolly": {"instruction": "i", "context": "", "response": "r", "category": "c"},
    "openai": {"messages": []},
    "rawlog": {"request_id": "r", "timestamp": "2024-01-01T00:00:00Z", "model": "m", "messages": []},
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_jsonl_array_parquet(name: str, jsonl: Writer, json_array: Writer, tmp_path: Path) -> None:
    assert name in FORMATS
    rec = SAMPLES[name]
    assert detect_format(jsonl(f"{name}.jsonl", [b"", b"{garbage", rec])) == name
    assert detect_format(json_array(f"{name}.json", [rec])) == name
    gz = tmp_path / f"{name}.jsonl.gz"
    gz.write_bytes(gzip.compress(json.dumps(rec).encode() + b"\n"))
    assert detect_format(gz) == name
    pq.write_table(pa.table({k: [json.dumps(v)] for k, v in rec.items()}), tmp_path / f"{name}.parquet")
    assert detect_format(tmp_path / f"{name}.parquet") == name


def test_detect_firstturn(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"prompt": ["p"], "response": ["r"], "model": ["m"]}), path)
    assert detect_format(path) == "wildchat"


def test_detect_unknown_names_the_file(jsonl: Writer, tmp_path: Path) -> None:
    path = jsonl("weird.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(
        UnknownFormatError, match=r"weird\.jsonl: unknown chat-log format \(fields: bar, foo\)"
    ):
        detect_format(path)
    (tmp_path / "binary.json").write_bytes(b"[\x00\x01\xff")
    with pytest.raises(UnknownFormatError, match=r"binary\.json"):
        detect_format(tmp_path / "binary.json")


def test_expand_inputs(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / ".hidden").mkdir()
    for rel in ["d/b.jsonl", "d/a.json", "d/sub/c.parquet", "d/notes.txt", "d/.hidden/x.jsonl", "e.jsonl"]:
        (tmp_path / rel).write_text("{}")
    rel = (tmp_path / "rel" / "full").mkdir(parents=True) or tmp_path / "rel"
    (rel / "full" / "part-1.parquet").write_text("")
    (rel / "full" / "part-0.parquet").write_text("")
    (rel / "public").mkdir()
    (rel / "public" / "p.parquet").write_text("")
    got = expand_inputs([tmp_path / "d", str(tmp_path / "*.jsonl"), rel, tmp_path / "e.jsonl"])
    assert got == sorted(
        [
            tmp_path / "d" / "a.json",
            tmp_path / "d" / "b.jsonl",
            tmp_path / "d" / "sub" / "c.parquet",
            tmp_path / "e.jsonl",
            rel / "full" / "part-0.parquet",
            rel / "full" / "part-1.parquet",
        ]
    )
    with pytest.raises(FileNotFoundError, match="nope"):
        expand_inputs([tmp_path / "nope.jsonl"])
    with pytest.raises(FileNotFoundError, match="glob"):
        expand_inputs([str(tmp_path / "*.csv")])


def test_conversation_hash_definition() -> None:
    turns = [Turn(content='héllo "x"', role="user"), Turn(content="ok", role="assistant")]
    expected_text = (
        '[{"content": "h\\u00e9llo \\"x\\"", "role": "user"}, {"content": "ok", "role": "assistant"}]'
    )
    assert canonical_turns_json(turns) == expected_text
    assert conversation_hash(turns) == hashlib.sha256(expected_text.encode()).hexdigest()[:32]
    assert conversation_hash(
        [{"role": "user", "content": 'héllo "x"'}, {"content": "ok", "role": "assistant"}]
    ) == (conversation_hash(turns))
    tid = turn_identifier("conv", 0)
    assert 0 <= tid < 2**63 and tid == turn_identifier("conv", 0) != turn_identifier("conv", 1)


def _lmsys_lines(n: int) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": f"c{i}",
            "conversation": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}],
        }
        for i in range(n)
    ]


def test_write_parquet_schema_and_datasets(
    jsonl: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = jsonl("l.jsonl", _lmsys_lines(5))
    out = tmp_path / "out.parquet"
    batches = list(iter_batches([src], batch_size=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert write_parquet(iter(batches), out) == 5
    assert pq.read_schema(out).equals(release_schema())
    meta = pq.ParquetFile(out).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 5
    assert ds[3]["conversation_id"] == "c3" and ds[3]["conversation"][0]["content"] == "q3"


def test_write_parquet_empty_gives_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    assert write_parquet([], out) == 0
    assert pq.read_table(out).schema.equals(release_schema())


def test_unreadable_files_do_not_stop_the_run(jsonl: Writer, tmp_path: Path) -> None:
    jsonl("good.jsonl", _lmsys_lines(2))
    truncated = tmp_path / "truncated.json"  # a JSON array cut mid-record
    records = json.dumps([{"instruction": f"i{i}", "input": "", "output": "o"} for i in range(3)])
    truncated.write_text(records[: records.rindex("{") + 10])
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not really parquet PAR1")
    unknown = jsonl("unknown.jsonl", [{"foo": 1}])
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    report = SkipReport()
    convs = list(iter_conversations([tmp_path], report=report))
    assert sorted(c.conversation_id or "" for c in convs) == [
        "c0",
        "c1",
        "truncated.json-1",
        "truncated.json-2",
    ]
    assert dict(report.skipped) == {"unknown_format": 1, "unreadable_file": 3}
    examples = report.examples["unreadable_file"]
    assert any(e.startswith(f"{truncated}: ") and "stopped after 2 records" in e for e in examples)
    assert any(e.startswith(f"{corrupt}: ") for e in examples)
    assert any(e.startswith(f"{tmp_path / 'bad.jsonl.gz'}: ") for e in examples)
    assert report.examples["unknown_format"][0].startswith(f"{unknown}: unknown chat-log format")


def test_forced_format_and_bad_format_name(jsonl: Writer) -> None:
    path = jsonl("x.jsonl", [{"instruction": "i", "response": "r", "output": "o"}])  # detects as alpaca
    (conv,) = list(iter_conversations([path], format="dolly"))
    assert conv.conversation[1].content == "r"
    with pytest.raises(ValueError, match="unknown format"):
        list(iter_conversations([path], format="csv"))


def test_fast_row_matches_schema_to_row() -> None:
    """arrow.conversation_row must stay identical to schema.to_row (it replaces it for speed)."""
    from datetime import UTC, datetime

    from wildchat.formats.arrow import conversation_row
    from wildchat.schema import (
        DETOXIFY_LABELS,
        OPENAI_MODERATION_CATEGORIES,
        Conversation,
        DetoxifyScores,
        Header,
        Moderation,
        to_row,
    )

    ts = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    header = Header(accept_language="en", user_agent="UA")
    full_turn = Turn(
        content="c",
        role="user",
        language="English",
        toxic=True,
        redacted=False,
        turn_identifier=7,
        timestamp=ts,
        country="X",
        state="Y",
        hashed_ip="h",
        header=header,
        jailbreak=True,
        jailbreak_match="DAN",
    )
    mod = Moderation(
        categories=dict.fromkeys(OPENAI_MODERATION_CATEGORIES[:5], True),
        category_scores=dict.fromkeys(OPENAI_MODERATION_CATEGORIES, 0.5),
        flagged=True,
    )
    conv = Conversation(
        conversation_hash="0" * 32,
        model="m",
        timestamp=ts,
        conversation=[full_turn, Turn("a", "assistant")],
        turn=1,
        language="English",
        openai_moderation=[mod, Moderation()],
        detoxify_moderation=[DetoxifyScores(**dict.fromkeys(DETOXIFY_LABELS, 0.1)), DetoxifyScores()],
        toxic=True,
        redacted=False,
        state="Y",
        country="X",
        hashed_ip="h",
        header=header,
        conversation_id="id",
    )
    assert conversation_row(conv) == to_row(conv)
    bare = Conversation(conversation_hash="1" * 32, model=None, timestamp=None, conversation=[], turn=0)
    assert conversation_row(bare) == to_row(bare)
    assert list(conversation_row(conv)) == release_schema().names
