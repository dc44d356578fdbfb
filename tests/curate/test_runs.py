"""Re-runs, resume, --limit, units and worker processes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pyarrow as pa
import pytest

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full, texts
from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage


def _many(logs: Logs, n: int = 40) -> None:
    for i in range(n):
        ip = f"203.0.113.{i % 250 + 1}"
        logs.add([f"question {i}"], f"answer {i}", ip=ip, minute=i)
        if i % 3 == 0:
            logs.add([f"question {i}", f"answer {i}", "follow up"], "more", ip=ip, minute=i + 0.5)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def test_rerun_is_byte_identical_and_units_workers_do_not_matter(
    logs: Logs, tmp_path: Path, curate: Any
) -> None:
    _many(logs)
    src = logs.write(tmp_path / "in" / "logs.jsonl")
    a = curate([src], out=tmp_path / "a")
    b = curate([src], out=tmp_path / "b")
    assert _files(a.out) and _files(a.out) == _files(b.out)
    assert (a.out / "README.md").read_text() == (b.out / "README.md").read_text()
    # many small units (byte ranges of one file) on 2 worker processes: the same conversations
    c = curate([src], out=tmp_path / "c", sets=["ingest.chunk_mb=0.002", "executor.workers=2"])
    assert c.stats["run"]["shards_written"] > 3
    rows = lambda out: sorted(json.dumps(texts(r)) for r in read_full(out))  # noqa: E731
    assert rows(c.out) == rows(a.out)
    assert c.stats["link"]["dropped"] == a.stats["link"]["dropped"] == {"prefix_log": 14}
    assert c.stats["ingest"]["read"] == a.stats["ingest"]["read"] == len(logs.rows)


_FAIL_ON: list[int] = []


@register_stage
class Explode(Stage):
    """Test-only: raises on shards listed in _FAIL_ON (simulates a crash mid-run)."""

    name = "test_explode"
    defaults: ClassVar[dict[str, Any]] = {}

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.column("_shard")[0].as_py() in _FAIL_ON:
            raise RuntimeError("boom")
        return batch


def test_resume_after_interruption(logs: Logs, tmp_path: Path, curate: Any) -> None:
    _many(logs, 30)
    src = logs.write(tmp_path / "in" / "logs.jsonl")
    sets = ["ingest.chunk_mb=0.002", 'pipeline.stages=["consent", "privacy", "test_explode"]']
    ref = curate([src], out=tmp_path / "ref", sets=sets)
    n = ref.stats["run"]["shards_written"]
    assert n >= 4
    _FAIL_ON[:] = [2]
    with pytest.raises(RuntimeError, match="boom"):
        curate([src], out=tmp_path / "run", sets=sets)
    _FAIL_ON[:] = []
    res = curate([src], out=tmp_path / "run", sets=sets)
    assert (res.shards_resumed, res.shards_done) == (2, n - 2)
    assert _files(res.out) == _files(ref.out)
    # a deleted shard (or marker) is redone, nothing else
    (res.out / "full" / "part-00001.parquet").unlink()
    (res.out / ".state" / "shards" / "part-00003.json").unlink()
    res = curate([src], out=tmp_path / "run", sets=sets)
    assert (res.shards_resumed, res.shards_done) == (n - 2, 2)
    assert _files(res.out) == _files(ref.out)
    assert res.stats["stages"] == [
        {**s, "seconds": r["seconds"], "batches": r["batches"]}
        for s, r in zip(ref.stats["stages"], res.stats["stages"], strict=True)
    ]
    # a different config invalidates every shard
    res = curate([src], out=tmp_path / "run", sets=[*sets, 'link.branches="longest"'])
    assert res.shards_resumed == 0


def test_limit(logs: Logs, tmp_path: Path, curate: Any) -> None:
    for i in range(10):
        logs.add([f"q{i}"], "a", ip=f"203.0.113.{i + 1}")
    src = logs.write(tmp_path / "logs.jsonl")
    res = curate([src], limit=4)
    assert [texts(r)[0][1] for r in read_full(res.out)] == ["q0", "q1", "q2", "q3"]
    assert res.stats["link"]["logs_in"] == 4 and res.stats["limit"] == 4


def test_bad_input_is_counted_with_reasons_and_examples(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["good one"], "fine", ip="203.0.113.1")
    good = dict(logs.rows[0])
    bad: list[bytes] = []
    for mutate in (
        lambda r: r.pop("model"),
        lambda r: r.update(timestamp="yesterday"),
        lambda r: r.update(timestamp="2024-03-01T12:00:00"),  # no offset
        lambda r: r.update(messages=[{"role": "wizard", "content": "x"}]),
        lambda r: r.update(messages=[{"role": "user", "content": 42}]),
        lambda r: r.update(response={"text": "x"}),
        lambda r: r.update(request_id="req-1"),  # duplicate request id
    ):
        row = json.loads(json.dumps(good))
        row["request_id"] = f"bad-{len(bad)}"
        row["messages"][0]["content"] = f"bad {len(bad)}"
        mutate(row)
        bad.append(orjson.dumps(row))
    bad += [
        b'{"request_id": "utf", "model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        b"{not json",
    ]
    d = tmp_path / "in"
    logs.write(d / "a.jsonl", bad)
    other = Logs(n=100)
    other.add(["second file"], "ok", ip="203.0.113.2")
    other.write(d / "b.jsonl")
    (d / "c.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    res = curate([d])
    ingest = res.stats["ingest"]
    assert ingest["skipped_by_reason"] == {
        "bad_json": 1,
        "bad_role": 1,
        "bad_timestamp": 2,
        "bad_type": 2,
        "bad_utf8": 1,
        "missing_field": 1,
        "unreadable_file": 1,
    }
    assert res.stats["link"]["dropped"] == {"duplicate_request_id": 1}
    # examples name files, so they are kept privately (mode 0600), never in the published stats/card
    details_path = res.out / ".state" / "details.json"
    assert details_path.stat().st_mode & 0o777 == 0o600
    examples = json.loads(details_path.read_text())["ingest_examples"]
    assert any("c.parquet" in e for e in examples["unreadable_file"])
    assert any(e.startswith(str(d / "a.jsonl") + ":") for e in examples["bad_timestamp"])
    assert sorted(texts(r)[0][1] for r in read_full(res.out)) == ["good one", "second file"]
    for published in (res.out / "stats.json", res.out / "README.md"):
        text = published.read_text()
        assert "bad 3" not in text and "wizard" not in text  # examples never echo content
        assert str(tmp_path) not in text and "a.jsonl" not in text  # no input paths
    assert "examples" not in ingest
    assert "bad 3" not in details_path.read_text() and "wizard" not in details_path.read_text()


def test_parquet_and_gzip_inputs_give_the_same_conversations(logs: Logs, tmp_path: Path, curate: Any) -> None:
    import gzip

    from wildchat.formats.rawlog import RawLogWriter

    _many(logs, 12)
    src = logs.write(tmp_path / "a" / "logs.jsonl")
    (tmp_path / "b").mkdir()
    with RawLogWriter(tmp_path / "b" / "logs.parquet", row_group_size=5) as w:
        w.write_all(logs.raw_logs())
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "logs.jsonl.gz").write_bytes(gzip.compress(src.read_bytes()))
    outs = [curate([tmp_path / d], out=tmp_path / f"out-{d}") for d in ("a", "b", "c")]
    rows = [sorted(json.dumps(texts(r)) for r in read_full(o.out)) for o in outs]
    assert rows[0] == rows[1] == rows[2] and len(rows[0]) == 12  # 4 follow-ups merged into their chats
    assert {o.stats["ingest"]["read"] for o in outs} == {len(logs.rows)}
