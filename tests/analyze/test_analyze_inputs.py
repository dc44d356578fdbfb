"""Dataset naming, the prompts-only reader and the release-Parquet fast path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.analyze.analyze_helpers import batch
from tests.builders.conversations import conversation as conv
from wildchat.analyze.inputs import dataset_names, is_prompts_file, iter_dataset, release_parquet_files
from wildchat.skips import SkipReport


def test_names_from_stems_made_unique(tmp_path: Path) -> None:
    (tmp_path / "rel").mkdir()
    paths = [tmp_path / "a.jsonl", tmp_path / "x" / "a.json.gz", tmp_path / "rel"]
    assert dataset_names(paths) == ["a", "a-2", "rel"]
    assert dataset_names(paths, ["p", "q", "r"]) == ["p", "q", "r"]
    with pytest.raises(ValueError, match="3 datasets"):
        dataset_names(paths, ["p"])
    with pytest.raises(ValueError, match="distinct"):
        dataset_names(paths[:2], ["p", "p"])


def test_every_command_names_datasets_alike(tmp_path: Path) -> None:
    """analyze, explore and eval nll name a dataset after its input by one rule (formats.inputs)."""
    from wildchat.evaluate.nll_data import parse_dataset
    from wildchat.formats.inputs import dataset_name

    (tmp_path / "rel").mkdir()
    cases = {
        str(tmp_path / "rel"): "rel",
        "a/b/c.jsonl.gz": "c",
        "chat.v2.parquet": "chat.v2",
        "x.ndjson": "x",
        str(tmp_path / "data" / "*.parquet"): "data",
    }
    for item, expected in cases.items():
        assert dataset_name(item) == expected
        assert dataset_names([Path(item)]) == [expected]
        assert parse_dataset(item).name == expected


def test_prompts_only_file(tmp_path: Path) -> None:
    path = tmp_path / "question.jsonl"
    lines = [
        {"question_id": "q1", "category": "c", "cluster": "k", "turns": [{"content": "Write a poem."}]},
        {"question_id": 2, "turns": ["first", "second"]},  # MT-Bench style
        {"question_id": 3, "turns": [{"nope": 1}]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n\n")
    assert is_prompts_file(path)
    report = SkipReport()
    rows = [r for b in iter_dataset(path, None, report) for r in b.to_pylist()]
    assert [[t["content"] for t in r["conversation"]] for r in rows] == [
        ["Write a poem."],
        ["first", "second"],
    ]
    assert {t["role"] for r in rows for t in r["conversation"]} == {"user"}
    assert [r["turn"] for r in rows] == [1, 2] and rows[0]["conversation_id"] == "q1"
    assert report.read == 4 and report.written == 2
    assert dict(report.skipped) == {"bad_type": 1, "bad_json": 1}
    assert all("question.jsonl:" in ex for exs in report.examples.values() for ex in exs)
    # The same conversation_hash definition as every other reader (WildChat's, default json.dumps).
    canonical = json.dumps([{"content": "first", "role": "user"}, {"content": "second", "role": "user"}])
    assert rows[1]["conversation_hash"] == hashlib.sha256(canonical.encode()).hexdigest()[:32]


def test_chat_jsonl_is_not_a_prompts_file(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"conversation": [{"role": "user", "content": "x"}], "turns": []}) + "\n")
    assert not is_prompts_file(path)


def test_release_parquet_is_streamed_directly(tmp_path: Path) -> None:
    folder = tmp_path / "release"
    (folder / "data").mkdir(parents=True)
    table = pa.Table.from_batches([batch([conv([("user", "a")]), conv([("user", "b")])])])
    pq.write_table(table, folder / "data" / "part-0.parquet")
    files = release_parquet_files(folder)
    assert files == [folder / "data" / "part-0.parquet"]
    report = SkipReport()
    batches = list(iter_dataset(folder, None, report, batch_size=1))
    assert [b.num_rows for b in batches] == [1, 1] and report.read == 2
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"prompt": ["x"]}), other)
    assert release_parquet_files(other) is None


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(iter_dataset(tmp_path / "nope.jsonl", None, SkipReport()))
