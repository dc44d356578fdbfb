"""Raw log v1: writer round trips, reader validation and skips."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wildchat.formats.rawlog import RawLogWriter, iter_raw_logs
from wildchat.schema import Consent, Message, RawLog, raw_log_schema
from wildchat.skips import SkipReport


def _log(rid: str = "r1", **kw: object) -> RawLog:
    base: dict[str, object] = dict(
        request_id=rid,
        timestamp=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        model="gpt-4",
        messages=[Message("user", "hi"), Message("assistant", "hello"), Message("user", "how are you?")],
        response="fine",
        finish_reason="stop",
        conversation_id="c1",
        hashed_ip="abc",
        country="France",
        headers={"user-agent": "UA", "accept-language": "fr"},
        consent=Consent(id="k1", version="v1", timestamp=datetime(2024, 4, 30, tzinfo=UTC)),
        params={"temperature": 0.7, "top_p": 1.0},
        usage={"prompt_tokens": 3, "completion_tokens": 1},
        extra={"gateway": '"x"'},
    )
    base.update(kw)
    return RawLog(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    logs = [_log("r1"), _log("r2", consent=None, params=None, headers=None, extra=None, response="")]
    path = tmp_path / f"logs{suffix}"
    with RawLogWriter(path) as w:
        assert w.write_all(logs) == 2
    report = SkipReport()
    assert list(iter_raw_logs(path, report)) == logs
    assert report.read == 2 and report.n_skipped == 0


def test_jsonl_layout(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    with RawLogWriter(path) as w:
        w.write(_log(timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC)))
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["timestamp"] == "2024-05-01T12:00:00.000000+00:00"
    assert obj["consent"]["timestamp"] == "2024-04-30T00:00:00.000000+00:00"
    assert obj["params"] == {"temperature": 0.7, "top_p": 1.0}
    assert obj["usage"] == {"prompt_tokens": 3, "completion_tokens": 1}
    assert obj["headers"] == {"user-agent": "UA", "accept-language": "fr"}
    assert obj["extra"] == {"gateway": '"x"'}


def test_parquet_schema(tmp_path: Path) -> None:
    path = tmp_path / "logs.parquet"
    with RawLogWriter(path, row_group_size=2) as w:
        for i in range(5):
            w.write(_log(f"r{i}"))
    assert pq.read_schema(path).equals(raw_log_schema())
    assert pq.ParquetFile(path).metadata.num_rows == 5


def test_writer_refuses_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"jsonl or \.parquet"):
        RawLogWriter(tmp_path / "logs.csv")


def test_bad_lines_are_counted_skips(tmp_path: Path) -> None:
    good = {
        "request_id": "a",
        "timestamp": "2024-05-01T12:00:00Z",
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response": "yo",
    }
    lines = [
        json.dumps(good).encode(),
        b"{not json",
        json.dumps({**good, "request_id": "b", "timestamp": "2024-05-01 12:00"}).encode(),  # no offset
        json.dumps({**good, "request_id": "c", "model": 5}).encode(),
        json.dumps({k: v for k, v in {**good, "request_id": "d"}.items() if k != "messages"}).encode(),
        b"",
        json.dumps({**good, "request_id": "e", "response": "caf\u00e9"})
        .encode()
        .replace(b"caf", b"\xff\xfe"),
        json.dumps(good).encode(),  # duplicate request_id "a"
        json.dumps({**good, "request_id": "f", "secret_field": 1}).encode(),
        b"[1, 2]",
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = SkipReport()
    logs = list(iter_raw_logs(path, report))
    assert [log.request_id for log in logs] == ["a", "f"]
    assert logs[1].extra == {"secret_field": "1"}
    assert report.read == 9  # the blank line is not a record
    assert dict(report.skipped) == {
        "bad_json": 1,
        "bad_timestamp": 1,
        "bad_type": 2,
        "missing_field": 1,
        "bad_utf8": 1,
        "duplicate_request_id": 1,
    }
    assert report.examples["bad_json"] == [f"{path}:2: invalid JSON at column 2"]
    assert report.examples["bad_utf8"][0].startswith(f"{path}:7:")
    assert report.examples["duplicate_request_id"][0].startswith(f"{path}:8:")
    # Messages never echo record content.
    assert "caf" not in report.summary()


def test_parquet_bad_rows(tmp_path: Path) -> None:
    """A Parquet of the right schema with an invalid row: that row is a skip."""
    path = tmp_path / "logs.parquet"
    with RawLogWriter(path) as w:
        w.write(_log("r1"))
        w.write(_log("r2", messages=[Message("assistant", "only a reply")]))
    report = SkipReport()
    assert [x.request_id for x in iter_raw_logs(path, report)] == ["r1"]
    assert dict(report.skipped) == {"bad_role": 1}
    assert report.examples["bad_role"][0].startswith(f"{path}:2:")


def test_convert_from_raw_logs(tmp_path: Path) -> None:
    """Raw logs -> conversations through the curation package's linking (needs wildchat.curate.link.logs)."""
    from wildchat.formats import iter_conversations
    from wildchat.formats.hashing import conversation_hash

    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    first = _log("r1", timestamp=t0, messages=[Message("user", "q1")], response="a1", conversation_id=None)
    second = _log(
        "r2",
        timestamp=t0.replace(minute=1),
        messages=[Message("user", "q1"), Message("assistant", "a1"), Message("user", "q2")],
        response="a2",
        conversation_id=None,
    )
    # Two files: a conversation may span exports; raw-log inputs are linked together.
    with RawLogWriter(tmp_path / "a.jsonl") as w:
        w.write(first)
    with RawLogWriter(tmp_path / "b.parquet") as w:
        w.write(second)
    with (tmp_path / "a.jsonl").open("ab") as fh:
        fh.write(b"{not json\n")
    report = SkipReport()
    convs = list(iter_conversations([tmp_path / "a.jsonl", tmp_path / "b.parquet"], report=report))
    assert len(convs) == 1
    conv = convs[0]
    assert [(t.role, t.content) for t in conv.conversation] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]
    assert conv.turn == 2 and conv.model == "gpt-4"
    assert conv.conversation_hash == conversation_hash(conv.conversation)
    # The first request is a prefix of the second: merged, and counted (never silent).
    assert report.read == 3 and report.skipped["bad_json"] == 1 and report.skipped["prefix_log"] == 1


def test_convert_raw_logs_survives_an_unreadable_file(tmp_path: Path) -> None:
    from wildchat.formats import iter_conversations

    with RawLogWriter(tmp_path / "good.jsonl") as w:
        w.write(_log("r1", messages=[Message("user", "q1")], response="a1", conversation_id=None))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 truncated")
    report = SkipReport()
    convs = list(iter_conversations([tmp_path], format="rawlog", report=report))
    assert [[t.content for t in c.conversation] for c in convs] == [["q1", "a1"]]
    assert dict(report.skipped) == {"unreadable_file": 1}
    assert report.examples["unreadable_file"][0].startswith(f"{tmp_path / 'broken.parquet'}: ")
